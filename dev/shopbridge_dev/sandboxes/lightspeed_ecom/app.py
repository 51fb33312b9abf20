"""A local Lightspeed eCom: the documented routes, envelopes, auth, paging and rate limits.

Faithful to VENDOR_APIS.md §1 where it is marked [V]/[S]; choices for [U] points are
configurable or marked ASSUMPTION below. Vendor behaviour only; ``/_sandbox/*`` test and
demo controls come from :mod:`shopbridge_dev.sandboxes._common`.

* ``/{lang}/{resource}[/{id}|/count].json`` for orders (GET, PUT; POST refused: orders come
  from checkouts), customers, products, variants, shipments (GET), and
  ``orders/{id}/products.json``. Checkouts and customer writes (POST/PUT) live in
  :mod:`.checkout`; shipment writes (PUT) and ``shipments/{id}/products.json`` in
  :mod:`.shipment`; webhooks and their deliveries in :mod:`.webhooks`.
* The catalogue (categories, brands, taxes, attributes, product images and features,
  ``PUT variants``, the image CDN under ``/files/``) and its writes (products, variants,
  categories, category links, image uploads) live in :mod:`.catalogue`.
* Plural/singular envelopes, ``{"resource": {"id", "url", "link"}}`` references,
  ``false`` for empty relations, ``{"error": {code, method, request, message}}`` errors.
* Three fixed rate-limit windows per key plus a per-second cap; every vendor response
  carries ``X-RateLimit-Limit/Remaining/Reset``; a 429 (``Retry-After``) as soon as any
  window is empty.
* ``POST /_sandbox/page_drift`` changes records while a client pages through a list
  (:class:`PageDrift`): the shop does not stand still while a sync reads it.
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from secrets import compare_digest
from typing import Any

from fastapi import Body, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import (
    CONTROL_PREFIX,
    JsonState,
    SandboxControls,
    install_controls,
)
from shopbridge_dev.sandboxes.lightspeed_ecom.vendor_shapes import pad
from shopbridge_dev.sandboxes.lightspeed_ecom.wire import (
    CENT,
    COUNTRIES,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiError,
    bumped,
    error_body,
    int_param,
    many,
    money,
    ref,
    render,
    select,
    ts,
)

#: resource -> singular envelope key
RESOURCES = {
    "orders": "order",
    "customers": "customer",
    "products": "product",
    "variants": "variant",
    "categories": "category",
    "brands": "brand",
    "taxes": "tax",
    "attributes": "attribute",
    "shipments": "shipment",
}
#: order fields a PUT may change (shipment/payment flow); the rest is read-only
WRITABLE_ORDER_FIELDS = frozenset(
    {"status", "paymentStatus", "shipmentStatus", "customStatusId", "memo", "comment"}
)


class PageDrift:
    """Record changes queued to happen in the middle of a paged read (a test control).

    A sync pages through ``orders.json`` for many seconds while shop staff and customers
    keep editing: an order edited after its page was read moves its ``updatedAt`` out of
    the window (and out of the filtered list), one stamped into the window enters it. Each
    queued drift waits until ``after_pages`` more list pages of its resource have been
    served, then merges its ``changes`` (record id -> fields) before the next page is cut.
    """

    def __init__(self) -> None:
        self.queued: list[dict[str, Any]] = []
        self.pages_served: dict[str, int] = {}

    def add(self, body: dict[str, Any]) -> int:
        resource = str(body.get("resource", "orders"))
        if resource not in RESOURCES:
            raise ApiError(400, f"unknown resource {resource!r}")
        changes = body.get("changes")
        if not isinstance(changes, dict):
            raise ApiError(400, 'body needs "changes": {"<id>": {field: value}}')
        # counted from now: pages served before the drift was queued do not count
        due = self.pages_served.get(resource, 0) + int(body.get("after_pages", 1))
        self.queued.append({"resource": resource, "changes": changes, "due": due})
        return len(self.queued)

    def apply(self, resource: str, table: dict[str, Any]) -> None:
        """Merge the drifts that are due into ``table`` (caller holds the state lock)."""
        served = self.pages_served.get(resource, 0)
        for drift in [d for d in self.queued if d["resource"] == resource and d["due"] <= served]:
            self.queued.remove(drift)
            for rid, fields in drift["changes"].items():
                if str(rid) in table:
                    table[str(rid)].update(fields)

    def served(self, resource: str) -> None:
        self.pages_served[resource] = self.pages_served.get(resource, 0) + 1


# --- seed ------------------------------------------------------------------------------


def _address(prefix: str, c: dict[str, Any]) -> dict[str, Any]:
    # a customer without a country keeps the object with empty codes, as a shop does
    code3, title = COUNTRIES.get(c["country"], ("", ""))
    name = c["company_name"] or f"{c['first_name']} {c['last_name']}"
    return {
        f"{prefix}Name": name,
        f"{prefix}Street": c["street"],
        f"{prefix}Number": c["number"],
        f"{prefix}Extension": c["extension"],
        f"{prefix}Zipcode": c["zipcode"],
        f"{prefix}City": c["city"],
        f"{prefix}Region": "",
        f"{prefix}Country": {"code": c["country"].lower(), "code3": code3, "title": title},
    }


def _person(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "email": c["email"],
        "firstname": c["first_name"],
        "lastname": c["last_name"],
        "phone": c["phone"],
        "isCompany": c["is_company"],
        "companyName": c["company_name"],
        "companyVatNumber": c["vat_number"],
        **_address("addressBilling", c),
        **_address("addressShipping", c),
    }


def _titles(p: dict[str, Any]) -> tuple[str, str]:
    """Demo titles are "<product> <colour>"; the unknown SKU has no variant title."""
    if p["sku"] == demo_data.UNKNOWN_SKU:
        return p["title"], ""
    name, _, colour = p["title"].rpartition(" ")
    return name, colour


def _order(o: dict[str, Any], next_line: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    c, oid = o["customer"], o["order_id"]
    shipped = o["status"] == "completed_shipped"
    lines: list[dict[str, Any]] = []
    excl = incl = Decimal(0)
    rate: Decimal = o["lines"][0]["tax_rate"]
    for i, line in enumerate(o["lines"]):
        p, qty = line["product"], line["quantity"]
        unit_excl = p["price_excl"].quantize(CENT)
        unit_incl = (unit_excl * (1 + line["tax_rate"])).quantize(CENT, ROUND_HALF_UP)
        share = line.get("discount_share", Decimal(0))
        disc_excl = (unit_excl * qty * share).quantize(CENT, ROUND_HALF_UP)
        disc_incl = (unit_incl * qty * share).quantize(CENT, ROUND_HALF_UP)
        excl, incl = excl + unit_excl * qty - disc_excl, incl + unit_incl * qty - disc_incl
        title, variant = _titles(p)
        lines.append(
            {
                "id": next_line + i,
                "supplierTitle": "",
                "brandTitle": "",
                "productTitle": title,
                "variantTitle": variant,
                "taxStatus": "on",
                "quantityOrdered": qty,
                "quantityInvoiced": 0,
                "quantityShipped": qty if shipped else 0,
                "quantityRefunded": 0,
                "quantityReturned": 0,
                "articleCode": f"ART-{p['variant_id']}",
                "ean": p["ean"],
                "sku": p["sku"],
                "weight": 250,
                "priceCost": money(unit_excl / 2),
                "basePriceExcl": money(unit_excl),
                "basePriceIncl": money(unit_incl),
                # the LINE TOTAL after the line discount, as the vendor sends it [V]
                "priceExcl": money(unit_excl * qty - disc_excl),
                "priceIncl": money(unit_incl * qty - disc_incl),
                "discountExcl": money(disc_excl),
                "discountIncl": money(disc_incl),
                "taxRate": float(line["tax_rate"]),
                "product": ref("products", p["product_id"]),
                "variant": ref("variants", p["variant_id"]),
            }
        )
    ship_incl: Decimal = o["shipping_price_incl"]
    ship_excl = (ship_incl / (1 + rate)).quantize(CENT, ROUND_HALF_UP)
    coupon = o.get("coupon")
    off_excl = off_incl = Decimal(0)
    if coupon:
        off_excl = (excl * coupon[1]).quantize(CENT, ROUND_HALF_UP)
        off_incl = (incl * coupon[1]).quantize(CENT, ROUND_HALF_UP)
    total_excl, total_incl = excl - off_excl + ship_excl, incl - off_incl + ship_incl
    # a surcharge no line carries (demo_data.WRONG_TOTAL_AT): the total does not add up
    total_excl += o.get("total_off", Decimal(0))
    total_incl += o.get("total_off", Decimal(0))
    order = {
        "id": oid,
        "createdAt": ts(o["created_at"]),
        "updatedAt": ts(o["updated_at"]),
        "number": o["number"],
        "status": o["status"],
        "customStatusId": None,
        "paymentStatus": o["payment_status"],
        "shipmentStatus": "shipped" if shipped else "not_shipped",
        "priceExcl": money(total_excl),
        "priceIncl": money(total_incl),
        **_person(c),
        "paymentId": o["payment_method"].lower().replace(" ", "_"),
        "paymentTitle": o["payment_method"],
        "shipmentId": f"core|85518|{424000 + oid % 1000}",
        "shipmentTitle": o["shipping_method"],
        "shipmentPriceExcl": money(ship_excl),
        "shipmentPriceIncl": money(ship_incl),
        "discountCouponCode": coupon[0] if coupon else "",
        "isDiscounted": bool(coupon),
        "discountType": "percentage" if coupon else "amount",
        "discountPercentage": float(coupon[1] * 100) if coupon else 0,
        "discountAmount": money(off_incl),
        "taxRates": [
            {
                "name": f"{rate * 100:.0f}%",
                "rate": float(rate),
                "amount": money(total_incl - total_excl),
            }
        ],
        "comment": "",
        "memo": "",
        "language": {"code": "nl", "locale": "nl_NL"},
        "customer": ref("customers", c["customer_id"]),
        "products": many(f"orders/{oid}/products"),
        "shipments": many(f"shipments?order={oid}"),
        "invoices": many(f"invoices?order={oid}"),
    }
    return order, lines


#: every this-many-th order is seeded the way real shops hold some orders (see
#: :func:`_as_real_accounts_hold_it`)
MESSY_EVERY = 7


def _as_real_accounts_hold_it(order: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """Recorded quirks on some seeded orders, so no flow meets them first on a real shop:
    the item code kept in ``articleCode`` with ``"sku": ""`` (the documented order's line,
    a live variant [V]) and ``customStatusId`` ``0`` [verified-facts list]. The code is the
    demo's item code, so the pairs' ``item_key`` rule still finds the ERP's item."""
    if int(order["id"]) % MESSY_EVERY:
        return
    order["customStatusId"] = 0
    first = lines[0]
    if first.get("sku") and first.get("sku") != demo_data.UNKNOWN_SKU:
        first["articleCode"], first["sku"] = first["sku"], ""


