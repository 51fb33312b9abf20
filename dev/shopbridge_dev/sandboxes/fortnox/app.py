"""A local Fortnox: OAuth token endpoint, the v3 API for orders, customers, articles and
invoices, the warehouse stock balances, and the 25-per-5-seconds sliding limit.

Faithful to VENDOR_APIS.md §5 where it is marked [V]/[S]; every [U] point is an option of
:func:`create_app` or marked ASSUMPTION below. Vendor behaviour only; ``/_sandbox/*`` test
and demo controls come from :mod:`shopbridge_dev.sandboxes._common` plus the upserts here.

* ``POST /oauth-v1/token``: HTTP Basic client auth; ``grant_type=refresh_token`` (rotating:
  every answer carries a new refresh token), ``authorization_code`` (``auth_code``) and
  ``client_credentials`` (needs a ``TenantId`` header). Access tokens expire after
  ``token_ttl_s`` (on ``clock``); a stale or unknown one gets 401 with the recorded
  ``{"message": "unauthorized"}`` [V]. Token answers and refusals as recorded [V].
* ``/3/orders``, ``/3/customers``, ``/3/articles``, ``/3/invoices``: PascalCase,
  ``{"Order": {...}}`` singles with every key of the recorded answer (``ORDER_DEFAULTS``,
  ``ROW_DEFAULTS``, ``CUSTOMER_DEFAULTS``, ``ARTICLE_DEFAULTS``: the drift test holds them
  to tests/contracts/fortnox), ``{"MetaInformation": {...}, "Orders": [...]}`` lists of the
  recorded subsets [V] (no rows on list orders; ``@TotalPages 0`` when empty), ``@url`` on
  every item, ``page``/``limit`` (max 500)/``offset``, ``lastmodified`` (server-local
  time, ``timezone``), the order ``filter`` and field filters.
* Types as Fortnox sends them [V]: order rows' ``OrderedQuantity``, ``DeliveredQuantity``,
  ``ReservedQuantity``, ``ContributionPercent``/``Value`` as strings (``Price``/``Total``
  numbers); article list rows' quantities and values as strings; a customer's unset
  address, country and phone ``null`` and its e-mail ``""``; list rows ``""`` for ``null``.
* A new order is as Fortnox makes one [V]: ``DeliveryState "delivery"``, ``WarehouseReady
  true``, ``OutboundDate`` = the order date, ``DeliveryDate null``, rows
  ``DeliveredQuantity "0"``, the customer's address and e-mail copied onto the order;
  cancelling sets the ``DeliveryDate`` (as the recorded cancelled orders have one).
* Server-assigned string numbers; order totals recomputed from the rows on every write;
  read-only fields refused (ASSUMPTION [U]: refused with 400, not silently ignored);
  ``Cancelled`` only through ``PUT /3/orders/{n}/cancel``; ``createinvoice`` makes an
  invoice linked both ways; ``warehouseready`` and ``externalprint``.
* ``GET /api/warehouse/status-v1/stockbalance`` (``itemIds`` or ``stockPointCodes``, one
  filter per request) in ``warehouse_style`` ``camel`` (a bare array of ``itemId``,
  ``stockPointCode``, ``inStock``, ``availableStock``: Fortnox's own description) or
  ``pascal`` (``{"StockBalances": [...], "MetaInformation"}`` as VENDOR_APIS names the
  fields) [U]; ``GET /api/warehouse/stockpoints-v1``.
* A sliding window of ``rate_limit`` requests per ``window_s`` per access token
  (``limit_by="tenant"`` shares one window between tokens [U]); over it: 429 with an
  ``ErrorInformation`` body and no ``Retry-After`` (none documented [U]; see
  ``retry_after_header``). Rejected requests do not count toward the window [U].
* Errors [V]: a 404 is ``{"ErrorInformation": {"Error": 1, "Message": "Kan inte hitta
  ordern.", "Code": 2000439}}`` (capitalised, the recorded codes per resource); a 400 is
  lower case ``{"error": 1, "message", "code"}``; codes other than the recorded ones are
  ``2000000 + status`` [U].

Seed (``demo_data``): every catalogue SKU as an article (``ArticleNumber`` = SKU, EAN,
price, stock split over stock points ``HQ`` and ``STORE``) plus one service article
without a sales price (``SalesPrice null``), the customers of ``n_orders`` orders spread
over the demo week (e-mails from the demo customers), and those orders with rows on the
same SKUs, seeded as real accounts hold them (see :func:`seed_state`): a customer with a
name only, an order in SEK, a comment row, totals of 0 beside priced rows, a draft
(``NotCompleted``), one delivered in full, one cancelled, one invoiced.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from secrets import compare_digest
from typing import Any, Literal
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import Body, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import (
    CONTROL_PREFIX,
    JsonState,
    SandboxControls,
    install_controls,
)

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
REFRESH_TOKEN = "demo-refresh-token"
AUTH_CODE = "demo-auth-code"
SCOPES = "article companyinformation customer invoice order warehouse"
STOCK_POINTS = ("HQ", "STORE")
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
#: a document's ``Country`` as Fortnox stores it: "Sverige" for Sweden, the English ISO
#: name for the rest [V: "Norway", "United Kingdom" in the recordings]
COUNTRY_NAMES = {
    "SE": "Sverige",
    "NL": "Netherlands",
    "BE": "Belgium",
    "DE": "Germany",
    "FR": "France",
    "GB": "United Kingdom",
    "NO": "Norway",
}
#: a 404's message names the resource in Swedish, as Fortnox does [V: "Kan inte hitta
#: ordern."]
SWEDISH = {"order": "ordern", "customer": "kunden", "article": "artikeln", "invoice": "fakturan"}
#: error codes of the recorded 404s [V]; other errors get ``2000000 + status`` [U]
NOT_FOUND_CODES = {"order": 2000439, "customer": 2000433, "article": 2000428, "invoice": 2000434}
READ_ONLY_ORDER = frozenset(
    {
        "@url",
        "DocumentNumber",
        "Cancelled",
        "Total",
        "TotalVAT",
        "TotalToPay",
        "Net",
        "Gross",
        "FreightVAT",
        "RoundOff",
        "InvoiceReference",
        "Sent",
        "WarehouseReady",
        "OrganisationNumber",
        "OrderType",
        "ContributionPercent",
        "ContributionValue",
        "AdministrationFeeVAT",
        "BasisTaxReduction",
        "HouseWork",
        "OfferReference",
        "TaxReduction",
    }
)
READ_ONLY_ARTICLE = frozenset(
    {"@url", "SalesPrice", "DisposableQuantity", "ReservedQuantity", "StockValue", "SupplierName"}
)
READ_ONLY_CUSTOMER = frozenset({"@url", "Country", "DeliveryCountry", "VisitingCountry"})
#: list rows carry these fields only [V: orders.list, articles.list, customers.list]
ORDER_SUBSET = (
    "@url",
    "Cancelled",
    "Currency",
    "CustomerName",
    "CustomerNumber",
    "DeliveryDate",
    "DocumentNumber",
    "ExternalInvoiceReference1",
    "ExternalInvoiceReference2",
    "OrderDate",
    "OrderType",
    "Project",
    "Sent",
    "Total",
)
ARTICLE_SUBSET = (
    "@url",
    "ArticleNumber",
    "Description",
    "DisposableQuantity",
    "EAN",
    "Housework",
    "PurchasePrice",
    "QuantityInStock",
    "ReservedQuantity",
    "SalesPrice",
    "StockPlace",
    "StockValue",
    "Unit",
    "VAT",
    "WebshopArticle",
)
#: numbers an article list row gives as strings [V: "QuantityInStock": "0"]
ARTICLE_LIST_STRINGS = (
    "DisposableQuantity",
    "PurchasePrice",
    "QuantityInStock",
    "ReservedQuantity",
    "StockValue",
)
#: numbers an order row gives as strings [V: "OrderedQuantity": "1", "ContributionValue":
#: "-0"]; ``Price``, ``Total``, ``VAT``, ``Discount`` stay numbers
ROW_STRINGS = (
    "OrderedQuantity",
    "DeliveredQuantity",
    "ReservedQuantity",
    "ContributionPercent",
    "ContributionValue",
)
CUSTOMER_SUBSET = (
    "@url",
    "Address1",
    "Address2",
    "City",
    "CustomerNumber",
    "Email",
    "Name",
    "OrganisationNumber",
    "Phone",
    "ZipCode",
)

#: every key of a recorded ``GET /3/orders/{n}`` [V: order.detail], with the values a new
#: order gets: a just-created order is already in ``DeliveryState "delivery"``, ready in
#: the warehouse, with no delivery date [V]
ORDER_DEFAULTS: dict[str, Any] = {
    "AdministrationFee": 0,
    "AdministrationFeeVAT": 0,
    "Address1": "",
    "Address2": "",
    "BasisTaxReduction": 0,
    "Cancelled": False,
    "City": "",
    "Comments": "",
    "ContributionPercent": 0,
    "ContributionValue": 0,
    "CopyRemarks": False,
    "Country": "",
    "CostCenter": "",
    "Currency": "SEK",
    "CurrencyRate": 1,
    "CurrencyUnit": 1,
    "CustomerName": "",
    "CustomerNumber": "",
    "DeliveryState": "delivery",
    "DeliveryAddress1": "",
    "DeliveryAddress2": "",
    "DeliveryCity": "",
    "DeliveryCountry": "",
    "DeliveryDate": None,
    "DeliveryName": "",
    "DeliveryZipCode": "",
    "DocumentNumber": "",
    "EmailInformation": {
        "EmailAddressFrom": None,
        "EmailAddressTo": "",
        "EmailAddressCC": None,
        "EmailAddressBCC": None,
        "EmailSubject": "Order {no} bifogas",
        "EmailBody": " ",
    },
    "ExternalInvoiceReference1": "",
    "ExternalInvoiceReference2": "",
    "Freight": 0,
    "FreightVAT": 0,
    "Gross": 0,
    "HouseWork": False,
    "InvoiceReference": "0",
    "Labels": [],
    "Language": "SV",
    "Net": 0,
    "NotCompleted": False,
    "OfferReference": "0",
    "OrderDate": "",
    "OrderRows": [],
    "OrderType": "Order",
    "OrganisationNumber": "",
    "OurReference": "",
    "Phone1": "",
    "Phone2": "",
    "PriceList": "A",
    "PrintTemplate": "oc",
    "Project": "",
    "WarehouseReady": True,
    "OutboundDate": None,
    "Remarks": "",
    "RoundOff": 0,
    "Sent": False,
    "TaxReduction": None,
    "TermsOfDelivery": "",
    "TermsOfPayment": "30",
    "TimeBasisReference": None,
    "Total": 0,
    "TotalToPay": 0,
    "TotalVAT": 0,
    "VATIncluded": False,
    "WayOfDelivery": "",
    "YourReference": "",
    "YourOrderNumber": "",
    "ZipCode": "",
    "StockPointCode": None,
    "StockPointId": None,
    "TaxReductionType": "none",
}
#: every key of a recorded order row [V: order.create.rows]
ROW_DEFAULTS: dict[str, Any] = {
    "AccountNumber": 3001,
    "ArticleNumber": "",
    "ContributionPercent": "0",
    "ContributionValue": "0",
    "Cost": 0,
    "CostCenter": "",
    "DeliveredQuantity": "0",
    "Description": "",
    "Discount": 0,
    "DiscountType": "PERCENT",
    "HouseWork": False,
    "HouseWorkHoursToReport": None,
    "HouseWorkType": None,
    "OrderedQuantity": "0",
    "Price": 0,
    "Project": "",
    "ReservedQuantity": "0",
    "StockPointCode": None,
    "StockPointId": None,
    "Total": 0,
    "Unit": "",
    "VAT": 0,
}
#: every key of a recorded ``GET /3/customers/{n}`` [V: customer.detail]: what a customer
#: typed in with a name only holds (``null`` address, phone and country, ``""`` e-mail)
CUSTOMER_DEFAULTS: dict[str, Any] = {
    "Address1": None,
    "Address2": None,
    "City": None,
    "Country": None,
    "Comments": None,
    "Currency": "SEK",
    "CostCenter": None,
    "CountryCode": None,
    "Active": True,
    "CustomerNumber": "",
    "DefaultDeliveryTypes": {"Invoice": "PRINT", "Order": "PRINT", "Offer": "PRINT"},
    "DefaultTemplates": {
        "Order": "DEFAULTTEMPLATE",
        "Offer": "DEFAULTTEMPLATE",
        "Invoice": "DEFAULTTEMPLATE",
        "CashInvoice": "DEFAULTTEMPLATE",
    },
    "DeliveryAddress1": None,
    "DeliveryAddress2": None,
    "DeliveryCity": None,
    "DeliveryCountry": None,
    "DeliveryCountryCode": None,
    "DeliveryFax": None,
    "DeliveryName": None,
    "DeliveryPhone1": None,
    "DeliveryPhone2": None,
    "DeliveryZipCode": None,
    "Email": "",
    "EmailInvoice": "",
    "EmailInvoiceBCC": "",
    "EmailInvoiceCC": "",
    "EmailOffer": "",
    "EmailOfferBCC": "",
    "EmailOfferCC": "",
    "EmailOrder": "",
    "EmailOrderBCC": "",
    "EmailOrderCC": "",
    "ExternalReference": None,
    "Fax": None,
    "GLN": None,
    "GLNDelivery": None,
    "InvoiceAdministrationFee": None,
    "InvoiceDiscount": None,
    "InvoiceFreight": None,
    "InvoiceRemark": "",
    "Name": "",
    "OrganisationNumber": "",
    "OurReference": "",
    "Phone1": None,
    "Phone2": None,
    "PriceList": "A",
    "Project": "",
    "SalesAccount": None,
    "ShowPriceVATIncluded": False,
    "TermsOfDelivery": "",
    "TermsOfPayment": "",
    "Type": "COMPANY",
    "VATNumber": "",
    "VATType": "SEVAT",
    "VisitingAddress": None,
    "VisitingCity": None,
    "VisitingCountry": None,
    "VisitingCountryCode": None,
    "VisitingZipCode": None,
    "WayOfDelivery": "",
    "WWW": "",
    "YourReference": "",
    "ZipCode": None,
}
#: every key of a recorded ``GET /3/articles/{n}`` [V: article.detail]
ARTICLE_DEFAULTS: dict[str, Any] = {
    "ArticleNumber": "",
    "Bulky": False,
    "ConstructionAccount": 0,
    "Depth": 0,
    "Description": "",
    "DisposableQuantity": 0,
    "EAN": "",
    "EUAccount": 3108,
    "EUVATAccount": 3106,
    "ExportAccount": 3105,
    "Height": 0,
    "Housework": False,
    "HouseworkType": None,
    "Active": True,
    "Manufacturer": None,
    "ManufacturerArticleNumber": "",
    "Note": "",
    "PurchaseAccount": 4000,
    "PurchasePrice": 0,
    "QuantityInStock": 0,
    "ReservedQuantity": 0,
    "SalesAccount": 3001,
    "StockGoods": False,
    "StockPlace": None,
    "StockValue": 0,
    "StockWarning": 0,
    "SupplierName": None,
    "SupplierNumber": None,
    "Type": "STOCK",
    "Unit": None,
    "VAT": 25,
    "WebshopArticle": False,
    "Weight": 0,
    "Width": 0,
    "Expired": False,
    "SalesPrice": None,
    "CostCalculationMethod": None,
    "StockAccount": None,
    "StockChangeAccount": None,
    "DirectCost": None,
    "FreightCost": None,
    "OtherCost": None,
    "DefaultStockPoint": None,
    "DefaultStockLocation": None,
    "CommodityCode": "",
}
ORDER_FILTERS = ("cancelled", "expired", "invoicecreated", "invoicenotcreated")
ORDER_ACTIONS = ("cancel", "createinvoice", "warehouseready", "externalprint")
_CENT = Decimal("0.01")

WarehouseStyle = Literal["camel", "pascal"]


class ApiError(HTTPException):
    """Rendered as ``ErrorInformation`` by the app's exception handler."""


