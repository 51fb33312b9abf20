"""Fortnox JSON -> canonical orders, products and stock. Pure: no I/O, no clock.

Records are the vendor's own objects, plus what :class:`~.source.FortnoxSource` embeds so
they are self-contained and JSON-able (they travel as XComs). Fortnox marks its own meta
keys with ``@`` (``@url``); the keys the source adds do the same:

* an order: ``GET /3/orders/{n}``'s ``Order`` (with ``OrderRows``) plus ``"Customer"`` (the
  ``GET /3/customers/{CustomerNumber}`` object, ``None`` when Fortnox has none),
  ``"@Timezone"`` (the tenant's zone: Fortnox dates are local) and ``"@ChangedBefore"``
  (the end of the window it was read in);
* a product: ``GET /3/articles/{n}``'s ``Article`` plus ``"@ChangedBefore"``;
* stock, article mode: one ``Article`` (list row or detail); warehouse mode: one article's
  balances, ``{"ItemId", "StockBalances": [...], "@StockPoint"}``.

Every problem raises :class:`RecordError` whose ``field`` is the Fortnox field
(``OrderRows[2].OrderedQuantity``, ``customer.Name``) so a person can find it in Fortnox.

Fields the project relies on: **[V]** verified by a recording in
``tests/contracts/fortnox/`` (live API responses, see ``tests/contracts/SOURCES.md``), **[U]**
unverified (API descriptions, the SDKs' types).

Orders (``GET /3/orders/{n}``):

* ``DocumentNumber`` (string) [V], ``OrderDate`` ``yyyy-MM-dd`` [V], ``Currency`` (``"SEK"``)
  [V]: the order's currency, required (no default: a missing one is a RecordError).
* ``OrderRows`` [V]: a list, possibly ``[]`` [V] (then the order has nothing to book: a
  RecordError). Per row: ``ArticleNumber`` (string) [V], ``OrderedQuantity``,
  ``DeliveredQuantity`` as **strings** (``"1"``, in 2020 ``"1.00"``) [V], ``Price`` a number
  [V] (may be negative [V]), ``VAT`` a number, percent (``25``) [V], ``Discount`` (number) and
  ``DiscountType`` ``PERCENT`` [V] / ``AMOUNT`` [U], ``Description`` [V]. The row's own
  ``Total`` is not used: the recording shows ``"Total": 0`` beside ``"Price": 10`` [V].
* Totals: ``Total`` and ``TotalVAT`` (numbers) [V] are passed through as Fortnox has them,
  **never recomputed**, even when they are 0 while rows carry prices [V]: the flow's totals
  check then quarantines the order naming both amounts. ``RoundOff`` [V, recorded 0] is the
  öre rounding of the amount to pay; ASSUMPTION [U]: ``Total`` includes it, so the goods'
  total is ``Total - RoundOff`` (a rounding is not a line). ``AdministrationFee`` [V, recorded
  0]: a fee has no place in the canonical order, so a non-zero one is a RecordError rather
  than a total that silently disagrees.
* ``Freight`` [V] is the shipping cost in the order's basis; ``FreightVAT`` [V] its VAT (else
  the highest row rate). ``VATIncluded`` (bool) [V, recorded false]: prices incl. VAT [U].
* ``WayOfDelivery`` -> ``shipping_method`` and ``TermsOfPayment`` -> ``payment_method``
  (Fortnox codes) [V].
* Status, what Fortnox means by its fields:

  - ``Cancelled`` (bool, read-only; set only through ``PUT /3/orders/{n}/cancel``) [V]:
    ``cancelled``;
  - ``InvoiceReference`` (``"0"`` until an invoice is made from the order) [V]:
    ``invoiced`` when set;
  - ``NotCompleted`` (bool) [V, recorded false]: the order is marked "not completed", still
    being entered (Fortnox will not make an invoice of it [U]): ``draft``, which the pair's
    ``statuses`` leave out until someone completes it (that change brings it back);
  - ``DeliveryState`` (``registration`` | ``reservation`` | ``delivery``, the SDK's enum [U])
    is the order's *stock handling* (registered only / stock reserved / stock delivered from
    when the order is delivered), **not** a fulfilment state: a just-created order already
    says ``"delivery"`` with ``DeliveredQuantity "0"`` and ``DeliveryDate null`` [V]. It
    does not set the status;
  - ``WarehouseReady`` (bool, read-only) with ``OutboundDate``: "marked ready in the
    warehouse"; ``true`` on a just-created order of an account without the warehouse
    module [V]: not used;
  - ``Sent`` (bool, read-only): the document was printed or e-mailed [V, recorded false]:
    not a shipment, not used;
  - ``delivered``: every article row has ``DeliveredQuantity`` >= ``OrderedQuantity``
    [U: no recording of a delivered order];
  - else ``open``.
* Customer: an order body without the embedded ``Customer`` (a bare ``{"Order": ...}``,
  e.g. in ``shopbridge mapping test``) is read from the order's own copy (``CustomerName``,
  ``CustomerNumber``, address, ``EmailInformation``, ``Phone1``) as a ``COMPANY``; an
  embedded ``None`` (Fortnox has no such customer) is a RecordError. The embedded
  ``Customer`` [V] gives ``Type`` ``COMPANY`` (Fortnox's default
  for a new customer [V]) or ``PRIVATE`` [U], ``Name`` [V], ``VATNumber`` [V, recorded
  ``""``], ``Phone1``/``Phone2`` (``null`` in real accounts [V]) and ``Email``, which
  real accounts leave ``""`` [V]: then the order's own ``EmailInformation.EmailAddressTo``
  [V, may be ``""``] is used, else the customer has no e-mail (allowed) and is known by
  ``CustomerNumber`` [V] (``customer_number``). A company's contact is the order's
  ``YourReference`` [V], else the customer's [U]; a person's ``Name`` splits at the first
  blank.
* Addresses: the order carries its own (``Address1``, ``ZipCode``, ``City``, ``Country``)
  [V, ``""`` when empty]; it is the billing address, else the customer's (``Address1``,
  ``ZipCode``, ``City`` can be ``null`` [V]). Shipping is the order's ``Delivery*`` when
  any is set [V, recorded ``""``], else billing. One street line (``"Kerkstraat 12A"``) is
  split into street, number and extension by :func:`split_street`; ``Address2`` has no
  canonical place and is left out.
* Countries: documents hold Fortnox's country *name*: ``"Sverige"`` for Sweden and the
  English ISO 3166 name for the others (``"Norway"`` for input ``"Norge"``, ``"United
  Kingdom"`` for ``"GB"``) [V]; a customer also has ``CountryCode`` (ISO, may be ``null``)
  [V]. Read through :func:`country_code`. No country at all stays ``""`` (the flow fills
  the pair's ``default_country``); a name this table does not know is a RecordError naming
  the field (never a guess).
* ``created_at`` is ``OrderDate`` at midnight in the tenant's zone; Fortnox records carry
  no modification time, so ``updated_at`` is ``@ChangedBefore``, the window's end.

Products (``GET /3/articles/{n}``): every article is a simple product (Fortnox has no
variants [U]). ``ArticleNumber`` [V] is its item code, given as ``sku`` (Fortnox has no
other SKU field), ``EAN`` [V] (may be ``""``) as ``ean``; title ``Description`` [V],
brand ``Manufacturer`` (``null`` [V]), price ``SalesPrice`` (the default price list's,
read-only on the article; ASSUMPTION [U]: excl. VAT) which is ``null`` when the article has
no price [V]: a RecordError naming ``SalesPrice`` (a till item without a price would sell
for nothing). ``VAT`` [V] a number on the detail; ``Active``, ``WebshopArticle`` [V] make it
visible; ``StockGoods`` [V] and ``QuantityInStock`` (number on the detail, string on list
rows [V]). The price's currency is the connection's (articles carry none [V]).

Stock: article mode reads ``QuantityInStock`` (on hand) and ``ReservedQuantity`` (open
orders), strings on list rows and numbers on the detail [V]; managed = ``StockGoods`` [V,
only on the detail]. Warehouse mode [U: no public recording] reports ``inStock`` per stock
point under ``locations``; the level is the configured stock point's (else the sum), and
reserved is ``inStock - availableStock``. Negative stock is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from shopbridge.connectors._kit.addresses import one_line_address
from shopbridge.connectors._kit.amounts import q4
from shopbridge.connectors._kit.fields import FieldReader, key_text, time_zone
from shopbridge.connectors._kit.lines import LineKeys, ordered_quantity, priced_line
from shopbridge.errors import RecordError
from shopbridge.models import (
    Address,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    OrderLine,
    Product,
    StockLevel,
    Variant,
)

SYSTEM = "fortnox"
DEFAULT_TIMEZONE = "Europe/Stockholm"
#: keys the source adds to a vendor record
CUSTOMER_KEY = "Customer"
TIMEZONE_KEY = "@Timezone"
CHANGED_BEFORE_KEY = "@ChangedBefore"
BALANCES_KEY = "StockBalances"
STOCK_POINT_KEY = "@StockPoint"

#: country name (lower case) -> ISO code. Fortnox stores a document's country as a name:
#: "Sverige" for Sweden, the English ISO 3166 name for the rest [V: "Norway", "United
#: Kingdom", "Korea, Republic of", "Holy See (Vatican City State)" in the recordings]; the
#: Swedish and common English names are accepted as well (older data, typed input).
COUNTRY_NAMES: dict[str, str] = {
    "sverige": "SE",
    "sweden": "SE",
    "norge": "NO",
    "norway": "NO",
    "danmark": "DK",
    "denmark": "DK",
    "finland": "FI",
    "suomi": "FI",
    "island": "IS",
    "iceland": "IS",
    "nederländerna": "NL",
    "netherlands": "NL",
    "the netherlands": "NL",
    "netherlands (the)": "NL",
    "holland": "NL",
    "belgien": "BE",
    "belgium": "BE",
    "tyskland": "DE",
    "germany": "DE",
    "frankrike": "FR",
    "france": "FR",
    "storbritannien": "GB",
    "united kingdom": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "great britain": "GB",
    "england": "GB",
    "irland": "IE",
    "ireland": "IE",
    "spanien": "ES",
    "spain": "ES",
    "italien": "IT",
    "italy": "IT",
    "portugal": "PT",
    "österrike": "AT",
    "austria": "AT",
    "schweiz": "CH",
    "switzerland": "CH",
    "polen": "PL",
    "poland": "PL",
    "luxemburg": "LU",
    "luxembourg": "LU",
    "estland": "EE",
    "estonia": "EE",
    "lettland": "LV",
    "latvia": "LV",
    "litauen": "LT",
    "lithuania": "LT",
    "tjeckien": "CZ",
    "czech republic": "CZ",
    "czechia": "CZ",
    "slovakien": "SK",
    "slovakia": "SK",
    "ungern": "HU",
    "hungary": "HU",
    "slovenien": "SI",
    "slovenia": "SI",
    "kroatien": "HR",
    "croatia": "HR",
    "rumänien": "RO",
    "romania": "RO",
    "bulgarien": "BG",
    "bulgaria": "BG",
    "grekland": "GR",
    "greece": "GR",
    "cypern": "CY",
    "cyprus": "CY",
    "malta": "MT",
    "liechtenstein": "LI",
    "monaco": "MC",
    "färöarna": "FO",
    "faroe islands": "FO",
    "grönland": "GL",
    "greenland": "GL",
    "åland": "AX",
    "aland islands": "AX",
    "åland islands": "AX",
    "holy see (vatican city state)": "VA",
    "ukraina": "UA",
    "ukraine": "UA",
    "turkiet": "TR",
    "turkey": "TR",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "kanada": "CA",
    "canada": "CA",
    "australien": "AU",
    "australia": "AU",
    "nya zeeland": "NZ",
    "new zealand": "NZ",
    "kina": "CN",
    "china": "CN",
    "japan": "JP",
    "korea, republic of": "KR",
    "sydkorea": "KR",
    "south korea": "KR",
    "indien": "IN",
    "india": "IN",
    "virgin islands, u.s.": "VI",
    "förenade arabemiraten": "AE",
    "united arab emirates": "AE",
    "israel": "IL",
    "sydafrika": "ZA",
    "south africa": "ZA",
    "brasilien": "BR",
    "brazil": "BR",
    "mexiko": "MX",
    "mexico": "MX",
    "singapore": "SG",
}
#: ``DeliveryState`` values (the SDK's enum [U]; "delivery" [V]): stock handling, not status
DELIVERY_STATES = ("registration", "reservation", "delivery")
_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def order_id(record: Any) -> str:
    """The order's ``DocumentNumber`` as text; ``"?"`` when unreadable."""
    return (key_text(record.get("DocumentNumber")) if isinstance(record, Mapping) else "") or "?"


