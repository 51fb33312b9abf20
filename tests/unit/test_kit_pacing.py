"""The kit's pacers on a fake clock: the waits they compute, what they count, and that a
refusal (the sandbox's side) and a wait (the client's side) agree; the leaky bucket's drain."""

from __future__ import annotations

import threading

import pytest

from shopbridge.connectors._kit.pacing import BucketLevel, KeyedWindows, LeakyBucket, SlidingWindow
from shopbridge.errors import ConfigError
from tests.connectors.clock import FakeClock


def test_sliding_window_waits_until_the_oldest_request_leaves() -> None:
    clock = FakeClock(now=0.0)
    w = SlidingWindow(2, 10.0, clock=clock)
    assert w.acquire(clock.sleep) == 0.0
    clock.now = 4.0
    assert w.acquire(clock.sleep) == 0.0
    assert w.wait() == 6.0 and w.refusal() == 6.0 and w.oldest_expires() == 6.0
    assert w.acquire(clock.sleep) == 6.0  # the request at 0 leaves at 10
    assert clock.sleeps == [6.0] and clock.now == 10.0
    assert (w.waits, w.waited_s) == (1, 6.0)
    assert w.wait() == 4.0  # the request at 4 leaves at 14


def test_sliding_window_margin_widens_the_window() -> None:
    clock = FakeClock(now=0.0)
    w = SlidingWindow(1, 5.0, margin_s=0.5, clock=clock)
    w.acquire(clock.sleep)
    assert w.wait() == 5.5


def test_sliding_window_explicit_times_are_the_sandboxes_side() -> None:
    w = SlidingWindow(2, 60.0, clock=lambda: pytest.fail("the clock is not read"))
    w.record(0.0)
    w.record(10.0)
    assert w.refusal(20.0) == 40.0
    assert w.oldest_expires(30.0) == 30.0
    assert w.refusal(60.0) is None  # the request at 0 left at 60
    assert w.oldest_expires(100.0) == 0.0


def test_sliding_window_with_a_sleep_that_does_not_move_the_clock_never_holds_more() -> None:
    w = SlidingWindow(3, 1.0, clock=lambda: 0.0)
    for _ in range(10):
        w.acquire(lambda s: None)
    assert w.waits == 7 and len(w._sent.times) == 3


def test_sliding_window_counts_every_thread() -> None:
    clock = FakeClock(now=0.0)
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.sleep(seconds)

    w = SlidingWindow(5, 1.0, clock=clock)
    threads = [threading.Thread(target=w.acquire, args=(sleep,)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 12 requests at 5 a second: 5 at 0 s, 5 at 1 s, 2 at 2 s
    assert w.waits == 2 and clock.now == pytest.approx(2.0)
    assert list(w._sent.times) == [2.0, 2.0]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        SlidingWindow(0, 1.0)
    with pytest.raises(ConfigError):
        KeyedWindows(1, 1, 0.0)


def test_keyed_windows_wait_for_the_fuller_window() -> None:
    clock = FakeClock(now=0.0)
    w = KeyedWindows(2, 3, 60.0, clock=clock, codes=("per-key", "total"))
    a, b = ("orders", "GET"), ("products", "GET")
    w.acquire(a, clock.sleep)
    clock.now = 10.0
    w.acquire(a, clock.sleep)
    assert w.wait(a) == 50.0 and w.refusal(a) == ("per-key", 50.0)
    assert w.wait(b) == 0.0 and w.refusal(b) is None
    clock.now = 20.0
    w.acquire(b, clock.sleep)
    assert w.refusal(b) == ("total", 40.0)  # three in the minute, all keys together
    assert w.oldest_expires(None) == 40.0 and w.oldest_expires(b) == 60.0
    assert w.acquire(b, clock.sleep) == 40.0 and clock.now == 60.0
    assert (w.waits, w.waited_s) == (1, 40.0)


def test_leaky_bucket_waits_for_the_drain_and_keeps_long_waits_for_the_caller() -> None:
    clock = FakeClock(now=100.0)
    bucket = LeakyBucket(clock=clock, sleep=clock.sleep, size=10.0, drip_rate=2.0)
    assert bucket.wait_for(8.0, max_wait=30.0) == 0.0 and clock.sleeps == []
    assert bucket.needed(6.0) == pytest.approx(2.0)  # 8 + 6 - 10 = 4 drips at 2 a second
    assert bucket.wait_for(6.0, max_wait=30.0) == 0.0
    assert clock.sleeps == [pytest.approx(2.0)] and bucket.state.level == pytest.approx(10.0)
    assert bucket.wait_for(100.0, max_wait=30.0) == pytest.approx(50.0)  # not slept
    assert len(clock.sleeps) == 1 and bucket.waited == pytest.approx(2.0)


def test_leaky_bucket_burst_limit_waits_for_the_next_second() -> None:
    clock = FakeClock(now=10.25)
    bucket = LeakyBucket(clock=clock, sleep=clock.sleep, size=100.0, drip_rate=1.0, burst_limit=2)
    bucket.wait_for(1.0, max_wait=5.0)
    bucket.wait_for(1.0, max_wait=5.0)
    assert bucket.needed(1.0) == pytest.approx(0.75)
    bucket.wait_for(1.0, max_wait=5.0)
    assert clock.now == pytest.approx(11.0) and bucket.state.burst_used == 1


def test_leaky_bucket_reanchors_on_a_report_and_keeps_its_burst_count() -> None:
    clock = FakeClock(now=0.0)
    bucket = LeakyBucket(clock=clock, sleep=clock.sleep, size=90.0, drip_rate=1.0, burst_limit=20)
    bucket.wait_for(1.0, max_wait=5.0)
    bucket.reanchor(BucketLevel(level=85.0, size=90.0, drip_rate=1.0, seen_at=0.0))
    assert bucket.needed(10.0) == pytest.approx(5.0)
    assert (bucket.state.burst_used, bucket.state.burst_limit) == (1, 20)
    bucket.reanchor(None)  # no report: the estimate stands
    assert bucket.state.level == 85.0
