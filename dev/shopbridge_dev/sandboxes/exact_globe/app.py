"""A fake Exact Globe REST Entity service (STYLE R13), shared by tests and the demo.

Imitates what the connector depends on: OData v2 routes under
``/services/Exact.Entity.REST.EG/{Entity}`` with ``{"d":...}`` envelopes, ``$filter``
(``eq``/``ne`` on strings and numbers, ``ge``/``le``/``gt``/``lt`` on ``datetime'...'``,
joined by ``and``/``or`` strictly left to right, no parentheses), ``$top``/``$skip``/
``$select``, ``guid'...'`` keys, MERGE (PUT is treated as MERGE), the ``ServerName``/
``DatabaseName`` headers, an auth challenge and TransactionKey staging of sales order lines.

``POST .../$batch`` takes an OData v2 batch (format in ``_batch``) of changesets; each
changeset runs against the same store rules as the single routes and is atomic: the first
failing operation rolls back everything that changeset did (staged lines included) and is
answered as the changeset's single error part (status, OData error, its Content-ID); other
changesets are unaffected. The batch counts as ONE request in ``/_sandbox/stats``,
``writes`` counts each applied operation. Retrieve (GET) parts outside changesets are
answered ``501`` (the connector never sends them); ``$1`` Content-ID references are not
resolved. [U] Whether real Globe accepts ``$batch`` at all.

Auth: Globe uses NTLM, which needs a Windows domain; the sandbox accepts Basic instead and
answers 401 with both ``WWW-Authenticate: NTLM`` and ``Basic realm="Exact Globe"``.
``require_ntlm=True`` imitates a Globe with Basic disabled: only the NTLM challenge is sent
and every request is refused (the sandbox cannot complete an NTLM handshake); it exists to
exercise the refused-credentials path.

Catalogue [U] (entity and field names beyond ``Items.ItemCode/Description/Assortment``
are assumptions, see ``catalogue``): ``ItemCategory`` {ID, Code, Description, ParentCode,
Level}, ``ItemImage`` {ID, ItemCode, Position, FileName, ContentType, Data (base64),
ContentHash} and ``ItemWarehouse`` {ID, ItemCode, Warehouse, Stock}, validated as Globe
would: an image or stock row needs an existing item and is unique per (item, position) or
(item, warehouse); a category's ``ParentCode`` must exist and its ``Code`` is at most 20
characters; ``Items.ParentItem`` must name an existing item; an ``Items.Description`` over
60 characters is refused the way SQL Server refuses an over-long ``char(60)`` insert
("String or binary data would be truncated"), so the connector must truncate it.

Timestamps (``Created``, ``Modified``, ``OrderDate``) are naive, in the server's local time
(:data:`SERVER_TZ`, Europe/Amsterdam) as Globe's SQL Server keeps them [U].

Orders entered in the ERP itself ("phone orders": the demo seed holds five, and
``POST /_sandbox/sales_orders`` adds more, unvalidated, to make bad records) live in the
same ``SalesOrderHeader``/``SalesOrderLine`` tables but have no ``TransactionKey``.
``GET /_sandbox/orders`` lists only the documents committed through the REST service (what
a sync imported); ``GET /_sandbox/sales_orders`` lists the ERP-entered ones.

Controls (no auth, never counted as requests or writes): ``/_sandbox/faults`` and
``/_sandbox/stats`` (shared), ``GET /_sandbox/orders``, ``/invoices``, ``/journal``,
``/accounts`` (with contacts), ``GET``/``POST /_sandbox/sales_orders``, ``GET
/_sandbox/items`` (each item with ``warehouses`` {code: stock}, ``images`` [{Position,
FileName, ContentHash, size}] without the data, and ``category``, its Assortment code) and
``GET /_sandbox/categories``.

Shapes served (the drift test holds them to ``tests/contracts/exact_globe``): Exact's
documented names only (``SalesOrderNumber`` padded to 8, ``DebtorCode`` to 20, ``VATCode``
to 3, country codes as char(3)), ``/Date(ms)/`` dates, numbers as JSON numbers, ``null``
for empty text, ``__metadata`` on every row (also under ``$select``), Globe's read-only
order totals computed at commit, a ``VAT`` table (codes 0-6, code 3 inclusive), errors as
``{"error":{"code","message":{"lang","value"}}}``, ``Entity('<code>')`` keys for
``SalesOrderHeader`` and ``Items``. Writes accept the documented names and the older ones
(``ALIASES``); stored rows keep both, which the ``/_sandbox`` controls show.
``$orderby`` (asc/desc, several keys, nulls first) and ``$inlinecount=allpages``
(``__count`` as text) are honoured; ``max_page_size`` imitates server-driven paging
(``__next``).

Simplifications: no VAT checksum, no XML import endpoint, no ``$expand``. Without
``$orderby`` records are returned in insertion order. E-mail comparisons are case-insensitive (as on
SQL Server's default collation); other fields compare exactly.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from shopbridge.connectors.exact_globe._batch import (
    BatchFormatError,
    HttpMessage,
    OperationResponse,
    build_response,
    parse,
)
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import JsonState, SandboxControls, install_controls

PREFIX = "/services/Exact.Entity.REST.EG"
ENTITIES = (
    "Account",
    "Contact",
    "Items",
    "SalesOrderHeader",
    "SalesOrderLine",
    "SalesInvoiceHeader",
    "SalesInvoiceLine",
    "GLTransactionHeader",
    "GLTransactionLine",
    "ItemCategory",
    "ItemImage",
    "ItemWarehouse",
    "VAT",
)
#: Globe's server clock: naive local timestamps, as its SQL Server stores them [U].
SERVER_TZ = ZoneInfo("Europe/Amsterdam")
#: Column widths Globe enforces [U]: ``Items.Description`` char(60), category codes 20.
DESCRIPTION_MAX = 60
CATEGORY_CODE_MAX = 20
#: How many ERP-entered ("phone") orders the demo seed holds.
PHONE_ORDERS = 5
_SEED_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://shopbridge.dev/sandbox/exact_globe")
_TARGET = re.compile(r"^(?P<entity>\w+)(?:\((?:guid'(?P<key>[^']*)'|'(?P<code>(?:[^']|'')*)')\))?$")
_TOKEN = re.compile(
    r"\s*(?:(?P<field>[A-Za-z_]\w*)\s+(?P<op>eq|ne|ge|le|gt|lt)\s+"
    r"(?P<lit>'(?:[^']|'')*'|guid'[^']*'|datetime'[^']*'|-?\d+(?:\.\d+)?|true|false|null)"
    r"|(?P<conj>and|or))\s*"
)
_CI_FIELDS = {"Email", "EmailAddress"}


class ODataError(Exception):
    """Rendered as ``{"error":{"code","message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict[str, Any]:
    """An OData v2 JSON error as WCF Data Services writes it (the shape omniboost's Globe
    client decodes: ``message`` is ``{"lang", "value"}``)."""
    return {"error": {"code": code, "message": {"lang": "en-US", "value": message}}}


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _fault_body(status: int, request: Request) -> dict[str, Any]:
    return error_body(
        HTTPStatus(status).phrase.replace(" ", ""),
        f"{HTTPStatus(status).phrase} ({request.url.path})",
    )


# -- Exact's documented field names: what the OData routes serve --------------------------

#: entity -> {documented name: the sandbox's older storage name}. Writes may use either
#: (the connector's default mapping still writes some older names: see the package
#: docstring), stored rows keep both, the OData routes serve the documented one only, so
#: the connector's reads are tested against the names a real Globe has.
ALIASES: dict[str, dict[str, str]] = {
    "Account": {
        "AccountName": "Name",
        "EmailAddress": "Email",
        "PhoneNumber": "Phone",
        "MailingAddress1": "AddressLine1",
        "MailingPostcode": "PostalCode",
        "MailingCity": "City",
        "MailingCountry": "Country",
        "AccountStatus": "Status",
        "CustomerType": "Type",
    },
    "SalesOrderHeader": {
        "SalesOrderNumber": "OrderNumber",
        "SalesOrderDate": "OrderDate",
        "CurrencyCode": "Currency",
        "DeliveryDebtorAddress1": "DeliveryAddressLine1",
        "DeliveryDebtorPostCode": "DeliveryPostalCode",
        "DeliveryDebtorCity": "DeliveryCity",
        "DeliveryDebtorCountryCode": "DeliveryCountry",
        "ShippingVia": "DeliveryMethod",
    },
    "SalesOrderLine": {"SalesOrderNumber": "OrderNumber"},
}
#: older names served by no OData route (computed into documented ones instead)
_HIDDEN: dict[str, frozenset[str]] = {
    "Account": frozenset({"IsPerson", "Created", "Modified", *ALIASES["Account"].values()}),
    "SalesOrderHeader": frozenset(
        {
            "Description",
            "AmountDC",
            "VATIncluded",
            "HeaderID",
            *ALIASES["SalesOrderHeader"].values(),
        }
    ),
    "SalesOrderLine": frozenset(
        {"VATPercentage", "DiscountAmount", "HeaderID", *ALIASES["SalesOrderLine"].values()}
    ),
    "Items": frozenset({"Description", "Currency"}),
}
#: Globe's VAT table as the sandbox seeds it: (code, percentage, basis "E"xcl/"I"ncl)
VAT_CODES = (
    ("0", 0, "E"),
    ("1", 9, "E"),
    ("2", 21, "E"),
    ("3", 21, "I"),
    ("4", 19, "E"),
    ("5", 20, "E"),
    ("6", 6, "E"),
)
#: key property of entities addressed as ``Entity('<code>')``
KEY_FIELDS = {"SalesOrderHeader": "SalesOrderNumber", "Items": "ItemCode"}
_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00")


def aliased(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with each documented/older name pair of ``entity`` filled both ways."""
    out = dict(body)
    for doc, old in ALIASES.get(entity, {}).items():
        if doc in out and old not in out:
            out[old] = out[doc]
        elif old in out and doc not in out:
            out[doc] = out[old]
    return out


def odata_date(value: Any) -> str | None:
    """A stored naive local timestamp or date as OData v2 ``/Date(ms)/`` (wall-clock ticks)."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.startswith("/Date("):
        return text
    when = datetime.fromisoformat(text).replace(tzinfo=None)
    return f"/Date({int((when - _EPOCH).total_seconds() * 1000)})/"


def _num(value: Any) -> Any:
    """A stored number (often decimal text, as the connector writes it) as a JSON number."""
    if value is None or value == "" or isinstance(value, bool):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return value
    return int(number) if number == number.to_integral_value() else float(number)


def _int_id(guid: Any) -> int:
    """A stable integer ``ID`` for a row kept under a guid (Globe's sales order rows have
    integer IDs)."""
    try:
        return uuid.UUID(str(guid)).int % 1_000_000_000
    except ValueError:
        return 0


def _blank(value: Any) -> Any:
    """Globe sends ``null`` for many empty text fields (omniboost's structs decode a live
    answer's empty fields as null)."""
    return None if value == "" else value


def _pad(value: Any, width: int) -> Any:
    return None if value in (None, "") else str(value).strip().rjust(width)


def _meta(entity: str, key: str) -> dict[str, str]:
    return {
        "uri": f"http://sandbox:8020{PREFIX}/{entity}({key})",
        "type": f"Exact.Entity.REST.EG.{entity}",
    }


# -- $filter ---------------------------------------------------------------------------------


def _literal(raw: str) -> Any:
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw.startswith("guid'"):
        return raw[5:-1]
    if raw.startswith("datetime'"):
        return _as_datetime(raw[9:-1])
    return {"true": True, "false": False, "null": None}.get(
        raw, Decimal(raw) if raw[0] in "-0123456789" else raw
    )


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


def _compare(value: Any, op: str, lit: Any, field: str) -> bool:
    try:
        if isinstance(lit, datetime):
            value = _as_datetime(value) if value not in (None, "") else None
        elif isinstance(lit, Decimal) and value is not None and not isinstance(value, bool):
            value = Decimal(str(value).strip())
        elif isinstance(lit, str) and value is not None:
            # char columns: Globe pads codes ("   10001"); SQL Server ignores trailing
            # blanks, the sandbox ignores both ends
            value, lit = str(value).strip(), lit.strip()
            if field in _CI_FIELDS:
                value, lit = value.lower(), lit.lower()
    except (ValueError, InvalidOperation):
        return False
    if op == "eq":
        return bool(value == lit)
    if op == "ne":
        return bool(value != lit)
    if value is None or lit is None:
        return False
    return bool({"ge": value >= lit, "le": value <= lit, "gt": value > lit, "lt": value < lit}[op])


def compile_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """``$filter`` -> predicate; 400 on anything outside the supported subset."""
    pos, terms, conjs = 0, [], []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ODataError(
                400, "BadRequest", f"unsupported $filter near {text[pos : pos + 30]!r}"
            )
        pos = m.end()
        if m["conj"]:
            conjs.append(m["conj"])
        else:
            terms.append((m["field"], m["op"], _literal(m["lit"])))
    if not terms or len(conjs) != len(terms) - 1:
        raise ODataError(400, "BadRequest", f"malformed $filter {text!r}")

    def pred(row: dict[str, Any]) -> bool:
        f, op, lit = terms[0]
        ok = _compare(row.get(f), op, lit, f)
        for conj, (f, op, lit) in zip(conjs, terms[1:], strict=True):
            hit = _compare(row.get(f), op, lit, f)
            ok = (ok and hit) if conj == "and" else (ok or hit)
        return ok

    return pred


# -- seed ------------------------------------------------------------------------------------


def _now() -> str:
    """Globe's clock: the server's naive local time."""
    return _local(datetime.now(UTC))


def _local(when: datetime) -> str:
    """An aware instant as Globe stores it: naive, in :data:`SERVER_TZ`."""
    return when.astimezone(SERVER_TZ).replace(tzinfo=None).isoformat(timespec="seconds")


def _seed(seed: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {e: [] for e in ENTITIES}
    data.update(staged={}, next_debtor=60001, next_order=10001, next_invoice=26000001)
    data["VAT"] = [
        {
            "ID": n,
            "VATCode": code.rjust(3),
            "Percentage": pct,
            "Calculationbasis": basis,
            "CountryCode": "NL",
            "Description": f"BTW {pct}%" + (" inclusief" if basis == "I" else ""),
            "PercentageDescription": f"{pct}%",
            "SalesPurchase": "V",
            "Taxtype": "B",
            "Excluded": "N",
            "VATCodeCreditNote": None,
            "CreatedDate": "/Date(1262304000000)/",
            "ModifiedDate": "/Date(1672531200000)/",
        }
        for n, (code, pct, basis) in enumerate(VAT_CODES, start=1)
    ]
    if seed is None:
        return data
    demo = demo_data.generate(seed)
    for p in (*demo.products, *demo_data.ERP_ONLY_ITEMS):
        if p["sku"] == demo_data.UNKNOWN_SKU:
            continue
        data["Items"].append(
            {
                "ID": str(uuid.uuid5(_SEED_NS, f"item:{p['sku']}")),
                "ItemCode": p["sku"],
                "Description": p["title"],
                "GTIN": p["ean"],
                "Assortment": p["title"].split()[0],
                "SalesPrice": str(p["price_excl"]),
                "IsSalesItem": True,
                "IsStockItem": True,
            }
        )
    dd = demo_data.DEFAULT_DEBTOR
    data["Account"].append(
        {
            "ID": str(uuid.uuid5(_SEED_NS, f"account:default:{dd['code']}")),
            "DebtorCode": dd["code"],
            "Type": "C",
            "Status": "A",
            "Name": dd["name"],
            "IsPerson": False,
            "Email": "",
            "Phone": "",
            "VATNumber": "",
            "AddressLine1": "",
            "PostalCode": "",
            "City": "",
            "Country": dd["country"],
        }
    )
    for c in demo.existing_debtors:
        account_id = str(uuid.uuid5(_SEED_NS, f"account:{c['email']}"))
        code = str(data["next_debtor"])
        data["next_debtor"] += 1
        number = f"{c['number']}{c['extension']}"
        data["Account"].append(
            {
                "ID": account_id,
                "DebtorCode": code,
                "Type": "C",
                "Status": "A",
                "Name": c["company_name"]
                if c["is_company"]
                else f"{c['first_name']} {c['last_name']}",
                "IsPerson": not c["is_company"],
                "Email": c["email"],
                "Phone": c["phone"],
                "VATNumber": c["vat_number"],
                "AddressLine1": f"{c['street']} {number}",
                "PostalCode": c["zipcode"],
                "City": c["city"],
                "Country": c["country"],
                "Created": "2026-01-05T09:00:00",
                "Modified": "2026-01-05T09:00:00",
            }
        )
        if c["is_company"]:
            data["Contact"].append(
                {
                    "ID": str(uuid.uuid5(_SEED_NS, f"contact:{c['email']}")),
                    "Account": account_id,
                    "IsDefault": True,
                    "FirstName": c["first_name"],
                    "LastName": c["last_name"],
                    "Email": c["email"],
                    "Phone": c["phone"],
                }
            )
    _seed_phone_orders(data, demo)
    return data


def _seed_phone_orders(data: dict[str, Any], demo: demo_data.DemoData) -> None:
    """Orders typed into Globe by the sales desk: the source of the ERP -> webshop flow.

    One per day of the demo week, for the first :data:`PHONE_ORDERS` seeded debtors (they
    have e-mails), 1-3 lines of seeded items; the first and third deliver elsewhere than
    the debtor's address, the last has prices including VAT (Globe's inclusive VAT code
    ``3``: the basis is the code's, not the order's), the second a 10 % line discount.
    Lines carry Globe's VAT code, not a percentage; headers get Globe's read-only totals.
    Deterministic (no clock), so every worker and every restart sees the same orders.
    """
    erp_only = {i["sku"] for i in demo_data.ERP_ONLY_ITEMS}
    items = [i for i in data["Items"] if i["ItemCode"] not in erp_only]
    accounts = {a["Email"]: a for a in data["Account"] if a.get("Email")}
    for n, debtor in enumerate(demo.existing_debtors[:PHONE_ORDERS]):
        account = accounts[debtor["email"]]
        when = demo_data.DEMO_START + timedelta(days=n, hours=9, minutes=15 + 7 * n)
        number = str(data["next_order"])
        data["next_order"] += 1
        header_id = str(uuid.uuid5(_SEED_NS, f"phone-order:{number}"))
        vat_included = n == PHONE_ORDERS - 1
        lines = []
        for k in range(1 + n % 3):
            item = items[(n * 5 + k * 3) % len(items)]
            price = Decimal(str(item["SalesPrice"]))
            if vat_included:
                price = (price * Decimal("1.21")).quantize(Decimal("0.01"))
            qty = Decimal(k + 1)
            discount = (qty * price / 10).quantize(Decimal("0.01")) if n == 1 else Decimal(0)
            lines.append(
                {
                    "ID": str(uuid.uuid5(_SEED_NS, f"phone-order:{number}:{k + 1}")),
                    "HeaderID": header_id,
                    "OrderNumber": number,
                    "SalesOrderNumber": number,
                    "LineNumber": k + 1,
                    "Itemcode": item["ItemCode"],
                    "Description": item["Description"],
                    "Quantity": str(qty),
                    "Price": format(price, "f"),
                    "VATCode": "3" if vat_included else "2",
                    "DiscountAmount": format(discount, "f"),
                }
            )
        header: dict[str, Any] = {
            "ID": header_id,
            "OrderNumber": number,
            "OrderDebtor": account["DebtorCode"],
            "OrderDate": _local(when)[:10],
            "Created": _local(when - timedelta(minutes=4)),
            "Modified": _local(when),
            "Description": "Telefonische order",
            "YourReference": "",
            "Currency": "EUR",
            "PaymentCondition": "14",
            "DeliveryMethod": "POST" if n % 2 else "AFH",
            "Completed": False,
            **_totals(lines, _seed_rate, incl=vat_included),
        }
        if n in (0, 2):
            header.update(
                DeliveryAddressLine1=f"Magazijnweg {10 + n}",
                DeliveryPostalCode="3542 AB",
                DeliveryCity="Utrecht",
                DeliveryCountry="NL",
            )
        data["SalesOrderHeader"].append(aliased("SalesOrderHeader", header))
        data["SalesOrderLine"].extend(lines)


def _seed_rate(line: dict[str, Any]) -> Decimal:
    """The percentage of a seeded line's VAT code (:data:`VAT_CODES`)."""
    code = str(line.get("VATCode") or "").strip()
    return next((Decimal(pct) for c, pct, _ in VAT_CODES if c == code), Decimal(0))


# -- app -------------------------------------------------------------------------------------


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    user: str = "globe",
    password: str = "globe",
    server_name: str = "sandbox",
    database_name: str = "600",
    require_ntlm: bool = False,
    max_page_size: int | None = None,
) -> FastAPI:
    """A fresh sandbox; ``seed=None`` starts empty, ``state_file`` persists across restarts.

    ``max_page_size``: server-driven paging, as a Globe capping its pages would do: a
    ``$top`` above it is answered with that many rows and a ``__next`` link.
    """
    app = FastAPI(title="Exact Globe REST Entity sandbox")
    controls = SandboxControls()
    install_controls(app, controls, _fault_body)
    state = JsonState(state_file, lambda: _seed(seed))
    store = Store(state, max_page_size=max_page_size)
    expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def refuse(message: str) -> JSONResponse:
        controls.count("rejected_401")
        resp = _error(401, "Unauthorized", message)
        resp.headers.append("WWW-Authenticate", "NTLM")
        if not require_ntlm:
            resp.headers.append("WWW-Authenticate", 'Basic realm="Exact Globe"')
        return resp

    def gate(request: Request) -> Response | None:
        """Auth, then the administration headers: the refusal, or None to go on."""
        given = request.headers.get("Authorization", "")
        if require_ntlm:
            return refuse("NTLM authentication required")
        if not secrets.compare_digest(given.encode(), expected_auth.encode()):
            return refuse("missing or wrong credentials")
        for header, want in (("ServerName", server_name), ("DatabaseName", database_name)):
            got = request.headers.get(header)
            if not got:
                return _error(400, "BadRequest", f"missing header {header}")
            if got != want:
                return _error(400, "BadRequest", f"unknown {header} {got!r}")
        return None

    # registered before "/{target}", which would otherwise take "$batch" for an entity
    @app.post(PREFIX + "/$batch")
    async def batch(request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        try:
            items = parse(request.headers.get("Content-Type", ""), await request.body())
        except BatchFormatError as err:
            return _error(400, "BadRequest", f"malformed $batch: {err}")
        answers: list[list[OperationResponse] | OperationResponse] = []
        for item in items:
            if isinstance(item, HttpMessage):
                answers.append(
                    _op_error(
                        item.content_id,
                        ODataError(
                            501, "NotImplemented", "the sandbox serves only changesets in $batch"
                        ),
                    )
                )
                continue
            answer = _apply_changeset(store, item)
            if isinstance(answer, list):
                for _ in answer:
                    controls.count("writes")
            answers.append(answer)
        content_type, body = build_response(answers)
        return Response(
            body,
            status_code=202,
            media_type=None,
            headers={"Content-Type": content_type, "DataServiceVersion": "1.0"},
        )

    @app.api_route(PREFIX + "/{target}", methods=["GET", "POST", "MERGE", "PUT"])
    async def entity(target: str, request: Request) -> Response:
        refused = gate(request)
        if refused is not None:
            return refused
        m = _TARGET.match(target)
        if m is None or m["entity"] not in ENTITIES:
            return _error(404, "NotFound", f"unknown entity {target!r}")
        try:
            key = m["key"] if m["code"] is None else store.key_of(m["entity"], m["code"])
            return await _dispatch(store, controls, request, m["entity"], key)
        except ODataError as err:
            return _error(err.status, err.code, err.message)

    def with_lines(imported: bool) -> list[dict[str, Any]]:
        with state.lock:
            lines = state.data["SalesOrderLine"]
            return [
                {**h, "lines": [ln for ln in lines if ln["OrderNumber"] == h["OrderNumber"]]}
                for h in state.data["SalesOrderHeader"]
                if bool(h.get("TransactionKey")) is imported
            ]

    @app.get("/_sandbox/orders")
    def orders() -> list[dict[str, Any]]:
        """Sales orders committed through the REST service (what a sync imported)."""
        return with_lines(imported=True)

    @app.get("/_sandbox/sales_orders")
    def erp_orders() -> list[dict[str, Any]]:
        """Sales orders entered in the ERP itself (seeded or added by the control below)."""
        return with_lines(imported=False)

    @app.post("/_sandbox/sales_orders")
    async def add_erp_order(request: Request) -> Response:
        """Insert an ERP-entered order as is, unvalidated (tests make bad records with it).

        Body: ``{"header": {...}, "lines": [{...}], "account": {...}}``, all optional.
        ``account`` is inserted as a new debtor (fields as given, e.g. without ``Email``)
        and the order is booked on it; else ``header.OrderDebtor`` is used as given.
        ``OrderNumber``, IDs and missing ``OrderDate``/``Created``/``Modified`` are filled
        in; line numbers default to their position.
        """
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "BadRequest", "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "BadRequest", "body must be a JSON object")
        return JSONResponse(store.insert_erp_order(body), status_code=201)

    @app.get("/_sandbox/items")
    def items() -> list[dict[str, Any]]:
        """Items with their stock per warehouse, images (without data) and category code."""
        with state.lock:
            stock = state.data.get("ItemWarehouse", [])
            images = state.data.get("ItemImage", [])
            return [
                {
                    **i,
                    "category": i.get("Assortment"),
                    "warehouses": {
                        w["Warehouse"]: w["Stock"] for w in stock if w["ItemCode"] == i["ItemCode"]
                    },
                    "images": sorted(
                        (
                            {
                                "Position": m["Position"],
                                "FileName": m.get("FileName"),
                                "ContentHash": m.get("ContentHash"),
                                "size": len(base64.b64decode(m["Data"])),
                            }
                            for m in images
                            if m["ItemCode"] == i["ItemCode"]
                        ),
                        key=lambda m: m["Position"],
                    ),
                }
                for i in state.data["Items"]
            ]

    @app.get("/_sandbox/categories")
    def categories() -> list[dict[str, Any]]:
        """The ``ItemCategory`` table."""
        with state.lock:
            return [dict(c) for c in state.data.get("ItemCategory", [])]

    @app.get("/_sandbox/invoices")
    def invoices() -> list[dict[str, Any]]:
        with state.lock:
            lines = state.data.get("SalesInvoiceLine", [])
            return [
                {**h, "lines": [ln for ln in lines if ln["InvoiceNumber"] == h["InvoiceNumber"]]}
                for h in state.data.get("SalesInvoiceHeader", [])
            ]

    @app.get("/_sandbox/journal")
    def journal() -> list[dict[str, Any]]:
        with state.lock:
            lines = state.data.get("GLTransactionLine", [])
            return [
                {**h, "lines": [ln for ln in lines if ln["EntryNumber"] == h["EntryNumber"]]}
                for h in state.data.get("GLTransactionHeader", [])
            ]

    @app.get("/_sandbox/accounts")
    def accounts() -> list[dict[str, Any]]:
        with state.lock:
            contacts = state.data["Contact"]
            return [
                {**a, "contacts": [c for c in contacts if c["Account"] == a["ID"]]}
                for a in state.data["Account"]
            ]

    return app


async def _dispatch(
    store: Store, controls: SandboxControls, request: Request, entity: str, key: str | None
) -> Response:
    method = request.method
    if method == "GET":
        if key is not None:
            return JSONResponse({"d": store.get(entity, key)})
        q = request.query_params
        rows = store.query(entity, q.get("$filter"), q.get("$orderby"))
        try:
            skip, top = int(q.get("$skip", 0)), (int(q["$top"]) if "$top" in q else None)
        except ValueError:
            raise ODataError(400, "BadRequest", "$top and $skip must be integers") from None
        end = len(rows) if top is None else skip + top
        cap = store.max_page_size
        served = rows[skip : min(end, skip + cap) if cap else end]
        if q.get("$select"):
            fields = [f.strip() for f in q["$select"].split(",")]
            served = [
                {f: r.get(f) for f in ("__metadata", *fields) if f in r or f in fields}
                for r in served
            ]
        d: dict[str, Any] = {"results": served}
        if q.get("$inlinecount") == "allpages":
            d["__count"] = str(len(rows))  # OData v2 sends the count as text
        if cap and skip + len(served) < min(end, len(rows)):
            params = dict(q)
            params["$skip"] = str(skip + len(served))
            if top is not None:
                params["$top"] = str(end - skip - len(served))
            d["__next"] = str(request.url.replace_query_params(**params))
        return JSONResponse({"d": d})
    try:
        body = await request.json()
    except ValueError:
        raise ODataError(400, "BadRequest", "body is not JSON") from None
    if not isinstance(body, dict):
        raise ODataError(400, "BadRequest", "body must be a JSON object")
    if method == "POST":
        if key is not None:
            raise ODataError(405, "MethodNotAllowed", "POST to an entity set, not a key")
        created = store.create(entity, body)
        controls.count("writes")
        return JSONResponse({"d": created}, status_code=201)
    if key is None:
        raise ODataError(405, "MethodNotAllowed", f"{method} needs a (guid'...') key")
    store.merge(entity, key, body)
    controls.count("writes")
    return Response(status_code=204)


def _op_error(content_id: str | None, err: ODataError) -> OperationResponse:
    return OperationResponse(err.status, error_body(err.code, err.message), content_id)


def _apply_changeset(
    store: Store, ops: list[HttpMessage]
) -> list[OperationResponse] | OperationResponse:
    """All of ``ops`` in order, atomically; the failing operation's error if one fails."""
    done: list[OperationResponse] = []
    current: HttpMessage | None = None
    try:
        with store.atomic():
            for current in ops:
                done.append(_apply_operation(store, current))
    except ODataError as err:
        return _op_error(current.content_id if current is not None else None, err)
    return done


def _apply_operation(store: Store, msg: HttpMessage) -> OperationResponse:
    """One changeset operation, by the same store rules as the single routes."""
    try:
        method, target = msg.method_and_target
    except BatchFormatError as err:
        raise ODataError(400, "BadRequest", str(err)) from None
    # relative to the service root, as sent; an absolute URL or path is accepted too
    target = target.split(PREFIX + "/", 1)[-1].lstrip("/")
    m = _TARGET.match(target)
    if m is None or m["entity"] not in ENTITIES:
        raise ODataError(404, "NotFound", f"unknown entity {target!r}")
    if method not in ("POST", "MERGE", "PUT"):
        raise ODataError(405, "MethodNotAllowed", f"{method} is not allowed in a changeset")
    try:
        body = msg.json()
    except ValueError:
        raise ODataError(400, "BadRequest", "body is not JSON") from None
    if not isinstance(body, dict):
        raise ODataError(400, "BadRequest", "body must be a JSON object")
    if method == "POST":
        if m["key"] is not None or m["code"] is not None:
            raise ODataError(405, "MethodNotAllowed", "POST to an entity set, not a key")
        return OperationResponse(201, {"d": store.create(m["entity"], body)}, msg.content_id)
    key = m["key"] if m["code"] is None else store.key_of(m["entity"], m["code"])
    if key is None:
        raise ODataError(405, "MethodNotAllowed", f"{method} needs a (guid'...') key")
    store.merge(m["entity"], key, body)
    return OperationResponse(204, None, msg.content_id)


class Store:
    """The entity tables and Globe's rules for writing them, on a :class:`JsonState`."""

    _READ_ONLY = frozenset(
        {
            "ID",
            "DebtorCode",
            "OrderNumber",
            "SalesOrderNumber",
            "TransactionKey",
            "Created",
            "TotalAmount",
            "TotalAmountExcludingVAT",
            "TotalVATAmount",
            "Completed",
        }
    )

    def __init__(self, state: JsonState, *, max_page_size: int | None = None) -> None:
        self.state = state
        self.data = state.data
        #: rows per page the server sends at most (server-driven paging: a longer $top is
        #: answered with this many rows and a ``__next`` link); None: $top as asked
        self.max_page_size = max_page_size
        #: rows MERGEd inside :meth:`atomic`, with their values before, for a rollback
        self._journal: list[tuple[dict[str, Any], dict[str, Any]]] | None = None

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Everything inside applies, or (on any exception) nothing does: a changeset.

        Holds the state lock throughout. The snapshot copies each table's list and each
        staged-line list (cheap: rows are shared, and creates only append new rows);
        rows changed in place by MERGE are journalled and restored.
        """
        with self.state.lock:
            before = {
                k: (
                    {tk: list(v) for tk, v in val.items()}
                    if k == "staged"
                    else list(val)
                    if isinstance(val, list)
                    else val
                )
                for k, val in self.data.items()
            }
            self._journal = []
            try:
                yield
            except BaseException:
                for row, old in reversed(self._journal):
                    row.clear()
                    row.update(old)
                self.data.clear()
                self.data.update(before)
                self.state.save()
                raise
            finally:
                self._journal = None

    def query(
        self, entity: str, flt: str | None, orderby: str | None = None
    ) -> list[dict[str, Any]]:
        """The entity's rows as Globe serves them (:meth:`view`), filtered and ordered."""
        pred = compile_filter(flt) if flt else None
        with self.state.lock:
            rows = [self.view(entity, r) for r in self.table(entity)]
        rows = [r for r in rows if pred is None or pred(r)]
        for field, desc in reversed(_order_terms(orderby)):
            rows.sort(key=partial(_row_key, field), reverse=desc)
        return rows

    def get(self, entity: str, key: str) -> dict[str, Any]:
        with self.state.lock:
            for row in self.table(entity):
                if row["ID"] == key:
                    return self.view(entity, row)
        raise ODataError(404, "NotFound", f"Resource not found for the segment '{entity}'.")

    def key_of(self, entity: str, code: str) -> str:
        """The stored ``ID`` of the row whose key property (:data:`KEY_FIELDS`) is
        ``code`` (compared stripped, as char columns); 404 when none."""
        field = KEY_FIELDS.get(entity)
        if field is None:
            raise ODataError(400, "BadRequest", f"{entity} is keyed by guid'...'")
        want = code.replace("''", "'").strip()
        with self.state.lock:
            for row in self.table(entity):
                got = row.get(field, row.get(ALIASES.get(entity, {}).get(field, field)))
                if str(got or "").strip() == want:
                    return str(row["ID"])
        raise ODataError(404, "NotFound", f"Resource not found for the segment '{entity}'.")

    # -- the documented view ---------------------------------------------------------------

    def rate_of(self, line: dict[str, Any]) -> Decimal:
        """A stored line's VAT percentage: its ``VATPercentage``, else its code's."""
        if line.get("VATPercentage") not in (None, ""):
            return _dec(line.get("VATPercentage"))
        code = str(line.get("VATCode") or "").strip()
        return next(
            (
                Decimal(str(v["Percentage"]))
                for v in self.table("VAT")
                if str(v["VATCode"]).strip() == code
            ),
            Decimal(0),
        )

    def order_totals(self, lines: list[dict[str, Any]], *, incl: bool) -> dict[str, float]:
        """The read-only totals Globe computes when a sales order is committed; prices
        include VAT when ``incl`` (the older header flag) or every line's code is
        inclusive."""
        inclusive = {
            str(v["VATCode"]).strip() for v in self.table("VAT") if v["Calculationbasis"] == "I"
        }
        codes = {str(ln.get("VATCode") or "").strip() for ln in lines}
        return _totals(lines, self.rate_of, incl=incl or (bool(lines) and codes <= inclusive))

    def vat_code(self, percentage: Any) -> str | None:
        """The exclusive VAT code of ``percentage`` (``"  2"`` for 21), None when Globe's
        table has none."""
        try:
            want = Decimal(str(percentage).strip())
        except InvalidOperation:
            return None
        for row in self.table("VAT"):
            if Decimal(str(row["Percentage"])) == want and row["Calculationbasis"] == "E":
                return str(row["VATCode"])
        return None

    def view(self, entity: str, row: dict[str, Any]) -> dict[str, Any]:
        """One stored row as the OData routes serve it: Exact's documented names, padded
        codes, ``/Date(ms)/`` dates, numbers as numbers, ``null`` for empty text."""
        shown = {k: v for k, v in row.items() if k not in _HIDDEN.get(entity, ())}
        make = getattr(self, f"_view_{entity.lower()}", None)
        return make(row, shown) if make is not None else shown

    def _view_account(self, row: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        contact = (
            next(
                (
                    c
                    for c in self.table("Contact")
                    if c.get("Account") == row["ID"] and c.get("IsDefault")
                ),
                None,
            )
            or next((c for c in self.table("Contact") if c.get("Account") == row["ID"]), None)
            or {}
        )
        code = _pad(row.get("DebtorCode"), 20)
        names = [contact.get("FirstName") or "", contact.get("LastName") or ""]
        return {
            "__metadata": _meta("Account", f"guid'{row['ID']}'"),
            **out,
            "AccountCode": code,
            "DebtorCode": code,
            "DebtorNumber": str(row.get("DebtorCode") or "").strip(),
            "AccountName": row.get("Name"),
            "EmailAddress": _blank(row.get("Email")),
            "PhoneNumber": row.get("Phone") or "",
            "VATNumber": _blank(row.get("VATNumber")),
            "MailingAddress1": _blank(row.get("AddressLine1")),
            "MailingPostcode": _blank(row.get("PostalCode")),
            "MailingCity": _blank(row.get("City")),
            "MailingCountry": _blank(row.get("Country")),
            "MailingAddress2": "" if row.get("AddressLine1") else None,
            "AccountStatus": row.get("Status") or "A",
            "CustomerType": row.get("Type") or "C",
            "Blocked": False,
            "CreditLine": 0,
            "CurrencyCode": row.get("CurrencyCode") or "EUR",
            "PaymentCondition": row.get("PaymentCondition") or "14",
            "ChamberofCommerceNumber": None if row.get("IsPerson") else "00000000",
            "ContactID": contact.get("ID"),
            "ContactFirstName": _blank(contact.get("FirstName")),
            "ContactLastName": _blank(contact.get("LastName")),
            "ContactMiddleName": None,
            "ContactFullName": " ".join(n for n in names if n) or None,
            "ContactEmail": _blank(contact.get("Email")),
            "ContactPhoneNumber": _blank(contact.get("Phone")),
            "CreatedDate": odata_date(row.get("Created") or "2026-01-05T09:00:00"),
            "ModifiedDate": odata_date(row.get("Modified") or "2026-01-05T09:00:00"),
            "DeliveryAddressline1": None,
            "DeliveryCity": None,
            "DeliveryCountry": None,
            "DeliveryPostCode": None,
            "FaxNumber": None,
            "InvoiceAddress": None,
            "InvoiceCity": None,
            "InvoiceCountry": None,
            "InvoiceAddressPostCode": None,
            "Note": None,
            "PostalAddressLine1": None,
            "PostalCity": None,
            "PostalCountry": None,
            "PostalPostCode": None,
            "PriceList": None,
        }

    def _view_salesorderheader(self, row: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        number = _pad(row.get("OrderNumber") or row.get("SalesOrderNumber"), 8)
        debtor = str(row.get("OrderDebtor") or "").strip()
        acc = next(
            (a for a in self.table("Account") if str(a.get("DebtorCode")).strip() == debtor), {}
        )
        acc_view = self._view_account(acc, {}) if acc else {}
        ship = bool(row.get("DeliveryAddressLine1"))
        country = row.get("DeliveryCountry") if ship else acc.get("Country")
        return {
            "__metadata": _meta("SalesOrderHeader", f"'{number}'"),
            **out,
            "ID": _int_id(row["ID"]),
            "SalesOrderNumber": number,
            "SalesOrderDate": odata_date(row.get("OrderDate")),
            "DeliveryDate": None,
            "CurrencyCode": row.get("Currency"),
            "CurrencyRate": "1",
            "OrderDebtor": debtor,
            "InvoiceDebtor": debtor,
            "DeliveryDebtor": debtor,
            "Description1": str(row.get("Description") or "")[:20] or None,
            "Description2": None,
            "Description3": None,
            "OrderDebtorName": acc.get("Name"),
            "OrderDebtorAddress1": acc.get("AddressLine1") or "",
            "OrderDebtorAddress2": "",
            "OrderDebtorAddress3": None,
            "OrderDebtorPostCode": _blank(acc.get("PostalCode")),
            "OrderDebtorCity": _blank(acc.get("City")),
            "OrderDebtorCountryCode": _blank(
                str(acc.get("Country") or "").ljust(3) if acc.get("Country") else ""
            ),
            "OrderDebtorContactEmail": acc_view.get("ContactEmail") or acc_view.get("EmailAddress"),
            "OrderDebtorContactPerson": acc_view.get("ContactFullName"),
            "OrderDebtorPhone": _blank(acc.get("Phone")),
            "DeliveryDebtorName": acc.get("Name") if ship else None,
            "DeliveryDebtorAddress1": _blank(row.get("DeliveryAddressLine1")),
            "DeliveryDebtorAddress2": "" if ship else None,
            "DeliveryDebtorAddress3": None,
            "DeliveryDebtorPostCode": _blank(row.get("DeliveryPostalCode")),
            "DeliveryDebtorCity": _blank(row.get("DeliveryCity")),
            "DeliveryDebtorCountryCode": (str(country).ljust(3) if ship and country else None),
            "DeliveryDebtorContactEmail": None,
            "DeliveryDebtorContactPerson": None,
            "DeliveryDebtorPhone": None,
            # [U] Globe fills both from the debtor card when the order names none
            "ShippingVia": row.get("DeliveryMethod") or "",
            "PaymentCondition": row.get("PaymentCondition")
            or acc_view.get("PaymentCondition")
            or "14",
            "PaymentMethod": row.get("PaymentMethod") or "B",
            "Warehouse": "1",
            "YourReference": _blank(row.get("YourReference")),
            "OurReference": None,
            "Reference": None,
            "TotalAmountExcludingVAT": _num(row.get("TotalAmountExcludingVAT")),
            "TotalVATAmount": _num(row.get("TotalVATAmount")),
            "TotalAmount": _num(row.get("TotalAmount")),
            "Completed": bool(row.get("Completed", False)),
            "TransactionKey": row.get("TransactionKey"),
            "OrderLines": "",
            "AdditionalField01": None,
            "ApplyShippingCharges": True,
            "CostCenter": None,
            "DeletionReason": None,
            "DocumentID": None,
            "FreeField1": None,
            "FreeField4": 0,
            "GrossWeight": 0,
            "IsEDI": False,
            "NetWeight": 0,
            "OrderConfirmation": True,
            "Packages": 0,
            "PartialDelivery": True,
            "Project": None,
            "Resource": 1001,
            "SelectionCode": None,
        }

    def _view_salesorderline(self, row: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        qty = _dec(row.get("Quantity"))
        price = _dec(row.get("Price"))
        discount = _dec(row.get("DiscountAmount"))
        gross = qty * price
        share = (discount / gross * 100).quantize(Decimal("0.01")) if gross else Decimal(0)
        net = (price - discount / qty).quantize(Decimal("0.001")) if qty else price
        code = row.get("VATCode") or self.vat_code(row.get("VATPercentage", 21))
        rate = next(
            (
                Decimal(str(v["Percentage"]))
                for v in self.table("VAT")
                if str(v["VATCode"]).strip() == str(code or "").strip()
            ),
            Decimal(0),
        )
        number = row.get("OrderNumber") or row.get("SalesOrderNumber")
        return {
            "__metadata": _meta("SalesOrderLine", str(_int_id(row["ID"]))),
            **out,
            "ID": _int_id(row["ID"]),
            "SalesOrderNumber": _pad(number, 8),
            "LineNumber": int(row.get("LineNumber") or 0),
            "Quantity": _num(row.get("Quantity")),
            "Price": _num(row.get("Price")),
            "NetPrice": _num(net),
            "DiscountPercentage": _num(share),
            "VATCode": _pad(code, 3),
            "AmountExcludingDiscountIncludingVAT": _num(
                (gross * (1 + rate / 100)).quantize(Decimal("0.01"))
            ),
            "Description": row.get("Description") or "",
            "Action": None,
            "BOMVersion": None,
            "CostCenter": None,
            "CostPrice": 0,
            "CountryISO": None,
            "DeliveryDate": None,
            "DeliveryMethod": None,
            "Instruction": None,
            "ItemType": "S",
            "LongDescription": None,
            "NetWeight": 0,
            "PriceList": None,
            "Project": None,
            "QuantityDelivered": 0,
            "SerialNumber": None,
            "TransactionKey": row.get("TransactionKey"),
            "Unit": "STK",
            "Warehouse": "1",
        }

    def _view_items(self, row: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        codes = sorted({str(i.get("Assortment") or "") for i in self.table("Items")} - {""})
        assortment = str(row.get("Assortment") or "")
        return {
            "__metadata": _meta("Items", f"'{row.get('ItemCode')}'"),
            **out,
            "Assortment": codes.index(assortment) + 1 if assortment in codes else 0,
            "AssortmentCode": assortment or None,
            "GTIN": _blank(row.get("GTIN")),
            "SalesPrice": _num(row.get("SalesPrice"))
            if row.get("SalesPrice") not in (None, "")
            else 0,
            "SalesCurrency": row.get("Currency") or "EUR",
            "SalesVATCode": _pad(row.get("SalesVATCode") or "2", 3),
            "Status": "A",
            "IsSalesItem": bool(row.get("IsSalesItem", True)),
            "IsStockItem": bool(row.get("IsStockItem", True)),
            "CreatedDate": odata_date(row.get("Created") or "2026-01-05T09:00:00"),
            "ModifiedDate": odata_date(row.get("Modified") or "2026-01-05T09:00:00"),
        }

    def _view_vat(self, row: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        return {"__metadata": _meta("VAT", str(row["ID"])), **out}

    def merge(self, entity: str, key: str, body: dict[str, Any]) -> None:
        if entity in ("SalesOrderLine", "SalesInvoiceLine"):
            raise ODataError(400, "ValidationError", "committed document lines are read-only")
        with self.state.lock:
            row = next((r for r in self.table(entity) if r["ID"] == key), None)
            if row is None:
                raise ODataError(404, "NotFound", f"{entity} guid'{key}' not found")
            check = _CHECKS.get(entity)
            if check is not None:
                check(self, {**row, **aliased(entity, body)}, row)
            if self._journal is not None:
                self._journal.append((row, dict(row)))
            row.update({k: v for k, v in aliased(entity, body).items() if k not in self._READ_ONLY})
            row["Modified"] = _now()
            self.state.save()

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            record = {k: v for k, v in aliased(entity, body).items() if k != "ID"}
            record["ID"] = str(uuid.uuid4())
            record["Created"] = record["Modified"] = _now()
            made = getattr(self, f"_create_{entity.lower()}", None)
            if made is None:
                raise ODataError(405, "MethodNotAllowed", f"{entity} cannot be created here")
            row = made(record)
            self.state.save()
            return self.view(entity, row)

    def _create_account(self, rec: dict[str, Any]) -> dict[str, Any]:
        _check_account(rec)
        rec.setdefault("Type", "C")
        rec.setdefault("Status", "A")
        rec["DebtorCode"] = str(self.data["next_debtor"])
        self.data["next_debtor"] += 1
        self.data["Account"].append(rec)
        return rec

    def _create_contact(self, rec: dict[str, Any]) -> dict[str, Any]:
        account = rec.get("Account")
        if not any(a["ID"] == account for a in self.data["Account"]):
            raise ODataError(400, "ValidationError", f"Account {account} not found")
        rec["IsDefault"] = not any(c["Account"] == account for c in self.data["Contact"])
        self.data["Contact"].append(rec)
        return rec

    def _create_items(self, rec: dict[str, Any]) -> dict[str, Any]:
        code = rec.get("ItemCode")
        if not code:
            raise ODataError(400, "ValidationError", "ItemCode is required")
        if any(i["ItemCode"] == code for i in self.data["Items"]):
            raise ODataError(400, "ValidationError", f"Item {code} already exists")
        self.check_items(rec, None)
        self.data["Items"].append(rec)
        return rec

    def table(self, entity: str) -> list[dict[str, Any]]:
        """An entity's rows; tables newer than a persisted state file start empty."""
        rows: list[dict[str, Any]] = self.data.setdefault(entity, [])
        return rows

    def item_exists(self, code: Any) -> bool:
        """Whether ``Items`` has ``code`` (the foreign key of images and stock rows)."""
        return bool(code) and any(i["ItemCode"] == code for i in self.data["Items"])

    def check_items(self, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Globe's item rules: a known parent, a bounded description, numeric prices."""
        description = rec.get("Description")
        if description is not None and len(str(description)) > DESCRIPTION_MAX:
            raise ODataError(
                400,
                "ValidationError",
                "String or binary data would be "
                f"truncated: Items.Description (max {DESCRIPTION_MAX})",
            )
        parent = rec.get("ParentItem")
        if parent and (parent == rec.get("ItemCode") or not self.item_exists(parent)):
            raise ODataError(400, "ValidationError", f"Parent item {parent} not found")
        for f in ("SalesPrice", "Stock"):
            if rec.get(f) is not None:
                _number(rec, f)

    def check_itemcategory(self, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        """A category's code is bounded and its parent exists."""
        code = str(rec.get("Code") or "")
        if not code.strip() or len(code) > CATEGORY_CODE_MAX:
            raise ODataError(
                400, "ValidationError", f"Code {code!r} must be 1-{CATEGORY_CODE_MAX} characters"
            )
        if old is not None and code != old.get("Code"):
            raise ODataError(400, "ValidationError", "Code cannot be changed")
        if not str(rec.get("Description") or "").strip():
            raise ODataError(400, "ValidationError", "Description is required")
        parent = rec.get("ParentCode")
        if parent and not any(c["Code"] == parent for c in self.table("ItemCategory")):
            raise ODataError(400, "ValidationError", f"Parent category {parent} not found")

    def _create_itemcategory(self, rec: dict[str, Any]) -> dict[str, Any]:
        self.check_itemcategory(rec, None)
        if any(c["Code"] == rec["Code"] for c in self.table("ItemCategory")):
            raise ODataError(400, "ValidationError", f"Category {rec['Code']} already exists")
        parent = next(
            (
                c
                for c in self.table("ItemCategory")
                if rec.get("ParentCode") and c["Code"] == rec["ParentCode"]
            ),
            None,
        )
        rec.setdefault("Level", 1 if parent is None else int(parent.get("Level") or 1) + 1)
        self.table("ItemCategory").append(rec)
        return rec

    def check_itemimage(self, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        """An image belongs to an existing item and carries base64 data."""
        if not self.item_exists(rec.get("ItemCode")):
            raise ODataError(400, "ValidationError", f"Item {rec.get('ItemCode')} not found")
        if not isinstance(rec.get("Position"), int) or isinstance(rec.get("Position"), bool):
            raise ODataError(400, "ValidationError", "Position must be an integer")
        if not rec.get("Data"):
            raise ODataError(400, "ValidationError", "Data is required")
        try:
            base64.b64decode(str(rec["Data"]), validate=True)
        except (binascii.Error, ValueError):
            raise ODataError(400, "ValidationError", "Data is not base64") from None

    def _create_itemimage(self, rec: dict[str, Any]) -> dict[str, Any]:
        self.check_itemimage(rec, None)
        if any(
            (m["ItemCode"], m["Position"]) == (rec["ItemCode"], rec["Position"])
            for m in self.table("ItemImage")
        ):
            raise ODataError(
                400,
                "ValidationError",
                f"Item {rec['ItemCode']} already has an image at position {rec['Position']}",
            )
        self.table("ItemImage").append(rec)
        return rec

    def check_itemwarehouse(self, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        """A stock row belongs to an existing item and warehouse code; Stock is numeric."""
        if not self.item_exists(rec.get("ItemCode")):
            raise ODataError(400, "ValidationError", f"Item {rec.get('ItemCode')} not found")
        if not str(rec.get("Warehouse") or "").strip():
            raise ODataError(400, "ValidationError", "Warehouse is required")
        _number(rec, "Stock")

    def _create_itemwarehouse(self, rec: dict[str, Any]) -> dict[str, Any]:
        self.check_itemwarehouse(rec, None)
        if any(
            (w["ItemCode"], w["Warehouse"]) == (rec["ItemCode"], rec["Warehouse"])
            for w in self.table("ItemWarehouse")
        ):
            raise ODataError(
                400,
                "ValidationError",
                f"Item {rec['ItemCode']} already has stock in warehouse {rec['Warehouse']}",
            )
        self.table("ItemWarehouse").append(rec)
        return rec

    def insert_erp_order(self, body: dict[str, Any]) -> dict[str, Any]:
        """What ``POST /_sandbox/sales_orders`` does: no Globe rules, just the tables."""
        with self.state.lock:
            header = {
                k: v
                for k, v in aliased("SalesOrderHeader", dict(body.get("header") or {})).items()
                if k not in ("ID", "OrderNumber", "SalesOrderNumber", "TransactionKey")
            }
            account = body.get("account")
            if isinstance(account, dict):
                acc = {
                    **aliased("Account", account),
                    "ID": str(uuid.uuid4()),
                    "DebtorCode": str(self.data["next_debtor"]),
                }
                acc.setdefault("Type", "C")
                acc.setdefault("Status", "A")
                self.data["next_debtor"] += 1
                self.data["Account"].append(acc)
                header["OrderDebtor"] = acc["DebtorCode"]
            now = _now()
            header.update(
                ID=str(uuid.uuid4()),
                OrderNumber=str(self.data["next_order"]),
                SalesOrderNumber=str(self.data["next_order"]),
            )
            self.data["next_order"] += 1
            header.setdefault("OrderDate", now[:10])
            header.setdefault("Created", now)
            header.setdefault("Modified", now)
            header.setdefault("Currency", "EUR")
            lines = [
                {
                    **dict(ln),
                    "ID": str(uuid.uuid4()),
                    "HeaderID": header["ID"],
                    "OrderNumber": header["OrderNumber"],
                    "LineNumber": dict(ln).get("LineNumber", n),
                }
                for n, ln in enumerate(body.get("lines") or [], start=1)
            ]
            header.update(self.order_totals(lines, incl=bool(header.get("VATIncluded"))))
            header.setdefault("Completed", False)
            header = aliased("SalesOrderHeader", header)
            self.data["SalesOrderHeader"].append(header)
            self.data["SalesOrderLine"].extend(aliased("SalesOrderLine", ln) for ln in lines)
            self.state.save()
            return {**header, "lines": lines}

    def _create_salesorderline(self, rec: dict[str, Any]) -> dict[str, Any]:
        key = rec.get("TransactionKey")
        if not key:
            raise ODataError(400, "ValidationError", "TransactionKey is required")
        code = rec.get("Itemcode")
        if not any(i["ItemCode"] == code for i in self.data["Items"]):
            raise ODataError(400, "ValidationError", f"Item {code} not found")
        for f in ("Quantity", "Price"):
            try:
                Decimal(str(rec.get(f)))
            except InvalidOperation:
                raise ODataError(400, "ValidationError", f"{f} is not a number") from None
        return self._stage(key, rec)

    def _stage(self, key: str, rec: dict[str, Any]) -> dict[str, Any]:
        """Hold a line under its TransactionKey; the same key and LineNumber replaces it."""
        staged: list[dict[str, Any]] = self.data["staged"].setdefault(key, [])
        rec["LineNumber"] = int(rec.get("LineNumber") or len(staged) + 1)
        staged[:] = [ln for ln in staged if ln["LineNumber"] != rec["LineNumber"]]
        staged.append(rec)
        staged.sort(key=lambda ln: ln["LineNumber"])
        return rec

    def _create_salesorderheader(self, rec: dict[str, Any]) -> dict[str, Any]:
        return self._commit(rec, "SalesOrder", number="OrderNumber", counter="next_order")

    # [U] invoices follow the sales order's staging pattern: lines under a TransactionKey,
    # committed by their header. ``Type`` "I" is an invoice of delivered goods, "D" a
    # direct invoice (delivery and invoice in one, stock goes out at once).
    _create_salesinvoiceline = _create_salesorderline

    def _create_salesinvoiceheader(self, rec: dict[str, Any]) -> dict[str, Any]:
        if rec.setdefault("Type", "I") not in ("I", "D"):
            raise ODataError(400, "ValidationError", f"Invoice type {rec['Type']!r} unknown")
        self.data.setdefault("next_invoice", 26000001)
        return self._commit(rec, "SalesInvoice", number="InvoiceNumber", counter="next_invoice")

    def _create_gltransactionline(self, rec: dict[str, Any]) -> dict[str, Any]:
        """[U] a G/L line of a financial mutation, staged under its TransactionKey."""
        key = rec.get("TransactionKey")
        if not key:
            raise ODataError(400, "ValidationError", "TransactionKey is required")
        if not str(rec.get("GLAccount") or "").strip():
            raise ODataError(400, "ValidationError", "GLAccount is required")
        try:
            Decimal(str(rec.get("AmountDC")))
        except InvalidOperation:
            raise ODataError(400, "ValidationError", "AmountDC is not a number") from None
        return self._stage(key, rec)

    def _create_gltransactionheader(self, rec: dict[str, Any]) -> dict[str, Any]:
        """Commits the staged G/L lines; Globe refuses an entry that does not balance."""
        staged = self.data["staged"].get(rec.get("TransactionKey"), [])
        balance = sum((Decimal(str(ln["AmountDC"])) for ln in staged), Decimal(0))
        if staged and balance != 0:
            raise ODataError(400, "ValidationError", f"Entry does not balance: {balance}")
        rec["OrderDebtor"] = rec.get("Debtor")
        self.data.setdefault("next_entry", 70000001)
        return self._commit(rec, "GLTransaction", number="EntryNumber", counter="next_entry")

    def _commit(
        self, rec: dict[str, Any], document: str, *, number: str, counter: str
    ) -> dict[str, Any]:
        """A header commits the lines staged under its TransactionKey into one document."""
        debtor = str(rec.get("OrderDebtor") or "").strip()
        if not any(a["DebtorCode"] == debtor for a in self.data["Account"]):
            raise ODataError(400, "ValidationError", f"Customer {debtor} not found")
        key = rec.get("TransactionKey")
        lines = self.data["staged"].pop(key, None) if key else None
        if not lines:
            label = re.sub(r"(?<!^)([A-Z])", r" \1", document).lower()  # "sales order"
            raise ODataError(
                400, "ValidationError", f"No {label} lines staged for TransactionKey {key}"
            )
        rec[number] = str(self.data[counter])
        self.data[counter] += 1
        if document == "SalesOrder":
            rec["SalesOrderNumber"] = rec[number]
            rec.update(self.order_totals(lines, incl=bool(rec.get("VATIncluded"))))
            rec["Completed"] = False
        self.data.setdefault(f"{document}Header", []).append(rec)
        for ln in lines:
            self.data.setdefault(f"{document}Line", []).append(
                {**ln, number: rec[number], "HeaderID": rec["ID"]}
            )
        return rec


def _totals(
    lines: list[dict[str, Any]], rate_of: Callable[[dict[str, Any]], Decimal], *, incl: bool
) -> dict[str, float]:
    """Globe's read-only header totals of ``lines``: nets per VAT rate, VAT rounded once
    per rate (as an invoice), in the price basis of the order."""
    per_rate: dict[Decimal, Decimal] = {}
    for ln in lines:
        net = (
            _dec(ln.get("Quantity")) * _dec(ln.get("Price")) - _dec(ln.get("DiscountAmount"))
        ).quantize(Decimal("0.01"))
        rate = rate_of(ln) / 100
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + net
    base = sum(per_rate.values(), Decimal(0))
    if incl:
        vat = sum(
            (
                (t * r / (1 + r)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                for r, t in per_rate.items()
            ),
            Decimal(0),
        )
        excl, total = base - vat, base
    else:
        vat = sum(
            (
                (t * r).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                for r, t in per_rate.items()
            ),
            Decimal(0),
        )
        excl, total = base, base + vat
    return {
        "TotalAmountExcludingVAT": float(excl),
        "TotalVATAmount": float(vat),
        "TotalAmount": float(total),
    }


def _number(rec: dict[str, Any], field: str) -> Decimal:
    try:
        value = Decimal(str(rec.get(field)).strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if isinstance(rec.get(field), bool) or not value.is_finite():
        raise ODataError(400, "ValidationError", f"{field} is not a number")
    return value


def _check_account_merge(store: Store, rec: dict[str, Any], old: dict[str, Any] | None) -> None:
    _check_account(rec)


#: Entity -> the rules a MERGE must keep (creates call the same checks themselves).
_CHECKS: dict[str, Callable[[Store, dict[str, Any], dict[str, Any] | None], None]] = {
    "Account": _check_account_merge,
    "Items": Store.check_items,
    "ItemCategory": Store.check_itemcategory,
    "ItemImage": Store.check_itemimage,
    "ItemWarehouse": Store.check_itemwarehouse,
}


def _check_account(rec: dict[str, Any]) -> None:
    if not str(rec.get("Name") or "").strip():
        raise ODataError(400, "ValidationError", "Name is required")
    country = rec.get("Country")
    if country and not re.fullmatch(r"[A-Z]{2}", str(country)):
        raise ODataError(400, "ValidationError", f"Country {country!r} is not an ISO-2 code")


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip()) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _order_terms(text: str | None) -> list[tuple[str, bool]]:
    """``$orderby`` -> [(field, descending)]; 400 on anything else."""
    terms = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if (
            len(words) > 2
            or (len(words) == 2 and words[1] not in ("asc", "desc"))
            or not re.fullmatch(r"[A-Za-z_]\w*", words[0])
        ):
            raise ODataError(400, "BadRequest", f"unsupported $orderby {part.strip()!r}")
        terms.append((words[0], len(words) == 2 and words[1] == "desc"))
    return terms


def _row_key(field: str, row: dict[str, Any]) -> tuple[int, Any]:
    return _sort_key(row.get(field))


def _sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first (as SQL Server sorts them), numbers by value, text trimmed."""
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (1, Decimal(str(value)))
    return (2, str(value).strip())