def product_id(record: Any) -> str:
    """The article's ``ArticleNumber``; ``"?"`` when unreadable."""
    return (key_text(record.get("ArticleNumber")) if isinstance(record, Mapping) else "") or "?"


def stock_id(record: Any) -> str:
    """``ArticleNumber`` (article mode) or ``ItemId`` (warehouse mode); ``"?"`` if neither."""
    if not isinstance(record, Mapping):
        return "?"
    return key_text(record.get("ArticleNumber")) or key_text(record.get("ItemId")) or "?"


def country_code(value: str) -> str | None:
    """An ISO code for a Fortnox country name (or code); ``None`` when unknown."""
    text = " ".join(value.split())
    if _ISO2.match(text):
        return text.upper()
    return COUNTRY_NAMES.get(text.lower())


class _Reader(FieldReader):
    """Typed access to one part of a record; every failure names the Fortnox field."""

    def country(self, key: str) -> str:
        """``key``'s country as ISO code; ``""`` when empty or ``null``; a name
        :data:`COUNTRY_NAMES` does not know is a RecordError (never a guess)."""
        text = self.text(key)
        if not text:
            return ""
        code = country_code(text)
        if code is None:
            raise self.fail(
                key,
                f"unknown country {text[:60]!r} (expected a Fortnox country name or an ISO code)",
            )
        return code


