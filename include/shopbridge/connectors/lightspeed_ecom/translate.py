"""Lightspeed eCom order JSON → canonical :class:`~shopbridge.models.Order`. Pure: no I/O.

Input is the order as ``GET orders/{id}.json`` returns it, with its lines embedded the way
webhook payloads embed relations::

    raw["products"] == {"resource": {"id": ..., "url": ..., "link": ..., "embedded": [...]}}

Every problem raises :class:`RecordError` whose ``field`` is the vendor path
(``addressBillingCountry.code``, ``lines[2].quantityOrdered``) so a person can find it in
the shop's back office. Money goes through ``Decimal(str(x))``: the API sends JSON numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from shopbridge.errors import RecordError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine

SYSTEM = "lightspeed_ecom"
DEFAULT_CURRENCY = "EUR"
_ISO2 = re.compile(r"^[A-Za-z]{2}$")

#: canonical field → vendor path, so pydantic errors name what the vendor calls it
_ADDRESS = {"street": "Street", "house_number": "Number", "house_number_ext": "Extension",
            "postcode": "Zipcode", "city": "City", "country": "Country.code"}
_CUSTOMER = {"email": "email", "first_name": "firstname", "last_name": "lastname",
             "company_name": "companyName", "vat_number": "companyVatNumber", "phone": "phone"}
_LINE = {"sku": "sku", "ean": "ean", "description": "productTitle",
         "quantity": "quantityOrdered", "unit_price_excl": "priceExcl",
         "unit_price_incl": "priceIncl", "tax_rate": "taxRate"}
_ORDER = {"ref": "id", "number": "number", "status": "status", "payment_status": "paymentStatus",
          "created_at": "createdAt", "updated_at": "updatedAt", "currency": "currency",
          "total_excl": "priceExcl", "total_incl": "priceIncl", "shipping_method": "shipmentTitle",
          "shipping_cost_excl": "shipmentPriceExcl",
          "shipping_cost_incl": "shipmentPriceIncl", "payment_method": "paymentTitle",
          "lines": "lines"}

T = TypeVar("T")


def order_id(raw: Mapping[str, Any]) -> str:
    """The order's id as text; readable even when everything else is malformed."""
    return str(raw.get("id", "?")) if isinstance(raw, Mapping) else "?"


