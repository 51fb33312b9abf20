"""CCV JSON <-> canonical records. Pure: no I/O, no clock.

Reading (CCV is the products and stock *source*):

* A product record is ``GET products?expand=attributecombinations,producttocategories``'s
  item, plus what the source embeds so translation needs nothing else::

      {...product..., "attributecombinations": [combination, ...],
       "categories": [{"id": 101, "path": ["Clothing", "Shirts"]}, ...],
       "_context": {"prices_include_tax": true, "currency": "EUR"}}

  ``_context`` is the shop's ``GET webshops/{id}/settings`` (``prices_include_vat``,
  ``currency``) as the source read it once per run; a record without it cannot be
  priced and is refused (never a silent EUR).
  A product without combinations is simple; with them it is configurable and each
  *active* combination is a variant whose options are its attribute values.
* A stock record is one sellable item: ``{"product": {...}, "attributecombination": {...}
  | null}`` (see :func:`stock_records`).

**Item keys** come from the vendor's own fields, never copied into one another: a
combination's ``sku_number`` is the SKU, its ``product_number`` the article code and its
``ean_number`` the EAN; a product's ``productnumber`` is its article code and ``eannumber``
its EAN (CCV products have no SKU field). The pair's ``item_key`` rule picks one.

Writing (CCV is the orders *target*): :func:`order_payload` and :func:`customer_payload`
build ``POST orders`` bodies; :func:`expected_total` is what CCV must answer with.

Every problem raises :class:`RecordError` whose ``field`` is the vendor's name
(``attributecombinations[1].sku_number``, ``vatrate``), so a person can find it in CCV's
back office. Money goes through ``Decimal``: the API sends JSON numbers (ints and floats).

Fields the project relies on, each marked [V]/[S]/[U]: see the package docstring.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from shopbridge.connectors._kit.fields import FieldReader, ItemKeyFields
from shopbridge.errors import FatalError, RecordError
from shopbridge.models import (
    Address,
    Category,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    Product,
    StockLevel,
    Variant,
)

SYSTEM = "ccv_salespos"
#: a configurable product without a ``productnumber`` gets this parent code as its SKU
#: (ASSUMPTION: a parent's number is optional in CCV; its variants carry the sellable
#: keys). Not a copy of a vendor key: the parent is never sold itself.
PARENT_SKU = "P-{id}"
#: ``taxtariff`` -> rate, when a product has no ``vatrate`` (ASSUMPTION [U]: Dutch rates;
#: ``low a``/``low b``/``extra low`` are CCV's names for the reduced tariffs)
TAX_TARIFFS = {
    "normal": Decimal("0.21"),
    "low a": Decimal("0.09"),
    "low b": Decimal("0.09"),
    "extra low": Decimal("0.05"),
    "zero": Decimal("0"),
}
#: ``stocktype`` value meaning "one stock for the product, shared by its combinations"
#: (ASSUMPTION [U]: any other value, or none, means each combination keeps its own)
PRODUCT_STOCKTYPE = "product"
_CENT = Decimal("0.01")
_HOUSE = re.compile(r"^(\d+)\s*(.*)$")

#: canonical field -> vendor name, so pydantic errors name what the vendor calls it
_PRODUCT = {
    "sku": "productnumber",
    "article_code": "productnumber",
    "ean": "eannumber",
    "title": "name",
    "description": "description",
    "short_description": "shortdescription",
    "updated_at": "modifydate",
    "tax_rate": "vatrate",
    "variants": "attributecombinations",
    "categories": "categories",
}
_VARIANT = {
    "sku": "sku_number",
    "article_code": "product_number",
    "ean": "ean_number",
    "price_excl": "price",
    "price_incl": "price",
    "quantity": "stock",
}
_SIMPLE = {
    "sku": "productnumber",
    "article_code": "productnumber",
    "ean": "eannumber",
    "price_excl": "price",
    "price_incl": "price",
    "quantity": "stock",
}
_STOCK = {
    "sku": "sku_number",
    "article_code": "product_number",
    "ean": "ean_number",
    "on_hand": "stock",
    "locations": "stocklocation",
}
_STOCK_SIMPLE = {
    **_STOCK,
    "sku": "productnumber",
    "article_code": "productnumber",
    "ean": "eannumber",
}


class _Reader(FieldReader):
    """Typed field access on one raw record; every failure names the field's vendor path.
    CCV's own: parts of a record reached with :meth:`at`, and timestamps without an
    offset in UTC (CCV documents its dates as UTC)."""

    NAIVE_ZONE = UTC

    def __init__(
        self, raw: Mapping[str, Any], source_id: str, entity: str, prefix: str = ""
    ) -> None:
        super().__init__(raw, entity, source_id, prefix)

    def at(self, raw: Mapping[str, Any], prefix: str) -> _Reader:
        return _Reader(raw, self.source_id, self.entity, prefix)


def _items(value: Any) -> list[Any] | None:
    """An expanded relation: a list, or a collection ``{"items": [...]}``; ``None`` when it
    is only a reference (``{"href": ...}``) or absent."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("items"), list):
        return list(value["items"])
    return None