def _zone(record: Mapping[str, Any], entity: str, source_id: str) -> ZoneInfo:
    name = str(record.get(TIMEZONE_KEY) or DEFAULT_TIMEZONE)
    try:
        return time_zone(name)
    except ValueError as err:
        raise RecordError(entity, source_id, TIMEZONE_KEY, str(err)) from None


# --- orders ----------------------------------------------------------------------------


def _address(
    r: _Reader, line_key: str, zip_key: str, city_key: str, country: str, country_key: str
) -> Address:
    """One address of ``r`` (any part may be empty or ``null``: real accounts hold them)."""
    return one_line_address(
        r,
        (r.text(line_key), line_key),
        (r.text(zip_key), zip_key),
        (r.text(city_key), city_key),
        (country, country_key),
    )


def _has_any(r: _Reader, *keys: str) -> bool:
    return any(r.text(k) for k in keys)


def _customer_country(c: _Reader) -> tuple[str, str]:
    """The customer's country (``CountryCode``, else its ``Country`` name) and its field."""
    code = c.text("CountryCode")
    if code:
        if not _ISO2.match(code):
            raise c.fail("CountryCode", f"expected an ISO country code, got {code[:20]!r}")
        return code.upper(), "CountryCode"
    return c.country("Country"), "Country"


