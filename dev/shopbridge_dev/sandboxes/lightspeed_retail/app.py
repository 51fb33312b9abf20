"""A local Lightspeed Retail (R-Series) API V3: OAuth, envelopes, cursors, filters, the
leaky bucket, and the entities the connector writes (STYLE R13).

Faithful to VENDOR_APIS.md §2 where it is [V]; [U] points are options or marked
ASSUMPTION. Vendor behaviour only; ``/_sandbox/*`` test and demo controls are extra. The
shapes are those of the answers recorded from the vendor (``tests/contracts/
lightspeed_retail``, compared key by key by ``test_lightspeed_retail_drift.py``): every
field the vendor sends, including the ones this sandbox does not model (:data:`DEFAULTS`).

* **OAuth** ``POST /auth/oauth/token`` (form or JSON fields ``grant_type``,
  ``client_id``, ``client_secret``, ``refresh_token``/``code``): a refresh returns a new
  access token (``expires_in`` = ``access_ttl_s``, default 3600) and a new refresh token;
  the used refresh token dies: at once (``refresh_revocation="immediate"``, the default,
  the strictest reading) or when the new access token is first used
  (``"on_new_access_use"``, what the vendor's refresh-token page describes). A dead,
  unknown or revoked refresh token is ``400 invalid_grant``; a wrong client is
  ``401 invalid_client``. API calls with a missing, unknown or expired access token get
  ``401 {"error":"access_denied",...,"hint":"Access token could not be verified"}``
  (``"... has been revoked"`` for a revoked one); any other scheme (the pre-OAuth API key)
  the recorded ``401 {"httpCode":"401",...,"errorClass":"BadAuthenticationRequestError"}``.
* ``GET /API/V3/Account.json``; ``/API/V3/Account/{accountID}/{Entity}[/{id}].json`` for
  Item, ItemMatrix, ItemShop (read), Category, Customer, Sale, SaleLine (read), Shop,
  Register, Employee, PaymentType, ItemAttributeSet, TaxCategory. String scalars;
  ``@attributes`` (``count`` for one record, ``next``/``previous`` for lists, or with
  ``envelope="offset"`` the older ``count``/``offset``/``limit``); one record as an object,
  an empty collection as ``""`` (and no entity key for an empty list); relations only with
  ``load_relations`` (a JSON array, or ``all``) except ``Prices`` (always Default and MSRP);
  write answers carry the relations the vendor's do (a Sale its Customer, Shop,
  TaxCategory, SaleLines and SalePayments with their PaymentType; an Item its ItemShops).
* Lists: ``limit`` <= 100 (default 100), ``sort`` (``-`` for descending), opaque ``after``/
  ``before`` cursors inside the ``next``/``previous`` URLs (the vendor's: base64 of
  ``[lastID]`` or ``[sortValue, lastID]``), ``count=1``, ``archived``
  (false/true/only), filters with the operator in the value (``=``, ``>``, ``>=``, ``<``,
  ``<=``, ``><,a,b``, ``!=``, ``~`` and ``!~`` with ``%`` wildcards, ``IN,[...]`` (JSON
  or commas, at most 100)), ``or=a=x|b=~,y``, and ``Relation.field`` on a loaded relation
  (``Contact.email`` searches a customer's e-mails). ASSUMPTION [U]: text compares
  case-insensitively (the vendor's MySQL collation).
* **Leaky bucket** per account: ``bucket_size`` 90, ``drip_rate`` 1/s, GET 1, ``count=1``
  10, writes ``write_cost`` (10 [U]) or ``entity_write_costs`` (Sale 2 [V]), +0.5 per
  nested entity in a write, +``relation_cost`` per loaded relation; a request finding the
  bucket at or over its size is refused (429, ``Retry-After``, ``X-LS-API-RateLimit-Type:
  api-leaky-bucket``), the one that overflows it is allowed [V]. A burst limiter of
  ``burst_limit`` requests per one-second window (``api-burst-limiter``). Every API
  response carries ``X-LS-API-Bucket-Level``, ``-Burst-Level``, ``-Drip-Rate``,
  ``-Request-Cost``. ``clock`` drives bucket and token expiry (tests pass a fake one).
* **Writes**: Item (Prices by ``useType``, ItemAttributes, ItemShops; a PUT with nested
  ``ItemShops.ItemShop{itemShopID|shopID, qoh}`` sets ``qoh`` and bumps that ItemShop's
  ``timeStamp`` but not the Item's [V]; ``archived`` cannot be set by a PUT [V]; EAN/UPC
  must be 11-14 digits [V]; ASSUMPTION [U]: ``customSku`` unique among live items,
  ``unique_custom_sku``); ItemMatrix; Category (name + ``parentID``; names may repeat
  under one parent [V, recorded]); Customer with nested Contact (a PUT replaces the
  contact's e-mails/phones/addresses it names); Sale (completed sales must be balanced:
  payments equal the total [V], cash may overpay into ``change`` [V]; totals from
  ``unitPrice`` (default: the item's Default price) x ``unitQuantity`` -
  ``discountAmount``, plus the shop's tax rate when its tax category is not
  tax-inclusive (``tax_inclusive``, ``tax_rate``); completing takes the quantities off
  the shop's ``qoh``; with ``unbalanced_sales="open"`` an unbalanced completed sale is kept
  open with its ``balance`` instead of refused [U]). DELETE archives (Item, ItemMatrix,
  Customer, and a Sale that is not completed [V, doc]).
* Error bodies ``{"httpCode","httpMessage","message","errorClass"}``, strings [V,
  recorded]: 400 for an item without description and a category without name (the
  recorded messages), 422 [U] for the other validations, 404 for unknown ids, 405 for
  unsupported methods.

Seed (``demo_data``): the demo catalogue's SKUs (all but the discontinued one) as Items
(``customSku`` = SKU, ``ean``, Default price incl. or excl. tax as the shop prices, ``qoh``
in shop 1, ``non_inventory`` when the catalogue does not track it), multi-variant
products as ItemMatrix with Color (or Color/Size) attributes, the category tree, the
demo's existing customers, ``n_shops`` shops (1), a Register, an Employee, payment types
(1 Cash, 2 Credit Card, 3 Debit Card, 4 iDEAL) and the four system attribute sets. As
real accounts hold them [V]: every item has a Default and an MSRP price (``"0"``) and a
shop ``"0"`` stock row; a customer with nothing but a name (``Emails``/``Phones`` ``""``,
``noEmail`` ``"true"``, one address of empty fields); an item rung up by barcode only
(no ``customSku``, an EAN, price ``"0"``).

Controls (no auth, never counted): ``/_sandbox/faults`` and ``/_sandbox/stats`` (shared;
stats add ``refreshes`` and ``refresh_rejected``), ``GET /_sandbox/sales``, ``/items``
(each with ``shops`` {shopID: qoh}), ``/customers``, ``/matrices``, ``/categories``, and
``GET``/``POST /_sandbox/tokens`` (inspect; ``{"action": "expire_access" |
"revoke_access" | "revoke_refresh" | "authorize"}``, the last minting a fresh refresh
token as a re-authorization would).
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shopbridge.connectors.lightspeed_retail.ratelimit import (
    DEFAULT_BUCKET_SIZE,
    DEFAULT_BURST_LIMIT,
    DEFAULT_DRIP_RATE,
    DEFAULT_ENTITY_WRITE_COSTS,
    DEFAULT_WRITE_COST,
    NESTED_ENTITY_COST,
    nested_entities,
)
from shopbridge.connectors.lightspeed_retail.translate import as_list
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import (
    CONTROL_PREFIX,
    JsonState,
    SandboxControls,
    install_controls,
)

API = "/API/V3"
MAX_LIMIT = 100
MAX_IN = 100
CENT = Decimal("0.01")
#: entity -> its primary key
KEYS = {
    "Item": "itemID",
    "ItemMatrix": "itemMatrixID",
    "ItemShop": "itemShopID",
    "Category": "categoryID",
    "Customer": "customerID",
    "Sale": "saleID",
    "Shop": "shopID",
    "Register": "registerID",
    "Employee": "employeeID",
    "PaymentType": "paymentTypeID",
    "ItemAttributeSet": "itemAttributeSetID",
    "TaxCategory": "taxCategoryID",
    "SaleLine": "saleLineID",
}
#: entity -> the relations ``load_relations`` may name
RELATIONS = {
    "Item": {"ItemShops", "ItemAttributes", "Category", "ItemMatrix"},
    "ItemMatrix": {"Items", "ItemAttributeSet", "Category"},
    "Customer": {"Contact"},
    "Sale": {"SaleLines", "SalePayments", "Customer", "Shop", "TaxCategory", "SaleLines.Item"},
    "SaleLine": {"Item", "TaxCategory"},
    "Shop": {"TaxCategory", "Registers"},
    "Category": {"Parent"},
}
#: entity -> sortable fields besides its key and ``timeStamp`` [V, per endpoint page]
SORTABLE = {
    "Item": {"description"},
    "ItemMatrix": {"description"},
    "Category": {"leftNode", "rightNode"},
    "Customer": {"lastName", "firstName"},
}
TIME_FIELDS = {"timeStamp", "createTime", "completeTime", "updateTime"}
ITEM_TYPES = {"default", "non_inventory", "serialized", "box", "serialized_assembly", "assembly"}
PRICE_LEVELS = ("Default", "MSRP", "Online")
#: fields the renderer computes rather than stores: filtering on them needs a render
COMPUTED = frozenset(
    {"fullPathName", "nodeDepth", "attribute1Values", "attribute2Values", "attribute3Values"}
)
_OPS = ("><", ">=", "<=", "!=", "!~", ">", "<", "~", "IN", "=")
#: fields every record of an entity carries in the vendor's answers [V: recorded and doc
#: answers, tests/contracts/lightspeed_retail] that this sandbox does not model: rendered
#: with these values unless the record has its own (so a state file from before keeps
#: working, and the drift test sees every key the vendor sends)
_ZERO_STOCK = (
    "componentQoh",
    "componentBackorder",
    "onLayaway",
    "onSpecialOrder",
    "onWorkorder",
    "onTransferOut",
    "onTransferIn",
    "averageCost",
    "nextFifoLotID",
    "nextFifoLotCost",
    "lastReceivedLotID",
    "lastReceivedCost",
    "totalValueFifo",
    "totalValueAvgCost",
    "totalValueNegativeInventory",
)
DEFAULTS: dict[str, dict[str, str]] = {
    "Item": {
        "avgCost": "0",
        "itemECommerceID": "0",
        "serialized": "false",
        "publishToEcom": "false",
        "discountable": "true",
        "itemAttributesID": "0",
        "noteID": "0",
    },
    "ItemMatrix": {"itemECommerceID": "0"},
    "ItemShop": {
        **dict.fromkeys(_ZERO_STOCK, "0"),
        "backorder": "0",
        "reorderPoint": "0",
        "reorderLevel": "0",
    },
    "Sale": {
        "receiptPreference": "printed",
        "tipEnabled": "false",
        "calcAvgCost": "0",
        "calcFIFOCost": "0",
        "calcTax2": "0",
        "calcTips": "0",
        "discountID": "0",
        "tipEmployeeID": "0",
        "quoteID": "0",
        "shipToID": "0",
        "change": "0",
    },
    "SaleLine": {
        "normalUnitPrice": "0",
        "discountPercent": "0",
        "avgCost": "0",
        "fifoCost": "0",
        "tax2Rate": "0",
        "isLayaway": "false",
        "isWorkorder": "false",
        "isSpecialOrder": "false",
        "calcLineDiscount": "0",
        "calcTransactionDiscount": "0",
        "calcTax2": "0",
        "taxClassID": "1",
        "discountID": "0",
        "noteID": "0",
        "parentSaleLineID": "0",
    },
    "SalePayment": {
        "tipAmount": "0",
        "remoteReference": "",
        "paymentID": "",
        "ccChargeID": "0",
        "refPaymentID": "0",
        "creditAccountID": "0",
    },
    "Customer": {
        "title": "",
        "companyRegistrationNumber": "",
        "creditAccountID": "0",
        "discountID": "0",
        "employeeID": "0",
        "noteID": "0",
    },
    "Register": {"openTime": "", "archived": "false", "openEmployeeID": "0", "ccTerminalID": "0"},
    "Contact": {"custom": "", "noEmail": "false", "noPhone": "false", "noMail": "false"},
    "ContactAddress": {
        "address1": "",
        "address2": "",
        "city": "",
        "state": "",
        "stateCode": "",
        "zip": "",
        "country": "",
        "countryCode": "",
    },
    "Shop": {
        "serviceRate": "0",
        "taxLabor": "false",
        "labelTitle": "Shop Name",
        "labelMsrp": "false",
        "companyRegistrationNumber": "",
        "vatNumber": "",
        "zebraBrowserPrint": "false",
        "contactID": "0",
        "receiptSetupID": "1",
        "vendorID": "0",
        "ccGatewayID": "0",
        "gatewayConfigID": "0",
    },
}
#: an address as the vendor gives a new contact that was written without one [V, doc
#: example: POST Customer answers one ContactAddress with every field ""]
EMPTY_ADDRESS: dict[str, str] = dict(DEFAULTS["ContactAddress"])


class ApiError(Exception):
    """Rendered as the vendor's error body with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str, error_class: str = "Exception") -> dict[str, Any]:
    """``{"httpCode","httpMessage","message","errorClass"}``, all strings [V: recorded 400,
    401 and 404 bodies; ``errorClass`` is ``"Exception"`` in each but the API-key 401]."""
    return {
        "httpCode": str(status),
        "httpMessage": HTTPStatus(status).phrase,
        "message": message,
        "errorClass": error_class,
    }


