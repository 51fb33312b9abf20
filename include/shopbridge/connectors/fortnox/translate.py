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
(``OrderRows[2].OrderedQuantity``, ``customer.Email``) so a person can find it in Fortnox.

Decisions, and why:

* Fortnox records carry **no modification time**. An order's ``created_at`` is its
  ``OrderDate`` at midnight in the tenant's zone; ``updated_at`` (and a product's) is
  ``@ChangedBefore``: the window's end, an upper bound of the change the window saw.
* Prices: ``Price`` is excl. VAT unless the order's ``VATIncluded`` says incl.; the other
  basis is derived at 4 decimals. ``Discount`` is a percentage of the row (``DiscountType
  PERCENT``) or an amount for the whole row (``AMOUNT``, ASSUMPTION [U]: per row, not per
  unit), in the order's price basis. ``VAT`` is a percentage (25 -> 0.25).
* A row without ``ArticleNumber``, quantity and price is a text row (a comment): skipped.
* ``Freight`` is the shipping cost in the order's basis; its VAT is ``FreightVAT`` when
  Fortnox sends it, else the highest row rate. Totals are Fortnox's own: ``Total`` incl.
  VAT and ``Total - TotalVAT`` excl. (ASSUMPTION [U]: ``Total`` includes ``RoundOff``);
  without them they are summed from the rows and freight.
* ``status``: ``cancelled`` (``Cancelled``), ``invoiced`` (``InvoiceReference`` set),
  ``delivered`` (``DeliveryState`` ``delivery`` [U]), else ``open``. ``payment_method`` is
  ``TermsOfPayment``, ``shipping_method`` ``WayOfDelivery`` (Fortnox codes: a mapping
  table names them for the target).
* Customer (embedded): ``Type`` ``COMPANY`` is a company with ``YourReference`` as the
  contact person [U]; ``PRIVATE`` is a person whose ``Name`` splits at the first blank.
  ``Email`` is required. The billing address is the customer's (``CountryCode`` is ISO);
  shipping is the order's ``Delivery*`` when ``DeliveryAddress1`` is set, else billing.
  The order's ``Country``/``DeliveryCountry`` are country *names* (ASSUMPTION [U]: Swedish
  or English), read through :data:`COUNTRY_NAMES`; an ISO code is accepted as well.
* Addresses have one street line (``"Kerkstraat 12A"``), split into street, number and
  extension by :func:`split_street`.