def expanded(record: Mapping[str, Any], key: str) -> list[Any] | None:
    """The expanded relation ``key`` of a record (see :func:`_items`)."""
    return _items(record.get(key))


# --- products ------------------------------------------------------------------------------


def product_id(raw: Any) -> str:
    """The product's id as text; readable even when everything else is malformed."""
    return str(raw.get("id", "?")) if isinstance(raw, Mapping) else "?"


def _rate(r: _Reader) -> Decimal:
    """``vatrate`` (a percentage, 21) as a fraction; else the ``taxtariff``'s rate."""
    if r.raw.get("vatrate") is not None:
        pct = r.decimal("vatrate")
        if not 0 <= pct <= 100:
            raise r.fail("vatrate", f"expected a percentage 0..100, got {pct}")
        return (pct / 100).normalize()
    tariff = r.text("taxtariff")
    if not tariff:
        return TAX_TARIFFS["normal"]
    if tariff.lower() not in TAX_TARIFFS:
        raise r.fail("taxtariff", f"unknown tax tariff {tariff!r}; known: {', '.join(TAX_TARIFFS)}")
    return TAX_TARIFFS[tariff.lower()]


def _prices(sell: Decimal, rate: Decimal, includes_tax: bool) -> tuple[Decimal, Decimal]:
    """``(excl, incl)`` from one price, to the cent on the side it was not given in."""
    if includes_tax:
        return (sell / (1 + rate)).quantize(_CENT), sell
    return sell, (sell * (1 + rate)).quantize(_CENT)


def _level(r: _Reader, managed: bool) -> Decimal | None:
    """Stock on hand for a new item: ``stock`` when stock is enabled and not negative."""
    if not managed or r.raw.get("stock") is None:
        return None
    level = r.decimal("stock")
    return level if level >= 0 else None


def _options(r: _Reader) -> dict[str, str]:
    """``combination[*]`` -> ``{attribute name: value name}``.

    ASSUMPTION [S]: each entry embeds ``attribute`` and ``attribute_value`` objects with
    a ``name`` (jacobdekeizer/ccvshop-client's ``Combination`` model).
    """
    rows = r.raw.get("combination")
    if not isinstance(rows, list) or not rows:
        raise r.fail("combination", "a combination without attribute values")
    out: dict[str, str] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise r.fail(f"combination[{i}]", "not an object")
        names: list[str] = []
        for key in ("attribute", "attribute_value"):
            node = row.get(key)
            name = node.get("name") if isinstance(node, Mapping) else None
            if not isinstance(name, str) or not name.strip():
                raise r.fail(f"combination[{i}].{key}.name", "missing or empty")
            names.append(name.strip())
        out[names[0]] = names[1]
    return out


