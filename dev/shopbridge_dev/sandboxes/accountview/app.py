"""A fake AccountView.net REST API v3 (STYLE R13), shared by tests and the demo.

Imitates what the connector depends on (VENDOR_APIS.md §4):

* ``POST /api/v3/token``: the OAuth2 refresh-token grant, form-encoded, answering
  ``{"access_token","token_type","expires_in","refresh_token"}``; a wrong client is
  ``401 {"error":"invalid_client"}``, a wrong refresh token ``400 {"error":"invalid_grant"}``.
* ``GET /api/v3/companies``: ``[{"Id","Description","Code"}]`` of the API user's companies.
* Every other call needs ``Authorization: Bearer <token>`` (401 otherwise, counted as
  ``rejected_401``) and ``x-company`` naming one of those companies (400 when missing,
  403 when unknown).
* ``GET /api/v3/accountviewdata``: ``BusinessObject``, ``PageNumber`` (1-based) and
  ``PageSize`` (at most 1000), ``Fields`` (``TABLE.FIELD`` or ``FIELD``, any case, ``*``),
  ``SortFields``/``SortOrder``, numbered filters (``FilterControlSource{n}``,
  ``FilterOperator{n}`` = ``Equal`` or ``DateOnOrAfterDate``, ``FilterValueType{n}`` C/N/
  T/D, ``FilterValue{n}`` with dates as ``{^2024-01-31 10:00:00}``,
  ``FilterIsListOfValues{n}`` with comma-separated values), all ANDed; parameter names
  are case-insensitive. ``DateOnOrAfterDate`` compares the date only [U]. Text compares
  trimmed and case-insensitively unless ``case_sensitive``. The answer is keyed by table
  name with UPPER_SNAKE fields, and a single row is an object, not a list, unless
  ``single_row_object=False``.
* ``GET /api/v3/accountviewsystemdata?BusinessObject=FLD&FilterControlSource1=DBF_NAME&
  FilterValue1=<table>``: the data dictionary of a table (``{"DCT_FLD": [...]}``).
* ``POST /api/v3/accountviewdata``: a declared header table (``Definition``) and detail
  table (``DetailDefinitions``) with positional rows; every field must exist in the
  table and declare its type, every value must fit it, ``RowId`` is required, detail rows
  link to a header's ``RowId`` through ``HeaderId``. A POST of several header rows is
  applied as a whole or not at all. Business rules: ``AR1`` upserts ``CONTACT`` by
  ``SUB_NR`` (a new one needs ``ACCT_NAME`` and ``ACCT_NR``; without ``SUB_NR`` it is
  refused unless ``auto_sub_nr``); ``SO1`` needs an existing debtor in ``RPL_INV``, at
  least one line and existing articles, and assigns ``ORD_NR``; ``DJ2`` needs a known
  journal (``journals``), an existing debtor, a unique invoice number per journal, lines
  with an account and known VAT codes (``vat_codes``), and assigns ``PAGE_NR``. The
  answer echoes the written header rows (with ``RowId`` and assigned numbers) unless
  ``post_echo=False``. Other business objects are read-only here.
* Errors are ``{"ErrorType","ErrorNumbers","ErrorMessage"}`` with status ``error_status``
  (400; 200 imitates AccountView's errors in a 200 [U]); missing rights on a business
  object (``denied_objects``) answer ``rights_status`` (403, or 200).
* Rate limits are undocumented [U]: ``rate_limit_per_minute`` (0 = none) answers 429 with
  ``Retry-After`` beyond it.

The four connection failures ``test_connection`` tells apart: ``unreachable=True``
(every API request fails as a refused connection: in process the app raises
``httpx.ConnectError``; a real process cannot fake that, point the connection at a closed
port instead), other credentials (``client_secret=…``/``refresh_token=…``), another
company (``company_id=…``) and ``denied_objects=["SO1"]``.

Timestamps (``CNG_DATE``, ``INP_DATE``) are naive, in :data:`SERVER_TZ` [U].

Controls (no auth, never counted): ``/_sandbox/faults`` and ``/_sandbox/stats``
(shared), ``GET /_sandbox/debtors``, ``/_sandbox/sales_orders`` and ``/_sandbox/invoices``
(with their lines), ``GET``/``POST /_sandbox/articles`` (POST ``{"ART_CODE": …, field:
value}`` changes an article as given, unvalidated, or adds one; ``CNG_DATE`` moves to now
unless given) and ``POST /_sandbox/expire_tokens`` (the next call meets a 401).
"""

from __future__ import annotations

import copy
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import (
    CONTROL_PREFIX,
    JsonState,
    SandboxControls,
    install_controls,
)

PREFIX = "/api/v3"
SERVER_TZ = ZoneInfo("Europe/Amsterdam")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

