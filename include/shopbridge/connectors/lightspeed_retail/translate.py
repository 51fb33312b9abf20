"""Canonical records <-> Lightspeed Retail V3 payloads. Pure: no I/O, no clock.

Vendor shapes (VENDOR_APIS.md §2): every scalar is a string (``"qoh":"33"``,
``"archived":"false"``); a collection with one member is an object, not a one-element
array; an empty collection is ``""``; nested collections repeat the entity name
(``"ItemShops":{"ItemShop":[...]}``). :func:`as_list` and :func:`relation` turn all of that
into lists of dicts; what we write uses the same nesting with lists.

Values we send are strings too (``"12.50"``, never a float): Lightspeed accepts either,
and a JSON number would pass through a float on the way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shopbridge.connectors._kit.addresses import street_line
from shopbridge.connectors.base import ItemWrite
from shopbridge.errors import RecordError
from shopbridge.models import Customer, CustomerKind, Order

SYSTEM = "lightspeed_retail"
CENT = Decimal("0.01")

#: ``ItemWrite.fields`` names that are not Item columns but go into nested relations:
#: the item's prices by price level (``Prices.ItemPrice[{amount, useType}]``) ...
PRICE_FIELDS: Mapping[str, str] = {"price": "Default", "msrp": "MSRP", "onlinePrice": "Online"}
#: ... its matrix attribute values (``ItemAttributes{attribute1..3}``) ...
ATTRIBUTE_FIELDS = ("attribute1", "attribute2", "attribute3")
#: ... and its initial stock in the default shop (``ItemShops.ItemShop.qoh``), sent when
#: the item is created only: the stock flow owns stock after that
STOCK_FIELD = "qoh"
#: The Item field that carries a variant's configurable parent SKU. ASSUMPTION [U]: an
#: ``ItemMatrix`` has no SKU of its own and no searchable field to keep one in, so the
#: parent's SKU is written as the ``manufacturerSku`` (the style number, shared by the
#: sizes and colours of one product) of each of its variants, and a parent SKU is found
#: through them. A mapped ``manufacturerSku`` is overridden on variant items.
PARENT_SKU_FIELD = "manufacturerSku"
#: ItemMatrix columns [V, ItemMatrix page]; other mapped fields are Item-only and are not
#: sent to the matrix (``customSku``, ``ean``, ``upc``, attributes, ``qoh`` ...)
MATRIX_FIELDS = frozenset(
    {
        "description",
        "tax",
        "defaultCost",
        "itemType",
        "serialized",
        "modelYear",
        "categoryID",
        "taxClassID",
        "departmentID",
        "manufacturerID",
        "seasonID",
        "defaultVendorID",
        "itemAttributeSetID",
    }
)
#: ``itemType`` of an item whose stock is not tracked [V: "Inventory for these items is
#: not tracked"]. ASSUMPTION [U] (the brief leaves the field open): the stock flow's
#: ``managed`` flag maps onto ``itemType`` ``default`` <-> ``non_inventory``; other types
#: (box, assembly, ...) are left alone when ``managed`` is true.
UNMANAGED_TYPE = "non_inventory"
MANAGED_TYPE = "default"


# --- vendor shapes ---------------------------------------------------------------------


def as_list(value: Any) -> list[dict[str, Any]]:
    """A V3 collection as a list: ``""``/``None``/``False`` -> ``[]``, an object -> ``[it]``."""
    if isinstance(value, Mapping):
        return [dict(value)]
    if isinstance(value, list):
        return [dict(v) for v in value if isinstance(v, Mapping)]
    return []


def relation(record: Mapping[str, Any], plural: str, singular: str) -> list[dict[str, Any]]:
    """A loaded relation's members: ``record["ItemShops"]["ItemShop"]`` as a list."""
    holder = record.get(plural)
    return as_list(holder.get(singular)) if isinstance(holder, Mapping) else []


def flag(value: Any) -> bool:
    """A vendor boolean (``"true"``/``"false"``, sometimes ``"1"``/``"0"``)."""
    return value is True or str(value).strip().lower() in ("true", "1")


