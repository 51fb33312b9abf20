"""HTTP client for the Lightspeed eCom (C-Series, ex SEOshop/WebshopApp) REST API.

Vendor quirks this module absorbs (VENDOR_APIS.md §1):

* Every URL is ``{base}/{language}/{resource}.json``; the language segment is mandatory.
* Errors can arrive in a 2xx body (``{"error": {...}}``); the official PHP client treats
  any body with a top-level ``error`` as a failure, so :func:`check` does the same.
* Rate limits come as three slash-separated windows (5 min / hour / day) in
  ``X-RateLimit-Limit/Remaining/Reset``. We pace on them *before* the next request rather
  than provoking a 429: an emptied window that resets within ``rate_limit_pause_s`` (else
  ``policy.max_wait``) is slept out, a longer one raises :class:`RetriableError` so
  Airflow's task retry takes over. Clients built from settings sleep out the 5-minute
  window (``rate_limit_pause_s``, 330 s): a sync needing more than 300 calls (a first
  catalogue load, a stock sync of hundreds of variants) then keeps going at the vendor's
  pace instead of failing its task, whose retry would meet the same empty window with
  no headers read yet and provoke real 429s.
* The per-second cap (20/s) is not in the headers; its 429 carries ``Retry-After`` and is
  retried by :func:`shopbridge.connectors._kit.http.send`.
* ``updated_at_min``/``updated_at_max`` are both inclusive, second resolution,
  ``YYYY-MM-DD HH:MM:SS``. ASSUMPTION [U]: the vendor reads them as UTC.

Methods use vendor terms and return raw JSON (STYLE R2).
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Unpack

import httpx
from pydantic import Field, SecretStr

from shopbridge.connectors._kit.client import JsonClient, Transport, error_in_body
from shopbridge.connectors._kit.http import classify, describe, send
from shopbridge.connectors._kit.pacing import SlidingWindow
from shopbridge.connectors._kit.pages import (
    PageNumber,
    Paginator,
    SinceId,
    body_of,
    check_page_size,
)
from shopbridge.connectors._kit.settings import VendorSettings
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import ConfigError, FatalError, RetriableError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.webshopapp.com"
#: the vendor caps ``limit`` at 250
MAX_PAGE_SIZE = 250
#: the per-second cap per shop and key (community: announced as 5/s, corrected to 20/s)
DEFAULT_PER_SECOND = 20
FILTER_FORMAT = "%Y-%m-%d %H:%M:%S"
#: image downloads: a CDN may be slower than the API for large files
FILE_TIMEOUT = httpx.Timeout(30.0, connect=3.0)
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILE_REDIRECTS = 3


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
    error_in_body(resp, "error")


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


class LightspeedEcomSettings(VendorSettings):
    """What a Connection holds for one shop; the hook fills it, the client is built from it."""

    base_url: str = DEFAULT_BASE_URL
    language: str = Field("nl", pattern=r"^[a-z]{2}$")
    key: SecretStr
    secret: SecretStr
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    max_per_second: int = Field(DEFAULT_PER_SECOND, ge=1, le=100)
    #: as an order target: how far back (by ``createdAt``) ``find_orders`` pages the shop's
    #: orders for our reference; longer than any ledger loss you want to survive
    order_lookup_days: int = Field(30, ge=1, le=366)
    #: seconds the client may sleep out an emptied rate-limit window before it hands the
    #: wait to Airflow (330: the 5-minute window is waited out, the hour and day ones not)
    rate_limit_pause_s: float = Field(330.0, ge=0, le=3600)
    #: as a product target: the product field that keeps our item code (the parent SKU of
    #: a configurable product, the SKU of a simple one). ASSUMPTION [U]: ``data01``-``03``
    #: are free text fields on products (a third-party SDK, live-checked there)
    item_code_field: Literal["data01", "data02", "data03"] = "data01"


class LightspeedEcomClient(JsonClient):
    """Read orders (and their lines) from one shop, in one language, with one API key."""

    def __init__(
        self,
        base_url: str,
        language: str,
        key: str,
        secret: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        max_per_second: int = DEFAULT_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        rate_limit_pause_s: float | None = None,
        **transport: Unpack[Transport],
    ) -> None:
        check_page_size(page_size, MAX_PAGE_SIZE)
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.page_size = page_size
        #: image downloads from the vendor's CDN: not API calls (no auth, no rate limit),
        #: so they are counted apart from ``counter``
        self.file_counter = CallCounter()
        self.rate_limit: RateLimit | None = None
        #: longest emptied-window wait slept out here (``None``: ``policy.max_wait``)
        self.rate_limit_pause = rate_limit_pause_s
        # the per-second cap is not in the headers, so the client keeps its own count
        self.per_second = SlidingWindow(max_per_second, 1.0, clock=clock)
        self._clock = clock
        self._connect(**transport)
        # Set per request, not as client auth: an injected client (TestClient) has its own
        # auth settings, and ``send`` calls ``http.send(request)`` without ``auth=``.
        token = base64.b64encode(f"{key}:{secret}".encode()).decode()
        self._auth_header = f"Basic {token}"

    def __repr__(self) -> str:  # never show the credentials
        return f"LightspeedEcomClient({self.base_url!r}, {self.language!r})"

    # --- plumbing ------------------------------------------------------------------------

    def _url(self, resource: str) -> str:
        return f"{self.base_url}/{self.language}/{resource}.json"

    def _pace_per_second(self) -> None:
        """Stay under the per-second cap (announced as 5/s, corrected to 20/s): a full
        second's worth of requests means waiting until the oldest is a second old."""
        self.per_second.acquire(self.policy.sleep)

    def _headers(self) -> dict[str, str]:
        return {**super()._headers(), "Authorization": self._auth_header}

    def _prepare(self, method: str, request: httpx.Request) -> None:
        """Wait out an emptied rate-limit window (or hand over to Airflow if it is long),
        then the per-second cap: in that order, so the per-second count stamps the moment
        the request really leaves (stamped before a long pause, it would let one request
        too many into the first second after it, a 429 every 20 requests from then on)."""
        self._pace_window()
        self._pace_per_second()

    def _pace_window(self) -> None:
        if self.rate_limit is None:
            return
        wait = self.rate_limit.wait_needed(self._clock())
        if wait <= 0:
            return
        ceiling = (
            self.policy.max_wait
            if self.rate_limit_pause is None
            else max(self.rate_limit_pause, self.policy.max_wait)
        )
        if wait > ceiling:
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

    def _paged(
        self,
        resource: str,
        pager: Paginator,
        rows_of: Callable[[Any], list[dict[str, Any]]],
        params: Mapping[str, str | int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows ``rows_of`` finds in each page's body of ``resource``."""
        return self._iter_paged(resource, pager, lambda resp: rows_of(body_of(resp)), params)

    def _get(self, resource: str, params: Mapping[str, str | int] | None = None) -> Any:
        return self.request("GET", resource, params=params)

    @staticmethod
    def _key(body: Any, key: str, resource: str) -> Any:
        if not isinstance(body, dict) or key not in body:
            raise FatalError(f"GET {resource}.json: response has no {key!r} key")
        return body[key]

    # --- orders --------------------------------------------------------------------------

    def iter_customers(
        self, updated_min: datetime, updated_max: datetime
    ) -> Iterator[dict[str, Any]]:
        """Customers with ``updated_min <= updatedAt < updated_max`` (same paging as orders)."""
        yield from self._iter_changed("customers", updated_min, updated_max)

    def iter_orders(self, updated_min: datetime, updated_max: datetime) -> Iterator[dict[str, Any]]:
        """Orders with ``updated_min <= updatedAt < updated_max``, page by page."""
        yield from self._iter_changed("orders", updated_min, updated_max)

    def _iter_changed(
        self, resource: str, updated_min: datetime, updated_max: datetime
    ) -> Iterator[dict[str, Any]]:
        """Records of ``resource`` changed in ``[updated_min, updated_max)``.

        The vendor filter is inclusive on both ends and second-resolution, so we ask for a
        slightly wider window and drop records outside ``[min, max)`` here; a record at
        exactly ``max`` belongs to the next window. Paged by ``since_id``, not by page
        number: a record edited while the window is read leaves the filtered list, and
        page offsets would then skip the record after it (:class:`SinceId`).
        """
        params = {
            "updated_at_min": _filter_time(updated_min, round_up=False),
            "updated_at_max": _filter_time(updated_max, round_up=True),
        }
        pager = SinceId(self.page_size)
        for row in self._paged(
            resource, pager, lambda body: self._key(body, resource, resource), params
        ):
            if _in_window(row, updated_min, updated_max):
                yield row

    def update_order(self, order_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT orders/{id}.json {"order": {...}}``: only status-like fields are writable."""
        body = self.request("PUT", f"orders/{order_id}", body={"order": dict(fields)})
        order: dict[str, Any] = self._key(body, "order", f"orders/{order_id}")
        return order

    def count_orders(
        self, updated_min: datetime | None = None, updated_max: datetime | None = None
    ) -> int:
        """``orders/count.json``, optionally filtered (both bounds inclusive, as the vendor)."""
        params: dict[str, str | int] = {}
        if updated_min is not None:
            params["updated_at_min"] = _filter_time(updated_min, round_up=False)
        if updated_max is not None:
            params["updated_at_max"] = _filter_time(updated_max, round_up=False)
        return int(self._key(self._get("orders/count", params), "count", "orders/count"))

    def get_shop(self) -> dict[str, Any]:
        """``GET shop.json`` (``{"shop": {...}}`` unwrapped): the shop's settings, among them
        ``currency.shortcode`` [V], the currency of every order, product and checkout (those
        carry none of their own)."""
        return dict(self._key(self._get("shop"), "shop", "shop"))

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        """One order by id (``{"order": {...}}`` envelope unwrapped)."""
        resource = f"orders/{order_id}"
        return dict(self._key(self._get(resource), "order", resource))

    def order_products(self, order_id: int | str) -> list[dict[str, Any]]:
        """The order's lines (``orders/{id}/products.json`` → ``orderProducts``)."""
        resource = f"orders/{order_id}/products"
        return list(self._key(self._get(resource), "orderProducts", resource))

    # --- shipments ---------------------------------------------------------------------
    # ``shipments`` is GET and PUT only (§1): a shipment is made by the shop with its order;
    # the API can only mark it shipped. Bodies use the singular envelope.

    def iter_shipments(
        self, updated_min: datetime, updated_max: datetime
    ) -> Iterator[dict[str, Any]]:
        """Shipments with ``updated_min <= updatedAt < updated_max`` (same paging as orders)."""
        yield from self._iter_changed("shipments", updated_min, updated_max)

    def shipments_for_order(self, order_id: int | str) -> list[dict[str, Any]]:
        """``shipments.json?order=ID``: the order's shipments (empty for an unknown order:
        the relation filter does not tell the two apart, :meth:`get_order` does)."""
        return list(self._iter_pages("shipments", "shipments", {"order": str(order_id)}))

    def update_shipment(self, shipment_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT shipments/{id}.json {"shipment": {...}}`` (``status``, ``trackingCode``);
        setting the same fields again is harmless, so it is retried."""
        return self._one("PUT", f"shipments/{shipment_id}", "shipment", fields, retry=True)

    # --- webhooks ------------------------------------------------------------------------

    def list_webhooks(self) -> list[dict[str, Any]]:
        """Every webhook registered for this key (``webhooks.json``, paged)."""
        return list(self._iter_pages("webhooks", "webhooks"))

    def create_webhook(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST webhooks.json {"webhook": {isActive, itemGroup, itemAction, language,
        format, address}}`` -> the webhook. Not retried (a timeout can hide a success:
        :meth:`list_webhooks` first, compare ``address``/``itemGroup``/``itemAction``)."""
        return self._one("POST", "webhooks", "webhook", fields, retry=False)

    def delete_webhook(self, webhook_id: int | str) -> bool:
        """``DELETE webhooks/{id}.json``; retried (deleting twice converges). ``False``
        when it was already gone (a 404, e.g. after a retry whose first try landed)."""
        try:
            self.request("DELETE", f"webhooks/{webhook_id}")
        except FatalError as err:
            if err.response is not None and err.response.status_code == 404:
                return False
            raise
        return True

    # --- checkouts (read) ----------------------------------------------------------------

    def iter_checkouts(
        self, updated_min: datetime, updated_max: datetime
    ) -> Iterator[dict[str, Any]]:
        """Checkouts (carts, ordered or not) with ``updated_min <= updatedAt < updated_max``.

        ASSUMPTION [U]: the list takes the same paging and ``updated_at_*`` filters as the
        other resources. Checkout responses are bare (§1), so the list is accepted both as
        ``{"checkouts": [...]}`` and as a bare array.
        """
        params = {
            "updated_at_min": _filter_time(updated_min, round_up=False),
            "updated_at_max": _filter_time(updated_max, round_up=True),
        }

        def rows_of(body: Any) -> list[dict[str, Any]]:
            rows = body if isinstance(body, list) else self._key(body, "checkouts", "checkouts")
            if not isinstance(rows, list):
                raise FatalError("GET checkouts.json: 'checkouts' is not a list")
            return rows

        for row in self._paged("checkouts", PageNumber(self.page_size), rows_of, params):
            if isinstance(row, Mapping) and _in_window(row, updated_min, updated_max):
                yield dict(row)

    # --- catalogue and stock -------------------------------------------------------------
    # What a ProductSource and a StockSource read. The vendor has no bulk endpoint for a
    # product's images or features, so those cost one call per product; variants and
    # category links can be read per product (``?product=ID``) or as one paged list,
    # whichever costs fewer calls (:meth:`prefer_bulk`).

    def _iter_pages(
        self, resource: str, key: str, params: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``resource.json`` under envelope ``key``, paged at ``page_size``."""

        def rows_of(body: Any) -> list[dict[str, Any]]:
            rows = self._key(body, key, resource)
            if not isinstance(rows, list):
                raise FatalError(f"GET {resource}.json: {key!r} is not a list")
            return rows

        return self._paged(resource, PageNumber(self.page_size), rows_of, params)

    def count(self, resource: str, params: Mapping[str, str | int] | None = None) -> int:
        """``{resource}/count.json`` (e.g. ``variants``, ``categories/products``)."""
        path = f"{resource}/count"
        return int(self._key(self._get(path, params), "count", path))

    def iter_products(
        self, updated_min: datetime, updated_max: datetime
    ) -> Iterator[dict[str, Any]]:
        """Products with ``updated_min <= updatedAt < updated_max``, page by page.

        ASSUMPTION [U]: editing a variant moves its product's ``updatedAt``; if the vendor
        does not, a variant-only change (a price, a SKU) waits for the next product edit.
        Stock does not depend on this: it is read in full (:meth:`iter_variants`).
        """
        yield from self._iter_changed("products", updated_min, updated_max)

    def iter_variants(
        self, product_id: int | str | None = None, *, fields: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every variant (or ``product_id``'s), optionally only ``fields`` of each."""
        params: dict[str, str | int] = {}
        if product_id is not None:
            params["product"] = str(product_id)
        if fields:
            params["fields"] = ",".join(fields)
        yield from self._iter_pages("variants", "variants", params)

    def get_variant(self, variant_id: int | str) -> dict[str, Any]:
        """One variant by id."""
        resource = f"variants/{variant_id}"
        return dict(self._key(self._get(resource), "variant", resource))

    def update_variant(self, variant_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT variants/{id}.json {"variant": {...}}`` (stockLevel, stockTracking, prices,
        codes); setting the same fields again is harmless, so it is retried."""
        resource = f"variants/{variant_id}"
        body = self.request("PUT", resource, body={"variant": dict(fields)})
        return dict(self._key(body, "variant", resource))

    def iter_categories(self) -> Iterator[dict[str, Any]]:
        """The whole category tree (each node names its ``parent``), paged."""
        yield from self._iter_pages("categories", "categories")

    def iter_category_links(self, product_id: int | str | None = None) -> Iterator[dict[str, Any]]:
        """``categories/products.json``: which product is in which category."""
        params = {"product": str(product_id)} if product_id is not None else None
        yield from self._iter_pages("categories/products", "categoriesProducts", params)

    def iter_brands(self) -> Iterator[dict[str, Any]]:
        """Every brand (products only reference theirs by id)."""
        yield from self._iter_pages("brands", "brands")

    def iter_taxes(self) -> Iterator[dict[str, Any]]:
        """The shop's tax rates (variants reference theirs by id)."""
        yield from self._iter_pages("taxes", "taxes")

    def product_images(self, product_id: int | str) -> list[dict[str, Any]]:
        """``products/{id}/images.json`` -> ``productImages`` (``src`` is a CDN URL)."""
        return list(self._iter_pages(f"products/{product_id}/images", "productImages"))

    def product_attributes(self, product_id: int | str) -> list[dict[str, Any]]:
        """``products/{id}/attributes.json`` -> ``productAttributes`` (features)."""
        return list(self._iter_pages(f"products/{product_id}/attributes", "productAttributes"))

    def variants_by_product(
        self, product_ids: Sequence[int | str]
    ) -> dict[str, list[dict[str, Any]]]:
        """The variants of each product, by product id, at the lower call cost."""
        return self._by_product("variants", "variants", product_ids)

    def category_links_by_product(
        self, product_ids: Sequence[int | str]
    ) -> dict[str, list[dict[str, Any]]]:
        """The category links of each product, by product id, at the lower call cost."""
        return self._by_product("categories/products", "categoriesProducts", product_ids)

    @staticmethod
    def prefer_bulk(n_products: int, total: int, page_size: int) -> bool:
        """Whether one paged list of all ``total`` rows costs fewer calls than one filtered
        call per product.

        Per product: ``n_products`` calls (a product's rows fit one page: Lightspeed caps
        variants per product well below 250). The whole list: ``total // page_size + 1``
        calls, since only a short (possibly empty) page ends it. A nightly window with a
        handful of changed products goes per product; a first load goes bulk.
        """
        return total // page_size + 1 < n_products

    def _by_product(
        self, resource: str, key: str, product_ids: Sequence[int | str]
    ) -> dict[str, list[dict[str, Any]]]:
        """Rows of ``resource`` grouped by their ``product`` reference.

        The count that decides costs a call itself, so it is only asked when more than two
        products are wanted (with two or fewer, going per product can never lose by more
        than that call). Cost: ``P`` calls for ``P <= 2``, else ``1 + min(P, total // L + 1)``.
        """
        wanted = list(dict.fromkeys(str(p) for p in product_ids))
        grouped: dict[str, list[dict[str, Any]]] = {pid: [] for pid in wanted}
        if not wanted:
            return grouped
        bulk = len(wanted) > 2 and self.prefer_bulk(
            len(wanted), self.count(resource), self.page_size
        )
        if bulk:
            rows: Iterator[dict[str, Any]] = self._iter_pages(resource, key)
        else:
            rows = (
                row for pid in wanted for row in self._iter_pages(resource, key, {"product": pid})
            )
        for row in rows:
            ref = row.get("product")
            resource_ref = ref.get("resource") if isinstance(ref, Mapping) else None
            pid = str(resource_ref.get("id")) if isinstance(resource_ref, Mapping) else None
            if pid in grouped:
                grouped[pid].append(row)
        return grouped

    def fetch_file(self, url: str) -> tuple[bytes, str]:
        """An image from the vendor's CDN: ``(bytes, content type)``.

        The CDN is public, so no ``Authorization`` goes along (the API key must not leak to
        another host) and the API's rate limits do not apply; 429/5xx and transport errors
        are retried by the shared policy, a 404 is a :class:`FatalError` (the file is gone).
        Up to three redirects are followed. A body that is not an image (a CDN's HTML
        error page sent with 200) is refused rather than uploaded as a picture.
        """
        target = httpx.URL(url)
        for _ in range(MAX_FILE_REDIRECTS + 1):
            if target.scheme not in ("http", "https") or not target.host:
                raise FatalError(f"image URL is not absolute http(s): {str(target)[:200]!r}")
            request = self._http.build_request(
                "GET", target, timeout=FILE_TIMEOUT, headers={"Accept": "image/*"}
            )
            resp = send(self._http, request, policy=self.policy, counter=self.file_counter)
            if not resp.is_redirect:
                break
            target = target.join(resp.headers.get("location", ""))
        else:
            raise FatalError(
                f"image URL redirects more than {MAX_FILE_REDIRECTS} times: {request.url.path}"
            )
        content_type = resp.headers.get("content-type", "").partition(";")[0].strip().lower()
        if not content_type:
            content_type = "application/octet-stream"
        if not content_type.startswith("image/") and content_type != "application/octet-stream":
            raise FatalError(
                f"not an image ({content_type}): {describe(resp)[:200]}", response=resp
            )
        if len(resp.content) > MAX_FILE_BYTES:
            raise FatalError(
                f"image larger than {MAX_FILE_BYTES} bytes: {request.url.path}", response=resp
            )
        return resp.content, content_type

    # --- writes: customers and checkouts -------------------------------------------------
    # Lightspeed has no ``POST orders``: an order is the result of a checkout (§1). Checkout
    # responses are bare (no singular key); customer bodies use the usual envelope.
    # ASSUMPTION [U]: checkout field names follow §1 (camelCase: ``variantId``,
    # ``shipmentMethod``); a newer SDK spells the checkout API snake_case.

    def iter_list(
        self, resource: str, params: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``resource.json`` with ``params`` (filters, ``fields``), paged
        at ``page_size`` (e.g. the order lookup: ``orders`` with ``fields=id,comment``)."""
        yield from self._iter_pages(resource, resource.rpartition("/")[2], params)

    def customers_by_email(self, email: str) -> list[dict[str, Any]]:
        """``customers.json?email=``. ASSUMPTION [U]: an exact, case-insensitive filter
        (a third-party SDK lists it as a customer filter); callers compare again."""
        return list(self._key(self._get("customers", {"email": email}), "customers", "customers"))

    def create_customer(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST customers.json {"customer": {...}}``; not retried (no idempotency key:
        the caller finds the customer by e-mail before trying again)."""
        body = self.request("POST", "customers", body={"customer": dict(fields)}, retry=False)
        return dict(self._key(body, "customer", "customers"))

    def update_customer(self, customer_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT customers/{id}.json {"customer": {...}}`` (idempotent, so retried)."""
        resource = f"customers/{customer_id}"
        body = self.request("PUT", resource, body={"customer": dict(fields)})
        return dict(self._key(body, "customer", resource))

    def create_checkout(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST checkouts.json {"checkout": {...}}`` → the bare checkout.

        Not retried: a hidden success only leaves an abandoned cart behind, but a retry
        could not tell which of two carts is ours either; the flow's ledger restarts it.
        """
        return self._bare(
            self.request("POST", "checkouts", body={"checkout": dict(fields)}, retry=False),
            "checkouts",
        )

    def get_checkout(self, checkout_id: int | str) -> dict[str, Any]:
        """``GET checkouts/{id}.json`` (bare)."""
        resource = f"checkouts/{checkout_id}"
        return self._bare(self._get(resource), resource)

    def update_checkout(self, checkout_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT checkouts/{id}.json {"checkout": {...}}`` → the bare checkout (retried:
        setting the same fields again is harmless). ASSUMPTION [U]: the PUT body uses the
        same envelope as the create."""
        resource = f"checkouts/{checkout_id}"
        return self._bare(self.request("PUT", resource, body={"checkout": dict(fields)}), resource)

    def add_checkout_product(
        self, checkout_id: int | str, variant_id: int | str, quantity: int
    ) -> dict[str, Any]:
        """``POST checkouts/{id}/products.json {variantId, quantity}`` → the cart line.

        Not retried: a second POST of a line that did land would double its quantity.
        """
        resource = f"checkouts/{checkout_id}/products"
        body = self.request(
            "POST", resource, retry=False, body={"variantId": int(variant_id), "quantity": quantity}
        )
        return self._bare(body, resource)

    def checkout_shipment_methods(self, checkout_id: int | str) -> list[dict[str, Any]]:
        """``GET checkouts/{id}/shipment_methods.json``: what the cart can ship with."""
        resource = f"checkouts/{checkout_id}/shipment_methods"
        return self._methods(self._get(resource), resource)

    def checkout_payment_methods(self, checkout_id: int | str) -> list[dict[str, Any]]:
        """``GET checkouts/{id}/payment_methods.json`` (offered once a shipment method is
        set, per the vendor SDK's example)."""
        resource = f"checkouts/{checkout_id}/payment_methods"
        return self._methods(self._get(resource), resource)

    def validate_checkout(self, checkout_id: int | str) -> dict[str, Any]:
        """``GET checkouts/{id}/validate.json`` → ``{"validated": bool, "errors": [...]}``."""
        resource = f"checkouts/{checkout_id}/validate"
        body = self._bare(self._get(resource), resource)
        if "validated" not in body:
            raise FatalError(f"GET {resource}.json: response has no 'validated' key")
        return body

    def order_checkout(self, checkout_id: int | str) -> str:
        """``POST checkouts/{id}/order.json`` → the new order's id. Never retried: it
        commits, and a timeout or 5xx can hide a success (the caller looks it up)."""
        resource = f"checkouts/{checkout_id}/order"
        body = self._bare(self.request("POST", resource, retry=False), resource)
        order_id = body.get("orderId")
        if order_id in (None, False, ""):
            raise FatalError(f"POST {resource}.json: response has no orderId")
        return str(order_id)

    @staticmethod
    def _bare(body: Any, resource: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise FatalError(f"{resource}.json: expected an object, got {type(body).__name__}")
        return body

    @staticmethod
    def _methods(body: Any, resource: str) -> list[dict[str, Any]]:
        """Shipment/payment methods as a list. ASSUMPTION [U]: a bare array (vendor SDK);
        an object wrapping one array, or keyed by method id, is accepted too."""
        if isinstance(body, dict):
            lists = [v for v in body.values() if isinstance(v, list)]
            if len(lists) == 1:
                body = lists[0]
            elif all(isinstance(v, dict) for v in body.values()):
                body = [{"id": k, **v} for k, v in body.items()]
        if not isinstance(body, list) or not all(isinstance(m, dict) for m in body):
            raise FatalError(f"GET {resource}.json: expected a list of methods")
        return body

    # --- catalogue writes ----------------------------------------------------------------
    # Products, variants, categories, category links and product images, for Lightspeed
    # as a product and stock target. Bodies use the singular envelope (§1). Creating POSTs
    # are not retried (no idempotency key: a timeout can hide a success; the target finds
    # the record by its code before trying again); PUTs and DELETEs are, as they converge.

    def _one(
        self, method: str, resource: str, key: str, fields: Mapping[str, Any], *, retry: bool
    ) -> dict[str, Any]:
        body = self.request(method, resource, body={key: dict(fields)}, retry=retry)
        return dict(self._key(body, key, resource))

    def create_product(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST products.json {"product": {...}}`` -> the product.

        ASSUMPTION [U]: the shop gives every new product one default variant (no SKU);
        the caller reads it with :meth:`iter_variants` (``product=``) and fills it in.
        """
        return self._one("POST", "products", "product", fields, retry=False)

    def update_product(self, product_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT products/{id}.json {"product": {...}}``."""
        return self._one("PUT", f"products/{product_id}", "product", fields, retry=True)

    def create_variant(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST variants.json {"variant": {"product": <id>, ...}}`` -> the variant."""
        return self._one("POST", "variants", "variant", fields, retry=False)

    def create_category(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST categories.json {"category": {"title", "parent": <id>?}}``."""
        return self._one("POST", "categories", "category", fields, retry=False)

    def update_category(self, category_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT categories/{id}.json {"category": {...}}`` (a rename)."""
        return self._one("PUT", f"categories/{category_id}", "category", fields, retry=True)

    def link_category(self, product_id: int | str, category_id: int | str) -> dict[str, Any]:
        """``POST categories/products.json {"categoriesProduct": {"category", "product"}}``:
        put a product in a category (the envelope key as a third-party SDK has it [S])."""
        return self._one(
            "POST",
            "categories/products",
            "categoriesProduct",
            {"category": int(category_id), "product": int(product_id)},
            retry=False,
        )

    def create_product_image(
        self, product_id: int | str, content: bytes, *, filename: str, sort_order: int
    ) -> dict[str, Any]:
        """``POST products/{id}/images.json`` with the file inline, base64-encoded.

        ASSUMPTION [U]: the body is ``{"productImage": {"attachment": <base64>,
        "filename": <name>, "sortOrder": <n>}}`` and the answer ``{"productImage": {...}}``
        (the parent-qualified envelope a third-party SDK reads back; it creates images
        from a ``src`` URL instead, which needs the file to be public somewhere first).
        """
        fields = {
            "attachment": base64.b64encode(content).decode("ascii"),
            "filename": filename,
            "sortOrder": sort_order,
        }
        return self._one(
            "POST", f"products/{product_id}/images", "productImage", fields, retry=False
        )

    def delete_product_image(self, product_id: int | str, image_id: int | str) -> None:
        """``DELETE products/{id}/images/{image}.json``; retried (deleting twice converges,
        the caller treats a 404 as already gone)."""
        self.request("DELETE", f"products/{product_id}/images/{image_id}")