class _Reader:
    """Typed field access on one raw record; every failure names the field's vendor path."""

    def __init__(self, raw: Mapping[str, Any], source_id: str, prefix: str = "",
                 entity: str = "order") -> None:
        self.raw = raw
        self.source_id = source_id
        self.prefix = prefix
        self.entity = entity

    def fail(self, field: str, reason: str) -> RecordError:
        return RecordError(entity=self.entity, source_id=self.source_id,
                           field=f"{self.prefix}{field}", reason=reason)

    def text(self, key: str, *, required: bool = False) -> str:
        """Strings; ``None``/``false`` (the vendor's "empty") read as ""; numbers as text."""
        value = self.raw.get(key)
        if value is None or value is False:
            value = ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {type(value).__name__}")
        if required and not value.strip():
            raise self.fail(key, "missing or empty")
        return value.strip()

    def decimal(self, key: str, *, default: Decimal | None = None) -> Decimal:
        value = self.raw.get(key)
        if value is None or value is False or value == "":
            if default is not None:
                return default
            raise self.fail(key, "missing")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(key, f"expected a number, got {type(value).__name__}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(key, f"not a number: {value!r}") from None
        if not number.is_finite():
            raise self.fail(key, f"not a finite number: {value!r}")
        return number

    def timestamp(self, key: str) -> datetime:
        value = self.text(key, required=True)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(key, f"not an ISO 8601 timestamp: {value!r}") from None
        if parsed.tzinfo is None:
            raise self.fail(key, f"timestamp has no UTC offset: {value!r}")
        return parsed

    def flag(self, key: str) -> bool:
        return self.raw.get(key) in (True, 1, "1", "true")

    def build(self, make: Callable[[], T], names: Mapping[str, str], whole: str) -> T:
        """Run a model constructor; turn its first validation error into a RecordError.

        ``whole`` names the field for model-level errors (no location).
        """
        try:
            return make()
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = first["loc"]
            field = whole
            if loc:
                field = names.get(str(loc[0]), str(loc[0]))
                rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
                field += rest
            raise self.fail(field, first["msg"]) from None


def _country(r: _Reader, key: str) -> str:
    value = r.raw.get(key)
    code = value.get("code") if isinstance(value, Mapping) else None
    if not isinstance(code, str) or not _ISO2.match(code.strip()):
        raise r.fail(f"{key}.code", f"expected a 2-letter ISO country code, got {code!r}")
    return code.strip().upper()


def _address(r: _Reader, prefix: str) -> Address:
    """``addressBilling*`` / ``addressShipping*`` → Address (country upper-cased ISO-2)."""
    names = {k: f"{prefix}{v}" for k, v in _ADDRESS.items()}
    street = r.text(f"{prefix}Street", required=True)
    city = r.text(f"{prefix}City", required=True)
    country = _country(r, f"{prefix}Country")
    return r.build(lambda: Address(
        street=street, house_number=r.text(f"{prefix}Number"),
        house_number_ext=r.text(f"{prefix}Extension"), postcode=r.text(f"{prefix}Zipcode"),
        city=city, country=country), names, prefix)


def _has_shipping(raw: Mapping[str, Any]) -> bool:
    return any(raw.get(f"addressShipping{k}") for k in ("Street", "City"))


def _customer(r: _Reader) -> Customer:
    """Company when ``isCompany`` and a company name is present, else a private person."""
    company = r.text("companyName")
    is_company = r.flag("isCompany") and bool(company)
    first, last = r.text("firstname"), r.text("lastname")
    return r.build(lambda: Customer(
        kind=CustomerKind.COMPANY if is_company else CustomerKind.PERSON,
        email=r.text("email", required=True), first_name=first, last_name=last,
        company_name=company if is_company else "",
        vat_number=r.text("companyVatNumber") if is_company else "",
        phone=r.text("phone"), billing_address=_address(r, "addressBilling"),
    ), _CUSTOMER, "companyName" if is_company else "firstname")


def _line(r: _Reader) -> OrderLine:
    """One ``orderProduct``.

    ASSUMPTION: ``priceExcl``/``priceIncl`` on an orderProduct are *unit* prices (the
    vendor docs do not say; the PHP client and integrations treat them so). ``taxRate`` is
    a fraction (0.21), ``sku`` falls back to ``articleCode``.
    """
    sku = r.text("sku") or r.text("articleCode")
    if not sku:
        raise r.fail("sku", "neither sku nor articleCode is set")
    title, variant = r.text("productTitle"), r.text("variantTitle")
    return r.build(lambda: OrderLine(
        sku=sku, ean=r.text("ean"),
        description=f"{title} - {variant}" if variant else title,
        quantity=r.decimal("quantityOrdered"), unit_price_excl=r.decimal("priceExcl"),
        unit_price_incl=r.decimal("priceIncl"), tax_rate=r.decimal("taxRate"),
        discount_excl=r.decimal("discountExcl", default=Decimal("0")),
        discount_incl=r.decimal("discountIncl", default=Decimal("0")),
    ), _LINE, "")


def _lines(r: _Reader) -> tuple[OrderLine, ...]:
    products = r.raw.get("products")
    resource = products.get("resource") if isinstance(products, Mapping) else None
    embedded = resource.get("embedded") if isinstance(resource, Mapping) else None
    if not isinstance(embedded, list) or not embedded:
        raise r.fail("lines", "order has no lines (products.resource.embedded is empty)")
    lines = []
    for i, item in enumerate(embedded):
        if not isinstance(item, Mapping):
            raise r.fail(f"lines[{i}]", f"expected an object, got {type(item).__name__}")
        lines.append(_line(_Reader(item, r.source_id, prefix=f"lines[{i}].")))
    return tuple(lines)


def _currency(r: _Reader) -> str:
    value = r.raw.get("currency")
    if isinstance(value, Mapping):  # tolerate an object form {"code": "EUR"}
        value = value.get("code") or value.get("shortcode")
    if value in (None, False, ""):
        return DEFAULT_CURRENCY
    if not isinstance(value, str):
        raise r.fail("currency", f"expected a currency code, got {value!r}")
    return value.strip().upper()


def _order_discount(r: _Reader, lines: tuple[OrderLine, ...]) -> tuple[Decimal, Decimal]:
    """The order-level discount (a coupon), read off the vendor's own totals.

    ASSUMPTION: Lightspeed's order-level discount fields (``discountAmount`` with a
    ``discountType``) are not documented precisely enough to say whether the amount is
    incl. or excl. tax, so the discount is derived instead: what the lines and shipping add
    up to minus the order's total, excl. and incl. tax. A negative difference (a total
    above its lines: a fee) is not a discount and is left at zero.
    """
    ship_excl = r.decimal("shipmentPriceExcl", default=Decimal("0"))
    ship_incl = r.decimal("shipmentPriceIncl", default=Decimal("0"))
    excl = sum((ln.net_excl for ln in lines), ship_excl) - r.decimal("priceExcl")
    incl = sum((ln.net_incl for ln in lines), ship_incl) - r.decimal("priceIncl")
    if excl <= 0 or incl <= 0:
        return Decimal("0"), Decimal("0")
    return excl, incl


def order_from_lightspeed(raw: Mapping[str, Any]) -> Order:
    """Translate one order with embedded lines; raise :class:`RecordError` naming the field.

    ASSUMPTION: when the order has no shipping street/city, it ships to the billing address.
    """
    source_id = order_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("order", source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id)
    if raw.get("id") in (None, False, ""):
        raise r.fail("id", "missing")
    customer = _customer(r)
    shipping = _address(r, "addressShipping") if _has_shipping(raw) else customer.billing_address
    lines = _lines(r)
    discount_excl, discount_incl = _order_discount(r, lines)
    return r.build(lambda: Order(
        ref=ExternalRef(system=SYSTEM, id=source_id),
        number=r.text("number", required=True), status=r.text("status", required=True),
        payment_status=r.text("paymentStatus"),
        created_at=r.timestamp("createdAt"), updated_at=r.timestamp("updatedAt"),
        currency=_currency(r), customer=customer, shipping_address=shipping,
        lines=lines, total_excl=r.decimal("priceExcl"), total_incl=r.decimal("priceIncl"),
        discount_excl=discount_excl, discount_incl=discount_incl,
        shipping_method=r.text("shipmentTitle"),
        shipping_cost_excl=r.decimal("shipmentPriceExcl", default=Decimal("0")),
        shipping_cost_incl=r.decimal("shipmentPriceIncl", default=Decimal("0")),
        payment_method=r.text("paymentTitle"),
    ), _ORDER, "")


def customer_from_lightspeed(raw: Mapping[str, Any]) -> Customer:
    """A ``customers`` resource record: the same fields (and rules) as an order's customer."""
    source_id = order_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("customer", source_id, "", "record is not a JSON object")
    return _customer(_Reader(raw, source_id, entity="customer"))
