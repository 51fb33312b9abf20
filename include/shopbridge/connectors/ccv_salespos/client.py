"""HTTP client for the CCV Shop / CCV SalesPOS REST API (``/api/rest/v1/``).

What it decides, so callers don't have to (VENDOR_APIS.md §6):

* **Every request is signed** (:class:`CcvHmacAuth`): ``x-public``, ``x-date`` and
  ``x-hash`` over the exact path+query and body bytes that go on the wire. A body is
  serialised once (:func:`dumps`) and those bytes are both signed and sent. Each attempt
  (a retry too) is signed afresh, so a retried request never carries a stale ``x-date``.
* **Every response is verified** against the same scheme (the vendor SDK's
  ``validateResponse``). A mismatch, or a 2xx without a signature, is a
  :class:`FatalError` naming the request: the answer may have been altered on the way, and
  acting on it (an order id, a stock level) is worse than stopping. An *error* response
  without a signature (a proxy's 502) is judged by its status alone: the vendor SDK does
  not check error responses either, and it carries no data we use. A 401/403 is an
  :class:`AuthError` whatever its signature (when the credentials are wrong, so is the
  check).
* **Rate limits** are per minute, per resource and method and in total (numbers [U]); the
  client paces itself on sliding windows (:class:`~._limiter.MinuteWindows`) configured
  to the shop's limits *before* sending, and still retries a ``429`` (codes
  ``429.10``/``429.11``) with ``Retry-After`` when given, else with the time its own
  window needs.
* **Errors** come as ``{"code":"429.10","status":429,"developermessage":"…"}``; the code and
  developer message go into the exception. CCV reports some client mistakes with HTTP 500
  (``500.20``-``500.90``: schema mismatch, property exists, payload too big, ...) and
  ``501.xx`` (not implemented, read-only): those are :class:`FatalError`, not retried.
* **Paging** uses ``start``/``size`` and follows the envelope's ``next`` link (the kit's
  :class:`~shopbridge.connectors._kit.pages.NextLink`), so a server that caps ``size``
  lower than asked still pages right.

Methods use vendor terms and return raw JSON (STYLE R2).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Unpack

import httpx
from pydantic import Field, SecretStr

from shopbridge.connectors._kit.client import JsonClient, Transport, json_of, rate_limited
from shopbridge.connectors._kit.http import parse_retry_after
from shopbridge.connectors._kit.pages import NextLink, check_page_size
from shopbridge.connectors._kit.settings import VendorSettings
from shopbridge.connectors.ccv_salespos._limiter import TOTAL_CODE, MinuteWindows, resource_of
from shopbridge.connectors.ccv_salespos._signing import (
    DATE_HEADER,
    HASH_HEADER,
    PUBLIC_HEADER,
    matches,
    sign,
    stamp,
)
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

log = logging.getLogger(__name__)

API_PREFIX = "/api/rest/v1/"
#: what the client asks per page; the server may cap it lower [U], paging follows ``next``
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250
#: per-minute limits the client paces to when the connection names none (ASSUMPTION [U]:
#: the vendor does not publish them; these are the sandbox's defaults)
DEFAULT_PER_RESOURCE = 120
DEFAULT_TOTAL = 600
#: the vendor SDK's two schemas: the webshop's (whose field names this connector reads)
#: and SalesPOS-specific ones (``application/vnd.verto.salespos+json``) [U: not documented]
ACCEPT = {
    "webshop": "application/vnd.verto.webshop+json",
    "salespos": "application/vnd.verto.salespos+json",
}
#: CCV codes sent with HTTP 5xx that describe the request, not the server: never retried
#: (schema mismatch, file problems, property exists, same value, product limit, method
#: not allowed on resource, payload too big, app not installed)
FATAL_5XX_CODES = frozenset(
    {
        "500.20",
        "500.21",
        "500.22",
        "500.23",
        "500.24",
        "500.25",
        "500.40",
        "500.50",
        "500.60",
        "500.70",
        "500.80",
        "500.90",
    }
)
#: what a creating request is retried on: ``429`` means CCV refused it before doing
#: anything, so sending it again cannot double it; anything else could hide a success


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _json_default(value: Any) -> Any:
    """JSON numbers for Decimals (the API takes numbers) and ISO text for datetimes."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return stamp(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """The one serialisation of a request body: compact, ASCII-only (so text and bytes are
    the same string for the signature), Decimals as numbers."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=True, default=_json_default).encode(
        "ascii"
    )


def uri_of(url: httpx.URL) -> str:
    """Path plus query exactly as the request line carries it (what CCV signs)."""
    return url.raw_path.decode("ascii")