def _billing(r: _Reader, c: _Reader) -> Address:
    """The order's own address, else the customer's; the country where either has one."""
    customer_country, customer_key = _customer_country(c)
    if _has_any(r, "Address1", "ZipCode", "City"):
        country = r.country("Country")
        key = "Country"
        if not country:
            country, key = customer_country, f"customer.{customer_key}"
        return _address(r, "Address1", "ZipCode", "City", country, key)
    country = r.country("Country") or customer_country
    return _address(c, "Address1", "ZipCode", "City", country, customer_key)


def _email(r: _Reader, c: _Reader) -> tuple[str, str]:
    """The customer's ``Email``, else the order's ``EmailInformation.EmailAddressTo``, else
    ``""`` (allowed: the customer is then known by its number); with the field read."""
    email = c.text("Email")
    if email:
        return email, "customer.Email"
    info = r.raw.get("EmailInformation")
    if isinstance(info, Mapping):
        to = _Reader(info, r.entity, r.source_id, prefix="EmailInformation.")
        if address := to.text("EmailAddressTo"):
            return address, "EmailInformation.EmailAddressTo"
    return "", "customer.Email"


def _customer(r: _Reader, oid: str) -> Customer:
    if CUSTOMER_KEY not in r.raw:  # not embedded (a bare API body): the order's own copy
        raw: Any = {}
    else:
        raw = r.raw[CUSTOMER_KEY]
        if not isinstance(raw, Mapping):
            number = r.text("CustomerNumber")
            raise r.fail("CustomerNumber", f"customer {number or '(none)'} not found in Fortnox")
    c = _Reader(raw, "order", oid, prefix="customer.")
    kind_text = c.text("Type").upper() or "COMPANY"  # [V] Fortnox's default
    if kind_text not in ("COMPANY", "PRIVATE"):
        raise c.fail("Type", f"expected COMPANY or PRIVATE, got {raw.get('Type')!r}")
    is_company = kind_text == "COMPANY"
    name = c.text("Name") or r.text("CustomerName")
    if not name:
        raise c.fail("Name", "missing or empty (and the order has no CustomerName)")
    email, email_key = _email(r, c)
    if is_company:
        first, _, last = (r.text("YourReference") or c.text("YourReference")).partition(" ")
    else:
        first, _, last = name.partition(" ")
    billing = _billing(r, c)
    number = c.text("CustomerNumber") or r.text("CustomerNumber")
    phone = c.text("Phone1") or c.text("Phone2") or r.text("Phone1")
    names = {
        "email": email_key,
        "company_name": "customer.Name",
        "first_name": "customer.Name",
        "last_name": "customer.Name",
        "vat_number": "customer.VATNumber",
        "phone": "customer.Phone1",
        "customer_number": "CustomerNumber",
        "": "customer.Name",
    }
    return r.build(
        lambda: Customer(
            kind=CustomerKind.COMPANY if is_company else CustomerKind.PERSON,
            email=email,
            customer_number=number,
            first_name=first.strip(),
            last_name=last.strip(),
            company_name=name if is_company else "",
            vat_number=c.text("VATNumber") if is_company else "",
            phone=phone,
            billing_address=billing,
        ),
        names,
    )