def _combination(
    r: _Reader,
    base: Decimal,
    rate: Decimal,
    includes_tax: bool,
    shared_stock: Decimal | None,
    managed: bool,
) -> Variant:
    keys = r.item_keys("sku_number", "product_number", "ean_number")
    options = _options(r)
    sell = base + r.decimal("netto_extra_price", default=Decimal(0))
    excl, incl = _prices(sell, rate, includes_tax)
    own = _level(r, managed)
    return r.build(
        lambda: Variant(
            **keys,
            title=" / ".join(options.values()),
            price_excl=excl,
            price_incl=incl,
            attributes=options,
            quantity=own if shared_stock is None else shared_stock,
        ),
        _VARIANT,
        "sku_number",
    )


def _categories(r: _Reader) -> tuple[Category, ...]:
    """The paths the source resolved (``categories[*].path``), each once, in link order."""
    rows = r.raw.get("categories") or []
    if not isinstance(rows, list):
        raise r.fail("categories", "expected a list")
    paths: list[tuple[str, ...]] = []
    for i, row in enumerate(rows):
        path = row.get("path") if isinstance(row, Mapping) else None
        if (
            not isinstance(path, list)
            or not path
            or not all(isinstance(p, str) and p.strip() for p in path)
        ):
            raise r.fail(f"categories[{i}].path", "expected the category's names, root first")
        key = tuple(p.strip() for p in path)
        if key not in paths:
            paths.append(key)
    return tuple(Category(path=p) for p in paths)


def _brand(r: _Reader) -> str:
    """``brand`` is an object with a ``name`` [S] (a plain string is accepted too)."""
    brand = r.raw.get("brand")
    if brand is None or brand == "":
        return ""
    if isinstance(brand, str):
        return brand.strip()
    if isinstance(brand, Mapping):
        return r.at(brand, "brand.").text("name")
    raise r.fail("brand", f"expected an object, got {type(brand).__name__}")


def _context(r: _Reader) -> tuple[bool, str]:
    """The shop's settings the source embedded: prices incl. VAT, and the currency."""
    ctx = r.raw.get("_context")
    if not isinstance(ctx, Mapping):
        raise r.fail(
            "_context",
            "the shop's settings (currency, prices incl. VAT) were not read with the product",
        )
    c = r.at(ctx, "_context.")
    currency = c.text("currency", required=True).upper()
    return c.flag("prices_include_tax"), currency


