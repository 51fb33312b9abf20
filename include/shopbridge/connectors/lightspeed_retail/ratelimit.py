"""Lightspeed Retail's leaky bucket: what a request costs, and how the client paces itself.

The vendor's model (VENDOR_APIS.md §2, developers.lightspeedhq.com/retail/introduction/
ratelimits): one bucket per account and API client, 90 drips deep, draining 1 drip a second
(both grow with the account's registers); every request pours its cost in; a request that
finds the bucket at or over its size is refused with 429 and ``Retry-After``. A per-second
burst limiter sits on top. Every response reports ``X-LS-API-Bucket-Level: 12/90``,
``X-LS-API-Burst-Level: 3/20``, ``X-LS-API-Drip-Rate: 1`` and ``X-LS-API-Request-Cost``.

Why the client paces instead of waiting for 429s: the bucket is shared by every worker of
the account, the vendor warns that clients that keep hitting the limit get blocked, and a
429 costs a round trip. So before sending a request of cost ``c`` the client waits until
``level + c <= size`` by its estimate (the last reported level, drained since), which is
exact for one worker and close for several (each response re-anchors the estimate).

This module is pure (no I/O) and shared by the client and the sandbox, so both price a
request the same way. :class:`CostModel` is the client's estimate; the sandbox takes the
same numbers as options. The bucket arithmetic is the kit's
:class:`~shopbridge.connectors._kit.pacing.LeakyBucket`; what is Lightspeed's here is the
prices and the ``X-LS-API-*`` headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shopbridge.connectors._kit.pacing import BucketLevel, LeakyBucket

#: ASSUMPTION [U]: every PUT/POST/DELETE costs 10 drips unless its entity says otherwise
#: (Category documents 10 [V]; the pagination page says a ``count=1`` costs "the same
#: number of drips as a write operation (10)").
DEFAULT_WRITE_COST = 10.0
#: Per-entity write costs the endpoint pages document [V]: Sale says 2 drips.
DEFAULT_ENTITY_WRITE_COSTS: Mapping[str, float] = {"Sale": 2.0}
#: Each nested relation entity in a write payload adds half a drip [V].
NESTED_ENTITY_COST = 0.5
DEFAULT_BUCKET_SIZE = 90.0
DEFAULT_DRIP_RATE = 1.0
DEFAULT_BURST_LIMIT = 20
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


def nested_entities(body: Any, *, top: bool = True) -> int:
    """How many nested relation entities a write payload carries (each costs extra).

    An entity is a JSON object below the top level; a *wrapper* (an object with one key
    holding an object or a list of objects, e.g. ``{"SaleLine": [...]}``) only groups
    them and is not counted. ``{"SaleLines": {"SaleLine": [a, b]}, "SalePayments":
    {"SalePayment": p}}`` carries three.
    """
    if isinstance(body, list):
        return sum(nested_entities(v, top=False) for v in body)
    if not isinstance(body, Mapping):
        return 0
    inner = sum(nested_entities(v, top=False) for v in body.values())
    if top:
        return inner
    values = list(body.values())
    wrapper = len(values) == 1 and (
        isinstance(values[0], Mapping)
        or (isinstance(values[0], list) and all(isinstance(v, Mapping) for v in values[0]))
    )
    return inner if wrapper else inner + 1


@dataclass(frozen=True)
class CostModel:
    """What the client expects each request to cost, in drips.

    Override per account when Lightspeed changes its prices ("Lightspeed reserves the right
    to modify ... the cost of requests, without notice"): the client learns the bucket's
    size and drip rate from the headers, but must know a request's cost *before* sending it.
    :meth:`sustained_rate` is the throughput bound a benchmark compares against.
    """

    get: float = 1.0
    #: ASSUMPTION [U]: a write's cost when its entity is not in ``entity_writes``
    write: float = DEFAULT_WRITE_COST
    entity_writes: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ENTITY_WRITE_COSTS)
    )
    nested: float = NESTED_ENTITY_COST
    #: ``count=1`` queries [V]
    count: float = 10.0
    #: each relation named in ``load_relations`` ([V]: 0.1-0.4 depending on its kind and
    #: on single vs. query reads; one flat figure keeps the estimate simple and safe)
    relation: float = 0.4

    def cost(
        self,
        method: str,
        entity: str | None = None,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> float:
        """The drips a request will pour into the bucket."""
        params = params or {}
        if method.upper() in WRITE_METHODS:
            base = self.entity_writes.get(entity or "", self.write)
            return base + self.nested * nested_entities(body)
        if str(params.get("count", "")) == "1":
            return self.count
        relations = params.get("load_relations")
        n = 0
        if isinstance(relations, str) and relations.strip() not in ("", "[]"):
            n = 1 if relations.strip() == "all" else relations.count(",") + 1
        return self.get + self.relation * n

    def sustained_rate(
        self,
        method: str = "PUT",
        entity: str | None = None,
        *,
        drip_rate: float = DEFAULT_DRIP_RATE,
        body: Any = None,
    ) -> float:
        """Requests per second a long run of such requests can sustain: drip / cost.

        E.g. ``CostModel().sustained_rate("PUT", "Item")`` = 1/10 = 0.1 writes a second on
        a one-register account; the bucket's size only buys an initial burst on top.
        """
        return drip_rate / self.cost(method, entity, body=body)


def _fraction(raw: str | None) -> tuple[float, float] | None:
    if not raw:
        return None
    num, sep, den = raw.partition("/")
    try:
        return (float(num), float(den)) if sep else None
    except ValueError:
        return None


class BucketState(BucketLevel):
    """The bucket as one response's ``X-LS-API-*`` headers report it."""

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], seen_at: float, *, default_drip: float = DEFAULT_DRIP_RATE
    ) -> BucketState | None:
        """Parse ``X-LS-API-Bucket-Level`` (``12.5/90``), the burst level and drip rate;
        ``None`` when the bucket header is absent or malformed."""
        bucket = _fraction(headers.get("X-LS-API-Bucket-Level"))
        if bucket is None:
            return None
        try:
            drip = float(headers.get("X-LS-API-Drip-Rate") or default_drip)
        except ValueError:
            drip = default_drip
        burst = _fraction(headers.get("X-LS-API-Burst-Level"))
        return cls(
            level=bucket[0],
            size=bucket[1],
            drip_rate=max(drip, 1e-6),
            seen_at=seen_at,
            burst_used=int(burst[0]) if burst else None,
            burst_limit=int(burst[1]) if burst else None,
        )


class Pacer(LeakyBucket):
    """Lightspeed's bucket, paced before each request (STYLE: pace, don't provoke).

    ``sleep`` is the retry policy's (tests pass a fake clock's). Before the first response
    the bucket is assumed empty with the vendor's default size; after that every response
    (a 429 included) re-anchors the estimate (:meth:`observe`).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        size: float = DEFAULT_BUCKET_SIZE,
        drip_rate: float = DEFAULT_DRIP_RATE,
        burst_limit: int = DEFAULT_BURST_LIMIT,
    ) -> None:
        super().__init__(
            clock=clock, sleep=sleep, size=size, drip_rate=drip_rate, burst_limit=burst_limit
        )

    def observe(self, headers: Mapping[str, str]) -> None:
        """Re-anchor on what the vendor reported (the level after this request)."""
        self.reanchor(
            BucketState.from_headers(headers, self.clock(), default_drip=self.state.drip_rate)
        )