def _shipping(r: _Reader, billing: Address) -> Address:
    """The order's delivery address when it has one, else the billing address."""
    if not _has_any(r, "DeliveryAddress1", "DeliveryZipCode", "DeliveryCity"):
        return billing
    country = r.country("DeliveryCountry") or billing.country
    return _address(
        r, "DeliveryAddress1", "DeliveryZipCode", "DeliveryCity", country, "DeliveryCountry"
    )


def _is_text_row(row: Mapping[str, Any]) -> bool:
    """A comment row: no article, quantity or price."""

    def empty(value: Any) -> bool:
        if value in (None, ""):
            return True
        try:
            return Decimal(str(value)) == 0
        except InvalidOperation:
            return False

    return not key_text(row.get("ArticleNumber")) and all(
        empty(row.get(k)) for k in ("OrderedQuantity", "Price")
    )


_LINE = LineKeys(
    sku="ArticleNumber", quantity="OrderedQuantity", price="Price", rate="VAT", discount="Discount"
)


def _line(raw: Mapping[str, Any], n: int, oid: str, vat_included: bool) -> OrderLine:
    """One ``OrderRow`` -> OrderLine (unit prices before the discount, as the model wants)."""
    r = _Reader(raw, "order", oid, prefix=f"OrderRows[{n}].")
    qty = ordered_quantity(r, "OrderedQuantity")
    price = r.decimal("Price")
    rate = r.rate("VAT")
    kind = r.text("DiscountType").upper() or "PERCENT"
    if kind == "PERCENT":
        discount = qty * price * r.percentage("Discount", default=Decimal(0)) / 100
    elif kind == "AMOUNT":
        discount = r.decimal("Discount", default=Decimal(0))
    else:
        raise r.fail("DiscountType", f"expected PERCENT or AMOUNT, got {raw.get('DiscountType')!r}")
    return priced_line(
        r, _LINE, quantity=qty, price=price, discount=discount, rate=rate, includes_vat=vat_included
    )