def product_from_ccv(raw: Mapping[str, Any]) -> Product:
    """Translate one product with its relations embedded; raise :class:`RecordError`
    (entity ``product``) naming the vendor field, e.g. ``attributecombinations[1].sku_number``.

    The sell price is ``price - discount``; a combination adds its ``netto_extra_price``.
    Whether prices include VAT is the shop's setting (``_context.prices_include_tax``
    [U]); the other side is computed from ``vatrate`` to the cent. Inactive combinations
    cannot be ordered, so they are not variants. ``is_visible`` (else ``is_active``) is
    the product's visibility. No images: CCV images are not supported for this pair.
    """
    source_id = product_id(raw)
    if not isinstance(raw, Mapping):
        raise RecordError("product", source_id, "", "record is not a JSON object")
    r = _Reader(raw, source_id, "product")
    if raw.get("id") in (None, ""):
        raise r.fail("id", "missing")
    includes_tax, currency = _context(r)
    name = r.text("name", required=True)
    rate = _rate(r)
    sell = r.decimal("price") - r.decimal("discount", default=Decimal(0))
    if sell < 0:
        raise r.fail("price", f"the sell price (price - discount) is negative: {sell}")
    managed = r.flag("stockenabled")
    rows = expanded(raw, "attributecombinations")
    if rows is None and raw.get("attributecombinations") not in (None, [], {}):
        raise r.fail("attributecombinations", "combinations are not expanded")
    active = [
        (i, row)
        for i, row in enumerate(rows or [])
        if not isinstance(row, Mapping) or row.get("active", True) is not False
    ]
    if rows and not active:
        raise r.fail("attributecombinations", "every combination is inactive")
    shared = _level(r, managed) if r.text("stocktype") == PRODUCT_STOCKTYPE else None
    variants: tuple[Variant, ...]
    if active:
        for i, row in active:
            if not isinstance(row, Mapping):
                raise r.fail(f"attributecombinations[{i}]", "not an object")
        variants = tuple(
            _combination(
                r.at(row, f"attributecombinations[{i}]."), sell, rate, includes_tax, shared, managed
            )
            for i, row in active
        )
        code = r.text("productnumber")
        keys = ItemKeyFields(
            sku="" if code else PARENT_SKU.format(id=source_id),
            article_code=code,
            ean=r.text("eannumber"),
        )
    else:
        keys = r.item_keys("", "productnumber", "eannumber")
        excl, incl = _prices(sell, rate, includes_tax)
        variants = (
            r.build(
                lambda: Variant(
                    **keys,
                    price_excl=excl,
                    price_incl=incl,
                    quantity=_level(r, managed),
                ),
                _SIMPLE,
                "productnumber",
            ),
        )
    visible = r.flag("is_visible", default=r.flag("is_active", default=True))
    return r.build(
        lambda: Product(
            ref=ExternalRef(system=SYSTEM, id=source_id),
            **keys,
            title=name,
            description=r.text("description"),
            short_description=r.text("shortdescription"),
            brand=_brand(r),
            visible=visible,
            currency=currency,
            tax_rate=rate,
            categories=_categories(r),
            images=(),
            variants=variants,
            updated_at=r.timestamp("modifydate"),
        ),
        _PRODUCT,
        "",
    )


