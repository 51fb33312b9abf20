"""The sandbox's write side: checkouts (how Lightspeed creates orders) and customer writes.

Lightspeed has no ``POST orders``; an order is what a completed checkout turns into
(VENDOR_APIS.md §1). These routes imitate that flow step by step so a client that skips or
misorders a step fails here as it would at the vendor:

1. ``POST /{lang}/checkouts.json {"checkout": {"mode", "customer", "comment", ...}}``
2. ``POST /{lang}/checkouts/{id}/products.json {"variantId", "quantity"}``
3. ``GET .../shipment_methods.json``, ``PUT /{lang}/checkouts/{id}.json`` with
   ``shipmentMethod``; then ``GET .../payment_methods.json`` (empty until a shipment method
   is chosen) and a PUT with ``paymentMethod``, ``billingAddress``, ``shippingAddress``,
   ``terms``
4. ``GET .../validate.json`` → ``{"validated": bool, "errors": [text, ...]}``
5. ``POST .../order.json`` → ``{"orderId": N}``: a real order in the store, shaped like the
   seeded ones, so ``GET orders`` and the order source read it like any other.

Checkout responses are bare objects (no singular key) [V]; customers use the envelope.

ASSUMPTION [U] choices (the vendor documents none of them precisely):

* Field names are §1's camelCase. ``shipmentMethod``/``paymentMethod`` take a method id or
  ``{"id": ...}`` (the vendor SDK's example sends one of each). An address is
  ``{name, address1, number, extension, zipcode, city, country}`` (``country`` ISO-2).
* ``mode`` is ``guest`` (the order gets no customer reference) or ``customer`` (with
  ``customer.id`` of an existing customer; the order references it).
* Lines are priced from the catalogue (the variant's ``priceExcl``/``priceIncl``) and taxed
  at the shop's default rate. Adding a variant already in the cart adds to its quantity.
  Stock is neither checked nor taken.
* The new order is ``processing_awaiting_payment``/``not_paid``; with a post-payment
  method (Invoice) it is ``processing_awaiting_shipment`` (``..._awaiting_pickup`` for
  Pick-up) and still ``not_paid``. The checkout's ``comment`` becomes the order's.
* ``customers.json`` POST refuses an e-mail another customer has (400).
* Ordering a checkout twice, or changing one already ordered, is a 400.

* The new order gets one ``not_shipped`` shipment with all its lines
  (:func:`.shipment_sandbox.add_shipment`), as the shop makes one for every order.
* ``GET /{lang}/checkouts.json`` lists ``{"checkouts": [...]}`` (the plural envelope of
  every list; single checkouts stay bare) with ``page``/``limit``, ``since_id`` and the
  ``created_at``/``updated_at`` ``_min``/``_max`` filters, like the other lists.

Sandbox-only controls: ``PUT /_sandbox/checkout_methods {"shipment": [...], "payment":
[...]}`` replaces the methods offered (an empty ``payment`` list makes every checkout fail
validation); ``DELETE`` restores the defaults. ``POST /_sandbox/checkouts {"customer"?:
{...}, "products"?: [{"variantId" | "sku", "quantity"}], "createdAt"?, "updatedAt"?}``
adds a checkout as a shopper who walked away would leave it (no order, no methods; the
timestamps default to now): an abandoned cart. Answers ``{"checkout": {...}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import Body, FastAPI, Request

from shopbridge_dev.sandboxes._common import CONTROL_PREFIX, JsonState, SandboxControls
from shopbridge_dev.sandboxes.lightspeed_ecom.shipment import add_shipment
from shopbridge_dev.sandboxes.lightspeed_ecom.wire import (
    COUNTRIES,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiError,
    bumped,
    int_param,
    many,
    money,
    ref,
    render,
    select,
    ts,
)

#: ASSUMPTION [U]: lines are taxed at the shop's default rate (the seeded variants' ``tax``
#: relation is ``false`` and their incl. prices carry 21 %)
SHOP_TAX_RATE = Decimal("0.21")

#: what a shop offers by default (titles as the seeded orders use them)
DEFAULT_SHIPMENT_METHODS: tuple[dict[str, Any], ...] = (
    {
        "id": "core|85518|424001",
        "title": "PostNL",
        "priceExcl": 4.09,
        "priceIncl": 4.95,
        "taxRate": 0.21,
        "isPickup": False,
    },
    {
        "id": "core|85518|424002",
        "title": "DHL",
        "priceExcl": 5.74,
        "priceIncl": 6.95,
        "taxRate": 0.21,
        "isPickup": False,
    },
    {
        "id": "core|85518|424003",
        "title": "Pick-up",
        "priceExcl": 0.0,
        "priceIncl": 0.0,
        "taxRate": 0.21,
        "isPickup": True,
    },
)
DEFAULT_PAYMENT_METHODS: tuple[dict[str, Any], ...] = (
    {"id": "ideal", "title": "iDEAL", "postPayment": False},
    {"id": "bancontact", "title": "Bancontact", "postPayment": False},
    {"id": "creditcard", "title": "Credit card", "postPayment": False},
    {"id": "banktransfer", "title": "Bank transfer", "postPayment": False},
    {"id": "invoice", "title": "Invoice", "postPayment": True},
)

CHECKOUT_FIELDS = frozenset(
    {
        "mode",
        "customer",
        "comment",
        "billingAddress",
        "shippingAddress",
        "shipmentMethod",
        "paymentMethod",
        "terms",
        "newsletter",
        "notifications",
    }
)
CHECKOUT_CUSTOMER_FIELDS = frozenset(
    {
        "id",
        "email",
        "firstname",
        "middlename",
        "lastname",
        "gender",
        "phone",
        "isCompany",
        "companyName",
        "companyVatNumber",
    }
)
ADDRESS_FIELDS = frozenset(
    {
        "name",
        "company",
        "address1",
        "address2",
        "number",
        "extension",
        "zipcode",
        "city",
        "region",
        "country",
    }
)
_ADDRESS_REQUIRED = ("name", "address1", "city", "country")
_APPLY_FIRST = {"mode": 0, "customer": 1, "shipmentMethod": 2}
#: the customer fields a write may set (the vendor SDK's customer input)
_ADDR = ("Name", "Street", "Street2", "Number", "Extension", "Zipcode", "City", "Region", "Country")
CUSTOMER_FIELDS = frozenset(
    {
        "email",
        "firstname",
        "middlename",
        "lastname",
        "isConfirmed",
        "remoteId",
        "nationalId",
        "phone",
        "mobile",
        "isCompany",
        "companyName",
        "companyCoCNumber",
        "companyVatNumber",
        "memo",
        "doNotifyRegistered",
        *(f"address{kind}{part}" for kind in ("Billing", "Shipping") for part in _ADDR),
    }
)

Base = Callable[[Request, str], str]


def _now() -> str:
    return ts(datetime.now(UTC))


def _country(value: Any) -> Any:
    """An ISO-2 code as written → the ``{code, code3, title}`` object the API reads back."""
    if isinstance(value, dict) or value in (None, False, ""):
        return value or False
    code = str(value).strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ApiError(400, f"country: expected an ISO 3166 alpha-2 code, got {value!r}")
    code3, title = COUNTRIES.get(code, ("", code))
    return {"code": code.lower(), "code3": code3, "title": title}


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _body(body: dict[str, Any], key: str, allowed: frozenset[str]) -> dict[str, Any]:
    fields = body.get(key)
    if not isinstance(fields, dict):
        raise ApiError(400, f'body must be {{"{key}": {{...}}}}')
    if bad := sorted(set(fields) - allowed):
        raise ApiError(400, f"unknown {key} field(s): {', '.join(bad)}")
    return fields


def _method_id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    if value in (None, False, ""):
        raise ApiError(400, 'method: expected an id or {"id": ...}')
    return str(value)


def _address_errors(label: str, address: Any) -> list[str]:
    if not isinstance(address, dict):
        return [f"{label} is missing"]
    missing = [f for f in _ADDRESS_REQUIRED if not str(address.get(f) or "").strip()]
    return [f"{label}: {', '.join(missing)} missing"] if missing else []


def _order_address(prefix: str, a: dict[str, Any]) -> dict[str, Any]:
    street = " ".join(str(a.get(k) or "") for k in ("address1", "address2")).strip()
    return {
        f"{prefix}Name": a.get("name", ""),
        f"{prefix}Street": street,
        f"{prefix}Number": str(a.get("number") or ""),
        f"{prefix}Extension": a.get("extension") or "",
        f"{prefix}Zipcode": a.get("zipcode") or "",
        f"{prefix}City": a.get("city", ""),
        f"{prefix}Region": a.get("region") or "",
        f"{prefix}Country": _country(a.get("country")),
    }


def install_checkout(
    app: FastAPI,
    *,
    store: dict[str, Any],
    state: JsonState,
    controls: SandboxControls,
    base: Base,
    shipment_cascades: bool = True,
) -> None:
    """Register the checkout and customer-write routes on ``app``.

    Call it before the app's generic ``/{lang}/{resource}.json`` routes: Starlette matches
    in registration order, and those would answer these paths with a 404 or 405.
    """
    store.setdefault("checkouts", {})
    methods: dict[str, list[dict[str, Any]]] = {}

    def offered(kind: str) -> list[dict[str, Any]]:
        defaults = DEFAULT_SHIPMENT_METHODS if kind == "shipment" else DEFAULT_PAYMENT_METHODS
        return methods.get(kind, [dict(m) for m in defaults])

    def find(kind: str, mid: str) -> dict[str, Any] | None:
        return next((m for m in offered(kind) if str(m["id"]) == mid), None)

    def checkout(cid: str) -> dict[str, Any]:
        found: dict[str, Any] | None = store["checkouts"].get(cid)
        if found is None:
            raise ApiError(404, f"checkout {cid} not found")
        return found

    def open_checkout(cid: str) -> dict[str, Any]:
        co = checkout(cid)
        if co["orderId"]:
            raise ApiError(400, f"checkout {cid} was already ordered (order {co['orderId']})")
        return co

    def next_id(table: dict[str, Any], floor: int) -> int:
        return max((int(k) for k in table), default=floor) + 1

    def apply(co: dict[str, Any], fields: dict[str, Any]) -> None:
        """Set checkout fields, checking each the way the vendor would on a PUT (the
        shipment method first: the payment methods on offer depend on it)."""
        for key in sorted(fields, key=lambda k: _APPLY_FIRST.get(k, len(_APPLY_FIRST))):
            value = fields[key]
            if key == "customer":
                co["mode"] = fields.get("mode", co["mode"])
                co["customer"] = customer_of(co["mode"], value)
            elif key == "mode":
                if value not in ("guest", "customer"):
                    raise ApiError(400, f"mode must be 'guest' or 'customer', got {value!r}")
                co["mode"] = value
            elif key in ("billingAddress", "shippingAddress"):
                if not isinstance(value, dict):
                    raise ApiError(400, f"{key}: expected an address object, got {value!r}")
                if bad := sorted(set(value) - ADDRESS_FIELDS):
                    raise ApiError(400, f"{key}: unknown field(s): {', '.join(bad)}")
                co[key] = {**value, "country": _country(value.get("country")) or False}
            elif key == "shipmentMethod":
                mid = _method_id(value)
                if (method := find("shipment", mid)) is None:
                    raise ApiError(400, f"shipment method {mid!r} is not available")
                co[key] = method
            elif key == "paymentMethod":
                mid = _method_id(value)
                if not co["shipmentMethod"]:
                    raise ApiError(400, "choose a shipment method before a payment method")
                if (method := find("payment", mid)) is None:
                    raise ApiError(400, f"payment method {mid!r} is not available")
                co[key] = method
            elif key == "terms":
                co[key] = value in (True, 1, "1", "true")
            else:
                co[key] = value
        if co["mode"] == "customer" and not (co["customer"] or {}).get("id"):
            raise ApiError(400, "mode 'customer' needs customer.id")

    def customer_of(mode: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ApiError(400, f"customer: expected an object, got {value!r}")
        if bad := sorted(set(value) - CHECKOUT_CUSTOMER_FIELDS):
            raise ApiError(400, f"customer: unknown field(s): {', '.join(bad)}")
        if mode == "customer":
            known = store["customers"].get(str(value.get("id")))
            if known is None:
                raise ApiError(400, f"customer {value.get('id')!r} does not exist")
            base_fields = {k: known.get(k) for k in CHECKOUT_CUSTOMER_FIELDS if k in known}
            return {**base_fields, **value, "id": known["id"]}
        return {k: v for k, v in value.items() if k != "id"}

    def errors_of(co: dict[str, Any]) -> list[str]:
        errors = []
        if not co["products"]:
            errors.append("the checkout has no products")
        customer = co["customer"] or {}
        if not str(customer.get("email") or "").strip():
            errors.append("customer e-mail is missing")
        if not any(customer.get(k) for k in ("firstname", "lastname", "companyName")):
            errors.append("customer name is missing")
        ship, pay = co["shipmentMethod"], co["paymentMethod"]
        if not ship:
            errors.append("no shipment method chosen")
        elif find("shipment", str(ship["id"])) is None:
            errors.append(f"shipment method {ship['title']} is no longer available")
        if not pay:
            errors.append("no payment method chosen")
        elif find("payment", str(pay["id"])) is None:
            errors.append(f"payment method {pay['title']} is no longer available")
        errors += _address_errors("billing address", co["billingAddress"])
        errors += _address_errors("shipping address", co["shippingAddress"])
        if not co["terms"]:
            errors.append("the terms and conditions were not accepted")
        return errors

    def render_checkout(co: dict[str, Any], request: Request, lang: str) -> dict[str, Any]:
        out: dict[str, Any] = render(co, base(request, lang))
        return out

    # --- checkouts -----------------------------------------------------------------------

    @app.post("/{lang}/checkouts.json", status_code=201)
    def create_checkout(
        lang: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        fields = _body(body, "checkout", CHECKOUT_FIELDS)
        with state.lock:
            now = _now()
            co: dict[str, Any] = {
                "id": next_id(store["checkouts"], 0),
                "createdAt": now,
                "updatedAt": now,
                "mode": "guest",
                "customer": None,
                "comment": "",
                "billingAddress": None,
                "shippingAddress": None,
                "shipmentMethod": None,
                "paymentMethod": None,
                "terms": False,
                "newsletter": False,
                "notifications": False,
                "products": [],
                "orderId": None,
                "language": lang,
            }
            apply(co, {"mode": fields.get("mode", "guest"), **fields})
            store["checkouts"][str(co["id"])] = co
            state.save()
        controls.count("writes")
        return render_checkout(co, request, lang)

    @app.get("/{lang}/checkouts/count.json")
    def count_checkouts(request: Request) -> dict[str, int]:
        with state.lock:
            rows = list(store["checkouts"].values())
            return {"count": len(select(rows, "checkouts", dict(request.query_params)))}

    @app.get("/{lang}/checkouts.json")
    def list_checkouts(lang: str, request: Request) -> dict[str, Any]:
        q = dict(request.query_params)
        page = int_param(q.get("page"), "page", 1)
        limit = min(MAX_LIMIT, int_param(q.get("limit"), "limit", DEFAULT_LIMIT))
        if page < 1 or limit < 1:
            raise ApiError(400, "page and limit must be positive")
        with state.lock:
            rows = select(list(store["checkouts"].values()), "checkouts", q)
            rows = rows[(page - 1) * limit : page * limit]
            return {"checkouts": [render_checkout(c, request, lang) for c in rows]}

    @app.get("/{lang}/checkouts/{cid}.json")
    def get_checkout(lang: str, cid: str, request: Request) -> dict[str, Any]:
        with state.lock:
            return render_checkout(checkout(cid), request, lang)

    @app.put("/{lang}/checkouts/{cid}.json")
    def update_checkout(
        lang: str,
        cid: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        fields = _body(body, "checkout", CHECKOUT_FIELDS)
        with state.lock:
            co = open_checkout(cid)
            trial = {**co}
            apply(trial, fields)  # all or nothing: a refused field changes nothing
            co.update(trial, updatedAt=bumped(co["updatedAt"]))
            state.save()
        controls.count("writes")
        return render_checkout(co, request, lang)

    @app.delete("/{lang}/checkouts/{cid}.json")
    def delete_checkout(cid: str) -> dict[str, Any]:
        with state.lock:
            checkout(cid)
            del store["checkouts"][cid]
            state.save()
        controls.count("writes")
        return {}

    @app.post("/{lang}/checkouts/{cid}/products.json", status_code=201)
    def add_product(
        lang: str,
        cid: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        variant_id, quantity = body.get("variantId"), body.get("quantity")
        if bad := sorted(set(body) - {"variantId", "quantity"}):
            raise ApiError(400, f"unknown field(s): {', '.join(bad)}")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ApiError(400, f"quantity must be a positive whole number, got {quantity!r}")
        with state.lock:
            co = open_checkout(cid)
            variant = store["variants"].get(str(variant_id))
            if variant is None:
                raise ApiError(400, f"variant {variant_id!r} does not exist")
            line = next((p for p in co["products"] if p["variantId"] == variant["id"]), None)
            if line is None:
                product_id = variant["product"]["resource"]["id"]
                product = store["products"].get(str(product_id), {})
                line = {
                    "id": next_id({str(p["id"]): p for p in co["products"]}, 0),
                    "variantId": variant["id"],
                    "productId": product_id,
                    "quantity": 0,
                    "sku": variant["sku"],
                    "ean": variant["ean"],
                    "articleCode": variant["articleCode"],
                    "title": product.get("title", ""),
                    "variant": variant["title"],
                    "priceExcl": variant["priceExcl"],
                    "priceIncl": variant["priceIncl"],
                    "taxRate": float(SHOP_TAX_RATE),
                }
                co["products"].append(line)
            line["quantity"] += quantity
            co["updatedAt"] = bumped(co["updatedAt"])
            state.save()
        controls.count("writes")
        return render_checkout(line, request, lang)

    @app.get("/{lang}/checkouts/{cid}/shipment_methods.json")
    def shipment_methods(cid: str) -> list[dict[str, Any]]:
        with state.lock:
            checkout(cid)
            return offered("shipment")

    @app.get("/{lang}/checkouts/{cid}/payment_methods.json")
    def payment_methods(cid: str) -> list[dict[str, Any]]:
        """Empty until a shipment method is chosen (the vendor SDK's example says so)."""
        with state.lock:
            return offered("payment") if checkout(cid)["shipmentMethod"] else []

    @app.get("/{lang}/checkouts/{cid}/validate.json")
    def validate(cid: str) -> dict[str, Any]:
        with state.lock:
            errors = errors_of(checkout(cid))
        return {"validated": not errors, "errors": errors}

    @app.post("/{lang}/checkouts/{cid}/order.json", status_code=201)
    def place_order(lang: str, cid: str) -> dict[str, Any]:
        with state.lock:
            co = open_checkout(cid)
            if errors := errors_of(co):
                raise ApiError(400, "checkout is not valid: " + "; ".join(errors))
            oid = next_id(store["orders"], 30000)
            order, lines = order_from(co, oid, lang)
            store["orders"][str(oid)] = order
            store["orderProducts"][str(oid)] = lines
            co["orderId"] = oid
            co["updatedAt"] = bumped(co["updatedAt"])
            add_shipment(store, oid, cascade=shipment_cascades)
            state.save()
        controls.count("writes")
        return {"orderId": oid}

    def order_from(
        co: dict[str, Any], oid: int, lang: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The order a checkout turns into, shaped like the seeded orders."""
        first_line = 1 + max(
            (int(line["id"]) for rows in store["orderProducts"].values() for line in rows),
            default=0,
        )
        lines: list[dict[str, Any]] = []
        excl = incl = Decimal(0)
        taxes: dict[Decimal, Decimal] = {}
        for i, p in enumerate(co["products"]):
            unit_excl, unit_incl = _dec(p["priceExcl"]), _dec(p["priceIncl"])
            qty, rate = p["quantity"], _dec(p["taxRate"])
            excl, incl = excl + unit_excl * qty, incl + unit_incl * qty
            taxes[rate] = taxes.get(rate, Decimal(0)) + (unit_incl - unit_excl) * qty
            lines.append(
                {
                    "id": first_line + i,
                    "supplierTitle": "",
                    "brandTitle": "",
                    "productTitle": p["title"],
                    "variantTitle": p["variant"],
                    "taxStatus": "on",
                    "quantityOrdered": qty,
                    "quantityInvoiced": 0,
                    "quantityShipped": 0,
                    "quantityRefunded": 0,
                    "quantityReturned": 0,
                    "articleCode": p["articleCode"],
                    "ean": p["ean"],
                    "sku": p["sku"],
                    "weight": 250,
                    "priceCost": money(unit_excl / 2),
                    "basePriceExcl": money(unit_excl),
                    "basePriceIncl": money(unit_incl),
                    # the line total, as the vendor sends it [V]; basePrice* is the unit price
                    "priceExcl": money(unit_excl * qty),
                    "priceIncl": money(unit_incl * qty),
                    "discountExcl": 0.0,
                    "discountIncl": 0.0,
                    "taxRate": float(rate),
                    "product": ref("products", p["productId"]),
                    "variant": ref("variants", p["variantId"]),
                }
            )
        ship, pay, customer = co["shipmentMethod"], co["paymentMethod"], co["customer"]
        ship_excl, ship_incl = _dec(ship["priceExcl"]), _dec(ship["priceIncl"])
        ship_rate = _dec(ship.get("taxRate"))
        taxes[ship_rate] = taxes.get(ship_rate, Decimal(0)) + ship_incl - ship_excl
        if pay.get("postPayment"):
            status = (
                "processing_awaiting_pickup"
                if ship.get("isPickup")
                else "processing_awaiting_shipment"
            )
        else:
            status = "processing_awaiting_payment"
        now = _now()
        order = {
            "id": oid,
            "createdAt": now,
            "updatedAt": now,
            "number": f"ORD{oid:05d}",
            "status": status,
            "customStatusId": None,
            "paymentStatus": "not_paid",
            "shipmentStatus": "not_shipped",
            "priceExcl": money(excl + ship_excl),
            "priceIncl": money(incl + ship_incl),
            "email": customer.get("email", ""),
            "firstname": customer.get("firstname", ""),
            "lastname": customer.get("lastname", ""),
            "phone": customer.get("phone", ""),
            "isCompany": bool(customer.get("isCompany")),
            "companyName": customer.get("companyName", ""),
            "companyVatNumber": customer.get("companyVatNumber", ""),
            **_order_address("addressBilling", co["billingAddress"]),
            **_order_address("addressShipping", co["shippingAddress"]),
            "paymentId": pay["id"],
            "paymentTitle": pay["title"],
            "shipmentId": ship["id"],
            "shipmentTitle": ship["title"],
            "shipmentPriceExcl": money(ship_excl),
            "shipmentPriceIncl": money(ship_incl),
            "discountCouponCode": "",
            "discountType": False,
            "discountPercentage": 0,
            "discountAmount": 0.0,
            "taxRates": [
                {"name": f"{rate * 100:.0f}%", "rate": float(rate), "amount": money(amount)}
                for rate, amount in sorted(taxes.items())
                if amount
            ],
            "comment": co["comment"] or "",
            "memo": "",
            "language": {"code": lang, "locale": f"{lang}_{lang.upper()}"},
            "customer": ref("customers", customer["id"]) if customer.get("id") else False,
            "products": many(f"orders/{oid}/products"),
            "shipments": False,
            "invoices": False,
        }
        return order, lines

    # --- customers -----------------------------------------------------------------------

    def email_taken(email: Any, but: str | None = None) -> bool:
        wanted = str(email or "").strip().lower()
        return any(
            str(c.get("email") or "").strip().lower() == wanted and key != but
            for key, c in store["customers"].items()
        )

    def customer_fields(fields: dict[str, Any]) -> dict[str, Any]:
        return {k: _country(v) if k.endswith("Country") else v for k, v in fields.items()}

    @app.post("/{lang}/customers.json", status_code=201)
    def create_customer(
        lang: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        fields = customer_fields(_body(body, "customer", CUSTOMER_FIELDS))
        if not str(fields.get("email") or "").strip():
            raise ApiError(400, "customer email is required")
        with state.lock:
            if email_taken(fields["email"]):
                raise ApiError(400, f"a customer with e-mail {fields['email']} already exists")
            cid = next_id(store["customers"], 700)
            now = _now()
            record = {
                "id": cid,
                "createdAt": now,
                "updatedAt": now,
                "isConfirmed": False,
                **fields,
                "orders": many(f"orders?customer={cid}"),
            }
            store["customers"][str(cid)] = record
            state.save()
        controls.count("writes")
        return {"customer": render(record, base(request, lang))}

    @app.put("/{lang}/customers/{cid}.json")
    def update_customer(
        lang: str,
        cid: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        fields = customer_fields(_body(body, "customer", CUSTOMER_FIELDS))
        with state.lock:
            record = store["customers"].get(cid)
            if record is None:
                raise ApiError(404, f"customer {cid} not found")
            if "email" in fields and email_taken(fields["email"], but=cid):
                raise ApiError(400, f"a customer with e-mail {fields['email']} already exists")
            record.update(fields, updatedAt=bumped(record.get("updatedAt")))
            state.save()
        controls.count("writes")
        return {"customer": render(record, base(request, lang))}

    # --- sandbox control -----------------------------------------------------------------

    @app.put(f"{CONTROL_PREFIX}/checkout_methods")
    def set_methods(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Replace the shipment and/or payment methods every checkout is offered."""
        for kind in ("shipment", "payment"):
            if isinstance(body.get(kind), list):
                methods[kind] = [dict(m) for m in body[kind]]
        return {kind: offered(kind) for kind in ("shipment", "payment")}

    @app.post(f"{CONTROL_PREFIX}/checkouts", status_code=201)
    def abandoned_checkout(
        body: dict[str, Any] = Body(default={}),  # noqa: B008
    ) -> dict[str, Any]:
        """A cart a shopper filled and left: customer and lines, never ordered."""
        fields = body.get("checkout", body)
        if not isinstance(fields, dict):
            raise ApiError(400, 'body must be {"checkout": {...}} or the bare checkout')
        if bad := sorted(set(fields) - {"customer", "products", "createdAt", "updatedAt"}):
            raise ApiError(400, f"unknown field(s): {', '.join(bad)}")
        wanted = fields.get("products", [])
        if not isinstance(wanted, list):
            raise ApiError(400, "products must be a list")
        with state.lock:
            now = _now()
            created = str(fields.get("createdAt") or now)
            co: dict[str, Any] = {
                "id": next_id(store["checkouts"], 0),
                "createdAt": created,
                "updatedAt": str(fields.get("updatedAt") or created),
                "mode": "guest",
                "customer": None,
                "comment": "",
                "billingAddress": None,
                "shippingAddress": None,
                "shipmentMethod": None,
                "paymentMethod": None,
                "terms": False,
                "newsletter": False,
                "notifications": False,
                "products": [],
                "orderId": None,
                "language": "nl",
            }
            if fields.get("customer") is not None:
                co["customer"] = customer_of("guest", fields["customer"])
            for i, item in enumerate(wanted):
                variant = find_variant(item)
                quantity = item.get("quantity", 1)
                if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                    raise ApiError(400, f"products[{i}].quantity must be a positive whole number")
                product_id = variant["product"]["resource"]["id"]
                product = store["products"].get(str(product_id), {})
                co["products"].append(
                    {
                        "id": i + 1,
                        "variantId": variant["id"],
                        "productId": product_id,
                        "quantity": quantity,
                        "sku": variant["sku"],
                        "ean": variant["ean"],
                        "articleCode": variant["articleCode"],
                        "title": product.get("title", ""),
                        "variant": variant["title"],
                        "priceExcl": variant["priceExcl"],
                        "priceIncl": variant["priceIncl"],
                        "taxRate": float(SHOP_TAX_RATE),
                    }
                )
            store["checkouts"][str(co["id"])] = co
            state.save()
            return {"checkout": dict(co)}

    def find_variant(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ApiError(400, 'each product must be {"variantId" | "sku", "quantity"}')
        if "variantId" in item:
            found = store["variants"].get(str(item["variantId"]))
        else:
            found = next(
                (v for v in store["variants"].values() if v.get("sku") == item.get("sku")), None
            )
        if found is None:
            raise ApiError(400, f"no variant {item.get('variantId', item.get('sku'))!r}")
        variant: dict[str, Any] = found
        return variant

    @app.delete(f"{CONTROL_PREFIX}/checkout_methods")
    def reset_methods() -> dict[str, Any]:
        methods.clear()
        return {kind: offered(kind) for kind in ("shipment", "payment")}
