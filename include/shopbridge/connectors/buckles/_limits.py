"""Buckles' assumed rate limit, shared by the client (pacing) and the sandbox (refusing).

ASSUMPTION [U]: 600 requests per minute per token, counted over the last 60 s (a sliding
window: the stricter reading, so a client pacing on it also stays under a fixed window).
The arithmetic is the kit's :class:`~shopbridge.connectors._kit.pacing.SlidingWindow`;
this module only names Buckles' numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shopbridge.connectors._kit.pacing import SlidingWindow

WINDOW_S = 60.0
DEFAULT_PER_MINUTE = 600


class MinuteWindow(SlidingWindow):
    """One token's window: ``limit`` requests in any minute."""

    def __init__(
        self,
        limit: int = DEFAULT_PER_MINUTE,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(limit, window_s, clock=clock)
