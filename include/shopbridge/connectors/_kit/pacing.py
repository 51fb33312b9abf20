"""Client-side pacing: a sliding window (at most ``limit`` requests in any ``window_s``
seconds) and a leaky bucket (every request pours its cost in, the bucket drains steadily).

Every vendor with a request-count limit states it as a sliding window (Fortnox 25 per 5 s,
Buckles 600 a minute [U], CCV per minute per resource and in total [U], Lightspeed eCom's
per-second cap); a sliding window is also the stricter reading of a fixed one, so a client
pacing on it stays under either. A client waits *before* sending (:meth:`acquire`) rather
than provoking a 429: a 429 costs a round trip, and vendors block clients that keep hitting
their limits. A sandbox refuses with the same arithmetic (:meth:`refusal`), so a client
configured with the sandbox's limit and sharing its clock is never refused.
:class:`LeakyBucket` paces a vendor that prices requests and reports its bucket's level
(Lightspeed Retail): each report re-anchors the client's estimate.

Times come from an injectable clock (tests share a fake one with the sandbox); every method
also takes an explicit ``now``, which is what a sandbox passes. What a vendor reports in its
headers (Lightspeed's buckets and windows) is parsed in that vendor's folder.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from shopbridge.errors import ConfigError

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]


def _check_limit(limit: int, window_s: float) -> None:
    if limit < 1 or window_s <= 0:
        raise ConfigError(f"rate limit must be >= 1 per > 0 s, got {limit}/{window_s}")


class _Times:
    """Send times of one window, oldest first; not locked (its owner holds the lock)."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.times: deque[float] = deque()

    def trim(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.span:
            self.times.popleft()

    def free_in(self, now: float) -> float:
        """Seconds until one more request fits (0: it fits now)."""
        self.trim(now)
        if len(self.times) < self.limit:
            return 0.0
        return self.times[len(self.times) - self.limit] + self.span - now

    def oldest_expires(self, now: float) -> float:
        """Seconds until the oldest request leaves the window (0 when empty)."""
        self.trim(now)
        return self.times[0] + self.span - now if self.times else 0.0

    def record(self, now: float, *, make_room: bool) -> None:
        """Count one request at ``now``; ``make_room`` (after a wait was slept out) drops
        what the wait made room for even when the clock did not move as far as promised
        (a sleep that is a test's no-op), so the window never holds more than ``limit``."""
        self.trim(now)
        if make_room:
            while len(self.times) >= self.limit:
                self.times.popleft()
        self.times.append(now)


class SlidingWindow:
    """At most ``limit`` requests in any ``window_s`` (+ ``margin_s``) seconds; thread-safe.

    ``margin_s`` widens the window a client paces on: the server stamps a request when it
    arrives, so arrival gaps can shrink by the network's jitter (Fortnox).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        margin_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_limit(limit, window_s)
        self.limit = limit
        self.window_s = window_s
        self.margin_s = margin_s
        self._clock = clock
        self._sent = _Times(limit, window_s + margin_s)
        self._lock = threading.Lock()
        #: seconds spent waiting in :meth:`acquire`, and how often: what a benchmark reports
        self.waited_s = 0.0
        self.waits = 0

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def wait(self, now: float | None = None) -> float:
        """Seconds until one more request fits (0: it fits now)."""
        with self._lock:
            return self._sent.free_in(self._now(now))

    def refusal(self, now: float | None = None) -> float | None:
        """Seconds until the window has room, or ``None`` when a request fits now."""
        wait = self.wait(now)
        return wait if wait > 0 else None

    def oldest_expires(self, now: float | None = None) -> float:
        """Seconds until the oldest request of the window leaves it (0 when empty): what a
        429 without ``Retry-After`` waits for."""
        with self._lock:
            return self._sent.oldest_expires(self._now(now))

    def record(self, now: float | None = None) -> None:
        """Count one request at ``now``."""
        with self._lock:
            self._sent.record(self._now(now), make_room=False)

    def acquire(self, sleep: Sleep, what: str = "request") -> float:
        """Wait until one more request fits, then count it as sent; the seconds waited."""
        with self._lock:
            wait = self._sent.free_in(self._clock())
            if wait > 0:
                log.debug(
                    "pacing %s: %d requests in the last %.1fs; waiting %.2fs",
                    what,
                    len(self._sent.times),
                    self.window_s,
                    wait,
                )
                sleep(wait)
                self.waited_s += wait
                self.waits += 1
            self._sent.record(self._clock(), make_room=wait > 0)
        return wait


class KeyedWindows:
    """Two sliding windows every request must fit: one per key (a resource and method, say)
    and one over all keys; thread-safe. CCV limits both [V: ``429.10``/``429.11``].

    ``codes`` name the two windows in :meth:`refusal` (a vendor's error codes).
    """

    def __init__(
        self,
        per_key: int,
        total: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        codes: tuple[str, str] = ("key", "total"),
    ) -> None:
        _check_limit(per_key, window_s)
        _check_limit(total, window_s)
        self.codes = codes
        self.per_key = per_key
        self.total = total
        self.window_s = window_s
        self._clock = clock
        self._keys: dict[Hashable, _Times] = {}
        self._all = _Times(total, window_s)
        self._lock = threading.Lock()
        self.waited_s = 0.0
        self.waits = 0

    def _key(self, key: Hashable) -> _Times:
        times = self._keys.get(key)
        if times is None:
            times = self._keys[key] = _Times(self.per_key, self.window_s)
        return times

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def wait(self, key: Hashable, now: float | None = None) -> float:
        """Seconds to wait before a request on ``key`` fits both windows."""
        with self._lock:
            at = self._now(now)
            return max(self._key(key).free_in(at), self._all.free_in(at))

    def refusal(self, key: Hashable, now: float | None = None) -> tuple[str, float] | None:
        """The code of the window a request on ``key`` does not fit and the seconds until
        it does, else ``None``. The per-key window is reported first, as the narrower one."""
        with self._lock:
            at = self._now(now)
            per_key = self._key(key).free_in(at)
            if per_key > 0:
                return self.codes[0], per_key
            total = self._all.free_in(at)
            if total > 0:
                return self.codes[1], total
            return None

    def oldest_expires(self, key: Hashable | None, now: float | None = None) -> float:
        """Seconds until the oldest request still in ``key``'s window (the total window for
        ``None``) leaves it: the soonest a server with *unknown* limits can have room again
        (0 when nothing was sent within the window)."""
        with self._lock:
            times = self._all if key is None else self._key(key)
            return times.oldest_expires(self._now(now))

    def record(self, key: Hashable, now: float | None = None) -> None:
        """Count one request on ``key`` at ``now``."""
        with self._lock:
            at = self._now(now)
            self._key(key).record(at, make_room=False)
            self._all.record(at, make_room=False)

    def acquire(self, key: Hashable, sleep: Sleep) -> float:
        """Wait until a request on ``key`` fits both windows, then count it; the seconds
        waited."""
        with self._lock:
            at = self._clock()
            times = self._key(key)
            wait = max(times.free_in(at), self._all.free_in(at))
            if wait > 0:
                log.info("pacing %s: %.1fs until the window has room", key, wait)
                sleep(wait)
                self.waited_s += wait
                self.waits += 1
                at = self._clock()
            times.record(at, make_room=wait > 0)
            self._all.record(at, make_room=wait > 0)
        return wait


@dataclass(frozen=True)
class BucketLevel:
    """A leaky bucket as last seen at ``seen_at`` (the pacer's clock): ``level`` of
    ``size``, draining ``drip_rate`` a second, and the burst limiter's count of requests in
    the current one-second window (``None`` when not known)."""

    level: float
    size: float
    drip_rate: float
    seen_at: float
    burst_used: int | None = None
    burst_limit: int | None = None

    def level_at(self, now: float) -> float:
        """The estimated level at ``now``: drained at the drip rate since it was seen."""
        return max(0.0, self.level - self.drip_rate * max(0.0, now - self.seen_at))


class LeakyBucket:
    """Waits before each request so the bucket never overflows: a request of cost ``c``
    goes when ``level + c <= size`` by the estimate (the last reported level, drained
    since), and at most ``burst_limit`` requests go in one fixed second.

    Before the first report the bucket is assumed empty; every report (:meth:`reanchor`)
    replaces the estimate, which keeps it close when other workers share the bucket. A wait
    longer than ``max_wait`` is not slept here: :meth:`wait_for` returns it, and the client
    hands the run to Airflow's retries. Thread-safe.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Sleep,
        size: float,
        drip_rate: float,
        burst_limit: int | None = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.state = BucketLevel(
            level=0.0,
            size=size,
            drip_rate=drip_rate,
            seen_at=clock(),
            burst_used=0,
            burst_limit=burst_limit,
        )
        #: seconds slept for the bucket and for the burst limiter (reported by benchmarks)
        self.waited = 0.0
        self._lock = threading.Lock()

    def needed(self, cost: float) -> float:
        """Seconds to wait before a request of ``cost`` fits."""
        s = self.state
        now = self.clock()
        over = s.level_at(now) + cost - s.size
        wait = over / s.drip_rate if over > 0 else 0.0
        if (
            s.burst_used is not None
            and s.burst_limit
            and s.burst_used >= s.burst_limit
            and math.floor(now) == math.floor(s.seen_at)
        ):
            # the burst limiter counts fixed one-second windows: wait for the next one
            wait = max(wait, math.floor(now) + 1 - now)
        return wait

    def wait_for(self, cost: float, *, max_wait: float) -> float:
        """Sleep until a request of ``cost`` fits, then book it; returns a wait that was too
        long to sleep (0.0 when the request may go)."""
        with self._lock:
            wait = self.needed(cost)
            if wait > max_wait:
                return wait
            if wait > 0:
                self.sleep(wait)
                self.waited += wait
            s = self.state
            now = self.clock()
            same_second = math.floor(now) == math.floor(s.seen_at)
            self.state = BucketLevel(
                level=s.level_at(now) + cost,
                size=s.size,
                drip_rate=s.drip_rate,
                seen_at=now,
                burst_used=((s.burst_used or 0) + 1) if same_second else 1,
                burst_limit=s.burst_limit,
            )
            return 0.0

    def reanchor(self, seen: BucketLevel | None) -> None:
        """Replace the estimate with what the vendor reported (the level after a request);
        a report without burst numbers keeps the pacer's own count."""
        if seen is None:
            return
        with self._lock:
            if seen.burst_limit is None:
                seen = replace(
                    seen, burst_used=self.state.burst_used, burst_limit=self.state.burst_limit
                )
            self.state = seen