* Products: every article is a simple product (Fortnox has no variants [U]): SKU
  ``ArticleNumber``, EAN, title ``Description``, brand ``Manufacturer``, price
  ``SalesPrice`` (the default price list's, read-only on the article; ASSUMPTION [U]: excl.
  VAT) in the connection's currency. Visible means ``Active`` and ``WebshopArticle``
  (Fortnox's own "sell online" flag; a missing flag counts as set). No images: Fortnox
  articles have none.
* Stock: article mode is ``QuantityInStock`` (on hand) and ``ReservedQuantity`` (open
  orders), managed = ``StockGoods``. Warehouse mode reports ``inStock`` per stock point
  under ``locations``; the level is the configured stock point's (else the sum), and
  reserved is ``inStock - availableStock``. Negative stock is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from shopbridge.connectors._fields import FieldReader, time_zone
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
DEFAULT_CURRENCY = "SEK"
DEFAULT_TIMEZONE = "Europe/Stockholm"
DEFAULT_STATUS = "open"
#: keys the source adds to a vendor record
CUSTOMER_KEY = "Customer"
TIMEZONE_KEY = "@Timezone"
CHANGED_BEFORE_KEY = "@ChangedBefore"
BALANCES_KEY = "StockBalances"
STOCK_POINT_KEY = "@StockPoint"

#: country name (lower case) -> ISO code; ASSUMPTION [U]: Fortnox writes order countries
#: as names in Swedish (its own register) or English
COUNTRY_NAMES: dict[str, str] = {
    "sverige": "SE", "sweden": "SE", "norge": "NO", "norway": "NO", "danmark": "DK",
    "denmark": "DK", "finland": "FI", "island": "IS", "iceland": "IS",
    "nederländerna": "NL", "netherlands": "NL", "the netherlands": "NL", "holland": "NL",
    "belgien": "BE", "belgium": "BE", "tyskland": "DE", "germany": "DE",
    "frankrike": "FR", "france": "FR", "storbritannien": "GB", "united kingdom": "GB",
    "great britain": "GB", "england": "GB", "irland": "IE", "ireland": "IE",
    "spanien": "ES", "spain": "ES", "italien": "IT", "italy": "IT", "portugal": "PT",
    "österrike": "AT", "austria": "AT", "schweiz": "CH", "switzerland": "CH",
    "polen": "PL", "poland": "PL", "luxemburg": "LU", "luxembourg": "LU",
    "estland": "EE", "estonia": "EE", "lettland": "LV", "latvia": "LV",
    "litauen": "LT", "lithuania": "LT", "usa": "US", "united states": "US",
}
_Q4 = Decimal("0.0001")
_CENT = Decimal("0.01")
_ISO2 = re.compile(r"^[A-Za-z]{2}$")
_NUMBER_LAST = re.compile(r"^(?P<street>.*?\D)\s*(?P<number>\d+)\s*(?P<ext>[^\s\d]\S{0,7}"
                          r"|[-/]\d+\S{0,4})?$")
_NUMBER_FIRST = re.compile(r"^(?P<number>\d+)\s*(?P<ext>[A-Za-z]{0,3})[,\s]+(?P<street>\D.*)$")

T = TypeVar("T")


def q4(value: Decimal) -> Decimal:
    """Four decimals, half up: the canonical model's precision."""
    return value.quantize(_Q4, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _key_text(value: Any) -> str:
    if value is None or isinstance(value, bool | Mapping | list):
        return ""
    return str(value).strip()


def order_id(record: Any) -> str:
    """The order's ``DocumentNumber`` as text; ``"?"`` when unreadable."""
    return (_key_text(record.get("DocumentNumber")) if isinstance(record, Mapping) else "") or "?"


def product_id(record: Any) -> str:
    """The article's ``ArticleNumber``; ``"?"`` when unreadable."""
    return (_key_text(record.get("ArticleNumber")) if isinstance(record, Mapping) else "") or "?"


def stock_id(record: Any) -> str:
    """``ArticleNumber`` (article mode) or ``ItemId`` (warehouse mode); ``"?"`` if neither."""
    if not isinstance(record, Mapping):
        return "?"
    return _key_text(record.get("ArticleNumber")) or _key_text(record.get("ItemId")) or "?"


def split_street(line: str) -> tuple[str, str, str]:
    """One address line -> (street, house number, extension).

    ``"Kerkstraat 12A"`` -> ``("Kerkstraat", "12", "A")``; ``"12 High Street"`` ->
    ``("High Street", "12", "")``; ``"Storgatan"`` -> ``("Storgatan", "", "")``.
    """
    text = " ".join(line.split())
    m = _NUMBER_LAST.match(text) or _NUMBER_FIRST.match(text)
    if m is None or not m["street"].strip(" ,"):
        return text, "", ""
    return m["street"].strip(" ,"), m["number"], (m["ext"] or "").strip()


def country_code(value: str) -> str | None:
    """An ISO code for a Fortnox country name (or code); ``None`` when unknown."""
    text = value.strip()
    if _ISO2.match(text):
        return text.upper()
    return COUNTRY_NAMES.get(text.lower())


class _Reader(FieldReader):
    """Typed access to one part of a record; every failure names the Fortnox field."""


def _zone(record: Mapping[str, Any], entity: str, source_id: str) -> ZoneInfo:
    name = str(record.get(TIMEZONE_KEY) or DEFAULT_TIMEZONE)
    try:
        return time_zone(name)
    except ValueError as err:
        raise RecordError(entity, source_id, TIMEZONE_KEY, str(err)) from None


def _changed_before(r: _Reader) -> datetime | None:
    text = r.text(CHANGED_BEFORE_KEY)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise r.fail(CHANGED_BEFORE_KEY, f"not a timestamp: {text!r}") from None
    if when.tzinfo is None:
        raise r.fail(CHANGED_BEFORE_KEY, f"timestamp without offset: {text!r}")
    return when


# --- orders ----------------------------------------------------------------------------

def _address(r: _Reader, line_key: str, zip_key: str, city_key: str, country: str,
             country_key: str) -> Address:
    line = r.text(line_key, required=True)
    city = r.text(city_key, required=True)
    street, number, ext = split_street(line)
    names = {"street": line_key, "house_number": line_key, "house_number_ext": line_key,
             "postcode": zip_key, "city": city_key, "country": country_key}
    return r.build(lambda: Address(street=street, house_number=number, house_number_ext=ext,
                                   postcode=r.text(zip_key), city=city, country=country), names)


def _customer(record: Mapping[str, Any], oid: str) -> Customer:
    raw = record.get(CUSTOMER_KEY)
    if not isinstance(raw, Mapping):
        number = _key_text(record.get("CustomerNumber"))
        raise RecordError("order", oid, "CustomerNumber",
                          f"customer {number or '(none)'} not found in Fortnox")
    c = _Reader(raw, "order", oid, prefix="customer.")
    kind_text = c.text("Type").upper() or "COMPANY"  # ASSUMPTION [U]: Fortnox's default
    if kind_text not in ("COMPANY", "PRIVATE"):
        raise c.fail("Type", f"expected COMPANY or PRIVATE, got {raw.get('Type')!r}")
    is_company = kind_text == "COMPANY"
    name = c.text("Name", required=True)
    email = c.text("Email")
    if not email:
        raise c.fail("Email", "the customer has no e-mail address")
    if is_company:
        first, _, last = c.text("YourReference").partition(" ")
    else:
        first, _, last = name.partition(" ")
    code = c.text("CountryCode")
    country = country_code(code) if code else country_code(c.text("Country"))
    if country is None:
        given = raw.get("CountryCode") or raw.get("Country")
        raise c.fail("CountryCode" if code else "Country",
                     f"expected a country code, got {given!r}")
    billing = _address(c, "Address1", "ZipCode", "City", country,
                       "CountryCode" if code else "Country")
    names = {"email": "Email", "company_name": "Name", "first_name": "Name",
             "last_name": "Name", "vat_number": "VATNumber", "phone": "Phone1", "": "Name"}
    return c.build(lambda: Customer(
        kind=CustomerKind.COMPANY if is_company else CustomerKind.PERSON, email=email,
        first_name=first.strip(), last_name=last.strip(),
        company_name=name if is_company else "",
        vat_number=c.text("VATNumber") if is_company else "",
        phone=c.text("Phone1") or c.text("Phone2"), billing_address=billing), names)


def _is_text_row(row: Mapping[str, Any]) -> bool:
    """A comment row: no article, quantity or price."""
    def empty(value: Any) -> bool:
        if value in (None, ""):
            return True
        try:
            return Decimal(str(value)) == 0
        except InvalidOperation:
            return False
    return not _key_text(row.get("ArticleNumber")) and all(
        empty(row.get(k)) for k in ("OrderedQuantity", "Price"))


def _line(raw: Mapping[str, Any], n: int, oid: str, vat_included: bool) -> OrderLine:
    """One ``OrderRow`` -> OrderLine (unit prices before the discount, as the model wants)."""
    r = _Reader(raw, "order", oid, prefix=f"OrderRows[{n}].")
    sku = r.text("ArticleNumber", required=True)
    qty = r.decimal("OrderedQuantity")
    if qty <= 0:
        raise r.fail("OrderedQuantity", f"must be greater than 0 (returns are not synced), "
                                        f"got {qty}")
    price = r.decimal("Price")
    pct = r.decimal("VAT")
    if not 0 <= pct <= 100:
        raise r.fail("VAT", f"not a percentage: {pct}")
    rate = (pct / 100).normalize()
    discount = r.decimal("Discount", default=Decimal(0))
    kind = r.text("DiscountType").upper() or "PERCENT"
    if kind == "PERCENT":
        if not 0 <= discount <= 100:
            raise r.fail("Discount", f"not a percentage: {discount}")
        row_discount = qty * price * discount / 100
    elif kind == "AMOUNT":
        row_discount = discount
    else:
        raise r.fail("DiscountType", f"expected PERCENT or AMOUNT, got {raw.get('DiscountType')!r}")
    factor = 1 + rate
    if vat_included:
        incl, excl, d_incl, d_excl = price, price / factor, row_discount, row_discount / factor
    else:
        excl, incl, d_excl, d_incl = price, price * factor, row_discount, row_discount * factor
    names = {"sku": "ArticleNumber", "description": "Description", "quantity": "OrderedQuantity",
             "unit_price_excl": "Price", "unit_price_incl": "Price", "tax_rate": "VAT",
             "discount_excl": "Discount", "discount_incl": "Discount"}
    return r.build(lambda: OrderLine(
        sku=sku, description=r.text("Description"), quantity=q4(qty),
        unit_price_excl=q4(excl), unit_price_incl=q4(incl), tax_rate=rate,
        discount_excl=q4(d_excl), discount_incl=q4(d_incl)), names)


def _status(r: _Reader) -> str:
    if r.flag("Cancelled", default=False):
        return "cancelled"
    if _key_text(r.raw.get("InvoiceReference")) not in ("", "0"):
        return "invoiced"
    if r.text("DeliveryState").lower() == "delivery":
        return "delivered"
    return DEFAULT_STATUS


def _order_date(r: _Reader, tz: ZoneInfo) -> datetime:
    text = r.text("OrderDate", required=True)
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise r.fail("OrderDate", f"not a date (yyyy-MM-dd): {text!r}") from None
    return datetime.combine(day, time(), tzinfo=tz)


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
        raise r.fail("OrderRows", "the order has no rows")
    lines: list[OrderLine] = []
    for n, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise r.fail(f"OrderRows[{n}]", "not an object")
        if not _is_text_row(row):
            lines.append(_line(row, n, oid, vat_included))
    if not lines:
        raise r.fail("OrderRows", "the order has no article rows")
    customer = _customer(record, oid)
    shipping = customer.billing_address
    if r.text("DeliveryAddress1"):
        name = r.text("DeliveryCountry")
        country = country_code(name) if name else customer.billing_address.country
        if country is None:
            raise r.fail("DeliveryCountry", f"unknown country {name!r}")
        shipping = _address(r, "DeliveryAddress1", "DeliveryZipCode", "DeliveryCity", country,
                            "DeliveryCountry")
    created = _order_date(r, tz)
    changed = _changed_before(r)
    updated = changed if changed is not None and changed >= created else created
    freight = r.decimal("Freight", default=Decimal(0))
    top_rate = max(ln.tax_rate for ln in lines)
    freight_vat = (r.decimal("FreightVAT") if r.raw.get("FreightVAT") not in (None, "")
                   else (freight * top_rate / (1 + top_rate) if vat_included
                         else freight * top_rate))
    ship_excl, ship_incl = ((freight - freight_vat, freight) if vat_included
                            else (freight, freight + freight_vat))
    if record.get("Total") not in (None, "") and record.get("TotalVAT") not in (None, ""):
        total_incl = r.decimal("Total")
        total_excl = total_incl - r.decimal("TotalVAT")
    else:
        total_excl = cents(sum((ln.net_excl for ln in lines), Decimal(0)) + ship_excl)
        total_incl = cents(sum((ln.net_incl for ln in lines), Decimal(0)) + ship_incl)
    names = {"number": "DocumentNumber", "status": "Cancelled", "currency": "Currency",
             "created_at": "OrderDate", "updated_at": CHANGED_BEFORE_KEY, "lines": "OrderRows",
             "total_excl": "TotalVAT", "total_incl": "Total", "shipping_cost_excl": "Freight",
             "shipping_cost_incl": "Freight", "payment_method": "TermsOfPayment",
             "shipping_method": "WayOfDelivery", "ref": "DocumentNumber", "": "DocumentNumber"}
    return r.build(lambda: Order(
        ref=ExternalRef(system=SYSTEM, id=number), number=number, status=_status(r),
        created_at=created, updated_at=updated,
        currency=(r.text("Currency") or DEFAULT_CURRENCY).upper(), customer=customer,
        shipping_address=shipping, lines=tuple(lines), total_excl=q4(total_excl),
        total_incl=q4(total_incl), shipping_method=r.text("WayOfDelivery"),
        shipping_cost_excl=q4(ship_excl), shipping_cost_incl=q4(ship_incl),
        payment_method=r.text("TermsOfPayment")), names)


# --- products ----------------------------------------------------------------------------

def product_from_fortnox(record: Mapping[str, Any], *,
                         currency: str = DEFAULT_CURRENCY) -> Product:
    """One article -> a simple product; ``RecordError`` (entity ``product``) naming the
    Fortnox field. ``currency`` is the connection's (articles carry none)."""
    source_id = product_id(record)
    if not isinstance(record, Mapping):
        raise RecordError("product", source_id, "", "record is not a JSON object")
    r = _Reader(record, "product", source_id)
    sku = r.text("ArticleNumber", required=True)
    title = r.text("Description", required=True)
    price = r.decimal("SalesPrice")
    pct = r.decimal("VAT")
    if not 0 <= pct <= 100:
        raise r.fail("VAT", f"not a percentage: {pct}")
    rate = (pct / 100).normalize()
    stock_goods = r.flag("StockGoods", default=False)
    quantity = r.decimal("QuantityInStock", default=Decimal(0)) if stock_goods else None
    updated = _changed_before(r)
    if updated is None:
        raise r.fail(CHANGED_BEFORE_KEY, "no read time: Fortnox articles carry no "
                                         "modification time, the source stamps one")
    visible = r.flag("Active", default=True) and r.flag("WebshopArticle", default=True)
    ean = r.text("EAN")
    names = {"sku": "ArticleNumber", "ean": "EAN", "title": "Description",
             "price_excl": "SalesPrice", "price_incl": "SalesPrice", "tax_rate": "VAT",
             "quantity": "QuantityInStock", "currency": "currency", "brand": "Manufacturer",
             "variants": "ArticleNumber", "updated_at": CHANGED_BEFORE_KEY,
             "ref": "ArticleNumber", "": "ArticleNumber"}
    variant = r.build(lambda: Variant(sku=sku, ean=ean, title=title, price_excl=q4(price),
                                      price_incl=q4(price * (1 + rate)), quantity=quantity),
                      names)
    return r.build(lambda: Product(
        ref=ExternalRef(system=SYSTEM, id=sku), sku=sku, ean=ean, title=title,
        brand=r.text("Manufacturer"), visible=visible, currency=currency, tax_rate=rate,
        variants=(variant,), updated_at=updated), names)


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
        reserved_at[code] = reserved_at.get(code, Decimal(0)) + max(Decimal(0),
                                                                  in_stock - available)
    if point:
        on_hand = locations.get(point, Decimal(0))
        reserved = reserved_at.get(point, Decimal(0))
    else:
        on_hand = sum(locations.values(), Decimal(0))
        reserved = sum(reserved_at.values(), Decimal(0))
    return r.build(lambda: StockLevel(sku=sku, on_hand=on_hand, reserved=reserved,
                                      locations=locations, managed=True),
                   {"sku": "ItemId", "": BALANCES_KEY})


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
    return r.build(lambda: StockLevel(sku=sku, on_hand=on_hand, reserved=reserved,
                                      managed=managed),
                   {"sku": "ArticleNumber", "on_hand": "QuantityInStock",
                    "reserved": "ReservedQuantity", "managed": "StockGoods"})
