"""HTTP client for the Lightspeed eCom (C-Series, ex SEOshop/WebshopApp) REST API.

Vendor quirks this module absorbs (VENDOR_APIS.md §1):

* Every URL is ``{base}/{language}/{resource}.json``; the language segment is mandatory.
* Errors can arrive in a 2xx body (``{"error": {...}}``); the official PHP client treats
  any body with a top-level ``error`` as a failure, so :func:`check` does the same.
* Rate limits come as three slash-separated windows (5 min / hour / day) in
  ``X-RateLimit-Limit/Remaining/Reset``. We pace on them *before* the next request rather
  than provoking a 429: an emptied window that resets within ``policy.max_wait`` is slept
  out, a longer one raises :class:`RetriableError` so Airflow's task retry takes over.
* The per-second cap (20/s) is not in the headers; its 429 carries ``Retry-After`` and is
  retried by :func:`shopbridge._http.send`.
* ``updated_at_min``/``updated_at_max`` are both inclusive, second resolution,
  ``YYYY-MM-DD HH:MM:SS``. ASSUMPTION [U]: the vendor reads them as UTC.

Methods use vendor terms and return raw JSON (STYLE R2).
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shopbridge._http import CallCounter, RetryPolicy, classify, describe, send
from shopbridge.errors import ConfigError, FatalError, RetriableError
from shopbridge.paginate import PageNumber

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.webshopapp.com"
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=3.0)
#: the vendor caps ``limit`` at 250
MAX_PAGE_SIZE = 250
#: the per-second cap per shop and key (community: announced as 5/s, corrected to 20/s)
DEFAULT_PER_SECOND = 20
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class RateLimit:
    """The three windows of ``X-RateLimit-*`` as seen on one response.

    ``reset`` is seconds until each window resets, counted from ``seen_at``
    (``self._clock()`` when the response arrived).
    """

    limit: tuple[int, ...]
    remaining: tuple[int, ...]
    reset: tuple[float, ...]
    seen_at: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], seen_at: float) -> RateLimit | None:
        """Parse ``300/3000/12000``-style headers; ``None`` when absent or malformed."""
        try:
            limit = tuple(int(x) for x in headers["X-RateLimit-Limit"].split("/"))
            remaining = tuple(int(x) for x in headers["X-RateLimit-Remaining"].split("/"))
            reset = tuple(float(x) for x in headers["X-RateLimit-Reset"].split("/"))
        except (KeyError, ValueError):
            return None
        if not (len(limit) == len(remaining) == len(reset)):
            return None
        return cls(limit, remaining, reset, seen_at)

    def wait_needed(self, now: float) -> float:
        """Seconds until every emptied window has reset; 0 when none is empty."""
        elapsed = now - self.seen_at
        waits = [r - elapsed for rem, r in zip(self.remaining, self.reset, strict=True) if rem <= 0]
        return max(0.0, *waits) if waits else 0.0


def check(resp: httpx.Response) -> None:
    """:func:`classify` first, then fail a 2xx whose body carries a top-level ``error``.

    Override point: this is the vendor's "error in a 200" quirk (PHP client behaviour).
    """
    classify(resp)
    if not resp.content:
        return
    try:
        body = resp.json()
    except ValueError as exc:
        raise FatalError(f"not JSON: {describe(resp)}", response=resp) from exc
    if isinstance(body, dict) and "error" in body:
        raise FatalError(f"error in a {resp.status_code} body: {describe(resp)}", response=resp)


def _filter_time(value: datetime, *, round_up: bool) -> str:
    """UTC, second resolution. Rounding widens the window; the client trims it exactly."""
    if value.tzinfo is None:
        raise ConfigError(f"window bound {value!r} has no timezone")
    utc = value.astimezone(UTC)
    if round_up and utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return utc.strftime(FILTER_FORMAT)


def _in_window(record: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    """``start <= updatedAt < end``; an unreadable ``updatedAt`` is kept for translate to report."""
    try:
        updated = datetime.fromisoformat(str(record["updatedAt"]))
    except (KeyError, ValueError):
        return True
    if updated.tzinfo is None:
        return True
    return start <= updated < end


class LightspeedEcomSettings(BaseModel):
    """What a Connection holds for one shop; the hook fills it, the client is built from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    language: str = Field("nl", pattern=r"^[a-z]{2}$")
    key: SecretStr
    secret: SecretStr
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    max_per_second: int = Field(DEFAULT_PER_SECOND, ge=1, le=100)