def number(value: Any) -> Decimal | None:
    """A vendor number (a string); ``None`` when empty or not a number."""
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


def wire(value: Any) -> Any:
    """A value as we send it: Decimals fixed-point, booleans ``"true"``/``"false"``,
    dates ISO, numbers and text as strings; nested structures unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
    return value


def whole(value: Any, *, entity: str, source_id: str, field: str) -> int:
    """A quantity Lightspeed keeps as an integer (``qoh``, ``unitQuantity``)."""
    qty = number(value)
    if qty is None:
        raise RecordError(entity, source_id, field, f"not a number: {value!r}")
    if qty != qty.to_integral_value():
        raise RecordError(
            entity, source_id, field, f"Lightspeed Retail keeps whole quantities, got {qty}"
        )
    return int(qty)


# --- customers -------------------------------------------------------------------------


def customer_body(customer: Customer) -> dict[str, Any]:
    """A ``Customer`` write with its nested ``Contact`` (e-mail, phone, address).

    A company is the ``company`` with this person as first/last name; its VAT number goes
    to ``vatNumber``. The contact nests as the vendor's relations page writes it [V]; what
    the customer lacks is sent as the vendor's empty relation ``""`` [V: ``"Emails": ""``,
    ``"Phones": ""`` in recorded customers]: a customer without e-mail, phone or address is
    normal in a till. Writing the contact again replaces its e-mails, phones and addresses
    [U].
    """
    company = customer.kind is CustomerKind.COMPANY
    a = customer.billing_address
    email: Any = (
        {"ContactEmail": {"address": customer.email, "useType": "Primary"}}
        if customer.email
        else ""
    )
    phone: Any = (
        {"ContactPhone": {"number": customer.phone, "useType": "Work" if company else "Home"}}
        if customer.phone
        else ""
    )
    street = street_line(a)
    address: Any = (
        {
            "ContactAddress": {
                "address1": street,
                "address2": "",
                "city": a.city,
                "zip": a.postcode,
                "countryCode": a.country,
                "country": a.country,
            }
        }
        if any((street, a.city, a.postcode, a.country))
        else ""
    )
    return {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "company": customer.company_name if company else "",
        "vatNumber": customer.vat_number if company else "",
        "Contact": {"Emails": email, "Phones": phone, "Addresses": address},
    }


def customer_emails(record: Mapping[str, Any]) -> list[str]:
    """The customer's e-mail addresses (primary first), lower-cased."""
    contact = record.get("Contact")
    if not isinstance(contact, Mapping):
        return []
    emails = relation(contact, "Emails", "ContactEmail")
    emails.sort(key=lambda e: str(e.get("useType")) != "Primary")
    return [str(e.get("address") or "").strip().lower() for e in emails if e.get("address")]


def _facts(record: Mapping[str, Any]) -> list[str]:
    """The managed fields of a Customer, read or written alike, normalised."""
    contact = record.get("Contact") if isinstance(record.get("Contact"), Mapping) else {}
    assert isinstance(contact, Mapping)
    emails = customer_emails(record)
    phones = relation(contact, "Phones", "ContactPhone")
    addresses = relation(contact, "Addresses", "ContactAddress")
    addr = addresses[0] if addresses else {}

    def text(value: Any) -> str:
        return "" if value is None else str(value).strip()

    return [
        text(record.get("firstName")),
        text(record.get("lastName")),
        text(record.get("company")),
        text(record.get("vatNumber")),
        emails[0] if emails else "",
        text(phones[0].get("number")) if phones else "",
        text(addr.get("address1")),
        text(addr.get("zip")),
        text(addr.get("city")),
        text(addr.get("countryCode")).upper(),
    ]


def fingerprint(record: Mapping[str, Any]) -> str:
    """Hash of the managed fields, equal for what we write and what the API reads back
    (trimmed text, e-mail lower-cased, country code upper-cased)."""
    return hashlib.sha256("\x1f".join(_facts(record)).encode()).hexdigest()


# --- sales -----------------------------------------------------------------------------

