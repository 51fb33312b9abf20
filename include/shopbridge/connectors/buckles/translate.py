"""Buckles JSON <-> canonical records. Pure: no I/O, no clock.

Field names are the ASSUMPTION [U] of the package docstring (no public Buckles API
exists). Every problem reading a Buckles record raises :class:`RecordError` whose
``field`` is the Buckles name (``address.country``, ``lines[1].qty``), so a person can find
it in Buckles. Money and quantities are read with ``Decimal`` (Buckles sends decimal text
or numbers, both accepted) and written as decimal text.

Reading (Buckles as a source): :func:`customer_from_buckles`, :func:`stock_from_buckles`,
:func:`shipment_from_buckles`. Writing (Buckles as a target): :func:`customer_payload`,
:func:`order_payload`, :func:`product_payload` / :func:`item_payload`,
:func:`shipment_payload`, :func:`checkout_payload`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shopbridge.connectors._kit.fields import FieldReader
from shopbridge.connectors.base import ItemWrite
from shopbridge.errors import FatalError, RecordError
from shopbridge.models import (
    Address,
    Checkout,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
)

SYSTEM = "buckles"
#: Buckles' order statuses. The names are those Buckles' knowledge base maps every shop's
#: statuses to (Pending payment, Processing, On hold, Partially shipped, Completed,
#: Cancelled, Refunded, Partially refunded, Returned, Partially returned, Failed) [V]; their
#: spelling in the API (snake_case) is ASSUMED [U]. Buckles has no "shipped" status: a
#: shipped order is Completed [V]. Only ``processing`` orders reach a WMS [V].
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
#: the status of an order the mapping gives none: a person looks at it in Buckles (the
#: knowledge base: a status outside the mapping is notified, not processed [V])
DEFAULT_ORDER_STATUS = "on_hold"
#: Buckles shipment status -> canonical (``pending`` parcels are not shipped yet)
SHIPMENT_STATUSES = {"shipped": "shipped", "pending": "not_shipped"}
#: what separates the names of a category path in Buckles' flat list [U]
CATEGORY_SEP = " > "
#: product fields Buckles keeps as columns; any other mapped field goes into
#: ``attributes`` (a free name -> text map) [U]
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
#: fields only the target sets on an order (a mapping cannot override them)
ORDER_OWN_FIELDS = ("channel", "channel_order_id", "customer_id")

_ADDRESS = {
    "street": "street",
    "house_number": "house_number",
    "house_number_ext": "house_number_ext",
    "postcode": "postcode",
    "city": "city",
    "country": "country",
}
_CUSTOMER = {
    "email": "email",
    "customer_number": "id",
    "first_name": "first_name",
    "last_name": "last_name",
    "company_name": "company",
    "vat_number": "vat_number",
    "phone": "phone",
    "billing_address": "address",
    "kind": "company",
    "": "company",
}
_SHIPMENT = {
    "ref": "id",
    "order_ref": "order_id",
    "tracking_code": "tracking_code",
    "carrier": "carrier",
    "shipped_at": "shipped_at",
    "updated_at": "updated_at",
    "lines": "lines",
}
_STOCK = {"sku": "sku", "ean": "barcode", "on_hand": "on_hand", "reserved": "reserved"}
#: order header fields Buckles keeps as text: a mapped ``false`` or ``null`` (Lightspeed's
#: empty value, e.g. ``source.addressShippingCompany``) is sent as "" [U]
ORDER_TEXT_FIELDS = frozenset(
    {"number", "email", "currency", "payment_status", "payment_method", "shipping_method"}
)
LINE_TEXT_FIELDS = frozenset({"name", "barcode"})


class _Reader(FieldReader):
    """:class:`FieldReader` plus Buckles' nested objects; a timestamp without an offset is
    UTC [U]."""

    NAIVE_ZONE = UTC

    def at(self, raw: Mapping[str, Any], prefix: str) -> _Reader:
        return _Reader(raw, self.entity, self.source_id, f"{self.prefix}{prefix}")

    def obj(self, key: str) -> _Reader:
        value = self.raw.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(key, "missing or not an object")
        return self.at(value, f"{key}.")


def record_id(raw: Any) -> str:
    """A record's ``id`` as text; readable even when everything else is malformed."""
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    return "?" if rid in (None, "", False) else str(rid)


def _reader(raw: Any, entity: str, source_id: str) -> _Reader:
    if not isinstance(raw, Mapping):
        raise RecordError(entity, source_id, "", "record is not a JSON object")
    return _Reader(raw, entity, source_id)


