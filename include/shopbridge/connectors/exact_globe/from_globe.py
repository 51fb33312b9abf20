"""Exact Globe sales order record -> canonical :class:`~shopbridge.models.Order`. Pure: no
I/O, no clock.

The record is what :class:`~shopbridge.connectors.exact_globe.source.ExactGlobeSource`
yields, self-contained and JSON-able::

    {"header": {SalesOrderHeader...},
     "lines": [{SalesOrderLine...}, ...],
     "account": {Account..., "contacts": [{Contact...}]} | None,
     "vat": {"2": {"Percentage": 21, "Calculationbasis": "E"}, ...},  # VAT codes in use
     "currency": "EUR",          # the administration's currency (connection setting), or ""
     "timezone": "Europe/Amsterdam"}

Every problem raises :class:`RecordError` whose ``field`` is the Globe field
(``header.SalesOrderDate``, ``lines[2].Quantity``, ``lines[0].VATCode``) so a person can
find it in Globe.

Field names. Exact's entity documentation (PU415 "List of properties", mirrored in
omniboost/go-exactglobe-webservices ``docs/EntityDocumentation_PU415``) names the REST
properties; ``tests/contracts/exact_globe`` holds doc examples built from it (no public
recording of a Globe REST response exists). [V] below means "in Exact's entity
documentation and read from a doc example by a contract test"; [U] unverified. Older
names this connector used before (``OrderNumber``, ``OrderDate``, ``Currency``,
``VATPercentage``, ``DiscountAmount``, ``Delivery*``, ``Name``, ``Email``, ...) are still
read as fallbacks, after the documented ones.

* ``SalesOrderHeader`` [V]: ``SalesOrderNumber`` (char, right-aligned: ``"   10001"``,
  compared stripped), ``SalesOrderDate`` (OData ``/Date(ms)/``), ``OrderDebtor``,
  ``CurrencyCode``, ``PaymentCondition``, ``ShippingVia``, ``YourReference``,
  ``Completed`` (read-only), ``TotalAmountExcludingVAT``/``TotalVATAmount``/
  ``TotalAmount`` (read-only: Globe's own totals), ``OrderDebtor*``/``DeliveryDebtor*``
  (the order's address snapshot: ``Address1``, ``PostCode``, ``City``, ``CountryCode``
  (char(3): ``"NL "``), ``Name``, ``ContactEmail``, ``Phone``). [U] ``Created``/``Modified``:
  not in the documentation; read when present.
* ``SalesOrderLine`` [V]: ``Itemcode``, ``Description``, ``Quantity``, ``Price`` (unit,
  before discount), ``DiscountPercentage``, ``NetPrice`` (unit after discount), ``VATCode``
  (a code, not a rate: the rate comes from the ``VAT`` entity, ``record["vat"]``),
  ``LineNumber``, ``SalesOrderNumber``.
* ``VAT`` [V as names, S as types]: ``VATCode``, ``Percentage`` (21 = 21 %),
  ``Calculationbasis`` ([U] ``"I"`` = prices include VAT, anything else excludes it).
* ``Account`` [V]: ``DebtorCode`` (padded), ``AccountName``, ``EmailAddress``,
  ``PhoneNumber``, ``VATNumber``, ``CurrencyCode``, ``Mailing{Address1,Postcode,City,
  Country}`` ([U] that Mailing is the address to use), ``Contact{FirstName,LastName,Email,
  PhoneNumber}`` (the account's main contact). Empty text can be ``null`` or ``""``.

Decisions, and why:

* Timestamps: Globe's are naive and in the server's time zone [U], so the record carries
  the connection's ``timezone``; OData v2's ``/Date(ms)/`` is read as the same wall-clock
  ticks, ``/Date(ms+0100)/`` and ISO values with an offset are instants.
* ``created_at`` is ``Created`` when Globe sends it, else ``SalesOrderDate`` at midnight;
  ``updated_at`` is ``Modified``, else ``created_at``.
* Prices: ``Price`` is the unit price before discount; the line's discount in total is
  ``Quantity x (Price - NetPrice)`` (Globe's own net unit price), else from
  ``DiscountPercentage``. Prices are excl. VAT unless the line's VAT code is inclusive (or
  the older header flag ``VATIncluded``); the other basis is derived at 4 decimals.
* Totals are Globe's (``TotalAmountExcludingVAT``, ``TotalAmount``), never recomputed: the
  flow compares them with the lines and quarantines a mismatch naming both. Only a header
  without them (an older Globe) gets totals computed as an invoice does.
* Currency: the header's ``CurrencyCode``, else the debtor's, else the administration's
  (``record["currency"]``, the connection's setting); none at all is a RecordError on
  ``header.CurrencyCode``, never a silent EUR.
* Customer: ``customer_number`` is the debtor code (so a debtor without e-mail is matched
  by it). A debtor is a company named ``AccountName`` with its main contact's names,
  unless the older ``IsPerson`` flag says person. The e-mail is the contact's, else the
  account's, else the order's ``OrderDebtorContactEmail``; none is allowed (``""``). A
  debtor Globe does not return is built from the header's ``OrderDebtor*`` snapshot.
* Addresses: Globe has one address line; ``"Kerkstraat 12A"`` splits into street, number
  and extension. A missing country stays ``""`` (the flow fills the pair's
  ``default_country``); a missing address is an empty Address. Shipping is the header's
  ``DeliveryDebtor*`` address when its line is set, else the billing address.
* ``status``: ``"completed"`` when Globe's read-only ``Completed`` is true, else
  ``"open"`` (an older ``Status`` field wins when sent). ``payment_method`` is
  ``PaymentCondition``, ``shipping_method`` ``ShippingVia`` (Globe codes).
* Globe books shipping costs as an item line (e.g. ``VERZENDKOSTEN``), so it stays a line.
* Item key: Globe's ``Itemcode`` is its own item code and goes to ``sku`` (Globe lines
  carry no EAN or second code).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from shopbridge.connectors._kit.addresses import one_line_address
from shopbridge.connectors._kit.amounts import cents
from shopbridge.connectors._kit.fields import FieldReader, key_text, time_zone
from shopbridge.connectors._kit.lines import LineKeys, ordered_quantity, priced_line
from shopbridge.errors import RecordError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine

SYSTEM = "exact_globe"
DEFAULT_TIMEZONE = "Europe/Amsterdam"
DEFAULT_STATUS = "open"
_ODATA_DATE = re.compile(r"^/?Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/?$")


def order_id(record: Mapping[str, Any]) -> str:
    """The header's ``SalesOrderNumber`` (else ``OrderNumber``) as text, stripped; ``"?"``
    when unreadable."""
    header = record.get("header") if isinstance(record, Mapping) else None
    number = None
    if isinstance(header, Mapping):
        number = header.get("SalesOrderNumber")
        if number is None or (isinstance(number, str) and not number.strip()):
            number = header.get("OrderNumber")
    return key_text(number) or "?"


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

    def first(self, *keys: str) -> tuple[str, str]:
        """(value, key) of the first of ``keys`` with text; ``("", keys[0])`` if none."""
        for key in keys:
            value = self.text(key)
            if value:
                return value, key
        return "", keys[0]


#: address field names: (line, postcode, city, country) per address kind, documented first
_ADDRESS_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "account": (
        ("MailingAddress1", "AddressLine1"),
        ("MailingPostcode", "PostalCode"),
        ("MailingCity", "City"),
        ("MailingCountry", "Country"),
    ),
    "order_debtor": (
        ("OrderDebtorAddress1",),
        ("OrderDebtorPostCode",),
        ("OrderDebtorCity",),
        ("OrderDebtorCountryCode",),
    ),
    "delivery": (
        ("DeliveryDebtorAddress1", "DeliveryAddressLine1"),
        ("DeliveryDebtorPostCode", "DeliveryPostalCode"),
        ("DeliveryDebtorCity", "DeliveryCity"),
        ("DeliveryDebtorCountryCode", "DeliveryCountry"),
    ),
}


def _address(r: _Reader, kind: str) -> Address | None:
    """One of Globe's address field sets -> Address; None when it has no address line,
    postcode or city. A country that is not ISO-2 is a RecordError naming the field; no
    country is ``""`` (the flow fills the pair's default and reports it)."""
    line, postcode, city, (country, c_key) = (r.first(*keys) for keys in _ADDRESS_FIELDS[kind])
    if not (line[0] or postcode[0] or city[0]):
        return None
    country = country.upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise r.fail(c_key, f"expected a 2-letter ISO country code, got {r.raw.get(c_key)!r}")
    return one_line_address(r, line, postcode, city, (country, c_key))


def _default_contact(account: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]] | None:
    contacts = account.get("contacts")
    if not isinstance(contacts, list):
        return None
    rows = [(i, c) for i, c in enumerate(contacts) if isinstance(c, Mapping)]
    return next(((i, c) for i, c in rows if _flag(c.get("IsDefault"))), rows[0] if rows else None)


