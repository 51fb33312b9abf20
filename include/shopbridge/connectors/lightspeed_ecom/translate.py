"""Lightspeed eCom JSON → canonical orders, customers, products and stock. Pure: no I/O.

Input is the order as ``GET orders/{id}.json`` returns it, with its lines embedded the way
webhook payloads embed relations::

    raw["products"] == {"resource": {"id": ..., "url": ..., "link": ..., "embedded": [...]}}

Every problem raises :class:`RecordError` whose ``field`` is the vendor path
(``addressBillingCountry.code``, ``lines[2].quantityOrdered``) so a person can find it in
the shop's back office. Money goes through ``Decimal(str(x))``: the API sends JSON numbers.

Products arrive the same way: the product with its ``variants``, ``images``,
``categories`` (each with its ``parent`` chain), ``attributes`` and ``brand`` embedded by
the source (see :func:`product_from_lightspeed`); stock is one variant as listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

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


# --- products and stock ----------------------------------------------------------------

#: ASSUMPTION: the SKU of a configurable product's parent. Lightspeed products have no SKU
#: of their own (only their variants do), so the parent is keyed on the product id.
PARENT_SKU = "P-{id}"
#: ASSUMPTION [U]: the title of a simple product's only variant
SIMPLE_VARIANT_TITLE = "Default"
#: ASSUMPTION [U]: a variant's options are in its title, ``"Colour: black, Size: M"``
_OPTION = re.compile(r"^\s*([^:]+?)\s*:\s*(.+?)\s*$")
_VARIANT = {"sku": "sku", "ean": "ean", "title": "title", "price_excl": "priceExcl",
            "price_incl": "priceIncl", "attributes": "title", "quantity": "stockLevel"}
_PRODUCT = {"ref": "id", "sku": "variants", "ean": "variants", "title": "title",
            "description": "content", "short_description": "description", "brand": "brand",
            "visible": "isVisible", "tax_rate": "variants", "categories": "categories",
            "images": "images", "features": "attributes", "variants": "variants",
            "updated_at": "updatedAt"}
_STOCK = {"sku": "sku", "on_hand": "stockLevel", "managed": "stockTracking"}


def product_id(raw: Mapping[str, Any]) -> str:
    """The product's id as text; readable even when everything else is malformed."""
    return order_id(raw)


def stock_id(raw: Mapping[str, Any]) -> str:
    """The variant's id as text (a stock record is a variant)."""
    return order_id(raw)