def _delivered(rows: list[Mapping[str, Any]]) -> bool:
    """Every article row delivered in full (``DeliveredQuantity`` >= ``OrderedQuantity``)."""
    if not rows:
        return False
    for row in rows:
        try:
            ordered = Decimal(str(row.get("OrderedQuantity")).strip())
            delivered = Decimal(str(row.get("DeliveredQuantity")).strip())
        except InvalidOperation:
            return False
        if not (delivered.is_finite() and delivered >= ordered > 0):
            return False
    return True


def _status(r: _Reader, article_rows: list[Mapping[str, Any]]) -> str:
    """What the order is, in Fortnox's own terms (see the module docstring)."""
    if r.flag("Cancelled", default=False):
        return "cancelled"
    if key_text(r.raw.get("InvoiceReference")) not in ("", "0"):
        return "invoiced"
    if r.flag("NotCompleted", default=False):
        return "draft"
    state = r.text("DeliveryState").lower()
    if state and state not in DELIVERY_STATES:  # read so a new value is noticed, not used
        raise r.fail(
            "DeliveryState", f"expected one of {', '.join(DELIVERY_STATES)}, got {state[:40]!r}"
        )
    if _delivered(article_rows):
        return "delivered"
    return "open"


def _order_date(r: _Reader, tz: ZoneInfo) -> datetime:
    text = r.text("OrderDate", required=True)
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise r.fail("OrderDate", f"not a date (yyyy-MM-dd): {text!r}") from None
    return datetime.combine(day, time(), tzinfo=tz)


def _currency(r: _Reader) -> str:
    text = r.text("Currency")
    if not text:
        raise r.fail("Currency", "missing: Fortnox gives every order its currency")
    if not _CURRENCY.match(text):
        raise r.fail("Currency", f"expected an ISO currency code, got {text[:20]!r}")
    return text.upper()


def _charge(r: _Reader, key: str, top_rate: Decimal, vat_included: bool) -> tuple[Decimal, Decimal]:
    """(excl., incl.) of a charge on no row (``Freight``, ``AdministrationFee``) given in the
    order's basis: its VAT is Fortnox's own ``{key}VAT`` when set, else at the order's
    highest row rate (the rate a charge on the whole order is taxed at)."""
    amount = r.decimal(key, default=Decimal(0))
    if r.has(f"{key}VAT"):
        vat = r.decimal(f"{key}VAT")
    else:
        vat = amount * top_rate / (1 + top_rate) if vat_included else amount * top_rate
    return (amount - vat, amount) if vat_included else (amount, amount + vat)


