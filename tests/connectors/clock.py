"""A fake clock for rate-limit and token-expiry tests of every connector."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeClock:
    """Time that moves only when someone sleeps: handed to both the sandbox (its windows,
    buckets and token expiry) and the client (its pacing), so limit tests are exact and
    instant."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
