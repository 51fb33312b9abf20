"""Exact Globe sales order record -> canonical :class:`~shopbridge.models.Order`. Pure: no
I/O, no clock.

The record is what :class:`~shopbridge.connectors.exact_globe.source.ExactGlobeSource`
yields, self-contained and JSON-able::

    {"header": {SalesOrderHeader...},
     "lines": [{SalesOrderLine...}, ...],
     "account": {Account..., "contacts": [{Contact...}]} | None,
     "timezone": "Europe/Amsterdam"}

Every problem raises :class:`RecordError` whose ``field`` is the Globe field
(``header.OrderDate``, ``lines[2].Quantity``, ``account.Email``) so a person can find it
in Globe.

Decisions, and why:

* Timestamps: Globe's are naive and in the server's time zone [U] (its SQL Server stores
  local time), so the record carries the connection's ``timezone`` and a naive value is
  read as wall-clock time there (the first of two in the autumn DST hour). OData v2's
  ``/Date(ms)/`` form is read as the same wall-clock ticks; ``/Date(ms+0100)/`` and ISO
  values with an offset are instants.
* ``created_at`` is ``Created`` (when the order was entered), else ``OrderDate`` at
  midnight; ``updated_at`` is ``Modified``, else ``created_at``.
* Prices: ``Price`` and ``DiscountAmount`` (the line's total discount) are excl. VAT,
  unless the header's ``VATIncluded`` [U] says incl.; the other basis is derived at 4
  decimals. Totals are computed as an invoice does, to the cent: line nets in the
  order's basis rounded per line, VAT per rate over their sum, rounded once.
* Customer: a company (``IsPerson`` false) is the Account's ``Name`` with its default
  contact's names; a person is the contact's names, else the Account's ``Name`` split at
  the first blank. The e-mail is the contact's, else the Account's; neither is a
  RecordError on ``account.Email``.
* Addresses: Globe has one address line; ``"Kerkstraat 12A"`` splits into street, number
  and extension (a leading number, as in ``"12 High Street"``, too); a line without a
  number stays the street. Shipping is the header's ``Delivery*`` fields when
  ``DeliveryAddressLine1`` is set, else the billing address.
* ``status`` is the header's ``Status`` [U] when Globe sends one, else ``"open"``.
  ``payment_method`` is ``PaymentCondition`` and ``shipping_method`` ``DeliveryMethod``,
  both Globe codes (a mapping table turns them into the webshop's names).
* Globe books shipping costs as an item line (e.g. ``VERZENDKOSTEN``), so it stays a line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from shopbridge.connectors._fields import FieldReader, time_zone
from shopbridge.errors import RecordError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine

SYSTEM = "exact_globe"
DEFAULT_TIMEZONE = "Europe/Amsterdam"
DEFAULT_STATUS = "open"
DEFAULT_CURRENCY = "EUR"
CENT = Decimal("0.01")
_Q4 = Decimal("0.0001")
_ODATA_DATE = re.compile(r"^/?Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/?$")
_NUMBER_LAST = re.compile(r"^(?P<street>.*?\D)\s*(?P<number>\d+)\s*(?P<ext>[^\s\d]\S{0,7}"
                          r"|[-/]\d+\S{0,4})?$")
_NUMBER_FIRST = re.compile(r"^(?P<number>\d+)\s*(?P<ext>[A-Za-z]{0,3})[,\s]+(?P<street>\D.*)$")

T = TypeVar("T")


def order_id(record: Mapping[str, Any]) -> str:
    """The header's ``OrderNumber`` as text (stripped); ``"?"`` when unreadable."""
    header = record.get("header") if isinstance(record, Mapping) else None
    number = header.get("OrderNumber") if isinstance(header, Mapping) else None
    text = "" if number is None or isinstance(number, bool | Mapping | list) else str(number)
    return text.strip() or "?"


