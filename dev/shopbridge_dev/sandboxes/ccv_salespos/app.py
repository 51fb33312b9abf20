"""A local CCV Shop / SalesPOS REST API (STYLE R13), shared by tests and the demo.

Faithful to VENDOR_APIS.md §6 where it is [V]/[S]; every [U] point is an option of
:func:`create_app` or marked ASSUMPTION below. Vendor behaviour only; the ``/_sandbox/*``
controls come from :mod:`shopbridge_dev.sandboxes._common` plus the ones listed at the end.

* **Signed requests**: every ``/api/rest/v1/`` request must carry ``x-public``, ``x-date``
  and ``x-hash`` = hex HMAC-SHA512(secret, ``public|METHOD|uri|body|x-date``) rebuilt byte
  for byte from the raw path+query and body received. A missing header, an unknown key,
  an ``x-date`` further than ``max_clock_skew_s`` (default 300, [U]) from the server's
  clock, or a wrong hash is a 401 whose ``developermessage`` says which.
* **Signed responses**: every API response (errors and injected faults included) carries
  ``x-date`` and ``x-hash`` over the request's method and uri and the response body.
  ``POST /_sandbox/tamper`` alters the next response(s) *after* signing, to test clients.
* **Collections**: ``{"href","start","size","first","previous","next","items"}``, paged by
  ``start``/``size`` (default ``default_page_size`` 25, capped at ``max_page_size`` 100,
  both [U]); ``orderby=field`` / ``field_desc``; ``expand=`` (products:
  ``attributecombinations``, ``producttocategories``; orders: ``orderrows``); without
  expand a relation is ``{"href": ...}``. Order filters ``ordernumber``, ``status``,
  ``is_paid``, ``min_create_date``/``max_create_date`` (inclusive, ISO 8601 [U]),
  ``is_completed`` (default true: only completed orders), ``paymethod_id``; product filters
  ``productnumber``, ``eannumber`` [S].
* **Orders**: ``POST orders`` with ``orderrows`` is validated (known fields only; each row's
  ``product_id`` must exist, its ``attribute_combination_id`` must belong to it, a product
  with combinations needs one; ``count`` > 0); the server assigns ``id`` and the
  ``ordernumber`` and recomputes the totals from the rows. ``PATCH orders/{id}`` sets
  ``status`` (1-14), ``track_and_trace_code``/``_carrier``, ``paid``, ``deliver_date``.
  ``transaction_id`` is not a ``POST`` field [S] unless ``transaction_id_writable``;
  ``webshop_id`` (the store, [U]) must name a webshop and is required with
  ``require_webshop_id`` (a multishop; the pair's mapping supplies it).
* **Rate limits**: sliding per-minute windows per resource+method (``limit_per_resource``,
  ``429.10``) and in total (``limit_total``, ``429.11``), defaults 120 and 600 [U]; a
  refused request is not counted in the windows (ASSUMPTION [U]) and gets ``Retry-After``
  (seconds until the window has room) unless ``send_retry_after=False`` [U].
* **Errors**: ``{"code","status","developermessage"}``; ``404.20`` unknown resource,
  ``405.10`` method not allowed; ASSUMPTION [U]: ``400.10`` for validation, ``404.10`` for
  a missing record, ``401.10``-``401.13`` for the signature checks.
* **Shapes** as recorded from a live shop (tests/contracts/ccv_salespos, checked by its
  drift test): an order carries every recorded key (``reservationnumber`` ``""`` when
  unset, ``transaction_id``/``ordernumber_prefix``/``track_and_trace_carrier`` ``null``,
  ``user`` ``{id (text), discount_percentage, href}``, ``discountcoupon``,
  ``take_out_window``), its ``customer`` with the ~40 order-form fields, a billing address
  with first/last/full name and a delivery address with ``full_name`` only; an empty
  address has ``""`` fields and ``housenumber``/``country_code`` ``null``; relations are
  ``{"href"}`` links (``orderrows`` unless expanded); an order row carries
  ``selling_price``, ``original_price``, ``price_without_discount``, ``unit``,
  ``product_type``, ``package_id``... Products, combinations, categories, links, webshops
  and ``webshops/{id}/settings`` (``currency``, ``prices_include_vat``) follow the
  vendor's JSON schema, ``null`` where it allows (a product keeping no stock has
  ``stockenabled``/``stocktype``/``stock`` ``null``). The three recorded order webhooks
  (status changed, track and trace, paid; ``order_number``, not ``ordernumber``) are
  rendered by ``GET /_sandbox/webhooks/{kind}/{order_id}``.
* **Seed** (``demo_data``): the demo catalogue as products (a multi-variant product has
  ``attributecombinations``, SKU = the demo variant's SKU; the webshop-only
  ``DISC-0001`` is absent, so orders for it are refused), stock with a ``stocklocation``,
  the category tree, webshop ``1`` with its settings (``currency`` option, default EUR)
  and ``n_pos_orders`` till sales in the demo week. As real shops hold them: the till's
  walk-in customer has no e-mail, address or country; one combination
  (:data:`ARTICLE_CODE_ONLY_SKU`) has ``sku_number`` ``""`` and is known by its
  ``product_number`` and EAN; one product has ``description`` and ``unit`` ``null``; the
  poster keeps no stock (``null``s).
* ``POST`` bodies over ``max_payload_bytes`` are ``500.80`` (payload too big).

Simplifications: no ``users`` or ``webhooks`` resources (webhook bodies only through the
control above), invoices, notes or photos; a ``POST`` does not move stock;
``PATCH products`` is not served.

Controls (no signature, never counted): ``/_sandbox/faults`` and ``/_sandbox/stats``
(shared), ``GET``/``POST /_sandbox/orders`` (list with rows / insert one unvalidated),
``GET``/``POST /_sandbox/products`` (list with combinations and category ids / upsert one
raw, e.g. a bad record), ``POST``/``DELETE /_sandbox/tamper``.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Body, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from shopbridge.connectors.ccv_salespos._limiter import MinuteWindows, resource_of
from shopbridge.connectors.ccv_salespos._signing import (
    DATE_HEADER,
    HASH_HEADER,
    PUBLIC_HEADER,
    matches,
    parse_stamp,
    sign,
    stamp,
)
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes._common import (
    CONTROL_PREFIX,
    JsonState,
    SandboxControls,
    install_controls,
)

PREFIX = "/api/rest/v1"
WEBSHOP_ID = 1
#: the till's cashier account the seeded counter sales are rung up by
CASHIER_USER_ID = 3001
_CENT = Decimal("0.01")
#: fields ``POST orders`` takes [S: jacobdekeizer/ccvshop-client ``Orders/Post``]
ORDER_POST_FIELDS = frozenset(
    {
        "invoicenumber",
        "is_completed",
        "paid",
        "safety_deposit_returned",
        "total_shipping",
        "paymethod_costs",
        "extra_costs",
        "extra_costs_description",
        "taxes_included",
        "order_row_taxes_included",
        "shipping_taxes_included",
        "is_intra_community_order",
        "currency",
        "is_platform_sale",
        "orderedinlng",
        "status",
        "track_and_trace_code",
        "track_and_trace_carrier",
        "deliver_date",
        "deliver_method",
        "takeoutslot",
        "reservationnumber",
        "customer",
        "user_id",
        "orderrows",
        # ASSUMPTION [U]: the store an order belongs to, for a multishop (the pair's mapping
        # adds it as missing data); not in the SDK's model
        "webshop_id",
    }
)
#: fields of one ``orderrows`` entry [S: ``Orders/Orderrow/Input``]
ORDERROW_FIELDS = frozenset(
    {
        "product_type",
        "auto_create_deposit_rows",
        "product_id",
        "product_name",
        "product_number",
        "count",
        "price",
        "product_purchase_price",
        "discount",
        "tax",
        "unit",
        "weight",
        "memo",
        "package_id",
        "attribute_combination_id",
    }
)
#: every key a recorded order carries (tests/contracts/ccv_salespos/order.detail.json) with
#: the value an order has when nothing set it; ``create_order`` overrides what it knows
ORDER_DEFAULTS: dict[str, Any] = {
    "ordernumber_prefix": None,
    "invoicenumber": None,
    "transaction_id": None,
    "deliver_method": "shipping",
    "deliver_date": None,
    "take_out_window": {"start": None, "end": None},
    "is_platform_sale": False,
    "orderedinlng": "nl",
    "status": 1,
    "is_completed": True,
    "paid": False,
    "safety_deposit_returned": False,
    "paymethod_id": 0,
    "paymethod": "",
    "paymethod_label": "",
    "taxes_included": True,
    "order_row_taxes_included": False,
    "shipping_taxes_included": False,
    "shipping_tax_percentage": 21.0,
    "is_intra_community_order": False,
    "total_orderrow_price": 0.0,
    "total_shipping": 0.0,
    "total_discounts": 0.0,
    "total_price": 0.0,
    "currency": "EUR",
    "total_tax": 0.0,
    "total_weight": 0.0,
    "extra_payment_option": "",
    "extra_payment_option_price": 0.0,
    "extra_payment_option_no_sentprice": False,
    "extra_payment_option_pay_on_pickup": False,
    "extra_price": 0.0,
    "paymethod_costs": 0.0,
    "credit_point_discount": 0.0,
    "extra_costs": 0.0,
    "extra_costs_description": "",
    "track_and_trace_code": "",
    "track_and_trace_carrier": None,
    "track_and_trace_deeplink": "",
    "reservationnumber": "",
    "delivery_option": None,
    "discountcoupon": {
        "code": "",
        "discount": 0.0,
        "type": "",
        "enddate": None,
        "onetimeuse": False,
        "minimumprice": 0.0,
        "givesfreeshipping": False,
    },
    "pickup_address": None,
}
#: the recorded ``customer.billingaddress`` keys, empty as CCV shows an unknown address
BILLING_DEFAULTS: dict[str, Any] = {
    "gender": None,
    "initials": "",
    "first_name": "",
    "last_name": "",
    "full_name": "",
    "company": "",
    "address_line_1": "",
    "address_line_2": "",
    "street": "",
    "housenumber": None,
    "housenumber_suffix": "",
    "zipcode": "",
    "city": "",
    "province": "",
    "telephone": "",
    "fax": "",
    "mobile": "",
    "comment": "",
    "country": "",
    "country_code": None,
}
#: the recorded ``customer.deliveryaddress`` keys: a full name only, no first/last [V]
DELIVERY_KEYS = (
    "gender",
    "full_name",
    "initials",
    "company",
    "address_line_1",
    "address_line_2",
    "street",
    "housenumber",
    "housenumber_suffix",
    "zipcode",
    "city",
    "province",
    "telephone",
    "mobile",
    "comment",
    "country",
    "country_code",
)
#: the recorded ``customer`` keys besides the addresses (a webshop's order form fields)
CUSTOMER_DEFAULTS: dict[str, Any] = {
    **{
        k: ""
        for k in (
            "email_invoice",
            "email_invoice_company",
            "email_invoice_union",
            "email",
            "customertype",
            "bankaccount",
            "iban",
            "bic",
            "bank",
            "tenname",
            "bankname",
            "btw",
            "kvk",
            "reference",
            "reservationnumber",
            "income",
            "branche",
            "branch",
            "website",
            "clubcity",
            "clubcomment",
            "clubname",
            "beurs",
            "fair",
            "stand",
            "booth",
            "carbrand",
            "cartype",
            "carweight",
            "birthplace",
            "cardnumber",
            "findus",
            "ssnnumber",
            "zzppass",
            "costcentre",
        )
    },
    "customertype": "b2c",
    "birthdate": None,
    "birthtime": None,
}
#: what ``POST orders`` takes in ``customer.billingaddress`` / ``.deliveryaddress``
#: [S: the Personalinfo input schema; a delivery address has no first/last name]
DELIVERY_INPUT = frozenset(
    {
        "gender",
        "initials",
        "full_name",
        "company",
        "address_line_1",
        "address_line_2",
        "street",
        "housenumber",
        "housenumber_suffix",
        "zipcode",
        "city",
        "province",
        "country",
        "country_code",
        "telephone",
        "mobile",
        "comment",
    }
)
BILLING_INPUT = DELIVERY_INPUT | {"first_name", "last_name", "fax"}
#: the order relations CCV links (never embeds) on an order [V]
ORDER_LINKS = (
    "orderrows",
    "ordernotes",
    "ordermessages",
    "ordernotifications",
    "orderaffiliatenetworks",
    "orderlabels",
    "invoices",
)
#: the shop's default package (shipping box) an order row gets
DEFAULT_PACKAGE = (1, "Kartonnen doos")
#: ASSUMPTION [U]: a shop's pay methods by name -> id (the recording: 3 BankTransfer); an
#: order posted without one gets 0 ("none chosen")
PAYMETHODS = {"": (0, ""), "banktransfer": (3, "Vooraf overmaken"), "pin": (8, "Pinnen")}
#: the three order webhooks recorded from a live shop, each with the fields it adds
WEBHOOK_FIELDS: dict[str, tuple[str, ...]] = {
    "status_changed": ("previous_status", "status"),
    "track_and_trace": ("track_and_trace_code", "track_and_trace_carrier"),
    "is_paid": ("paid",),
}
ORDER_PATCH_FIELDS = frozenset(
    {"status", "track_and_trace_code", "track_and_trace_carrier", "paid", "deliver_date"}
)
COMBINATION_PATCH_FIELDS = frozenset(
    {"stock", "product_number", "ean_number", "sku_number", "active"}
)
#: resource -> fields ``orderby`` accepts
SORTABLE = {
    "orders": ("id", "ordernumber", "create_date", "deliver_date"),
    "products": ("id", "name", "productnumber", "createdate", "modifydate", "price"),
    "categories": ("id", "name", "position"),
    "webshops": ("id",),
    "attributecombinations": ("id",),
    "producttocategories": ("id", "position"),
    "orderrows": ("id",),
}
EXPANDABLE = {
    "products": ("attributecombinations", "producttocategories"),
    "orders": ("orderrows",),
}
RESOURCES = frozenset(
    {
        "webshops",
        "categories",
        "products",
        "attributecombinations",
        "producttocategories",
        "orders",
        "orderrows",
    }
)
_STOCK_LOCATIONS = ("Winkel", "Magazijn")


class ApiError(Exception):
    """Rendered as CCV's ``{"code","status","developermessage"}``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"code": self.code, "status": self.status, "developermessage": self.message},
            status_code=self.status,
            headers=self.headers,
        )