def seed_state(seed: str | None, n_orders: int, abandoned_carts: int = 3) -> dict[str, Any]:
    """The store: resource -> {id: record}, plus ``orderProducts`` by order id and the
    catalogue's tables. A catalogue seed (``bench-products``) has no orders."""
    from shopbridge_dev.sandboxes.lightspeed_ecom.catalogue import (
        EXTRA_TABLES,
        seed_catalogue,
    )

    state: dict[str, Any] = (
        {r: {} for r in RESOURCES} | {"orderProducts": {}} | {t: {} for t in EXTRA_TABLES}
    )
    if seed is None:
        return state
    demo = demo_data.generate(seed, n_orders=n_orders)
    seed_catalogue(state, demo.catalogue)
    since = ts(demo_data.DEMO_START - timedelta(days=60))
    for c in demo.customers:
        state["customers"][str(c["customer_id"])] = {
            "id": c["customer_id"],
            "createdAt": since,
            "updatedAt": since,
            "isConfirmed": True,
            **_person(c),
            "orders": many(f"orders?customer={c['customer_id']}"),
        }
    next_line = 1
    for o in demo.orders:
        order, lines = _order(o, next_line)
        next_line += len(lines)
        _as_real_accounts_hold_it(order, lines)
        state["orders"][str(order["id"])] = order
        state["orderProducts"][str(order["id"])] = lines
    _seed_shipments(state)
    _seed_checkouts(state, demo.customers[:abandoned_carts])
    return state