class NotFound(ApiError):
    """A 404 in Fortnox's capitalised form with the recorded code of the resource."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(404, message)
        self.what = what


def error_body(
    status: int, message: str | None = None, *, code: int | None = None, capitalised: bool = False
) -> dict[str, Any]:
    """Fortnox's error envelope: ``{"ErrorInformation": {"Error": 1, "Message", "Code"}}``
    on a 404, ``{"error": 1, "message", "code"}`` (lower case) on a 400, both recorded from
    the same account [V]. Codes other than the recorded ones: ``2000000 + status`` [U]."""
    text = message or HTTPStatus(status).phrase
    number = code if code is not None else 2_000_000 + status
    if capitalised:
        return {"ErrorInformation": {"Error": 1, "Message": text, "Code": number}}
    return {"ErrorInformation": {"error": 1, "message": text, "code": number}}


#: the API's answer to a missing, unknown or expired bearer token [V: error.401]
UNAUTHORIZED = {"message": "unauthorized"}


def quantity_text(value: Any) -> Any:
    """A quantity as Fortnox writes it on rows and list rows: ``"1"``, ``"2.5"``, ``"0"``
    [V]; what is not a number stays as it is (controls store junk on purpose)."""
    if value is None or isinstance(value, bool | str):
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def shaped_row(row: Mapping[str, Any], row_id: int) -> dict[str, Any]:
    """An order row in the recorded shape: every key, quantities as strings."""
    out: dict[str, Any] = {**ROW_DEFAULTS, "RowId": row_id, **row}
    for key in ROW_STRINGS:
        out[key] = quantity_text(out[key])
    return out


def _d(value: Any) -> Decimal:
    """A stored number as Decimal (``ValueError`` for junk, which controls may store)."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def _money(value: Decimal) -> float:
    return float(value.quantize(_CENT, ROUND_HALF_UP))