def q4(value: Decimal) -> Decimal:
    """Four decimals, half up: the canonical model's precision for money and quantities."""
    return value.quantize(_Q4, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    """Two decimals, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``; ``ValueError`` when unknown."""
    return time_zone(name)


def server_time(value: str, tz: tzinfo) -> datetime:
    """A Globe timestamp (ISO, ISO date, or OData ``/Date(ms[+hhmm])/``) as an aware
    datetime; naive values are wall-clock time in ``tz``. ``ValueError`` when unreadable."""
    text = value.strip()
    m = _ODATA_DATE.match(text)
    if m is not None:
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(m[1]))
        if m[2] is None:  # DateTime: the ticks are the server's wall clock, written as UTC
            return instant.replace(tzinfo=tz)
        offset = timedelta(hours=int(m[3]), minutes=int(m[4]))
        return instant.astimezone(timezone(offset if m[2] == "+" else -offset))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def split_street(line: str) -> tuple[str, str, str]:
    """Globe's one address line -> (street, house number, extension).

    ``"Kerkstraat 12A"`` -> ``("Kerkstraat", "12", "A")``; ``"Rue de la Paix 3 bis"`` ->
    ``("Rue de la Paix", "3", "bis")``; ``"12 High Street"`` -> ``("High Street", "12",
    "")``; ``"Postbus"`` -> ``("Postbus", "", "")``.
    """
    text = " ".join(line.split())
    m = _NUMBER_LAST.match(text) or _NUMBER_FIRST.match(text)
    if m is None or not m["street"].strip(" ,"):
        return text, "", ""
    return m["street"].strip(" ,"), m["number"], (m["ext"] or "").strip()


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "J", "Y")


class _Reader(FieldReader):
    """Typed access to one part of the record; every failure names the Globe field."""

    def __init__(self, raw: Mapping[str, Any], source_id: str, prefix: str) -> None:
        super().__init__(raw, "order", source_id, prefix)

    def when(self, key: str, tz: tzinfo) -> datetime | None:
        text = self.text(key)
        if not text:
            return None
        try:
            return server_time(text, tz)
        except (ValueError, OverflowError):
            raise self.fail(key, f"not a timestamp: {text!r}") from None



def _address(r: _Reader, prefix: str, fallback_country: str = "") -> Address:
    """Globe's ``{prefix}AddressLine1``/``PostalCode``/``City``/``Country`` -> Address."""
    line = r.text(f"{prefix}AddressLine1", required=True)
    city = r.text(f"{prefix}City", required=True)
    country = r.text(f"{prefix}Country").upper() or fallback_country
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise r.fail(f"{prefix}Country", f"expected a 2-letter ISO country code, got "
                                         f"{r.raw.get(f'{prefix}Country')!r}")
    street, number, ext = split_street(line)
    names = {"street": f"{prefix}AddressLine1", "house_number": f"{prefix}AddressLine1",
             "house_number_ext": f"{prefix}AddressLine1", "postcode": f"{prefix}PostalCode",
             "city": f"{prefix}City", "country": f"{prefix}Country"}
    return r.build(lambda: Address(street=street, house_number=number, house_number_ext=ext,
                                   postcode=r.text(f"{prefix}PostalCode"), city=city,
                                   country=country), names)


def _default_contact(account: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]] | None:
    contacts = account.get("contacts")
    if not isinstance(contacts, list):
        return None
    rows = [(i, c) for i, c in enumerate(contacts) if isinstance(c, Mapping)]
    return next(((i, c) for i, c in rows if _flag(c.get("IsDefault"))),
                rows[0] if rows else None)


def customer_from_account(account: Mapping[str, Any], oid: str) -> Customer:
    """The order's debtor (``record["account"]``) as a canonical Customer."""
    a = _Reader(account, oid, "account.")
    found = _default_contact(account)
    c = _Reader(found[1] if found else {}, oid, f"account.contacts[{found[0] if found else 0}].")
    is_person = _flag(account.get("IsPerson"))
    name = a.text("Name", required=not is_person)
    first, last = c.text("FirstName"), c.text("LastName")
    if is_person and not (first or last):
        if not name:
            raise a.fail("Name", "a person debtor needs a name (or a contact with one)")
        first, _, last = name.partition(" ")
    email_reader = c if c.text("Email") else a
    email = email_reader.text("Email")
    if not email:
        raise a.fail("Email", "the debtor and its default contact have no e-mail address")
    billing = _address(a, "")
    names = {"email": email_reader.prefix.removeprefix("account.") + "Email",
             "company_name": "Name", "first_name": "Name", "last_name": "Name",
             "vat_number": "VATNumber", "phone": "Phone", "": "Name"}
    return a.build(lambda: Customer(
        kind=CustomerKind.PERSON if is_person else CustomerKind.COMPANY, email=email,
        first_name=first, last_name=last, company_name="" if is_person else name,
        vat_number="" if is_person else a.text("VATNumber"),
        phone=c.text("Phone") or a.text("Phone"), billing_address=billing), names)