def _seed_checkouts(state: dict[str, Any], customers: list[dict[str, Any]]) -> None:
    """A cart per customer given, filled and left on the demo week's last day (what an
    order hub follows up), shaped as ``POST /_sandbox/checkouts`` makes them."""
    variants = [v for v in state["variants"].values() if v.get("sku")][:6]
    when = ts(demo_data.DEMO_END - timedelta(hours=5))
    for n, c in enumerate(customers, start=1):
        lines = []
        for i, v in enumerate(variants[2 * (n - 1) : 2 * n]):
            product = state["products"].get(str(v["product"]["resource"]["id"]), {})
            lines.append(
                {
                    "id": i + 1,
                    "variantId": v["id"],
                    "productId": v["product"]["resource"]["id"],
                    "quantity": 1,
                    "sku": v["sku"],
                    "ean": v["ean"],
                    "articleCode": v["articleCode"],
                    "title": product.get("title", ""),
                    "variant": v["title"],
                    "priceExcl": v["priceExcl"],
                    "priceIncl": v["priceIncl"],
                    "taxRate": 0.21,
                }
            )
        state.setdefault("checkouts", {})[str(n)] = {
            "id": n,
            "createdAt": when,
            "updatedAt": when,
            "mode": "guest",
            "customer": {
                "email": c["email"],
                "firstname": c["first_name"],
                "lastname": c["last_name"],
            },
            "comment": "",
            "billingAddress": None,
            "shippingAddress": None,
            "shipmentMethod": None,
            "paymentMethod": None,
            "terms": False,
            "newsletter": False,
            "notifications": False,
            "products": lines,
            "orderId": None,
            "language": "nl",
        }


