"""Sliding one-minute windows, per key and in total: CCV's two rate limits.

CCV limits requests per minute twice over (VENDOR_APIS.md §6): per resource and method
(error ``429.10``) and in total (``429.11``). The numbers are not published [U], so both
are settings. The client uses :meth:`MinuteWindows.wait` to pace itself *before* a
request; the sandbox uses :meth:`MinuteWindows.refusal` to refuse one. Same arithmetic on
both sides, so a client configured with the shop's limits is never refused by a sandbox
configured with the same limits and sharing its clock.

A window is sliding (the last 60 s before now), not fixed: ASSUMPTION [U]. A sliding
window is the stricter of the two, so a client pacing on it also stays under a fixed one.
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW_S = 60.0
#: the error codes CCV answers a full window with
PER_RESOURCE_CODE = "429.10"
TOTAL_CODE = "429.11"

Key = tuple[str, str]


class MinuteWindows:
    """Request times of the last ``window_s`` seconds, per ``(resource, METHOD)`` and total."""

    def __init__(self, per_key: int, total: int, *, window_s: float = WINDOW_S) -> None:
        if per_key < 1 or total < 1:
            raise ValueError(f"rate limits must be at least 1 per minute, got {per_key}/{total}")
        self.per_key = per_key
        self.total = total
        self.window_s = window_s
        self._keys: dict[Key, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def _free_in(self, times: deque[float], limit: int, now: float) -> float:
        """Seconds until ``times`` has room for one more request (0: it has now)."""
        self._trim(times, now)
        if len(times) < limit:
            return 0.0
        return times[len(times) - limit] + self.window_s - now

    def wait(self, key: Key, now: float) -> float:
        """Seconds to wait before a request on ``key`` fits both windows."""
        with self._lock:
            times = self._keys.setdefault(key, deque())
            return max(
                self._free_in(times, self.per_key, now), self._free_in(self._all, self.total, now)
            )

    def refusal(self, key: Key, now: float) -> tuple[str, float] | None:
        """The error code and seconds-until-free of a request that does not fit, else
        ``None``. The per-resource window is reported first, as the narrower one."""
        with self._lock:
            times = self._keys.setdefault(key, deque())
            per_key = self._free_in(times, self.per_key, now)
            if per_key > 0:
                return PER_RESOURCE_CODE, per_key
            total = self._free_in(self._all, self.total, now)
            if total > 0:
                return TOTAL_CODE, total
            return None

    def oldest_expires(self, key: Key | None, now: float) -> float:
        """Seconds until the oldest request still in ``key``'s window (the total window for
        ``None``) leaves it: the soonest a server with *unknown* limits can have room again
        (0 when nothing was sent in the last minute)."""
        with self._lock:
            times = self._all if key is None else self._keys.setdefault(key, deque())
            self._trim(times, now)
            return times[0] + self.window_s - now if times else 0.0

    def record(self, key: Key, now: float) -> None:
        """Count one request on ``key`` at ``now``."""
        with self._lock:
            self._keys.setdefault(key, deque()).append(now)
            self._all.append(now)


def resource_of(path: str, prefix: str) -> str:
    """The resource a path addresses: its last segment that is not an id.

    ``/api/rest/v1/orders/12/orderrows`` -> ``orderrows``; ``/api/rest/v1/orders/12`` ->
    ``orders``. ASSUMPTION [U]: CCV counts a sub-resource as its own resource.
    """
    rest = path[len(prefix) :] if path.startswith(prefix) else path
    segments = [s for s in rest.split("/") if s and not s.isdigit()]
    return segments[-1] if segments else ""