def recompute(order: dict[str, Any]) -> None:
    """Row totals, ``Net``, ``Gross``, ``FreightVAT``, ``TotalVAT`` and ``Total`` from the rows
    and ``Freight`` (Fortnox computes them; clients cannot set them).

    VAT per rate over the rows' totals, rounded once per rate; freight carries the highest
    row rate (ASSUMPTION [U]). ``RoundOff`` is 0 (no öre rounding outside SEK) [U].
    """
    vat_included = order.get("VATIncluded") in (True, "true")
    per_rate: dict[Decimal, Decimal] = {}
    net = Decimal(0)
    for row in order.get("OrderRows") or []:
        if not isinstance(row, dict):
            continue
        gross = _d(row.get("OrderedQuantity")) * _d(row.get("Price"))
        discount = _d(row.get("Discount"))
        if str(row.get("DiscountType") or "PERCENT").upper() == "PERCENT":
            discount = gross * discount / 100
        total = (gross - discount).quantize(_CENT, ROUND_HALF_UP)
        row["Total"] = float(total)
        rate = _d(row.get("VAT"))
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + total
        net += total
    freight = _d(order.get("Freight"))
    top = max(per_rate, default=Decimal(0))
    if vat_included:

        def vat_of(amount: Decimal, rate: Decimal) -> Decimal:
            return (amount * rate / (100 + rate)).quantize(_CENT, ROUND_HALF_UP)

        total = net + freight
    else:

        def vat_of(amount: Decimal, rate: Decimal) -> Decimal:
            return (amount * rate / 100).quantize(_CENT, ROUND_HALF_UP)

        total = Decimal(0)
    freight_vat = vat_of(freight, top)
    vat = sum((vat_of(t, r) for r, t in per_rate.items()), Decimal(0)) + freight_vat
    if not vat_included:
        total = net + freight + vat
    order.update(
        Net=_money(net),
        Gross=_money(net + freight),
        FreightVAT=_money(freight_vat),
        TotalVAT=_money(vat),
        RoundOff=0.0,
        Total=_money(total),
        TotalToPay=_money(total),
    )


# --- seed --------------------------------------------------------------------------------


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _street(c: Mapping[str, Any]) -> str:
    ext = c["extension"]
    return f"{c['street']} {c['number']}{ext if len(ext) == 1 else (' ' + ext if ext else '')}"


def _customer(
    c: Mapping[str, Any], number: str, currency: str, modified: datetime
) -> dict[str, Any]:
    company = bool(c["is_company"])
    return {
        "CustomerNumber": number,
        "Type": "COMPANY" if company else "PRIVATE",
        "Name": c["company_name"] if company else f"{c['first_name']} {c['last_name']}",
        "OrganisationNumber": "",
        "VATNumber": c["vat_number"],
        "Email": c["email"],
        "EmailOrder": c["email"],
        "Phone1": c["phone"] or None,
        "Phone2": None,
        "Address1": _street(c),
        "Address2": None,
        "ZipCode": c["zipcode"],
        "City": c["city"],
        "CountryCode": c["country"],
        "Country": COUNTRY_NAMES.get(c["country"], c["country"]),
        "Currency": currency,
        "TermsOfPayment": "30",
        "Active": True,
        "YourReference": f"{c['first_name']} {c['last_name']}" if company else "",
        "_modified": _iso(modified),
    }


def _bare_customer(c: Mapping[str, Any], number: str, modified: datetime) -> dict[str, Any]:
    """A customer as typed in at the counter with a name only, as real accounts hold them
    [V: customer.detail]: no e-mail (``""``), no address, country or phone (``null``)."""
    company = bool(c["is_company"])
    return {
        "CustomerNumber": number,
        "Type": "COMPANY" if company else "PRIVATE",
        "Name": c["company_name"] if company else f"{c['first_name']} {c['last_name']}",
        "Email": "",
        "Address1": None,
        "ZipCode": None,
        "City": None,
        "CountryCode": None,
        "Country": None,
        "Phone1": None,
        "_modified": _iso(modified),
    }


def _article(
    product: Mapping[str, Any], v: Mapping[str, Any], vat: int, reserved: int, modified: datetime
) -> dict[str, Any]:
    options = " ".join(v["attributes"].values()) if v["attributes"] else ""
    stock = int(v["stock"]) if v["tracked"] else 0
    price = Decimal(str(v["price_excl"]))
    return {
        "ArticleNumber": v["sku"],
        "Description": f"{product['title']} {options}".strip(),
        "EAN": v["ean"],
        "Type": "STOCK",
        "Unit": "st",
        "VAT": vat,
        "Active": bool(product["visible"]),
        "WebshopArticle": True,
        "SalesPrice": _money(price),
        "PurchasePrice": _money(price / 2),
        "StockGoods": bool(v["tracked"]),
        "QuantityInStock": stock,
        "ReservedQuantity": reserved,
        "DisposableQuantity": stock - reserved,
        "StockValue": _money(price / 2 * stock),
        "StockPlace": "",
        "Manufacturer": product.get("brand") or None,
        "Note": "",
        "_modified": _iso(modified),
    }


