"""One sliding one-minute window per API token: Buckles' assumed rate limit.

ASSUMPTION [U]: 600 requests per minute per token, counted over the last 60 s (a sliding
window; the stricter reading, so a client pacing on it also stays under a fixed window).
The client uses :meth:`MinuteWindow.wait` to pace itself *before* a request, the sandbox
:meth:`MinuteWindow.refusal` to refuse one: the same arithmetic on both sides, so a client
configured with the sandbox's limit and sharing its clock is never refused.
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW_S = 60.0
DEFAULT_PER_MINUTE = 600


class MinuteWindow:
    """Request times of the last ``window_s`` seconds and the limit they must stay under."""

    def __init__(self, limit: int = DEFAULT_PER_MINUTE, *, window_s: float = WINDOW_S) -> None:
        if limit < 1:
            raise ValueError(f"the rate limit must be at least 1 per minute, got {limit}")
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()

    def wait(self, now: float) -> float:
        """Seconds until one more request fits (0: it fits now)."""
        with self._lock:
            self._trim(now)
            if len(self._times) < self.limit:
                return 0.0
            return self._times[len(self._times) - self.limit] + self.window_s - now

    def refusal(self, now: float) -> float | None:
        """Seconds until the window has room, or ``None`` when a request fits now."""
        wait = self.wait(now)
        return wait if wait > 0 else None

    def oldest_expires(self, now: float) -> float:
        """Seconds until the oldest request of the window leaves it (0 when empty): what a
        429 without ``Retry-After`` waits for."""
        with self._lock:
            self._trim(now)
            return self._times[0] + self.window_s - now if self._times else 0.0

    def record(self, now: float) -> None:
        """Count one request at ``now``."""
        with self._lock:
            self._times.append(now)