def _fault_body(status: int, request: Request) -> dict[str, Any]:
    code = {429: "429.10"}.get(status, f"{status}.00")
    return {
        "code": code,
        "status": status,
        "developermessage": f"{HTTPStatus(status).phrase} ({request.url.path})",
    }


def _iso(when: datetime) -> str:
    """CCV's UTC timestamps. ASSUMPTION [U]: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Decimal) -> float:
    """A JSON number with cents, as the API sends money (clients must not trust floats)."""
    return float(value.quantize(_CENT, ROUND_HALF_UP))


def _dec(value: Any, field: str, *, minimum: Decimal | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(400, "400.10", f"{field}: expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(400, "400.10", f"{field}: not a number: {value!r}") from None
    if not number.is_finite() or (minimum is not None and number < minimum):
        raise ApiError(400, "400.10", f"{field}: out of range: {value!r}")
    return number


# --- seed ------------------------------------------------------------------------------------


def _code(name: str) -> str:
    return "".join(c for c in name.upper() if c.isalnum())[:3] or "PRD"


#: ASSUMPTION [U]: the webshop's country names, as a Dutch shop shows them
_COUNTRY_NAMES = {
    "NL": "Nederland",
    "BE": "België",
    "DE": "Duitsland",
    "FR": "Frankrijk",
    "GB": "Verenigd Koninkrijk",
    "SE": "Zweden",
    "US": "Verenigde Staten",
}
#: the demo's T-shirt combination kept by article code and EAN only (``sku_number`` "")
#: as real shops hold some: the pair's item-key rule still finds it by ``product_number``
ARTICLE_CODE_ONLY_SKU = "HOO-WHI-9004"
#: the demo product whose description and unit are ``null`` (the schema allows it)
NULL_TEXT_PRODUCT = 5004


def _seed(
    seed: str | None, *, prices_include_tax: bool, n_pos_orders: int, currency: str = "EUR"
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "webshops": {
            str(WEBSHOP_ID): {
                "id": WEBSHOP_ID,
                "name": "Demo winkel",
                "is_multishop_system": False,
                "product_limit": -1,
                "product_limit_left": -1,
                "webshops": None,
                "parent": None,
            }
        },
        "settings": {
            str(WEBSHOP_ID): {
                "webshop_enabled": True,
                "webshop_disabled_title": "",
                "webshop_disabled_text": "",
                "currency": currency,
                "prices_include_vat": prices_include_tax,
                "full_ssl_webshop": True,
                "creditpoint_value": 0,
                "languages": ["nl"],
                "backend_language": "nl",
                "separate_domain_per_language": False,
                "stock": True,
                "ordering_without_stock": "no",
            }
        },
        "categories": {},
        "products": {},
        "attributecombinations": {},
        "producttocategories": {},
        "orders": {},
        "orderrows": {},
        "next": {"order": 1001, "orderrow": 1, "ordernumber": 202600001, "link": 1},
    }
    if seed is None:
        return data
    demo = demo_data.generate(seed)
    cat_ids: dict[tuple[str, ...], int] = {}
    next_cat = 100

    def category(cid: int, name: str, parent: int | None) -> dict[str, Any]:
        return {
            "id": cid,
            "name": name,
            "description": None,
            "position": cid,
            "show_on_website": True,
            "alias": name.lower().replace(" ", "-"),
            "parentcategory": None if parent is None else {"id": parent},
        }

    for root, children in demo_data.CATEGORY_TREE.items():
        next_cat += 1
        cat_ids[(root,)] = next_cat
        data["categories"][str(next_cat)] = category(next_cat, root, None)
        for child in children:
            next_cat += 1
            cat_ids[(root, child)] = next_cat
            data["categories"][str(next_cat)] = category(next_cat, child, cat_ids[(root,)])
    brands: dict[str, int] = {}
    attributes: dict[str, int] = {}
    values: dict[tuple[str, str], int] = {}
    for n, entry in enumerate(demo.catalogue):
        variants = entry["variants"]
        if any(v["sku"] == demo_data.UNKNOWN_SKU for v in variants):
            continue  # the webshop-only product: CCV does not sell it
        pid = int(entry["product_id"])
        tracked = any(v["tracked"] for v in variants)
        base: Decimal = variants[0]["price_excl"]
        price = (base * Decimal("1.21")).quantize(_CENT) if prices_include_tax else base
        brand = entry.get("brand") or ""
        if brand:
            brands.setdefault(brand, len(brands) + 1)
        multi = len(variants) > 1 or any(v["attributes"] for v in variants)
        null_text = pid == NULL_TEXT_PRODUCT
        product = {
            "id": pid,
            "is_active": True,
            "createdate": _iso(entry["created_at"]),
            "modifydate": _iso(entry["updated_at"]),
            "productnumber": f"{_code(entry['title'])}-{pid}" if multi else variants[0]["sku"],
            "eannumber": "" if multi else variants[0]["ean"],
            "mpnnumber": "",
            "is_multishop_product": False,
            "system_id": None,
            "name": entry["title"],
            "shortdescription": entry.get("short_description", ""),
            "description": None if null_text else entry.get("description", ""),
            "vatrate": 21.0,
            "taxtariff": "normal",
            "price": _money(price),
            "discount": 0.0,
            "purchaseprice": 0.0,
            "container_deposit_price": 0.0,
            "safety_deposit_price": 0.0,
            "unit": None if null_text else "per piece",
            # a product that keeps no stock: the schema's nulls, as the back office leaves them
            "stockenabled": True if tracked else None,
            "stocktype": ("attributecombination" if multi else "product") if tracked else None,
            "stock": float(sum(v["stock"] for v in variants)) if tracked else None,
            "stocklocation": _STOCK_LOCATIONS[n % 2],
            "ordering_without_stock": "global_setting",
            "weight": 0.0,
            "brand": {"id": brands[brand], "name": brand} if brand else None,
            "is_visible": bool(entry.get("visible", True)),
            "is_orderable": True,
        }
        data["products"][str(pid)] = product
        if multi:
            for v in variants:
                combination = []
                for name, value in v["attributes"].items():
                    attributes.setdefault(name, len(attributes) + 1)
                    values.setdefault((name, value), len(values) + 1)
                    combination.append(
                        {
                            "attribute": {"id": attributes[name], "name": name},
                            "attribute_value": {"id": values[(name, value)], "name": value},
                            "extra_price": 0.0,
                        }
                    )
                extra = v["price_excl"] - base
                data["attributecombinations"][str(v["variant_id"])] = {
                    "id": v["variant_id"],
                    "product_id": pid,
                    "note": "",
                    "stock": float(v["stock"]),
                    "netto_extra_price": _money(extra),
                    "ordering_without_stock": "global_setting",
                    "product_number": v["sku"],
                    "ean_number": v["ean"],
                    "sku_number": "" if v["sku"] == ARTICLE_CODE_ONLY_SKU else v["sku"],
                    "delivery_time": 1,
                    "delivery_time_type": "days",
                    "delivery_default_text": "",
                    "active": True,
                    "combination": combination,
                }
        for path in entry.get("categories", []):
            link = data["next"]["link"]
            data["next"]["link"] += 1
            data["producttocategories"][str(link)] = {
                "id": link,
                "product_id": pid,
                "category_id": cat_ids[tuple(path)],
                "position": link,
            }
    _seed_pos_orders(data, n_pos_orders)
    return data


def _seed_pos_orders(data: dict[str, Any], n: int) -> None:
    """Counter sales rung up at the till during the demo week: a walk-in customer (no
    e-mail, no address, no country: the fields empty as CCV shows them), no reservation
    number, paid and completed, by the cashier's user account. Deterministic, so every
    restart sees the same orders."""
    store = Store(data)
    combos = sorted(data["attributecombinations"].values(), key=lambda c: c["id"])
    simple = sorted(
        (p for p in data["products"].values() if not store.combinations_of(p["id"])),
        key=lambda p: p["id"],
    )
    for k in range(n):
        rows: list[dict[str, Any]] = []
        if simple:
            rows.append({"product_id": simple[k % len(simple)]["id"], "count": 1 + k % 2})
        if combos and k % 3:
            c = combos[(k * 7) % len(combos)]
            rows.append(
                {"product_id": c["product_id"], "attribute_combination_id": c["id"], "count": 1}
            )
        if not rows:
            continue
        when = demo_data.DEMO_START + timedelta(hours=10 + 12 * k)
        order = store.create_order(
            {"orderrows": rows, "status": 7, "paid": True, "user_id": CASHIER_USER_ID},
            when,
            transaction_id_writable=False,
        )
        order.update(
            {
                "paymethod": "pin",
                "paymethod_id": PAYMETHODS["pin"][0],
                "paymethod_label": PAYMETHODS["pin"][1],
                "deliver_method": "pickup",
            }
        )


# --- the store -------------------------------------------------------------------------------


class Store:
    """The tables and CCV's rules for writing them (shared by routes, seed and controls)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        table: dict[str, dict[str, Any]] = self.data.setdefault(name, {})
        return table

    def currency(self) -> str:
        """The shop's currency setting (orders posted without one get it)."""
        settings = self.table("settings").get(str(WEBSHOP_ID)) or {}
        return str(settings.get("currency") or "EUR")

    def one(self, name: str, item: str) -> dict[str, Any]:
        row = self.table(name).get(item)
        if row is None:
            raise ApiError(404, "404.10", f"{name} {item} not found")
        return row

    def combinations_of(self, product_id: int) -> list[dict[str, Any]]:
        return sorted(
            (
                c
                for c in self.table("attributecombinations").values()
                if c.get("product_id") == product_id
            ),
            key=lambda c: c["id"],
        )

    def links_of(self, product_id: int) -> list[dict[str, Any]]:
        return sorted(
            (
                x
                for x in self.table("producttocategories").values()
                if x.get("product_id") == product_id
            ),
            key=lambda x: x["id"],
        )

    def rows_of(self, order_id: int) -> list[dict[str, Any]]:
        return sorted(
            (r for r in self.table("orderrows").values() if r.get("order_id") == order_id),
            key=lambda r: r["id"],
        )

    def _row(self, i: int, raw: Any) -> dict[str, Any]:
        """One validated order row in its stored (read) shape, without ids."""
        where = f"orderrows[{i}]"
        if not isinstance(raw, dict):
            raise ApiError(400, "400.10", f"{where}: expected an object")
        if unknown := sorted(set(raw) - ORDERROW_FIELDS):
            raise ApiError(400, "400.10", f"{where}: unknown field(s) {', '.join(unknown)}")
        pid = raw.get("product_id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise ApiError(
                400,
                "400.10",
                f"{where}.product_id: required, an integer "
                "(rows without a product are not supported by this sandbox)",
            )
        product = self.table("products").get(str(pid))
        if product is None:
            raise ApiError(400, "400.10", f"{where}.product_id: product {pid} not found")
        combos = self.combinations_of(pid)
        cid = raw.get("attribute_combination_id")
        combo: dict[str, Any] | None = None
        if cid is not None:
            combo = next((c for c in combos if c["id"] == cid), None)
            if combo is None:
                raise ApiError(
                    400,
                    "400.10",
                    f"{where}.attribute_combination_id: combination "
                    f"{cid} does not belong to product {pid}",
                )
        elif combos:
            raise ApiError(
                400,
                "400.10",
                f"{where}.attribute_combination_id: product {pid} "
                "has attribute combinations; name one",
            )
        count = _dec(raw.get("count"), f"{where}.count")
        if count <= 0:
            raise ApiError(400, "400.10", f"{where}.count: must be more than 0")
        sell = _dec(product["price"], "price") - _dec(product.get("discount") or 0, "discount")
        if combo is not None:
            sell += _dec(combo.get("netto_extra_price") or 0, "netto_extra_price")
        price = _dec(raw["price"], f"{where}.price") if "price" in raw else sell
        discount = _dec(raw.get("discount", 0), f"{where}.discount", minimum=Decimal(0))
        tax = _dec(raw.get("tax", product.get("vatrate", 21)), f"{where}.tax", minimum=Decimal(0))
        if tax > 100:
            raise ApiError(400, "400.10", f"{where}.tax: a percentage 0..100, got {tax}")
        name = str(raw.get("product_name") or product["name"])
        total = count * price - discount
        selling = _money(total / count)
        return {
            "product_type": str(raw.get("product_type") or "product"),
            "product_name": name,
            "product_name_google": re.sub(r"\s+", "-", name.strip()),
            "product_number": product.get("productnumber", ""),
            "sub_product_number": combo.get("product_number", "") if combo else "",
            "sub_sku_number": combo.get("sku_number", "") if combo else "",
            "sub_ean_number": combo.get("ean_number", "") if combo else "",
            "product_id": pid,
            "attribute_combination_id": combo["id"] if combo else None,
            "count": float(count),
            "price": _money(price),
            "product_purchase_price": _money(
                _dec(raw.get("product_purchase_price", 0), f"{where}.product_purchase_price")
            ),
            "discount": _money(discount),
            "custom_price": "price" in raw,
            "tax": float(tax),
            "unit": str(raw.get("unit") or product.get("unit") or ""),
            "weight": float(_dec(raw.get("weight", 0), f"{where}.weight")),
            "memo": str(raw.get("memo") or ""),
            # ASSUMPTION [U]: a row without a package gets the shop's default box, as the
            # recorded row carries one
            "package_id": raw.get("package_id") or DEFAULT_PACKAGE[0],
            "package_name": DEFAULT_PACKAGE[1]
            if raw.get("package_id") in (None, 0, DEFAULT_PACKAGE[0])
            else "",
            "stock_location": product.get("stocklocation", ""),
            "supplier": "",
            "user_discount": 0.0,
            "original_price": selling,
            "selling_price": selling,
            "price_without_discount": _money(price),
            "price_without_discount_with_attributes": _money(price),
            "total_price": _money(total),
            "total_extra_option_price": 0.0,
            "price_with_attributes": selling,
            "total_price_with_attributes": _money(total),
            "attributes": [
                {"option_name": c["attribute"]["name"], "value_name": c["attribute_value"]["name"]}
                for c in (combo or {}).get("combination") or []
            ],
            "uploads": [],
        }

    @staticmethod
    def _customer(raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ApiError(400, "400.10", "customer: expected an object")
        email = raw.get("email")
        if email not in (None, "") and (
            not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)
        ):
            raise ApiError(400, "400.10", f"customer.email: not an e-mail address: {email!r}")
        for side in ("billingaddress", "deliveryaddress"):
            address = raw.get(side)
            if address is None:
                continue
            if not isinstance(address, dict):
                raise ApiError(400, "400.10", f"customer.{side}: expected an object")
            allowed = BILLING_INPUT if side == "billingaddress" else DELIVERY_INPUT
            if unknown := sorted(set(address) - allowed):
                raise ApiError(
                    400, "400.10", f"customer.{side}: unknown field(s) {', '.join(unknown)}"
                )
            number = address.get("housenumber")
            if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
                raise ApiError(
                    400,
                    "400.10",
                    f"customer.{side}.housenumber: an integer or null, got {number!r}",
                )
            country = address.get("country_code")
            if country not in (None, "") and not re.fullmatch(r"[A-Z]{2}", str(country)):
                raise ApiError(
                    400,
                    "400.10",
                    f"customer.{side}.country_code: not an ISO 3166-1 alpha-2 code: {country!r}",
                )
        return dict(raw)

    def create_order(
        self,
        body: Any,
        when: datetime,
        *,
        transaction_id_writable: bool,
        require_webshop_id: bool = False,
    ) -> dict[str, Any]:
        """Validate a ``POST orders`` body and store it; totals come from the rows."""
        if not isinstance(body, dict):
            raise ApiError(400, "400.10", "body must be a JSON object")
        allowed = ORDER_POST_FIELDS | (
            {"transaction_id"} if transaction_id_writable else frozenset()
        )
        if unknown := sorted(set(body) - allowed):
            raise ApiError(400, "400.10", f"unknown or read-only field(s): {', '.join(unknown)}")
        webshop = body.get("webshop_id")
        if webshop is None and require_webshop_id:
            raise ApiError(
                400, "400.10", "webshop_id: required (this is a multishop; see GET webshops)"
            )
        if webshop is not None and str(webshop) not in self.table("webshops"):
            raise ApiError(400, "400.10", f"webshop_id: webshop {webshop!r} not found")
        raw_rows = body.get("orderrows")
        if not isinstance(raw_rows, list) or not raw_rows:
            raise ApiError(400, "400.10", "orderrows: at least one row is required")
        rows = [self._row(i, r) for i, r in enumerate(raw_rows)]
        customer = self._customer(body.get("customer"))
        status = body.get("status", 1)
        if not isinstance(status, int) or isinstance(status, bool) or not 1 <= status <= 14:
            raise ApiError(400, "400.10", f"status: an integer 1..14, got {status!r}")
        for key in ("reservationnumber", "transaction_id"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ApiError(400, "400.10", f"{key}: expected text")
        incl = body.get("order_row_taxes_included", False) is True
        net = tax_total = Decimal(0)
        for row in rows:
            amount = Decimal(str(row["total_price"]))
            rate = Decimal(str(row["tax"])) / 100
            tax = amount - amount / (1 + rate) if incl else amount * rate
            net += amount
            tax_total += tax
        rows_incl = net if incl else net + tax_total
        shipping = _dec(body.get("total_shipping", 0), "total_shipping", minimum=Decimal(0))
        ship_rate = max((Decimal(str(r["tax"])) for r in rows), default=Decimal(0)) / 100
        ship_incl = shipping if body.get("shipping_taxes_included") else shipping * (1 + ship_rate)
        extra = _dec(body.get("extra_costs", 0), "extra_costs")
        counters = self.data["next"]
        oid, number = counters["order"], counters["ordernumber"]
        counters["order"] += 1
        counters["ordernumber"] += 1
        user = body.get("user_id")
        if user is not None and (not isinstance(user, int) or isinstance(user, bool)):
            raise ApiError(400, "400.10", f"user_id: an integer, got {user!r}")
        top_rate = max((Decimal(str(r["tax"])) for r in rows), default=Decimal(0))
        order = {
            **ORDER_DEFAULTS,
            "id": oid,
            "ordernumber_prefix": None,
            "ordernumber": number,
            "ordernumber_full": str(number),
            "invoicenumber": body.get("invoicenumber"),
            "transaction_id": body.get("transaction_id") if transaction_id_writable else None,
            "create_date": _iso(when),
            "deliver_method": str(body.get("deliver_method") or "shipping"),
            "deliver_date": body.get("deliver_date"),
            "is_platform_sale": body.get("is_platform_sale") is True,
            "orderedinlng": str(body.get("orderedinlng") or "nl"),
            "status": status,
            "is_completed": body.get("is_completed", True) is not False,
            "paid": body.get("paid") is True,
            "paymethod": str(body.get("paymethod") or ""),
            "paymethod_id": PAYMETHODS.get(str(body.get("paymethod") or "").lower(), (0, ""))[0],
            "taxes_included": body.get("taxes_included", True) is not False,
            "order_row_taxes_included": incl,
            "shipping_taxes_included": body.get("shipping_taxes_included") is True,
            "shipping_tax_percentage": float(top_rate),
            "is_intra_community_order": body.get("is_intra_community_order") is True,
            "total_orderrow_price": _money(net),
            "total_shipping": _money(shipping),
            "total_discounts": _money(sum((Decimal(str(r["discount"])) for r in rows), Decimal(0))),
            "total_price": _money(rows_incl + ship_incl + extra),
            "currency": str(body.get("currency") or self.currency()),
            "total_tax": _money(tax_total + ship_incl - shipping),
            "total_weight": float(
                sum(
                    (Decimal(str(r["weight"])) * Decimal(str(r["count"])) for r in rows), Decimal(0)
                )
            ),
            "paymethod_costs": _money(_dec(body.get("paymethod_costs", 0), "paymethod_costs")),
            "extra_costs": _money(extra),
            "extra_costs_description": str(body.get("extra_costs_description") or ""),
            "track_and_trace_code": str(body.get("track_and_trace_code") or ""),
            "track_and_trace_carrier": body.get("track_and_trace_carrier") or None,
            "reservationnumber": str(body.get("reservationnumber") or ""),
            "customer": customer,
            "user_id": user,
            "webshop_id": int(webshop) if webshop is not None else WEBSHOP_ID,
        }
        self.table("orders")[str(oid)] = order
        for row in rows:
            rid = counters["orderrow"]
            counters["orderrow"] += 1
            self.table("orderrows")[str(rid)] = {"id": rid, "order_id": oid, **row}
        return order

    def patch(self, name: str, item: str, body: Any, allowed: frozenset[str]) -> None:
        row = self.one(name, item)
        if not isinstance(body, dict) or not body:
            raise ApiError(400, "400.10", "body must be a non-empty JSON object")
        if unknown := sorted(set(body) - allowed):
            raise ApiError(
                400,
                "400.10",
                f"read-only or unknown field(s): {', '.join(unknown)}"
                f"; writable: {', '.join(sorted(allowed))}",
            )
        if "status" in body and (
            not isinstance(body["status"], int)
            or isinstance(body["status"], bool)
            or not 1 <= body["status"] <= 14
        ):
            raise ApiError(400, "400.10", f"status: an integer 1..14, got {body['status']!r}")
        if "stock" in body:
            _dec(body["stock"], "stock")
        if name == "orders" and "status" in body:
            row["previous_status"] = row.get("status")  # what the status webhook reports
        row.update(body)


# --- query helpers ---------------------------------------------------------------------------


def _int_param(q: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = q.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "400.10", f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ApiError(400, "400.10", f"{name}: must be at least {minimum}")
    return value


def _when(raw: str, name: str) -> datetime:
    """A date filter: ISO 8601 (``Z`` or an offset; none is UTC) or a plain date [U]."""
    try:
        parsed = datetime.fromisoformat(raw.strip().replace(" ", "T"))
    except ValueError:
        raise ApiError(400, "400.10", f"{name}: expected an ISO 8601 date, got {raw!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flag(raw: str, name: str) -> bool:
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false"):
        return False
    raise ApiError(400, "400.10", f"{name}: expected true or false, got {raw!r}")


def _sorted(rows: list[dict[str, Any]], resource: str, orderby: str | None) -> list[dict[str, Any]]:
    field, desc = (orderby or "id"), False
    if field.endswith("_desc"):
        field, desc = field[: -len("_desc")], True
    allowed = SORTABLE.get(resource, ("id",))
    if field not in allowed:
        raise ApiError(
            400,
            "400.10",
            f"orderby: cannot sort {resource} by {field!r}; sortable: {', '.join(allowed)}",
        )
    return sorted(
        rows, key=lambda r: (r.get(field) is None, r.get(field) or 0, r["id"]), reverse=desc
    )


def _expand(q: dict[str, str], resource: str) -> set[str]:
    wanted = {e.strip() for e in q.get("expand", "").split(",") if e.strip()}
    allowed = EXPANDABLE.get(resource, ())
    if bad := sorted(wanted - set(allowed)):
        raise ApiError(
            400,
            "400.10",
            f"expand: {', '.join(bad)} cannot be expanded on "
            f"{resource}; expandable: {', '.join(allowed) or 'nothing'}",
        )
    return wanted


def _filter_orders(rows: list[dict[str, Any]], q: dict[str, str]) -> list[dict[str, Any]]:
    out = rows
    for name in ("ordernumber", "status", "paymethod_id"):
        if name in q:
            wanted = _int_param(q, name, 0, 0)
            out = [o for o in out if o.get(name) == wanted]
    if "is_paid" in q:
        paid = _flag(q["is_paid"], "is_paid")
        out = [o for o in out if bool(o.get("paid")) is paid]
    completed = _flag(q["is_completed"], "is_completed") if "is_completed" in q else True
    out = [o for o in out if bool(o.get("is_completed", True)) is completed]
    lo = _when(q["min_create_date"], "min_create_date") if "min_create_date" in q else None
    hi = _when(q["max_create_date"], "max_create_date") if "max_create_date" in q else None
    if lo or hi:
        kept = []
        for o in out:
            created = _when(str(o.get("create_date")), "create_date")
            if (lo is None or created >= lo) and (hi is None or created <= hi):
                kept.append(o)
        out = kept
    return out


# --- app -------------------------------------------------------------------------------------


def create_app(
    *,
    seed: str | None = "demo",
    state_file: Path | None = None,
    public_key: str = "demo-public",
    secret_key: str = "demo-secret",
    max_clock_skew_s: float = 300,
    limit_per_resource: int = 120,
    limit_total: int = 600,
    send_retry_after: bool = True,
    default_page_size: int = 25,
    max_page_size: int = 100,
    prices_include_tax: bool = False,
    transaction_id_writable: bool = False,
    require_webshop_id: bool = False,
    n_pos_orders: int = 12,
    currency: str = "EUR",
    max_payload_bytes: int = 1_000_000,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] | None = None,
) -> FastAPI:
    """A fresh sandbox; ``seed=None`` starts empty, ``state_file`` persists across restarts.

    ``clock`` drives the rate-limit windows and ``now`` the ``x-date`` checks and stamps
    (tests pass fakes). Every other option is a [U] point of the vendor's API.
    """
    app = FastAPI(title="CCV SalesPOS sandbox")
    controls = SandboxControls()
    state = JsonState(
        state_file,
        lambda: _seed(
            seed,
            prices_include_tax=prices_include_tax,
            n_pos_orders=n_pos_orders,
            currency=currency,
        ),
    )
    store = Store(state.data)
    windows = MinuteWindows(limit_per_resource, limit_total)
    tamper: deque[dict[str, Any]] = deque()
    tamper_lock = threading.Lock()
    utcnow = now or (lambda: datetime.now(UTC))

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def href(request: Request, path: str) -> str:
        return f"{base(request)}{PREFIX}/{path}"

    # --- rendering ---------------------------------------------------------------------

    def render_combination(request: Request, c: dict[str, Any]) -> dict[str, Any]:
        cid, pid = c["id"], c.get("product_id")
        out = {"href": href(request, f"attributecombinations/{cid}"), **c}
        out["combination"] = [
            {
                **e,
                "attribute": {
                    **e.get("attribute", {}),
                    "href": href(request, f"attributes/{e.get('attribute', {}).get('id')}"),
                },
                "attribute_value": {
                    **e.get("attribute_value", {}),
                    "href": href(
                        request, f"attributevalues/{e.get('attribute_value', {}).get('id')}"
                    ),
                },
            }
            if isinstance(e, dict)
            else e
            for e in c.get("combination") or []
        ]
        for rel in ("attributecombinationphotos", "attributes", "attributevalues"):
            out[rel] = {"href": href(request, f"attributecombinations/{cid}/{rel}")}
        out["parent"] = {"href": href(request, f"products/{pid}")}
        return out

    def render_link(request: Request, x: dict[str, Any]) -> dict[str, Any]:
        return {
            "href": href(request, f"producttocategories/{x['id']}"),
            **x,
            "product_href": href(request, f"products/{x.get('product_id')}"),
            "category_href": href(request, f"categories/{x.get('category_id')}"),
        }

    def render_category(request: Request, c: dict[str, Any]) -> dict[str, Any]:
        cid = c["id"]
        parent = c.get("parentcategory")
        return {
            "href": href(request, f"categories/{cid}"),
            **c,
            "deeplink": f"{base(request)}/{c.get('alias') or cid}/",
            "producttocategories": {"href": href(request, f"categories/{cid}/producttocategories")},
            "categories": {"href": href(request, f"categories/{cid}/categories")},
            "parentcategory": None
            if not isinstance(parent, dict)
            else {**parent, "href": href(request, f"categories/{parent.get('id')}")},
        }

    def render_webshop(request: Request, w: dict[str, Any]) -> dict[str, Any]:
        return {
            "href": href(request, f"webshops/{w['id']}"),
            **w,
            "api_root": f"{base(request)}{PREFIX}/",
        }

    def render_product(request: Request, p: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        pid = p["id"]
        out = {"href": href(request, f"products/{pid}"), **p}
        brand = p.get("brand")
        if isinstance(brand, dict) and "id" in brand:  # {href, id, name} [S]
            out["brand"] = {"href": href(request, f"brands/{brand['id']}"), **brand}
        out["attributecombinations"] = (
            [render_combination(request, c) for c in store.combinations_of(pid)]
            if "attributecombinations" in expand
            else {"href": href(request, f"products/{pid}/attributecombinations")}
        )
        out["producttocategories"] = (
            [render_link(request, x) for x in store.links_of(pid)]
            if "producttocategories" in expand
            else {"href": href(request, f"products/{pid}/producttocategories")}
        )
        return out

    def render_address(raw: Any, *, delivery: bool) -> dict[str, Any]:
        """An address as CCV answers it: every recorded key, empty ones ``""``/``null``;
        a full name (and an ``address_line_1``) built from the parts sent."""
        given = raw if isinstance(raw, dict) else {}
        out = {**BILLING_DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
        if not out["full_name"]:
            out["full_name"] = " ".join(p for p in (out["first_name"], out["last_name"]) if p)
        if out["street"] and not out["address_line_1"]:
            number = f"{out['housenumber'] or ''}{out['housenumber_suffix']}".strip()
            out["address_line_1"] = f"{out['street']} {number}".strip()
        code = out.get("country_code") or None
        out["country_code"] = code
        out["country"] = _COUNTRY_NAMES.get(str(code), str(code)) if code else ""
        return (
            {k: out[k] for k in DELIVERY_KEYS}
            if delivery
            else {
                **{k: out[k] for k in BILLING_DEFAULTS},
                **{k: v for k, v in out.items() if k not in BILLING_DEFAULTS},
            }
        )

    def render_customer(raw: Any) -> dict[str, Any]:
        given = raw if isinstance(raw, dict) else {}
        out: dict[str, Any] = {
            "billingaddress": render_address(given.get("billingaddress"), delivery=False),
            "deliveryaddress": render_address(
                given.get("deliveryaddress") or given.get("billingaddress"), delivery=True
            ),
        }
        out.update(CUSTOMER_DEFAULTS)
        out.update(
            {
                k: v
                for k, v in given.items()
                if k not in ("billingaddress", "deliveryaddress") and v is not None
            }
        )
        return out

    def render_order(request: Request, o: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        oid = o["id"]
        stored = {k: v for k, v in o.items() if k not in ("user_id", "previous_status")}
        out: dict[str, Any] = {"href": href(request, f"orders/{oid}/"), **ORDER_DEFAULTS, **stored}
        user = o.get("user_id")
        out["user"] = {
            "id": None if user is None else str(user),
            "discount_percentage": 0,
            "href": None if user is None else href(request, f"users/{user}"),
        }
        out["customer"] = render_customer(o.get("customer"))
        out["packing_slip_deeplink"] = (
            f"{base(request)}/onderhoud/AdminItems/StandaloneObjects/PackingSlip.php?OrderId={oid}"
        )
        for rel in ORDER_LINKS:
            out[rel] = {"href": href(request, f"orders/{oid}/{rel}/")}
        if "orderrows" in expand:
            out["orderrows"] = [render_row(request, r) for r in store.rows_of(oid)]
        return out

    def render_row(request: Request, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "href": href(request, f"orderrows/{r['id']}/"),
            **r,
            "product_href": href(request, f"products/{r.get('product_id')}"),
            "parent": {"href": href(request, f"orders/{r.get('order_id')}")},
        }

    def webhook(request: Request, kind: str, o: dict[str, Any]) -> dict[str, Any]:
        """The body CCV posts to an app's order webhook [V: three recorded kinds]; note
        ``order_number`` where the REST API says ``ordernumber``."""
        view = render_order(request, o, set())
        body: dict[str, Any] = {
            "triggered_at": _iso(utcnow()),
            "href": href(request, f"orders/{o['id']}"),
            "id": o["id"],
            "order_number": view["ordernumber"],
            "ordernumber_prefix": view["ordernumber_prefix"],
            "ordernumber_full": view["ordernumber_full"],
            "total_price": view["total_price"],
        }
        for name in WEBHOOK_FIELDS[kind]:
            body[name] = (
                o.get("previous_status", view["status"])
                if name == "previous_status"
                else view[name]
            )
        body["customer_email"] = view["customer"]["email"]
        body["customer_mobile"] = view["customer"]["billingaddress"]["mobile"]
        return body

    def collection(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
        q = dict(request.query_params)
        start = _int_param(q, "start", 0, 0)
        size = min(_int_param(q, "size", default_page_size, 1), max_page_size)
        path = request.url.path

        def link(at: int) -> str:
            return f"{base(request)}{path}?{urlencode({**q, 'start': at, 'size': size})}"

        return {
            "href": link(start),
            "start": start,
            "size": size,
            "first": link(0),
            "previous": link(max(0, start - size)) if start > 0 else None,
            "next": link(start + size) if start + size < len(rows) else None,
            "items": rows[start : start + size],
        }

    # --- dispatch ----------------------------------------------------------------------

    async def dispatch(request: Request, segments: list[str]) -> Response:
        method = request.method
        q = dict(request.query_params)
        resource = segments[0]
        if resource not in RESOURCES:
            raise ApiError(404, "404.20", f"resource {resource!r} does not exist")
        if len(segments) > 3 or (len(segments) > 1 and not segments[1].isdigit()):
            raise ApiError(404, "404.20", f"resource {'/'.join(segments)!r} does not exist")
        item = segments[1] if len(segments) > 1 else None
        sub = segments[2] if len(segments) > 2 else None
        route = (resource, item is not None, sub)

        async def body() -> Any:
            try:
                return json.loads(await request.body() or b"null")
            except ValueError:
                raise ApiError(400, "400.10", "body is not JSON") from None

        with state.lock:
            if method == "GET":
                if route == ("webshops", False, None):
                    rows = [
                        render_webshop(request, w)
                        for w in _sorted(
                            list(store.table("webshops").values()), "webshops", q.get("orderby")
                        )
                    ]
                    return JSONResponse(collection(request, rows))
                if route == ("webshops", True, "settings"):
                    store.one("webshops", str(item))
                    settings = store.table("settings").get(str(item)) or {}
                    return JSONResponse(
                        {
                            "href": href(request, f"webshops/{item}/settings"),
                            **settings,
                            "parent": {"href": href(request, f"webshops/{item}")},
                        }
                    )
                if route == ("categories", False, None):
                    rows = [
                        render_category(request, c)
                        for c in _sorted(
                            list(store.table("categories").values()), "categories", q.get("orderby")
                        )
                    ]
                    return JSONResponse(collection(request, rows))
                if route == ("products", False, None):
                    expand = _expand(q, "products")
                    rows = list(store.table("products").values())
                    for name in ("productnumber", "eannumber"):
                        if name in q:
                            rows = [p for p in rows if str(p.get(name)) == q[name]]
                    rows = _sorted(rows, "products", q.get("orderby"))
                    page = collection(request, rows)
                    page["items"] = [render_product(request, p, expand) for p in page["items"]]
                    return JSONResponse(page)
                if route == ("products", True, "attributecombinations"):
                    store.one("products", str(item))
                    rows = [
                        render_combination(request, c)
                        for c in store.combinations_of(int(str(item)))
                    ]
                    return JSONResponse(collection(request, rows))
                if route == ("products", True, "producttocategories"):
                    store.one("products", str(item))
                    return JSONResponse(
                        collection(
                            request,
                            [render_link(request, x) for x in store.links_of(int(str(item)))],
                        )
                    )
                if route == ("orders", False, None):
                    expand = _expand(q, "orders")
                    rows = _sorted(
                        _filter_orders(list(store.table("orders").values()), q),
                        "orders",
                        q.get("orderby"),
                    )
                    page = collection(request, rows)
                    page["items"] = [render_order(request, o, expand) for o in page["items"]]
                    return JSONResponse(page)
                if route == ("orders", True, "orderrows"):
                    store.one("orders", str(item))
                    return JSONResponse(
                        collection(
                            request, [render_row(request, r) for r in store.rows_of(int(str(item)))]
                        )
                    )
                if item is not None and sub is None:
                    record = store.one(resource, item)
                    if resource == "products":
                        return JSONResponse(render_product(request, record, _expand(q, "products")))
                    if resource == "orders":
                        return JSONResponse(render_order(request, record, _expand(q, "orders")))
                    render = {
                        "categories": render_category,
                        "webshops": render_webshop,
                        "attributecombinations": render_combination,
                        "producttocategories": render_link,
                        "orderrows": render_row,
                    }.get(resource)
                    if render is not None:
                        return JSONResponse(render(request, record))
                    return JSONResponse({**record, "href": href(request, f"{resource}/{item}")})
            if method == "POST" and route == ("orders", False, None):
                order = store.create_order(
                    await body(),
                    utcnow(),
                    transaction_id_writable=transaction_id_writable,
                    require_webshop_id=require_webshop_id,
                )
                state.save()
                controls.count("writes")
                return JSONResponse(render_order(request, order, set()), status_code=201)
            if method == "PATCH" and route in (
                ("orders", True, None),
                ("attributecombinations", True, None),
            ):
                allowed = ORDER_PATCH_FIELDS if resource == "orders" else COMBINATION_PATCH_FIELDS
                store.patch(resource, str(item), await body(), allowed)
                state.save()
                controls.count("writes")
                return Response(status_code=204)
        raise ApiError(405, "405.10", f"{method} is not allowed on {'/'.join(segments)}")

    @app.api_route(PREFIX + "/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def api(path: str, request: Request) -> Response:
        segments = [s for s in path.split("/") if s]
        if not segments:
            return ApiError(404, "404.20", "name a resource").response()
        try:
            return await dispatch(request, segments)
        except ApiError as err:
            return err.response()

    # --- controls ------------------------------------------------------------------------

    @app.get(f"{CONTROL_PREFIX}/webhooks/{{kind}}/{{order_id}}")
    def webhook_body(kind: str, order_id: int, request: Request) -> dict[str, Any]:
        """The body CCV would post to an app's order webhook of ``kind``
        (``status_changed``, ``track_and_trace``, ``is_paid``) for this order now."""
        if kind not in WEBHOOK_FIELDS:
            raise HTTPException(404, f"kind: one of {', '.join(WEBHOOK_FIELDS)}")
        with state.lock:
            order = store.table("orders").get(str(order_id))
            if order is None:
                raise HTTPException(404, f"order {order_id} not found")
            return webhook(request, kind, order)

    @app.get(f"{CONTROL_PREFIX}/orders")
    def list_orders() -> list[dict[str, Any]]:
        """Every order with its rows, in id order."""
        with state.lock:
            return [
                {**o, "orderrows": store.rows_of(o["id"])}
                for o in sorted(store.table("orders").values(), key=lambda o: o["id"])
            ]

    @app.post(f"{CONTROL_PREFIX}/orders")
    def insert_order(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert an order as given, unvalidated (rows in ``orderrows``); ids and a
        ``create_date`` are filled in when absent."""
        with state.lock:
            counters = store.data["next"]
            rows = body.pop("orderrows", None) or []
            order = {"is_completed": True, "create_date": _iso(utcnow()), **body}
            order.setdefault("id", counters["order"])
            counters["order"] = max(counters["order"], int(order["id"])) + 1
            store.table("orders")[str(order["id"])] = order
            for row in rows:
                rid = counters["orderrow"]
                counters["orderrow"] += 1
                store.table("orderrows")[str(rid)] = {"id": rid, **row, "order_id": order["id"]}
            state.save()
            return {**order, "orderrows": store.rows_of(int(order["id"]))}

    @app.get(f"{CONTROL_PREFIX}/products")
    def list_products() -> list[dict[str, Any]]:
        """Every product with its combinations and its category ids."""
        with state.lock:
            return [
                {
                    **p,
                    "attributecombinations": store.combinations_of(p["id"]),
                    "category_ids": [x["category_id"] for x in store.links_of(p["id"])],
                }
                for p in sorted(store.table("products").values(), key=lambda p: p["id"])
            ]

    @app.post(f"{CONTROL_PREFIX}/products")
    def upsert_product(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert or merge a product as given, unvalidated (tests make bad records with it).

        ``attributecombinations`` (a list) replaces its combinations, ``category_ids`` its
        category links; ``modifydate`` is now unless given.
        """
        with state.lock:
            combos = body.pop("attributecombinations", None)
            categories = body.pop("category_ids", None)
            products = store.table("products")
            pid = body.get("id") or max((int(k) for k in products), default=9000) + 1
            merged = {**products.get(str(pid), {}), **body, "id": pid}
            merged.setdefault("modifydate", _iso(utcnow()))
            if "modifydate" not in body:
                merged["modifydate"] = _iso(utcnow())
            products[str(pid)] = merged
            if combos is not None:
                table = store.table("attributecombinations")
                for c in store.combinations_of(pid):
                    table.pop(str(c["id"]), None)
                for c in combos:
                    cid = c.get("id") or max((int(k) for k in table), default=90000) + 1
                    table[str(cid)] = {**c, "id": cid, "product_id": pid}
            if categories is not None:
                links = store.table("producttocategories")
                for x in store.links_of(pid):
                    links.pop(str(x["id"]), None)
                for cid in categories:
                    link = store.data["next"]["link"]
                    store.data["next"]["link"] += 1
                    links[str(link)] = {
                        "id": link,
                        "product_id": pid,
                        "category_id": cid,
                        "position": link,
                    }
            state.save()
            return {**merged, "attributecombinations": store.combinations_of(pid)}

    @app.post(f"{CONTROL_PREFIX}/tamper")
    def add_tamper(body: dict[str, Any] = Body(...)) -> dict[str, int]:  # noqa: B008
        """Alter the next ``times`` API responses whose path contains ``path_contains``
        *after* signing them (a man in the middle)."""
        with tamper_lock:
            tamper.append(
                {
                    "times": int(body.get("times", 1)),
                    "path_contains": str(body.get("path_contains", "")),
                }
            )
            return {"queued": len(tamper)}

    @app.delete(f"{CONTROL_PREFIX}/tamper")
    def clear_tamper() -> dict[str, int]:
        with tamper_lock:
            tamper.clear()
        return {"queued": 0}

    # --- middleware: innermost first ---------------------------------------------------

    def refuse(
        status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        controls.count("rejected_401" if status == 401 else "rejected_429")
        return ApiError(status, code, message, headers).response()

    @app.middleware("http")
    async def vendor_gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The signature checks, then the rate limits, then the route."""
        if not request.url.path.startswith(PREFIX + "/"):
            return await call_next(request)
        public = request.headers.get(PUBLIC_HEADER)
        date = request.headers.get(DATE_HEADER)
        given = request.headers.get(HASH_HEADER)
        if not (public and date and given):
            return refuse(
                401,
                "401.10",
                f"missing header(s): every request needs "
                f"{PUBLIC_HEADER}, {DATE_HEADER} and {HASH_HEADER}",
            )
        if public != public_key:
            return refuse(401, "401.11", f"unknown public key {public[:40]!r}")
        try:
            sent = parse_stamp(date)
        except ValueError:
            return refuse(
                401,
                "401.12",
                f"{DATE_HEADER} {date[:40]!r} is not an ISO 8601 time with a UTC offset",
            )
        skew = abs((utcnow() - sent).total_seconds())
        if skew > max_clock_skew_s:
            return refuse(
                401,
                "401.12",
                f"{DATE_HEADER} {date} is {skew:.0f}s away from the "
                f"server's clock (at most {max_clock_skew_s:g}s): sync the clock",
            )
        raw = await request.body()
        uri = request.scope["raw_path"].decode("latin-1")
        if request.scope.get("query_string"):
            uri += "?" + request.scope["query_string"].decode("latin-1")
        expected = sign(secret_key, public, request.method, uri, raw, date)
        if not matches(expected, given):
            return refuse(
                401,
                "401.13",
                f"{HASH_HEADER} does not match: expected the hex "
                "HMAC-SHA512 of public|METHOD|uri|body|x-date over the exact path, "
                "query and body sent, keyed with the secret",
            )
        if len(raw) > max_payload_bytes:
            return ApiError(
                500,
                "500.80",
                f"Requested payload to big: {len(raw)} bytes (at most {max_payload_bytes})",
            ).response()
        key = (resource_of(request.url.path, PREFIX), request.method.upper())
        refusal = windows.refusal(key, clock())
        if refusal is not None:
            code, wait = refusal
            which = "per resource and method" if code == "429.10" else "in total"
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if send_retry_after else {}
            limit = limit_per_resource if code == "429.10" else limit_total
            return refuse(
                429,
                code,
                f"rate limit of {limit} requests per minute {which} reached ({key[1]} {key[0]})",
                headers,
            )
        windows.record(key, clock())
        return await call_next(request)

    install_controls(app, controls, _fault_body)

    @app.middleware("http")
    async def sign_responses(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Outermost: sign every API response (faults and refusals too), then tamper."""
        response = await call_next(request)
        path = request.url.path
        if not path.startswith(PREFIX + "/"):
            return response
        chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
        content = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        if request.headers.get(PUBLIC_HEADER) == public_key:
            uri = request.scope["raw_path"].decode("latin-1")
            if request.scope.get("query_string"):
                uri += "?" + request.scope["query_string"].decode("latin-1")
            date = stamp(utcnow())
            headers[DATE_HEADER] = date
            headers[HASH_HEADER] = sign(secret_key, public_key, request.method, uri, content, date)
        with tamper_lock:
            hit = next((t for t in tamper if t["path_contains"] in path), None)
            if hit is not None:
                hit["times"] -= 1
                if hit["times"] <= 0:
                    tamper.remove(hit)
        if hit is not None:
            content = (
                content[:-1] + b',"tampered":true}' if content.endswith(b"}") else content + b" "
            )
        return Response(content=content, status_code=response.status_code, headers=headers)

    return app