def category_paths(categories: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Category id -> its names, root first, from ``GET categories`` (each naming its
    ``parentcategory`` [S]). A category whose chain breaks (a missing parent, a loop) is
    left out: a product linked to it then simply lacks that path."""
    by_id = {str(c.get("id")): c for c in categories if isinstance(c, Mapping)}
    out: dict[str, list[str]] = {}
    for cid in by_id:
        names: list[str] = []
        seen: set[str] = set()
        node: Mapping[str, Any] | None = by_id[cid]
        while node is not None:
            node_id = str(node.get("id"))
            name = node.get("name")
            if node_id in seen or not isinstance(name, str) or not name.strip():
                names = []
                break
            seen.add(node_id)
            names.append(name.strip())
            parent = node.get("parentcategory")
            pid = parent.get("id") if isinstance(parent, Mapping) else parent
            if pid in (None, "", 0):
                node = None
            elif str(pid) in by_id:
                node = by_id[str(pid)]
            else:
                names = []
                break
        if names:
            out[cid] = list(reversed(names))
    return out


# --- stock ---------------------------------------------------------------------------------


def stock_records(product: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """One stock record per sellable item of an expanded product: the product itself when
    it has no combinations, else each combination that is not ``active: false`` (the
    parent is not sold itself, and an inactive combination is no variant of the product,
    so it has no item to hold stock on the other side).

    Only the fields stock needs travel (records are XComs)."""
    keep = (
        "id",
        "productnumber",
        "eannumber",
        "stock",
        "stockenabled",
        "stocktype",
        "stocklocation",
    )
    head = {k: product.get(k) for k in keep if k in product}
    rows = expanded(product, "attributecombinations") or []
    if not rows:
        yield {"product": head, "attributecombination": None}
        return
    for row in rows:
        if isinstance(row, Mapping) and row.get("active", True) is False:
            continue
        yield {"product": head, "attributecombination": row}


def stock_id(raw: Any) -> str:
    """``attributecombination/{id}`` or ``product/{id}``; ``?`` parts when unreadable."""
    if not isinstance(raw, Mapping):
        return "?"
    combo = raw.get("attributecombination")
    if isinstance(combo, Mapping):
        return f"attributecombination/{combo.get('id', '?')}"
    product = raw.get("product")
    return f"product/{product.get('id', '?') if isinstance(product, Mapping) else '?'}"


def stock_from_ccv(raw: Mapping[str, Any]) -> StockLevel:
    """One SKU's stock; raise :class:`RecordError` (entity ``stock``) naming the field.

    ``managed`` is the product's ``stockenabled`` (a combination has no flag of its own).
    The level is the combination's ``stock``, or the product's when ``stocktype`` says the
    stock is kept on the product (then every combination reports the shared level). A
    product that does not keep stock and has no level reads as 0. A negative level (a POS
    can oversell) is refused: the target would either reject it or sell stock that is not
    there.

    ``locations``: CCV keeps one level per product and a free-text ``stocklocation`` (a
    shelf or warehouse name); when set it is reported as the one location holding the
    level, combinations inheriting the product's (ASSUMPTION [U]: no per-location stock
    is documented).
    """
    source_id = stock_id(raw)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("product"), Mapping):
        raise RecordError("stock", source_id, "product", "record has no product object")
    pr = _Reader(raw["product"], source_id, "stock", "product.")
    managed = pr.flag("stockenabled")
    combo = raw.get("attributecombination")
    if combo is not None and not isinstance(combo, Mapping):
        raise pr.fail("attributecombination", "not an object")
    default = None if managed else Decimal(0)
    if combo is not None:
        cr = _Reader(combo, source_id, "stock", "attributecombination.")
        keys = cr.item_keys("sku_number", "product_number", "ean_number")
        kr, names = cr, _STOCK
        if pr.text("stocktype") == PRODUCT_STOCKTYPE:
            level, lr = pr.decimal("stock", default=default), pr
        else:
            level, lr = cr.decimal("stock", default=default), cr
    else:
        keys = pr.item_keys("", "productnumber", "eannumber")
        kr, names = pr, _STOCK_SIMPLE
        level, lr = pr.decimal("stock", default=default), pr
    if level < 0:
        raise lr.fail("stock", f"negative stock level {level}")
    where = pr.text("stocklocation")
    return kr.build(
        lambda: StockLevel(
            **keys,
            on_hand=level,
            locations={where: level} if where else {},
            managed=managed,
        ),
        names,
        "stock",
    )


# --- orders (target) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRef:
    """Where a SKU lives in CCV: its product and, for a variant, its combination."""

    product_id: int
    product_number: str
    combination_id: int | None = None


#: order fields CCV takes as numbers (mapped values arrive as decimal text)
NUMERIC_FIELDS = frozenset(
    {
        "total_shipping",
        "paymethod_costs",
        "extra_costs",
        "count",
        "price",
        "product_purchase_price",
        "discount",
        "tax",
        "weight",
    }
)
INTEGER_FIELDS = frozenset(
    {
        "status",
        "user_id",
        "takeoutslot",
        "package_id",
        "product_id",
        "attribute_combination_id",
        "invoicenumber",
    }
)


def wire(key: str, value: Any) -> Any:
    """A mapped value as CCV's JSON wants it: numbers for numeric fields, text otherwise.

    The datamapper hands Decimals over as text (``"12.50"``) so they survive XComs; CCV's
    schema wants JSON numbers, so known numeric fields are turned back into Decimals (the
    client writes those as numbers). Anything unparsable is left for CCV to refuse by name.
    """
    if isinstance(value, str) and (key in NUMERIC_FIELDS or key in INTEGER_FIELDS):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return value
        if key in INTEGER_FIELDS and number == number.to_integral_value():
            return int(number)
        return number
    return value


def percent(rate: Decimal) -> Decimal:
    """A canonical rate (0.21) as CCV's tax percentage (21), without trailing zeros."""
    pct = (rate * 100).normalize()
    return pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct


def _address(a: Address, customer: Customer, *, delivery: bool = False) -> dict[str, Any]:
    """An address in CCV's ``billingaddress``/``deliveryaddress`` shape.

    ``housenumber`` is an integer or ``null`` in CCV [V]: a number like ``"12-14"`` keeps
    its digits there and the rest goes into ``housenumber_suffix`` before the extension.
    An address the source does not have (a till's walk-in customer) goes as CCV shows an
    empty one [V]: ``""`` fields, ``housenumber`` and ``country_code`` ``null``. A delivery
    address carries ``full_name`` only [V: CCV answers with no first/last name there].
    """
    m = _HOUSE.match(a.house_number.strip())
    number: int | None = int(m.group(1)) if m else None
    suffix = " ".join(p for p in ((m.group(2) if m else ""), a.house_number_ext) if p)
    street = a.street if m or not a.house_number else f"{a.street} {a.house_number}".strip()
    names: dict[str, Any] = (
        {"full_name": customer.person_name}
        if delivery
        else {"first_name": customer.first_name, "last_name": customer.last_name}
    )
    return {
        **names,
        "company": customer.company_name if customer.kind is CustomerKind.COMPANY else "",
        "street": street,
        "housenumber": number,
        "housenumber_suffix": suffix,
        "zipcode": a.postcode,
        "city": a.city,
        "country_code": a.country or None,
        "telephone": customer.phone,
    }


def customer_payload(customer: Customer, shipping: Address | None = None) -> dict[str, Any]:
    """The order's embedded ``customer``: e-mail (left out when the source has none: CCV
    answers ``""`` then [U]), ``customertype`` (``b2b`` for a company, ``b2c`` for a
    person), VAT number (``btw``) and both addresses."""
    company = customer.kind is CustomerKind.COMPANY
    body: dict[str, Any] = {
        "customertype": "b2b" if company else "b2c",
        "billingaddress": _address(customer.billing_address, customer),
        "deliveryaddress": _address(shipping or customer.billing_address, customer, delivery=True),
    }
    if customer.email:
        body["email"] = customer.email
    if company and customer.vat_number:
        body["btw"] = customer.vat_number
    return body