def _text(value: Decimal) -> str:
    """Decimal text without exponent noise (``21``, ``12.50``)."""
    return format(value, "f")


def percent(rate: Decimal) -> str:
    """A canonical rate (0.21) as Buckles' percentage text (``21``)."""
    pct = (rate * 100).normalize()
    return _text(pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct)


# --- customers -----------------------------------------------------------------------------


def address_payload(a: Address) -> dict[str, str]:
    """An address as Buckles keeps it (house number and extension separate) [U]."""
    return {
        "street": a.street,
        "house_number": a.house_number,
        "house_number_ext": a.house_number_ext,
        "postcode": a.postcode,
        "city": a.city,
        "country": a.country,
    }


def customer_payload(customer: Customer) -> dict[str, Any]:
    """``POST``/``PATCH customers`` body: the fields this integration manages.

    ``email`` may be "" (real shops hold customers without one); ``customer_number`` is
    the channel's own number of the customer, which Buckles keeps unique when set [U], so
    a customer without e-mail is created once (a second POST answers 409 with its id). It
    is identity, not content: sent only when known (an order's customer may lack it, and
    must not blank it), and left out of :func:`fingerprint`.
    """
    company = customer.kind is CustomerKind.COMPANY
    number = {"customer_number": customer.customer_number} if customer.customer_number else {}
    return {
        "email": customer.email,
        **number,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "company": customer.company_name if company else "",
        "vat_number": customer.vat_number if company else "",
        "phone": customer.phone,
        "address": address_payload(customer.billing_address),
    }


def _managed(record: Mapping[str, Any]) -> dict[str, Any]:
    """The managed fields of a payload or a Buckles record, normalised for comparison."""

    def norm(value: Any) -> str:
        return "" if value is None else str(value).strip()

    address = record.get("address")
    address = address if isinstance(address, Mapping) else {}
    return {
        "email": norm(record.get("email")).lower(),
        **{
            k: norm(record.get(k))
            for k in ("first_name", "last_name", "company", "vat_number", "phone")
        },
        "address": {k: norm(address.get(k)) for k in _ADDRESS},
    }