def _seed_shipments(state: dict[str, Any]) -> None:
    """One shipment per order that is not cancelled, dated with the order, as the back
    office keeps them: ``shipped`` when the order is, else waiting to be marked shipped
    (by a person or an order hub, VENDOR_APIS.md §7)."""
    from shopbridge_dev.sandboxes.lightspeed_ecom.shipment import add_shipment

    for order in list(state["orders"].values()):
        if order.get("status") == "cancelled":
            continue
        shipped = order.get("shipmentStatus") == "shipped"
        record = add_shipment(
            state, order["id"], status="shipped" if shipped else "not_shipped", cascade=False
        )
        record.update(createdAt=order["createdAt"], updatedAt=order["createdAt"])


# --- rate limits -----------------------------------------------------------------------


class RateLimiter:
    """Fixed windows per API key (300/5 min, 3000/h, 12000/day by default) + a per-second cap.

    ASSUMPTION [U]: windows are fixed (start at the first request), not sliding.
    """

    def __init__(
        self, limits: str, windows_s: str, per_second: int, clock: Callable[[], float]
    ) -> None:
        self.limits = [int(x) for x in limits.split("/")]
        self.lengths = [float(x) for x in windows_s.split("/")]
        if len(self.limits) != len(self.lengths):
            raise ValueError(f"rate_limit {limits!r} and windows_s {windows_s!r} differ in length")
        self.per_second = per_second
        self.clock = clock
        self.used = [0] * len(self.limits)
        self.started: list[float | None] = [None] * len(self.limits)
        self.second = (-1, 0)
        self.lock = threading.Lock()

    def _roll(self, now: float) -> None:
        for i, length in enumerate(self.lengths):
            start = self.started[i]
            if start is None or now - start >= length:
                self.started[i], self.used[i] = now, 0

    def _reset_in(self, i: int, now: float) -> int:
        start = self.started[i]
        return math.ceil(self.lengths[i] if start is None else start + self.lengths[i] - now)

    def headers(self, now: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "/".join(map(str, self.limits)),
            "X-RateLimit-Remaining": "/".join(
                str(max(0, lim - used)) for lim, used in zip(self.limits, self.used, strict=True)
            ),
            "X-RateLimit-Reset": "/".join(
                str(self._reset_in(i, now)) for i in range(len(self.limits))
            ),
        }

    def take(self) -> tuple[int | None, dict[str, str]]:
        """Count one request: ``(None, headers)`` or ``(retry_after_s, headers)`` when refused."""
        with self.lock:
            now = self.clock()
            self._roll(now)
            empty = [i for i, lim in enumerate(self.limits) if self.used[i] >= lim]
            if empty:
                return max(self._reset_in(i, now) for i in empty), self.headers(now)
            sec = math.floor(now)
            count = self.second[1] if self.second[0] == sec else 0
            if count >= self.per_second:
                return max(1, math.ceil(sec + 1 - now)), self.headers(now)
            self.second = (sec, count + 1)
            self.used = [u + 1 for u in self.used]
            return None, self.headers(now)

    def peek(self) -> dict[str, str]:
        with self.lock:
            return self.headers(self.clock())