#: The sandbox's own data dictionary: table -> field -> type. A superset of what the
#: connector writes; real AccountView tables have many more fields.
TABLES: dict[str, dict[str, str]] = {
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
        "SRC_CODE": "C",
        "CUR_CODE": "C",
        "REC_BLK": "L",
    },
    "ARTICLE": {
        "ART_CODE": "C",
        "ART_DESC1": "C",
        "ART_DESC2": "C",
        "PX_SELL": "N",
        "QTY_AVAIL": "N",
        "QTY_RSV": "N",
        "AG_CODE": "C",
        "CNG_DATE": "T",
        "BAR_CODE": "C",
        "VAT_CODE": "C",
        "STOCK_ART": "L",
        "INP_DATE": "T",
    },
    "ART_GRP": {"AG_CODE": "C", "AG_DESC": "C"},
    "SO_HDR": {
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
        "INP_DATE": "T",
    },
    "SO_LINE": {
        "ORD_NR": "C",
        "LINE_NR": "I",
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
        "INP_DATE": "T",
    },
    "DJ_LINE": {
        "DJ_CODE": "C",
        "PAGE_NR": "C",
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
}
#: business object -> (header table, detail table, the key the sandbox assigns/upserts by)
BUSINESS_OBJECTS: dict[str, tuple[str, str | None, str]] = {
    "AR1": ("CONTACT", None, "SUB_NR"),
    "AK1": ("ARTICLE", None, "ART_CODE"),
    "AG1": ("ART_GRP", None, "AG_CODE"),
    "SO1": ("SO_HDR", "SO_LINE", "ORD_NR"),
    "DJ2": ("DJ_PAGE", "DJ_LINE", "PAGE_NR"),
}
WRITABLE = ("AR1", "SO1", "DJ2")
#: declared type -> the types the sandbox accepts for it (memo is text too)
_COMPATIBLE = {
    "C": {"C", "M"},
    "M": {"C", "M"},
    "N": {"N", "Y", "B"},
    "Y": {"N", "Y", "B"},
    "B": {"N", "Y", "B"},
    "I": {"I", "N"},
    "L": {"L"},
    "T": {"T", "D"},
    "D": {"D", "T"},
}
_FOX = re.compile(r"^\{\^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?\}$")
#: debtor numbers of the demo's existing customers start here (the connector's own
#: range, 20000-29999 by default, stays free)
FIRST_SEEDED_DEBTOR = 10001
CONTROL_ACCOUNT = "1300"
#: CONTACT: the lengths and the mandatory fields of AccountView's data dictionary, as
#: recorded (tests/contracts/accountview/fields.contact.json); a longer value is refused
#: here (whether AccountView refuses or cuts it is [U]: refusing catches a connector that
#: forgets to cut)
CONTACT_LENGTHS = {
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
    "ACCT_NR": 10,
    "VAT_CODE": 2,
    "CUR_CODE": 3,
}
CONTACT_MANDATORY = ("ACCT_NAME", "SRC_CODE")
#: ARTICLE quantities are served as text with three decimals (``"24.000"``), as the
#: recorded shapes have them; the store keeps whatever it was given
TEXT_NUMBERS = {"ARTICLE": ("QTY_AVAIL", "QTY_RSV")}


class AvError(Exception):
    """Rendered as AccountView's ``{"ErrorType","ErrorNumbers","ErrorMessage"}``."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "AccountViewError",
        numbers: Sequence[int] = (),
        rights: bool = False,
    ) -> None:
        super().__init__(message)
        self.message, self.kind, self.numbers, self.rights = message, kind, list(numbers), rights


def _body(
    message: str, kind: str = "AccountViewError", numbers: Sequence[int] = ()
) -> dict[str, Any]:
    return {"ErrorType": kind, "ErrorNumbers": list(numbers) or None, "ErrorMessage": message}


def _now() -> str:
    """AccountView's clock: naive local time."""
    return _local(datetime.now(UTC))


def _local(when: datetime) -> str:
    return when.astimezone(SERVER_TZ).replace(tzinfo=None).isoformat(timespec="seconds")


# -- seed ------------------------------------------------------------------------------


