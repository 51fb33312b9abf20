"""AccountView's positional write format: field types, value encoding and table bodies.

``POST /api/v3/accountviewdata`` does not take records as objects: the body declares each
table's fields (``{"Name", "FieldType"}``) and then carries rows as plain value lists in
that order (VENDOR_APIS.md §4, [S]: omniboost/go-accountview.net ``client.go``). So every
value must be encoded for its declared type before it leaves, and every row of a table
must have the same fields. This module is that encoding, pure and table-tested.

Field types, as the Go client declares them [S]: ``C`` text, ``M`` memo (long text),
``N`` numeric, ``Y`` currency, ``B`` double, ``I`` integer, ``L`` logical, ``T``
datetime, ``D`` date. :data:`FIELD_TYPES` holds the types of the fields this connector
writes; a field it does not know (a YAML mapping may add any) takes its type from
the connection's ``extra.field_types`` (``{"SO_LINE.DISC_PCT": "N"}``), else from the
Python value (text stays ``C``: the datamapper hands numbers over as text, so a custom
numeric field needs that setting).

Encodings. Numbers go out as JSON numbers (the Go client sends ``float64``); they are
parsed from their exact decimal text first, so ``"19.95"`` is ``19.95``, never
``19.949999``. ``T`` values are UTC with milliseconds and ``Z``
(``2024-05-01T10:00:00.000Z``, the form of the documented example [S]); ASSUMPTION [U]:
AccountView converts them to the administration's clock. ``D`` values are ISO dates.
A missing value in a row is ``null``: ASSUMPTION [U] AccountView then keeps its default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, cast, get_args

FieldType = Literal["C", "M", "N", "Y", "B", "I", "L", "T", "D"]
FIELD_TYPE_CODES: Final = frozenset(get_args(FieldType))
_NUMERIC: Final = frozenset({"N", "Y", "B"})
ROW_ID = "RowId"
HEADER_ID = "HeaderId"

#: Types of the fields this connector writes or reads, per table. Names are [S]
#: (VENDOR_APIS.md §4, go-accountview.net ``acct_rec_types.go``/``dj_*_type.go``) unless
#: marked [U] here; :mod:`~shopbridge.connectors.accountview.target` documents each one.
FIELD_TYPES: Final[dict[str, dict[str, FieldType]]] = {
    "CONTACT": {
        "SUB_NR": "C",
        "ACCT_NR": "C",
        "ACCT_NAME": "C",
        "MAIN_CONT": "C",
        "ADDRESS1": "C",
        "POST_CODE": "C",
        "CITY": "C",
        "CNT_CODE": "C",
        "MAIL_BUS": "C",
        "TEL_BUS": "C",
        "VAT_NR": "C",
        "VAT_CODE": "C",
        "LNK_ACCT": "C",
        "RPL_GRP": "C",
        "REV_CAT": "C",
        "RPL_TYPE": "C",
        "COMMENT1": "M",
        "CNG_DATE": "T",
        "INP_DATE": "T",
    },
    "SO_HDR": {
        # [U] ORD_NR (the order number AccountView assigns), DEL_NAME/DEL_ADDR1/DEL_PC/
        # DEL_CITY/DEL_CNT (the delivery address lines), CUR_CODE and INCL_VAT
        "ORD_NR": "C",
        "RPL_INV": "C",
        "RPL_DEL": "C",
        "ORD_DATE": "T",
        "DEL_DATE": "T",
        "COMMENT1": "M",
        "TO_EMAIL": "C",
        "DEL_CODE": "C",
        "DEL_NAME": "C",
        "DEL_ADDR1": "C",
        "DEL_PC": "C",
        "DEL_CITY": "C",
        "DEL_CNT": "C",
        "CUR_CODE": "C",
        "INCL_VAT": "L",
    },
    "SO_LINE": {
        # [U] ART_DESC, DISC_AMT (the line's discount amount), DISC_PCT, VAT_CODE
        "ORD_NR": "C",
        "ART_CODE": "C",
        "ART_DESC": "C",
        "ORD_QTY": "N",
        "ART_PX": "N",
        "DISC_AMT": "Y",
        "DISC_PCT": "N",
        "VAT_CODE": "C",
    },
    "DJ_PAGE": {
        "DJ_CODE": "C",
        "PAGE_NR": "C",
        "SUB_NR": "C",
        "INV_NR": "C",
        "TRN_DATE": "D",
        "HDR_DESC": "C",
        "CUR_CODE": "C",
        "PERIOD": "N",
        "COMMENT1": "M",
        "EXT_DESC": "C",
    },
    "DJ_LINE": {
        "ACCT_NR": "C",
        "SUB_NR": "C",
        "INV_NR": "C",
        "AMOUNT": "Y",
        "BASE_AMT": "Y",
        "VAT_CODE": "C",
        "VAT_AMT": "Y",
        "TRN_DATE": "D",
        "TRN_DESC": "C",
        "TRN_QTY": "N",
        "COST_CODE": "C",
        "PROJ_CODE": "C",
    },
    "ARTICLE": {
        "ART_CODE": "C",
        "ART_DESC1": "C",
        "PX_SELL": "N",
        "QTY_AVAIL": "N",
        "AG_CODE": "C",
        "CNG_DATE": "T",
    },
    "ART_GRP": {"AG_CODE": "C", "AG_DESC": "C"},
}


def infer_type(value: Any) -> FieldType:
    """The type a value of unknown field declares itself as (text stays ``C``)."""
    if isinstance(value, bool):
        return "L"
    if isinstance(value, int):
        return "I"
    if isinstance(value, float | Decimal):
        return "N"
    if isinstance(value, datetime):
        return "T"
    if isinstance(value, date):
        return "D"
    return "C"


def field_type(
    table: str, name: str, value: Any, overrides: Mapping[str, str] | None = None
) -> FieldType:
    """``extra.field_types`` first (``TABLE.FIELD``), then :data:`FIELD_TYPES`, then the value."""
    if name in (ROW_ID, HEADER_ID):
        return "C"
    given = (overrides or {}).get(f"{table}.{name}")
    if given is not None:
        if given not in FIELD_TYPE_CODES:
            raise ValueError(
                f"field type {given!r} of {table}.{name} is not one of "
                f"{', '.join(sorted(FIELD_TYPE_CODES))}"
            )
        return cast(FieldType, given)
    known = FIELD_TYPES.get(table, {}).get(name)
    return known if known is not None else infer_type(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a timestamp: {value!r}") from None


def encode(value: Any, ftype: FieldType) -> Any:
    """``value`` as the JSON AccountView expects for ``ftype``; ``ValueError`` if it can't be.

    ``None`` stays ``null`` whatever the type.
    """
    if value is None:
        return None
    if ftype in ("C", "M"):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):
            return format(value, "f")
        return str(value)
    if ftype in _NUMERIC:
        return float(_decimal(value))
    if ftype == "I":
        number = _decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"not a whole number: {value!r}")
        return int(number)
    if ftype == "L":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "j", "y"):
            return True
        if text in ("false", "0", "no", "n", ""):
            return False
        raise ValueError(f"not a logical value: {value!r}")
    if ftype == "T":
        when = _datetime(value)
        if when.tzinfo is None:  # a naive value is taken as UTC, as the wire form is
            when = when.replace(tzinfo=UTC)
        return (
            when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        )
    # "D"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _datetime(value).date().isoformat()


@dataclass(frozen=True)
class Table:
    """One table of a write: its declared fields and its positional rows."""

    name: str
    fields: tuple[tuple[str, FieldType], ...]
    rows: tuple[tuple[Any, ...], ...]

    def definition(self) -> dict[str, Any]:
        """``{"Name", "Fields": [{"Name", "FieldType"}]}``."""
        return {"Name": self.name, "Fields": [{"Name": n, "FieldType": t} for n, t in self.fields]}

    def data(self) -> dict[str, Any]:
        """``{"Rows": [{"Values": [...]}]}``."""
        return {"Rows": [{"Values": list(row)} for row in self.rows]}


def build_table(
    name: str, rows: Sequence[Mapping[str, Any]], *, overrides: Mapping[str, str] | None = None
) -> Table:
    """Rows given as dicts -> one :class:`Table` whose fields are every key, in order of
    first appearance (``RowId``, then ``HeaderId``, first). A row lacking a field sends
    ``null`` for it. ``ValueError`` names the table, row and field of a bad value."""
    names: dict[str, None] = {}
    for key in (ROW_ID, HEADER_ID):
        if any(key in row for row in rows):
            names[key] = None
    for row in rows:
        names.update(dict.fromkeys(row))
    types: dict[str, FieldType] = {}
    for field in names:
        sample = next((row[field] for row in rows if row.get(field) is not None), None)
        types[field] = field_type(name, field, sample, overrides)
    out: list[tuple[Any, ...]] = []
    for n, row in enumerate(rows):
        values = []
        for field in names:
            try:
                values.append(encode(row.get(field), types[field]))
            except ValueError as err:
                raise ValueError(f"{name}[{n}].{field}: {err}") from None
        out.append(tuple(values))
    return Table(name, tuple(types.items()), tuple(out))


def post_body(
    business_object: str,
    header: Table,
    details: Sequence[Table] = (),
    *,
    book_date: datetime | date | None = None,
) -> dict[str, Any]:
    """The ``POST accountviewdata`` body: definitions first, then the positional data."""
    body: dict[str, Any] = {"BusinessObject": business_object}
    if book_date is not None:
        body["BookDate"] = encode(book_date, "T")
    table: dict[str, Any] = {"Definition": header.definition()}
    data: dict[str, Any] = {"Data": header.data()}
    if details:
        table["DetailDefinitions"] = [d.definition() for d in details]
        data["DetailData"] = [d.data() for d in details]
    body["Table"] = table
    body["TableData"] = data
    return body
