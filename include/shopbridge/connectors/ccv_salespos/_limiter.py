"""CCV's two per-minute limits, shared by the client (pacing) and the sandbox (refusing).

CCV limits requests per minute twice over (VENDOR_APIS.md §6): per resource and method
(error ``429.10``) and in total (``429.11``). The numbers are not published [U], so both
are settings. A window is sliding (the last 60 s before now), not fixed: ASSUMPTION [U]; the
stricter of the two, so a client pacing on it also stays under a fixed one. The arithmetic
is the kit's :class:`~shopbridge.connectors._kit.pacing.KeyedWindows`; this module names
CCV's codes and what a "resource" is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shopbridge.connectors._kit.pacing import KeyedWindows

WINDOW_S = 60.0
#: the error codes CCV answers a full window with
PER_RESOURCE_CODE = "429.10"
TOTAL_CODE = "429.11"

Key = tuple[str, str]


class MinuteWindows(KeyedWindows):
    """Requests of the last minute per ``(resource, METHOD)`` and in total."""

    def __init__(
        self,
        per_key: int,
        total: int,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            per_key, total, window_s, clock=clock, codes=(PER_RESOURCE_CODE, TOTAL_CODE)
        )


def resource_of(path: str, prefix: str) -> str:
    """The resource a path addresses: its last segment that is not an id.

    ``/api/rest/v1/orders/12/orderrows`` -> ``orderrows``; ``/api/rest/v1/orders/12`` ->
    ``orders``. ASSUMPTION [U]: CCV counts a sub-resource as its own resource.
    """
    rest = path[len(prefix) :] if path.startswith(prefix) else path
    segments = [s for s in rest.split("/") if s and not s.isdigit()]
    return segments[-1] if segments else ""