def fingerprint(record: Mapping[str, Any]) -> str:
    """Hash of the managed fields: equal for a customer and the record written from it."""
    text = json.dumps(_managed(record), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def customer_fingerprint(customer: Customer) -> str:
    return fingerprint(customer_payload(customer))


def _address(r: _Reader) -> Address:
    """An address as far as Buckles knows it: every part may be empty (a marketplace
    customer has no street; the country is then "" and the flow fills the pair's
    ``default_country``). A country that is there must be ISO-2."""
    return r.build(
        lambda: Address(
            street=r.text("street"),
            house_number=r.text("house_number"),
            house_number_ext=r.text("house_number_ext"),
            postcode=r.text("postcode"),
            city=r.text("city"),
            country=r.text("country").upper(),
        ),
        _ADDRESS,
    )


def customer_from_buckles(raw: Mapping[str, Any]) -> Customer:
    """One Buckles customer; a non-empty ``company`` makes it a company customer, its
    person the contact. ``customer_number`` is Buckles' id. No e-mail and no address
    (``null``, ``{}`` or missing) are not errors. Raises :class:`RecordError` (entity
    ``customer``)."""
    r = _reader(raw, "customer", record_id(raw))
    if raw.get("id") in (None, "", False):
        raise r.fail("id", "missing")
    company = r.text("company")
    if not company and not (r.text("first_name") or r.text("last_name")):
        raise r.fail("first_name", "a person needs a first or last name (or a company)")
    address = raw.get("address")
    if address in (None, False, ""):
        billing = Address()
    elif isinstance(address, Mapping):
        billing = _address(r.at(address, "address."))
    else:
        raise r.fail("address", "expected an object")
    return r.build(
        lambda: Customer(
            kind=CustomerKind.COMPANY if company else CustomerKind.PERSON,
            email=r.text("email"),
            customer_number=record_id(raw),
            first_name=r.text("first_name"),
            last_name=r.text("last_name"),
            company_name=company,
            vat_number=r.text("vat_number"),
            phone=r.text("phone"),
            billing_address=billing,
        ),
        _CUSTOMER,
    )


# --- orders (target) -----------------------------------------------------------------------


def _party(customer: Customer, a: Address) -> dict[str, str]:
    company = customer.company_name if customer.kind is CustomerKind.COMPANY else ""
    return {"name": customer.person_name, "company": company, **address_payload(a)}


def line_codes(order: Order) -> list[tuple[str, str, str]]:
    """Each line's item keys as the target matches them: ``(ean, sku, article_code)``.
    ``sku`` is the key the pair's ``item_key`` rule picked (the flow resolves it)."""
    return [(line.ean, line.sku, line.article_code) for line in order.lines]


def order_lines(order: Order, skus: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One Buckles line per order line: ``sku`` (the Buckles product's SKU the target
    matched, else the line's item key), ``barcode`` (the EAN the channel sent, "" when
    none), unit ``price`` excl. VAT before the line discount, ``tax_rate`` as a
    percentage, ``discount`` for the whole line (excl. VAT) [U]."""
    codes = list(skus) if skus is not None else [line.sku for line in order.lines]
    if len(codes) != len(order.lines):
        raise FatalError(
            f"order {order.number}: {len(codes)} item codes for {len(order.lines)} lines"
        )
    return [
        {
            "sku": code,
            "barcode": line.ean,
            "name": line.description or code,
            "qty": _text(line.quantity),
            "price": _text(line.unit_price_excl),
            "tax_rate": percent(line.tax_rate),
            "discount": _text(line.discount_excl),
        }
        for code, line in zip(codes, order.lines, strict=True)
    ]


def _plain(value: Any) -> Any:
    """A mapped text value as Buckles takes it: ``false``/``null`` (a vendor's empty) is ""."""
    return "" if value is None or value is False else value


def order_payload(
    order: Order,
    *,
    reference: str,
    customer_id: str,
    channel: str,
    mapped: Mapping[str, Any] | None = None,
    skus: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``POST orders`` body of one canonical order.

    Built from the canonical order; the datamapper's ``header`` fields override or add
    (``status`` above all: the pair's value map turns the source status into Buckles'),
    its ``lines`` fields override per line. Set last, by the target only: ``channel``,
    ``channel_order_id`` (our reference), ``customer_id`` and each line's ``sku`` and
    ``barcode`` (``skus``: the Buckles SKU the target matched per line). ``total`` is the
    source's own order total, never one recomputed from the lines. ``FatalError`` when the
    mapped status is not a Buckles status or the mapped lines do not match the order's.
    """
    lines = order_lines(order, skus)
    mapped_lines = (mapped or {}).get("lines")
    if mapped_lines is not None:
        if len(mapped_lines) != len(lines):
            raise FatalError(
                f"order {order.number}: {len(mapped_lines)} mapped lines for "
                f"{len(lines)} order lines"
            )
        for line, extra in zip(lines, mapped_lines, strict=True):
            line.update(
                {
                    k: _plain(v) if k in LINE_TEXT_FIELDS else v
                    for k, v in extra.items()
                    if k not in ("sku", "barcode")
                }
            )
    body: dict[str, Any] = {
        "number": order.number,
        "status": DEFAULT_ORDER_STATUS,
        "email": order.customer.email,
        "currency": order.currency,
        "payment_status": order.payment_status,
        "payment_method": order.payment_method,
        "shipping_method": order.shipping_method,
        "ordered_at": order.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "prices_include_tax": False,
        "billing_address": _party(order.customer, order.customer.billing_address),
        "shipping_address": _party(order.customer, order.shipping_address),
        "shipping_cost": _text(order.shipping_cost_excl),
        "discount": _text(order.discount_excl),
        "total": _text(order.total_incl),
    }
    body.update(
        {
            k: _plain(v) if k in ORDER_TEXT_FIELDS else v
            for k, v in dict((mapped or {}).get("header") or {}).items()
        }
    )
    status = body.get("status")
    if status not in ORDER_STATUSES:
        raise FatalError(
            f"order {order.number}: status {status!r} is not a Buckles status "
            f"({', '.join(ORDER_STATUSES)}); check the status value map"
        )
    body.update(
        {
            "channel": channel,
            "channel_order_id": reference,
            "customer_id": int(customer_id) if customer_id.isdigit() else customer_id,
            "lines": lines,
        }
    )
    return body


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "", False, True) else None
    except ArithmeticError:
        return None


def confirm_order(sent: Mapping[str, Any], answer: Any) -> str:
    """Buckles' id of the order ``sent``, once its answer confirms the write: an id, our
    reference, the same number of lines with the same SKUs and quantities, and the same
    total. Anything else is a ``FatalError`` naming what differs (the order is then
    quarantined, never counted as written) [U: Buckles' answer is the created order]."""
    ref = sent.get("channel_order_id")
    if not isinstance(answer, Mapping) or answer.get("id") in (None, "", False):
        raise FatalError(f"order {ref}: Buckles' answer has no order id")
    problems: list[str] = []
    if reference_of(answer) != ref:
        problems.append(f"reference {answer.get('channel_order_id')!r} instead of {ref!r}")
    raw_lines = answer.get("lines")
    got: list[Any] = raw_lines if isinstance(raw_lines, list) else []
    sent_lines: list[Any] = list(sent.get("lines") or [])
    # a line sent with a barcode may land on the product Buckles found by it
    want = [(str(x["sku"]) if not x.get("barcode") else "*", _amount(x["qty"])) for x in sent_lines]
    have = [
        (str(x.get("sku")) if not y.get("barcode") else "*", _amount(x.get("qty")))
        for x, y in zip(got, sent_lines, strict=False)
        if isinstance(x, Mapping)
    ]
    if len(got) != len(sent_lines) or have != want:
        problems.append(f"{len(got)} lines {have} instead of {want}")
    if _amount(answer.get("total")) != _amount(sent.get("total")):
        problems.append(f"total {answer.get('total')!r} instead of {sent.get('total')!r}")
    if problems:
        raise FatalError(
            f"order {ref}: Buckles answered id {answer['id']} but " + "; ".join(problems)
        )
    return str(answer["id"])


def reference_of(order: Mapping[str, Any]) -> str | None:
    """Our reference on a Buckles order, or ``None`` for one we did not create."""
    value = order.get("channel_order_id")
    return value.strip() if isinstance(value, str) and value.strip() else None


# --- products (target) ---------------------------------------------------------------------


def product_payload(product: Product) -> list[dict[str, Any]]:
    """A canonical product as Buckles products, which are flat: one per SKU. A
    configurable product is its parent (``is_parent``, not sold) first, then one product
    per variant naming it in ``parent_sku`` [U]. Prices excl. VAT."""
    rate = percent(product.tax_rate)
    common = {"description": product.description, "brand": product.brand, "tax_rate": rate}
    if not product.configurable:
        v = product.variants[0]
        return [
            {
                "sku": v.sku,
                "barcode": v.ean or product.ean,
                "title": product.title,
                "price": _text(v.price_excl),
                **common,
            }
        ]
    out: list[dict[str, Any]] = [
        {
            "sku": product.sku,
            "barcode": product.ean,
            "title": product.title,
            "is_parent": True,
            **common,
        }
    ]
    out += [
        {
            "sku": v.sku,
            "barcode": v.ean,
            "title": " ".join(p for p in (product.title, v.title) if p),
            "price": _text(v.price_excl),
            "parent_sku": product.sku,
            "attributes": dict(v.attributes),
            **common,
        }
        for v in product.variants
    ]
    return out


def item_payload(item: ItemWrite, *, create: bool) -> dict[str, Any]:
    """``POST``/``PATCH products`` body of one mapped item.

    Known columns go as they are, any other mapped field into ``attributes`` (merged with
    a mapped ``attributes`` object). On create the item's code is its ``sku``; on update
    the SKU is never sent (an item matched by barcode keeps its Buckles SKU). Categories
    are sent only when the item has some (an empty list would clear Buckles' own).
    """
    body: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in item.fields.items():
        if key == "attributes" and isinstance(value, Mapping):
            extra.update(value)
        elif key in PRODUCT_FIELDS:
            body[key] = value
        else:
            extra[key] = value
    if extra:
        body["attributes"] = {k: "" if v is None else str(v) for k, v in extra.items()}
    body.pop("sku", None)
    if create:
        body["sku"] = item.code
    if item.is_parent:
        body["is_parent"] = True
    if item.parent:
        body["parent_sku"] = item.parent
    if item.categories:
        body["category_ids"] = [int(c) if c.isdigit() else c for c in item.categories]
    return body


def category_path(path: Sequence[str]) -> str:
    """``("Clothing", "Shirts")`` -> ``"Clothing > Shirts"`` (Buckles' flat name) [U]."""
    return CATEGORY_SEP.join(p.strip() for p in path)


# --- stock (source) ------------------------------------------------------------------------


def stock_id(raw: Any) -> str:
    """A stock row's SKU (its key in Buckles)."""
    return str(raw.get("sku") or "?") if isinstance(raw, Mapping) else "?"


def stock_from_buckles(raw: Mapping[str, Any]) -> StockLevel:
    """One ``GET stock`` row: ``on_hand`` and open ``reserved``, the product's ``barcode``
    as the level's EAN (the pair's ``item_key`` may match on it). Buckles tracks stock for
    every SKU [U], so ``managed`` is always true. A negative level is refused."""
    r = _reader(raw, "stock", stock_id(raw))
    sku = r.text("sku", required=True)
    barcode = r.text("barcode")
    on_hand = r.decimal("on_hand")
    reserved = r.decimal("reserved", default=Decimal(0))
    if on_hand < 0:
        raise r.fail("on_hand", f"negative stock level {on_hand}")
    if reserved < 0:
        raise r.fail("reserved", f"negative reservation {reserved}")
    return r.build(
        lambda: StockLevel(sku=sku, ean=barcode, on_hand=on_hand, reserved=reserved), _STOCK
    )


# --- shipments -----------------------------------------------------------------------------


def _shipment_line(r: _Reader) -> ShipmentLine:
    sku, qty = r.text("sku", required=True), r.decimal("qty")
    return r.build(lambda: ShipmentLine(sku=sku, quantity=qty), {"sku": "sku", "quantity": "qty"})


def shipment_from_buckles(raw: Mapping[str, Any]) -> Shipment:
    """One ``GET shipments`` row; ``order_ref`` is the Buckles order (the flow finds ours
    through the ledger). ``pending`` reads as ``not_shipped``."""
    r = _reader(raw, "shipment", record_id(raw))
    if raw.get("id") in (None, ""):
        raise r.fail("id", "missing")
    order_id = r.text("order_id", required=True)
    status = r.text("status", required=True)
    if status not in SHIPMENT_STATUSES:
        raise r.fail(
            "status", f"unknown shipment status {status!r}; known: {', '.join(SHIPMENT_STATUSES)}"
        )
    rows = raw.get("lines") or []
    if not isinstance(rows, list):
        raise r.fail("lines", "expected a list")
    lines = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise r.fail(f"lines[{i}]", "not an object")
        lr = r.at(row, f"lines[{i}].")
        lines.append(_shipment_line(lr))
    return r.build(
        lambda: Shipment(
            ref=ExternalRef(system=SYSTEM, id=record_id(raw)),
            order_ref=ExternalRef(system=SYSTEM, id=order_id),
            status=SHIPMENT_STATUSES[status],
            tracking_code=r.text("tracking_code"),
            carrier=r.text("carrier"),
            shipped_at=r.timestamp_or_none("shipped_at"),
            updated_at=r.timestamp("updated_at"),
            lines=tuple(lines),
        ),
        _SHIPMENT,
    )


def shipment_payload(shipment: Shipment) -> dict[str, Any]:
    """``POST orders/{id}/shipments`` body. ``reference`` (``system:id`` of the shipment
    where it was made) matches a shipment without a tracking code on a second call."""
    body: dict[str, Any] = {
        "status": "shipped" if shipment.status == "shipped" else "pending",
        "carrier": shipment.carrier,
        "tracking_code": shipment.tracking_code,
        "reference": f"{shipment.ref.system}:{shipment.ref.id}",
        "lines": [{"sku": x.sku, "qty": _text(x.quantity)} for x in shipment.lines],
    }
    if shipment.shipped_at is not None:
        body["shipped_at"] = shipment.shipped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body


# --- checkouts (target) --------------------------------------------------------------------


def checkout_payload(checkout: Checkout, *, channel: str) -> dict[str, Any]:
    """``PUT checkouts/{channel_checkout_id}`` body: the cart, its e-mail (for abandoned
    cart follow-up) and, once ordered, the order's id in the channel [U]."""

    def stamp(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "channel": channel,
        "email": checkout.email,
        "currency": checkout.currency,
        "lines": [
            {
                "sku": x.sku,
                "name": x.description or x.sku,
                "qty": _text(x.quantity),
                "price_incl": _text(x.unit_price_incl),
            }
            for x in checkout.lines
        ],
        "total": _text(checkout.total_incl),
        "created_at": stamp(checkout.created_at),
        "updated_at": stamp(checkout.updated_at),
        "channel_order_id": checkout.order_ref.id if checkout.order_ref else None,
    }