def customer_fingerprint(customer: Customer) -> str:
    """Hash of what an order embeds of the customer (its billing side)."""
    text = json.dumps(customer_payload(customer), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def order_rows(
    order: Order,
    items: Mapping[str, ItemRef],
    mapped_lines: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One ``orderrow`` per line: the product (and combination) by id, count, price excl.
    VAT, the line's discount in total (ASSUMPTION [U]: CCV's row ``discount`` is for the
    whole row, not per unit) and the tax percentage. Mapped line fields override or add;
    the product reference is always ours. ``FatalError`` for a SKU CCV does not have."""
    if mapped_lines is not None and len(mapped_lines) != len(order.lines):
        raise FatalError(
            f"order {order.number}: {len(mapped_lines)} mapped lines for "
            f"{len(order.lines)} order lines"
        )
    rows: list[dict[str, Any]] = []
    for i, line in enumerate(order.lines):
        ref = items.get(line.sku)
        if ref is None:
            raise FatalError(
                f"order {order.number}: lines[{i}].sku {line.sku} does not exist "
                "in CCV (as a product number or combination SKU)"
            )
        row: dict[str, Any] = {
            "product_name": line.description or line.sku,
            "count": line.quantity,
            "price": line.unit_price_excl,
            "discount": line.discount_excl,
            "tax": percent(line.tax_rate),
        }
        if mapped_lines is not None:
            row.update({k: wire(k, v) for k, v in mapped_lines[i].items()})
        row["product_id"] = ref.product_id
        row.pop("attribute_combination_id", None)
        if ref.combination_id is not None:
            row["attribute_combination_id"] = ref.combination_id
        rows.append(row)
    return rows


def order_payload(
    order: Order,
    *,
    reference: str,
    items: Mapping[str, ItemRef],
    mapped: Mapping[str, Any] | None = None,
    reference_field: str = "reservationnumber",
) -> dict[str, Any]:
    """The ``POST orders`` body of one canonical order.

    Built from the canonical order, then the datamapper's ``header`` fields override or
    add (``status``, ``paid``, a webshop's ``orderedinlng``...); what only we can set comes
    last: our reference in ``reference_field``, the customer embedded (unless the mapping
    sets ``customer`` itself) and the rows' product references.

    Shipping: ``total_shipping`` is 0 unless mapped (CCV otherwise computes its own from
    packages [V]); the project books shipping as a line (``shipping_line``) or maps
    ``total_shipping: order.shipping_cost_excl``. An order-level discount left on the
    order (none after the flow's discount setting) goes into ``extra_costs`` as a negative
    amount [S: "can be used as a discount less than zero"].
    """
    header: dict[str, Any] = {
        "currency": order.currency,
        "taxes_included": True,
        "order_row_taxes_included": False,
        "total_shipping": Decimal(0),
        "paid": order.payment_status == "paid",
    }
    if order.discount_excl:
        header["extra_costs"] = -order.discount_excl
        header["extra_costs_description"] = "Discount"
    mapped_header = dict((mapped or {}).get("header") or {})
    header.update({k: wire(k, v) for k, v in mapped_header.items()})
    header.setdefault("customer", customer_payload(order.customer, order.shipping_address))
    lines = (mapped or {}).get("lines") if mapped is not None else None
    header["orderrows"] = order_rows(order, items, lines)
    header[reference_field] = reference
    return header


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FatalError(f"{where}: expected a number, got {value!r}")
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise FatalError(f"{where}: not a number: {value!r}") from None


def expected_total(payload: Mapping[str, Any]) -> Decimal:
    """The ``total_price`` incl. VAT that CCV must answer for a ``POST orders`` body.

    Each row is ``count * price - discount``: ``price`` is before the discount and
    ``total_price`` after it [V: a recorded row has ``price`` 595, ``discount`` 10,
    ``total_price`` 585]; that the discount is for the whole row, not per unit, is
    ASSUMPTION [U] (the recorded row has ``count`` 1).
    with its ``tax`` added unless ``order_row_taxes_included``; rows are rounded to the
    cent. Plus ``total_shipping`` (VAT added at the highest row rate unless
    ``shipping_taxes_included``, ASSUMPTION [U]) and ``extra_costs`` (as sent). How CCV
    adds shipping is not settled by the recordings (an order answers ``total_orderrow_price``
    590, ``total_shipping`` 5, ``total_price`` 590); the target sends ``total_shipping`` 0
    unless a mapping sets it, so by default only the rows count.
    """
    rows = payload.get("orderrows") or []
    total = Decimal(0)
    top = Decimal(0)
    rows_incl = payload.get("order_row_taxes_included") is True
    for i, row in enumerate(rows):
        where = f"orderrows[{i}]"
        net = _money(row.get("count", 0), f"{where}.count") * _money(
            row.get("price", 0), f"{where}.price"
        ) - _money(row.get("discount", 0), f"{where}.discount")
        rate = _money(row.get("tax", 0), f"{where}.tax") / 100
        top = max(top, rate)
        total += (net if rows_incl else net * (1 + rate)).quantize(_CENT)
    shipping = _money(payload.get("total_shipping", 0), "total_shipping")
    if payload.get("shipping_taxes_included") is not True:
        shipping = (shipping * (1 + top)).quantize(_CENT)
    return total + shipping + _money(payload.get("extra_costs", 0), "extra_costs")


def reference_of(order: Mapping[str, Any], reference_field: str) -> str | None:
    """Our reference on a CCV order, or ``None`` for one we did not create."""
    value = order.get(reference_field)
    return value.strip() if isinstance(value, str) and value.strip() else None
