"""Fortnox (Swedish cloud ERP/accounting, REST v3) as a source of orders, products and stock.

Layout: ``client`` (HTTP, OAuth refresh-token auth, self-pacing to 25 requests per 5 s,
``MetaInformation`` paging), ``translate`` (pure Fortnox -> canonical), ``source`` (the
``OrderSource``/``ProductSource``/``StockSource`` in one object), ``sandbox`` (FastAPI fake)
and ``hook`` (Airflow). This package imports neither ``hook`` (Airflow) nor ``sandbox``
(FastAPI), so clients stay light (STYLE R1).

Fields the project relies on, **[V]** verified by a response recorded from the live API
(``tests/contracts/fortnox/``, sources in ``tests/contracts/SOURCES.md``) or **[U]** unverified (API
descriptions, SDK types); :mod:`.translate` explains how each is read:

* envelopes ``{"Order": {...}}``, ``{"Orders": [...], "MetaInformation": {"@TotalResources",
  "@TotalPages", "@CurrentPage"}}`` [V], ``@TotalPages 0`` for an empty list [V]; list rows
  are subsets (no ``OrderRows``; articles without ``Active``/``StockGoods``) [V];
* order: ``DocumentNumber`` (string) [V], ``OrderDate`` [V], ``Currency`` [V], ``Total``,
  ``TotalVAT``, ``Freight``, ``FreightVAT``, ``RoundOff``, ``AdministrationFee`` (numbers)
  [V; RoundOff inside Total: U], ``VATIncluded`` [V false; true: U], ``Cancelled``,
  ``InvoiceReference`` (``"0"``; a number 0 in 2020), ``NotCompleted``, ``DeliveryState``
  (``"delivery"`` on a new order), ``WarehouseReady``, ``Sent`` [V], its own address and
  ``EmailInformation.EmailAddressTo`` [V], ``YourReference``, ``WayOfDelivery``,
  ``TermsOfPayment`` [V];
* order row: ``ArticleNumber`` [V], ``OrderedQuantity``/``DeliveredQuantity`` as strings
  [V], ``Price`` [V], ``VAT`` (percent) [V], ``Discount`` + ``DiscountType`` ``PERCENT``
  [V] / ``AMOUNT`` [U], ``Description`` [V]; a text row's shape [U];
* customer: ``CustomerNumber``, ``Type`` (``COMPANY`` default) [V], ``Name`` [V], ``Email``
  (``""``) [V], ``CountryCode``/``Country``/``Address1``/``ZipCode``/``City``/``Phone1``
  (``null``) [V], ``VATNumber`` [V ""], ``PRIVATE`` customers [U];
* country names on documents: ``"Sverige"`` and English ISO names [V];
* article: ``ArticleNumber``, ``Description``, ``EAN``, ``SalesPrice`` (``null``) [V],
  ``VAT``, ``Active``, ``WebshopArticle``, ``StockGoods``, ``QuantityInStock`` and
  ``ReservedQuantity`` (strings on list rows) [V], ``Manufacturer`` (``null``) [V];
  ``SalesPrice`` excl. VAT [U];
* errors: ``ErrorInformation`` with ``Error/Message/Code`` (404) or ``error/message/code``
  (400) [V], ``{"message": "unauthorized"}`` (401) [V], a 429's body [U]; the token
  endpoint's answer and ``invalid_grant``/``invalid_client`` refusals [V];
* warehouse stock balances and stock points [U] (no public recording); refresh-token
  single use [U]; ``lastmodified`` in Swedish time [U].

Exports import lazily (PEP 562): DAG parsing reads a connector's ``defaults`` without
loading its HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopbridge.connectors.fortnox.client import (
        DEFAULT_AUTH_URL as DEFAULT_AUTH_URL,
    )
    from shopbridge.connectors.fortnox.client import (
        DEFAULT_BASE_URL as DEFAULT_BASE_URL,
    )
    from shopbridge.connectors.fortnox.client import (
        RATE_LIMIT_REQUESTS as RATE_LIMIT_REQUESTS,
    )
    from shopbridge.connectors.fortnox.client import (
        RATE_LIMIT_WINDOW_S as RATE_LIMIT_WINDOW_S,
    )
    from shopbridge.connectors.fortnox.client import (
        FortnoxAuth as FortnoxAuth,
    )
    from shopbridge.connectors.fortnox.client import (
        FortnoxClient as FortnoxClient,
    )
    from shopbridge.connectors.fortnox.client import (
        FortnoxSettings as FortnoxSettings,
    )
    from shopbridge.connectors.fortnox.client import (
        MemoryTokenStore as MemoryTokenStore,
    )
    from shopbridge.connectors.fortnox.client import (
        MetaPages as MetaPages,
    )
    from shopbridge.connectors.fortnox.client import (
        RefreshTokenRejected as RefreshTokenRejected,
    )
    from shopbridge.connectors.fortnox.client import (
        SlidingWindow as SlidingWindow,
    )
    from shopbridge.connectors.fortnox.client import (
        TokenStore as TokenStore,
    )
    from shopbridge.connectors.fortnox.client import (
        lastmodified as lastmodified,
    )
    from shopbridge.connectors.fortnox.source import (
        FortnoxSource as FortnoxSource,
    )
    from shopbridge.connectors.fortnox.translate import (
        order_from_fortnox as order_from_fortnox,
    )
    from shopbridge.connectors.fortnox.translate import (
        order_id as order_id,
    )
    from shopbridge.connectors.fortnox.translate import (
        product_from_fortnox as product_from_fortnox,
    )
    from shopbridge.connectors.fortnox.translate import (
        split_street as split_street,
    )
    from shopbridge.connectors.fortnox.translate import (
        stock_from_fortnox as stock_from_fortnox,
    )

#: exported name -> the module defining it
_EXPORTS: dict[str, str] = {
    "DEFAULT_AUTH_URL": "shopbridge.connectors.fortnox.client",
    "DEFAULT_BASE_URL": "shopbridge.connectors.fortnox.client",
    "FortnoxAuth": "shopbridge.connectors.fortnox.client",
    "FortnoxClient": "shopbridge.connectors.fortnox.client",
    "FortnoxSettings": "shopbridge.connectors.fortnox.client",
    "FortnoxSource": "shopbridge.connectors.fortnox.source",
    "MemoryTokenStore": "shopbridge.connectors.fortnox.client",
    "MetaPages": "shopbridge.connectors.fortnox.client",
    "RATE_LIMIT_REQUESTS": "shopbridge.connectors.fortnox.client",
    "RATE_LIMIT_WINDOW_S": "shopbridge.connectors.fortnox.client",
    "RefreshTokenRejected": "shopbridge.connectors.fortnox.client",
    "SlidingWindow": "shopbridge.connectors.fortnox.client",
    "TokenStore": "shopbridge.connectors.fortnox.client",
    "lastmodified": "shopbridge.connectors.fortnox.client",
    "order_from_fortnox": "shopbridge.connectors.fortnox.translate",
    "order_id": "shopbridge.connectors.fortnox.translate",
    "product_from_fortnox": "shopbridge.connectors.fortnox.translate",
    "split_street": "shopbridge.connectors.fortnox.translate",
    "stock_from_fortnox": "shopbridge.connectors.fortnox.translate",
}

__all__ = [
    "DEFAULT_AUTH_URL",
    "DEFAULT_BASE_URL",
    "RATE_LIMIT_REQUESTS",
    "RATE_LIMIT_WINDOW_S",
    "FortnoxAuth",
    "FortnoxClient",
    "FortnoxSettings",
    "FortnoxSource",
    "MemoryTokenStore",
    "MetaPages",
    "RefreshTokenRejected",
    "SlidingWindow",
    "TokenStore",
    "lastmodified",
    "order_from_fortnox",
    "order_id",
    "product_from_fortnox",
    "split_street",
    "stock_from_fortnox",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