def order_from_fortnox(record: Mapping[str, Any]) -> Order:
    """Translate one order record (see the module docstring for its shape and decisions);
    ``RecordError`` naming the Fortnox field when unusable."""
    oid = order_id(record)
    if not isinstance(record, Mapping):
        raise RecordError("order", oid, "", "record is not a JSON object")
    r = _Reader(record, "order", oid)
    number = r.text("DocumentNumber", required=True)
    tz = _zone(record, "order", oid)
    vat_included = r.flag("VATIncluded", default=False)
    rows = record.get("OrderRows")
    if not isinstance(rows, list):
        raise r.fail("OrderRows", "expected a list of rows")
    lines: list[OrderLine] = []
    article_rows: list[Mapping[str, Any]] = []
    for n, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise r.fail(f"OrderRows[{n}]", "not an object")
        if not _is_text_row(row):
            lines.append(_line(row, n, oid, vat_included))
            article_rows.append(row)
    if not lines:
        raise r.fail("OrderRows", "the order has no article rows: nothing to book")
    currency = _currency(r)
    customer = _customer(r, oid)
    shipping = _shipping(r, customer.billing_address)
    created = _order_date(r, tz)
    changed = r.timestamp_or_none(CHANGED_BEFORE_KEY)
    updated = changed if changed is not None and changed >= created else created
    top_rate = max(ln.tax_rate for ln in lines)
    # the administration fee is taxed like freight [U: AdministrationFeeVAT, no recording
    # with a fee]; it is part of Total, so the flow's totals check counts it
    fee_excl, fee_incl = _charge(r, "AdministrationFee", top_rate, vat_included)
    ship_excl, ship_incl = _charge(r, "Freight", top_rate, vat_included)
    # Fortnox's own totals, never recomputed: the flow checks them against the lines
    total_incl = r.decimal("Total") - r.decimal("RoundOff", default=Decimal(0))
    total_excl = total_incl - r.decimal("TotalVAT")
    status = _status(r, article_rows)
    names = {
        "number": "DocumentNumber",
        "status": "Cancelled",
        "currency": "Currency",
        "created_at": "OrderDate",
        "updated_at": CHANGED_BEFORE_KEY,
        "lines": "OrderRows",
        "total_excl": "TotalVAT",
        "total_incl": "Total",
        "shipping_cost_excl": "Freight",
        "shipping_cost_incl": "Freight",
        "fee_excl": "AdministrationFee",
        "fee_incl": "AdministrationFee",
        "payment_method": "TermsOfPayment",
        "shipping_method": "WayOfDelivery",
        "ref": "DocumentNumber",
        "shipping_address": "DeliveryAddress1",
        "": "DocumentNumber",
    }
    return r.build(
        lambda: Order(
            ref=ExternalRef(system=SYSTEM, id=number),
            number=number,
            status=status,
            created_at=created,
            updated_at=updated,
            currency=currency,
            customer=customer,
            shipping_address=shipping,
            lines=tuple(lines),
            total_excl=q4(total_excl),
            total_incl=q4(total_incl),
            shipping_method=r.text("WayOfDelivery"),
            shipping_cost_excl=q4(ship_excl),
            shipping_cost_incl=q4(ship_incl),
            fee_excl=q4(fee_excl),
            fee_incl=q4(fee_incl),
            payment_method=r.text("TermsOfPayment"),
        ),
        names,
    )


# --- products ----------------------------------------------------------------------------


def product_from_fortnox(record: Mapping[str, Any], *, currency: str) -> Product:
    """One article -> a simple product; ``RecordError`` (entity ``product``) naming the
    Fortnox field. ``currency`` is the connection's (articles carry none [V])."""
    source_id = product_id(record)
    if not isinstance(record, Mapping):
        raise RecordError("product", source_id, "", "record is not a JSON object")
    r = _Reader(record, "product", source_id)
    sku = r.text("ArticleNumber", required=True)
    title = r.text("Description", required=True)
    if record.get("SalesPrice") in (None, ""):
        raise r.fail(
            "SalesPrice",
            "the article has no sales price (none in Fortnox's default "
            "price list): set one to sync it, a till item needs a price",
        )
    price = r.decimal("SalesPrice")
    rate = r.rate("VAT")
    stock_goods = r.flag("StockGoods", default=False)
    quantity = r.decimal("QuantityInStock", default=Decimal(0)) if stock_goods else None
    updated = r.timestamp_or_none(CHANGED_BEFORE_KEY)
    if updated is None:
        raise r.fail(
            CHANGED_BEFORE_KEY,
            "no read time: Fortnox articles carry no modification time, the source stamps one",
        )
    visible = r.flag("Active", default=True) and r.flag("WebshopArticle", default=True)
    ean = r.text("EAN")
    names = {
        "sku": "ArticleNumber",
        "ean": "EAN",
        "title": "Description",
        "price_excl": "SalesPrice",
        "price_incl": "SalesPrice",
        "tax_rate": "VAT",
        "quantity": "QuantityInStock",
        "currency": "currency",
        "brand": "Manufacturer",
        "variants": "ArticleNumber",
        "updated_at": CHANGED_BEFORE_KEY,
        "ref": "ArticleNumber",
        "": "ArticleNumber",
    }
    variant = r.build(
        lambda: Variant(
            sku=sku,
            ean=ean,
            title=title,
            price_excl=q4(price),
            price_incl=q4(price * (1 + rate)),
            quantity=quantity,
        ),
        names,
    )
    return r.build(
        lambda: Product(
            ref=ExternalRef(system=SYSTEM, id=sku),
            sku=sku,
            ean=ean,
            title=title,
            brand=r.text("Manufacturer"),
            visible=visible,
            currency=currency,
            tax_rate=rate,
            variants=(variant,),
            updated_at=updated,
        ),
        names,
    )