def _fault_body(status: int, request: Request) -> dict[str, Any]:
    return error_body(status, f"{HTTPStatus(status).phrase} ({request.url.path})")


# --- values ------------------------------------------------------------------------------


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _dec(value: Any) -> Decimal | None:
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


def _str(value: Any) -> str:
    """A value as the vendor stores it: text (booleans ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT, ROUND_HALF_UP).normalize(), "f")


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1")


def _when(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace(" ", "T"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _wrap(singular: str, rows: list[dict[str, Any]]) -> Any:
    """The vendor's collection quirk: ``""`` when empty, an object for one, else a list."""
    if not rows:
        return ""
    return {singular: rows[0] if len(rows) == 1 else rows}


def _members(value: Any, singular: str) -> list[dict[str, Any]]:
    """A written nested collection (``{"ItemShop": {...}}`` or ``[...]``, or ``""``)."""
    if isinstance(value, Mapping) and singular in value:
        return as_list(value[singular])
    if isinstance(value, list):
        return as_list(value)
    return []


# --- filters -----------------------------------------------------------------------------


def parse_filter(raw: str) -> tuple[str, list[str]]:
    """``">=,5"`` -> ``(">=", ["5"])``; ``"IN,[1,2]"`` -> ``("IN", ["1","2"])``; a value
    without an operator is an equality."""
    for op in _OPS:
        if raw.startswith(op + ","):
            rest = raw[len(op) + 1 :]
            if op == "IN":
                values: list[Any]
                if rest.strip().startswith("["):
                    try:
                        values = json.loads(rest)
                    except ValueError:
                        raise ApiError(400, f"IN: not a JSON array: {rest[:80]!r}") from None
                    if not isinstance(values, list):
                        raise ApiError(400, "IN: expected an array")
                else:
                    values = rest.split(",")
                if len(values) > MAX_IN:
                    raise ApiError(400, f"IN takes at most {MAX_IN} values")
                return op, [_str(v) for v in values]
            if op == "><":
                low, sep, high = rest.partition(",")
                if not sep:
                    raise ApiError(400, "the between operator needs two values: ><,a,b")
                return op, [low, high]
            return op, [rest]
    return "=", [raw]


def _typed(field: str, a: Any, b: str) -> tuple[Any, Any] | None:
    """Both sides as datetimes (time fields), numbers, or lower-cased text."""
    if field.rpartition(".")[2] in TIME_FIELDS:
        x, y = _when(a), _when(b)
        return (x, y) if x is not None and y is not None else None
    x_num, y_num = _dec(a), _dec(b)
    if x_num is not None and y_num is not None:
        return x_num, y_num
    return _str(a).lower(), b.lower()


def _like(value: Any, pattern: str) -> bool:
    regex = "^" + ".*".join(re.escape(p) for p in pattern.lower().split("%")) + "$"
    return re.match(regex, _str(value).lower(), re.DOTALL) is not None