class LightspeedEcomClient:
    """Read orders (and their lines) from one shop, in one language, with one API key."""

    def __init__(
        self,
        base_url: str,
        language: str,
        key: str,
        secret: str,
        *,
        http: httpx.Client | None = None,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing is safe
        counter: CallCounter | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_per_second: int = DEFAULT_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.page_size = page_size
        self.policy = policy
        self.counter = counter if counter is not None else CallCounter()
        self.rate_limit: RateLimit | None = None
        # the per-second cap is not in the headers, so the client keeps its own count
        self._recent: deque[float] = deque(maxlen=max_per_second)
        self._clock = clock
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT)
        # Set per request, not as client auth: an injected client (TestClient) has its own
        # auth settings, and ``send`` calls ``http.send(request)`` without ``auth=``.
        token = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self._auth_header = f"Basic {token}"

    @classmethod
    def from_settings(cls, settings: LightspeedEcomSettings, **kwargs: Any) -> LightspeedEcomClient:
        """Build from validated settings (the hook's path)."""
        return cls(settings.base_url, settings.language, settings.key.get_secret_value(),
                   settings.secret.get_secret_value(), page_size=settings.page_size,
                   max_per_second=settings.max_per_second, **kwargs)

    def __repr__(self) -> str:  # never show the credentials
        return f"LightspeedEcomClient({self.base_url!r}, {self.language!r})"

    def close(self) -> None:
        """Close the connection pool if this client created it (an injected one is the caller's)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> LightspeedEcomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Safety net: a task that forgets close() must not leak sockets (ResourceWarning is
        # an error under the project's filterwarnings).
        if getattr(self, "_owns_http", False):
            self._http.close()

    # --- plumbing ------------------------------------------------------------------------

    def _url(self, resource: str) -> str:
        return f"{self.base_url}/{self.language}/{resource}.json"

    def _pace_per_second(self) -> None:
        """Stay under the per-second cap (announced as 5/s, corrected to 20/s): a full
        second's worth of requests means waiting until the oldest is a second old."""
        if len(self._recent) == self._recent.maxlen:
            wait = self._recent[0] + 1.0 - self._clock()
            if wait > 0:
                self.policy.sleep(wait)
        self._recent.append(self._clock())

    def _pace(self) -> None:
        """Wait out an emptied rate-limit window, or hand over to Airflow if it is long."""
        self._pace_per_second()
        if self.rate_limit is None:
            return
        wait = self.rate_limit.wait_needed(self._clock())
        if wait <= 0:
            return
        if wait > self.policy.max_wait:
            raise RetriableError(
                f"Lightspeed rate limit exhausted ({self.rate_limit.remaining} left of "
                f"{self.rate_limit.limit}); resets in {wait:.0f}s",
                retry_after=wait,
            )
        log.info("rate limit window empty; pausing %.1fs", wait)
        self.policy.sleep(math.ceil(wait))
        self.rate_limit = None

    def _check(self, resp: httpx.Response) -> None:
        seen = RateLimit.from_headers(resp.headers, self._clock())
        if seen is not None:
            self.rate_limit = seen
        check(resp)

    def _request(self, method: str, resource: str, *,
                 params: Mapping[str, str | int] | None = None,
                 body: dict[str, Any] | None = None) -> Any:
        """Paced, authenticated and retried; GET and PUT (the same fields set again) are
        both idempotent, so both retry."""
        self._pace()
        request = self._http.build_request(
            method, self._url(resource), params=dict(params or {}), json=body,
            headers={"Authorization": self._auth_header, "Accept": "application/json"},
            timeout=DEFAULT_TIMEOUT,
        )
        resp = send(self._http, request, policy=self.policy, counter=self.counter,
                    check=self._check)
        return resp.json()

    def _get(self, resource: str, params: Mapping[str, str | int] | None = None) -> Any:
        return self._request("GET", resource, params=params)

    @staticmethod
    def _key(body: Any, key: str, resource: str) -> Any:
        if not isinstance(body, dict) or key not in body:
            raise FatalError(f"GET {resource}.json: response has no {key!r} key")
        return body[key]

    # --- orders --------------------------------------------------------------------------

    def iter_customers(self, updated_min: datetime,
                       updated_max: datetime) -> Iterator[dict[str, Any]]:
        """Customers with ``updated_min <= updatedAt < updated_max`` (same paging as orders)."""
        yield from self._iter_changed("customers", updated_min, updated_max)

    def iter_orders(self, updated_min: datetime, updated_max: datetime) -> Iterator[dict[str, Any]]:
        """Orders with ``updated_min <= updatedAt < updated_max``, page by page."""
        yield from self._iter_changed("orders", updated_min, updated_max)

    def _iter_changed(self, resource: str, updated_min: datetime,
                      updated_max: datetime) -> Iterator[dict[str, Any]]:
        """Records of ``resource`` changed in ``[updated_min, updated_max)``.

        The vendor filter is inclusive on both ends and second-resolution, so we ask for a
        slightly wider window and drop records outside ``[min, max)`` here; a record at
        exactly ``max`` belongs to the next window.
        """
        params = {"updated_at_min": _filter_time(updated_min, round_up=False),
                  "updated_at_max": _filter_time(updated_max, round_up=True)}
        pager = PageNumber(self.page_size)
        page: Any = pager.start()
        while page is not None:
            rows = self._key(self._get(resource, {**params, **page.params}), resource, resource)
            for row in rows:
                if _in_window(row, updated_min, updated_max):
                    yield row
            page = pager.advance(rows)

    def update_order(self, order_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT orders/{id}.json {"order": {...}}``: only status-like fields are writable."""
        body = self._request("PUT", f"orders/{order_id}", body={"order": dict(fields)})
        order: dict[str, Any] = self._key(body, "order", f"orders/{order_id}")
        return order

    def count_orders(self, updated_min: datetime | None = None,
                     updated_max: datetime | None = None) -> int:
        """``orders/count.json``, optionally filtered (both bounds inclusive, as the vendor)."""
        params: dict[str, str | int] = {}
        if updated_min is not None:
            params["updated_at_min"] = _filter_time(updated_min, round_up=False)
        if updated_max is not None:
            params["updated_at_max"] = _filter_time(updated_max, round_up=False)
        return int(self._key(self._get("orders/count", params), "count", "orders/count"))

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        """One order by id (``{"order": {...}}`` envelope unwrapped)."""
        resource = f"orders/{order_id}"
        return dict(self._key(self._get(resource), "order", resource))

    def order_products(self, order_id: int | str) -> list[dict[str, Any]]:
        """The order's lines (``orders/{id}/products.json`` → ``orderProducts``)."""
        resource = f"orders/{order_id}/products"
        return list(self._key(self._get(resource), "orderProducts", resource))
