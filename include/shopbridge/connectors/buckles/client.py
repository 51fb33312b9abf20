"""HTTP client for the (assumed) Buckles REST API, ``{base}/api/v1/``.

No public Buckles API reference exists (VENDOR_APIS.md §7): everything here is the
ASSUMPTION [U] written out in the package docstring, kept behind this one class so it can
be pointed at the real API by changing this file and ``translate.py`` only.

What it decides, so callers don't have to:

* **Auth** is ``Authorization: Bearer <token>`` (:class:`BearerToken`); a 401/403 is an
  :class:`AuthError` naming Buckles' ``error`` text, never retried.
* **Paging** is ``page``/``per_page`` (max 100) with a ``meta`` block carrying ``total``
  (the kit's :class:`~shopbridge.connectors._kit.pages.PageTotal`); a page that comes back
  with another number than asked is a :class:`PaginationLoop` (following it would never
  end), pages that do not add up to ``meta.total`` a ``FatalError``.
* **Rate limit**: 600 requests per minute per token [U]. The client paces itself on a
  sliding window (:class:`~._limits.MinuteWindow`) *before* sending and still retries a
  429, waiting ``Retry-After`` seconds, or, without one, until its own window has room.
* **Errors** come as ``{"error": "...", "field": "..."}``; method, path (never the query
  or headers: no token in a message), status, field and error text go into the exception.
  429/5xx/transport errors are :class:`RetriableError`, any other 4xx :class:`FatalError`.
* **Creating POSTs** are retried on 429 only (Buckles refused them before doing
  anything); a timeout or 5xx could hide a success, so the target looks the record up by
  its unique key (``channel_order_id``, ``email``, ``sku``) instead (STYLE R6).

Methods use Buckles' terms and return raw JSON (STYLE R2).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Unpack

import httpx
from pydantic import Field, SecretStr

from shopbridge.connectors._kit.client import JsonClient, Transport, json_of, rate_limited
from shopbridge.connectors._kit.http import RetryOn, parse_retry_after
from shopbridge.connectors._kit.pages import PageTotal, check_page_size
from shopbridge.connectors._kit.settings import VendorSettings
from shopbridge.connectors.buckles._limits import DEFAULT_PER_MINUTE, MinuteWindow
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
MAX_PER_PAGE = 100
#: how many values one ``?sku=a,b,c`` style filter carries (ASSUMPTION [U]: keeps the
#: URL short; the sandbox accepts any number)
FILTER_CHUNK = 50
#: what a request is retried on: ``rate_limit`` for creating POSTs (see module doc)


def iso(value: datetime) -> str:
    """A filter or payload time as Buckles takes it: ISO 8601 UTC with ``Z`` [U]."""
    if value.tzinfo is None:
        raise ConfigError(f"time {value!r} has no timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_default(value: Any) -> Any:
    """Money and quantities as decimal text (``"12.50"``: no float on the way) [U]."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """The one serialisation of a request body."""
    return json.dumps(body, separators=(",", ":"), default=_json_default).encode()


def error_text(resp: httpx.Response) -> str:
    """``field: error`` of a Buckles error body (or a bounded excerpt of a foreign one)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if not isinstance(body, dict):
        return ""
    message = str(body.get("error") or "")[:500]
    field = body.get("field")
    return f"{field}: {message}" if field else message


def describe(resp: httpx.Response) -> str:
    """Method, path (no query), status and Buckles' error: what every exception says."""
    req = resp.request
    head = f"{req.method} {req.url.path} -> {resp.status_code}"
    text = error_text(resp)
    return f"{head} {text}" if text else head


class BearerToken(httpx.Auth):
    """``Authorization: Bearer <token>``; the token stays a ``SecretStr`` until then."""

    def __init__(self, token: SecretStr | str) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)

    def __repr__(self) -> str:  # never show the token
        return "BearerToken(***)"

    def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.apply(request)
        yield request


class BucklesSettings(VendorSettings):
    """What a Connection holds for one Buckles account; the hook fills it."""

    #: the API's address without ``/api/v1`` (ASSUMPTION [U]: e.g. ``https://app.buckles.io``)
    base_url: str = Field(min_length=1)
    token: SecretStr
    per_page: int = Field(MAX_PER_PAGE, ge=1, le=MAX_PER_PAGE)
    #: requests per minute for this token [U]
    rate_limit_per_minute: int = Field(DEFAULT_PER_MINUTE, ge=1, le=100_000)
    #: the ``channel`` orders and checkouts are filed under (the source system's name
    #: when empty)
    channel: str = ""