def _line(raw: Any, n: int, oid: str, vat_included: bool) -> tuple[OrderLine, Decimal]:
    """One ``SalesOrderLine`` -> (OrderLine, its net in the order's price basis, to the cent)."""
    if not isinstance(raw, Mapping):
        raise RecordError("order", oid, f"lines[{n}]", "not an object")
    r = _Reader(raw, oid, f"lines[{n}].")
    sku = r.text("Itemcode", required=True)
    qty = r.decimal("Quantity")
    if qty <= 0:
        raise r.fail("Quantity", f"must be greater than 0 (returns are not synced), got {qty}")
    pct = r.decimal("VATPercentage")
    if not 0 <= pct <= 100:
        raise r.fail("VATPercentage", f"not a percentage: {pct}")
    rate = (pct / 100).normalize()
    price, discount = r.decimal("Price"), r.decimal("DiscountAmount", default=Decimal(0))
    factor = 1 + rate
    if vat_included:
        incl, excl = price, price / factor
        d_incl, d_excl = discount, discount / factor
    else:
        excl, incl = price, price * factor
        d_excl, d_incl = discount, discount * factor
    names = {"sku": "Itemcode", "description": "Description", "quantity": "Quantity",
             "unit_price_excl": "Price", "unit_price_incl": "Price", "tax_rate": "VATPercentage",
             "discount_excl": "DiscountAmount", "discount_incl": "DiscountAmount"}
    line = r.build(lambda: OrderLine(
        sku=sku, description=r.text("Description"), quantity=q4(qty),
        unit_price_excl=q4(excl), unit_price_incl=q4(incl), tax_rate=rate,
        discount_excl=q4(d_excl), discount_incl=q4(d_incl)), names)
    return line, cents(qty * price - discount)


def totals(nets: list[tuple[Decimal, Decimal]], *, vat_included: bool) -> tuple[Decimal, Decimal]:
    """(total excl., total incl.) of line nets ``(net, rate)`` in the order's price basis.

    As an invoice computes them: the nets (each already to the cent) summed per rate, the
    VAT of each rate rounded once, the other total derived from them.
    """
    per_rate: dict[Decimal, Decimal] = {}
    for net, rate in nets:
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + net
    base = sum(per_rate.values(), Decimal(0))
    if vat_included:
        vat = sum((cents(t * r / (1 + r)) for r, t in per_rate.items()), Decimal(0))
        return cents(base - vat), cents(base)
    vat = sum((cents(t * r) for r, t in per_rate.items()), Decimal(0))
    return cents(base), cents(base + vat)


def order_from_globe(record: Mapping[str, Any]) -> Order:
    """Translate one source record; ``RecordError`` naming the Globe field when unusable."""
    oid = order_id(record)
    if not isinstance(record, Mapping) or not isinstance(record.get("header"), Mapping):
        raise RecordError("order", oid, "header", "the record has no SalesOrderHeader")
    h = _Reader(record["header"], oid, "header.")
    try:
        tz = zone(str(record.get("timezone") or DEFAULT_TIMEZONE))
    except ValueError as exc:
        raise RecordError("order", oid, "timezone", str(exc)) from None
    number = h.text("OrderNumber", required=True)
    currency = (h.text("Currency") or DEFAULT_CURRENCY).upper()
    vat_included = _flag(record["header"].get("VATIncluded"))
    raw_lines = record.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise RecordError("order", oid, "lines", "the order has no lines")
    lines, nets = [], []
    for n, raw in enumerate(raw_lines):
        line, net = _line(raw, n, oid, vat_included)
        lines.append(line)
        nets.append((net, line.tax_rate))
    account = record.get("account")
    if not isinstance(account, Mapping):
        raise h.fail("OrderDebtor", f"debtor {h.text('OrderDebtor')!r} not found in Globe")
    customer = customer_from_account(account, oid)
    shipping = (_address(h, "Delivery", customer.billing_address.country)
                if h.text("DeliveryAddressLine1") else customer.billing_address)
    order_date = h.when("OrderDate", tz)
    created = h.when("Created", tz) or (
        order_date and datetime.combine(order_date.date(), time(), tzinfo=order_date.tzinfo))
    if created is None:
        raise h.fail("Created", "neither Created nor OrderDate is set")
    updated = h.when("Modified", tz) or created
    total_excl, total_incl = totals(nets, vat_included=vat_included)
    names = {"number": "OrderNumber", "status": "Status", "currency": "Currency",
             "created_at": "Created", "updated_at": "Modified", "lines": "lines",
             "payment_method": "PaymentCondition", "shipping_method": "DeliveryMethod",
             "ref": "OrderNumber", "": "OrderNumber"}
    return h.build(lambda: Order(
        ref=ExternalRef(system=SYSTEM, id=number), number=number,
        status=h.text("Status") or DEFAULT_STATUS, created_at=created,
        updated_at=updated, currency=currency, customer=customer,
        shipping_address=shipping, lines=tuple(lines), total_excl=total_excl,
        total_incl=total_incl, payment_method=h.text("PaymentCondition"),
        shipping_method=h.text("DeliveryMethod")), names)
