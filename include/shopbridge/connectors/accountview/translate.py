"""Canonical records <-> AccountView rows. Pure: no I/O, no clock.

Outbound (the target): a customer becomes a ``CONTACT`` row of business object ``AR1``
(debtors), an order a ``SO_HDR`` with ``SO_LINE`` rows (``SO1``) or a sales-journal page
``DJ_PAGE`` with ``DJ_LINE`` rows (``DJ2``, see :mod:`.target` for why invoices go there).
Values stay Python values here (``Decimal``, ``datetime``); :mod:`._rows` encodes them
for the declared field types.

Inbound (the source): an article (``AK1``/``ARTICLE``) with its group (``AG1``/``ART_GRP``)
becomes a simple :class:`~shopbridge.models.Product`, and the same row a
:class:`~shopbridge.models.StockLevel`. Every problem raises :class:`RecordError` whose
``field`` is the AccountView field (``PX_SELL``, ``ART_DESC1``, ``QTY_AVAIL``), so a
person can find it in AccountView.

Decisions, and why:

* A debtor's one address line is ``ADDRESS1`` = ``street number+ext`` [S] (the kit's
  ``street_line``); the name is
  ``ACCT_NAME`` (the company, or the person) and the person is also its contact
  ``MAIN_CONT`` [S field]. ``VAT_NR`` is sent for persons too (empty), so an update
  clears a stale one.
* The fingerprint covers exactly the fields :func:`contact_from_customer` writes, trimmed
  (AccountView pads char columns) and the e-mail lower-cased, so a debtor whose details
  are unchanged costs no update.
* Articles: ``ART_CODE`` is the SKU, ``ART_DESC1`` the title, ``PX_SELL`` the price
  excl. VAT [S]; the price incl. VAT follows from the article's VAT code when
  ``vat_code_field`` is set (through ``vat_codes`` read backwards), else from
  ``default_tax_rate``. ``CNG_DATE`` is naive local time in ``timezone`` [U]. Articles
  have no images in the API, and no documented EAN field [U] (``ean_field``).
* Stock: ``on_hand`` is ``QTY_AVAIL``. ASSUMPTION [U]: AccountView's ``QTY_AVAIL`` may
  already be net of open sales reservations ("beschikbaar"); so ``reserved`` is 0 unless
  ``reserved_field`` names a field with the reservations, because subtracting them from
  an already-net figure would count them twice. A negative level is refused (the target
  would sell stock that is not there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shopbridge.connectors._kit import debtors
from shopbridge.connectors._kit.addresses import street_line
from shopbridge.connectors._kit.amounts import cents, q4
from shopbridge.connectors._kit.fields import FieldReader, key_text
from shopbridge.connectors.accountview.options import SourceOptions, TargetOptions
from shopbridge.connectors.base import DebtorTerms
from shopbridge.errors import RecordError
from shopbridge.models import (
    Category,
    Customer,
    ExternalRef,
    Order,
    Product,
    StockLevel,
    Variant,
)

SYSTEM = "accountview"
#: CONTACT fields a sync writes, and compares before deciding an update is needed
MANAGED = (
    "ACCT_NAME",
    "MAIN_CONT",
    "MAIL_BUS",
    "TEL_BUS",
    "ADDRESS1",
    "POST_CODE",
    "CITY",
    "CNT_CODE",
    "VAT_NR",
)
#: DJ_PAGE lengths of the recorded dictionary [V] (fields.dj_page.json)
INV_NR_LENGTH = 12
HDR_DESC_LENGTH = 40
#: ARTICLE fields a product needs (plus the optional ones the options name)
ARTICLE_FIELDS = (
    "ART_CODE",
    "ART_DESC1",
    "PX_SELL",
    "QTY_AVAIL",
    "AG_CODE",
    "CNG_DATE",
    "INP_DATE",
)


def percent(rate: Decimal) -> str:
    """A canonical rate as the percentage text ``vat_codes`` is keyed by: ``0.21`` -> ``21``,
    ``0.055`` -> ``5.5``."""
    pct = (rate * 100).normalize()
    return format(pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct, "f")


# --- debtors ---------------------------------------------------------------------------

#: lengths of the CONTACT text fields this connector writes, as AccountView's data
#: dictionary declares them [V] (tests/contracts/accountview/fields.contact.json)
CONTACT_LENGTHS: dict[str, int] = {
    "SUB_NR": 10,
    "ACCT_NAME": 40,
    "MAIN_CONT": 40,
    "MAIL_BUS": 50,
    "TEL_BUS": 20,
    "ADDRESS1": 80,
    "POST_CODE": 10,
    "CITY": 35,
    "CNT_CODE": 2,
    "VAT_NR": 14,
    "SRC_CODE": 10,
}


def _fit(name: str, value: str) -> str:
    """``value`` cut to the field's length (AccountView's char columns are fixed width)."""
    return value[: CONTACT_LENGTHS[name]].rstrip()


def contact_from_customer(customer: Customer) -> dict[str, Any]:
    """The managed ``CONTACT`` fields of a customer (no ``SUB_NR``, no control account).

    Text is cut to the recorded field lengths (a 45-character company name keeps its first
    40), except the e-mail: a cut address would match nobody, so an e-mail longer than
    ``MAIL_BUS`` (50) is a :class:`RecordError` naming ``email``. A customer without an
    e-mail, address or country sends ``""`` for them [V: the recorded dictionary has no
    mandatory field among them].
    """
    if len(customer.email) > CONTACT_LENGTHS["MAIL_BUS"]:
        raise RecordError(
            "customer",
            customer.label,
            "email",
            f"longer than AccountView's {CONTACT_LENGTHS['MAIL_BUS']} characters (MAIL_BUS)",
        )
    addr = customer.billing_address
    return {
        "ACCT_NAME": _fit("ACCT_NAME", customer.display_name),
        "MAIN_CONT": _fit("MAIN_CONT", customer.person_name),
        "MAIL_BUS": customer.email,
        "TEL_BUS": _fit("TEL_BUS", customer.phone),
        "ADDRESS1": _fit("ADDRESS1", street_line(addr)),
        "POST_CODE": _fit("POST_CODE", addr.postcode),
        "CITY": _fit("CITY", addr.city),
        "CNT_CODE": addr.country,
        "VAT_NR": _fit("VAT_NR", customer.vat_number),
    }


def search_code(customer: Customer) -> str:
    """``SRC_CODE`` ("zoekcode") of a new debtor: mandatory in AccountView's dictionary [V]
    (``INP_MAND``), so a create always sends one: the name's letters and digits, upper
    case, cut to 10 (``"Jansen B.V."`` -> ``"JANSENBV"``); ``"-"`` (as the public PHP
    integration sends) for a name without any."""
    code = re.sub(r"[^A-Z0-9]", "", customer.display_name.upper())
    return code[: CONTACT_LENGTHS["SRC_CODE"]] or "-"


def fingerprint(row: Mapping[str, Any]) -> str:
    """Hash of the managed fields of a CONTACT row (or of :func:`contact_from_customer`)."""
    return debtors.fingerprint(row, MANAGED, email="MAIL_BUS")


def terms_fields(terms: DebtorTerms | None, options: TargetOptions) -> dict[str, str]:
    """The CONTACT fields of the debtor terms that are set (``None`` leaves AccountView's)."""
    if not terms:
        return {}
    fields = {
        options.classification_field: terms.classification,
        options.tax_code_field: terms.tax_code,
        options.revenue_account_field: terms.revenue_account,
    }
    return {k: v for k, v in fields.items() if v is not None}


# --- orders ----------------------------------------------------------------------------


def order_header(
    order: Order, *, debtor_code: str, reference: str, reference_field: str = "COMMENT1"
) -> dict[str, Any]:
    """A ``SO_HDR`` row: the debtor invoiced and delivered (``RPL_INV``/``RPL_DEL`` [S]),
    the order date, our reference, the e-mail and the delivery address lines.

    ASSUMPTION [U]: the ``DEL_*`` names (``DEL_NAME``, ``DEL_ADDR1``, ``DEL_PC``,
    ``DEL_CITY``, ``DEL_CNT``) and ``CUR_CODE``; the mapping can rename any of them.
    """
    ship = order.shipping_address
    return {
        "RPL_INV": debtor_code,
        "RPL_DEL": debtor_code,
        "ORD_DATE": order.created_at,
        reference_field: reference,
        "TO_EMAIL": order.customer.email,
        "DEL_NAME": order.customer.display_name,
        "DEL_ADDR1": street_line(ship),
        "DEL_PC": ship.postcode,
        "DEL_CITY": ship.city,
        "DEL_CNT": ship.country,
        "CUR_CODE": order.currency,
    }


def order_lines(order: Order) -> list[dict[str, Any]]:
    """One ``SO_LINE`` per line: article, quantity, unit price excl. VAT [S], description
    and the line's discount amount. ASSUMPTION [U]: ``ART_DESC`` and ``DISC_AMT`` (an
    amount: the canonical discount is one, and a percentage would round)."""
    return [
        {
            "ART_CODE": line.sku,
            "ART_DESC": line.description or line.sku,
            "ORD_QTY": line.quantity,
            "ART_PX": line.unit_price_excl,
            "DISC_AMT": line.discount_excl,
        }
        for line in order.lines
    ]


def local_date(when: datetime, tz_name: str) -> date:
    """The calendar date of ``when`` on the administration's clock."""
    return when.astimezone(ZoneInfo(tz_name)).date()


def invoice_page(
    order: Order, *, debtor_code: str, reference: str, options: TargetOptions
) -> dict[str, Any]:
    """A ``DJ_PAGE`` of the sales journal: debtor, invoice number = our reference, date.

    ``INV_NR`` holds 12 characters and ``HDR_DESC`` (mandatory) 40, as the recorded
    dictionary declares [V]: a longer reference is a ``ValueError`` (cut, it would no
    longer find the page again), a longer description is cut.
    """
    if len(reference) > INV_NR_LENGTH:
        raise ValueError(
            f"reference {reference!r} is longer than the {INV_NR_LENGTH} "
            "characters of AccountView's invoice number (INV_NR)"
        )
    return {
        "DJ_CODE": options.invoice_journal,
        "SUB_NR": debtor_code,
        options.invoice_reference_field: reference,
        "TRN_DATE": local_date(order.created_at, options.timezone),
        "HDR_DESC": order.number[:HDR_DESC_LENGTH],
        "CUR_CODE": order.currency,
    }


def invoice_lines(
    order: Order, *, debtor_code: str, reference: str, options: TargetOptions
) -> list[dict[str, Any]]:
    """One revenue ``DJ_LINE`` per order line: account, net amount excl. VAT, VAT code.

    ``ValueError`` names a VAT rate without a code in ``vat_codes``. ASSUMPTION [U]:
    revenue amounts are positive on a sales-journal page and AccountView books the
    debtor side and the VAT from the codes; ``VAT_AMT`` is sent to reconcile with.
    """
    lines = []
    when = local_date(order.created_at, options.timezone)
    for line in order.lines:
        pct = percent(line.tax_rate)
        code = options.vat_codes.get(pct)
        if code is None:
            raise ValueError(f"no VAT code for {pct}% (add it to the connection's extra.vat_codes)")
        net = cents(line.net_excl)
        lines.append(
            {
                "ACCT_NR": options.revenue_account,
                "SUB_NR": debtor_code,
                options.invoice_reference_field: reference,
                "AMOUNT": net,
                "VAT_CODE": code,
                "VAT_AMT": cents(net * line.tax_rate),
                "TRN_DATE": when,
                "TRN_DESC": line.description or line.sku,
                "TRN_QTY": line.quantity,
            }
        )
    return lines


# --- articles --------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "T", ".T.", "J", "Y")


class _Reader(FieldReader):
    """Typed access to one row; every failure names the AccountView field."""

    def __init__(self, raw: Mapping[str, Any], source_id: str, entity: str) -> None:
        super().__init__(raw, entity, source_id)


def article_id(record: Mapping[str, Any]) -> str:
    """The ``ART_CODE`` of a product record (``{"ARTICLE": row, ...}``) or of a bare
    article row (a stock record); ``"?"`` when unreadable."""
    row = record.get("ARTICLE", record) if isinstance(record, Mapping) else None
    code = row.get("ART_CODE") if isinstance(row, Mapping) else None
    return key_text(code) or "?"


def _tax_rate(r: _Reader, options: SourceOptions) -> Decimal:
    default = Decimal(options.default_tax_rate)
    if options.vat_code_field is None:
        return default
    code = r.text(options.vat_code_field)
    if not code:
        return default
    rates = {c: p for p, c in options.vat_codes.items()}
    if code not in rates:
        raise r.fail(
            options.vat_code_field, f"VAT code {code!r} is not in the connection's extra.vat_codes"
        )
    return (Decimal(rates[code]) / 100).normalize()


def _categories(
    record: Mapping[str, Any], r: _Reader, options: SourceOptions
) -> tuple[Category, ...]:
    code = r.text("AG_CODE")
    if not code:
        return ()
    group = record.get("ART_GRP")
    if not isinstance(group, Mapping):
        raise r.fail("AG_CODE", f"article group {code!r} does not exist in AG1")
    desc = str(group.get("AG_DESC") or "").strip() or code
    parts: Sequence[str] = (
        desc.split(options.category_separator) if options.category_separator else [desc]
    )
    path = tuple(p.strip() for p in parts if p.strip())
    return (Category(path=path),) if path else ()


_PRODUCT_NAMES = {
    "sku": "ART_CODE",
    "article_code": "ART_CODE",
    "title": "ART_DESC1",
    "variants": "PX_SELL",
    "price_excl": "PX_SELL",
    "price_incl": "PX_SELL",
    "quantity": "QTY_AVAIL",
    "tax_rate": "VAT_CODE",
    "updated_at": "CNG_DATE",
    "categories": "AG_CODE",
    "": "ART_CODE",
}


def _ean(r: _Reader, options: SourceOptions) -> str:
    """The EAN/GTIN from ``ean_field`` (none is documented [U]); ``""`` when unset/empty."""
    if not options.ean_field:
        return ""
    ean = r.text(options.ean_field)
    if ean and not re.fullmatch(r"\d{8,14}", ean):
        raise r.fail(options.ean_field, f"not an EAN/GTIN (8-14 digits): {ean!r}")
    return ean


def _quantity(r: _Reader, row: Mapping[str, Any]) -> Decimal:
    """``QTY_AVAIL``: a number or its text (``"24.000"``); empty or ``null`` reads as 0, as
    the public PHP integration reads it (``$product['QTY_AVAIL'] ? … : 0``) [S]."""
    if row.get("QTY_AVAIL") in (None, ""):
        return Decimal(0)
    return r.decimal("QTY_AVAIL")


def _changed(r: _Reader, row: Mapping[str, Any], tz_name: str) -> datetime:
    """``CNG_DATE``, else ``INP_DATE`` when AccountView left it empty (``""``, as the
    recorded dictionary rows show for an empty ``T`` field [V]); neither: a RecordError
    naming ``CNG_DATE``."""
    for key in ("CNG_DATE", "INP_DATE"):
        if row.get(key) not in (None, ""):
            return r.timestamp(key, zone=ZoneInfo(tz_name))
    raise r.fail("CNG_DATE", "missing or empty (and no INP_DATE either)")


def product_from_article(record: Mapping[str, Any], options: SourceOptions) -> Product:
    """``{"ARTICLE": row, "ART_GRP": group | None}`` -> a simple product (one variant).

    Item keys: ``ART_CODE`` is AccountView's article code ("artikelcode") and fills
    ``article_code``; AccountView has no separate SKU field, so ``sku`` stays ``""`` and the
    pair's ``item_key`` rule picks the article code; ``ean`` comes from ``ean_field``.
    ``PX_SELL`` empty or ``null`` (an article without a sales price) is a RecordError
    naming ``PX_SELL``: a webshop price of 0 would sell it for nothing.

    Raises :class:`RecordError` (entity ``product``) naming the AccountView field.
    """
    sid = article_id(record)
    row = record.get("ARTICLE") if isinstance(record, Mapping) else None
    if not isinstance(row, Mapping):
        raise RecordError("product", sid, "ARTICLE", "the record has no ARTICLE row")
    r = _Reader(row, sid, "product")
    code = r.text("ART_CODE", required=True)
    title = r.text("ART_DESC1", required=True)
    if row.get("PX_SELL") in (None, ""):
        raise r.fail("PX_SELL", "the article has no sales price (set one in AccountView)")
    price = r.decimal("PX_SELL")
    if price < 0:
        raise r.fail("PX_SELL", f"negative sales price {price}")
    rate = _tax_rate(r, options)
    ean = _ean(r, options)
    quantity = _quantity(r, row)
    updated = _changed(r, row, options.timezone)
    categories = _categories(record, r, options)
    names = {**_PRODUCT_NAMES, "ean": options.ean_field or "ART_CODE"}
    return r.build(
        lambda: Product(
            ref=ExternalRef(system=SYSTEM, id=code),
            article_code=code,
            ean=ean,
            title=title,
            currency=options.currency,
            tax_rate=rate,
            categories=categories,
            variants=(
                Variant(
                    article_code=code,
                    ean=ean,
                    title=title,
                    price_excl=q4(price),
                    price_incl=q4(price * (1 + rate)),
                    quantity=quantity,
                ),
            ),
            updated_at=updated,
        ),
        names,
    )


def stock_from_article(row: Mapping[str, Any], options: SourceOptions) -> StockLevel:
    """One ARTICLE row -> its stock level; :class:`RecordError` (entity ``stock``).

    ``ART_CODE`` fills ``article_code`` (see :func:`product_from_article`), ``ean_field``
    the EAN; ``QTY_AVAIL`` empty or ``null`` is 0 (:func:`_quantity`).
    """
    sid = article_id(row)
    if not isinstance(row, Mapping):
        raise RecordError("stock", sid, "", "the record is not a JSON object")
    r = _Reader(row, sid, "stock")
    code = r.text("ART_CODE", required=True)
    ean = _ean(r, options)
    flag = options.stock_flag_field
    managed = True if flag is None else _flag(row.get(flag))
    level = _quantity(r, row)
    if level < 0:
        raise r.fail("QTY_AVAIL", f"negative stock level {level}")
    reserved = Decimal(0)
    if options.reserved_field is not None:
        reserved = r.decimal(options.reserved_field, default=Decimal(0))
        if reserved < 0:
            raise r.fail(options.reserved_field, f"negative reservation {reserved}")
    return r.build(
        lambda: StockLevel(
            article_code=code, ean=ean, on_hand=level, reserved=reserved, managed=managed
        ),
        {"": "QTY_AVAIL", "article_code": "ART_CODE"},
    )
