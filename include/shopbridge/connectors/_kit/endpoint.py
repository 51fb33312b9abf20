"""What a source or target owes :class:`~shopbridge.connectors.base.Endpoint` through its
one vendor client: the calls it made and the pool it releases.

Why the client's own counter: the run reports what a task cost in requests, and every
request goes through the client, retries included. An attribute, not a property: the
protocols declare a settable ``counter``.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from shopbridge.connectors.base import CallCounter


class _Client(Protocol):
    counter: CallCounter

    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Client)


class ClientEndpoint(Generic[ClientT]):
    """A source or target that talks to its system through ``client`` alone."""

    def __init__(self, client: ClientT) -> None:
        self.client = client
        self.counter: CallCounter = client.counter

    def close(self) -> None:
        """Release the client's connection pool (and what the client was handed to close,
        such as a token store)."""
        self.client.close()