def _group_code(leaf: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", leaf.upper()).strip("_")[:10]


def _seed(seed: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {t: [] for t in TABLES}
    data.update(next_order=1001, next_page={})
    if seed is None:
        return data
    demo = demo_data.generate(seed)
    for leaves in demo_data.CATEGORY_TREE.values():
        for leaf in leaves:
            data["ART_GRP"].append({"AG_CODE": _group_code(leaf), "AG_DESC": leaf})
    data["ART_GRP"].append({"AG_CODE": "DIVERSEN", "AG_DESC": "Diversen"})
    for product in demo.catalogue:
        root_leaf = product["categories"][0] if product["categories"] else None
        group = _group_code(root_leaf[1]) if root_leaf else ""
        changed = _local(product["updated_at"])
        for n, v in enumerate(product["variants"]):
            if v["sku"] == demo_data.UNKNOWN_SKU:
                continue  # the webshop sells it, the ERP never heard of it
            options = " ".join(v["attributes"].values())
            data["ARTICLE"].append(
                {
                    "ART_CODE": v["sku"],
                    "ART_DESC1": f"{product['title']} {options}".strip(),
                    "ART_DESC2": "",
                    "PX_SELL": float(v["price_excl"]),
                    "QTY_AVAIL": _qty(v["stock"]),
                    "QTY_RSV": _qty(n % 3),
                    "AG_CODE": group,
                    "CNG_DATE": changed,
                    "INP_DATE": changed,
                    "BAR_CODE": v["ean"],
                    "VAT_CODE": "2",
                    "STOCK_ART": bool(v.get("tracked", True)),
                }
            )
    erp_changed = _local(demo_data.DEMO_START - timedelta(days=30))
    for item in demo_data.ERP_ONLY_ITEMS:
        # as real accounts hold them: the discount article has no sales price (null), a
        # service article no stock figure ("") and no change date ("": never changed)
        no_price = item["sku"] == "KORTING"
        data["ARTICLE"].append(
            {
                "ART_CODE": item["sku"],
                "ART_DESC1": item["title"],
                "ART_DESC2": "",
                "PX_SELL": None if no_price else float(str(item["price_excl"])),
                "QTY_AVAIL": "",
                "QTY_RSV": "",
                "AG_CODE": "DIVERSEN",
                "CNG_DATE": "" if no_price else erp_changed,
                "INP_DATE": erp_changed,
                "BAR_CODE": "",
                "VAT_CODE": "2",
                "STOCK_ART": False,
            }
        )
    dd = demo_data.DEFAULT_DEBTOR
    data["CONTACT"].append(
        _contact(
            dd["code"],
            name=dd["name"],
            contact="",
            email="",
            phone="",
            address="",
            postcode="",
            city="",
            country=dd["country"],
            vat="",
        )
    )
    # a debtor typed in by hand: no e-mail, no address, no country, never changed
    walk_in = _contact(
        "59998",
        name="Contante verkopen",
        contact="",
        email="",
        phone="",
        address="",
        postcode="",
        city="",
        country="",
        vat="",
    )
    walk_in["CNG_DATE"] = ""
    data["CONTACT"].append(walk_in)
    for i, c in enumerate(demo.existing_debtors):
        name = c["company_name"] if c["is_company"] else f"{c['first_name']} {c['last_name']}"
        data["CONTACT"].append(
            _contact(
                str(FIRST_SEEDED_DEBTOR + i),
                name=name,
                contact=f"{c['first_name']} {c['last_name']}",
                email=c["email"],
                phone=c["phone"],
                address=f"{c['street']} {c['number']}{c['extension']}",
                postcode=c["zipcode"],
                city=c["city"],
                country=c["country"],
                vat=c["vat_number"],
            )
        )
    return data


def _qty(value: Any) -> str:
    """A quantity as AccountView's answers carry it: text with three decimals."""
    return f"{Decimal(str(value)):.3f}"


def _search_code(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())[:10] or "-"


def _contact(
    sub_nr: str,
    *,
    name: str,
    contact: str,
    email: str,
    phone: str,
    address: str,
    postcode: str,
    city: str,
    country: str,
    vat: str,
) -> dict[str, Any]:
    when = "2026-01-05T09:00:00"
    return {
        "SUB_NR": sub_nr,
        "ACCT_NR": CONTROL_ACCOUNT,
        "ACCT_NAME": name[:40],
        "SRC_CODE": _search_code(name),
        "MAIN_CONT": contact,
        "ADDRESS1": address,
        "POST_CODE": postcode,
        "CITY": city,
        "CNT_CODE": country,
        "MAIL_BUS": email,
        "TEL_BUS": phone,
        "VAT_NR": vat,
        "VAT_CODE": "",
        "CUR_CODE": "",
        "LNK_ACCT": "",
        "RPL_GRP": "",
        "REC_BLK": False,
        "CNG_DATE": when,
        "INP_DATE": when,
    }


#: field lengths a data dictionary row shows when :data:`CONTACT_LENGTHS` has none
_TYPE_LENGTHS = {"C": 40, "M": 4, "N": 12, "Y": 8, "B": 8, "I": 4, "L": 1, "T": 8, "D": 8}


def dictionary(table: str) -> list[dict[str, Any]]:
    """``DCT_FLD`` rows of ``table`` as ``GET accountviewsystemdata?BusinessObject=FLD``
    answers them (the recorded dictionary's keys and types)."""
    if table not in TABLES:
        raise AvError(f"Table {table!r} does not exist")
    lengths = CONTACT_LENGTHS if table == "CONTACT" else {}
    mandatory = {
        "CONTACT": ("SUB_NR", *CONTACT_MANDATORY),
        "DJ_PAGE": ("DJ_CODE", "HDR_DESC", "PAGE_NR"),
    }
    return [
        {
            "FLD_DESC": name.replace("_", " ").title(),
            "FIELD_NAME": name,
            "DBF_NAME": table,
            "FIELD_LEN": lengths.get(name, _TYPE_LENGTHS[ftype]),
            "FIELD_TYPE": ftype,
            "INP_MAND": name in mandatory.get(table, ()),
            "FLD_FMT": "",
            "FLD_MASK": "",
            "COM_BLK": False,
            "CNG_DATE": "",
            "CNG_NR": 0,
            "CNG_USR": "",
            "INP_DATE": "",
            "PKY_TBL": "",
            "REC_CUST": False,
            "DCT_FLD_Id": n,
        }
        for n, (name, ftype) in enumerate(sorted(TABLES[table].items()))
    ]


def present(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as AccountView's answer carries it: quantities as text, an empty
    timestamp as ``""`` (the recorded dictionary's own ``CNG_DATE`` is ``""``), never
    ``null`` for a text or timestamp field."""
    out = dict(row)
    for name in TEXT_NUMBERS.get(table, ()):
        value = out.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = _qty(value)
    for name, ftype in TABLES.get(table, {}).items():
        if name in out and out[name] is None and ftype in ("C", "M", "T", "D"):
            out[name] = ""
    return out


# -- reading ---------------------------------------------------------------------------


def _params(request: Request) -> dict[str, str]:
    """Query parameters by lower-cased name (AccountView's are case-insensitive [S])."""
    return {k.lower(): v for k, v in request.query_params.items()}


def _field(table: str, raw: str) -> str:
    text = raw.strip().upper()
    if "." in text:
        prefix, _, text = text.partition(".")
        if prefix != table:
            raise AvError(f"Field {raw.strip()!r} is not in table {table}")
    if text not in TABLES[table]:
        raise AvError(f"Field {text!r} does not exist in table {table}")
    return text


def _fox(value: str) -> tuple[date, datetime | None]:
    m = _FOX.match(value.strip())
    if m is None:
        raise AvError(f"Filter value {value!r} is not a date literal like {{^2024-01-31}}")
    day = date.fromisoformat(m[1])
    clock = m[2]
    if clock is None:
        return day, None
    if len(clock) == 5:
        clock += ":00"
    return day, datetime.fromisoformat(f"{m[1]}T{clock}")


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(SERVER_TZ).replace(tzinfo=None) if parsed.tzinfo else parsed


def _text(value: Any, case_sensitive: bool) -> str:
    text = "" if value is None else str(value).strip()
    return text if case_sensitive else text.lower()


def _predicate(
    table: str, q: Mapping[str, str], n: int, case_sensitive: bool
) -> Callable[[Mapping[str, Any]], bool]:
    field = _field(table, q[f"filtercontrolsource{n}"])
    op = q.get(f"filteroperator{n}", "")
    vtype = q.get(f"filtervaluetype{n}", "C").upper()
    raw = q.get(f"filtervalue{n}", "")
    listed = q.get(f"filterislistofvalues{n}", "false").lower() in ("true", "1")
    values = [v.strip() for v in raw.split(",")] if listed else [raw]
    if op == "Equal":
        if vtype == "N":
            try:
                nums = {Decimal(v) for v in values}
            except InvalidOperation:
                raise AvError(f"Filter value {raw!r} is not a number") from None

            def num_eq(row: Mapping[str, Any]) -> bool:
                try:
                    return Decimal(str(row.get(field))) in nums
                except InvalidOperation:
                    return False

            return num_eq
        if vtype in ("T", "D"):
            whens = [_fox(v) for v in values]

            def when_eq(row: Mapping[str, Any]) -> bool:
                got = _as_datetime(row.get(field))
                return got is not None and any(
                    (w[1] == got if w[1] is not None else w[0] == got.date()) for w in whens
                )

            return when_eq
        wanted = {_text(v, case_sensitive) for v in values}
        return lambda row: _text(row.get(field), case_sensitive) in wanted
    if op == "DateOnOrAfterDate":
        if vtype not in ("T", "D") or listed:
            raise AvError(f"DateOnOrAfterDate needs one T or D value, got type {vtype}")
        day, _ = _fox(raw)

        def on_or_after(row: Mapping[str, Any]) -> bool:
            got = _as_datetime(row.get(field))
            return got is not None and got.date() >= day

        return on_or_after
    raise AvError(f"Filter operator {op!r} is not supported (Equal, DateOnOrAfterDate)")


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, "" if value is None else str(value))


def select(
    table: str,
    rows: Sequence[Mapping[str, Any]],
    q: Mapping[str, str],
    *,
    case_sensitive: bool = False,
) -> list[dict[str, Any]]:
    """Filter, sort, page and project ``rows`` as ``GET accountviewdata`` does."""
    preds = []
    n = 1
    while f"filtercontrolsource{n}" in q:
        preds.append(_predicate(table, q, n, case_sensitive))
        n += 1
    out = [dict(r) for r in rows if all(p(r) for p in preds)]
    if q.get("sortfields"):
        keys = [_field(table, f) for f in q["sortfields"].split(",") if f.strip()]
        out.sort(
            key=lambda r: [_sort_key(r.get(k)) for k in keys],
            reverse=q.get("sortorder", "ascending").lower().startswith("desc"),
        )
    try:
        number = int(q.get("pagenumber", "1"))
        size = int(q.get("pagesize", str(DEFAULT_PAGE_SIZE)))
    except ValueError:
        raise AvError("PageNumber and PageSize must be whole numbers") from None
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise AvError(f"PageNumber must be >= 1 and PageSize 1..{MAX_PAGE_SIZE}")
    out = out[(number - 1) * size : number * size]
    fields = q.get("fields", "").strip()
    if fields and fields != "*":
        names = [_field(table, f) for f in fields.split(",") if f.strip()]
        out = [{f: r.get(f) for f in names} for r in out]
    return out


# -- writing ---------------------------------------------------------------------------


def _check_value(table: str, field: str, ftype: str, value: Any) -> Any:
    """``value`` as stored for a field of ``ftype``; :class:`AvError` if it does not fit."""
    if value is None:
        return None
    bad = AvError(f"Value {value!r} of {table}.{field} does not fit field type {ftype}")
    if ftype in ("C", "M"):
        if not isinstance(value, str):
            raise bad
        return value
    if ftype in ("N", "Y", "B", "I"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        if ftype == "I" and not float(value).is_integer():
            raise bad
        return value
    if ftype == "L":
        if not isinstance(value, bool):
            raise bad
        return value
    if not isinstance(value, str):
        raise bad
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad from None
    if ftype == "D":
        return parsed.date().isoformat()
    return _local(parsed) if parsed.tzinfo is not None else parsed.isoformat(timespec="seconds")


def _table_rows(definition: Any, data: Any, expect: str) -> list[dict[str, Any]]:
    """A declared table and its positional rows -> rows as dicts, every value checked."""
    if not isinstance(definition, Mapping) or str(definition.get("Name", "")).upper() != expect:
        got = definition.get("Name") if isinstance(definition, Mapping) else definition
        raise AvError(f"Table definition must be {expect}, got {got!r}")
    fields = definition.get("Fields")
    if not isinstance(fields, list) or not fields:
        raise AvError(f"Table {expect} declares no fields")
    declared: list[tuple[str, str]] = []
    for f in fields:
        if not isinstance(f, Mapping):
            raise AvError(f"Field definition {f!r} of {expect} is not an object")
        name, ftype = str(f.get("Name", "")), str(f.get("FieldType", "")).upper()
        if name in ("RowId", "HeaderId"):
            declared.append((name, "C"))
            continue
        known = TABLES[expect].get(name.upper())
        if known is None:
            raise AvError(f"Field {name!r} does not exist in table {expect}")
        if ftype not in _COMPATIBLE[known]:
            raise AvError(f"Field {expect}.{name} has type {known}, declared {ftype!r}")
        declared.append((name.upper(), known))
    if "RowId" not in dict(declared):
        raise AvError(f"Table {expect} has no RowId field")
    raw_rows = data.get("Rows") if isinstance(data, Mapping) else None
    if not isinstance(raw_rows, list):
        raise AvError(f"TableData of {expect} has no Rows")
    out = []
    for i, r in enumerate(raw_rows):
        values = r.get("Values") if isinstance(r, Mapping) else None
        if not isinstance(values, list) or len(values) != len(declared):
            raise AvError(
                f"Row {i + 1} of {expect} has {len(values or [])} values for {len(declared)} fields"
            )
        out.append(
            {
                name: _check_value(expect, name, ftype, v)
                for (name, ftype), v in zip(declared, values, strict=True)
            }
        )
    return out


class Store:
    """The tables and AccountView's rules for writing them, on a :class:`JsonState`."""

    def __init__(
        self,
        state: JsonState,
        *,
        auto_sub_nr: bool,
        journals: Sequence[str],
        vat_codes: Sequence[str],
    ) -> None:
        self.state = state
        self.data = state.data
        self.auto_sub_nr = auto_sub_nr
        self.journals = set(journals)
        self.vat_codes = set(vat_codes)

    def rows(self, table: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.data.setdefault(table, [])
        return rows

    def _debtor(self, code: Any) -> dict[str, Any] | None:
        text = str(code or "").strip()
        return next((c for c in self.rows("CONTACT") if c["SUB_NR"] == text), None)

    def apply(
        self, business_object: str, headers: list[dict[str, Any]], details: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Apply a whole POST, or (on any :class:`AvError`) nothing of it."""
        ids = [h.get("RowId") for h in headers]
        if any(not i for i in ids) or len(set(ids)) != len(ids):
            raise AvError("Every header row needs its own RowId")
        by_header: dict[str, list[dict[str, Any]]] = {str(i): [] for i in ids}
        for d in details:
            owner = str(d.get("HeaderId") or "")
            if owner not in by_header:
                raise AvError(
                    f"Detail row {d.get('RowId')!r} has HeaderId {owner!r}, which "
                    "is no header row's RowId"
                )
            by_header[owner].append(d)
        with self.state.lock:
            before = copy.deepcopy(self.data)
            try:
                apply = {"AR1": self._contact, "SO1": self._sales_order, "DJ2": self._journal_page}[
                    business_object
                ]
                done = [apply(h, by_header[str(h["RowId"])]) for h in headers]
            except AvError:
                self.data.clear()
                self.data.update(before)
                raise
            self.state.save()
            return done

    def _contact(self, row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
        fields = {k: v for k, v in row.items() if k not in ("RowId", "HeaderId")}
        code = str(fields.get("SUB_NR") or "").strip()
        if not code:
            if not self.auto_sub_nr:
                raise AvError("SUB_NR (debtor number) is required", numbers=[1101])
            taken = [int(c["SUB_NR"]) for c in self.rows("CONTACT") if c["SUB_NR"].isdigit()]
            code = str(max(taken, default=FIRST_SEEDED_DEBTOR - 1) + 1)
        fields["SUB_NR"] = code
        country = fields.get("CNT_CODE")
        if country and not re.fullmatch(r"[A-Z]{2}", str(country)):
            raise AvError(f"CNT_CODE {country!r} is not an ISO country code")
        for name, length in CONTACT_LENGTHS.items():
            value = fields.get(name)
            if isinstance(value, str) and len(value) > length:
                raise AvError(f"{name} is longer than {length} characters", numbers=[1103])
        existing = self._debtor(code)
        now = _now()
        if existing is not None:
            if "ACCT_NAME" in fields and not str(fields["ACCT_NAME"] or "").strip():
                raise AvError("ACCT_NAME (company name) is required")
            existing.update(fields, CNG_DATE=now)
            return {"RowId": row["RowId"], **existing}
        for required in CONTACT_MANDATORY:
            if not str(fields.get(required) or "").strip():
                raise AvError(f"{required} is required for a new debtor", numbers=[1102])
        record: dict[str, Any] = {
            f: "" for f, t in TABLES["CONTACT"].items() if t in ("C", "M", "T")
        }
        record["REC_BLK"] = False
        record.update(fields, INP_DATE=now, CNG_DATE=now)
        self.rows("CONTACT").append(record)
        return {"RowId": row["RowId"], **record}

    def _sales_order(self, row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
        header = {k: v for k, v in row.items() if k not in ("RowId", "HeaderId")}
        for role in ("RPL_INV", "RPL_DEL"):
            needed = role == "RPL_INV" or header.get(role)
            if needed and self._debtor(header.get(role)) is None:
                raise AvError(
                    f"Debtor {header.get(role)!r} ({role}) does not exist", numbers=[2101]
                )
        if not header.get("ORD_DATE"):
            raise AvError("ORD_DATE is required")
        if not lines:
            raise AvError(f"Sales order (RowId {row['RowId']}) has no SO_LINE rows")
        articles = {a["ART_CODE"] for a in self.rows("ARTICLE")}
        for line in lines:
            if line.get("ART_CODE") not in articles:
                raise AvError(f"Article {line.get('ART_CODE')!r} does not exist", numbers=[2102])
            if not line.get("ORD_QTY"):
                raise AvError(f"ORD_QTY of article {line.get('ART_CODE')} must not be 0")
        number = str(self.data["next_order"])
        self.data["next_order"] += 1
        header.update(ORD_NR=number, INP_DATE=_now())
        self.rows("SO_HDR").append(header)
        for n, line in enumerate(lines, start=1):
            self.rows("SO_LINE").append(
                {
                    **{k: v for k, v in line.items() if k not in ("RowId", "HeaderId")},
                    "ORD_NR": number,
                    "LINE_NR": n,
                }
            )
        return {"RowId": row["RowId"], **header}

    def _journal_page(self, row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
        page = {k: v for k, v in row.items() if k not in ("RowId", "HeaderId")}
        journal = str(page.get("DJ_CODE") or "")
        if journal not in self.journals:
            raise AvError(f"Journal {journal!r} does not exist", numbers=[3101])
        if self._debtor(page.get("SUB_NR")) is None:
            raise AvError(f"Debtor {page.get('SUB_NR')!r} does not exist", numbers=[2101])
        invoice = str(page.get("INV_NR") or "").strip()
        if not invoice:
            raise AvError("INV_NR (invoice number) is required")
        if any(
            p["DJ_CODE"] == journal and p.get("INV_NR") == invoice for p in self.rows("DJ_PAGE")
        ):
            raise AvError(
                f"Invoice number {invoice} already exists in journal {journal}", numbers=[3102]
            )
        if not page.get("TRN_DATE"):
            raise AvError("TRN_DATE is required")
        if not lines:
            raise AvError(f"Journal page (RowId {row['RowId']}) has no DJ_LINE rows")
        for line in lines:
            if not str(line.get("ACCT_NR") or "").strip():
                raise AvError("ACCT_NR is required on every journal line")
            if line.get("AMOUNT") is None:
                raise AvError("AMOUNT is required on every journal line")
            code = line.get("VAT_CODE")
            if code not in (None, "") and code not in self.vat_codes:
                raise AvError(f"VAT code {code!r} does not exist", numbers=[3103])
        pages: dict[str, int] = self.data.setdefault("next_page", {})
        number = str(pages.get(journal, 1))
        pages[journal] = pages.get(journal, 1) + 1
        page.update(PAGE_NR=number, INP_DATE=_now())
        self.rows("DJ_PAGE").append(page)
        for line in lines:
            self.rows("DJ_LINE").append(
                {
                    **{k: v for k, v in line.items() if k not in ("RowId", "HeaderId")},
                    "DJ_CODE": journal,
                    "PAGE_NR": number,
                }
            )
        return {"RowId": row["RowId"], **page}

    def change_article(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /_sandbox/articles``: set fields as given (no rules), or add the article."""
        code = str(body.get("ART_CODE") or "").strip()
        if not code:
            raise AvError("ART_CODE is required")
        with self.state.lock:
            row = next((a for a in self.rows("ARTICLE") if a["ART_CODE"] == code), None)
            if row is None:
                row = {"ART_CODE": code}
                self.rows("ARTICLE").append(row)
            row.update(body)
            if "CNG_DATE" not in body:
                row["CNG_DATE"] = _now()
            self.state.save()
            return dict(row)


# -- app -------------------------------------------------------------------------------


def _fault_body(status: int, request: Request) -> dict[str, Any]:
    return _body(f"Simulated failure {status} ({request.url.path})", numbers=[status])


class _Tokens:
    """Issued access tokens (in memory: a restarted AccountView forgets sessions too)."""

    def __init__(self, refresh_token: str, ttl: float, rotate: bool) -> None:
        self.refresh_token = refresh_token
        self.ttl = ttl
        self.rotate = rotate
        self.access: dict[str, float] = {}
        self.lock = threading.Lock()

    def issue(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.access[token] = time.monotonic() + self.ttl
            if self.rotate:
                self.refresh_token = secrets.token_urlsafe(24)
            return {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(self.ttl),
                "refresh_token": self.refresh_token,
                "scope": "readaccountviewdata",
            }

    def valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.access.get(token)
            return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> None:
        with self.lock:
            self.access.clear()


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    client_id: str = "shopbridge",
    client_secret: str = "sandbox-secret",
    refresh_token: str = "sandbox-refresh",
    company_id: str = "SANDBOX",
    company_name: str = "Demo Webshop BV",
    extra_companies: Iterable[str] = (),
    token_ttl: float = 3600,
    rotate_refresh_token: bool = False,
    error_status: int = 400,
    rights_status: int = 403,
    denied_objects: Iterable[str] = (),
    unreachable: bool = False,
    single_row_object: bool = True,
    post_echo: bool = True,
    auto_sub_nr: bool = False,
    case_sensitive: bool = False,
    rate_limit_per_minute: int = 0,
    journals: Iterable[str] = ("VK",),
    vat_codes: Iterable[str] = ("0", "1", "2", "3", "4", "5", "6"),
) -> FastAPI:
    """A fresh sandbox; ``seed=None`` starts empty, ``state_file`` persists across restarts.

    The options are documented in the module docstring; each can be given on the command
    line as ``--set name=value`` (JSON, e.g. ``--set denied_objects='["SO1"]'``).
    """
    app = FastAPI(title="AccountView.net sandbox")
    controls = SandboxControls()
    install_controls(app, controls, _fault_body)
    state = JsonState(state_file, lambda: _seed(seed))
    store = Store(
        state, auto_sub_nr=auto_sub_nr, journals=tuple(journals), vat_codes=tuple(vat_codes)
    )
    tokens = _Tokens(refresh_token, float(token_ttl), rotate_refresh_token)
    companies = [
        {"Id": company_id, "Description": company_name, "Code": company_id[:10]},
        *({"Id": c, "Description": c, "Code": c[:10]} for c in extra_companies),
    ]
    denied = {d.upper() for d in denied_objects}
    recent: deque[float] = deque()
    recent_lock = threading.Lock()

    def av_error(err: AvError) -> JSONResponse:
        status = rights_status if err.rights else error_status
        return JSONResponse(_body(err.message, err.kind, err.numbers), status_code=status)

    def refuse(message: str) -> JSONResponse:
        controls.count("rejected_401")
        return JSONResponse(
            _body(message, "AuthenticationError"),
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="AccountView.net"'},
        )

    @app.middleware("http")
    async def network(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Outermost: the simulated unreachable host, then the rate limit."""
        if request.url.path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        if unreachable:
            raise httpx.ConnectError(f"simulated: cannot connect to {request.url.netloc}")
        if rate_limit_per_minute > 0:
            now = time.monotonic()
            with recent_lock:
                while recent and recent[0] <= now - 60:
                    recent.popleft()
                if len(recent) >= rate_limit_per_minute:
                    wait = max(1, math.ceil(recent[0] + 60 - now))
                    controls.count("rejected_429")
                    return JSONResponse(
                        _body("Too many requests", "RateLimitError", [429]),
                        status_code=429,
                        headers={"Retry-After": str(wait)},
                    )
                recent.append(now)
        return await call_next(request)

    def bearer(request: Request) -> JSONResponse | None:
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not token or not tokens.valid(token.strip()):
            return refuse("Authorization has been denied for this request.")
        return None

    def gate(request: Request) -> JSONResponse | None:
        refused = bearer(request)
        if refused is not None:
            return refused
        company = request.headers.get("x-company")
        if not company:
            return JSONResponse(_body("The x-company header is required"), status_code=400)
        if company not in {c["Id"] for c in companies}:
            return JSONResponse(
                _body(f"No access to company {company!r}", "AuthorizationError"), status_code=403
            )
        return None

    @app.post(PREFIX + "/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("client_id") != client_id or not secrets.compare_digest(
            form.get("client_secret", "").encode(), client_secret.encode()
        ):
            controls.count("rejected_401")
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not secrets.compare_digest(
            form.get("refresh_token", "").encode(), tokens.refresh_token.encode()
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(tokens.issue())

    @app.get(PREFIX + "/companies")
    def list_companies(request: Request) -> JSONResponse:
        refused = bearer(request)
        return refused if refused is not None else JSONResponse(companies)

    @app.get(PREFIX + "/accountviewdata")
    def read(request: Request) -> JSONResponse:
        refused = gate(request)
        if refused is not None:
            return refused
        q = _params(request)
        bo = q.get("businessobject", "").upper()
        try:
            if bo not in BUSINESS_OBJECTS:
                raise AvError(f"Business object {bo!r} does not exist")
            if bo in denied:
                raise AvError(
                    f"Insufficient rights for business object {bo}",
                    kind="AuthorizationError",
                    rights=True,
                )
            table = BUSINESS_OBJECTS[bo][0]
            with state.lock:
                rows = select(table, store.rows(table), q, case_sensitive=case_sensitive)
        except AvError as err:
            return av_error(err)
        rows = [present(table, r) for r in rows]
        if single_row_object and len(rows) == 1:
            return JSONResponse({table: rows[0]})
        return JSONResponse({table: rows})

    @app.get(PREFIX + "/accountviewsystemdata")
    def system_data(request: Request) -> JSONResponse:
        """The data dictionary: ``BusinessObject=FLD`` with ``FilterControlSource1=
        DBF_NAME`` (``Equal`` or ``Contains``) naming one table."""
        refused = gate(request)
        if refused is not None:
            return refused
        q = _params(request)
        try:
            if q.get("businessobject", "").upper() != "FLD":
                raise AvError(
                    f"System business object {q.get('businessobject')!r} is not "
                    "served by the sandbox (FLD is)"
                )
            if q.get("filtercontrolsource1", "").upper() != "DBF_NAME":
                raise AvError("Filter the data dictionary on DBF_NAME")
            rows = dictionary(q.get("filtervalue1", "").strip().upper())
        except AvError as err:
            return av_error(err)
        return JSONResponse({"DCT_FLD": rows})

    @app.post(PREFIX + "/accountviewdata")
    async def write(request: Request) -> JSONResponse:
        refused = gate(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return av_error(AvError("The body is not JSON"))
        try:
            if not isinstance(body, Mapping):
                raise AvError("The body must be a JSON object")
            bo = str(body.get("BusinessObject", "")).upper()
            if bo not in BUSINESS_OBJECTS:
                raise AvError(f"Business object {bo!r} does not exist")
            if bo in denied:
                raise AvError(
                    f"Insufficient rights for business object {bo}",
                    kind="AuthorizationError",
                    rights=True,
                )
            if bo not in WRITABLE:
                raise AvError(f"The sandbox does not accept writes to {bo}")
            header_table, detail_table, _ = BUSINESS_OBJECTS[bo]
            table = body.get("Table") or {}
            data = body.get("TableData") or {}
            headers = _table_rows(table.get("Definition"), data.get("Data"), header_table)
            details: list[dict[str, Any]] = []
            detail_defs = table.get("DetailDefinitions") or []
            detail_data = data.get("DetailData") or []
            if detail_defs:
                if detail_table is None or len(detail_defs) != 1 or len(detail_data) != 1:
                    raise AvError(
                        f"{bo} takes one detail table"
                        f"{f' ({detail_table})' if detail_table else ' (none)'}"
                    )
                details = _table_rows(detail_defs[0], detail_data[0], detail_table)
                if any("HeaderId" not in d for d in details):
                    raise AvError(f"Table {detail_table} has no HeaderId field")
            done = store.apply(bo, headers, details)
        except AvError as err:
            return av_error(err)
        controls.count("writes")
        return JSONResponse({header_table: done} if post_echo else {})

    # -- controls ----------------------------------------------------------------------

    def with_lines(header: str, line: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        with state.lock:
            lines = store.rows(line)
            return [
                {**h, "lines": [ln for ln in lines if all(ln.get(k) == h.get(k) for k in keys)]}
                for h in store.rows(header)
            ]

    @app.get(CONTROL_PREFIX + "/debtors")
    def debtors() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(c) for c in store.rows("CONTACT")]

    @app.get(CONTROL_PREFIX + "/sales_orders")
    def sales_orders() -> list[dict[str, Any]]:
        return with_lines("SO_HDR", "SO_LINE", ("ORD_NR",))

    @app.get(CONTROL_PREFIX + "/invoices")
    def invoices() -> list[dict[str, Any]]:
        return with_lines("DJ_PAGE", "DJ_LINE", ("DJ_CODE", "PAGE_NR"))

    @app.get(CONTROL_PREFIX + "/articles")
    def articles() -> list[dict[str, Any]]:
        with state.lock:
            return [dict(a) for a in store.rows("ARTICLE")]

    @app.post(CONTROL_PREFIX + "/articles")
    async def change_article(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(_body("The body is not JSON"), status_code=400)
        if not isinstance(body, dict):
            return JSONResponse(_body("The body must be a JSON object"), status_code=400)
        try:
            return JSONResponse(store.change_article(body))
        except AvError as err:
            return JSONResponse(_body(err.message), status_code=400)

    @app.post(CONTROL_PREFIX + "/expire_tokens")
    def expire_tokens() -> dict[str, int]:
        tokens.expire_all()
        return {"expired": 1}

    return app
