"""What the target and the source need beyond the connection itself, as frozen settings.

Why settings and not constants: most AccountView field names and codes this connector
depends on are unverified (VENDOR_APIS.md §4 marks them [U]) or differ per administration
(journal codes, VAT codes, the debtor number range). Each is a field here, filled from the
Connection's ``extra`` by the hook (keys as named below), so an administration that
differs is fixed in its Connection, not in code. Pure: no I/O, no Airflow.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from shopbridge.connectors._kit.settings import VendorSettings, ZoneName
from shopbridge.connectors.accountview._rows import FIELD_TYPE_CODES

_FIELD = re.compile(r"^[A-Z][A-Z0-9_]*$")
_QUALIFIED = re.compile(r"^[A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*$")


def _field_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().upper()
    if not _FIELD.match(name):
        raise ValueError(f"{value!r} is not an AccountView field name (UPPER_SNAKE)")
    return name


class _Options(VendorSettings):
    #: the administration's clock: AccountView's timestamps (``CNG_DATE``) are naive local
    #: time and its date filters compare in it. ASSUMPTION [U].
    timezone: ZoneName = "Europe/Amsterdam"
    #: canonical VAT percentage (``"21"``, ``"9"``, ``"0"``) -> AccountView VAT code
    #: (``VAT_CODE``). ASSUMPTION [U]: the codes of a standard Dutch administration;
    #: check them under the administration's VAT table and set them here.
    vat_codes: dict[str, str] = Field(default_factory=lambda: {"21": "2", "9": "1", "0": "0"})

    @field_validator("vat_codes")
    @classmethod
    def _percentages(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not re.fullmatch(r"\d+(\.\d+)?", k)]
        if bad:
            raise ValueError(
                f"keys must be VAT percentages such as '21' or '5.5', got "
                f"{', '.join(map(repr, bad))}"
            )
        return value


class TargetOptions(_Options):
    """How debtors, sales orders and invoices are written (extra keys = field names)."""

    #: debtor control account (``CONTACT.ACCT_NR``, "verzamelrekening") of new debtors;
    #: never changed on an update. Not the revenue account. ASSUMPTION [U]: ``1300``.
    control_account: str = Field("1300", min_length=1)
    #: who picks a new debtor's ``SUB_NR``: ``client`` (this connector, the next free
    #: number in ``debtor_number_start..end``) or ``server`` (AccountView numbers a row
    #: sent without one). See ``target`` for why ``client`` is the default.
    debtor_numbering: Literal["client", "server"] = "client"
    debtor_number_start: int = Field(20000, ge=1)
    debtor_number_end: int = Field(29999, ge=1)
    #: CONTACT fields of the pair's debtor terms. ASSUMPTION [U]: classification in the
    #: relation group ``RPL_GRP``; the default VAT code ``VAT_CODE`` [S]; the revenue
    #: account in the debtor's default G/L account ``LNK_ACCT`` ("standaardrekening")
    #: [S field, U meaning]. ``ACCT_NR`` is the control account, never the revenue one.
    classification_field: str = "RPL_GRP"
    tax_code_field: str = "VAT_CODE"
    revenue_account_field: str = "LNK_ACCT"
    #: the SO_HDR field carrying our reference (``find_orders`` filters on it).
    #: ``COMMENT1`` as the brief says; ASSUMPTION [U] that a memo field can be filtered
    #: with ``Equal``; use a text field (e.g. a "your reference" field) if it cannot.
    order_reference_field: str = "COMMENT1"
    #: invoices: the sales journal (``DJ_PAGE.DJ_CODE``) and the field holding our
    #: reference, the invoice number ``INV_NR`` [S]. ASSUMPTION [U]: journal ``VK``.
    invoice_journal: str = Field("VK", min_length=1)
    invoice_reference_field: str = "INV_NR"
    #: invoices: revenue G/L account of a line whose mapping sets no ``ACCT_NR``. [U] 8000
    revenue_account: str = Field("8000", min_length=1)
    #: headers per POST: several orders travel in one request (rows linked by HeaderId).
    #: [U] that AccountView commits a multi-row POST as a whole; a refused one is retried
    #: order by order after looking up which landed, so it works either way.
    write_batch_size: int = Field(20, ge=1, le=200)
    #: types of fields the mapping adds: ``{"SO_LINE.DISC_PCT": "N"}``
    field_types: dict[str, str] = Field(default_factory=dict)

    @field_validator(
        "classification_field",
        "tax_code_field",
        "revenue_account_field",
        "order_reference_field",
        "invoice_reference_field",
    )
    @classmethod
    def _upper(cls, value: str) -> str:
        name = _field_name(value)
        assert name is not None
        return name

    @field_validator("field_types")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for key, ftype in value.items():
            qualified = key.strip().upper()
            if not _QUALIFIED.match(qualified):
                raise ValueError(f"{key!r}: keys are TABLE.FIELD, e.g. 'SO_LINE.DISC_PCT'")
            if ftype.upper() not in FIELD_TYPE_CODES:
                raise ValueError(
                    f"{key}: {ftype!r} is not one of {', '.join(sorted(FIELD_TYPE_CODES))}"
                )
            out[qualified] = ftype.upper()
        return out

    @model_validator(mode="after")
    def _range(self) -> TargetOptions:
        if self.debtor_number_start > self.debtor_number_end:
            raise ValueError("debtor_number_start must not exceed debtor_number_end")
        return self


class SourceOptions(_Options):
    """How articles become products and stock levels (extra keys = field names)."""

    #: the ARTICLE field holding the EAN/GTIN. AccountView has no documented EAN field
    #: ASSUMPTION [U]; ``None`` (the default) reads products without EAN, so matching by
    #: EAN in the target needs this set (e.g. ``"BAR_CODE"``, as the sandbox has it).
    ean_field: str | None = None
    #: the ARTICLE field with open sales reservations. ``None``: reserved is 0, because
    #: ``QTY_AVAIL`` may already be net of reservations ASSUMPTION [U] (see ``translate``).
    reserved_field: str | None = None
    #: a logical ARTICLE field telling stock articles apart. ``None``: every article is a
    #: stock article; else an article with it false is sent as not managed. [U]
    stock_flag_field: str | None = None
    #: the ARTICLE field with the article's VAT code (mapped back through ``vat_codes``);
    #: ``None`` (the default: no such field is documented [U]) or an empty value:
    #: ``default_tax_rate``
    vat_code_field: str | None = None
    default_tax_rate: str = "0.21"
    #: AccountView article groups are flat; a separator (e.g. ``" > "``) splits an
    #: ``AG_DESC`` such as ``Clothing > Shirts`` into a category path
    category_separator: str | None = None
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")

    @field_validator("ean_field", "reserved_field", "stock_flag_field", "vat_code_field")
    @classmethod
    def _optional_upper(cls, value: str | None) -> str | None:
        return _field_name(value)

    @field_validator("default_tax_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if not re.fullmatch(r"0(\.\d+)?|1(\.0+)?", value.strip()):
            raise ValueError(f"a rate between 0 and 1 such as '0.21', got {value!r}")
        return value.strip()