def error_info(resp: httpx.Response) -> tuple[str, str]:
    """``(code, developermessage)`` of a CCV error body; empty strings when absent."""
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:300]
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("code") or ""), str(body.get("developermessage") or "")[:500]


def describe(resp: httpx.Response) -> str:
    """Method, path (no query), status and CCV's error code and developer message."""
    req = resp.request
    code, message = error_info(resp)
    head = f"{req.method} {req.url.path} -> {resp.status_code}"
    return " ".join(p for p in (head, code, message) if p)


class CcvHmacAuth(httpx.Auth):
    """CCV's HMAC-SHA512 request signing and response verification as an ``httpx.Auth``.

    The client calls :meth:`sign` and :meth:`verify` itself on every attempt (so it never
    changes an injected ``httpx.Client``); :meth:`auth_flow` makes the same object usable as
    ``httpx.Client(auth=...)``.
    """

    requires_request_body = True
    requires_response_body = True

    def __init__(
        self, public: str, secret: SecretStr | str, *, utcnow: Callable[[], datetime] = _utcnow
    ) -> None:
        """``utcnow`` stamps ``x-date``; tests pass a skewed clock to provoke a 401."""
        self.public = public
        self._secret = secret if isinstance(secret, SecretStr) else SecretStr(secret)
        self._utcnow = utcnow

    def __repr__(self) -> str:  # never show the secret
        return f"CcvHmacAuth(public={self.public!r})"

    def sign(self, request: httpx.Request) -> None:
        """Set the three headers on ``request`` (built with its final URL and content)."""
        date = stamp(self._utcnow())
        request.headers[PUBLIC_HEADER] = self.public
        request.headers[DATE_HEADER] = date
        request.headers[HASH_HEADER] = sign(
            self._secret.get_secret_value(),
            self.public,
            request.method,
            uri_of(request.url),
            request.content,
            date,
        )

    def verify(self, resp: httpx.Response) -> None:
        """Raise :class:`FatalError` when ``resp`` is not signed with our secret.

        Not checked: 401/403 (the credentials are what is in doubt) and unsigned error
        responses (a gateway's 5xx cannot be signed). A 2xx must be signed.
        """
        if resp.status_code in (401, 403):
            return
        given, date = resp.headers.get(HASH_HEADER), resp.headers.get(DATE_HEADER)
        req = resp.request
        what = f"{req.method} {req.url.path} -> {resp.status_code}"
        if given is None or date is None:
            if resp.status_code >= 400:
                return
            raise FatalError(
                f"{what}: the response is not signed (no {HASH_HEADER}/"
                f"{DATE_HEADER}); refusing to use it",
                response=resp,
            )
        expected = sign(
            self._secret.get_secret_value(),
            self.public,
            req.method,
            uri_of(req.url),
            resp.content,
            date,
        )
        if not matches(expected, given):
            raise FatalError(
                f"{what}: the response signature does not match ({HASH_HEADER} "
                "differs from the HMAC of its body with our secret); the answer "
                "was altered on the way or is not from this shop",
                response=resp,
            )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign, send, verify."""
        self.sign(request)
        response = yield request
        self.verify(response)


class CcvSalesposSettings(VendorSettings):
    """What a Connection holds for one shop; the hook fills it, the client is built from it."""

    #: the shop's own address, e.g. ``https://demo.ccvshop.nl`` (the API is under it)
    base_url: str = Field(min_length=1)
    public_key: str = Field(min_length=1)
    secret_key: SecretStr
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    #: the shop's per-minute limits (ASSUMPTION [U]: ask CCV for the shop's numbers)
    rate_limit_per_resource: int = Field(DEFAULT_PER_RESOURCE, ge=1, le=100_000)
    rate_limit_total: int = Field(DEFAULT_TOTAL, ge=1, le=100_000)
    #: the ``Accept`` schema; ``salespos`` is the vendor SDK's SalesPOS schema [U]
    api_schema: Literal["webshop", "salespos"] = "webshop"
    #: whether the shop's product prices include VAT; ``None`` (the default): read the
    #: shop's ``prices_include_vat`` setting [S]; a value here overrides it
    prices_include_tax: bool | None = None
    #: the shop's currency (products carry none); ``None`` (the default): read the shop's
    #: ``currency`` setting [S]; a value here is used when the shop's setting is empty
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    #: the order field that carries our reference (see the target's docstring)
    reference_field: Literal["reservationnumber", "transaction_id"] = "reservationnumber"
    #: as an order target: how far back (by ``create_date``) ``find_orders`` looks
    order_lookup_days: int = Field(30, ge=1, le=366)


class CcvSalesposClient(JsonClient):
    """Signed, paced and verified access to one shop's REST API; raw JSON in and out."""

    def __init__(
        self,
        base_url: str,
        public_key: str,
        secret_key: SecretStr | str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        rate_limit_per_resource: int = DEFAULT_PER_RESOURCE,
        rate_limit_total: int = DEFAULT_TOTAL,
        api_schema: Literal["webshop", "salespos"] = "webshop",
        clock: Callable[[], float] = time.monotonic,
        utcnow: Callable[[], datetime] = _utcnow,
        **transport: Unpack[Transport],
    ) -> None:
        """``clock`` drives the pacing windows and ``utcnow`` the ``x-date`` (tests pass
        fakes); ``http`` may be Starlette's ``TestClient`` (it is never modified)."""
        check_page_size(page_size, MAX_PAGE_SIZE)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.auth = CcvHmacAuth(public_key, secret_key, utcnow=utcnow)
        self.windows = MinuteWindows(rate_limit_per_resource, rate_limit_total, clock=clock)
        self.accept = ACCEPT[api_schema]
        self._connect(**transport)

    # --- plumbing ------------------------------------------------------------------------

    def _key(self, method: str, path: str) -> tuple[str, str]:
        """The window a request counts in: its resource and method."""
        return resource_of(path, API_PREFIX.rstrip("/")), method.upper()

    def _prepare(self, method: str, request: httpx.Request) -> None:
        """Wait until a request on this resource and method fits both minute windows, count
        it, then sign it: each attempt signs its own ``x-date``. Waits are at most a minute
        by construction, so they are slept out here rather than handed to Airflow."""
        self.windows.acquire(self._key(method, request.url.path), self.policy.sleep)
        self.auth.sign(request)

    def _check(self, resp: httpx.Response) -> None:
        """Verify the signature, then turn the status into an error (STYLE R5).

        Override point for a shop behind a proxy that answers in a 200 body.
        """
        if resp.status_code in (401, 403):
            raise AuthError(describe(resp), response=resp)
        self.auth.verify(resp)
        status = resp.status_code
        if status < 400:
            return
        code, _ = error_info(resp)
        if status == 429:  # without Retry-After [U]: until our oldest request of the minute
            key = (
                None
                if code == TOTAL_CODE
                else self._key(resp.request.method, resp.request.url.path)
            )
            raise rate_limited(  # leaves the window the code names
                resp, describe(resp), lambda: self.windows.oldest_expires(key)
            )
        if status >= 500 and code not in FATAL_5XX_CODES and not code.startswith("501."):
            raise RetriableError(describe(resp), response=resp, retry_after=parse_retry_after(resp))
        raise FatalError(describe(resp), response=resp)

    def _url(self, path: str) -> str:
        """``orders`` -> ``{base}/api/rest/v1/orders``; an ``/api/...`` path is kept."""
        if path.startswith("/"):
            return f"{self.base_url}{path}"
        return f"{self.base_url}{API_PREFIX}{path}"

    def _dumps(self, body: Any) -> bytes:
        return dumps(body)

    def get_one(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One resource object (``products/5``)."""
        body = self.request("GET", path, params=params)
        if not isinstance(body, dict):
            raise FatalError(f"GET {path}: expected an object, got {type(body).__name__}")
        return body

    def iter_collection(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, page by page (``{"items": [...], "next": ...}``)."""

        def items_of(resp: httpx.Response) -> list[dict[str, Any]]:
            body = json_of(resp)
            items = body.get("items") if isinstance(body, dict) else None
            if isinstance(body, dict) and items is None and "id" in body:
                # the vendor SDK reads a collection answer without "items" as the one
                # resource it is (ccvshop-api BaseEndpoint::restGetAll) [S]
                return [body]
            if not isinstance(items, list):
                raise FatalError(f"GET {path}: response has no 'items' list")
            if not all(isinstance(item, dict) for item in items):
                raise FatalError(f"GET {path}: an item is not an object")
            return items

        return self._iter_paged(path, NextLink(self.page_size), items_of, params)

    # --- vendor resources ----------------------------------------------------------------

    def webshops(self, *, size: int | None = None) -> list[dict[str, Any]]:
        """``GET webshops``: the shop(s) this key reaches; one page (a cheap probe)."""
        body = self.request("GET", "webshops", params={"start": 0, "size": size or self.page_size})
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise FatalError("GET webshops: response has no 'items' list")
        return items

    def webshop_settings(self, webshop_id: int | str) -> dict[str, Any]:
        """``GET webshops/{id}/settings``: ``currency``, ``prices_include_vat`` [S]."""
        return self.get_one(f"webshops/{webshop_id}/settings")

    def iter_products(
        self,
        *,
        expand: Sequence[str] = (),
        filters: Mapping[str, Any] | None = None,
        orderby: str | None = "id",
    ) -> Iterator[dict[str, Any]]:
        """``GET products`` with ``expand=`` (e.g. ``attributecombinations``,
        ``producttocategories``) and filters such as ``eannumber`` [S]."""
        params: dict[str, Any] = dict(filters or {})
        if expand:
            params["expand"] = ",".join(expand)
        if orderby:
            params["orderby"] = orderby
        yield from self.iter_collection("products", params)

    def get_product(self, product_id: int | str, *, expand: Sequence[str] = ()) -> dict[str, Any]:
        """``GET products/{id}``."""
        params = {"expand": ",".join(expand)} if expand else None
        return self.get_one(f"products/{product_id}", params)

    def iter_attributecombinations(self, product_id: int | str) -> Iterator[dict[str, Any]]:
        """``GET products/{id}/attributecombinations``: a product's variants."""
        yield from self.iter_collection(f"products/{product_id}/attributecombinations")

    def iter_producttocategories(self, product_id: int | str) -> Iterator[dict[str, Any]]:
        """``GET products/{id}/producttocategories``: which categories hold the product."""
        yield from self.iter_collection(f"products/{product_id}/producttocategories")

    def update_attributecombination(
        self, combination_id: int | str, fields: Mapping[str, Any]
    ) -> None:
        """``PATCH attributecombinations/{id}`` (``stock``, ``sku_number``, ``active``,
        ...) [S]; setting the same fields again is harmless, so it is retried."""
        self.request("PATCH", f"attributecombinations/{combination_id}", body=dict(fields))

    def iter_categories(self) -> Iterator[dict[str, Any]]:
        """``GET categories``: every category, each naming its ``parentcategory``."""
        yield from self.iter_collection("categories", {"orderby": "id"})

    def iter_orders(
        self,
        *,
        min_create_date: datetime | None = None,
        max_create_date: datetime | None = None,
        filters: Mapping[str, Any] | None = None,
        orderby: str | None = "id",
        expand: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        """``GET orders`` with the documented filters (``status``, ``is_paid``,
        ``ordernumber``, ...) and the create-date bounds (ISO 8601 UTC [U: format]).

        Orders have no modified-since filter [V]: polling for changes is not possible.
        """
        params: dict[str, Any] = dict(filters or {})
        if min_create_date is not None:
            params["min_create_date"] = _filter_time(min_create_date)
        if max_create_date is not None:
            params["max_create_date"] = _filter_time(max_create_date)
        if orderby:
            params["orderby"] = orderby
        if expand:
            params["expand"] = ",".join(expand)
        yield from self.iter_collection("orders", params)

    def get_order(self, order_id: int | str, *, expand: Sequence[str] = ()) -> dict[str, Any]:
        """``GET orders/{id}``."""
        params = {"expand": ",".join(expand)} if expand else None
        return self.get_one(f"orders/{order_id}", params)

    def order_rows(self, order_id: int | str) -> list[dict[str, Any]]:
        """``GET orders/{id}/orderrows``."""
        return list(self.iter_collection(f"orders/{order_id}/orderrows"))

    def create_order(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST orders`` with its ``orderrows``; returns the created order.

        Retried only on ``429`` (see :meth:`send`): CCV has no idempotency key, so after a
        timeout or an answer without an id (:class:`RetriableError`) the caller must look
        the order up by its reference before trying again.
        """
        body = self.request("POST", "orders", body=dict(payload), retry="rate_limit")
        if not isinstance(body, dict) or body.get("id") in (None, ""):
            # the vendor SDK: "the api gives sometimes a no-content, even on success" [S]:
            # the order may exist, so the flow looks the reference up before trying again
            raise RetriableError(
                "POST orders: CCV's answer carries no order id (an empty "
                "answer can hide a created order); the reference is looked "
                "up before the order is sent again"
            )
        return body

    def update_order(self, order_id: int | str, fields: Mapping[str, Any]) -> None:
        """``PATCH orders/{id}`` (``status``, ``track_and_trace_code``, ...); idempotent."""
        self.request("PATCH", f"orders/{order_id}", body=dict(fields))


def _filter_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ConfigError(f"date filter {value!r} has no timezone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
