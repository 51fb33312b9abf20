"""A local Buckles API (STYLE R13), shared by tests and the demo.

It speaks exactly the ASSUMED API of the package docstring (no public Buckles API
exists): bearer token, ``/api/v1`` resources, ``page``/``per_page`` lists with ``meta``,
``updated_since``/``updated_before``, a sliding 120-per-minute window per token answered
with ``429`` + ``Retry-After``, and ``{"error", "field"}`` errors (400/401/404/409/422).
Vendor rules it enforces: unique customer e-mail and customer number (each when set),
product SKU and barcode, category path and order ``channel``+``channel_order_id`` (409
with the existing ``id``); an order's ``status`` must be a Buckles status, its
``currency`` given, and each line a sellable product, found by its ``sku`` or else its
``barcode``; a variant's ``parent_sku`` must be a parent product; ``reserved`` stock is
the quantity of open orders (``pending_payment``, ``processing``, ``on_hold``,
``partially_shipped``). A shipped order is ``completed`` (Buckles has no shipped status).

No public Buckles payload exists (tests/contracts/SOURCES.md, section buckles), so nothing here
can be compared with a recording; what it can be held to is taking what real Lightspeed
data carries through the pair: lines keyed by an article code or an EAN, customers
without e-mail or country, ``false`` for empty fields mapped from the source.

Seed (``demo_data``): the demo catalogue as flat products (a multi-variant product is a
parent ``P-<id>`` plus its variants) with stock and categories, and the demo's existing
customers, all last changed before the demo week; plus what real hubs hold: a
marketplace customer without e-mail, number, country or address, and a sellable product
without price or barcode (gift wrap). No orders, shipments or checkouts.

Controls (no token, never counted): ``/_sandbox/faults`` and ``/_sandbox/stats`` (shared);
``GET /_sandbox/state`` (every table); ``POST /_sandbox/reset`` (back to the seed);
``POST /_sandbox/orders/{id}/ship {"carrier", "tracking_code"}`` (the warehouse ships the
whole order: a shipped shipment, the order ``completed``, stock taken off ``on_hand``);
``POST /_sandbox/stock {"sku", "on_hand"}`` (a sale or receipt in another channel);
``PATCH /_sandbox/customers/{id}`` (an edit made in Buckles, unvalidated).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shopbridge.connectors.buckles._limits import DEFAULT_PER_MINUTE, MinuteWindow
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import (
    CONTROL_PREFIX,
    JsonState,
    SandboxControls,
    install_controls,
)

PREFIX = "/api/v1"
TOKEN = "demo-token"
ORDER_STATUSES = (
    "pending_payment",
    "processing",
    "on_hold",
    "partially_shipped",
    "completed",
    "cancelled",
    "refunded",
    "partially_refunded",
    "returned",
    "partially_returned",
    "failed",
)
OPEN_STATUSES = frozenset({"pending_payment", "processing", "on_hold", "partially_shipped"})
#: what an order without a status gets
DEFAULT_STATUS = "on_hold"
ORDER_FIELDS = frozenset(
    {
        "channel",
        "channel_order_id",
        "number",
        "status",
        "customer_id",
        "email",
        "currency",
        "payment_status",
        "payment_method",
        "shipping_method",
        "ordered_at",
        "prices_include_tax",
        "billing_address",
        "shipping_address",
        "shipping_cost",
        "discount",
        "total",
        "lines",
    }
)
LINE_FIELDS = frozenset({"sku", "barcode", "name", "qty", "price", "tax_rate", "discount"})
CUSTOMER_FIELDS = frozenset(
    {
        "email",
        "customer_number",
        "first_name",
        "last_name",
        "company",
        "vat_number",
        "phone",
        "address",
    }
)
ADDRESS_FIELDS = frozenset(
    {"street", "house_number", "house_number_ext", "postcode", "city", "country", "name", "company"}
)
PRODUCT_FIELDS = frozenset(
    {
        "sku",
        "barcode",
        "title",
        "description",
        "brand",
        "price",
        "tax_rate",
        "parent_sku",
        "is_parent",
        "attributes",
        "category_ids",
    }
)
SHIPMENT_FIELDS = frozenset(
    {"status", "carrier", "tracking_code", "reference", "shipped_at", "lines"}
)
CHECKOUT_FIELDS = frozenset(
    {
        "channel",
        "email",
        "currency",
        "lines",
        "total",
        "created_at",
        "updated_at",
        "channel_order_id",
    }
)
CHECKOUT_LINE_FIELDS = frozenset({"sku", "name", "qty", "price_incl"})
TABLES = ("orders", "customers", "products", "categories", "shipments", "checkouts")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: seeded records were last changed this long before the demo week
_SEED_AGE = timedelta(days=30)
#: the seeded product without price or barcode
GIFT_WRAP = "GIFT-WRAP"


class ApiError(Exception):
    """Rendered as ``{"error": ..., "field": ...}`` (plus ``id`` for a 409)."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _fault_body(status: int, request: Request) -> dict[str, Any]:
    return {"error": f"{HTTPStatus(status).phrase} ({request.url.path})"}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(raw: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError(422, f"expected an ISO 8601 time, got {raw!r}", name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dec(
    value: Any,
    field: str,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    positive: bool = False,
) -> str:
    """Validated decimal text (what is stored and sent back)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(422, f"expected a number, got {value!r}", field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ApiError(422, f"not a number: {value!r}", field) from None
    if (
        not number.is_finite()
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
        or (positive and number <= 0)
    ):
        raise ApiError(422, f"out of range: {value!r}", field)
    return format(number, "f")


def _text(body: dict[str, Any], key: str, where: str = "") -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(422, f"expected text, got {type(value).__name__}", f"{where}{key}")
    return value.strip()


def _known(body: Any, allowed: frozenset[str], where: str = "") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(422, "expected a JSON object", where.rstrip(".") or None)
    if unknown := sorted(set(body) - allowed):
        raise ApiError(422, f"unknown field(s) {', '.join(unknown)}", f"{where}{unknown[0]}")
    return body


def _address(raw: Any, field: str) -> dict[str, str]:
    body = _known(raw, ADDRESS_FIELDS, f"{field}.")
    out = {k: _text(body, k, f"{field}.") for k in sorted(ADDRESS_FIELDS) if k in body}
    country = out.get("country", "")
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise ApiError(422, f"not an ISO 3166-1 alpha-2 code: {country!r}", f"{field}.country")
    return out


def _currency(body: dict[str, Any]) -> str:
    """A required ISO 4217 code: the hub never assumes a currency."""
    currency = _text(body, "currency")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ApiError(422, f"an ISO 4217 currency code is required, got {currency!r}", "currency")
    return currency


# --- seed ------------------------------------------------------------------------------------


def _empty() -> dict[str, Any]:
    return {**{t: {} for t in TABLES}, "stock": {}, "next": {t: 1 for t in TABLES}}


def _seed(seed: str | None) -> dict[str, Any]:
    data = _empty()
    if seed is None:
        return data
    demo = demo_data.generate(seed)
    when = _iso(demo_data.DEMO_START - _SEED_AGE)
    store = Store(data)
    paths: set[str] = set()
    for entry in demo.catalogue:
        for path in entry.get("categories", []):
            for n in range(1, len(path) + 1):
                paths.add(" > ".join(path[:n]))
    for path in sorted(paths, key=lambda p: (p.count(">"), p)):
        store.insert("categories", {"path": path})
    by_path = {c["path"]: c["id"] for c in data["categories"].values()}
    for entry in demo.catalogue:
        variants = entry["variants"]
        cats = [by_path[" > ".join(p)] for p in entry.get("categories", [])]
        common = {
            "description": entry.get("short_description", ""),
            "brand": entry.get("brand") or "",
            "tax_rate": "21",
            "category_ids": cats,
            "attributes": {},
            "updated_at": when,
            "created_at": when,
        }
        multi = len(variants) > 1 or any(v["attributes"] for v in variants)
        parent = f"P-{entry['product_id']}" if multi else None
        if parent:
            store.insert(
                "products",
                {
                    **common,
                    "sku": parent,
                    "barcode": "",
                    "title": entry["title"],
                    "price": None,
                    "parent_sku": None,
                    "is_parent": True,
                },
            )
        for v in variants:
            title = " ".join([entry["title"], *v["attributes"].values()])
            store.insert(
                "products",
                {
                    **common,
                    "sku": v["sku"],
                    "barcode": v["ean"],
                    "title": title,
                    "price": format(v["price_excl"], "f"),
                    "parent_sku": parent,
                    "is_parent": False,
                    "attributes": dict(v["attributes"]),
                },
            )
            data["stock"][v["sku"]] = {
                "sku": v["sku"],
                "on_hand": str(v["stock"]),
                "updated_at": when,
            }
    # sold in the hub's other channels only: no price and no barcode, as hubs hold them
    store.insert(
        "products",
        {
            "sku": GIFT_WRAP,
            "barcode": "",
            "title": "Gift wrap",
            "description": "",
            "brand": "",
            "price": None,
            "tax_rate": "21",
            "parent_sku": None,
            "is_parent": False,
            "attributes": {},
            "category_ids": [],
            "updated_at": when,
            "created_at": when,
        },
    )
    data["stock"][GIFT_WRAP] = {"sku": GIFT_WRAP, "on_hand": "0", "updated_at": when}
    for c in demo.existing_debtors:
        store.insert(
            "customers",
            {
                "email": c["email"],
                "first_name": c["first_name"],
                "last_name": c["last_name"],
                "company": c["company_name"],
                "vat_number": c["vat_number"],
                "phone": c["phone"],
                "customer_number": "",
                "address": {
                    "street": c["street"],
                    "house_number": c["number"],
                    "house_number_ext": c["extension"],
                    "postcode": c["zipcode"],
                    "city": c["city"],
                    "country": c["country"],
                },
                "created_at": when,
                "updated_at": when,
            },
        )
    # a marketplace customer: no e-mail, no number, no country, no address
    store.insert(
        "customers",
        {
            "email": "",
            "customer_number": "",
            "first_name": "",
            "last_name": "Jansen",
            "company": "",
            "vat_number": "",
            "phone": "",
            "address": {},
            "created_at": when,
            "updated_at": when,
        },
    )
    return data


# --- the store -------------------------------------------------------------------------------


class Store:
    """The tables and Buckles' rules for writing them (shared by routes, seed, controls)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        table: dict[str, dict[str, Any]] = self.data[name]
        return table

    def insert(self, name: str, row: dict[str, Any]) -> dict[str, Any]:
        rid = self.data["next"][name]
        self.data["next"][name] = rid + 1
        record = {"id": rid, **row}
        self.table(name)[str(rid)] = record
        return record

    def one(self, name: str, item: str) -> dict[str, Any]:
        row = self.table(name).get(item)
        if row is None:
            raise ApiError(404, f"{name[:-1]} {item} not found")
        return row

    def find(self, name: str, **match: Any) -> dict[str, Any] | None:
        return next(
            (r for r in self.table(name).values() if all(r.get(k) == v for k, v in match.items())),
            None,
        )

    # customers

    def _customer_fields(self, raw: Any, *, own_id: int | None) -> dict[str, Any]:
        body = _known(raw, CUSTOMER_FIELDS)
        out: dict[str, Any] = {
            k: _text(body, k) for k in CUSTOMER_FIELDS - {"address"} if k in body
        }
        if out.get("email"):
            out["email"] = out["email"].lower()
            if not _EMAIL.match(out["email"]):
                raise ApiError(422, f"not an e-mail address: {out['email']!r}", "email")
            other = self.find("customers", email=out["email"])
            if other is not None and other["id"] != own_id:
                raise ApiError(
                    409, f"a customer with e-mail {out['email']} exists", "email", id=other["id"]
                )
        if out.get("customer_number"):
            other = self.find("customers", customer_number=out["customer_number"])
            if other is not None and other["id"] != own_id:
                raise ApiError(
                    409,
                    f"a customer with number {out['customer_number']} exists",
                    "customer_number",
                    id=other["id"],
                )
        if "address" in body:
            out["address"] = _address(body["address"], "address")
        return out

    def create_customer(self, raw: Any, now: str) -> dict[str, Any]:
        fields = self._customer_fields(raw, own_id=None)
        if not any(
            fields.get(k)
            for k in ("email", "customer_number", "first_name", "last_name", "company")
        ):
            raise ApiError(
                422, "an e-mail, a customer number, a name or a company is required", "email"
            )
        return self.insert(
            "customers",
            {
                "email": "",
                "customer_number": "",
                "first_name": "",
                "last_name": "",
                "company": "",
                "vat_number": "",
                "phone": "",
                "address": {},
                **fields,
                "created_at": now,
                "updated_at": now,
            },
        )

    def update_customer(self, item: str, raw: Any, now: str) -> dict[str, Any]:
        row = self.one("customers", item)
        row.update(self._customer_fields(raw, own_id=row["id"]), updated_at=now)
        return row

    # products and categories

    def _product_fields(self, raw: Any, *, own_id: int | None) -> dict[str, Any]:
        body = _known(raw, PRODUCT_FIELDS)
        out: dict[str, Any] = {
            k: _text(body, k)
            for k in ("sku", "barcode", "title", "description", "brand", "parent_sku")
            if k in body
        }
        for key in ("sku", "barcode"):
            if out.get(key):
                other = self.find("products", **{key: out[key]})
                if other is not None and other["id"] != own_id:
                    raise ApiError(
                        409, f"a product with {key} {out[key]} exists", key, id=other["id"]
                    )
        if "price" in body:
            out["price"] = _dec(body["price"], "price", minimum=Decimal(0))
        if "tax_rate" in body:
            out["tax_rate"] = _dec(
                body["tax_rate"], "tax_rate", minimum=Decimal(0), maximum=Decimal(100)
            )
        if "is_parent" in body:
            if not isinstance(body["is_parent"], bool):
                raise ApiError(422, "expected true or false", "is_parent")
            out["is_parent"] = body["is_parent"]
        if out.get("parent_sku"):
            parent = self.find("products", sku=out["parent_sku"])
            if parent is None or not parent.get("is_parent"):
                raise ApiError(422, f"no parent product with SKU {out['parent_sku']}", "parent_sku")
        if "attributes" in body:
            attrs = body["attributes"]
            if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
                raise ApiError(422, "expected an object of texts", "attributes")
            out["attributes"] = dict(attrs)
        if "category_ids" in body:
            ids = body["category_ids"]
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and str(i) in self.table("categories") for i in ids
            ):
                raise ApiError(422, "expected ids of existing categories", "category_ids")
            out["category_ids"] = list(ids)
        return out

    def create_product(self, raw: Any, now: str) -> dict[str, Any]:
        fields = self._product_fields(raw, own_id=None)
        for key in ("sku", "title"):
            if not fields.get(key):
                raise ApiError(422, "required", key)
        row = self.insert(
            "products",
            {
                "barcode": "",
                "description": "",
                "brand": "",
                "price": None,
                "tax_rate": "21",
                "parent_sku": None,
                "is_parent": False,
                "attributes": {},
                "category_ids": [],
                **fields,
                "created_at": now,
                "updated_at": now,
            },
        )
        if not row["is_parent"]:
            self.data["stock"].setdefault(
                row["sku"], {"sku": row["sku"], "on_hand": "0", "updated_at": now}
            )
        return row

    def update_product(self, item: str, raw: Any, now: str) -> dict[str, Any]:
        row = self.one("products", item)
        if isinstance(raw, dict) and "sku" in raw and raw["sku"] != row["sku"]:
            raise ApiError(422, "read-only (a product's SKU is its key)", "sku")
        row.update(self._product_fields(raw, own_id=row["id"]), updated_at=now)
        return row

    def create_category(self, raw: Any) -> dict[str, Any]:
        body = _known(raw, frozenset({"path"}))
        names = [p.strip() for p in _text(body, "path").split(">")]
        if not all(names):
            raise ApiError(422, "names joined with ' > ', none empty", "path")
        path = " > ".join(names)
        other = next(
            (c for c in self.table("categories").values() if c["path"].lower() == path.lower()),
            None,
        )
        if other is not None:
            raise ApiError(409, f"category {path} exists", "path", id=other["id"])
        return self.insert("categories", {"path": path})

    # orders, shipments, checkouts

    def _lines(self, raw: Any) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            raise ApiError(422, "at least one line is required", "lines")
        out = []
        for i, line in enumerate(raw):
            where = f"lines[{i}]."
            body = _known(line, LINE_FIELDS, where)
            sku, barcode = _text(body, "sku", where), _text(body, "barcode", where)
            product = self.find("products", sku=sku) if sku else None
            if product is None and barcode:
                product = self.find("products", barcode=barcode)
            if product is None or product.get("is_parent"):
                raise ApiError(
                    422,
                    f"no sellable product with SKU {sku!r}"
                    + (f" or barcode {barcode!r}" if barcode else ""),
                    f"{where}sku",
                )
            out.append(
                {
                    "sku": product["sku"],
                    "barcode": barcode,
                    "name": _text(body, "name", where) or product["title"],
                    "qty": _dec(body.get("qty"), f"{where}qty", positive=True),
                    "price": _dec(
                        body.get("price", product.get("price") or 0),
                        f"{where}price",
                        minimum=Decimal(0),
                    ),
                    "tax_rate": _dec(
                        body.get("tax_rate", product.get("tax_rate") or 21),
                        f"{where}tax_rate",
                        minimum=Decimal(0),
                        maximum=Decimal(100),
                    ),
                    "discount": _dec(
                        body.get("discount", 0), f"{where}discount", minimum=Decimal(0)
                    ),
                }
            )
        return out

    def create_order(self, raw: Any, now: str) -> dict[str, Any]:
        body = _known(raw, ORDER_FIELDS)
        channel, ref = _text(body, "channel"), _text(body, "channel_order_id")
        for key, value in (("channel", channel), ("channel_order_id", ref)):
            if not value:
                raise ApiError(422, "required", key)
        other = self.find("orders", channel=channel, channel_order_id=ref)
        if other is not None:
            raise ApiError(
                409, f"order {ref} of channel {channel} exists", "channel_order_id", id=other["id"]
            )
        status = body.get("status", DEFAULT_STATUS)
        if status not in ORDER_STATUSES:
            raise ApiError(
                422, f"unknown status {status!r}; known: {', '.join(ORDER_STATUSES)}", "status"
            )
        customer = body.get("customer_id")
        if customer is not None and str(customer) not in self.table("customers"):
            raise ApiError(422, f"customer {customer} not found", "customer_id")
        currency = _currency(body)
        row: dict[str, Any] = {
            k: _text(body, k)
            for k in ("number", "email", "payment_status", "payment_method", "shipping_method")
        }
        for key in ("shipping_cost", "discount", "total"):
            row[key] = _dec(body.get(key, 0), key, minimum=Decimal(0))
        for key in ("billing_address", "shipping_address"):
            row[key] = _address(body[key], key) if body.get(key) is not None else None
        return self.insert(
            "orders",
            {
                "channel": channel,
                "channel_order_id": ref,
                "status": status,
                "customer_id": int(customer) if customer is not None else None,
                **row,
                "currency": currency,
                "ordered_at": _text(body, "ordered_at") or now,
                "prices_include_tax": body.get("prices_include_tax") is True,
                "lines": self._lines(body.get("lines")),
                "created_at": now,
                "updated_at": now,
            },
        )

    def shipments_of(self, order_id: int) -> list[dict[str, Any]]:
        return sorted(
            (s for s in self.table("shipments").values() if s["order_id"] == order_id),
            key=lambda s: s["id"],
        )

    def put_shipment(self, item: str, raw: Any, now: str) -> tuple[dict[str, Any], bool]:
        """Add a shipment to an order, or update the one with the same tracking code (else
        reference); ``(shipment, created)``."""
        order = self.one("orders", item)
        body = _known(raw, SHIPMENT_FIELDS)
        status = body.get("status", "shipped")
        if status not in ("shipped", "pending"):
            raise ApiError(422, f"unknown status {status!r}; known: shipped, pending", "status")
        code, ref = _text(body, "tracking_code"), _text(body, "reference")
        if not code and not ref:
            raise ApiError(422, "a tracking_code or a reference is required", "tracking_code")
        lines = []
        for i, line in enumerate(body.get("lines") or []):
            lb = _known(line, frozenset({"sku", "qty"}), f"lines[{i}].")
            lines.append(
                {
                    "sku": _text(lb, "sku", f"lines[{i}]."),
                    "qty": _dec(lb.get("qty"), f"lines[{i}].qty", positive=True),
                }
            )
        fields = {
            "status": status,
            "carrier": _text(body, "carrier"),
            "tracking_code": code,
            "reference": ref,
            "shipped_at": _text(body, "shipped_at") or (now if status == "shipped" else None),
            "lines": lines,
            "updated_at": now,
        }
        existing = next(
            (
                s
                for s in self.shipments_of(order["id"])
                if (code and s["tracking_code"] == code)
                or (not code and ref and s["reference"] == ref)
            ),
            None,
        )
        if existing is not None:
            existing.update(fields)
            shipment, created = existing, False
        else:
            shipment = self.insert(
                "shipments", {"order_id": order["id"], **fields, "created_at": now}
            )
            created = True
        if status == "shipped" and order["status"] in OPEN_STATUSES:
            order.update(status="completed", updated_at=now)
        return shipment, created

    def put_checkout(self, ccid: str, raw: Any, now: str) -> tuple[dict[str, Any], bool]:
        body = _known(raw, CHECKOUT_FIELDS)
        email = _text(body, "email").lower()
        if email and not _EMAIL.match(email):
            raise ApiError(422, f"not an e-mail address: {email!r}", "email")
        lines = []
        for i, line in enumerate(body.get("lines") or []):
            where = f"lines[{i}]."
            lb = _known(line, CHECKOUT_LINE_FIELDS, where)
            lines.append(
                {
                    "sku": _text(lb, "sku", where),
                    "name": _text(lb, "name", where),
                    "qty": _dec(lb.get("qty"), f"{where}qty", positive=True),
                    "price_incl": _dec(
                        lb.get("price_incl", 0), f"{where}price_incl", minimum=Decimal(0)
                    ),
                }
            )
        fields = {
            "channel": _text(body, "channel"),
            "email": email,
            "currency": _currency(body),
            "lines": lines,
            "total": _dec(body.get("total", 0), "total", minimum=Decimal(0)),
            "channel_order_id": _text(body, "channel_order_id") or None,
            "channel_created_at": _text(body, "created_at"),
            "channel_updated_at": _text(body, "updated_at"),
            "updated_at": now,
        }
        existing = self.find("checkouts", channel_checkout_id=ccid)
        if existing is not None:
            existing.update(fields)
            return existing, False
        return self.insert(
            "checkouts", {"channel_checkout_id": ccid, **fields, "created_at": now}
        ), True

    # rendering

    def render_order(self, order: dict[str, Any]) -> dict[str, Any]:
        return {**order, "shipments": self.shipments_of(order["id"])}

    def stock_rows(self) -> list[dict[str, Any]]:
        """One row per SKU; ``reserved`` is the quantity on open orders."""
        reserved: dict[str, Decimal] = {}
        for order in self.table("orders").values():
            if order["status"] in OPEN_STATUSES:
                for line in order["lines"]:
                    reserved[line["sku"]] = reserved.get(line["sku"], Decimal(0)) + Decimal(
                        line["qty"]
                    )
        barcodes = {p["sku"]: p.get("barcode") or "" for p in self.table("products").values()}
        return [
            {
                **row,
                "barcode": barcodes.get(sku, ""),
                "reserved": format(reserved.get(sku, Decimal(0)), "f"),
            }
            for sku, row in sorted(self.data["stock"].items())
        ]

    def state(self) -> dict[str, Any]:
        return {
            **{t: sorted(self.table(t).values(), key=lambda r: r["id"]) for t in TABLES},
            "orders": [
                self.render_order(o)
                for o in sorted(self.table("orders").values(), key=lambda r: r["id"])
            ],
            "stock": self.stock_rows(),
        }


# --- lists -----------------------------------------------------------------------------------


def _int_param(q: dict[str, str], name: str, default: int) -> int:
    raw = q.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"expected an integer, got {raw!r}", name) from None
    if value < 1:
        raise ApiError(422, "must be at least 1", name)
    return value


