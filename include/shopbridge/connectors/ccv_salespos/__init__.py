"""CCV SalesPOS (the CCV Shop REST API, ``/api/rest/v1/``): signed client, translation,
an order target (webshop orders go to the till) and a products and stock source.

Layout: ``_signing`` (the ``x-hash`` scheme, shared with the sandbox), ``_limiter`` (the
per-minute windows), ``client`` (signed, verified, paced HTTP), ``translate`` (pure CCV
JSON <-> canonical), ``source`` (``ProductSource`` + ``StockSource``), ``target``
(``OrderTarget``), ``defaults`` (default mappings), ``sandbox`` (FastAPI fake) and ``hook``
(Airflow). This package imports neither ``hook`` (Airflow) nor ``sandbox`` (FastAPI), so
clients stay light (STYLE R1).

Fields the project relies on. [V] = seen in a recording in ``tests/contracts/ccv_salespos``
(a live shop's order, order row and webhooks); [S] = the vendor's JSON schema (as generated
into jacobdekeizer/ccvshop-client) or SDK; [U] = unverified.

* order [V]: ``id``, ``ordernumber`` (int), ``ordernumber_full``, ``reservationnumber``
  (``""`` when unset), ``transaction_id`` (``null``), ``total_price``,
  ``total_orderrow_price``, ``total_shipping``, ``currency``, ``taxes_included``,
  ``order_row_taxes_included``, ``shipping_taxes_included``, ``status`` (int 1..14:
  1 New, 2 In process, 3 Wait for manufacturer, 4 Wait for payment, 5 Sent, 6 Delivered,
  7 Completed, 8 Cancelled, 9 Wait for supplier, 10 Is being packaged, 11 Ready to be
  collected, 12 Is being assembled, 13 Backorder, 14 Reserved), ``paid``, ``is_completed``;
  ``orderrows`` is a link ``{"href"}`` [V], not embedded; ``customer.billingaddress`` has
  first/last/full name, ``customer.deliveryaddress`` ``full_name`` only [V]; an empty
  address has ``housenumber: null`` and ``country_code: null`` [V].
* order row [V]: ``product_id``, ``product_number``, ``sub_sku_number``,
  ``sub_ean_number`` (``""`` on a product without combinations), ``count``, ``price``
  (before the discount), ``discount``, ``tax``, ``total_price``, ``selling_price``,
  ``price_without_discount``, ``unit``, ``product_type``.
* webhook [V]: ``id``, ``order_number`` (not ``ordernumber``), ``total_price``, ``status``
  and ``previous_status``, ``paid``, ``customer_email``.
* product [S]: ``id``, ``productnumber``, ``eannumber``, ``name``, ``description``
  (``null`` allowed), ``price``, ``discount``, ``vatrate`` (deprecated), ``taxtariff``,
  ``stockenabled``/``stocktype``/``stock`` (each ``null`` allowed), ``stocklocation``,
  ``unit`` (``null`` allowed), ``brand`` (``{id, name}`` or ``null``), ``is_visible``,
  ``modifydate``.
* attribute combination [S]: ``id``, ``product_id``, ``stock``, ``netto_extra_price``,
  ``product_number``, ``ean_number``, ``sku_number``, ``active``, ``combination[]`` of
  ``{attribute{name}, attribute_value{name}, extra_price}``.
* category [S]: ``id``, ``name``, ``parentcategory`` (``{id, href}`` or ``null``);
  producttocategories [S]: ``product_id``, ``category_id``.
* shop settings [S]: ``currency`` and ``prices_include_vat`` (each ``null`` allowed).
* collections [S]: ``{"href","start","size","first","previous","next","items"}``, paged
  by ``next``; that ``start`` counts the rows before the page is [U] (checked, see
  ``client.NextLink``); an answer without ``items`` is the one resource [S: SDK].
* ``POST orders`` [S]: the body's ``customer.deliveryaddress`` takes ``full_name``, no
  first/last name; the answer is the order resource, sometimes empty [S: SDK comment].
* errors [S: SDK ``ExceptionFactory``]: ``{"code","status","developermessage"}``, codes
  ``404.20``, ``405.10``, ``429.10``/``429.11``, ``500.xx``, ``501.xx``; no 401 body is
  documented or recorded [U].
* webshop [V]: an order's ``user.id`` is text (``"24464274"``) where the schema says an
  integer; ``paymethod_id`` a number.
* ``stocktype`` values ``product``/``attributecombination`` [U]; ``taxtariff`` rates [U];
  how ``total_price`` adds shipping [U] (see ``translate.expected_total``).

Exports import lazily (PEP 562): DAG parsing reads a connector's ``defaults`` without
loading its HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopbridge.connectors.ccv_salespos._signing import (
        sign as sign,
    )
    from shopbridge.connectors.ccv_salespos._signing import (
        stamp as stamp,
    )
    from shopbridge.connectors.ccv_salespos.client import (
        API_PREFIX as API_PREFIX,
    )
    from shopbridge.connectors.ccv_salespos.client import (
        CcvHmacAuth as CcvHmacAuth,
    )
    from shopbridge.connectors.ccv_salespos.client import (
        CcvSalesposClient as CcvSalesposClient,
    )
    from shopbridge.connectors.ccv_salespos.client import (
        CcvSalesposSettings as CcvSalesposSettings,
    )
    from shopbridge.connectors.ccv_salespos.client import (
        NextLink as NextLink,
    )
    from shopbridge.connectors.ccv_salespos.source import (
        CcvSalesposSource as CcvSalesposSource,
    )
    from shopbridge.connectors.ccv_salespos.target import (
        CcvSalesposTarget as CcvSalesposTarget,
    )
    from shopbridge.connectors.ccv_salespos.translate import (
        ItemRef as ItemRef,
    )
    from shopbridge.connectors.ccv_salespos.translate import (
        customer_payload as customer_payload,
    )
    from shopbridge.connectors.ccv_salespos.translate import (
        order_payload as order_payload,
    )
    from shopbridge.connectors.ccv_salespos.translate import (
        product_from_ccv as product_from_ccv,
    )
    from shopbridge.connectors.ccv_salespos.translate import (
        stock_from_ccv as stock_from_ccv,
    )

#: exported name -> the module defining it
_EXPORTS: dict[str, str] = {
    "API_PREFIX": "shopbridge.connectors.ccv_salespos.client",
    "CcvHmacAuth": "shopbridge.connectors.ccv_salespos.client",
    "CcvSalesposClient": "shopbridge.connectors.ccv_salespos.client",
    "CcvSalesposSettings": "shopbridge.connectors.ccv_salespos.client",
    "CcvSalesposSource": "shopbridge.connectors.ccv_salespos.source",
    "CcvSalesposTarget": "shopbridge.connectors.ccv_salespos.target",
    "ItemRef": "shopbridge.connectors.ccv_salespos.translate",
    "NextLink": "shopbridge.connectors.ccv_salespos.client",
    "customer_payload": "shopbridge.connectors.ccv_salespos.translate",
    "order_payload": "shopbridge.connectors.ccv_salespos.translate",
    "product_from_ccv": "shopbridge.connectors.ccv_salespos.translate",
    "sign": "shopbridge.connectors.ccv_salespos._signing",
    "stamp": "shopbridge.connectors.ccv_salespos._signing",
    "stock_from_ccv": "shopbridge.connectors.ccv_salespos.translate",
}

__all__ = [
    "API_PREFIX",
    "CcvHmacAuth",
    "CcvSalesposClient",
    "CcvSalesposSettings",
    "CcvSalesposSource",
    "CcvSalesposTarget",
    "ItemRef",
    "NextLink",
    "customer_payload",
    "order_payload",
    "product_from_ccv",
    "sign",
    "stamp",
    "stock_from_ccv",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