#: Sale fields only the target sets (a mapped header cannot override them)
SALE_RESERVED = frozenset(
    {
        "completed",
        "referenceNumber",
        "referenceNumberSource",
        "SaleLines",
        "SalePayments",
        "customerID",
        "paymentTypeID",
    }
)


def _money(value: Any, order: Order, field: str) -> Decimal:
    parsed = number(value)
    if parsed is None:
        raise RecordError("order", order.ref.id, field, f"not an amount: {value!r}")
    return parsed


def sale_body(
    order: Order,
    *,
    reference: str,
    reference_source: str,
    item_ids: Mapping[str, str],
    mapped: Mapping[str, Any] | None,
    customer_id: str | None,
    shop_id: int,
    register_id: int,
    employee_id: int,
    payment_type_id: int,
    tax_inclusive: bool,
    tax_rate: Decimal,
) -> tuple[dict[str, Any], Decimal]:
    """A completed ``Sale`` for ``order`` and the payment that balances it.

    Each line is the mapped line's fields plus what only we set: ``itemID`` (from the
    mapped ``customSku``, else the line's SKU), ``unitQuantity`` (whole), and, unless
    mapped, ``unitPrice``/``discountAmount`` (the line's total discount [U]) incl. or excl.
    tax as the shop prices (``tax_inclusive``). The payment is what Lightspeed will total
    the sale to: the sum of ``unitPrice * unitQuantity - discountAmount`` over the lines,
    plus the shop's ``tax_rate`` when its prices exclude tax, to the cent; Lightspeed
    refuses a completed sale whose payments differ from its total [V].
    """
    mapped_lines = list((mapped or {}).get("lines") or [])
    if mapped_lines and len(mapped_lines) != len(order.lines):
        raise RecordError(
            "order",
            order.ref.id,
            "lines",
            f"{len(mapped_lines)} mapped lines for {len(order.lines)} order lines",
        )
    lines: list[dict[str, Any]] = []
    subtotal = Decimal(0)
    for i, line in enumerate(order.lines):
        fields = dict(mapped_lines[i]) if mapped_lines else {}
        sku = str(fields.pop("customSku", None) or line.sku)
        item_id = fields.pop("itemID", None) or item_ids.get(sku)
        if not item_id:
            raise RecordError(
                "order",
                order.ref.id,
                f"lines[{i}].sku",
                f"SKU {sku} is not an item (customSku) in Lightspeed Retail",
            )
        qty = whole(
            fields.pop("unitQuantity", line.quantity),
            entity="order",
            source_id=order.ref.id,
            field=f"lines[{i}].quantity",
        )
        price = _money(
            fields.pop(
                "unitPrice", line.unit_price_incl if tax_inclusive else line.unit_price_excl
            ),
            order,
            f"lines[{i}].unitPrice",
        )
        discount = _money(
            fields.pop(
                "discountAmount", line.discount_incl if tax_inclusive else line.discount_excl
            ),
            order,
            f"lines[{i}].discountAmount",
        )
        subtotal += price * qty - discount
        lines.append(
            {
                **{k: wire(v) for k, v in fields.items()},
                "itemID": str(item_id),
                "unitQuantity": str(qty),
                "unitPrice": wire(price),
                "discountAmount": wire(discount),
            }
        )
    total = subtotal if tax_inclusive else subtotal * (1 + tax_rate)
    total = total.quantize(CENT, ROUND_HALF_UP)
    header = {
        k: wire(v)
        for k, v in dict((mapped or {}).get("header") or {}).items()
        if k not in SALE_RESERVED
    }
    body: dict[str, Any] = {
        "employeeID": str(employee_id),
        "registerID": str(register_id),
        "shopID": str(shop_id),
        **header,
        "completed": "true",
        "referenceNumber": reference,
        "referenceNumberSource": reference_source,
        "SaleLines": {"SaleLine": lines},
        "SalePayments": {
            "SalePayment": {"amount": wire(total), "paymentTypeID": str(payment_type_id)}
        },
    }
    if customer_id:
        body["customerID"] = customer_id
    return body, total