# --- app -------------------------------------------------------------------------------


def _authorised(request: Request, key: str, secret: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return (
        bool(sep)
        and compare_digest(user.encode(), key.encode())
        and compare_digest(password.encode(), secret.encode())
    )


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    n_orders: int = 240,
    key: str = "demo-key",
    secret: str = "demo-secret",
    rate_limit: str = "300/3000/12000",
    windows_s: str = "300/3600/86400",
    per_second: int = 20,
    clock: Callable[[], float] = time.monotonic,
    variant_write_touches_product: bool = False,
    product_default_variant: bool = True,
    shipment_cascades: bool = True,
    abandoned_carts: int = 3,
    delivery_workers: int = 4,
    currency: str = "EUR",
) -> FastAPI:
    """Build the sandbox. ``clock`` drives the rate-limit windows (tests pass a fake one);
    ``variant_write_touches_product`` and ``product_default_variant`` are [U] points (see
    :mod:`.catalogue`), ``shipment_cascades`` too (see :mod:`.shipment`);
    ``delivery_workers`` is how many webhook deliveries are sent at once; ``currency`` is
    the shop's (``shop.json``): orders, products and checkouts carry none of their own."""
    app = FastAPI(title="Lightspeed eCom sandbox")
    controls = SandboxControls()
    state = JsonState(state_file, lambda: seed_state(seed, n_orders, abandoned_carts))
    limiter = RateLimiter(rate_limit, windows_s, per_second, clock)
    store: dict[str, Any] = state.data

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, request, str(exc.detail)), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(400, request, str(exc.errors()[:1])), status_code=400)

    def _table(resource: str) -> dict[str, Any]:
        if resource not in RESOURCES:
            raise ApiError(404, f"unknown resource {resource!r}")
        table: dict[str, Any] = store[resource]
        return table

    def _one(resource: str, item: str) -> dict[str, Any]:
        record = _table(resource).get(item)
        if record is None:
            raise ApiError(404, f"{RESOURCES[resource]} {item} not found")
        one: dict[str, Any] = record
        return one

    def _base(request: Request, lang: str) -> str:
        return f"{str(request.base_url).rstrip('/')}/{lang}/"

    # checkouts and customer writes: registered before the generic routes so they match first
    from shopbridge_dev.sandboxes.lightspeed_ecom.checkout import install_checkout

    install_checkout(
        app,
        store=store,
        state=state,
        controls=controls,
        base=_base,
        shipment_cascades=shipment_cascades,
    )

    # shipment writes and sub-resources, and the back-office "add a shipment" control
    from shopbridge_dev.sandboxes.lightspeed_ecom.shipment import install_shipments

    install_shipments(
        app, store=store, state=state, controls=controls, base=_base, cascade=shipment_cascades
    )

    # the catalogue: products' sub-resources, category links, PUT variants, the image CDN
    from shopbridge_dev.sandboxes.lightspeed_ecom.catalogue import (
        FILES_PREFIX,
        install_catalogue,
    )

    install_catalogue(
        app,
        store=store,
        state=state,
        controls=controls,
        base=_base,
        variant_write_touches_product=variant_write_touches_product,
        product_default_variant=product_default_variant,
    )

    # webhooks (routes, and signed deliveries of order writes from a background thread)
    from shopbridge_dev.sandboxes.lightspeed_ecom.webhooks import install_webhooks

    install_webhooks(
        app, store=store, state=state, secret=secret, base=_base, workers=delivery_workers
    )

    @app.get("/{lang}/shop.json")
    def get_shop(lang: str, request: Request) -> dict[str, Any]:
        """The shop's settings; ``currency.shortcode`` is every order's currency [V]."""
        return {"shop": render(shop_record(currency, lang), _base(request, lang))}

    @app.get("/{lang}/{resource}/count.json")
    def count(resource: str, request: Request) -> dict[str, int]:
        with state.lock:
            rows = list(_table(resource).values())
            return {"count": len(select(rows, resource, dict(request.query_params)))}

    @app.get("/{lang}/orders/{item}/products.json")
    def order_products(lang: str, item: str, request: Request) -> dict[str, Any]:
        with state.lock:
            _one("orders", item)
            lines = [pad("orderProducts", ln) for ln in store["orderProducts"].get(item, [])]
            return {"orderProducts": render(lines, _base(request, lang))}

    @app.get("/{lang}/{resource}/{item}.json")
    def get_one(lang: str, resource: str, item: str, request: Request) -> dict[str, Any]:
        with state.lock:
            return {
                RESOURCES.get(resource, ""): render(
                    pad(resource, _one(resource, item)), _base(request, lang)
                )
            }

    @app.get("/{lang}/{resource}.json")
    def get_list(lang: str, resource: str, request: Request) -> dict[str, Any]:
        q = dict(request.query_params)
        page = int_param(q.get("page"), "page", 1)
        limit = min(MAX_LIMIT, int_param(q.get("limit"), "limit", DEFAULT_LIMIT))
        if page < 1 or limit < 1:
            raise ApiError(400, "page and limit must be positive")
        fields = [f for f in q.get("fields", "").split(",") if f]
        with state.lock:
            drift.apply(resource, _table(resource))
            rows = select(list(_table(resource).values()), resource, q)
            rows = [pad(resource, r) for r in rows[(page - 1) * limit : page * limit]]
            drift.served(resource)
            if fields:
                rows = [{k: v for k, v in r.items() if k in fields} for r in rows]
            return {resource: render(rows, _base(request, lang))}

    @app.post("/{lang}/{resource}.json")
    def refuse_create(resource: str) -> None:
        """ASSUMPTION [U]: refused with 405; the real API's exact status is undocumented."""
        _table(resource)
        if resource == "orders":
            raise ApiError(
                405,
                "orders cannot be created directly; use the checkout flow "
                "(POST checkouts/{id}/order.json)",
            )
        raise ApiError(405, f"{resource} are read-only in this sandbox")

    @app.put("/{lang}/orders/{item}.json")
    def update_order(
        lang: str,
        item: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = body.get("order")
        if not isinstance(changes, dict):
            raise ApiError(400, 'body must be {"order": {...}}')
        if bad := sorted(set(changes) - WRITABLE_ORDER_FIELDS):
            raise ApiError(400, f"read-only order field(s): {', '.join(bad)}")
        with state.lock:
            order = _one("orders", item)
            order.update(changes)
            order["updatedAt"] = bumped(order.get("updatedAt"))
            state.save()
        controls.count("writes")
        return {"order": render(order, _base(request, lang))}

    drift = PageDrift()

    @app.post(f"{CONTROL_PREFIX}/page_drift")
    def add_page_drift(body: dict[str, Any] = Body(...)) -> dict[str, int]:  # noqa: B008
        """Queue changes for the middle of the next paged read (see :class:`PageDrift`):
        ``{"resource": "orders", "after_pages": 1, "changes": {"<id>": {"updatedAt":
        "..."}}}``."""
        with state.lock:
            return {"queued": drift.add(body)}

    @app.post(f"{CONTROL_PREFIX}/orders")
    def upsert_order(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert or merge an order (bare or ``{"order": ...}``), bumping ``updatedAt``.

        Lines given in ``products.resource.embedded`` replace the order's orderProducts.
        An explicit ``updatedAt`` in the body wins over the bump (tests pin boundaries).
        """
        order = dict(body.get("order", body))
        with state.lock:
            orders = store["orders"]
            oid = order.get("id") or max((int(k) for k in orders), default=30000) + 1
            order["id"] = oid
            old = orders.get(str(oid), {})
            products = order.get("products")
            if isinstance(products, dict) and "embedded" in products.get("resource", {}):
                store["orderProducts"][str(oid)] = products["resource"]["embedded"]
                order["products"] = many(f"orders/{oid}/products")
            merged = {"products": many(f"orders/{oid}/products"), **old, **order}
            if "updatedAt" not in order:
                merged["updatedAt"] = bumped(old.get("updatedAt"))
            merged.setdefault("createdAt", merged["updatedAt"])
            orders[str(oid)] = merged
            state.save()
        return {"order": merged}

    @app.middleware("http")
    async def vendor_gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Auth, then rate limits, then the route; rate headers on every vendor response.
        Image files (``/files/``) are the vendor's CDN: no auth, no rate limits."""
        if request.url.path.startswith((CONTROL_PREFIX, FILES_PREFIX)):
            return await call_next(request)
        if not _authorised(request, key, secret):
            controls.count("rejected_401")
            body = error_body(401, request, "Invalid API key or secret")
            return JSONResponse(body, status_code=401, headers=limiter.peek())
        retry_after, headers = limiter.take()
        if retry_after is not None:
            controls.count("rejected_429")
            return JSONResponse(
                error_body(429, request, "Rate limit exceeded"),
                status_code=429,
                headers={**headers, "Retry-After": str(retry_after)},
            )
        response = await call_next(request)
        response.headers.update(headers)
        return response

    # added last, so its middleware is outermost: faults are served before auth/limits
    install_controls(app, controls, lambda status, request: error_body(status, request))
    return app


def shop_record(currency: str, lang: str) -> dict[str, Any]:
    """``GET /{lang}/shop.json``'s ``shop``, in the recorded shape (a live test shop's,
    ``tests/contracts/lightspeed_ecom/shop.detail.live.json``), in ``currency``."""
    symbols = {"EUR": "€", "GBP": "£", "USD": "$", "CAD": "$", "CHF": "CHF", "SEK": "kr"}
    return {
        "id": 356891,
        "createdAt": "2026-02-09T13:36:52+01:00",
        "status": "live",
        "isB2b": False,
        "isRetail": False,
        "subDomain": "demo-shop",
        "mainDomain": "demo-shop.webshopapp.com",
        "email": "info@example.nl",
        "phone": "",
        "fax": "",
        "street": "",
        "street2": "",
        "zipcode": "",
        "city": "",
        "region": "",
        "country": {"id": 150, "code": "nl", "code3": "nld", "title": "Netherlands, The"},
        "vatNumber": "",
        "cocNumber": "",
        "industry": "------------",
        "currency": {
            "shortcode": currency,
            "symbol": symbols.get(currency, currency),
            "title": currency,
            "isDefault": True,
            "currencyRate": "1.000000",
        },
        "company": {"resource": {"id": False, "url": "shop/company"}},
        "limits": {"resource": {"id": False, "url": "shop/limits"}},
        "javascript": {"resource": {"id": False, "url": "shop/javascript"}},
        "website": {"resource": {"id": False, "url": "shop/website"}},
        "scripts": {"resource": {"id": False, "url": "shop/scripts"}},
        "metafields": {"resource": {"id": False, "url": "shop/metafields"}},
        "language": lang,
    }