class BucklesClient(JsonClient):
    """Paced, retried, bearer-authenticated JSON calls to one Buckles account."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | str,
        *,
        per_page: int = MAX_PER_PAGE,
        rate_limit_per_minute: int = DEFAULT_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        **transport: Unpack[Transport],
    ) -> None:
        """``http``: an injected client (a sandbox's ``TestClient``); ``clock`` drives the
        pacing window and ``policy.sleep`` the waits (tests pass fakes)."""
        check_page_size(per_page, MAX_PER_PAGE, "per_page")
        self.base_url = base_url.rstrip("/")
        self.auth = BearerToken(token)
        self._connect(**transport)
        self.per_page = per_page
        self.window = MinuteWindow(rate_limit_per_minute, clock=clock)

    # --- transport ---------------------------------------------------------------------

    def _prepare(self, method: str, request: httpx.Request) -> None:
        """Wait until the token's window has room, count this request in it, authorise."""
        self.window.acquire(self.policy.sleep, f"{method} {request.url.path}")
        self.auth.apply(request)

    def _check(self, resp: httpx.Response) -> None:
        """The one place a status becomes an error (STYLE R5)."""
        status = resp.status_code
        if status < 400:
            return
        if status in (401, 403):
            raise AuthError(describe(resp), response=resp)
        if status == 429:  # without Retry-After [U]: until our oldest request leaves
            raise rate_limited(resp, describe(resp), self.window.oldest_expires)
        if status >= 500:
            raise RetriableError(describe(resp), response=resp, retry_after=parse_retry_after(resp))
        raise FatalError(describe(resp), response=resp)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path.lstrip('/')}"

    def _dumps(self, body: Any) -> bytes:
        return dumps(body)

    def _object(
        self, method: str, path: str, body: Any = None, retry: RetryOn = "all"
    ) -> dict[str, Any]:
        """A call answering one record ``{"data": {...}}`` (its ``id`` required)."""
        answer = self.request(method, path, body=body, retry=retry)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise FatalError(f"{method} {path}: the response carries no record with an id")
        return data

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list endpoint, page by page (``{"data": [...], "meta"}``).

        The pages must add up to the last ``meta.total``: an empty page before it, or more
        rows than it, is a ``FatalError`` (a list never ends early in silence)."""

        def items_of(resp: httpx.Response) -> list[dict[str, Any]]:
            body = json_of(resp)
            items = body.get("data") if isinstance(body, dict) else None
            meta = body.get("meta") if isinstance(body, dict) else None
            if not isinstance(items, list) or not isinstance(meta, dict):
                raise FatalError(f"GET {path}: response is not {{data: [...], meta: {{...}}}}")
            if not all(isinstance(item, dict) for item in items):
                raise FatalError(f"GET {path}: a record is not an object")
            return items

        pager = PageTotal(self.per_page, where=f"GET {path}", whole=True)
        return self._iter_paged(path, pager, items_of, params)

    def iter_filtered(
        self, path: str, key: str, values: Sequence[str], params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Records whose ``key`` is one of ``values`` (``?key=a,b,c``, in chunks)."""
        wanted = sorted({v for v in values if v})
        for bad in (v for v in wanted if "," in v):
            raise ConfigError(
                f"{key} {bad!r} contains a comma; Buckles' list filters are comma-separated [U]"
            )
        for i in range(0, len(wanted), FILTER_CHUNK):
            chunk = wanted[i : i + FILTER_CHUNK]
            yield from self.iter_pages(path, {**(params or {}), key: ",".join(chunk)})

    @staticmethod
    def _window(start: datetime | None, end: datetime | None) -> dict[str, str]:
        params: dict[str, str] = {}
        if start is not None:
            params["updated_since"] = iso(start)
        if end is not None:
            params["updated_before"] = iso(end)
        return params

    # --- resources ---------------------------------------------------------------------

    def ping(self) -> int:
        """``GET orders?per_page=1``: one cheap authenticated call; the order count."""
        body = self.request("GET", "orders", params={"page": 1, "per_page": 1})
        meta = body.get("meta") if isinstance(body, dict) else None
        if not isinstance(meta, dict):
            raise FatalError("GET orders: response has no meta")
        return int(meta.get("total") or 0)

    def iter_orders(
        self,
        *,
        channel_order_ids: Sequence[str] | None = None,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET orders`` by our references and/or changed within a window."""
        params = self._window(updated_since, updated_before)
        if channel_order_ids is not None:
            yield from self.iter_filtered("orders", "channel_order_id", channel_order_ids, params)
        else:
            yield from self.iter_pages("orders", params)

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        """``GET orders/{id}`` (shipments embedded)."""
        return self._object("GET", f"orders/{order_id}")

    def create_order(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST orders``; retried on 429 only (see module doc). A 409 means an order with
        this ``channel``/``channel_order_id`` exists (its ``id`` is in the error body)."""
        return self._object("POST", "orders", dict(payload), retry="rate_limit")

    def iter_customers(
        self,
        *,
        emails: Sequence[str] | None = None,
        numbers: Sequence[str] | None = None,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET customers`` by e-mail, by the channel's customer number
        (``customer_number``, [U]) and/or changed within a window."""
        params = self._window(updated_since, updated_before)
        if emails is not None:
            yield from self.iter_filtered("customers", "email", emails, params)
        elif numbers is not None:
            yield from self.iter_filtered("customers", "customer_number", numbers, params)
        else:
            yield from self.iter_pages("customers", params)

    def create_customer(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST customers``; 409 when the e-mail or the customer number exists (each is
        unique when set)."""
        return self._object("POST", "customers", dict(payload), retry="rate_limit")

    def update_customer(self, customer_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH customers/{id}``: idempotent, so retried."""
        return self._object("PATCH", f"customers/{customer_id}", dict(fields))

    def iter_products(
        self, *, skus: Sequence[str] | None = None, barcodes: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET products`` by SKU, by barcode, or all."""
        if skus is not None:
            yield from self.iter_filtered("products", "sku", skus)
        elif barcodes is not None:
            yield from self.iter_filtered("products", "barcode", barcodes)
        else:
            yield from self.iter_pages("products")

    def create_product(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST products``; 409 when the SKU (or barcode) exists."""
        return self._object("POST", "products", dict(payload), retry="rate_limit")

    def update_product(self, product_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH products/{id}``."""
        return self._object("PATCH", f"products/{product_id}", dict(fields))

    def iter_categories(self) -> Iterator[dict[str, Any]]:
        """``GET categories``: the flat list, each with its ``path`` ("A > B")."""
        yield from self.iter_pages("categories")

    def create_category(self, path: str) -> dict[str, Any]:
        """``POST categories {"path"}``; 409 when it exists."""
        return self._object("POST", "categories", {"path": path}, retry="rate_limit")

    def iter_stock(self, *, skus: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """``GET stock``: one row per SKU (``on_hand``, ``reserved``)."""
        if skus is not None:
            yield from self.iter_filtered("stock", "sku", skus)
        else:
            yield from self.iter_pages("stock")

    def iter_shipments(
        self, *, updated_since: datetime | None = None, updated_before: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET shipments`` changed within a window."""
        yield from self.iter_pages("shipments", self._window(updated_since, updated_before))

    def put_shipment(self, order_id: int | str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST orders/{id}/shipments``: adds, or updates the order's shipment with the
        same ``tracking_code`` (else the same ``reference``) [U]; so it is retried."""
        return self._object("POST", f"orders/{order_id}/shipments", dict(payload))

    def put_checkout(self, channel_checkout_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT checkouts/{channel_checkout_id}``: an upsert, so retried."""
        if not channel_checkout_id or "/" in channel_checkout_id:
            raise ConfigError(f"checkout id {channel_checkout_id!r} cannot be a path segment")
        return self._object("PUT", f"checkouts/{channel_checkout_id}", dict(payload))

    def iter_checkouts(
        self, *, updated_since: datetime | None = None, updated_before: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET checkouts``."""
        yield from self.iter_pages("checkouts", self._window(updated_since, updated_before))