def _filtered(
    rows: list[dict[str, Any]], q: dict[str, str], filters: tuple[str, ...]
) -> list[dict[str, Any]]:
    for name in filters:
        if name in q:
            wanted = {v.strip().lower() for v in q[name].split(",") if v.strip()}
            rows = [r for r in rows if str(r.get(name) or "").lower() in wanted]
    lo = _when(q["updated_since"], "updated_since") if "updated_since" in q else None
    hi = _when(q["updated_before"], "updated_before") if "updated_before" in q else None
    if lo or hi:
        rows = [
            r
            for r in rows
            if (lo is None or _when(r["updated_at"], "updated_at") >= lo)
            and (hi is None or _when(r["updated_at"], "updated_at") < hi)
        ]
    return rows


FILTERS: dict[str, tuple[str, ...]] = {
    "orders": ("channel_order_id", "channel", "status"),
    "customers": ("email", "customer_number"),
    "products": ("sku", "barcode"),
    "stock": ("sku",),
    "shipments": ("order_id",),
    "checkouts": ("channel_checkout_id",),
    "categories": ("path",),
}


# --- app -------------------------------------------------------------------------------------


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    token: str = TOKEN,
    rate_limit_per_minute: int = DEFAULT_PER_MINUTE,
    send_retry_after: bool = True,
    default_per_page: int = 25,
    max_per_page: int = 100,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] | None = None,
) -> FastAPI:
    """A fresh sandbox; ``seed=None`` starts empty, ``state_file`` persists across restarts.

    ``clock`` drives the rate-limit window and ``now`` every ``updated_at`` (tests pass
    fakes). Every other option is a [U] point of the assumed API.
    """
    app = FastAPI(title="Buckles sandbox")
    controls = SandboxControls()
    state = JsonState(state_file, lambda: _seed(seed))
    store = Store(state.data)
    window = MinuteWindow(rate_limit_per_minute)
    utcnow = now or (lambda: datetime.now(UTC))

    def stamp() -> str:
        return _iso(utcnow())

    def page(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
        q = dict(request.query_params)
        number = _int_param(q, "page", 1)
        size = min(_int_param(q, "per_page", default_per_page), max_per_page)
        start = (number - 1) * size
        return {
            "data": rows[start : start + size],
            "meta": {"page": number, "per_page": size, "total": len(rows)},
        }

    def written(data: dict[str, Any], status: int = 200) -> JSONResponse:
        state.save()
        controls.count("writes")
        return JSONResponse({"data": data}, status_code=status)

    async def body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            raise ApiError(400, "body is not JSON") from None

    def listing(request: Request, resource: str) -> JSONResponse:
        q = dict(request.query_params)
        if resource == "stock":
            rows = store.stock_rows()
        else:
            rows = sorted(store.table(resource).values(), key=lambda r: r["id"])
        rows = _filtered(rows, q, FILTERS[resource])
        out = page(request, rows)
        if resource == "orders":
            out["data"] = [store.render_order(o) for o in out["data"]]
        return JSONResponse(out)

    async def dispatch(request: Request, seg: list[str]) -> Response:
        method = request.method
        resource = seg[0]
        if resource not in (*TABLES, "stock") or len(seg) > 3:
            raise ApiError(404, f"no resource {'/'.join(seg)!r}")
        with state.lock:
            if method == "GET" and len(seg) == 1:
                return listing(request, resource)
            if method == "GET" and len(seg) == 2 and resource != "stock":
                row = store.one(resource, seg[1])
                return JSONResponse(
                    {"data": store.render_order(row) if resource == "orders" else row}
                )
            if method == "POST" and len(seg) == 1:
                raw = await body(request)
                if resource == "orders":
                    return written(store.render_order(store.create_order(raw, stamp())), 201)
                if resource == "customers":
                    return written(store.create_customer(raw, stamp()), 201)
                if resource == "products":
                    return written(store.create_product(raw, stamp()), 201)
                if resource == "categories":
                    return written(store.create_category(raw), 201)
            if method == "PATCH" and len(seg) == 2 and resource in ("customers", "products"):
                raw = await body(request)
                update = store.update_customer if resource == "customers" else store.update_product
                return written(update(seg[1], raw, stamp()))
            if method == "POST" and resource == "orders" and seg[2:] == ["shipments"]:
                shipment, created = store.put_shipment(seg[1], await body(request), stamp())
                return written(shipment, 201 if created else 200)
            if method == "PUT" and resource == "checkouts" and len(seg) == 2:
                checkout, created = store.put_checkout(seg[1], await body(request), stamp())
                return written(checkout, 201 if created else 200)
        raise ApiError(405, f"{method} is not allowed on {'/'.join(seg)}")

    @app.api_route(PREFIX + "/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def api(path: str, request: Request) -> Response:
        try:
            return await dispatch(request, [s for s in path.split("/") if s] or [""])
        except ApiError as err:
            return err.response()

    # --- controls ----------------------------------------------------------------------

    @app.get(f"{CONTROL_PREFIX}/state")
    def dump_state() -> dict[str, Any]:
        """Every table as the API would render it (orders with their shipments)."""
        with state.lock:
            return store.state()

    @app.post(f"{CONTROL_PREFIX}/reset")
    def reset() -> dict[str, int]:
        """Back to the seed (faults and stats stay: they are the test's own)."""
        with state.lock:
            state.data.clear()
            state.data.update(_seed(seed))
            state.save()
            return {t: len(store.table(t)) for t in TABLES}

    @app.post(f"{CONTROL_PREFIX}/orders/{{order_id}}/ship")
    def ship(order_id: str, body: dict[str, Any] = Body(...)) -> Any:  # noqa: B008
        """The warehouse ships the whole order: a shipped shipment with every line, the
        order ``completed`` and its quantities taken off ``on_hand``."""
        with state.lock:
            try:
                order = store.one("orders", order_id)
                lines = [{"sku": x["sku"], "qty": x["qty"]} for x in order["lines"]]
                was_open = order["status"] in OPEN_STATUSES
                shipment, _ = store.put_shipment(
                    order_id,
                    {
                        "status": "shipped",
                        "carrier": str(body.get("carrier") or ""),
                        "tracking_code": str(body.get("tracking_code") or ""),
                        "lines": lines,
                    },
                    stamp(),
                )
            except ApiError as err:
                return err.response()
            order.update(status="completed", updated_at=stamp())
            if was_open:
                for line in lines:
                    row = store.data["stock"].get(line["sku"])
                    if row is not None:
                        left = max(Decimal(0), Decimal(row["on_hand"]) - Decimal(line["qty"]))
                        row.update(on_hand=format(left, "f"), updated_at=stamp())
            state.save()
            return {"data": shipment}

    @app.post(f"{CONTROL_PREFIX}/stock")
    def set_stock(body: dict[str, Any] = Body(...)) -> Any:  # noqa: B008
        """Set a SKU's ``on_hand`` as another channel's sale or a receipt would."""
        with state.lock:
            sku = str(body.get("sku") or "")
            row = store.data["stock"].get(sku)
            if row is None:
                return ApiError(404, f"no stock row for SKU {sku!r}", "sku").response()
            try:
                row.update(on_hand=_dec(body.get("on_hand"), "on_hand"), updated_at=stamp())
            except ApiError as err:
                return err.response()
            state.save()
            return {"data": row}

    @app.patch(f"{CONTROL_PREFIX}/customers/{{customer_id}}")
    def edit_customer(customer_id: str, body: dict[str, Any] = Body(...)) -> Any:  # noqa: B008
        """An edit made in Buckles, merged unvalidated (tests make bad records with it);
        ``updated_at`` is now unless given."""
        with state.lock:
            row = store.table("customers").get(customer_id)
            if row is None:
                return ApiError(404, f"customer {customer_id} not found").response()
            row.update({"updated_at": stamp(), **body})
            state.save()
            return {"data": row}

    # --- middleware: innermost first -------------------------------------------------

    @app.middleware("http")
    async def vendor_gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The token check, then the per-minute window, then the route."""
        if not request.url.path.startswith(PREFIX + "/"):
            return await call_next(request)
        given = request.headers.get("Authorization", "")
        if given != f"Bearer {token}":
            controls.count("rejected_401")
            return ApiError(401, "invalid or missing API token").response()
        wait = window.refusal(clock())
        if wait is not None:
            controls.count("rejected_429")
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if send_retry_after else {}
            return ApiError(
                429,
                f"rate limit of {rate_limit_per_minute} requests per minute reached",
                headers=headers,
            ).response()
        window.record(clock())
        return await call_next(request)

    install_controls(app, controls, _fault_body)
    return app