def customer_from_account(
    account: Mapping[str, Any], oid: str, header: Mapping[str, Any] | None = None
) -> Customer:
    """The order's debtor as a canonical Customer: the ``Account`` (``record["account"]``,
    ``{}`` when Globe did not return it) with its main contact, else the header's
    ``OrderDebtor*`` snapshot of the same debtor."""
    a = _Reader(account, oid, "account.")
    h = _Reader(header or {}, oid, "header.")
    found = _default_contact(account)
    c = _Reader(found[1] if found else {}, oid, f"account.contacts[{found[0] if found else 0}].")
    if "IsPerson" in account:
        is_person = _flag(account.get("IsPerson"))
    else:  # [U] Globe's REST Account has no person flag: no VAT nor CoC number = a person
        is_person = bool(account) and not (a.text("VATNumber") or a.text("ChamberofCommerceNumber"))
    name, name_key = a.first("AccountName", "Name")
    reader_of_name = a
    if not name and not account:
        name, name_key = h.first("OrderDebtorName")
        reader_of_name = h
    first, _ = a.first("ContactFirstName")
    last, _ = a.first("ContactLastName")
    if not (first or last):
        first, last = c.text("FirstName"), c.text("LastName")
    if not name and not (first or last):
        if not account:
            raise h.fail(
                "OrderDebtor",
                f"debtor {h.text('OrderDebtor')!r} not found in "
                "Globe, and the order carries no debtor name",
            )
        raise reader_of_name.fail(name_key, "the debtor has no name (nor a contact with one)")
    if is_person and not (first or last):
        first, _, last = name.partition(" ")
    # the e-mail: the main contact's, the account's, the order's; the first that is set
    candidates = [
        (a, "ContactEmail"),
        (c, "Email"),
        (a, "EmailAddress"),
        (a, "Email"),
        (h, "OrderDebtorContactEmail"),
    ]
    email_reader, email_key = next(
        ((r, k) for r, k in candidates if r.text(k)), (a, "EmailAddress")
    )
    email = email_reader.text(email_key)
    number = a.text("DebtorCode") or h.text("OrderDebtor")
    billing = _address(a, "account") or _address(h, "order_debtor") or Address()
    phone = (
        a.first("ContactPhoneNumber")[0]
        or c.text("Phone")
        or a.first("PhoneNumber", "Phone")[0]
        or h.text("OrderDebtorPhone")
    )
    email_name = email_reader.prefix.removeprefix("account.").removeprefix("header.")
    names = {
        "email": email_name + email_key,
        "company_name": name_key,
        "first_name": "ContactFirstName",
        "last_name": "ContactLastName",
        "vat_number": "VATNumber",
        "phone": "PhoneNumber",
        "customer_number": "DebtorCode",
        "": name_key,
    }
    return a.build(
        lambda: Customer(
            kind=CustomerKind.PERSON if is_person else CustomerKind.COMPANY,
            email=email,
            customer_number=number,
            first_name=first,
            last_name=last,
            company_name="" if is_person else name or f"{first} {last}".strip(),
            vat_number="" if is_person else a.text("VATNumber"),
            phone=phone,
            billing_address=billing,
        ),
        names,
    )


