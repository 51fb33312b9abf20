"""Order writes for targets without a batch endpoint: one request per order, and one
result per order for the flow.

Why one loop for all of them: which errors belong to one order and which stop the run is
a decision of the orders flow, not of a vendor. A refusal of one order (a ``FatalError``,
or a ``RecordError`` naming its field) is that order's result, so the batch goes on and
the order is set aside with the vendor's words. An ``AuthError`` stops the loop: every
later order would be refused the same way, and it is the connection a person must fix,
not the orders. Transport errors, 429s and 5xx (``RetriableError``) and a wrong setting
(``ConfigError``) raise too: a write may have landed, so the flow looks the references up
before trying again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shopbridge.connectors.base import OrderWrite
from shopbridge.errors import AuthError, FatalError, RecordError


def write_each(
    writes: Sequence[OrderWrite], create: Callable[[OrderWrite], str]
) -> list[str | FatalError]:
    """``create`` each write in order: its id, or the ``FatalError`` that refused it."""
    results: list[str | FatalError] = []
    for write in writes:
        try:
            results.append(create(write))
        except AuthError:
            raise
        except FatalError as err:
            results.append(err)
        except RecordError as err:
            results.append(FatalError(str(err)))
    return results


def status_of(err: FatalError) -> int | None:
    """The HTTP status of the answer that refused a write (``None``: no answer), for the
    targets that treat a 404 or 409 as something other than a refusal."""
    return err.response.status_code if err.response is not None else None