def _embedded(r: _Reader, key: str) -> list[Mapping[str, Any]]:
    """The embedded rows of to-many relation ``key``; ``false`` (empty) reads as none."""
    value = r.raw.get(key)
    if value is None or value is False:
        return []
    resource = value.get("resource") if isinstance(value, Mapping) else None
    if not isinstance(resource, Mapping) or "embedded" not in resource:
        raise r.fail(key, "relation is not embedded (the source embeds it before translation)")
    rows = resource["embedded"]
    if not isinstance(rows, list):
        raise r.fail(key, f"expected a list, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise r.fail(f"{key}[{i}]", f"expected an object, got {type(row).__name__}")
    return rows


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


def _variant_options(r: _Reader, ordered: list[tuple[int, Mapping[str, Any]]]
                     ) -> list[dict[str, str]]:
    """Each variant's attributes. A lone variant is a simple product unless its title
    names options; with several, every title must name the same options, with a
    different combination of values each (or the target cannot tell them apart)."""
    titles = [(i, _Reader(row, r.source_id, prefix=f"variants[{i}].", entity="product")
                  .text("title")) for i, row in ordered]
    if len(titles) == 1:
        return [options_from_title(titles[0][1]) or {}]
    out: list[dict[str, str]] = []
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    first_names: tuple[int, set[str]] | None = None
    for i, title in titles:
        options = options_from_title(title)
        if not options:
            raise r.fail(f"variants[{i}].title",
                         f"cannot read the options from {title!r} (expected 'Name: value, ...')")
        if first_names is None:
            first_names = (i, set(options))
        elif set(options) != first_names[1]:
            raise r.fail(f"variants[{i}].title",
                         f"options {sorted(options)} differ from variants[{first_names[0]}]'s "
                         f"{sorted(first_names[1])}")
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
    sku = r.text("sku", required=True)
    title = r.text("title")
    return r.build(lambda: Variant(
        sku=sku, ean=r.text("ean"), title="" if title == SIMPLE_VARIANT_TITLE else title,
        price_excl=r.decimal("priceExcl"), price_incl=r.decimal("priceIncl"),
        attributes=attributes, quantity=_quantity(r),
    ), _VARIANT, "title")


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
        titles.append(_Reader(node, r.source_id, prefix=f"{field}.", entity="product")
                      .text("title", required=True))
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
        title = "" if attribute is None else _Reader(
            attribute, r.source_id, prefix=f"attributes[{i}].attribute.",
            entity="product").text("title")
        if not title:
            raise ar.fail("attribute", "attribute has no title")
        value = ar.text("value")
        if not value:
            continue
        out[title] = f"{out[title]}, {value}" if title in out else value
    return out


def product_from_lightspeed(raw: Mapping[str, Any]) -> Product:
    """Translate one product with its relations embedded; raise :class:`RecordError`
    (entity ``product``) naming the vendor field, e.g. ``variants[1].sku``.

    A product with one variant whose title names no options is simple: its SKU and EAN are
    the variant's. Otherwise it is configurable and its own SKU is ``P-{id}`` (ASSUMPTION,
    see :data:`PARENT_SKU`). ``content`` is the long (HTML) description, ``description``
    the short one. Visible means ``isVisible`` (``visibility != "hidden"`` when absent).
    ASSUMPTION: prices are in the shop's currency, EUR (products carry no currency).
    """
    source_id = product_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("product", source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id, entity="product")
    if raw.get("id") in (None, False, ""):
        raise r.fail("id", "missing")
    title = r.text("title") or r.text("fulltitle")
    if not title:
        raise r.fail("title", "missing or empty")
    ordered = _sorted(_embedded(r, "variants"))
    if not ordered:
        raise r.fail("variants", "product has no variants")
    options = _variant_options(r, ordered)
    variants = tuple(
        _variant(_Reader(row, source_id, prefix=f"variants[{i}].", entity="product"), attrs)
        for (i, row), attrs in zip(ordered, options, strict=True))
    configurable = len(variants) > 1 or any(v.attributes for v in variants)
    brand = _embedded_one(r, "brand")
    brand_title = "" if brand is None else _Reader(
        brand, source_id, prefix="brand.", entity="product").text("title", required=True)
    visible = r.flag("isVisible") if "isVisible" in raw else r.text("visibility") != "hidden"
    tax_rate = _tax_rate(r, ordered)
    extra: dict[str, Any] = {} if tax_rate is None else {"tax_rate": tax_rate}
    return r.build(lambda: Product(
        ref=ExternalRef(system=SYSTEM, id=source_id),
        sku=PARENT_SKU.format(id=source_id) if configurable else variants[0].sku,
        ean="" if configurable else variants[0].ean, title=title,
        description=r.text("content"), short_description=r.text("description"),
        brand=brand_title, visible=visible, currency=DEFAULT_CURRENCY,
        categories=_categories(r), images=_images(r), features=_features(r),
        variants=variants, updated_at=r.timestamp("updatedAt"), **extra,
    ), _PRODUCT, "")


def stock_from_lightspeed(raw: Mapping[str, Any]) -> StockLevel:
    """One variant -> its stock; raise :class:`RecordError` (entity ``stock``).

    ``managed`` is ``stockTracking == "enabled"``; an untracked variant without a level
    reads as 0. A negative level is refused (``stockLevel``): the target would either
    reject it or sell stock that is not there.

    ASSUMPTION: ``reserved`` is 0. Lightspeed lowers ``stockLevel`` when an order is placed,
    so the level is already net of open sales reservations; subtracting them again would
    count them twice. Lightspeed eCom keeps one stock level per variant: no ``locations``.
    """
    source_id = stock_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("stock", source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id, entity="stock")
    sku = r.text("sku", required=True)
    managed = raw.get("stockTracking") == "enabled"
    level = r.decimal("stockLevel", default=None if managed else Decimal("0"))
    if level < 0:
        raise r.fail("stockLevel", f"negative stock level {level}")
    return r.build(lambda: StockLevel(sku=sku, on_hand=level, reserved=Decimal("0"),
                                      locations={}, managed=managed), _STOCK, "stockLevel")


# --- shipments and checkouts -------------------------------------------------------------

#: the vendor's shipment status that counts as shipped; every other value (``not_shipped``,
#: ``partially_shipped``, ``cancelled``) reads as ``not_shipped`` (see :class:`Shipment`)
SHIPPED = "shipped"
_SHIPMENT = {"ref": "id", "order_ref": "order", "status": "status",
             "tracking_code": "trackingCode", "updated_at": "updatedAt", "lines": "products"}
_SHIPMENT_LINE = {"sku": "sku", "quantity": "quantity"}
_CHECKOUT = {"ref": "id", "created_at": "createdAt", "updated_at": "updatedAt",
             "currency": "currency", "email": "customer.email", "lines": "products",
             "total_incl": "priceIncl", "order_ref": "orderId"}
_CHECKOUT_LINE = {"sku": "sku", "description": "productTitle", "quantity": "quantity",
                  "unit_price_incl": "priceIncl"}


def shipment_id(raw: Mapping[str, Any]) -> str:
    """The shipment's id as text; readable even when everything else is malformed."""
    return order_id(raw)


def checkout_id(raw: Mapping[str, Any]) -> str:
    """The checkout's id as text; readable even when everything else is malformed."""
    return order_id(raw)


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
        value = resource["embedded"]
        if isinstance(value, Mapping):  # an object keyed by id: the rows are its values
            value = list(value.values())
    if not isinstance(value, list):
        raise r.fail(key, f"expected a list, got {type(value).__name__}")
    for i, row in enumerate(value):
        if not isinstance(row, Mapping):
            raise r.fail(f"{key}[{i}]", f"expected an object, got {type(row).__name__}")
    return value


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
    source_id = shipment_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("shipment", source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id, entity="shipment")
    if raw.get("id") in (None, False, ""):
        raise r.fail("id", "missing")
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
        lines.append(lr.build(partial(ShipmentLine, sku=sku, quantity=quantity),
                              _SHIPMENT_LINE, "quantity"))
    return r.build(lambda: Shipment(
        ref=ExternalRef(system=SYSTEM, id=source_id),
        order_ref=ExternalRef(system=SYSTEM, id=str(oid)),
        status="shipped" if status == SHIPPED else "not_shipped",
        tracking_code=r.text("trackingCode"), updated_at=r.timestamp("updatedAt"),
        lines=tuple(lines),
    ), _SHIPMENT, "")


def _checkout_line(r: _Reader) -> CheckoutLine:
    """One cart line. ASSUMPTION [U]: the title is ``productTitle``/``variantTitle`` (as on
    order lines) or ``title``/``variant`` (the sandbox's cart lines); ``priceIncl`` is the
    unit price."""
    sku = _sku(r)
    title = r.text("productTitle") or r.text("title")
    variant = r.text("variantTitle") or (
        r.text("variant") if isinstance(r.raw.get("variant"), str) else "")
    return r.build(lambda: CheckoutLine(
        sku=sku, description=f"{title} - {variant}" if variant else title,
        quantity=r.decimal("quantity"), unit_price_incl=r.decimal("priceIncl"),
    ), _CHECKOUT_LINE, "")


def checkout_from_lightspeed(raw: Mapping[str, Any]) -> Checkout:
    """One checkout (bare, as the API returns it) -> :class:`Checkout`; raise
    :class:`RecordError` (entity ``checkout``) naming the vendor field.

    ``email`` is the checkout customer's when given (a cart abandoned before the shopper
    typed one has none). Lines are ``products``: a list, or an embedded reference.
    ``total_incl`` is the checkout's ``priceIncl`` when present, else the lines' sum
    (ASSUMPTION [U]: a checkout's own totals are not documented). ``order_ref`` is set
    once the checkout became an order (``orderId``, or an ``order`` reference).
    """
    source_id = checkout_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("checkout", source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id, entity="checkout")
    if raw.get("id") in (None, False, ""):
        raise r.fail("id", "missing")
    customer = raw.get("customer")
    email = ""
    if isinstance(customer, Mapping):
        email = _Reader(customer, source_id, prefix="customer.", entity="checkout").text("email")
    elif customer not in (None, False):
        raise r.fail("customer", f"expected an object, got {type(customer).__name__}")
    rows = _rows(r, "products")
    if rows is None:
        raise r.fail("products", "relation is not embedded (the source embeds it)")
    lines = tuple(_checkout_line(_Reader(row, source_id, prefix=f"products[{i}].",
                                         entity="checkout"))
                  for i, row in enumerate(rows))
    total = r.decimal("priceIncl", default=sum(
        (ln.quantity * ln.unit_price_incl for ln in lines), Decimal("0")))
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
    return r.build(lambda: Checkout(
        ref=ExternalRef(system=SYSTEM, id=source_id),
        created_at=r.timestamp("createdAt"), updated_at=r.timestamp("updatedAt"),
        currency=_currency(r), email=email, lines=lines, total_incl=total,
        order_ref=order_ref,
    ), _CHECKOUT, "")