def _vat(r: _Reader, vat: Mapping[str, Any]) -> tuple[Decimal, bool | None, str]:
    """(percentage, prices include VAT per the code or None, field) of one line."""
    if r.has("VATPercentage"):
        return r.decimal("VATPercentage"), None, "VATPercentage"
    code = r.text("VATCode", required=True)
    entry = vat.get(code)
    if not isinstance(entry, Mapping):
        raise r.fail("VATCode", f"VAT code {code!r} is not in Globe's VAT table")
    v = _Reader(entry, r.source_id, f"vat[{code}].")
    basis = v.text("Calculationbasis").upper()
    return v.decimal("Percentage"), (basis == "I") if basis else None, "VATCode"


def _line(
    raw: Any, n: int, oid: str, vat_included: bool, vat: Mapping[str, Any]
) -> tuple[OrderLine, Decimal, bool]:
    """One ``SalesOrderLine`` -> (OrderLine, its net to the cent in its own price basis,
    whether that basis is incl. VAT)."""
    if not isinstance(raw, Mapping):
        raise RecordError("order", oid, f"lines[{n}]", "not an object")
    r = _Reader(raw, oid, f"lines[{n}].")
    qty = ordered_quantity(r, "Quantity")
    pct, code_incl, vat_key = _vat(r, vat)
    if not 0 <= pct <= 100:
        raise r.fail(vat_key, f"not a percentage: {pct}")
    incl_basis = vat_included if code_incl is None else code_incl
    rate = (pct / 100).normalize()
    price = r.decimal("Price")
    if r.has("DiscountAmount"):
        discount, d_key = r.decimal("DiscountAmount"), "DiscountAmount"
    elif r.has("NetPrice"):
        discount, d_key = qty * (price - r.decimal("NetPrice")), "NetPrice"
    else:
        share = r.percentage("DiscountPercentage", default=Decimal(0))
        discount, d_key = qty * price * share / 100, "DiscountPercentage"
    if discount < 0:
        raise r.fail(d_key, f"the discount is negative ({discount}): a surcharge, not synced")
    keys = LineKeys(
        sku="Itemcode", quantity="Quantity", price="Price", rate=vat_key, discount=d_key
    )
    line = priced_line(
        r, keys, quantity=qty, price=price, discount=discount, rate=rate, includes_vat=incl_basis
    )
    return line, cents(qty * price - discount), incl_basis