def payment_type_for(
    order: Order, mapped: Mapping[str, Any] | None, table: Mapping[str, int], default: int
) -> int:
    """A mapped header ``paymentTypeID`` wins; else the settings' table by the order's
    payment method (case-insensitive; ``"*"`` for any other); else ``default``."""
    header = (mapped or {}).get("header") or {}
    if header.get("paymentTypeID") not in (None, ""):
        try:
            return int(str(header["paymentTypeID"]))
        except ValueError:
            raise RecordError(
                "order",
                order.ref.id,
                "header.paymentTypeID",
                f"not a payment type id: {header['paymentTypeID']!r}",
            ) from None
    lowered = {k.strip().lower(): v for k, v in table.items()}
    method = order.payment_method.strip().lower()
    if method and method in lowered:
        return lowered[method]
    return lowered.get("*", default)


def sale_confirmation(answer: Mapping[str, Any], *, total: Decimal) -> str | None:
    """Why Lightspeed's answer to a created sale does not confirm what was sent (a
    completed sale of ``total``), or ``None`` when it does.

    The answer carries ``completed``, ``total``, ``calcTotal`` and ``balance`` [V, recorded:
    a sale Lightspeed could not complete answers ``"completed":"false"`` with the unpaid
    amount as ``balance``]. Amounts may differ from ``total`` by a cent (per-line tax
    rounding); a missing ``completed`` or total is no confirmation.
    """
    problems: list[str] = []
    if not flag(answer.get("completed")):
        problems.append(f"completed {answer.get('completed', '(missing)')!s}")
    amounts = [k for k in ("total", "calcTotal") if k in answer]
    if not amounts:
        problems.append("no total")
    for key in amounts:
        value = number(answer.get(key))
        if value is None or abs(value - total) > CENT:
            problems.append(f"{key} {answer.get(key)!s}")
    if "balance" in answer:
        balance = number(answer.get("balance"))
        if balance is None or abs(balance) >= CENT:
            problems.append(f"balance {answer.get('balance')!s}")
    if not problems:
        return None
    return f"Lightspeed answered with {', '.join(problems)}, not a completed sale of {total}"


def item_confirmation(answer: Mapping[str, Any], *, sku: str) -> str | None:
    """Why the answer to a created Item does not confirm it (its new ``itemID`` and the
    ``customSku`` sent, echoed [V, recorded]), or ``None``."""
    if not str(answer.get("itemID") or "").strip():
        return "Lightspeed answered without an itemID"
    got = str(answer.get("customSku") or "").strip()
    if got != sku.strip():
        return (
            f"Lightspeed answered item {answer.get('itemID')} with customSku {got!r}, not {sku!r}"
        )
    return None


def shop_qoh(record: Mapping[str, Any], shop: int | str, *, sku: str) -> Decimal | None:
    """The item's quantity on hand in ``shop`` from its loaded ``ItemShops``; ``None``
    when it has no row there.

    Every item has a row for each shop and one for shop ``"0"``, the total over the shops
    [V, recorded]: the ``"0"`` row is ignored unless it is the only one. ``qoh`` is a
    string (``"45"``) [V]; one that is not a number is a ``RecordError`` naming the item.
    """
    rows = {
        str(r.get("shopID") or "").strip(): r for r in relation(record, "ItemShops", "ItemShop")
    }
    row = rows.get(str(shop).strip())
    if row is None and set(rows) == {"0"}:
        row = rows["0"]
    if row is None:
        return None
    qoh = number(row.get("qoh"))
    if qoh is None:
        raise RecordError(
            "stock",
            sku,
            "qoh",
            f"Lightspeed's ItemShop {row.get('itemShopID')} "
            f"holds qoh {row.get('qoh')!r}, not a number",
        )
    return qoh


# --- items -----------------------------------------------------------------------------


def _prices(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"amount": wire(fields[name]), "useType": use}
        for name, use in PRICE_FIELDS.items()
        if fields.get(name) is not None
    ]