# --- stock -------------------------------------------------------------------------------


def _ci(row: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """``row[name]`` whatever its case (the warehouse API's casing is [U]) -> (key, value)."""
    wanted = name.lower()
    for key, value in row.items():
        if key.lower() == wanted:
            return key, value
    return name, None


def _warehouse_stock(record: Mapping[str, Any], source_id: str) -> StockLevel:
    r = _Reader(record, "stock", source_id)
    sku = r.text("ItemId", required=True)
    rows = record.get(BALANCES_KEY)
    if not isinstance(rows, list):
        raise r.fail(BALANCES_KEY, "expected a list of stock balances")
    point = r.text(STOCK_POINT_KEY)
    locations: dict[str, Decimal] = {}
    reserved_at: dict[str, Decimal] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise r.fail(f"{BALANCES_KEY}[{i}]", "not an object")
        b = _Reader(row, "stock", source_id, prefix=f"{BALANCES_KEY}[{i}].")
        code_key, _ = _ci(row, "StockPointCode")
        code = b.text(code_key, required=True)
        in_key, _ = _ci(row, "InStock")
        in_stock = b.decimal(in_key)
        if in_stock < 0:
            raise b.fail(in_key, f"negative stock {in_stock} at stock point {code}")
        avail_key, avail_raw = _ci(row, "AvailableStock")
        available = b.decimal(avail_key) if avail_raw not in (None, "") else in_stock
        locations[code] = locations.get(code, Decimal(0)) + in_stock
        reserved_at[code] = reserved_at.get(code, Decimal(0)) + max(
            Decimal(0), in_stock - available
        )
    if point:
        on_hand = locations.get(point, Decimal(0))
        reserved = reserved_at.get(point, Decimal(0))
    else:
        on_hand = sum(locations.values(), Decimal(0))
        reserved = sum(reserved_at.values(), Decimal(0))
    return r.build(
        lambda: StockLevel(
            sku=sku, on_hand=on_hand, reserved=reserved, locations=locations, managed=True
        ),
        {"sku": "ItemId", "": BALANCES_KEY},
    )


def stock_from_fortnox(record: Mapping[str, Any]) -> StockLevel:
    """One stock record (see the module docstring) -> its level; ``RecordError`` (entity
    ``stock``) naming the field, e.g. a negative ``QuantityInStock``: the target would
    either reject it or sell stock that is not there."""
    source_id = stock_id(record)
    if not isinstance(record, Mapping):
        raise RecordError("stock", source_id, "", "record is not a JSON object")
    if BALANCES_KEY in record:
        return _warehouse_stock(record, source_id)
    r = _Reader(record, "stock", source_id)
    sku = r.text("ArticleNumber", required=True)
    managed = r.flag("StockGoods", default=True)
    on_hand = r.decimal("QuantityInStock", default=None if managed else Decimal(0))
    if on_hand < 0:
        raise r.fail("QuantityInStock", f"negative stock {on_hand}")
    reserved = r.decimal("ReservedQuantity", default=Decimal(0))
    if reserved < 0:
        raise r.fail("ReservedQuantity", f"negative reservation {reserved}")
    return r.build(
        lambda: StockLevel(
            sku=sku, ean=r.text("EAN"), on_hand=on_hand, reserved=reserved, managed=managed
        ),
        {
            "sku": "ArticleNumber",
            "on_hand": "QuantityInStock",
            "reserved": "ReservedQuantity",
            "managed": "StockGoods",
        },
    )