def totals(nets: list[tuple[Decimal, Decimal]], *, vat_included: bool) -> tuple[Decimal, Decimal]:
    """(total excl., total incl.) of line nets ``(net, rate)`` in the order's price basis.

    As an invoice computes them: the nets (each already to the cent) summed per rate, the
    VAT of each rate rounded once, the other total derived from them. Only for a header
    without Globe's own totals.
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


def _vat_table(record: Mapping[str, Any]) -> dict[str, Any]:
    raw = record.get("vat")
    if not isinstance(raw, Mapping):
        return {}
    return {str(k).strip(): v for k, v in raw.items()}


def order_from_globe(record: Mapping[str, Any]) -> Order:
    """Translate one source record; ``RecordError`` naming the Globe field when unusable."""
    oid = order_id(record)
    if not isinstance(record, Mapping) or not isinstance(record.get("header"), Mapping):
        raise RecordError("order", oid, "header", "the record has no SalesOrderHeader")
    header = record["header"]
    h = _Reader(header, oid, "header.")
    try:
        tz = zone(str(record.get("timezone") or DEFAULT_TIMEZONE))
    except ValueError as exc:
        raise RecordError("order", oid, "timezone", str(exc)) from None
    number, number_key = h.first("SalesOrderNumber", "OrderNumber")
    if not number:
        raise h.fail("SalesOrderNumber", "missing or empty")
    raw_account = record.get("account")
    account: Mapping[str, Any] = raw_account if isinstance(raw_account, Mapping) else {}
    a = _Reader(account, oid, "account.")
    currency, currency_key = h.first("CurrencyCode", "Currency")
    if not currency:
        currency = a.first("CurrencyCode")[0] or str(record.get("currency") or "").strip()
    if not currency:
        raise h.fail(
            "CurrencyCode",
            "the order, its debtor and the connection name no "
            "currency (set the connection's extra.currency)",
        )
    vat_included = _flag(header.get("VATIncluded"))
    vat = _vat_table(record)
    raw_lines = record.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise RecordError("order", oid, "lines", "the order has no lines")
    lines, nets, bases = [], [], set()
    for n, raw in enumerate(raw_lines):
        line, net, incl = _line(raw, n, oid, vat_included, vat)
        lines.append(line)
        nets.append((net, line.tax_rate))
        bases.add(incl)
    customer = customer_from_account(account, oid, header)
    shipping = _address(h, "delivery") or customer.billing_address
    order_date, date_key = None, "SalesOrderDate"
    for key in ("SalesOrderDate", "OrderDate"):
        order_date = h.when(key, tz)
        if order_date is not None:
            date_key = key
            break
    created = h.when("Created", tz) or (
        order_date and datetime.combine(order_date.date(), time(), tzinfo=order_date.tzinfo)
    )
    if created is None:
        raise h.fail(date_key, "neither Created nor SalesOrderDate is set")
    updated = h.when("Modified", tz) or created
    if h.has("TotalAmountExcludingVAT") and h.has("TotalAmount"):
        total_excl = h.decimal("TotalAmountExcludingVAT")
        total_incl = h.decimal("TotalAmount")
    else:  # an older Globe without the read-only totals: as an invoice computes them
        total_excl, total_incl = totals(nets, vat_included=bases == {True})
    if h.has("Status"):
        status, status_key = h.text("Status"), "Status"
    else:
        status = "completed" if h.flag("Completed") else DEFAULT_STATUS
        status_key = "Completed"
    names = {
        "number": number_key,
        "status": status_key,
        "currency": currency_key,
        "created_at": "Created",
        "updated_at": "Modified",
        "lines": "lines",
        "total_excl": "TotalAmountExcludingVAT",
        "total_incl": "TotalAmount",
        "payment_method": "PaymentCondition",
        "shipping_method": "ShippingVia",
        "ref": number_key,
        "": number_key,
    }
    return h.build(
        lambda: Order(
            ref=ExternalRef(system=SYSTEM, id=number),
            number=number,
            status=status,
            created_at=created,
            updated_at=updated,
            currency=currency.upper(),
            customer=customer,
            shipping_address=shipping,
            lines=tuple(lines),
            total_excl=total_excl,
            total_incl=total_incl,
            payment_method=h.text("PaymentCondition"),
            shipping_method=h.first("ShippingVia", "DeliveryMethod")[0],
        ),
        names,
    )