def item_body(
    item: ItemWrite,
    *,
    create: bool,
    shop_id: int,
    matrix_id: str | None = None,
    attribute_set_id: str | None = None,
    entity: str = "product",
) -> dict[str, Any]:
    """The ``Item`` payload of ``item``: its mapped fields plus what only we set.

    ``customSku`` is the item's code (its identity for every lookup) on create; a variant
    gets its matrix (``itemMatrixID``), its parent's SKU (:data:`PARENT_SKU_FIELD`) and its
    ``ItemAttributes`` (``attribute1..3`` from the fields, with the matrix's attribute
    set); prices go to ``Prices.ItemPrice`` by price level; ``categoryID`` comes from the
    first category unless mapped; ``qoh`` becomes the item's stock in ``shop_id`` on
    create and is dropped on update (the stock flow owns stock after the create).
    """
    fields = {k: v for k, v in item.fields.items() if v is not None}
    special = {*PRICE_FIELDS, *ATTRIBUTE_FIELDS, STOCK_FIELD}
    body: dict[str, Any] = {k: wire(v) for k, v in fields.items() if k not in special}
    if create:
        body["customSku"] = item.code
    if item.parent:
        body[PARENT_SKU_FIELD] = item.parent
        if matrix_id is not None:
            body["itemMatrixID"] = str(matrix_id)
    attrs = {k: wire(fields[k]) for k in ATTRIBUTE_FIELDS if k in fields}
    if attrs or (item.parent and create):
        if attribute_set_id is not None:
            attrs["itemAttributeSetID"] = str(attribute_set_id)
        body["ItemAttributes"] = attrs
    prices = _prices(fields)
    if prices:
        body["Prices"] = {"ItemPrice": prices}
    if item.categories:
        body.setdefault("categoryID", str(item.categories[0]))
    if create and fields.get(STOCK_FIELD) not in (None, ""):
        qoh = whole(fields[STOCK_FIELD], entity=entity, source_id=item.code, field=STOCK_FIELD)
        body["ItemShops"] = {"ItemShop": {"shopID": str(shop_id), "qoh": str(qoh)}}
    return body


def matrix_body(item: ItemWrite, *, create: bool, attribute_set_id: int) -> dict[str, Any]:
    """The ``ItemMatrix`` payload of a configurable parent: the mapped fields that are
    matrix columns (:data:`MATRIX_FIELDS`), its prices, its category; a new matrix gets
    ``attribute_set_id`` unless the fields name one."""
    body = {k: wire(v) for k, v in item.fields.items() if k in MATRIX_FIELDS and v is not None}
    if create:
        body.setdefault("itemAttributeSetID", str(attribute_set_id))
    prices = _prices(item.fields)
    if prices:
        body["Prices"] = {"ItemPrice": prices}
    if item.categories:
        body.setdefault("categoryID", str(item.categories[0]))
    return body


def _id_order(row: Mapping[str, Any]) -> tuple[int, str]:
    text = str(row.get("categoryID") or "")
    return (int(text) if text.isdigit() else 1 << 62, text)


def category_paths(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    """Every Category by its path of names from the root (built from ``parentID``, not
    from ``fullPathName``, so a name with a ``/`` in it cannot split a path).

    Lightspeed lets two categories share a name under one parent [V: a recorded list holds
    "Category One" twice at the root]: the oldest (lowest ``categoryID``) is the one a path
    names, whatever order the list came in.
    """
    by_id = {str(r.get("categoryID")): r for r in rows}
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in sorted(rows, key=_id_order, reverse=True):  # the oldest written last
        path: list[str] = []
        node: Mapping[str, Any] | None = row
        seen: set[str] = set()
        while node is not None:
            cid = str(node.get("categoryID"))
            if cid in seen:  # a cycle: the vendor's data is broken; stop climbing
                break
            seen.add(cid)
            path.append(str(node.get("name") or "").strip())
            parent = str(node.get("parentID") or "0")
            node = by_id.get(parent) if parent not in ("", "0") else None
        out[tuple(reversed(path))] = dict(row)
    return out