#: an article without a sales price (none in the default price list) [V: "SalesPrice":
#: null], a service (no stock) without EAN or manufacturer, that no seeded order uses
UNPRICED_ARTICLE: dict[str, Any] = {
    "ArticleNumber": "SERVICE-INSTALL",
    "Description": "Installation on site",
    "EAN": "",
    "Type": "SERVICE",
    "Unit": "h",
    "Active": True,
    "WebshopArticle": False,
    "SalesPrice": None,
    "PurchasePrice": 0,
    "StockGoods": False,
    "QuantityInStock": 0,
    "ReservedQuantity": 0,
    "DisposableQuantity": 0,
    "StockValue": 0,
}


def _order_rows(o: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k, line in enumerate(o["lines"]):
        p = line["product"]
        share = line.get("discount_share", Decimal(0))
        rows.append(
            {
                "RowId": k + 1,
                "ArticleNumber": p["sku"],
                "Description": p["title"],
                "OrderedQuantity": line["quantity"],
                "Price": _money(p["price_excl"]),
                "Discount": float(share * 100),
                "DiscountType": "PERCENT",
                "VAT": float(line["tax_rate"] * 100),
                "Unit": "st",
                "AccountNumber": 3001,
            }
        )
    coupon = o.get("coupon")
    last = rows[-1]
    if coupon and not last["Discount"]:
        gross = Decimal(str(last["Price"])) * last["OrderedQuantity"]
        last.update(Discount=_money(gross * coupon[1]), DiscountType="AMOUNT")
    return [shaped_row(r, r["RowId"]) for r in rows]


#: which seeded order (by position) shows which real-account quirk; the rest are plain
(
    BARE_CUSTOMER,
    OTHER_CURRENCY,
    CANCELLED,
    TEXT_ROW,
    INVOICED,
    WRONG_TOTAL,
    DELIVERED,
    NOT_COMPLETED,
) = 1, 2, 3, 4, 5, 6, 7, 9
#: the exchange rate Fortnox keeps on a foreign-currency order (SEK per unit) [U]
RATES = {"SEK": 1, "EUR": 11.5, "NOK": 1.02, "DKK": 1.54, "USD": 10.6, "GBP": 13.4}


def seed_state(
    seed: str | None, *, n_orders: int, tz: ZoneInfo, currency: str, vat: int
) -> dict[str, Any]:
    """The store: orders, customers, articles and invoices by number, balances by article
    and stock point, the stock points, and the next numbers to hand out.

    Seeded as real accounts hold them (positions in the seed): a customer with a name only
    and an order without address or e-mail (``BARE_CUSTOMER``), an order in SEK beside
    the shop's ``currency`` (``OTHER_CURRENCY``), a comment row (``TEXT_ROW``), totals that
    disagree with the rows as in the recording (``WRONG_TOTAL``: quarantined by the flow),
    an order still marked not completed (``NOT_COMPLETED``: a draft), one delivered in
    full, one cancelled, one invoiced; every other order is as Fortnox makes a new one
    (``DeliveryState "delivery"``, ``DeliveredQuantity "0"``). Besides the catalogue, one
    service article has no sales price (``SalesPrice null``).
    """
    state: dict[str, Any] = {
        "orders": {},
        "customers": {},
        "articles": {},
        "invoices": {},
        "balances": {},
        "stockpoints": [
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "code": code,
                "name": name,
                "state": "ACTIVE",
            }
            for i, (code, name) in enumerate(
                zip(STOCK_POINTS, ("Head office", "Shop floor"), strict=True), start=1
            )
        ],
        "next": {"order": 1, "customer": 1, "invoice": 1, "article": 1},
    }
    if seed is None:
        return state
    demo = demo_data.generate(seed)
    rnd = random.Random(f"{seed}:fortnox")  # noqa: S311 - demo data, not crypto
    for product in demo.catalogue:
        for v in product["variants"]:
            reserved = rnd.randint(0, 3) if v["tracked"] else 0
            art = _article(product, v, vat, reserved, product["updated_at"])
            state["articles"][v["sku"]] = art
            if v["tracked"]:
                stock = art["QuantityInStock"]
                store = stock // 3
                state["balances"][v["sku"]] = {
                    "HQ": {"InStock": stock - store, "AvailableStock": stock - store - reserved},
                    "STORE": {"InStock": store, "AvailableStock": store},
                }
    state["articles"][UNPRICED_ARTICLE["ArticleNumber"]] = {
        **UNPRICED_ARTICLE,
        "VAT": vat,
        "_modified": _iso(demo_data.DEMO_START),
    }
    picks = demo.orders[:: max(1, len(demo.orders) // max(1, n_orders))][:n_orders]
    numbers: dict[str, str] = {}
    customer_since = demo_data.DEMO_START - timedelta(days=60)
    for i, o in enumerate(picks):
        c = o["customer"]
        if i == BARE_CUSTOMER:
            number = str(state["next"]["customer"])
            state["next"]["customer"] += 1
            state["customers"][number] = _bare_customer(c, number, customer_since)
        elif c["email"] not in numbers:
            number = str(state["next"]["customer"])
            state["next"]["customer"] += 1
            numbers[c["email"]] = number
            state["customers"][number] = _customer(c, number, currency, customer_since)
        else:
            number = numbers[c["email"]]
        customer = state["customers"][number]
        number = str(state["next"]["order"])
        state["next"]["order"] += 1
        day = o["created_at"].astimezone(tz).date()
        rate: Decimal = o["lines"][0]["tax_rate"]
        freight = (o["shipping_price_incl"] / (1 + rate)).quantize(_CENT, ROUND_HALF_UP)
        # the order keeps its own copy of the customer's address and e-mail [V]
        address = {k: customer.get(k) or "" for k in ("Address1", "ZipCode", "City", "Country")}
        delivery = (
            {}
            if i == BARE_CUSTOMER
            else {
                "DeliveryName": customer["Name"],
                "DeliveryAddress1": address["Address1"],
                "DeliveryZipCode": address["ZipCode"],
                "DeliveryCity": address["City"],
                "DeliveryCountry": address["Country"],
            }
        )
        money = "SEK" if i == OTHER_CURRENCY else currency
        order = {
            "DocumentNumber": number,
            "CustomerNumber": customer["CustomerNumber"],
            "CustomerName": customer["Name"],
            "OrderDate": day.isoformat(),
            "OutboundDate": day.isoformat(),
            **address,
            **delivery,
            "EmailInformation": {
                **ORDER_DEFAULTS["EmailInformation"],
                "EmailAddressTo": customer.get("Email") or "",
            },
            "YourReference": customer.get("YourReference") or "",
            "Currency": money,
            "CurrencyRate": RATES.get(money, 1),
            "Freight": _money(freight),
            "StockPointCode": "HQ",
            "WayOfDelivery": o["shipping_method"].upper().replace("-", ""),
            "OrderRows": _order_rows(o),
            "_modified": _iso(o["updated_at"]),
        }
        if i == TEXT_ROW:
            order["OrderRows"].append(
                shaped_row(
                    {"Description": "Please leave the parcel at the back door", "AccountNumber": 0},
                    len(order["OrderRows"]) + 1,
                )
            )
        if i == DELIVERED:
            order["DeliveryDate"] = (day + timedelta(days=2)).isoformat()
            for row in order["OrderRows"]:
                row["DeliveredQuantity"] = row["OrderedQuantity"]
        if i == NOT_COMPLETED:
            order["NotCompleted"] = True
        recompute(order)
        if i == WRONG_TOTAL:  # Fortnox does not check: rows with prices, totals of 0 [V]
            order.update(Net=0.0, Gross=0.0, TotalVAT=0.0, Total=0.0, TotalToPay=0.0)
        state["orders"][number] = order
        if i == CANCELLED:
            order.update(Cancelled=True, DeliveryDate=day.isoformat())
        if i == INVOICED:
            _invoice(state, order, day)
    return state


def _invoice(state: dict[str, Any], order: dict[str, Any], day: date) -> dict[str, Any]:
    number = str(state["next"]["invoice"])
    state["next"]["invoice"] += 1
    invoice = {
        "DocumentNumber": number,
        "OrderReference": order["DocumentNumber"],
        "CustomerNumber": order["CustomerNumber"],
        "CustomerName": order["CustomerName"],
        "InvoiceDate": day.isoformat(),
        "DueDate": (day + timedelta(days=30)).isoformat(),
        "Currency": order["Currency"],
        "Freight": order["Freight"],
        "InvoiceRows": [{k: v for k, v in r.items() if k != "RowId"} for r in order["OrderRows"]],
        **{k: order[k] for k in ("Net", "Gross", "TotalVAT", "Total", "RoundOff")},
        "Booked": False,
        "Cancelled": False,
    }
    state["invoices"][number] = invoice
    order["InvoiceReference"] = number
    return invoice


# --- the limiter and tokens ---------------------------------------------------------------


class SlidingLimiter:
    """``limit`` requests per ``window_s`` per key, sliding: a request counts while it is
    younger than the window. Rejected requests do not count (ASSUMPTION [U])."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.sent: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> bool:
        """Count one request for ``key``; ``False`` when the window is full."""
        with self.lock:
            now = self.clock()
            times = self.sent.setdefault(key, deque())
            while times and now - times[0] >= self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True


class Tokens:
    """Issued access tokens (with expiry) and refresh tokens (with a used flag)."""

    def __init__(self, initial_refresh: str, ttl_s: float, clock: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.access: dict[str, float] = {}
        self.refresh: dict[str, bool] = {initial_refresh: False}
        self.codes_used: set[str] = set()
        self.lock = threading.Lock()

    def issue(self) -> dict[str, Any]:
        with self.lock:
            access = secrets.token_urlsafe(32)
            rotated = secrets.token_hex(20)  # the SDK: refresh tokens are 40 characters
            self.access[access] = self.clock() + self.ttl_s
            self.refresh[rotated] = False
        return {
            "access_token": access,
            "refresh_token": rotated,
            "scope": SCOPES,
            "expires_in": math.floor(self.ttl_s),
            "token_type": "bearer",
        }

    def use_refresh(self, token: str, *, single_use: bool) -> bool:
        with self.lock:
            if token not in self.refresh or (single_use and self.refresh[token]):
                return False
            self.refresh[token] = True
            return True

    def valid(self, access: str) -> bool:
        with self.lock:
            expires = self.access.get(access)
            return expires is not None and self.clock() < expires

    def expire_all(self) -> int:
        with self.lock:
            n = len(self.access)
            self.access = dict.fromkeys(self.access, float("-inf"))
            return n


# --- helpers ------------------------------------------------------------------------------


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"{name}: expected an integer, got {value!r}") from None


def _since(value: str, tz: ZoneInfo) -> datetime:
    """``lastmodified``: ``yyyy-MM-dd HH:mm[:ss]`` (or a date) in server-local time."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ApiError(400, f"lastmodified: expected yyyy-MM-dd HH:mm, got {value!r}")


def _modified_since(
    rows: list[dict[str, Any]], q: Mapping[str, str], tz: ZoneInfo
) -> list[dict[str, Any]]:
    if not q.get("lastmodified"):
        return rows
    since = _since(q["lastmodified"], tz)
    out = []
    for r in rows:
        try:
            when = datetime.fromisoformat(str(r.get("_modified")))
        except ValueError:
            continue
        if when >= since:
            out.append(r)
    return out


def _page(
    rows: list[dict[str, Any]], q: Mapping[str, str]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    page = _int(q.get("page"), "page", 1)
    limit = min(MAX_LIMIT, _int(q.get("limit"), "limit", DEFAULT_LIMIT))
    offset = _int(q.get("offset"), "offset", 0)
    if page < 1 or limit < 1 or offset < 0:
        raise ApiError(400, "page and limit must be positive, offset not negative")
    rows = rows[offset:]
    # an empty list has 0 pages, and still says it is on page 1 [V: orders.list.empty]
    meta = {
        "@TotalResources": len(rows),
        "@TotalPages": math.ceil(len(rows) / limit),
        "@CurrentPage": page,
    }
    return rows[(page - 1) * limit : page * limit], meta


def _public(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a client sees: no sandbox bookkeeping (``_modified``)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _sort_key(value: Any) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def _order_filter(order: Mapping[str, Any], name: str, today: str) -> bool:
    """The order list's ``filter``: ``cancelled``, ``invoicecreated``, ``invoicenotcreated``
    or ``expired`` (ASSUMPTION [U]: past its ``DeliveryDate`` and neither invoiced nor
    cancelled)."""
    invoiced = str(order.get("InvoiceReference") or "0") != "0"
    cancelled = bool(order.get("Cancelled"))
    if name == "cancelled":
        return cancelled
    if name == "invoicecreated":
        return invoiced
    open_ = not invoiced and not cancelled
    if name == "invoicenotcreated":
        return open_
    return open_ and str(order.get("DeliveryDate") or "9") < today


def _refuse(changes: Mapping[str, Any], read_only: frozenset[str], what: str) -> None:
    if bad := sorted(set(changes) & read_only):
        hint = " (use PUT /3/orders/{n}/cancel)" if "Cancelled" in bad else ""
        raise ApiError(400, f"read-only {what} field(s): {', '.join(bad)}{hint}")


def _body(body: Any, key: str) -> dict[str, Any]:
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise ApiError(400, f'body must be {{"{key}": {{...}}}}')
    return dict(inner)


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    n_orders: int = 12,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    refresh_token: str = REFRESH_TOKEN,
    auth_code: str = AUTH_CODE,
    token_ttl_s: float = 3600.0,
    single_use_refresh_tokens: bool = False,
    rate_limit: int = 25,
    window_s: float = 5.0,
    limit_by: Literal["token", "tenant"] = "token",
    retry_after_header: bool = False,
    warehouse_style: WarehouseStyle = "camel",
    article_list: Literal["subset", "full"] = "subset",
    timezone: str = "Europe/Stockholm",
    currency: str = "EUR",
    vat: int = 21,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the sandbox.

    ``clock`` drives token expiry and the rate window (tests pass a fake one); ``now``
    stamps modifications (wall time, for ``lastmodified``). [U] options:
    ``single_use_refresh_tokens`` (a used refresh token is refused; off by default so a
    demo's tasks can each start from the Connection's token), ``limit_by``,
    ``retry_after_header``, ``warehouse_style``, ``article_list`` (``full``: list rows
    carry every field, ``StockGoods`` and ``Active`` included), ``timezone``. ``currency``
    and ``vat`` (%) shape the seed: the demo shop sells in EUR at Dutch VAT.
    """
    tz = ZoneInfo(timezone)
    wall: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
    app = FastAPI(title="Fortnox sandbox")
    controls = SandboxControls()
    state = JsonState(
        state_file, lambda: seed_state(seed, n_orders=n_orders, tz=tz, currency=currency, vat=vat)
    )
    store: dict[str, Any] = state.data
    tokens = Tokens(refresh_token, token_ttl_s, clock)
    limiter = SlidingLimiter(rate_limit, window_s, clock)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, NotFound):
            body = error_body(
                404, str(exc.detail), code=NOT_FOUND_CODES.get(exc.what), capitalised=True
            )
        else:
            body = error_body(exc.status_code, str(exc.detail), capitalised=exc.status_code == 404)
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(400, str(exc.errors()[:1])), status_code=400)

    def bumped(previous: Any = None) -> str:
        """Now, but always later than ``previous`` so a change is never missed."""
        when = wall()
        try:
            before = datetime.fromisoformat(str(previous))
        except ValueError:
            before = None
        if before is not None and before.tzinfo and before >= when:
            when = before + timedelta(seconds=1)
        return _iso(when)

    def url(request: Request, path: str) -> str:
        return f"{str(request.base_url).rstrip('/')}{path}"

    def render(
        request: Request,
        record: Mapping[str, Any],
        path: str,
        defaults: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A record as Fortnox answers it: ``@url`` first, then every key the recorded
        answer has (``defaults``), the stored values over them."""
        return {"@url": url(request, path), **(defaults or {}), **_public(record)}

    def render_order(request: Request, order: Mapping[str, Any]) -> dict[str, Any]:
        number = order["DocumentNumber"]
        out = render(request, order, f"/3/orders/{number}", ORDER_DEFAULTS)
        out = {
            "@url": out.pop("@url"),
            "@urlTaxReductionList": url(
                request, f"/3/taxreductions?filter=orders&referencenumber={number}"
            ),
            **out,
        }
        if out.get("OutboundDate") is None:
            out["OutboundDate"] = out.get("OrderDate")
        rows = out.get("OrderRows")
        if isinstance(rows, list):
            out["OrderRows"] = [{**ROW_DEFAULTS, **r} if isinstance(r, dict) else r for r in rows]
        return out

    def one(table: str, number: str, what: str) -> dict[str, Any]:
        record = store[table].get(number)
        if record is None:
            raise NotFound(what, f"Kan inte hitta {SWEDISH.get(what, what)}.")
        found: dict[str, Any] = record
        return found

    def write() -> None:
        state.save()
        controls.count("writes")

    # --- OAuth ----------------------------------------------------------------------------

    @app.post("/oauth-v1/token")
    async def token(request: Request) -> JSONResponse:
        creds = _basic(request)
        if creds is None or not (
            compare_digest(creds[0].encode(), client_id.encode())
            and compare_digest(creds[1].encode(), client_secret.encode())
        ):
            controls.count("rejected_401")
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Invalid client credentials"},
                status_code=401,
            )
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type", "")
        refused = None
        if grant == "refresh_token":
            if not tokens.use_refresh(
                form.get("refresh_token", ""), single_use=single_use_refresh_tokens
            ):
                refused = ("invalid_grant", "Invalid refresh token")
        elif grant == "authorization_code":
            code = form.get("code", "")
            if code != auth_code or code in tokens.codes_used:
                refused = ("invalid_grant", "Invalid authorization code")
            tokens.codes_used.add(code)
        elif grant == "client_credentials":
            if not request.headers.get("TenantId"):
                refused = ("invalid_request", "TenantId header is required")
        else:
            refused = ("unsupported_grant_type", f"unsupported grant_type {grant!r}")
        if refused is not None:
            return JSONResponse(
                {"error": refused[0], "error_description": refused[1]}, status_code=400
            )
        controls.count("tokens_issued")
        return JSONResponse(tokens.issue())

    # --- orders ---------------------------------------------------------------------------

    def order_rows_valid(rows: Any) -> None:
        if not isinstance(rows, list):
            raise ApiError(400, "OrderRows must be a list")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ApiError(400, f"OrderRows[{i}] must be an object")
            art = str(row.get("ArticleNumber") or "")
            if art and art not in store["articles"]:
                raise ApiError(400, f"OrderRows[{i}]: article {art} not found")

    @app.get("/3/orders")
    def list_orders(request: Request) -> dict[str, Any]:
        q = dict(request.query_params)
        with state.lock:
            rows = _modified_since(list(store["orders"].values()), q, tz)
            flt = q.get("filter")
            if flt:
                if flt not in ORDER_FILTERS:
                    raise ApiError(400, f"filter: expected one of {', '.join(ORDER_FILTERS)}")
                today = wall().astimezone(tz).date().isoformat()
                rows = [o for o in rows if _order_filter(o, flt, today)]
            for param, field in (
                ("customernumber", "CustomerNumber"),
                ("documentnumber", "DocumentNumber"),
                ("yourreference", "YourReference"),
                ("externalinvoicereference1", "ExternalInvoiceReference1"),
            ):
                if param in q:
                    rows = [o for o in rows if str(o.get(field) or "") == q[param]]
            if "notcompleted" in q:
                wanted = q["notcompleted"].lower() == "true"
                rows = [o for o in rows if bool(o.get("NotCompleted")) == wanted]
            sort_field = {"customername": "CustomerName", "orderdate": "OrderDate"}.get(
                q.get("sortby", ""), "DocumentNumber"
            )
            rows.sort(
                key=lambda o: _sort_key(o.get(sort_field)),
                reverse=q.get("sortorder") == "descending",
            )
            page, meta = _page(rows, q)
            subset = [
                {k: v for k, v in render_order(request, o).items() if k in ORDER_SUBSET}
                for o in page
            ]
            return {"MetaInformation": meta, "Orders": subset}

    @app.get("/3/orders/{number}")
    def get_order(number: str, request: Request) -> dict[str, Any]:
        with state.lock:
            return {"Order": render_order(request, one("orders", number, "order"))}

    @app.post("/3/orders", status_code=201)
    def create_order(request: Request, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        fields = _body(body, "Order")
        _refuse(fields, READ_ONLY_ORDER, "order")
        with state.lock:
            customer = store["customers"].get(str(fields.get("CustomerNumber") or ""))
            if customer is None:
                raise ApiError(400, f"customer {fields.get('CustomerNumber')!r} not found")
            order_rows_valid(fields.get("OrderRows", []))
            number = str(store["next"]["order"])
            store["next"]["order"] += 1
            today = wall().astimezone(tz).date().isoformat()
            # a new order copies the customer's name, address and e-mail, and is already
            # in DeliveryState "delivery", ready in the warehouse, undelivered [V]
            order = {
                "DocumentNumber": number,
                "CustomerName": customer.get("Name") or "",
                "Address1": customer.get("Address1") or "",
                "ZipCode": customer.get("ZipCode") or "",
                "City": customer.get("City") or "",
                "Country": customer.get("Country") or "",
                "OrderDate": today,
                "OutboundDate": today,
                "EmailInformation": {
                    **ORDER_DEFAULTS["EmailInformation"],
                    "EmailAddressTo": customer.get("Email") or "",
                },
                "Currency": customer.get("Currency") or currency,
                "YourReference": customer.get("YourReference") or "",
                **fields,
                "_modified": bumped(),
            }
            order["OrderRows"] = [
                shaped_row(row, i + 1) for i, row in enumerate(order.get("OrderRows") or [])
            ]
            try:
                recompute(order)
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
            store["orders"][number] = order
            write()
            return {"Order": render_order(request, order)}

    @app.put("/3/orders/{number}")
    def update_order(number: str, request: Request, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        changes = _body(body, "Order")
        _refuse(changes, READ_ONLY_ORDER, "order")
        with state.lock:
            order = one("orders", number, "order")
            if order.get("Cancelled"):
                raise ApiError(400, f"order {number} is cancelled and cannot be changed")
            if str(order.get("InvoiceReference") or "0") != "0":
                raise ApiError(400, f"order {number} is invoiced and cannot be changed")
            if "OrderRows" in changes:
                order_rows_valid(changes["OrderRows"])
                changes["OrderRows"] = [
                    shaped_row(row, i + 1) for i, row in enumerate(changes["OrderRows"])
                ]
            candidate = {**order, **changes}
            try:
                recompute(candidate)
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
            candidate["_modified"] = bumped(order.get("_modified"))
            store["orders"][number] = candidate
            write()
            return {"Order": render_order(request, candidate)}

    @app.put("/3/orders/{number}/{action}")
    def order_action(number: str, action: str, request: Request) -> dict[str, Any]:
        if action not in ORDER_ACTIONS:
            raise ApiError(404, f"unknown order action {action!r}")
        with state.lock:
            order = one("orders", number, "order")
            invoiced = str(order.get("InvoiceReference") or "0") != "0"
            if action in ("cancel", "createinvoice") and (invoiced or order.get("Cancelled")):
                raise ApiError(
                    400, f"order {number} is already {'invoiced' if invoiced else 'cancelled'}"
                )
            if action == "cancel":  # a cancelled order gets its delivery date [V]
                order["Cancelled"] = True
                order["DeliveryDate"] = (
                    order.get("DeliveryDate") or wall().astimezone(tz).date().isoformat()
                )
            elif action == "createinvoice":
                _invoice(store, order, wall().astimezone(tz).date())
            elif action == "warehouseready":
                order.update(
                    WarehouseReady=True, OutboundDate=wall().astimezone(tz).date().isoformat()
                )
            else:
                order["Sent"] = True
            order["_modified"] = bumped(order.get("_modified"))
            write()
            return {"Order": render_order(request, order)}

    @app.get("/3/invoices")
    def list_invoices(request: Request) -> dict[str, Any]:
        q = dict(request.query_params)
        with state.lock:
            rows = sorted(store["invoices"].values(), key=lambda i: _sort_key(i["DocumentNumber"]))
            page, meta = _page(rows, q)
            return {
                "MetaInformation": meta,
                "Invoices": [
                    render(request, i, f"/3/invoices/{i['DocumentNumber']}") for i in page
                ],
            }

    @app.get("/3/invoices/{number}")
    def get_invoice(number: str, request: Request) -> dict[str, Any]:
        with state.lock:
            return {
                "Invoice": render(
                    request, one("invoices", number, "invoice"), f"/3/invoices/{number}"
                )
            }

    # --- customers ------------------------------------------------------------------------

    @app.get("/3/customers")
    def list_customers(request: Request) -> dict[str, Any]:
        q = dict(request.query_params)
        with state.lock:
            rows = _modified_since(list(store["customers"].values()), q, tz)
            if "email" in q:
                rows = [c for c in rows if str(c.get("Email") or "").lower() == q["email"].lower()]
            rows.sort(key=lambda c: _sort_key(c.get("CustomerNumber")))
            page, meta = _page(rows, q)
            # list rows say "" where the customer's own record has null [V]
            subset = [
                {
                    k: "" if v is None else v
                    for k, v in {
                        **render(
                            request, c, f"/3/customers/{c['CustomerNumber']}", CUSTOMER_DEFAULTS
                        ),
                        "Phone": c.get("Phone1"),
                    }.items()
                    if k in CUSTOMER_SUBSET
                }
                for c in page
            ]
            return {"MetaInformation": meta, "Customers": subset}

    @app.get("/3/customers/{number}")
    def get_customer(number: str, request: Request) -> dict[str, Any]:
        with state.lock:
            return {
                "Customer": render(
                    request,
                    one("customers", number, "customer"),
                    f"/3/customers/{number}",
                    CUSTOMER_DEFAULTS,
                )
            }

    @app.post("/3/customers", status_code=201)
    def create_customer(request: Request, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        fields = _body(body, "Customer")
        _refuse(fields, READ_ONLY_CUSTOMER, "customer")
        if not str(fields.get("Name") or "").strip():
            raise ApiError(400, "Name is required")
        with state.lock:
            number = str(fields.get("CustomerNumber") or "")
            if not number:
                number = str(store["next"]["customer"])
                store["next"]["customer"] += 1
            elif number in store["customers"]:
                raise ApiError(400, f"customer number {number} is already used")
            customer = {
                "Type": "COMPANY",
                "Active": True,
                **fields,
                "CustomerNumber": number,
                "_modified": bumped(),
            }
            store["customers"][number] = customer
            write()
            return {
                "Customer": render(request, customer, f"/3/customers/{number}", CUSTOMER_DEFAULTS)
            }

    @app.put("/3/customers/{number}")
    def update_customer(number: str, request: Request, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        changes = _body(body, "Customer")
        _refuse(changes, READ_ONLY_CUSTOMER | {"CustomerNumber"}, "customer")
        with state.lock:
            customer = one("customers", number, "customer")
            customer.update(changes)
            customer["_modified"] = bumped(customer.get("_modified"))
            write()
            return {
                "Customer": render(request, customer, f"/3/customers/{number}", CUSTOMER_DEFAULTS)
            }

    # --- articles -------------------------------------------------------------------------

    def set_quantity(number: str, article: dict[str, Any], quantity: Any) -> None:
        """A new ``QuantityInStock``: the difference lands at ``HQ`` (the default point)."""
        if not article.get("StockGoods"):
            return
        balances = store["balances"].setdefault(number, {})
        hq = balances.setdefault("HQ", {"InStock": 0, "AvailableStock": 0})
        try:
            delta = _d(quantity) - sum((_d(b["InStock"]) for b in balances.values()), Decimal(0))
        except ValueError:
            return
        hq["InStock"] = float(_d(hq["InStock"]) + delta)
        hq["AvailableStock"] = float(_d(hq["AvailableStock"]) + delta)

    def sync_article(number: str) -> None:
        """Article quantities as the sum of its balances (Fortnox keeps them in step)."""
        article = store["articles"].get(number)
        balances = store["balances"].get(number)
        if article is None or not balances:
            return
        in_stock = sum((_d(b["InStock"]) for b in balances.values()), Decimal(0))
        available = sum((_d(b["AvailableStock"]) for b in balances.values()), Decimal(0))
        article.update(
            QuantityInStock=float(in_stock),
            DisposableQuantity=float(available),
            ReservedQuantity=float(in_stock - available),
        )

    @app.get("/3/articles")
    def list_articles(request: Request) -> dict[str, Any]:
        q = dict(request.query_params)
        with state.lock:
            rows = _modified_since(list(store["articles"].values()), q, tz)
            if q.get("filter") in ("active", "inactive"):
                wanted = q["filter"] == "active"
                rows = [a for a in rows if bool(a.get("Active", True)) == wanted]
            rows.sort(key=lambda a: _sort_key(a.get("ArticleNumber")))
            page, meta = _page(rows, q)
            out = []
            for a in page:
                row = render(request, a, f"/3/articles/{a['ArticleNumber']}", ARTICLE_DEFAULTS)
                if article_list == "subset":
                    row = {k: v for k, v in row.items() if k in ARTICLE_SUBSET}
                # list rows give quantities and values as strings [V: articles.list]
                for key in ARTICLE_LIST_STRINGS:
                    if key in row:
                        row[key] = quantity_text(row[key])
                out.append(row)
            return {"MetaInformation": meta, "Articles": out}

    @app.get("/3/articles/{number}")
    def get_article(number: str, request: Request) -> dict[str, Any]:
        with state.lock:
            return {
                "Article": render(
                    request,
                    one("articles", number, "article"),
                    f"/3/articles/{number}",
                    ARTICLE_DEFAULTS,
                )
            }

    @app.post("/3/articles", status_code=201)
    def create_article(request: Request, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        fields = _body(body, "Article")
        _refuse(fields, READ_ONLY_ARTICLE, "article")
        if not str(fields.get("Description") or "").strip():
            raise ApiError(400, "Description is required")
        with state.lock:
            number = str(fields.get("ArticleNumber") or "")
            if not number:
                while str(store["next"]["article"]) in store["articles"]:
                    store["next"]["article"] += 1
                number = str(store["next"]["article"])
            elif number in store["articles"]:
                raise ApiError(400, f"article number {number} is already used")
            article = {
                "Type": "STOCK",
                "Active": True,
                "StockGoods": False,
                "VAT": vat,
                "SalesPrice": 0,
                "QuantityInStock": 0,
                "ReservedQuantity": 0,
                "DisposableQuantity": 0,
                "WebshopArticle": False,
                **fields,
                "ArticleNumber": number,
                "_modified": bumped(),
            }
            store["articles"][number] = article
            set_quantity(number, article, article.get("QuantityInStock"))
            sync_article(number)
            write()
            return {"Article": render(request, article, f"/3/articles/{number}", ARTICLE_DEFAULTS)}

    @app.put("/3/articles/{number}")
    def update_article(number: str, request: Request, body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        changes = _body(body, "Article")
        _refuse(changes, READ_ONLY_ARTICLE | {"ArticleNumber"}, "article")
        with state.lock:
            article = one("articles", number, "article")
            article.update(changes)
            if "QuantityInStock" in changes:
                set_quantity(number, article, changes["QuantityInStock"])
                sync_article(number)
            article["_modified"] = bumped(article.get("_modified"))
            write()
            return {"Article": render(request, article, f"/3/articles/{number}", ARTICLE_DEFAULTS)}

    # --- warehouse ------------------------------------------------------------------------

    @app.get("/api/warehouse/status-v1/stockbalance", response_model=None)
    def stock_balance(request: Request) -> Any:
        q = dict(request.query_params)
        items = [x for x in q.get("itemIds", "").split(",") if x]
        points = [x for x in q.get("stockPointCodes", "").split(",") if x]
        if items and points:
            raise ApiError(400, "only one of itemIds and stockPointCodes per request")
        with state.lock:
            rows = []
            for item in sorted(store["balances"], key=_sort_key):
                if items and item not in items:
                    continue
                for point, b in sorted(store["balances"][item].items()):
                    if points and point not in points:
                        continue
                    rows.append(
                        {
                            "ItemId": item,
                            "StockPointCode": point,
                            "InStock": b["InStock"],
                            "AvailableStock": b["AvailableStock"],
                        }
                    )
            page, meta = _page(rows, q)
        if warehouse_style == "pascal":
            return {"MetaInformation": meta, "StockBalances": page}
        return [{k[0].lower() + k[1:]: v for k, v in r.items()} for r in page]

    @app.get("/api/warehouse/stockpoints-v1", response_model=None)
    def stock_points() -> Any:
        with state.lock:
            return list(store["stockpoints"])

    # --- /_sandbox controls ---------------------------------------------------------------

    def control_body(body: Any, key: str) -> tuple[dict[str, Any], str | None]:
        if not isinstance(body, dict):
            raise ApiError(400, "body must be an object")
        inner = body.get(key, body)
        if not isinstance(inner, dict):
            raise ApiError(400, f"{key} must be an object")
        modified = body.get("modified") if key in body else None
        return dict(inner), modified

    @app.get(f"{CONTROL_PREFIX}/orders")
    def control_orders() -> dict[str, Any]:
        with state.lock:
            return {"orders": list(store["orders"].values())}

    @app.post(f"{CONTROL_PREFIX}/orders")
    def control_upsert_order(body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert or merge an order as given (bad records welcome), bypassing validation.

        ``{"Order": {...}, "modified": ISO}`` pins the modification time (tests pin window
        boundaries); otherwise it is bumped. Totals are recomputed when the rows allow.
        """
        fields, modified = control_body(body, "Order")
        with state.lock:
            number = str(fields.get("DocumentNumber") or "")
            if not number:
                number = str(store["next"]["order"])
                store["next"]["order"] += 1
            old = store["orders"].get(number, {})
            order = {**old, **fields, "DocumentNumber": number}
            with contextlib.suppress(ValueError, TypeError):
                recompute(order)
            order["_modified"] = modified or bumped(old.get("_modified"))
            store["orders"][number] = order
            state.save()
            return {"Order": order}

    @app.get(f"{CONTROL_PREFIX}/articles")
    def control_articles() -> dict[str, Any]:
        with state.lock:
            return {
                "articles": list(store["articles"].values()),
                "balances": dict(store["balances"]),
            }

    @app.post(f"{CONTROL_PREFIX}/articles")
    def control_upsert_article(body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert or merge an article as given (e.g. a negative ``QuantityInStock``), with
        ``{"Article": {...}, "modified": ISO, "balances": {"HQ": {"InStock", "AvailableStock"}}}``.
        Given balances replace the article's and set its quantities; a new
        ``QuantityInStock`` alone moves the difference to ``HQ``."""
        fields, modified = control_body(body, "Article")
        balances = body.get("balances") if isinstance(body, dict) else None
        with state.lock:
            number = str(fields.get("ArticleNumber") or "")
            if not number:
                raise ApiError(400, "ArticleNumber is required")
            old = store["articles"].get(number, {})
            article = {**old, **fields}
            store["articles"][number] = article
            if isinstance(balances, dict):
                store["balances"][number] = {str(k): dict(v) for k, v in balances.items()}
                sync_article(number)
            elif "QuantityInStock" in fields and fields["QuantityInStock"] != old.get(
                "QuantityInStock"
            ):
                set_quantity(number, article, fields["QuantityInStock"])
            article["_modified"] = modified or bumped(old.get("_modified"))
            state.save()
            return {"Article": article}

    @app.post(f"{CONTROL_PREFIX}/customers")
    def control_upsert_customer(body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert or merge a customer as given (e.g. without ``Email``)."""
        fields, modified = control_body(body, "Customer")
        with state.lock:
            number = str(fields.get("CustomerNumber") or "")
            if not number:
                number = str(store["next"]["customer"])
                store["next"]["customer"] += 1
            old = store["customers"].get(number, {})
            customer = {
                **old,
                **fields,
                "CustomerNumber": number,
                "_modified": modified or bumped(old.get("_modified")),
            }
            store["customers"][number] = customer
            state.save()
            return {"Customer": customer}

    @app.post(f"{CONTROL_PREFIX}/stockbalance")
    def control_stock_balance(body: Any = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Set one balance row ``{ItemId, StockPointCode, InStock, AvailableStock}``; the
        article's quantities follow (as Fortnox keeps them in step)."""
        if not isinstance(body, dict) or not body.get("ItemId") or not body.get("StockPointCode"):
            raise ApiError(400, "ItemId and StockPointCode are required")
        with state.lock:
            item, point = str(body["ItemId"]), str(body["StockPointCode"])
            in_stock = body.get("InStock", 0)
            store["balances"].setdefault(item, {})[point] = {
                "InStock": in_stock,
                "AvailableStock": body.get("AvailableStock", in_stock),
            }
            sync_article(item)
            if item in store["articles"]:
                store["articles"][item]["_modified"] = bumped(
                    store["articles"][item].get("_modified")
                )
            state.save()
            return {"balances": store["balances"][item]}

    @app.post(f"{CONTROL_PREFIX}/expire_tokens")
    def control_expire_tokens() -> dict[str, int]:
        """Expire every access token now: the next API call gets a 401 (a revoked token)."""
        return {"expired": tokens.expire_all()}

    # --- the vendor's gate: bearer token, then the sliding limit -------------------------

    @app.middleware("http")
    async def vendor_gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if not path.startswith(("/3/", "/api/")):
            return await call_next(request)
        scheme, _, access = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not tokens.valid(access.strip()):
            controls.count("rejected_401")
            return JSONResponse(UNAUTHORIZED, status_code=401)
        if not limiter.take(access.strip() if limit_by == "token" else "tenant"):
            controls.count("rejected_429")
            headers = {"Retry-After": f"{math.ceil(window_s)}"} if retry_after_header else {}
            return JSONResponse(
                error_body(429, "Too many requests"), status_code=429, headers=headers
            )
        return await call_next(request)

    # added last, so its middleware is outermost: faults are served before auth/limits
    install_controls(app, controls, lambda status, request: error_body(status))
    return app