def _compare(field: str, value: Any, op: str, args: list[str]) -> bool:
    if op == "~":
        return _like(value, args[0])
    if op == "!~":
        return not _like(value, args[0])
    if op == "IN":
        return any(_compare(field, value, "=", [a]) for a in args)
    if op == "><":
        return _compare(field, value, ">=", [args[0]]) and _compare(field, value, "<=", [args[1]])
    pair = _typed(field, value, args[0])
    if pair is None:
        return op == "!="
    x, y = pair
    try:
        return bool(
            {"=": x == y, "!=": x != y, ">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y}[op]
        )
    except TypeError:
        return False


def matcher(field: str, op: str, args: list[str]) -> Callable[[Any], bool]:
    """:func:`_compare` for one filter, prepared once; ``=``/``IN`` on a non-time field
    become set lookups (an ``IN`` of 100 SKUs over a 15,000-item catalogue stays fast)."""
    if op in ("=", "IN") and field.rpartition(".")[2] not in TIME_FIELDS:
        texts = {a.lower() for a in args}
        numbers = {n for a in args if (n := _dec(a)) is not None}

        def member(value: Any) -> bool:
            if _str(value).lower() in texts:
                return True
            return bool(numbers) and _dec(value) in numbers

        return member
    return lambda value: _compare(field, value, op, args)


# --- the bucket --------------------------------------------------------------------------


class LeakyBucket:
    """One bucket per account (this sandbox serves one account and one client)."""

    def __init__(
        self, size: float, drip: float, burst_limit: int, clock: Callable[[], float]
    ) -> None:
        self.size, self.drip, self.burst_limit, self.clock = size, drip, burst_limit, clock
        self.level = 0.0
        self.last = clock()
        self.window = math.floor(self.last)
        self.in_window = 0
        self.lock = threading.Lock()

    def _drain(self, now: float) -> None:
        self.level = max(0.0, self.level - self.drip * max(0.0, now - self.last))
        self.last = now
        if math.floor(now) != self.window:
            self.window, self.in_window = math.floor(now), 0

    def headers(self, cost: float) -> dict[str, str]:
        return {
            "X-LS-API-Bucket-Level": f"{round(self.level, 3):g}/{self.size:g}",
            "X-LS-API-Burst-Level": f"{self.in_window}/{self.burst_limit}",
            "X-LS-API-Drip-Rate": f"{self.drip:g}",
            "X-LS-API-Request-Cost": f"{cost:g}",
        }

    def take(self, cost: float) -> tuple[float | None, str | None, dict[str, str]]:
        """``(None, None, headers)`` when the request may go, else ``(retry_after, the
        limiter that refused, headers)``."""
        with self.lock:
            now = self.clock()
            self._drain(now)
            self.in_window += 1  # every request counts for the burst limiter [V]
            if self.in_window > self.burst_limit:
                return (
                    max(1.0, math.ceil(self.window + 1 - now)),
                    "api-burst-limiter",
                    self.headers(cost),
                )
            if self.level >= self.size:
                wait = (self.level - self.size) / self.drip
                return (
                    max(1.0, float(math.ceil(wait + 1e-9))),
                    "api-leaky-bucket",
                    self.headers(cost),
                )
            self.level += cost
            return None, None, self.headers(cost)


# --- seed --------------------------------------------------------------------------------

_COUNTRY_NAMES = {
    "NL": "Netherlands",
    "BE": "Belgium",
    "DE": "Germany",
    "FR": "France",
    "GB": "United Kingdom",
}


def seed_state(
    seed: str | None,
    *,
    account_id: str,
    tax_inclusive: bool,
    tax_rate: Decimal,
    n_shops: int,
    refresh_token: str,
) -> dict[str, Any]:
    """The store: entity -> {id: record}, id counters, the account and the token state."""
    tables: dict[str, dict[str, Any]] = {e: {} for e in KEYS}
    data: dict[str, Any] = {
        "account": {"accountID": account_id, "name": "Demo Winkel"},
        "tables": tables,
        "next": {e: 1 for e in KEYS},
        "tokens": {"access": {}, "refresh": {refresh_token: {"state": "active"}}, "codes": {}},
    }
    since = _iso(demo_data.DEMO_START - timedelta(days=120))

    def add(entity: str, record: dict[str, Any]) -> dict[str, Any]:
        rid = str(data["next"][entity])
        data["next"][entity] += 1
        record = {KEYS[entity]: rid, **record}
        tables[entity][rid] = record
        return record

    add(
        "TaxCategory",
        {
            "isTaxInclusive": _str(tax_inclusive),
            "tax1Name": "BTW hoog",
            "tax1Rate": _str(tax_rate),
            "tax2Name": "",
            "tax2Rate": "0",
            "timeStamp": since,
        },
    )
    for n in range(1, n_shops + 1):
        add(
            "Shop",
            {
                "name": "Demo Amsterdam" if n == 1 else f"Demo filiaal {n}",
                "timeZone": "Europe/Amsterdam",
                "archived": "false",
                "taxCategoryID": "1",
                "priceLevelID": "1",
                "timeStamp": since,
            },
        )
    add("Register", {"name": "Kassa 1", "open": "true", "shopID": "1", "timeStamp": since})
    add(
        "Employee",
        {
            "firstName": "Demo",
            "lastName": "Medewerker",
            "lockOut": "false",
            "archived": "false",
            "limitToShopID": "0",
            "timeStamp": since,
        },
    )
    for name, kind in (
        ("Cash", "cash"),
        ("Credit Card", "credit card"),
        ("Debit Card", "user defined"),
        ("iDEAL", "user defined"),
    ):
        add(
            "PaymentType",
            {
                "name": name,
                "requireCustomer": "false",
                "archived": "false",
                "internalReserved": _str(kind != "user defined"),
                "type": kind,
                "refundAsPaymentTypeID": "0",
            },
        )
    for name, a1, a2, a3 in (
        ("Color/Size", "Color", "Size", ""),
        ("Size", "Size", "", ""),
        ("Color", "Color", "", ""),
        ("3 Attributes", "Attribute 1", "Attribute 2", "Attribute 3"),
    ):
        add(
            "ItemAttributeSet",
            {
                "name": name,
                "attributeName1": a1,
                "attributeName2": a2,
                "attributeName3": a3,
                "system": "true",
                "archived": "false",
            },
        )
    if seed is None:
        return data
    demo = demo_data.generate(seed)
    categories: dict[tuple[str, ...], str] = {}

    def category(path: tuple[str, ...]) -> str:
        for n in range(1, len(path) + 1):
            node = path[:n]
            if node not in categories:
                categories[node] = add(
                    "Category",
                    {
                        "name": node[-1],
                        "parentID": categories[node[:-1]] if n > 1 else "0",
                        "createTime": since,
                        "timeStamp": since,
                    },
                )["categoryID"]
        return categories[path]

    factor = 1 + tax_rate if tax_inclusive else Decimal(1)
    for product in demo.catalogue:
        variants = [v for v in product["variants"] if v["sku"] != demo_data.UNKNOWN_SKU]
        if not variants:
            continue
        cat = category(tuple(product["categories"][0])) if product["categories"] else "0"
        stamp = _iso(product["updated_at"])
        created = _iso(product["created_at"])
        matrix_id = "0"
        two = any("Size" in v["attributes"] for v in variants)
        if len(variants) > 1:
            price = _money(variants[0]["price_excl"] * factor)
            matrix_id = add(
                "ItemMatrix",
                {
                    "description": product["title"],
                    "tax": "true",
                    "defaultCost": "0",
                    "itemType": "default",
                    "serialized": "false",
                    "modelYear": "0",
                    "archived": "false",
                    "timeStamp": stamp,
                    "itemAttributeSetID": "1" if two else "3",
                    "manufacturerID": "0",
                    "categoryID": cat,
                    "defaultVendorID": "0",
                    "taxClassID": "1",
                    "seasonID": "0",
                    "departmentID": "0",
                    "Prices": [
                        {"amount": price, "useTypeID": "1", "useType": "Default"},
                        {"amount": "0", "useTypeID": "2", "useType": "MSRP"},
                    ],
                },
            )["itemMatrixID"]
        for v in variants:
            attrs = v["attributes"]
            title = (
                " ".join([product["title"], *attrs.values()])
                if matrix_id != "0"
                else product["title"]
            )
            item = add(
                "Item",
                {
                    "systemSku": "",
                    "defaultCost": _money(v["price_excl"] / 2),
                    "discountable": "true",
                    "tax": "true",
                    "archived": "false",
                    "itemType": "default" if v.get("tracked", True) else "non_inventory",
                    "serialized": "false",
                    "description": title,
                    "modelYear": "0",
                    "upc": "",
                    "ean": v["ean"],
                    "customSku": v["sku"],
                    "manufacturerSku": "",
                    "createTime": created,
                    "timeStamp": stamp,
                    "publishToEcom": "false",
                    "categoryID": cat,
                    "taxClassID": "1",
                    "departmentID": "0",
                    "itemMatrixID": matrix_id,
                    "manufacturerID": "0",
                    "seasonID": "0",
                    "defaultVendorID": "0",
                    "Prices": [
                        {
                            "amount": _money(v["price_excl"] * factor),
                            "useTypeID": "1",
                            "useType": "Default",
                        },
                        {"amount": "0", "useTypeID": "2", "useType": "MSRP"},
                    ],
                },
            )
            item["systemSku"] = str(210000000000 + int(item["itemID"]))
            if matrix_id != "0":
                item["ItemAttributes"] = {
                    "attribute1": attrs.get("Colour", ""),
                    "attribute2": attrs.get("Size", ""),
                    "attribute3": "",
                    "itemAttributeSetID": "1" if two else "3",
                }
            for shop in range(1, n_shops + 1):
                add(
                    "ItemShop",
                    {
                        "qoh": str(v["stock"]) if shop == 1 else "0",
                        "backorder": "0",
                        "reorderPoint": "0",
                        "reorderLevel": "0",
                        "timeStamp": stamp,
                        "itemID": item["itemID"],
                        "shopID": str(shop),
                    },
                )
            add(
                "ItemShop",
                {
                    "qoh": str(v["stock"]),
                    "backorder": "0",
                    "reorderPoint": "0",
                    "reorderLevel": "0",
                    "timeStamp": stamp,
                    "itemID": item["itemID"],
                    "shopID": "0",
                },
            )
    for c in demo.existing_debtors:
        number = f"{c['number']}{c['extension']}"
        add(
            "Customer",
            {
                "firstName": c["first_name"],
                "lastName": c["last_name"],
                "company": c["company_name"],
                "vatNumber": c["vat_number"],
                "archived": "false",
                "createTime": since,
                "timeStamp": since,
                "customerTypeID": "0",
                "taxCategoryID": "0",
                "Contact": {
                    "Emails": [{"address": c["email"], "useType": "Primary"}],
                    "Phones": [
                        {"number": c["phone"], "useType": "Work" if c["is_company"] else "Home"}
                    ],
                    "Addresses": [
                        {
                            "address1": f"{c['street']} {number}",
                            "address2": "",
                            "city": c["city"],
                            "zip": c["zipcode"],
                            "countryCode": c["country"],
                            "country": _COUNTRY_NAMES.get(c["country"], ""),
                        }
                    ],
                    "noEmail": "false",
                    "noPhone": "false",
                    "noMail": "false",
                    "timeStamp": since,
                },
            },
        )
    # as real accounts hold them [V, recorded]: a till customer with nothing but a name
    # (no e-mail or phone: empty relations, noEmail "true"; an address of empty fields) ...
    add(
        "Customer",
        {
            "firstName": "Vaste",
            "lastName": "Klant",
            "company": "",
            "vatNumber": "",
            "archived": "false",
            "createTime": since,
            "timeStamp": since,
            "customerTypeID": "0",
            "taxCategoryID": "0",
            "Contact": {
                "Emails": [],
                "Phones": [],
                "Addresses": [dict(EMPTY_ADDRESS)],
                "noEmail": "true",
                "noPhone": "true",
                "noMail": "true",
                "timeStamp": since,
            },
        },
    )
    # ... and an item rung up by its barcode only: no customSku, an EAN, no price set
    gift = add(
        "Item",
        {
            "systemSku": "",
            "defaultCost": "0",
            "discountable": "false",
            "tax": "false",
            "archived": "false",
            "itemType": "non_inventory",
            "serialized": "false",
            "description": "Cadeaubon (open bedrag)",
            "modelYear": "0",
            "upc": "",
            "ean": "8712345000019",
            "customSku": "",
            "manufacturerSku": "",
            "createTime": since,
            "timeStamp": since,
            "publishToEcom": "false",
            "categoryID": "0",
            "taxClassID": "1",
            "departmentID": "0",
            "itemMatrixID": "0",
            "manufacturerID": "0",
            "seasonID": "0",
            "defaultVendorID": "0",
            "Prices": [
                {"amount": "0", "useTypeID": "1", "useType": "Default"},
                {"amount": "0", "useTypeID": "2", "useType": "MSRP"},
            ],
        },
    )
    gift["systemSku"] = str(210000000000 + int(gift["itemID"]))
    for shop in range(0, n_shops + 1):
        add(
            "ItemShop",
            {
                "qoh": "0",
                "backorder": "0",
                "reorderPoint": "0",
                "reorderLevel": "0",
                "timeStamp": since,
                "itemID": gift["itemID"],
                "shopID": str(shop),
            },
        )
    return data


# --- the store ---------------------------------------------------------------------------


class Store:
    """The entity tables and the vendor's write rules (callers hold ``state.lock``)."""

    def __init__(
        self,
        state: JsonState,
        *,
        clock: Callable[[], float],
        unique_custom_sku: bool,
        unbalanced_sales: str = "refuse",
    ) -> None:
        self.state = state
        self.clock = clock
        self.unique_custom_sku = unique_custom_sku
        self.unbalanced_sales = unbalanced_sales
        self._last_stamp = ""
        #: itemID -> its ItemShop ids; customSku (lower) -> the live item holding it. Both
        #: in memory only (rebuilt from the tables), so a big catalogue stays fast
        self._shops_of: dict[str, list[str]] | None = None
        self._sku_owner: dict[str, str] | None = None

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        tables: dict[str, dict[str, dict[str, Any]]] = self.data["tables"]
        return tables.setdefault(entity, {})

    def now(self) -> str:
        """Wall-clock now, always later than the last stamp given (a change is never lost)."""
        stamp = _iso(datetime.now(UTC))
        if stamp <= self._last_stamp:
            last = _when(self._last_stamp)
            assert last is not None
            stamp = _iso(last + timedelta(seconds=1))
        self._last_stamp = stamp
        return stamp

    def new_id(self, entity: str) -> str:
        rid = str(self.data["next"].setdefault(entity, 1))
        self.data["next"][entity] += 1
        return rid

    def one(self, entity: str, rid: Any) -> dict[str, Any]:
        record = self.table(entity).get(str(rid))
        if record is None:
            raise ApiError(404, f"{entity} {rid} not found")
        return record

    def exists(self, entity: str, rid: Any, *, allow_zero: bool = False) -> bool:
        text = _str(rid).strip()
        if allow_zero and text in ("", "0"):
            return True
        return text in self.table(entity)

    # -- items ------------------------------------------------------------------------

    def item_shops(self, item_id: str) -> list[dict[str, Any]]:
        """The item's ItemShop rows (the summary ``shopID=0`` one included)."""
        if self._shops_of is None:
            self._shops_of = {}
            for row in self.table("ItemShop").values():
                self._shops_of.setdefault(row["itemID"], []).append(row["itemShopID"])
        shops = self.table("ItemShop")
        ids = self._shops_of.get(item_id, [])
        return sorted((shops[i] for i in ids if i in shops), key=lambda r: int(r["itemShopID"]))

    def _add_item_shop(self, row: dict[str, Any]) -> None:
        self.item_shops(row["itemID"])  # builds the index first
        self.table("ItemShop")[row["itemShopID"]] = row
        assert self._shops_of is not None
        self._shops_of.setdefault(row["itemID"], []).append(row["itemShopID"])

    def sku_owner(self, sku: str) -> str | None:
        """The live item whose ``customSku`` is ``sku`` (case-insensitively)."""
        if self._sku_owner is None:
            self._sku_owner = {}
            for item in self.table("Item").values():
                self.index_sku(item)
        return self._sku_owner.get(sku.strip().lower())

    def index_sku(self, item: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> None:
        """Keep :meth:`sku_owner` in step with a written item."""
        if self._sku_owner is None:
            return
        if old is not None:
            previous = _str(old.get("customSku")).strip().lower()
            if self._sku_owner.get(previous) == old.get("itemID"):
                del self._sku_owner[previous]
        sku = _str(item.get("customSku")).strip().lower()
        if sku and item.get("archived") != "true":
            self._sku_owner.setdefault(sku, str(item.get("itemID")))

    def _summary(self, item_id: str) -> None:
        """ItemShop ``shopID=0`` is the sum over the shops [V]."""
        rows = self.item_shops(item_id)
        total = sum((_dec(r["qoh"]) or Decimal(0) for r in rows if r["shopID"] != "0"), Decimal(0))
        summary = next((r for r in rows if r["shopID"] == "0"), None)
        if summary is None:
            summary = {
                "itemShopID": self.new_id("ItemShop"),
                "backorder": "0",
                "reorderPoint": "0",
                "reorderLevel": "0",
                "itemID": item_id,
                "shopID": "0",
            }
            self._add_item_shop(summary)
        if summary.get("qoh") != _str(total):
            summary["qoh"] = _str(total)
            summary["timeStamp"] = self.now()

    def _check_item(self, item: dict[str, Any]) -> None:
        for code in ("ean", "upc"):
            value = _str(item.get(code)).strip()
            if value and not re.fullmatch(r"\d{11,14}", value):
                raise ApiError(422, f"Item.{code} must be 11-14 digits, got {value!r}")
        if item.get("itemType", "default") not in ITEM_TYPES:
            raise ApiError(
                422,
                f"Item.itemType {item.get('itemType')!r} is not one of "
                f"{', '.join(sorted(ITEM_TYPES))}",
            )
        if not self.exists("ItemMatrix", item.get("itemMatrixID"), allow_zero=True):
            raise ApiError(422, f"ItemMatrix {item.get('itemMatrixID')} not found")
        if not self.exists("Category", item.get("categoryID"), allow_zero=True):
            raise ApiError(422, f"Category {item.get('categoryID')} not found")
        sku = _str(item.get("customSku")).strip()
        owner = self.sku_owner(sku) if sku and self.unique_custom_sku else None
        if owner is not None and owner != item.get("itemID"):
            raise ApiError(422, f"customSku {sku} is already used by item {owner}")
        attrs = item.get("ItemAttributes")
        if isinstance(attrs, Mapping):
            set_id = _str(attrs.get("itemAttributeSetID"))
            if not self.exists("ItemAttributeSet", set_id):
                raise ApiError(422, f"ItemAttributeSet {set_id!r} not found")
            matrix = self.table("ItemMatrix").get(_str(item.get("itemMatrixID")))
            if matrix is not None and matrix.get("itemAttributeSetID") != set_id:
                raise ApiError(
                    422,
                    f"the item's attribute set {set_id} is not its matrix's "
                    f"({matrix.get('itemAttributeSetID')})",
                )
        if not _str(item.get("description")).strip():  # [V, recorded: 400 and this text]
            verb = "updated" if item.get("itemID") else "created"
            raise ApiError(400, f"Item not {verb}. An Item must have a description.")

    @staticmethod
    def _prices(current: list[dict[str, Any]], written: Any) -> list[dict[str, Any]]:
        prices = {p["useType"]: dict(p) for p in current}
        for p in _members(written, "ItemPrice"):
            use = _str(p.get("useType") or "Default")
            if use not in PRICE_LEVELS:
                raise ApiError(
                    422, f"ItemPrice.useType {use!r} is not one of {', '.join(PRICE_LEVELS)}"
                )
            amount = _dec(p.get("amount"))
            if amount is None:
                raise ApiError(422, f"ItemPrice.amount {p.get('amount')!r} is not a number")
            prices[use] = {
                "amount": _str(amount),
                "useTypeID": str(PRICE_LEVELS.index(use) + 1),
                "useType": use,
            }
        for use in ("Default", "MSRP"):  # every item has both [V, recorded]
            prices.setdefault(
                use, {"amount": "0", "useTypeID": str(PRICE_LEVELS.index(use) + 1), "useType": use}
            )
        return [prices[u] for u in PRICE_LEVELS if u in prices]

    def _scalars(
        self, entity: str, body: Mapping[str, Any], *, skip: Iterable[str] = ()
    ) -> dict[str, str]:
        skipped = {KEYS[entity], "timeStamp", "createTime", *skip}
        return {
            k: _str(v)
            for k, v in body.items()
            if k not in skipped and not isinstance(v, Mapping | list)
        }

    def _item_shops(self, item: dict[str, Any], written: Any) -> bool:
        """Apply ``ItemShops.ItemShop`` entries; True when any qoh changed."""
        changed = False
        rows = self.item_shops(item["itemID"])
        for entry in _members(written, "ItemShop"):
            row = None
            if entry.get("itemShopID") not in (None, ""):
                row = next((r for r in rows if r["itemShopID"] == _str(entry["itemShopID"])), None)
                if row is None:
                    raise ApiError(
                        422, f"ItemShop {entry['itemShopID']} is not item {item['itemID']}'s"
                    )
            elif entry.get("shopID") not in (None, ""):
                shop = _str(entry["shopID"])
                if shop == "0" or not self.exists("Shop", shop):
                    raise ApiError(422, f"Shop {shop} not found")
                row = next((r for r in rows if r["shopID"] == shop), None)
                if row is None:
                    row = {
                        "itemShopID": self.new_id("ItemShop"),
                        "qoh": "0",
                        "backorder": "0",
                        "reorderPoint": "0",
                        "reorderLevel": "0",
                        "timeStamp": self.now(),
                        "itemID": item["itemID"],
                        "shopID": shop,
                    }
                    self._add_item_shop(row)
                    rows.append(row)
            else:
                raise ApiError(422, "an ItemShop needs its itemShopID or shopID")
            if row["shopID"] == "0":
                raise ApiError(422, "the shopID 0 ItemShop is a summary and cannot be written")
            for field in ("qoh", "reorderPoint", "reorderLevel", "backorder"):
                if field in entry:
                    value = _dec(entry[field])
                    if value is None or value != value.to_integral_value():
                        raise ApiError(422, f"ItemShop.{field} must be an integer")
                    if row.get(field) != _str(value):
                        row[field] = _str(value)
                        row["timeStamp"] = self.now()
                        changed = True
        self._summary(item["itemID"])
        return changed

    def create_item(self, body: Mapping[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "itemID": "",
            "systemSku": "",
            "defaultCost": "0",
            "discountable": "true",
            "tax": "true",
            "archived": "false",
            "itemType": "default",
            "serialized": "false",
            "description": "",
            "modelYear": "0",
            "upc": "",
            "ean": "",
            "customSku": "",
            "manufacturerSku": "",
            "publishToEcom": "false",
            "categoryID": "0",
            "taxClassID": "1",
            "departmentID": "0",
            "itemMatrixID": "0",
            "manufacturerID": "0",
            "seasonID": "0",
            "defaultVendorID": "0",
            **self._scalars("Item", body, skip=("archived", "systemSku")),
        }
        if isinstance(body.get("ItemAttributes"), Mapping):
            item["ItemAttributes"] = {k: _str(v) for k, v in body["ItemAttributes"].items()}
        matrix = self.table("ItemMatrix").get(item["itemMatrixID"])
        if matrix is not None:
            attrs = item.get("ItemAttributes") or {}
            if not item["description"].strip():  # matrix items are named after it [V]
                item["description"] = " ".join(
                    [
                        matrix["description"],
                        *(v for k, v in sorted(attrs.items()) if k.startswith("attribute") and v),
                    ]
                )
            if not body.get("Prices"):
                item["Prices"] = [dict(p) for p in matrix.get("Prices", [])]
        item["Prices"] = self._prices(item.get("Prices", []), body.get("Prices"))
        self._check_item(item)
        item["itemID"] = self.new_id("Item")
        item["systemSku"] = str(210000000000 + int(item["itemID"]))
        item["createTime"] = item["timeStamp"] = self.now()
        self.table("Item")[item["itemID"]] = item
        self.index_sku(item)
        for shop in self.table("Shop"):
            self._item_shops(item, {"ItemShop": {"shopID": shop, "qoh": 0}})
        self._item_shops(item, body.get("ItemShops"))
        return item

    def update_item(self, item_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        item = self.one("Item", item_id)
        # archived cannot be set by an update [V]; systemSku is read-only
        updated = {**item, **self._scalars("Item", body, skip=("archived", "systemSku"))}
        if isinstance(body.get("ItemAttributes"), Mapping):
            updated["ItemAttributes"] = {
                **(item.get("ItemAttributes") or {}),
                **{k: _str(v) for k, v in body["ItemAttributes"].items()},
            }
        if "Prices" in body:
            updated["Prices"] = self._prices(item.get("Prices", []), body.get("Prices"))
        self._check_item(updated)
        changed = updated != item
        snapshot = {r["itemShopID"]: dict(r) for r in self.item_shops(item_id)}
        previous = dict(item)
        item.clear()
        item.update(updated)
        try:
            self._item_shops(item, body.get("ItemShops"))
        except ApiError:  # all or nothing, as one request is
            item.clear()
            item.update(previous)
            shops = self.table("ItemShop")
            for row in self.item_shops(item_id):
                if row["itemShopID"] not in snapshot:
                    del shops[row["itemShopID"]]
            shops.update(snapshot)
            raise
        self.index_sku(item, previous)
        # an ItemShop change does not move the Item's timeStamp [V]
        if changed:
            item["timeStamp"] = self.now()
        return item

    def archive(self, entity: str, rid: str) -> dict[str, Any]:
        record = self.one(entity, rid)
        if entity == "Sale" and _flag(record.get("completed")):
            raise ApiError(400, "You can't archive a completed sale.")  # [V, doc]
        before = dict(record)
        record["archived"] = "true"
        record["timeStamp"] = self.now()
        if entity == "Item":
            self.index_sku(record, before)
        if entity == "Item":  # archiving zeroes the inventory [V]
            for row in self.item_shops(rid):
                row["qoh"] = "0"
                row["timeStamp"] = record["timeStamp"]
        return record

    # -- matrices and categories ------------------------------------------------------

    def _check_matrix(self, matrix: dict[str, Any]) -> None:
        if not _str(matrix.get("description")).strip():
            raise ApiError(422, "ItemMatrix.description is required")
        if not self.exists("ItemAttributeSet", matrix.get("itemAttributeSetID")):
            raise ApiError(422, f"ItemAttributeSet {matrix.get('itemAttributeSetID')!r} not found")
        if not self.exists("Category", matrix.get("categoryID"), allow_zero=True):
            raise ApiError(422, f"Category {matrix.get('categoryID')} not found")
        if matrix.get("itemType", "default") not in ITEM_TYPES:
            raise ApiError(422, f"ItemMatrix.itemType {matrix.get('itemType')!r} unknown")

    def create_matrix(self, body: Mapping[str, Any]) -> dict[str, Any]:
        matrix: dict[str, Any] = {
            "itemMatrixID": "",
            "description": "",
            "tax": "true",
            "defaultCost": "0",
            "itemType": "default",
            "serialized": "false",
            "modelYear": "0",
            "archived": "false",
            "itemAttributeSetID": "",
            "manufacturerID": "0",
            "categoryID": "0",
            "defaultVendorID": "0",
            "taxClassID": "1",
            "seasonID": "0",
            "departmentID": "0",
            **self._scalars("ItemMatrix", body, skip=("archived",)),
        }
        matrix["Prices"] = self._prices([], body.get("Prices"))
        self._check_matrix(matrix)
        matrix["itemMatrixID"] = self.new_id("ItemMatrix")
        matrix["timeStamp"] = self.now()
        self.table("ItemMatrix")[matrix["itemMatrixID"]] = matrix
        return matrix

    def update_matrix(self, rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        matrix = self.one("ItemMatrix", rid)
        updated = {**matrix, **self._scalars("ItemMatrix", body, skip=("archived",))}
        if "Prices" in body:
            updated["Prices"] = self._prices(matrix.get("Prices", []), body.get("Prices"))
        if updated.get("itemAttributeSetID") != matrix.get("itemAttributeSetID") and any(
            i.get("itemMatrixID") == rid for i in self.table("Item").values()
        ):
            raise ApiError(422, "the attribute set of a matrix with items cannot change")
        self._check_matrix(updated)
        if updated != matrix:
            updated["timeStamp"] = self.now()
        matrix.update(updated)
        return matrix

    def category_path(self, category: Mapping[str, Any]) -> list[str]:
        path: list[str] = []
        seen: set[str] = set()
        node: Mapping[str, Any] | None = category
        while node is not None and node["categoryID"] not in seen:
            seen.add(node["categoryID"])
            path.append(node["name"])
            node = self.table("Category").get(node.get("parentID", "0"))
        return list(reversed(path))

    def nested_set(self) -> dict[str, tuple[int, int]]:
        """categoryID -> (leftNode, rightNode): the vendor keeps its tree as a nested set
        [V, recorded ``leftNode``/``rightNode``]; computed here from ``parentID``."""
        children: dict[str, list[str]] = {}
        for row in self.table("Category").values():
            children.setdefault(row.get("parentID", "0") or "0", []).append(row["categoryID"])
        out: dict[str, tuple[int, int]] = {}
        counter = 0

        def walk(node: str, seen: frozenset[str]) -> None:
            nonlocal counter
            counter += 1
            left = counter
            for child in sorted(children.get(node, []), key=int):
                if child not in seen:
                    walk(child, seen | {child})
            counter += 1
            out[node] = (left, counter)

        for root in sorted(children.get("0", []), key=int):
            walk(root, frozenset({root}))
        return out

    def _check_category(self, category: dict[str, Any]) -> None:
        name = _str(category.get("name")).strip()
        if not name:
            raise ApiError(400, "name cannot be blank.")  # [V, recorded]
        parent = _str(category.get("parentID") or "0")
        if not self.exists("Category", parent, allow_zero=True):
            raise ApiError(422, f"parent Category {parent} not found")
        # two categories may share a name under one parent [V: the recorded list holds
        # "Category One" twice at the root]: no uniqueness check

    def create_category(self, body: Mapping[str, Any]) -> dict[str, Any]:
        category = {
            "categoryID": "",
            "name": "",
            "parentID": "0",
            **self._scalars("Category", body, skip=("nodeDepth", "fullPathName")),
        }
        self._check_category(category)
        category["categoryID"] = self.new_id("Category")
        category["createTime"] = category["timeStamp"] = self.now()
        self.table("Category")[category["categoryID"]] = category
        return category

    def update_category(self, rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        category = self.one("Category", rid)
        updated = {
            **category,
            **self._scalars("Category", body, skip=("nodeDepth", "fullPathName")),
        }
        self._check_category(updated)
        if updated != category:
            updated["timeStamp"] = self.now()
        category.update(updated)
        return category

    # -- customers --------------------------------------------------------------------

    def _contact(self, current: Mapping[str, Any], written: Any) -> dict[str, Any]:
        contact = {
            "Emails": [],
            "Phones": [],
            "Addresses": [],
            "noEmail": "false",
            "noPhone": "false",
            "noMail": "false",
            **dict(current),
        }
        if not isinstance(written, Mapping):
            contact.setdefault("timeStamp", self.now())
            return contact
        for plural, singular in (
            ("Emails", "ContactEmail"),
            ("Phones", "ContactPhone"),
            ("Addresses", "ContactAddress"),
        ):
            if plural in written:
                contact[plural] = [
                    {k: _str(v) for k, v in m.items()} for m in _members(written[plural], singular)
                ]
        for key in ("noEmail", "noPhone", "noMail", "custom"):
            if key in written:
                contact[key] = _str(written[key])
        contact["timeStamp"] = self.now()
        return contact

    def _check_customer(self, customer: Mapping[str, Any]) -> None:
        if not any(_str(customer.get(f)).strip() for f in ("firstName", "lastName", "company")):
            raise ApiError(422, "a Customer needs a firstName, lastName or company")
        for email in customer.get("Contact", {}).get("Emails", []):
            if "@" not in email.get("address", ""):
                raise ApiError(422, f"not an e-mail address: {email.get('address')!r}")

    def create_customer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        customer: dict[str, Any] = {
            "customerID": "",
            "firstName": "",
            "lastName": "",
            "company": "",
            "vatNumber": "",
            "archived": "false",
            "customerTypeID": "0",
            "taxCategoryID": "0",
            **self._scalars("Customer", body, skip=("archived",)),
        }
        customer["Contact"] = self._contact({}, body.get("Contact"))
        written = body.get("Contact")
        if not isinstance(written, Mapping) or "Addresses" not in written:
            customer["Contact"]["Addresses"] = [dict(EMPTY_ADDRESS)]  # [V, doc example]
        self._check_customer(customer)
        customer["customerID"] = self.new_id("Customer")
        customer["createTime"] = customer["timeStamp"] = self.now()
        self.table("Customer")[customer["customerID"]] = customer
        return customer

    def update_customer(self, rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        customer = self.one("Customer", rid)
        updated = {**customer, **self._scalars("Customer", body, skip=("archived",))}
        if "Contact" in body:
            updated["Contact"] = self._contact(customer.get("Contact", {}), body["Contact"])
        self._check_customer(updated)
        updated["timeStamp"] = self.now()
        customer.update(updated)
        return customer

    # -- sales ------------------------------------------------------------------------

    def create_sale(self, body: Mapping[str, Any]) -> dict[str, Any]:
        for entity, field in (
            ("Shop", "shopID"),
            ("Register", "registerID"),
            ("Employee", "employeeID"),
        ):
            if not self.exists(entity, body.get(field)):
                raise ApiError(422, f"{entity} {_str(body.get(field)) or '(none)'} not found")
        customer = _str(body.get("customerID") or "0")
        if not self.exists("Customer", customer, allow_zero=True):
            raise ApiError(422, f"Customer {customer} not found")
        shop = self.one("Shop", _str(body["shopID"]))
        tax = self.table("TaxCategory").get(shop.get("taxCategoryID", ""), {})
        inclusive = _flag(tax.get("isTaxInclusive"))
        rate = (_dec(tax.get("tax1Rate")) or Decimal(0)) + (_dec(tax.get("tax2Rate")) or Decimal(0))
        now = self.now()
        sale_id = str(self.data["next"].get("Sale", 1))
        lines: list[dict[str, Any]] = []
        subtotal = tax_total = Decimal(0)
        for n, line in enumerate(_members(body.get("SaleLines"), "SaleLine")):
            item = self.table("Item").get(_str(line.get("itemID")))
            if item is None or item.get("archived") == "true":
                raise ApiError(422, f"SaleLine {n}: Item {line.get('itemID')} not found")
            qty = _dec(line.get("unitQuantity"))
            if qty is None or qty == 0 or qty != qty.to_integral_value():
                raise ApiError(422, f"SaleLine {n}: unitQuantity must be a non-zero integer")
            default = next(
                (p["amount"] for p in item.get("Prices", []) if p["useType"] == "Default"), "0"
            )
            price = _dec(line.get("unitPrice", default))
            discount = _dec(line.get("discountAmount", 0))
            if price is None or discount is None:
                raise ApiError(422, f"SaleLine {n}: unitPrice and discountAmount are numbers")
            taxed = _flag(line.get("tax", item.get("tax", "true")))
            line_sub = price * qty - discount
            line_tax = line_sub * rate if taxed and not inclusive else Decimal(0)
            subtotal, tax_total = subtotal + line_sub, tax_total + line_tax
            lines.append(
                {
                    "saleLineID": self.new_id("SaleLine"),
                    "createTime": now,
                    "timeStamp": now,
                    "unitQuantity": _str(qty),
                    "unitPrice": _str(price),
                    "normalUnitPrice": _str(_dec(default) or 0),
                    "discountAmount": _str(discount),
                    "tax": _str(taxed),
                    "tax1Rate": _str(rate),
                    "calcSubtotal": _str(line_sub),
                    "calcTax1": _str(line_tax),
                    "calcTotal": _str(line_sub + line_tax),
                    "itemID": item["itemID"],
                    "shopID": shop["shopID"],
                    "saleID": sale_id,
                    "employeeID": _str(body.get("employeeID")),
                    "customerID": customer,
                }
            )
        total = (subtotal + tax_total).quantize(CENT, ROUND_HALF_UP)
        payments: list[dict[str, Any]] = []
        paid = Decimal(0)
        change = Decimal(0)
        for n, payment in enumerate(_members(body.get("SalePayments"), "SalePayment")):
            ptype = self.table("PaymentType").get(_str(payment.get("paymentTypeID")))
            if ptype is None:
                raise ApiError(
                    422, f"SalePayment {n}: PaymentType {payment.get('paymentTypeID')} not found"
                )
            amount = _dec(payment.get("amount"))
            if amount is None:
                raise ApiError(422, f"SalePayment {n}: amount is not a number")
            payments.append(
                {
                    "salePaymentID": self.new_id("SalePayment"),
                    "amount": _str(amount),
                    "createTime": now,
                    "archived": "false",
                    "saleID": sale_id,
                    "paymentTypeID": ptype["paymentTypeID"],
                    "registerID": _str(body.get("registerID")),
                    "employeeID": _str(body.get("employeeID")),
                }
            )
            paid += amount
        completed = _flag(body.get("completed"))
        if completed:
            over = paid - total
            cash = (
                payments
                and self.table("PaymentType")[payments[-1]["paymentTypeID"]].get("type") == "cash"
            )
            if over > 0 and cash:  # cash overpays into change [V]
                change = over
                payments[-1]["amount"] = _str((_dec(payments[-1]["amount"]) or Decimal(0)) - over)
                paid = total
            if not lines:
                raise ApiError(422, "a completed sale needs at least one SaleLine")
            if paid.quantize(CENT, ROUND_HALF_UP) != total:
                if self.unbalanced_sales != "open":
                    raise ApiError(
                        422,
                        f"a completed sale must be balanced: payments "
                        f"{_money(paid)} do not equal the total "
                        f"{_money(total)}",
                    )
                # ASSUMPTION [U] (unbalanced_sales="open"): the sale is kept open with
                # what is left to pay as its balance, the payments dropped, as the vendor
                # keeps a sale it cannot complete [V: a sale answers completed/balance]
                completed, payments, paid = False, [], Decimal(0)
        self.new_id("Sale")
        sale: dict[str, Any] = {
            "saleID": sale_id,
            "timeStamp": now,
            "discountPercent": "0",
            "completed": _str(completed),
            "archived": "false",
            "voided": "false",
            "enablePromotions": "false",
            "isTaxInclusive": _str(inclusive),
            "createTime": now,
            "updateTime": now,
            "completeTime": now if completed else "",
            "referenceNumber": _str(body.get("referenceNumber")),
            "referenceNumberSource": _str(body.get("referenceNumberSource")),
            "tax1Rate": _str(rate),
            "tax2Rate": "0",
            "change": _str(change),
            "ticketNumber": str(220000000000 + int(sale_id)),
            "calcDiscount": "0",
            "calcTotal": _str(total),
            "calcSubtotal": _str(subtotal),
            "calcTax1": _str(tax_total),
            "calcPayments": _str(paid),
            "total": _str(total),
            "totalDue": _str(total),
            "balance": _str(total - paid),
            "customerID": customer,
            "employeeID": _str(body.get("employeeID")),
            "registerID": _str(body.get("registerID")),
            "shopID": shop["shopID"],
            "taxCategoryID": shop.get("taxCategoryID", "0"),
            "SaleLines": lines,
            "SalePayments": payments,
        }
        self.table("Sale")[sale_id] = sale
        for line in lines:  # readable as SaleLine records too
            self.table("SaleLine")[line["saleLineID"]] = line
        if completed:  # the stock leaves the shop
            for line in lines:
                item = self.table("Item")[line["itemID"]]
                if item.get("itemType") in ("non_inventory",):
                    continue
                row = next(
                    (r for r in self.item_shops(item["itemID"]) if r["shopID"] == shop["shopID"]),
                    None,
                )
                qoh = (_dec(row["qoh"]) if row else Decimal(0)) or Decimal(0)
                self._item_shops(
                    item,
                    {
                        "ItemShop": {
                            "shopID": shop["shopID"],
                            "qoh": qoh - (_dec(line["unitQuantity"]) or Decimal(0)),
                        }
                    },
                )
        return sale

    def update_sale(self, rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        sale = self.one("Sale", rid)
        if any(k in body for k in ("SaleLines", "SalePayments", "completed")):
            raise ApiError(422, "only a sale's reference and notes can change in this sandbox")
        sale.update(self._scalars("Sale", body, skip=("archived", "voided", "total")))
        sale["timeStamp"] = self.now()
        return sale


# --- rendering ---------------------------------------------------------------------------


class Renderer:
    """Stored records -> the vendor's read shapes, with the relations asked for."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def render(
        self, entity: str, record: Mapping[str, Any], relations: Iterable[str] = ()
    ) -> dict[str, Any]:
        wanted = set(relations)
        out = {
            **DEFAULTS.get(entity, {}),
            **{k: v for k, v in record.items() if not isinstance(v, Mapping | list)},
        }
        s = self.store
        if entity in ("Item", "ItemMatrix") and "Prices" in record:
            out["Prices"] = _wrap("ItemPrice", list(record["Prices"]))
        if entity == "Item":
            if "ItemShops" in wanted:
                out["ItemShops"] = _wrap(
                    "ItemShop", [self.item_shop(r) for r in s.item_shops(record["itemID"])]
                )
            if "ItemAttributes" in wanted and isinstance(record.get("ItemAttributes"), Mapping):
                out["ItemAttributes"] = dict(record["ItemAttributes"])
            if "Category" in wanted and record.get("categoryID", "0") != "0":
                out["Category"] = self.render("Category", s.one("Category", record["categoryID"]))
            if "ItemMatrix" in wanted and record.get("itemMatrixID", "0") != "0":
                out["ItemMatrix"] = self.render(
                    "ItemMatrix", s.one("ItemMatrix", record["itemMatrixID"])
                )
        if entity == "ItemShop":
            out = self.item_shop(record)
        if entity == "ItemMatrix":
            if "Items" in wanted:
                items = [
                    self.render("Item", i)
                    for i in s.table("Item").values()
                    if i.get("itemMatrixID") == record["itemMatrixID"]
                ]
                out["Items"] = _wrap("Item", items)
            if "ItemAttributeSet" in wanted:
                out["ItemAttributeSet"] = dict(
                    s.one("ItemAttributeSet", record["itemAttributeSetID"])
                )
            values: dict[str, list[str]] = {}
            for item in s.table("Item").values():
                attrs = item.get("ItemAttributes")
                if item.get("itemMatrixID") == record["itemMatrixID"] and attrs:
                    for n in (1, 2, 3):
                        v = attrs.get(f"attribute{n}")
                        if v and v not in values.setdefault(f"attribute{n}Values", []):
                            values[f"attribute{n}Values"].append(v)
            out.update(values)
        if entity == "Category":
            path = s.category_path(record)
            out["nodeDepth"] = str(len(path) - 1)
            out["fullPathName"] = "/".join(path)
            left, right = s.nested_set().get(record["categoryID"], (0, 0))
            out["leftNode"], out["rightNode"] = str(left), str(right)
            if "Parent" in wanted and record.get("parentID", "0") != "0":
                out["Parent"] = self.render("Category", s.one("Category", record["parentID"]))
        if entity == "Customer" and "Contact" in wanted:
            contact = dict(record.get("Contact") or {})
            out["Contact"] = {
                **DEFAULTS["Contact"],
                **{k: v for k, v in contact.items() if not isinstance(v, list)},
                "Addresses": _wrap(
                    "ContactAddress", [{**EMPTY_ADDRESS, **a} for a in contact.get("Addresses", [])]
                ),
                "Phones": _wrap("ContactPhone", contact.get("Phones", [])),
                "Emails": _wrap("ContactEmail", contact.get("Emails", [])),
                "Websites": "",
            }
        if entity == "Sale":
            if "Customer" in wanted and record.get("customerID", "0") != "0":
                out["Customer"] = self.render("Customer", s.one("Customer", record["customerID"]))
            if "Shop" in wanted and record.get("shopID", "0") in s.table("Shop"):
                out["Shop"] = self.render("Shop", s.one("Shop", record["shopID"]))
            tax = s.table("TaxCategory").get(record.get("taxCategoryID", "0"))
            if "TaxCategory" in wanted and tax is not None:
                out["TaxCategory"] = dict(tax)
            if "SaleLines" in wanted and record.get("SaleLines"):
                nested = {"Item"} if "SaleLines.Item" in wanted else set()
                out["SaleLines"] = _wrap(
                    "SaleLine", [self.render("SaleLine", ln, nested) for ln in record["SaleLines"]]
                )
            if "SalePayments" in wanted and record.get("SalePayments"):
                out["SalePayments"] = _wrap(
                    "SalePayment", [self.payment(p) for p in record["SalePayments"]]
                )
            # the vendor's summary fields, from what the sale stores [V, recorded keys]
            out.setdefault("displayableSubtotal", out.get("calcSubtotal", "0"))
            out.setdefault("displayableTotal", out.get("total", "0"))
            out.setdefault("taxTotal", out.get("calcTax1", "0"))
            taxable = (
                out.get("calcSubtotal", "0") if out.get("calcTax1", "0") not in ("0", "") else "0"
            )
            out.setdefault("calcTaxable", taxable)
            out.setdefault(
                "calcNonTaxable", "0" if taxable != "0" else out.get("calcSubtotal", "0")
            )
        if entity == "Customer":
            out.setdefault("contactID", record.get("customerID", "0"))
        if entity == "SaleLine":
            out.setdefault("displayableSubtotal", out.get("calcSubtotal", "0"))
            out.setdefault("displayableUnitPrice", out.get("unitPrice", "0"))
            sale = s.table("Sale").get(_str(record.get("saleID")), {})
            out.setdefault("taxCategoryID", sale.get("taxCategoryID", "0"))
            line_tax = s.table("TaxCategory").get(out["taxCategoryID"])
            if "TaxCategory" in wanted and line_tax is not None:
                out["TaxCategory"] = dict(line_tax)
            if "Item" in wanted and record.get("itemID", "0") in s.table("Item"):
                out["Item"] = self.render("Item", s.one("Item", record["itemID"]))
        if entity == "Shop":
            if "TaxCategory" in wanted:
                out["TaxCategory"] = dict(
                    s.table("TaxCategory").get(record.get("taxCategoryID", ""), {})
                )
            if "Registers" in wanted:
                out["Registers"] = _wrap(
                    "Register",
                    [
                        {**DEFAULTS["Register"], **r}
                        for r in s.table("Register").values()
                        if r.get("shopID") == record["shopID"]
                    ],
                )
        return out

    @staticmethod
    def item_shop(row: Mapping[str, Any]) -> dict[str, Any]:
        """An ItemShop as the vendor answers it: the stock figures it keeps besides
        ``qoh`` (``sellable`` follows ``qoh`` here) and the ``m`` counts [V, recorded]."""
        return {
            **DEFAULTS["ItemShop"],
            "sellable": _str(row.get("qoh", "0")),
            "m": {"layaways": "0", "specialorders": "0", "workorders": "0"},
            **row,
        }

    def payment(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A SalePayment with its PaymentType, as a sale's answer nests it [V]."""
        out = {**DEFAULTS["SalePayment"], **row}
        ptype = self.store.table("PaymentType").get(_str(row.get("paymentTypeID")))
        if ptype is not None:
            out["PaymentType"] = dict(ptype)
        return out

    @staticmethod
    def values(record: Mapping[str, Any], field: str) -> list[Any]:
        """What a filter on ``field`` compares: a scalar, or every member's value for a
        ``Relation.field`` (``Contact.email`` is the contact's e-mail addresses)."""
        if "." not in field:
            return [record.get(field, "")]
        rel, _, sub = field.partition(".")
        holder = record.get(rel)
        if rel == "Contact" and isinstance(holder, Mapping) and sub == "email":
            return [e.get("address", "") for e in _members(holder.get("Emails"), "ContactEmail")]
        if isinstance(holder, Mapping):
            members: list[dict[str, Any]] = []
            for v in holder.values():
                members.extend(as_list(v))
            if sub in holder:
                return [holder.get(sub)]
            return [m.get(sub, "") for m in members]
        return []


# --- the app -----------------------------------------------------------------------------


def _cursor(sort_value: Any, rid: str, *, by_key: bool) -> str:
    """The vendor's opaque cursor [V, docs: ``after=WzEwMF0%3D`` is base64 of ``[100]``;
    sorted by another field, ``["2021-11-01T14:55:51+00:00",544]``]."""
    key: Any = int(rid) if rid.isdigit() else rid
    raw = json.dumps([key] if by_key else [_str(sort_value), key], separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def _uncursor(text: str) -> tuple[str, str]:
    try:
        padded = text + "=" * (-len(text) % 4)
        decoded = json.loads(base64.b64decode(padded.encode(), altchars=b"-_"))
        if not isinstance(decoded, list) or len(decoded) not in (1, 2):
            raise ValueError(decoded)
        return str(decoded[0]), str(decoded[-1])
    except (ValueError, TypeError):
        raise ApiError(400, "after/before: not a cursor this API issued") from None


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    client_id: str = "demo-client",
    client_secret: str = "demo-secret",
    refresh_token: str = "demo-refresh-token",
    account_id: str = "83050",
    access_ttl_s: float = 3600.0,
    refresh_revocation: str = "immediate",
    bucket_size: float = DEFAULT_BUCKET_SIZE,
    drip_rate: float = DEFAULT_DRIP_RATE,
    burst_limit: int = DEFAULT_BURST_LIMIT,
    write_cost: float = DEFAULT_WRITE_COST,
    entity_write_costs: Mapping[str, float] | None = None,
    nested_cost: float = NESTED_ENTITY_COST,
    count_cost: float = 10.0,
    relation_cost: float = 0.4,
    tax_inclusive: bool = True,
    tax_rate: str = "0.21",
    n_shops: int = 1,
    unique_custom_sku: bool = True,
    envelope: str = "cursor",
    unbalanced_sales: str = "refuse",
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the sandbox; ``seed=None`` starts with the fixed records only (shop, register,
    employee, payment types, attribute sets), ``state_file`` persists across restarts.

    ``envelope="offset"`` answers lists as the API did before V3 [V, recorded]:
    ``@attributes {count, offset, limit}`` paged with ``offset``, no cursors.
    ``unbalanced_sales="open"`` keeps a completed sale whose payments do not match its
    total as an open sale with a balance instead of refusing it."""
    if refresh_revocation not in ("immediate", "on_new_access_use"):
        raise ValueError("refresh_revocation must be 'immediate' or 'on_new_access_use'")
    if envelope not in ("cursor", "offset"):
        raise ValueError("envelope must be 'cursor' or 'offset'")
    if unbalanced_sales not in ("refuse", "open"):
        raise ValueError("unbalanced_sales must be 'refuse' or 'open'")
    app = FastAPI(title="Lightspeed Retail (R-Series) sandbox")
    controls = SandboxControls()
    controls.stats.update(refreshes=0, refresh_rejected=0)
    state = JsonState(
        state_file,
        lambda: seed_state(
            seed,
            account_id=account_id,
            tax_inclusive=tax_inclusive,
            tax_rate=Decimal(str(tax_rate)),
            n_shops=n_shops,
            refresh_token=refresh_token,
        ),
    )
    store = Store(
        state, clock=clock, unique_custom_sku=unique_custom_sku, unbalanced_sales=unbalanced_sales
    )
    renderer = Renderer(store)
    bucket = LeakyBucket(bucket_size, drip_rate, burst_limit, clock)
    write_costs = dict(
        DEFAULT_ENTITY_WRITE_COSTS if entity_write_costs is None else entity_write_costs
    )
    tokens: dict[str, Any] = state.data["tokens"]

    # -- OAuth ------------------------------------------------------------------------

    def oauth_error(status: int, error: str, description: str, hint: str = "") -> JSONResponse:
        body = {"error": error, "error_description": description, "message": description}
        if hint:
            body["hint"] = hint
        return JSONResponse(body, status_code=status)

    def issue(parent_refresh: str | None) -> dict[str, Any]:
        access = "lsa_" + secrets.token_urlsafe(24)
        refresh = "lsr_" + secrets.token_urlsafe(24)
        now = clock()
        tokens["access"] = {
            k: v for k, v in tokens["access"].items() if v["expires_at"] > now - 86400
        }
        tokens["access"][access] = {
            "expires_at": now + access_ttl_s,
            "revoked": False,
            "parent_refresh": parent_refresh,
            "used": False,
        }
        tokens["refresh"][refresh] = {"state": "active"}
        return {
            "token_type": "Bearer",
            "expires_in": int(access_ttl_s),
            "access_token": access,
            "refresh_token": refresh,
        }

    @app.post("/auth/oauth/token")
    async def token(request: Request) -> Response:
        raw = await request.body()
        fields: dict[str, Any]
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                fields = dict(json.loads(raw or b"{}"))
            except ValueError:
                return oauth_error(400, "invalid_request", "The body is not JSON.")
        else:
            fields = dict(parse_qsl(raw.decode("utf-8", "replace")))
        if fields.get("client_id") != client_id or (
            fields.get("client_secret") not in (client_secret,)
        ):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        with state.lock:
            grant = fields.get("grant_type")
            if grant == "authorization_code":
                code = tokens.setdefault("codes", {}).pop(str(fields.get("code")), None)
                if code is None:
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "The authorization code is invalid.",
                        "Authorization code has expired",
                    )
                issued = issue(None)
            elif grant == "refresh_token":
                presented = str(fields.get("refresh_token") or "")
                if not presented:
                    return oauth_error(
                        400,
                        "invalid_request",
                        "The request is missing a required parameter: refresh_token",
                    )
                known = tokens["refresh"].get(presented)
                if known is None or known["state"] != "active":
                    controls.count("refresh_rejected")
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "The refresh token is invalid.",
                        "Token has been revoked" if known else "Cannot decrypt the refresh token",
                    )
                if refresh_revocation == "immediate":
                    known["state"] = "used"
                issued = issue(presented)
                controls.count("refreshes")
            else:
                return oauth_error(
                    400, "unsupported_grant_type", "The authorization grant type is not supported."
                )
            state.save()
        return JSONResponse(issued)

    def authorize(request: Request) -> JSONResponse | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme and scheme.lower() != "bearer":  # the pre-OAuth2 API key [V, recorded]
            controls.count("rejected_401")
            return JSONResponse(
                error_body(
                    401, "Invalid username/password or API key.", "BadAuthenticationRequestError"
                ),
                status_code=401,
            )
        hint = "Access token could not be verified"
        with state.lock:
            access = tokens["access"].get(value) if scheme.lower() == "bearer" else None
            if access is not None and access["revoked"]:
                hint = "Access token has been revoked"
            elif access is not None and access["expires_at"] > clock():
                if not access["used"]:
                    access["used"] = True
                    parent = access.get("parent_refresh")
                    if parent and refresh_revocation == "on_new_access_use":
                        old = tokens["refresh"].get(parent)
                        if old is not None and old["state"] == "active":
                            old["state"] = "used"
                    state.save()
                return None
        controls.count("rejected_401")
        return JSONResponse(
            {
                "error": "access_denied",
                "error_description": "The resource "
                "owner or authorization server denied the request.",
                "hint": hint,
                "message": hint,
            },
            status_code=401,
        )

    # -- API --------------------------------------------------------------------------

    def cost_of(method: str, entity: str | None, body: Any, q: Mapping[str, str]) -> float:
        if method in ("POST", "PUT", "DELETE", "PATCH"):
            return write_costs.get(entity or "", write_cost) + nested_cost * nested_entities(body)
        if q.get("count") == "1":
            return count_cost
        return 1.0 + relation_cost * len(wanted_relations(entity, q, check=False))

    def wanted_relations(
        entity: str | None, q: Mapping[str, str], *, check: bool = True
    ) -> list[str]:
        raw = q.get("load_relations")
        if not raw:
            return []
        if raw == "all":
            return sorted(RELATIONS.get(entity or "", set()))
        try:
            names = json.loads(raw)
        except ValueError:
            if check:
                raise ApiError(
                    400, 'load_relations must be a JSON array, e.g. ["ItemShops"]'
                ) from None
            return []
        if not isinstance(names, list):
            if check:
                raise ApiError(400, "load_relations must be a JSON array")
            return []
        allowed = RELATIONS.get(entity or "", set())
        if check and (bad := [n for n in names if n not in allowed]):
            raise ApiError(
                400,
                f"unknown relation(s) for {entity}: {', '.join(map(str, bad))}"
                f"; known: {', '.join(sorted(allowed)) or 'none'}",
            )
        return [str(n) for n in names]

    def select(entity: str, q: Mapping[str, str], rels: list[str]) -> list[dict[str, Any]]:
        """The stored records matching the query's filters (rendered only when a filter
        needs a relation or a computed field: a big catalogue stays fast)."""
        archived = q.get("archived", "false")
        if archived not in ("true", "false", "only"):
            raise ApiError(400, "archived must be true, false or only")
        rows = list(store.table(entity).values())
        if archived != "true":
            want = "true" if archived == "only" else "false"
            rows = [r for r in rows if r.get("archived", "false") == want]
        reserved = {
            "limit",
            "sort",
            "after",
            "before",
            "count",
            "load_relations",
            "archived",
            "or",
            "offset",
            "orderby",
            "orderby_desc",
        }
        filters = [(field, *parse_filter(raw)) for field, raw in q.items() if field not in reserved]
        operands = []
        for part in q.get("or", "").split("|") if q.get("or") else []:
            field, sep, raw = part.partition("=")
            if not sep:
                raise ApiError(400, f"or: operand {part!r} has no '='")
            operands.append((field, *parse_filter(raw)))
        fields = [f for f, _, _ in (*filters, *operands)]
        for field in fields:
            rel = field.partition(".")[0]
            if "." in field and rel not in rels:
                raise ApiError(400, f'to search in {rel} load it: load_relations=["{rel}"]')
        render = any("." in f or f in COMPUTED for f in fields)
        views = [(r, renderer.render(entity, r, rels) if render else r) for r in rows]
        for field, op, args in filters:
            test = matcher(field, op, args)
            views = [(r, v) for r, v in views if any(test(x) for x in Renderer.values(v, field))]
        if operands:
            tests = [(f, matcher(f, op, args)) for f, op, args in operands]
            views = [
                (r, v)
                for r, v in views
                if any(any(test(x) for x in Renderer.values(v, f)) for f, test in tests)
            ]
        return [r for r, _ in views]

    def listing(entity: str, request: Request, q: dict[str, str]) -> dict[str, Any]:
        if envelope == "offset":
            return offset_listing(entity, q)
        if "offset" in q or "orderby" in q:
            raise ApiError(400, "offset and orderby were removed in V3: use the next URL and sort")
        rels = wanted_relations(entity, q)
        if q.get("count") == "1":
            if any(k in q for k in ("limit", "sort", "after", "before")):
                raise ApiError(400, "count=1 cannot be combined with limit, sort, after or before")
            return {"@attributes": {"count": str(len(select(entity, q, rels)))}}
        try:
            limit = int(q.get("limit", MAX_LIMIT))
        except ValueError:
            raise ApiError(400, "limit must be an integer") from None
        if not 0 <= limit <= MAX_LIMIT:
            raise ApiError(400, f"limit must be 0 to {MAX_LIMIT}")
        key = KEYS[entity]
        sort = q.get("sort", key)
        field = sort.lstrip("-")
        sortable = {key, "timeStamp", *SORTABLE.get(entity, set())}
        if field not in sortable:
            raise ApiError(
                400, f"cannot sort {entity} by {field}; sortable: {', '.join(sorted(sortable))}"
            )
        desc = sort.startswith("-")

        def sort_key(row: Mapping[str, Any]) -> tuple[Any, int]:
            value = row.get(field, "")
            typed: Any
            if field == key:
                typed = int(_dec(value) or 0)
            elif field in TIME_FIELDS:
                typed = (_when(value) or datetime.min.replace(tzinfo=UTC)).timestamp()
            elif (num := _dec(value)) is not None:
                typed = num
            else:
                typed = _str(value).lower()
            return typed, int(_str(row.get(key)) or 0)

        rows = sorted(select(entity, q, rels), key=sort_key, reverse=desc)
        start = 0
        if q.get("after"):
            value, rid = _uncursor(q["after"])
            mark = sort_key({field: value, key: rid})
            start = next(
                (
                    i
                    for i, r in enumerate(rows)
                    if (sort_key(r) < mark if desc else sort_key(r) > mark)
                ),
                len(rows),
            )
        elif q.get("before"):
            value, rid = _uncursor(q["before"])
            mark = sort_key({field: value, key: rid})
            end = next(
                (
                    i
                    for i, r in enumerate(rows)
                    if (sort_key(r) <= mark if desc else sort_key(r) >= mark)
                ),
                len(rows),
            )
            start = max(0, end - limit)
        page = [renderer.render(entity, r, rels) for r in rows[start : start + limit]]
        base = {k: v for k, v in q.items() if k not in ("after", "before")}
        base.update(limit=str(limit), sort=sort)

        def url(**extra: str) -> str:
            return str(httpx.URL(str(request.url).split("?")[0], params={**base, **extra}))

        more = start + len(page) < len(rows) and limit > 0
        by_key = field == key
        body: dict[str, Any] = {
            "@attributes": {
                "next": url(after=_cursor(page[-1].get(field, ""), page[-1][key], by_key=by_key))
                if more and page
                else "",
                "previous": url(before=_cursor(page[0].get(field, ""), page[0][key], by_key=by_key))
                if start and page
                else "",
            }
        }
        if page:
            body[entity] = page[0] if len(page) == 1 else page
        return body

    def offset_listing(entity: str, q: dict[str, str]) -> dict[str, Any]:
        """The pre-V3 list [V, recorded]: ``limit``/``offset``, ordered by the key (or
        ``orderby``), ``@attributes {count, offset, limit}`` as strings; no match at all
        answers ``{"count": "0"}`` and no entity key."""
        rels = wanted_relations(entity, q)
        try:
            limit = int(q.get("limit", MAX_LIMIT))
            offset = int(q.get("offset", 0))
        except ValueError:
            raise ApiError(400, "limit and offset must be integers") from None
        if not 0 <= limit <= MAX_LIMIT or offset < 0:
            raise ApiError(400, f"limit must be 0 to {MAX_LIMIT}, offset at least 0")
        key = KEYS[entity]
        field = q.get("orderby", key)
        rows = sorted(
            select(entity, {k: v for k, v in q.items() if k != "orderby_desc"}, rels),
            key=lambda r: (
                _dec(r.get(field)) or Decimal(0),
                _str(r.get(field)),
                int(_str(r.get(key)) or 0),
            ),
            reverse=q.get("orderby_desc") == "1",
        )
        if q.get("count") == "1" or not rows:
            return {"@attributes": {"count": str(len(rows))}}
        page = [renderer.render(entity, r, rels) for r in rows[offset : offset + limit]]
        body: dict[str, Any] = {
            "@attributes": {"count": str(len(rows)), "offset": str(offset), "limit": str(limit)}
        }
        if page:
            body[entity] = page[0] if len(page) == 1 else page
        return body

    def dispatch(
        method: str, entity: str, rid: str | None, body: Any, request: Request, q: dict[str, str]
    ) -> dict[str, Any]:
        if entity not in KEYS:
            raise ApiError(404, f"unknown endpoint {entity}")
        if method == "GET":
            if rid is None:
                return listing(entity, request, q)
            record = store.one(entity, rid)
            return {
                "@attributes": {"count": "1"},
                entity: renderer.render(entity, record, wanted_relations(entity, q)),
            }
        if not isinstance(body, Mapping) and method != "DELETE":
            raise ApiError(400, "the request body must be a JSON object")
        writers: dict[tuple[str, bool], Callable[..., dict[str, Any]]] = {
            ("Item", False): store.create_item,
            ("Item", True): store.update_item,
            ("ItemMatrix", False): store.create_matrix,
            ("ItemMatrix", True): store.update_matrix,
            ("Category", False): store.create_category,
            ("Category", True): store.update_category,
            ("Customer", False): store.create_customer,
            ("Customer", True): store.update_customer,
            ("Sale", False): store.create_sale,
            ("Sale", True): store.update_sale,
        }
        if method == "DELETE":
            if rid is None or entity not in ("Item", "ItemMatrix", "Customer", "Sale"):
                raise ApiError(405, f"{entity} cannot be deleted here")
            record = store.archive(entity, rid)
        elif method == "POST" and rid is None and (entity, False) in writers:
            record = writers[(entity, False)](body)
        elif method == "PUT" and rid is not None and (entity, True) in writers:
            record = writers[(entity, True)](rid, body)
        else:
            raise ApiError(405, f"{method} is not allowed on {entity}" + (f"/{rid}" if rid else ""))
        # what the vendor's write answers carry [V, recorded and doc answers]
        rels = {
            "Sale": ["Customer", "Shop", "TaxCategory", "SaleLines", "SalePayments"],
            "Customer": ["Contact"],
            "Item": ["ItemShops"],
        }.get(entity, [])
        rels = [*rels, *wanted_relations(entity, q)]
        return {"@attributes": {"count": "1"}, entity: renderer.render(entity, record, rels)}

    path_re = re.compile(
        r"^Account/(?P<account>[^/]+)/(?P<entity>[A-Za-z]+)"
        r"(?:/(?P<rid>[^/]+))?\.json$"
    )

    @app.api_route(API + "/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def api(path: str, request: Request) -> Response:
        raw = await request.body()
        method = request.method
        q = dict(request.query_params)
        refused = authorize(request)
        if refused is not None:
            return refused
        body: Any = None
        malformed = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                malformed = True  # refused after the bucket charged it, as the vendor would
        m = path_re.match(path)
        entity = m["entity"] if m else None
        cost = cost_of(method, entity, body, q)
        retry_after, limiter, headers = bucket.take(cost)
        headers["X-LS-Acct-Id"] = account_id
        if retry_after is not None:
            controls.count("rejected_429")
            return JSONResponse(
                error_body(429, "Rate limit exceeded"),
                status_code=429,
                headers={
                    **headers,
                    "Retry-After": f"{retry_after:g}",
                    "X-LS-API-RateLimit-Type": limiter or "",
                },
            )
        try:
            if malformed:
                raise ApiError(400, "the request body is not JSON")
            if path == "Account.json":
                if method != "GET":
                    raise ApiError(405, "Account is read-only")
                with state.lock:
                    account = dict(state.data["account"])
                account["link"] = {
                    "@attributes": {  # [V, recorded]
                        "href": f"/API/Account/{account['accountID']}"
                    }
                }
                return JSONResponse(
                    {"@attributes": {"count": "1"}, "Account": account}, headers=headers
                )
            if m is None:
                raise ApiError(404, f"no endpoint {API}/{path}")
            if m["account"] != account_id:
                raise ApiError(404, f"Account {m['account']} not found for this token")
            with state.lock:
                answer = dispatch(method, m["entity"], m["rid"], body, request, q)
                if method != "GET":
                    state.save()
            if method != "GET":
                controls.count("writes")
            return JSONResponse(answer, headers=headers)
        except ApiError as err:
            return JSONResponse(
                error_body(err.status, err.message), status_code=err.status, headers=headers
            )

    # -- controls ---------------------------------------------------------------------

    @app.get(f"{CONTROL_PREFIX}/sales")
    def sandbox_sales() -> list[dict[str, Any]]:
        with state.lock:
            return [json.loads(json.dumps(s)) for s in store.table("Sale").values()]

    @app.get(f"{CONTROL_PREFIX}/items")
    def sandbox_items() -> list[dict[str, Any]]:
        with state.lock:
            out = []
            for item in store.table("Item").values():
                rows = store.item_shops(item["itemID"])
                out.append(
                    {
                        **{k: v for k, v in item.items() if k != "Prices"},
                        "prices": {p["useType"]: p["amount"] for p in item.get("Prices", [])},
                        "shops": {r["shopID"]: r["qoh"] for r in rows},
                        "itemShops": [dict(r) for r in rows],
                    }
                )
            return out

    @app.get(f"{CONTROL_PREFIX}/matrices")
    def sandbox_matrices() -> list[dict[str, Any]]:
        with state.lock:
            return [
                renderer.render("ItemMatrix", m)
                | {
                    "items": [
                        i["customSku"]
                        for i in store.table("Item").values()
                        if i.get("itemMatrixID") == m["itemMatrixID"]
                    ]
                }
                for m in store.table("ItemMatrix").values()
            ]

    @app.get(f"{CONTROL_PREFIX}/categories")
    def sandbox_categories() -> list[dict[str, Any]]:
        with state.lock:
            return [renderer.render("Category", c) for c in store.table("Category").values()]

    @app.get(f"{CONTROL_PREFIX}/customers")
    def sandbox_customers() -> list[dict[str, Any]]:
        with state.lock:
            return [
                {
                    **{k: v for k, v in c.items() if k != "Contact"},
                    "emails": [e["address"] for e in c.get("Contact", {}).get("Emails", [])],
                    "contact": json.loads(json.dumps(c.get("Contact", {}))),
                }
                for c in store.table("Customer").values()
            ]

    @app.get(f"{CONTROL_PREFIX}/tokens")
    def sandbox_tokens() -> dict[str, Any]:
        with state.lock:
            now = clock()
            return {
                "refresh": {t: v["state"] for t, v in tokens["refresh"].items()},
                "access": {
                    t: {"expires_in": round(v["expires_at"] - now, 3), "revoked": v["revoked"]}
                    for t, v in tokens["access"].items()
                },
            }

    @app.post(f"{CONTROL_PREFIX}/tokens")
    async def sandbox_token_action(request: Request) -> dict[str, Any]:
        action = (json.loads(await request.body() or b"{}")).get("action")
        with state.lock:
            out: dict[str, Any] = {"action": action}
            if action == "expire_access":
                for v in tokens["access"].values():
                    v["expires_at"] = min(v["expires_at"], clock() - 1)
            elif action == "revoke_access":
                for v in tokens["access"].values():
                    v["revoked"] = True
            elif action == "revoke_refresh":
                for v in tokens["refresh"].values():
                    v["state"] = "revoked"
            elif action == "authorize":
                fresh = "lsr_" + secrets.token_urlsafe(24)
                tokens["refresh"][fresh] = {"state": "active"}
                out["refresh_token"] = fresh
            else:
                raise ApiError(
                    400, "action: expire_access, revoke_access, revoke_refresh or authorize"
                )
            state.save()
        return out

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.status, exc.message), status_code=exc.status)

    # added last, so its middleware is outermost: faults are served before auth/limits
    install_controls(app, controls, _fault_body)
    return app
