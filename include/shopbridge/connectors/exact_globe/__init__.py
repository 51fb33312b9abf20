"""Exact Globe (Globe Next / Globe+, on-premise ERP) as an order, product and stock target
and as an order source (orders entered in the ERP go to the webshop).

Interface: the **REST Entity service** (OData v2 over Globe's entity services,
``http://{server}:{port}/services/Exact.Entity.REST.EG/{Entity}``), not the eExact XML
import. Why: a realtime sync needs per-record answers. The REST service gives a
synchronous result per request (the new DebtorCode, the OrderNumber, or a
``ValidationError`` naming the problem), lookups by ``$filter`` before writing (skip orders
already imported, find debtors by e-mail, check item codes) and MERGE updates. The eExact
XML import is a batch file import whose results are read afterwards under Other import ->
Results, so it cannot answer "does this exist" before a write, nor tie a failure to a
record while the run is still going.

Layout: ``client`` (HTTP, auth, OData helpers), ``translate`` (pure canonical -> Globe),
``from_globe`` (pure Globe sales order -> canonical), ``catalogue`` (items, categories,
images, stock: ``ProductTarget``/``StockTarget``), ``target`` (the ``OrderTarget``, built
on the catalogue: one object for every flow), ``source`` (the ``OrderSource``),
``sandbox`` (FastAPI fake) and ``hook`` (Airflow). This
package imports neither ``hook`` (Airflow) nor ``sandbox`` (FastAPI), so clients stay light.

What is verified. No public recording of a Globe REST response exists (see
``tests/contracts/SOURCES.md, section exact_globe``); the contract tests run doc examples built from
Exact's own entity documentation (PU415 "List of properties"). Markers: [V] a documented
REST name read or written through a doc-example contract test (or, for the OData
envelope, an Exact Online recording); [S] seen in a client decoding live Globe answers
(omniboost/go-exactglobe-webservices); [U] unverified.

* Envelope [V]: ``{"d":{"results":[…],"__next"}}`` and ``{"d":[…]}``; ``/Date(ms)/``;
  ``null`` for empty text [S]; codes padded in char columns [S] (compared stripped).
  ``__count`` as text [U]; ``$orderby``/``$inlinecount`` honoured [U].
* Errors [S]: ``{"error":{"code","message":{"lang","value"},"innererror"}}``.
* ``SalesOrderHeader`` read [V]: ``SalesOrderNumber`` (key), ``SalesOrderDate``,
  ``OrderDebtor``, ``CurrencyCode``, ``PaymentCondition``, ``ShippingVia``,
  ``YourReference``, ``Completed``, ``TotalAmountExcludingVAT``/``TotalAmount``
  (read-only totals, also the write confirmation), ``OrderDebtor*``/``DeliveryDebtor*``.
  ``Modified`` (the source's window) [U]: NOT in the documentation.
* ``SalesOrderLine`` read [V]: ``Itemcode``, ``Quantity``, ``Price``, ``NetPrice``,
  ``DiscountPercentage``, ``VATCode``, ``LineNumber``, ``SalesOrderNumber``;
  answer echoes ``TransactionKey`` [S: portway reads ``d.TransactionKey``].
* ``VAT`` [V names, S types]: ``VATCode``, ``Percentage``; ``Calculationbasis`` "I" =
  inclusive [U].
* ``Account`` [V]: read and written as ``AccountName``, ``EmailAddress``,
  ``PhoneNumber``, ``VATNumber``, ``DebtorCode``, ``CurrencyCode``, ``Contact*``;
  ``Mailing*`` as the debtor's address [U]; ``CustomerType "C"``/``AccountStatus "A"``
  codes [U]; person vs company (no such field: no VAT nor CoC number = person) [U].
* ``Items`` lookups [V]: ``ItemCode`` (key), ``GTIN``, ``IsStockItem``. Writes [U]:
  ``Description`` (documented: ``Description0..4``), ``Assortment`` (documented as a
  Number; the code is ``AssortmentCode``), the ``ID`` guid used as MERGE key (the
  documented key is ``ItemCode``), ``ItemCategory``/``ItemImage``/``ItemWarehouse``.
* Order writes [U]: the line and header field names come from the pair's default mapping
  (``mapping/defaults.py``: ``OrderDate``, ``Currency``, ``DeliveryAddressLine1``…,
  ``VATPercentage``, ``DiscountAmount``, ``AmountDC``), none of which is in Exact's
  documentation; the sandbox accepts them as aliases of the documented names
  (``sandbox.ALIASES``) so the demo runs, and serves only the documented ones.
* ``Contact`` entity [U] (documented as ``ContactPerson``), ``$batch`` [U].

Exports import lazily (PEP 562): DAG parsing reads a connector's ``defaults`` without
loading its HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopbridge.connectors.exact_globe._batch import (
        ChangesetResult as ChangesetResult,
    )
    from shopbridge.connectors.exact_globe._batch import (
        Operation as Operation,
    )
    from shopbridge.connectors.exact_globe.catalogue import (
        ExactGlobeCatalogue as ExactGlobeCatalogue,
    )
    from shopbridge.connectors.exact_globe.catalogue import (
        category_code as category_code,
    )
    from shopbridge.connectors.exact_globe.client import (
        MAX_FILTER_VALUES as MAX_FILTER_VALUES,
    )
    from shopbridge.connectors.exact_globe.client import (
        SERVICE_PATH as SERVICE_PATH,
    )
    from shopbridge.connectors.exact_globe.client import (
        ExactGlobeClient as ExactGlobeClient,
    )
    from shopbridge.connectors.exact_globe.client import (
        ExactGlobeSettings as ExactGlobeSettings,
    )
    from shopbridge.connectors.exact_globe.client import (
        any_of as any_of,
    )
    from shopbridge.connectors.exact_globe.client import (
        make_auth as make_auth,
    )
    from shopbridge.connectors.exact_globe.client import (
        odata_quote as odata_quote,
    )
    from shopbridge.connectors.exact_globe.from_globe import (
        order_from_globe as order_from_globe,
    )
    from shopbridge.connectors.exact_globe.source import (
        ExactGlobeSource as ExactGlobeSource,
    )
    from shopbridge.connectors.exact_globe.target import (
        ExactGlobeTarget as ExactGlobeTarget,
    )
    from shopbridge.connectors.exact_globe.translate import (
        account_from_customer as account_from_customer,
    )
    from shopbridge.connectors.exact_globe.translate import (
        contact_from_customer as contact_from_customer,
    )
    from shopbridge.connectors.exact_globe.translate import (
        order_header as order_header,
    )
    from shopbridge.connectors.exact_globe.translate import (
        order_lines as order_lines,
    )
    from shopbridge.connectors.exact_globe.translate import (
        transaction_key as transaction_key,
    )

#: exported name -> the module defining it
_EXPORTS: dict[str, str] = {
    "ChangesetResult": "shopbridge.connectors.exact_globe._batch",
    "ExactGlobeCatalogue": "shopbridge.connectors.exact_globe.catalogue",
    "ExactGlobeClient": "shopbridge.connectors.exact_globe.client",
    "ExactGlobeSettings": "shopbridge.connectors.exact_globe.client",
    "ExactGlobeSource": "shopbridge.connectors.exact_globe.source",
    "ExactGlobeTarget": "shopbridge.connectors.exact_globe.target",
    "MAX_FILTER_VALUES": "shopbridge.connectors.exact_globe.client",
    "Operation": "shopbridge.connectors.exact_globe._batch",
    "SERVICE_PATH": "shopbridge.connectors.exact_globe.client",
    "account_from_customer": "shopbridge.connectors.exact_globe.translate",
    "any_of": "shopbridge.connectors.exact_globe.client",
    "category_code": "shopbridge.connectors.exact_globe.catalogue",
    "contact_from_customer": "shopbridge.connectors.exact_globe.translate",
    "make_auth": "shopbridge.connectors.exact_globe.client",
    "odata_quote": "shopbridge.connectors.exact_globe.client",
    "order_from_globe": "shopbridge.connectors.exact_globe.from_globe",
    "order_header": "shopbridge.connectors.exact_globe.translate",
    "order_lines": "shopbridge.connectors.exact_globe.translate",
    "transaction_key": "shopbridge.connectors.exact_globe.translate",
}

__all__ = [
    "MAX_FILTER_VALUES",
    "SERVICE_PATH",
    "ChangesetResult",
    "ExactGlobeCatalogue",
    "ExactGlobeClient",
    "ExactGlobeSettings",
    "ExactGlobeSource",
    "ExactGlobeTarget",
    "Operation",
    "account_from_customer",
    "any_of",
    "category_code",
    "contact_from_customer",
    "make_auth",
    "odata_quote",
    "order_from_globe",
    "order_header",
    "order_lines",
    "transaction_key",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
