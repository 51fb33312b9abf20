"""Lightspeed eCom JSON → canonical orders, customers, products and stock. Pure: no I/O.

Input is the order as ``GET orders/{id}.json`` returns it (or a webhook delivers it), with
its lines embedded the way webhook payloads embed relations::

    raw["products"] == {"resource": {"id": false, "url": ..., "link": ..., "embedded": [...]}}

Every problem raises :class:`RecordError` whose ``field`` is the vendor path
(``addressBillingCountry.code``, ``lines[2].quantityOrdered``) so a person can find it in
the shop's back office. Money goes through ``Decimal(str(x))``: the API sends JSON numbers
with up to four decimals (a variant's ``priceExcl`` of ``2.8843``).

Products arrive the same way: the product with its ``variants``, ``images``,
``categories`` (each with its ``parent`` chain), ``attributes`` and ``brand`` embedded by
the source (see :func:`product_from_lightspeed`); stock is one variant as listed.

Fields the project relies on, [V] verified by a payload in ``tests/contracts/
lightspeed_ecom`` (recorded from a live shop, or the vendor's documented example), [U]
unverified:

* order: ``id``, ``number``, ``createdAt``/``updatedAt`` (ISO 8601 with offset) [V];
  ``status``, ``paymentStatus``, ``shipmentStatus`` [V] (meanings below); ``priceExcl``/
  ``priceIncl`` = the order's total [V]; ``shipmentPriceExcl``/``shipmentPriceIncl`` =
  shipping charged (``shipmentBasePrice*`` before a shipping discount) [V];
  ``shipmentTitle``, ``paymentTitle`` [V]; ``isDiscounted``, ``discountAmount``,
  ``discountCouponCode`` [V]; ``email``, ``firstname``, ``lastname``, ``phone``,
  ``isCompany``, ``companyName``, ``companyVatNumber`` [V]; ``addressBilling*`` and
  ``addressShipping*`` with ``addressBillingCountry.code`` lower-case ISO-2 [V]; empty
  strings for an address the shopper never typed (a back-office or API order) [V];
  ``customer`` a reference whose ``resource.id`` is the customer's number [V]. No
  ``currency`` on the order [V]: the shop's (``GET /{lang}/shop.json``
  ``currency.shortcode`` [V]) is passed in by the source.
* order product (line): ``quantityOrdered`` [V]; ``basePriceExcl``/``basePriceIncl`` =
  the unit price before the line discount [V]; ``priceExcl``/``priceIncl`` = the LINE
  TOTAL, quantity x unit after the line discount [V] (documented order: 6 x
  ``basePriceIncl`` 7.35 = ``priceIncl`` 44.1); ``discountExcl``/``discountIncl`` = the
  line's discount in total [V] (documented line: base 42 - discount 22.05 = 19.95);
  ``taxRate`` a fraction [V]; ``sku``, ``articleCode``, ``ean`` each its own key, often
  ``"sku": ""`` with the code in ``articleCode`` [V]; ``productTitle``, ``variantTitle``
  free text (``"anacampseros"``, ``""``) [V].
* webhook/embedded reads: relations are ``{"resource": {id, url, link}}`` references,
  ``embedded`` filled by a webhook (a list for to-many) [V]; ``false`` for an empty
  field or relation (``referralId``, ``gender``, ``birthDate``, ``addressShippingCompany``,
  a customer's ``language``) [V]; ``customStatusId`` ``null`` or ``0`` [V/U: 0 seen only in
  the verified facts list]; ``shipmentId`` like ``"core|85518|424529"`` (not used) [V].
* a customer's ``discountExcl``-style fields and an order's payment fee
  (``paymentPriceExcl``/``Incl``) [V] are not booked: the canonical order has no fee, so
  an order with a fee fails the flow's totals check and is quarantined naming both
  amounts (never booked short).

Status fields (the vendor's meanings; the pair YAML filters on ``payment_statuses`` and
``statuses``):

* ``status`` is the order's lifecycle in the shop: ``on_hold``,
  ``processing_awaiting_payment``, ``processing_awaiting_shipment``,
  ``processing_awaiting_pickup``, ``processing_ready_for_pickup``, ``completed``,
  ``completed_shipped``, ``completed_picked_up``, ``cancelled``. It mixes payment and
  fulfilment, so it says nothing reliable about money: an order awaiting shipment may be
  unpaid (pay by invoice), a ``completed_shipped`` order may still be ``not_paid``.
* ``paymentStatus`` is the money: ``not_paid``, ``partially_paid``, ``paid``,
  ``cancelled``. It is what a bookkeeper filters on (``payment_statuses: [paid]``).
* ``shipmentStatus`` is the parcel: ``not_shipped``, ``partially_shipped``, ``shipped``,
  ``cancelled`` (the shipments flow reads the shipments themselves).

:class:`Order` keeps ``status`` and ``payment_status`` as the vendor spells them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

from shopbridge.connectors._kit.fields import FieldReader
from shopbridge.errors import RecordError
from shopbridge.models import (
    Address,
    Category,
    Checkout,
    CheckoutLine,
    Customer,
    CustomerKind,
    ExternalRef,
    Image,
    Order,
    OrderLine,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
    Variant,
)

SYSTEM = "lightspeed_ecom"
_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_ISO3 = re.compile(r"^[A-Za-z]{3}$")
#: money carries at most four decimals in the canonical model (the vendor sends four)
_MONEY = Decimal("0.0001")
#: a line total is rounded to cents by the vendor while ``basePrice*`` keep four decimals
#: (``basePriceIncl`` 9.198 on a line of ``priceIncl`` 9.2): differences up to this much
#: between ``basePrice x quantity - discount`` and ``price`` are rounding, not discount
LINE_ROUNDING = Decimal("0.01")

#: canonical field → vendor path, so pydantic errors name what the vendor calls it
_ADDRESS = {
    "street": "Street",
    "house_number": "Number",
    "house_number_ext": "Extension",
    "postcode": "Zipcode",
    "city": "City",
    "country": "Country.code",
}
_CUSTOMER = {
    "email": "email",
    "first_name": "firstname",
    "last_name": "lastname",
    "company_name": "companyName",
    "vat_number": "companyVatNumber",
    "phone": "phone",
    "customer_number": "customer",
}
_LINE = {
    "sku": "sku",
    "article_code": "articleCode",
    "ean": "ean",
    "description": "productTitle",
    "quantity": "quantityOrdered",
    "unit_price_excl": "basePriceExcl",
    "unit_price_incl": "basePriceIncl",
    "tax_rate": "taxRate",
    "discount_excl": "discountExcl",
    "discount_incl": "discountIncl",
}
_ORDER = {
    "ref": "id",
    "number": "number",
    "status": "status",
    "payment_status": "paymentStatus",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "currency": "currency",
    "total_excl": "priceExcl",
    "total_incl": "priceIncl",
    "shipping_method": "shipmentTitle",
    "shipping_cost_excl": "shipmentPriceExcl",
    "shipping_cost_incl": "shipmentPriceIncl",
    "payment_method": "paymentTitle",
    "fee_excl": "paymentPriceExcl",
    "fee_incl": "paymentPriceIncl",
    "discount_excl": "discountAmount",
    "discount_incl": "discountAmount",
    "lines": "lines",
}


def record_id(raw: Mapping[str, Any]) -> str:
    """A record's ``id`` as text (every Lightspeed record, a stock record being a variant,
    is known by its own); readable even when everything else is malformed."""
    return str(raw.get("id", "?")) if isinstance(raw, Mapping) else "?"


def _record(raw: Any, entity: str, *, with_id: bool = True) -> _Reader:
    """A reader of one whole record; a record that is not a JSON object, or (``with_id``)
    has no ``id`` of its own, is a :class:`RecordError`."""
    source_id = record_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError(entity, source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id, entity=entity)
    if with_id and raw.get("id") in (None, False, ""):
        raise r.fail("id", "missing")
    return r


class _Reader(FieldReader):
    """:class:`FieldReader` with Lightspeed's quirks switched on: ``false`` is its "not set"
    (``"brand": false``, ``"image": false``, ``"addressShippingCompany": false`` [V]) and
    a to-many relation may embed its rows keyed by id. Its own: prices kept to the
    vendor's four decimals, and references. Its timestamps carry an offset [V]: one
    without is refused."""

    FALSE_IS_EMPTY = True
    LONE_OBJECT = "keyed"

    def __init__(
        self, raw: Mapping[str, Any], source_id: str, prefix: str = "", entity: str = "order"
    ) -> None:
        super().__init__(raw, entity, source_id, prefix)

    def money(self, key: str, *, default: Decimal | None = None) -> Decimal:
        """A price, at most four decimals (the vendor's precision; more is rounded)."""
        value = self.decimal(key, default=default)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            return value.quantize(_MONEY, ROUND_HALF_UP)
        return value

    def ref(self, key: str) -> str:
        """The id of reference ``key`` (``{"resource": {"id": 7}}``); "" when it is
        ``false``, absent or a to-many reference (whose id is ``false``)."""
        value = self.raw.get(key)
        resource = value.get("resource") if isinstance(value, Mapping) else None
        rid = resource.get("id") if isinstance(resource, Mapping) else None
        if rid in (None, False, "") or isinstance(rid, bool) or not isinstance(rid, int | str):
            return ""
        return str(rid)


def _country(r: _Reader, key: str) -> str:
    """``{"code": "nl", ...}`` -> ``"NL"``; "" when the vendor has none (``false``, absent,
    an empty code): the flow fills the pair's ``default_country``, never the translator."""
    value = r.raw.get(key)
    if value is None or value is False or value == "":
        return ""
    if not isinstance(value, Mapping):
        raise r.fail(key, f"expected a country object, got {type(value).__name__}")
    code = value.get("code")
    if code is None or code is False or (isinstance(code, str) and not code.strip()):
        return ""
    if not isinstance(code, str) or not _ISO2.match(code.strip()):
        raise r.fail(f"{key}.code", f"expected a 2-letter ISO country code, got {code!r}")
    return code.strip().upper()


def _address(r: _Reader, prefix: str) -> Address:
    """``addressBilling*`` / ``addressShipping*`` → Address; every part may be empty (a
    back-office or API order often has no street, city or postcode) [V]."""
    names = {k: f"{prefix}{v}" for k, v in _ADDRESS.items()}
    return r.build(
        lambda: Address(
            street=r.text(f"{prefix}Street"),
            house_number=r.text(f"{prefix}Number"),
            house_number_ext=r.text(f"{prefix}Extension"),
            postcode=r.text(f"{prefix}Zipcode"),
            city=r.text(f"{prefix}City"),
            country=_country(r, f"{prefix}Country"),
        ),
        names,
        prefix,
    )


def _has_shipping(raw: Mapping[str, Any]) -> bool:
    return any(raw.get(f"addressShipping{k}") for k in ("Street", "City"))


def _customer(r: _Reader, number: str) -> Customer:
    """Company when ``isCompany`` and a company name is present, else a private person.

    ``number`` is the shop's customer id (the order's ``customer`` reference, a customer
    record's ``id``): the ledger matches a customer without e-mail by it. The e-mail may
    be empty [V: customers are created without one through the API and the back office].
    """
    company = r.text("companyName")
    is_company = r.flag("isCompany") and bool(company)
    first, last = r.text("firstname"), r.text("lastname")
    return r.build(
        lambda: Customer(
            kind=CustomerKind.COMPANY if is_company else CustomerKind.PERSON,
            email=r.text("email"),
            customer_number=number,
            first_name=first,
            last_name=last,
            company_name=company if is_company else "",
            vat_number=r.text("companyVatNumber") if is_company else "",
            phone=r.text("phone"),
            billing_address=_address(r, "addressBilling"),
        ),
        _CUSTOMER,
        "companyName" if is_company else "firstname",
    )


def _line(r: _Reader) -> OrderLine:
    """One ``orderProduct``: unit prices from ``basePrice*``, the line discount from
    ``discount*``, checked against the line total ``price*``.

    The vendor's ``priceExcl``/``priceIncl`` are the LINE TOTAL (quantity x unit after the
    line discount) and ``basePriceExcl``/``basePriceIncl`` the unit price before it [V]
    (an earlier ASSUMPTION read ``price*`` as the unit price and booked Lightspeed's
    documented 6 x 7.00 excl. as 6 x 42.00 with a phantom discount of 210.00). The line
    total is what the shopper pays, so it decides: the discount is ``discount*`` when ``base x
    quantity - discount`` makes the total (within :data:`LINE_ROUNDING`), else ``base x
    quantity - total``. A total above ``base x quantity`` (a surcharge the canonical line
    cannot hold) is refused, naming ``priceExcl``/``priceIncl``. Without ``basePrice*``
    (an older or trimmed payload) the unit price is ``(total + discount) / quantity``.

    ``sku``, ``articleCode`` and ``ean`` stay in their own fields (the pair's
    ``item_key`` rule picks one later); a line with none of them is refused naming
    ``sku``. ``taxRate`` is a fraction (0.21); the description is ``productTitle`` and the
    free-text ``variantTitle`` (``"60 capsules"``) when there is one.
    """
    keys = r.item_keys("sku", "articleCode", "ean")
    quantity = r.decimal("quantityOrdered")
    if quantity <= 0:
        raise r.fail("quantityOrdered", f"expected a positive quantity, got {quantity}")
    prices: dict[str, Decimal] = {}
    for tax in ("Excl", "Incl"):
        total = r.money(f"price{tax}")
        given = r.money(f"discount{tax}", default=Decimal("0"))
        if given < 0:
            raise r.fail(f"discount{tax}", f"negative discount {given}")
        if r.has(f"basePrice{tax}"):
            unit = r.money(f"basePrice{tax}")
        else:
            unit = ((total + given) / quantity).quantize(_MONEY, ROUND_HALF_UP)
        derived = unit * quantity - total
        if derived < -LINE_ROUNDING:
            raise r.fail(
                f"price{tax}",
                f"line total {total} is above basePrice{tax} {unit} x "
                f"quantity {quantity} (a surcharge on the line)",
            )
        # the vendor's discount when it makes the line total, else what the total says
        discount = given if abs(derived - given) <= LINE_ROUNDING else max(derived, Decimal(0))
        prices[f"unit_price_{tax.lower()}"] = unit
        prices[f"discount_{tax.lower()}"] = discount
    title, variant = r.text("productTitle"), r.text("variantTitle")
    return r.build(
        lambda: OrderLine(
            **keys,
            description=f"{title} - {variant}" if variant and variant != title else title,
            quantity=quantity,
            tax_rate=r.decimal("taxRate"),
            **prices,
        ),
        _LINE,
        "sku",
    )


def _lines(r: _Reader) -> tuple[OrderLine, ...]:
    products = r.raw.get("products")
    resource = products.get("resource") if isinstance(products, Mapping) else None
    embedded = resource.get("embedded") if isinstance(resource, Mapping) else None
    rows = r.objects("lines", embedded)
    if not rows:
        raise r.fail("lines", "order has no lines (products.resource.embedded is empty)")
    return tuple(
        _line(_Reader(item, r.source_id, prefix=f"lines[{i}].")) for i, item in enumerate(rows)
    )


def _currency(r: _Reader, shop_currency: str | None) -> str:
    """The record's own ``currency`` when it has one (checkouts; tolerated on orders as a
    code or ``{"shortcode": "EUR"}``), else the shop's (``shop.json``
    ``currency.shortcode``, passed in by the source). Neither: a :class:`RecordError` naming
    ``currency``: never a silent EUR."""
    value = r.raw.get("currency")
    if isinstance(value, Mapping):
        value = value.get("shortcode") or value.get("code")
    if value in (None, False, ""):
        if shop_currency:
            value = shop_currency
        else:
            raise r.fail(
                "currency",
                "the record has no currency and the shop's currency "
                "(shop.json currency.shortcode) is not known",
            )
    if not isinstance(value, str) or not _ISO3.match(value.strip()):
        raise r.fail("currency", f"expected a currency code, got {value!r}")
    return value.strip().upper()


def _is_discounted(r: _Reader) -> bool:
    """Whether the vendor says the order carries an order-level discount."""
    return (
        r.flag("isDiscounted")
        or bool(r.text("discountCouponCode"))
        or r.decimal("discountAmount", default=Decimal("0")) > 0
    )


def _order_discount(
    r: _Reader, lines: tuple[OrderLine, ...], ship_excl: Decimal, ship_incl: Decimal
) -> tuple[Decimal, Decimal]:
    """The order-level discount (a coupon) not booked on the lines.

    Only when the vendor says the order is discounted (``isDiscounted``, a coupon code or
    a ``discountAmount``) [V keys]. ASSUMPTION [U]: whether ``discountAmount`` is incl. or
    excl. tax is not documented, so the amount is derived from the vendor's own totals:
    the lines' net + shipping - the order's total, excl. and incl. tax. An order the vendor
    does not call discounted gets none: a mismatch then reaches the flow's totals check
    (quarantined naming both amounts) instead of being hidden as a discount.
    """
    if not _is_discounted(r):
        return Decimal("0"), Decimal("0")
    excl = sum((ln.net_excl for ln in lines), ship_excl) - r.money("priceExcl")
    incl = sum((ln.net_incl for ln in lines), ship_incl) - r.money("priceIncl")
    if excl <= 0 or incl <= 0:
        return Decimal("0"), Decimal("0")
    return excl, incl


def order_from_lightspeed(raw: Mapping[str, Any], *, currency: str | None = None) -> Order:
    """Translate one order with embedded lines; raise :class:`RecordError` naming the field.

    ``currency`` is the shop's (``shop.json``): Lightspeed orders carry none [V].
    ASSUMPTION: when the order has no shipping street/city, it ships to the billing address.
    """
    r = _record(raw, "order")
    source_id = r.source_id
    customer = _customer(r, r.ref("customer"))
    shipping = _address(r, "addressShipping") if _has_shipping(raw) else customer.billing_address
    lines = _lines(r)
    ship_excl = r.money("shipmentPriceExcl", default=Decimal("0"))
    ship_incl = r.money("shipmentPriceIncl", default=Decimal("0"))
    # the payment method's costs, on no line [V keys: paymentPriceExcl/Incl, 0 recorded]
    fee_excl = r.money("paymentPriceExcl", default=Decimal("0"))
    fee_incl = r.money("paymentPriceIncl", default=Decimal("0"))
    discount_excl, discount_incl = _order_discount(
        r, lines, ship_excl + fee_excl, ship_incl + fee_incl
    )
    shop_currency = _currency(r, currency)
    return r.build(
        lambda: Order(
            ref=ExternalRef(system=SYSTEM, id=source_id),
            number=r.text("number", required=True),
            status=r.text("status", required=True),
            payment_status=r.text("paymentStatus"),
            created_at=r.timestamp("createdAt"),
            updated_at=r.timestamp("updatedAt"),
            currency=shop_currency,
            customer=customer,
            shipping_address=shipping,
            lines=lines,
            total_excl=r.money("priceExcl"),
            total_incl=r.money("priceIncl"),
            discount_excl=discount_excl,
            discount_incl=discount_incl,
            shipping_method=r.text("shipmentTitle"),
            shipping_cost_excl=ship_excl,
            shipping_cost_incl=ship_incl,
            fee_excl=fee_excl,
            fee_incl=fee_incl,
            payment_method=r.text("paymentTitle"),
        ),
        _ORDER,
        "",
    )


def customer_from_lightspeed(raw: Mapping[str, Any]) -> Customer:
    """A ``customers`` resource record: the same fields (and rules) as an order's customer;
    its ``id`` is the customer number."""
    r = _record(raw, "customer", with_id=False)
    return _customer(r, "" if raw.get("id") in (None, False, "") else r.source_id)


# --- products and stock ----------------------------------------------------------------

#: ASSUMPTION: the SKU of a configurable product's parent. Lightspeed products have no SKU
#: of their own (only their variants do), so the parent is keyed on the product id.
PARENT_SKU = "P-{id}"
#: ASSUMPTION [U]: the title of a simple product's only variant
SIMPLE_VARIANT_TITLE = "Default"
#: the option name of a product whose variants have free-text titles (``"60 capsules"``
#: [V]) instead of ``Name: value`` pairs: map it under the pair's ``products.attributes``
VARIANT_OPTION = "Variant"
#: ASSUMPTION [U]: a matrix variant's options are in its title, ``"Colour: black, Size: M"``
_OPTION = re.compile(r"^\s*([^:]+?)\s*:\s*(.+?)\s*$")
_VARIANT = {
    "sku": "sku",
    "article_code": "articleCode",
    "ean": "ean",
    "title": "title",
    "price_excl": "priceExcl",
    "price_incl": "priceIncl",
    "attributes": "title",
    "quantity": "stockLevel",
}
_PRODUCT = {
    "ref": "id",
    "sku": "variants",
    "article_code": "variants",
    "ean": "variants",
    "title": "title",
    "description": "content",
    "short_description": "description",
    "brand": "brand",
    "visible": "isVisible",
    "tax_rate": "variants",
    "categories": "categories",
    "images": "images",
    "features": "attributes",
    "variants": "variants",
    "updated_at": "updatedAt",
}
_STOCK = {
    "sku": "sku",
    "article_code": "articleCode",
    "ean": "ean",
    "on_hand": "stockLevel",
    "managed": "stockTracking",
}


def _embedded(r: _Reader, key: str) -> list[Mapping[str, Any]]:
    """The embedded rows of to-many relation ``key``; ``false`` (empty) reads as none."""
    value = r.raw.get(key)
    if value is None or value is False:
        return []
    resource = value.get("resource") if isinstance(value, Mapping) else None
    if not isinstance(resource, Mapping) or "embedded" not in resource:
        raise r.fail(key, "relation is not embedded (the source embeds it before translation)")
    return r.objects(key, resource["embedded"])


def _embedded_one(r: _Reader, key: str) -> Mapping[str, Any] | None:
    """The embedded object of to-one relation ``key``; ``false`` reads as none."""
    value = r.raw.get(key)
    if value is None or value is False:
        return None
    resource = value.get("resource") if isinstance(value, Mapping) else None
    embedded = resource.get("embedded") if isinstance(resource, Mapping) else None
    if not isinstance(embedded, Mapping):
        raise r.fail(key, "reference is not embedded (the source embeds it before translation)")
    return embedded


def _position(row: Mapping[str, Any]) -> tuple[float, float]:
    """Sort key: ``sortOrder``, then ``id``; anything unreadable goes last."""

    def num(value: Any) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else float("inf")

    return num(row.get("sortOrder")), num(row.get("id"))


def _sorted(rows: list[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """Rows in display order, each with its index in the vendor's list (for field paths)."""
    return sorted(enumerate(rows), key=lambda item: _position(item[1]))


def options_from_title(title: str) -> dict[str, str] | None:
    """``"Colour: black, Size: M"`` -> ``{"Colour": "black", "Size": "M"}``; ``{}`` for a
    simple product's ``"Default"`` or an empty title; ``None`` when the title is not a list
    of ``Name: value`` pairs (or names one option twice).

    ASSUMPTION [U]: options are comma-separated, so an option value cannot hold a comma.
    """
    if title.strip() in ("", SIMPLE_VARIANT_TITLE):
        return {}
    options: dict[str, str] = {}
    for part in title.split(","):
        match = _OPTION.match(part)
        if match is None or match.group(1) in options:
            return None
        options[match.group(1)] = match.group(2)
    return options


def _variant_options(
    r: _Reader, ordered: list[tuple[int, Mapping[str, Any]]]
) -> list[dict[str, str]]:
    """Each variant's attributes. A lone variant is a simple product unless its title
    names options; with several, every title must name the same options, with a
    different combination of values each (or the target cannot tell them apart)."""
    titles = [
        (i, _Reader(row, r.source_id, prefix=f"variants[{i}].", entity="product").text("title"))
        for i, row in ordered
    ]
    if len(titles) == 1:
        return [options_from_title(titles[0][1]) or {}]
    if all(options_from_title(title) is None for _, title in titles):
        # free-text titles ("60 capsules", "120 capsules") [V]: one option, named
        # VARIANT_OPTION, whose values must tell the variants apart
        seen_text: dict[str, int] = {}
        for i, title in titles:
            if title in seen_text:
                raise r.fail(
                    f"variants[{i}].title", f"same title {title!r} as variants[{seen_text[title]}]"
                )
            seen_text[title] = i
        return [{VARIANT_OPTION: title} for _, title in titles]
    out: list[dict[str, str]] = []
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    first_names: tuple[int, set[str]] | None = None
    for i, title in titles:
        options = options_from_title(title)
        if not options:
            raise r.fail(
                f"variants[{i}].title",
                f"cannot read the options from {title!r} (expected 'Name: value, ...')",
            )
        if first_names is None:
            first_names = (i, set(options))
        elif set(options) != first_names[1]:
            raise r.fail(
                f"variants[{i}].title",
                f"options {sorted(options)} differ from variants[{first_names[0]}]'s "
                f"{sorted(first_names[1])}",
            )
        key = tuple(sorted(options.items()))
        if key in seen:
            raise r.fail(f"variants[{i}].title", f"same options as variants[{seen[key]}]")
        seen[key] = i
        out.append(options)
    return out


def _quantity(r: _Reader) -> Decimal | None:
    """Stock on hand for a new item: ``stockLevel`` when stock is tracked.

    ``None`` (unknown) when it is not tracked, absent, or negative: a negative level is the
    stock flow's to report (:func:`stock_from_lightspeed`), not a reason to hold back the
    product itself.
    """
    level_raw = r.raw.get("stockLevel")
    if r.raw.get("stockTracking") != "enabled" or level_raw is None or level_raw is False:
        return None
    level = r.decimal("stockLevel")
    return level if level >= 0 else None


def _variant(r: _Reader, attributes: dict[str, str]) -> Variant:
    """One variant: its ``sku``, ``articleCode`` and ``ean`` each in its own field (a live
    variant has ``"sku": ""`` and ``"articleCode": "LABL26"`` [V]); none of them is refused
    naming ``sku``. Prices keep the vendor's four decimals (``priceExcl`` 2.8843 [V])."""
    keys = r.item_keys("sku", "articleCode", "ean")
    title = r.text("title")
    return r.build(
        lambda: Variant(
            **keys,
            title="" if title == SIMPLE_VARIANT_TITLE else title,
            price_excl=r.money("priceExcl"),
            price_incl=r.money("priceIncl"),
            attributes=attributes,
            quantity=_quantity(r),
        ),
        _VARIANT,
        "sku",
    )


def _tax_rate(r: _Reader, ordered: list[tuple[int, Mapping[str, Any]]]) -> Decimal | None:
    """The product's VAT rate: the first variant's embedded ``tax`` (a fraction, 0.21).

    ASSUMPTION: without an embedded tax it is read off the first priced variant's
    ``priceIncl / priceExcl - 1``, to whole percents (the prices are rounded to cents, so
    finer digits are noise); ``None`` (the model's default) when no variant has a price.
    """
    for i, row in ordered:
        tax = row.get("tax")
        resource = tax.get("resource") if isinstance(tax, Mapping) else None
        embedded = resource.get("embedded") if isinstance(resource, Mapping) else None
        if isinstance(embedded, Mapping) and "rate" in embedded:
            field = f"variants[{i}].tax."
            rate = _Reader(embedded, r.source_id, prefix=field, entity="product").decimal("rate")
            if not 0 <= rate <= 1:
                raise r.fail(f"{field}rate", f"expected a fraction between 0 and 1, got {rate}")
            return rate
    for i, row in ordered:
        vr = _Reader(row, r.source_id, prefix=f"variants[{i}].", entity="product")
        excl = vr.decimal("priceExcl")
        if excl > 0:
            rate = (vr.decimal("priceIncl") / excl - 1).quantize(Decimal("0.01"))
            return rate if 0 <= rate <= 1 else None
    return None


def _images(r: _Reader) -> tuple[Image, ...]:
    """Images in ``sortOrder``; ``position`` counts from 0 in that order."""
    out = []
    for position, (i, row) in enumerate(_sorted(_embedded(r, "images"))):
        ir = _Reader(row, r.source_id, prefix=f"images[{i}].", entity="product")
        src = ir.text("src", required=True)
        parts = urlsplit(src)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ir.fail("src", f"not an absolute http(s) URL: {src[:200]!r}")
        filename = unquote(parts.path.rpartition("/")[2])
        out.append(Image(url=src, position=position, filename=filename))
    return tuple(out)


def _category_path(r: _Reader, node: Mapping[str, Any], field: str) -> tuple[str, ...]:
    """Root-first titles, walking the embedded ``parent`` chain up from a linked category."""
    titles: list[str] = []
    seen: set[str] = set()
    while True:
        titles.append(
            _Reader(node, r.source_id, prefix=f"{field}.", entity="product").text(
                "title", required=True
            )
        )
        node_id = str(node.get("id"))
        if node_id in seen:
            raise r.fail(field, f"category {node_id} is its own ancestor")
        seen.add(node_id)
        parent = node.get("parent")
        if parent is None or parent is False:
            return tuple(reversed(titles))
        resource = parent.get("resource") if isinstance(parent, Mapping) else None
        embedded = resource.get("embedded") if isinstance(resource, Mapping) else None
        field = f"{field}.parent"
        if not isinstance(embedded, Mapping):
            raise r.fail(field, "parent category is not embedded")
        node = embedded


def _categories(r: _Reader) -> tuple[Category, ...]:
    """One path per linked category (a product in a subcategory: root -> leaf)."""
    paths: list[tuple[str, ...]] = []
    for i, row in enumerate(_embedded(r, "categories")):
        path = _category_path(r, row, f"categories[{i}]")
        if path not in paths:
            paths.append(path)
    return tuple(Category(path=p) for p in paths)


def _features(r: _Reader) -> dict[str, str]:
    """``productAttributes`` -> ``{title: value}``; empty values are no information.

    ASSUMPTION [U]: each row's ``attribute`` reference embeds its ``title``. Two rows with
    the same title (two attribute sets both defining "Material") are joined with ", ".
    """
    out: dict[str, str] = {}
    for i, row in enumerate(_embedded(r, "attributes")):
        ar = _Reader(row, r.source_id, prefix=f"attributes[{i}].", entity="product")
        attribute = _embedded_one(ar, "attribute")
        title = (
            ""
            if attribute is None
            else _Reader(
                attribute, r.source_id, prefix=f"attributes[{i}].attribute.", entity="product"
            ).text("title")
        )
        if not title:
            raise ar.fail("attribute", "attribute has no title")
        value = ar.text("value")
        if not value:
            continue
        out[title] = f"{out[title]}, {value}" if title in out else value
    return out


def product_from_lightspeed(raw: Mapping[str, Any], *, currency: str | None = None) -> Product:
    """Translate one product with its relations embedded; raise :class:`RecordError`
    (entity ``product``) naming the vendor field, e.g. ``variants[1].sku``.

    A product with one variant whose title names no options is simple: its SKU and EAN are
    the variant's. Otherwise it is configurable and its own SKU is ``P-{id}`` (ASSUMPTION,
    see :data:`PARENT_SKU`). ``content`` is the long (HTML) description, ``description``
    the short one. Visible means ``isVisible`` (``visibility != "hidden"`` when absent).
    Products carry no currency [V]: prices are in the shop's, ``currency`` (``shop.json``,
    passed in by the source; without it the model's default).
    """
    r = _record(raw, "product")
    source_id = r.source_id
    title = r.text("title") or r.text("fulltitle")
    if not title:
        raise r.fail("title", "missing or empty")
    ordered = _sorted(_embedded(r, "variants"))
    if not ordered:
        raise r.fail("variants", "product has no variants")
    options = _variant_options(r, ordered)
    variants = tuple(
        _variant(_Reader(row, source_id, prefix=f"variants[{i}].", entity="product"), attrs)
        for (i, row), attrs in zip(ordered, options, strict=True)
    )
    configurable = len(variants) > 1 or any(v.attributes for v in variants)
    brand = _embedded_one(r, "brand")
    brand_title = (
        ""
        if brand is None
        else _Reader(brand, source_id, prefix="brand.", entity="product").text(
            "title", required=True
        )
    )
    visible = r.flag("isVisible") if "isVisible" in raw else r.text("visibility") != "hidden"
    tax_rate = _tax_rate(r, ordered)
    extra: dict[str, Any] = {} if tax_rate is None else {"tax_rate": tax_rate}
    if currency:
        extra["currency"] = currency.strip().upper()
    return r.build(
        lambda: Product(
            ref=ExternalRef(system=SYSTEM, id=source_id),
            sku=PARENT_SKU.format(id=source_id) if configurable else variants[0].sku,
            article_code="" if configurable else variants[0].article_code,
            ean="" if configurable else variants[0].ean,
            title=title,
            description=r.text("content"),
            short_description=r.text("description"),
            brand=brand_title,
            visible=visible,
            categories=_categories(r),
            images=_images(r),
            features=_features(r),
            variants=variants,
            updated_at=r.timestamp("updatedAt"),
            **extra,
        ),
        _PRODUCT,
        "",
    )


def stock_from_lightspeed(raw: Mapping[str, Any]) -> StockLevel:
    """One variant -> its stock; raise :class:`RecordError` (entity ``stock``).

    ``managed`` is ``stockTracking == "enabled"`` (``"disabled"`` and ``"indicator"`` [V, the
    documented variant] are not tracked counts); an untracked variant without a level
    reads as 0. A negative level is refused (``stockLevel``): the target would either
    reject it or sell stock that is not there. The item keys stay apart (``sku``,
    ``articleCode``, ``ean``); a variant with none of them is refused naming ``sku``.

    ASSUMPTION: ``reserved`` is 0. Lightspeed lowers ``stockLevel`` when an order is placed,
    so the level is already net of open sales reservations; subtracting them again would
    count them twice. Lightspeed eCom keeps one stock level per variant: no ``locations``.
    """
    r = _record(raw, "stock", with_id=False)
    keys = r.item_keys("sku", "articleCode", "ean")
    managed = raw.get("stockTracking") == "enabled"
    level = r.decimal("stockLevel", default=None if managed else Decimal("0"))
    if level < 0:
        raise r.fail("stockLevel", f"negative stock level {level}")
    return r.build(
        lambda: StockLevel(
            **keys,
            on_hand=level,
            reserved=Decimal("0"),
            locations={},
            managed=managed,
        ),
        _STOCK,
        "stockLevel",
    )


# --- shipments and checkouts -------------------------------------------------------------

#: the vendor's shipment status that counts as shipped; every other value (``not_shipped``,
#: ``partially_shipped``, ``cancelled``) reads as ``not_shipped`` (see :class:`Shipment`)
SHIPPED = "shipped"
_SHIPMENT = {
    "ref": "id",
    "order_ref": "order",
    "status": "status",
    "tracking_code": "trackingCode",
    "updated_at": "updatedAt",
    "lines": "products",
}
_SHIPMENT_LINE = {"sku": "sku", "quantity": "quantity"}
_CHECKOUT = {
    "ref": "id",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "currency": "currency",
    "email": "customer.email",
    "lines": "products",
    "total_incl": "priceIncl",
    "order_ref": "orderId",
}
_CHECKOUT_LINE = {
    "sku": "sku",
    "description": "productTitle",
    "quantity": "quantity",
    "unit_price_incl": "priceIncl",
}


def _rows(r: _Reader, key: str) -> list[Mapping[str, Any]] | None:
    """A to-many relation's rows: a plain list (checkouts carry their products so), an
    embedded reference (webhook payloads), ``None`` for a bare, unembedded reference and
    ``[]`` for ``false``/absent."""
    value = r.raw.get(key)
    if value is None or value is False:
        return []
    if isinstance(value, Mapping):
        resource = value.get("resource")
        if not isinstance(resource, Mapping):
            raise r.fail(key, "expected a list or a resource reference")
        if "embedded" not in resource:
            return None
        value = resource["embedded"]  # a list, or an object keyed by id (LONE_OBJECT)
    return r.objects(key, value)


def _sku(r: _Reader) -> str:
    sku = r.text("sku") or r.text("articleCode")
    if not sku:
        raise r.fail("sku", "neither sku nor articleCode is set")
    return sku


def shipment_from_lightspeed(raw: Mapping[str, Any]) -> Shipment:
    """One ``shipments`` record -> :class:`Shipment`; raise :class:`RecordError` (entity
    ``shipment``) naming the vendor field.

    ``order_ref`` is the shipment's ``order`` reference (the Lightspeed order id); status
    is ``shipped`` when the vendor's ``status`` is ``shipped``, else ``not_shipped``.
    Lines come from ``products`` when it is embedded (webhook payloads); the API's list
    only references them, and then the shipment has none (the parcel's status and
    tracking code are what a shipment sync needs). A line with quantity 0 is skipped.

    Lightspeed shipments have no carrier and no shipped-at field [S]: ``carrier`` is ""
    and ``shipped_at`` ``None`` (the order's ``shipmentTitle`` names the method, if a
    mapping needs it).
    """
    r = _record(raw, "shipment")
    source_id = r.source_id
    order = raw.get("order")
    resource = order.get("resource") if isinstance(order, Mapping) else None
    oid = resource.get("id") if isinstance(resource, Mapping) else None
    if oid in (None, False, "") or isinstance(oid, bool | dict | list):
        raise r.fail("order", "the shipment has no order reference")
    status = r.text("status", required=True)
    lines: list[ShipmentLine] = []
    for i, row in enumerate(_rows(r, "products") or []):
        lr = _Reader(row, source_id, prefix=f"products[{i}].", entity="shipment")
        sku = _sku(lr)
        quantity = lr.decimal("quantity")
        if quantity < 0:
            raise lr.fail("quantity", f"negative quantity {quantity}")
        if quantity == 0:
            continue
        lines.append(
            lr.build(partial(ShipmentLine, sku=sku, quantity=quantity), _SHIPMENT_LINE, "quantity")
        )
    return r.build(
        lambda: Shipment(
            ref=ExternalRef(system=SYSTEM, id=source_id),
            order_ref=ExternalRef(system=SYSTEM, id=str(oid)),
            status="shipped" if status == SHIPPED else "not_shipped",
            tracking_code=r.text("trackingCode"),
            updated_at=r.timestamp("updatedAt"),
            lines=tuple(lines),
        ),
        _SHIPMENT,
        "",
    )


def _checkout_line(r: _Reader) -> CheckoutLine:
    """One cart line. ASSUMPTION [U]: the title is ``productTitle``/``variantTitle`` (as on
    order lines) or ``title``/``variant`` (the sandbox's cart lines); ``priceIncl`` is the
    unit price."""
    sku = _sku(r)
    title = r.text("productTitle") or r.text("title")
    variant = r.text("variantTitle") or (
        r.text("variant") if isinstance(r.raw.get("variant"), str) else ""
    )
    return r.build(
        lambda: CheckoutLine(
            sku=sku,
            description=f"{title} - {variant}" if variant else title,
            quantity=r.decimal("quantity"),
            unit_price_incl=r.decimal("priceIncl"),
        ),
        _CHECKOUT_LINE,
        "",
    )


def checkout_from_lightspeed(raw: Mapping[str, Any], *, currency: str | None = None) -> Checkout:
    """One checkout (bare, as the API returns it) -> :class:`Checkout`; raise
    :class:`RecordError` (entity ``checkout``) naming the vendor field.

    ``email`` is the checkout customer's when given (a cart abandoned before the shopper
    typed one has none). Lines are ``products``: a list, or an embedded reference.
    ``total_incl`` is the checkout's ``priceIncl`` when present, else the lines' sum
    (ASSUMPTION [U]: a checkout's own totals are not documented). ``order_ref`` is set
    once the checkout became an order (``orderId``, or an ``order`` reference).
    """
    r = _record(raw, "checkout")
    source_id = r.source_id
    customer = raw.get("customer")
    email = ""
    if isinstance(customer, Mapping):
        email = _Reader(customer, source_id, prefix="customer.", entity="checkout").text("email")
    elif customer not in (None, False):
        raise r.fail("customer", f"expected an object, got {type(customer).__name__}")
    rows = _rows(r, "products")
    if rows is None:
        raise r.fail("products", "relation is not embedded (the source embeds it)")
    lines = tuple(
        _checkout_line(_Reader(row, source_id, prefix=f"products[{i}].", entity="checkout"))
        for i, row in enumerate(rows)
    )
    total = r.decimal(
        "priceIncl", default=sum((ln.quantity * ln.unit_price_incl for ln in lines), Decimal("0"))
    )
    order_ref: ExternalRef | None = None
    ordered = raw.get("orderId")
    if ordered in (None, False, "", 0):
        order = raw.get("order")
        resource = order.get("resource") if isinstance(order, Mapping) else None
        ordered = resource.get("id") if isinstance(resource, Mapping) else None
    if ordered not in (None, False, "", 0):
        if isinstance(ordered, bool) or not isinstance(ordered, int | str):
            raise r.fail("orderId", f"expected an order id, got {ordered!r}")
        order_ref = ExternalRef(system=SYSTEM, id=str(ordered))
    return r.build(
        lambda: Checkout(
            ref=ExternalRef(system=SYSTEM, id=source_id),
            created_at=r.timestamp("createdAt"),
            updated_at=r.timestamp("updatedAt"),
            currency=_currency(r, currency),
            email=email,
            lines=lines,
            total_incl=total,
            order_ref=order_ref,
        ),
        _CHECKOUT,
        "",
    )
