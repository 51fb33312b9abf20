"""CCV SalesPOS (the CCV Shop REST API, ``/api/rest/v1/``): signed client, translation,
an order target (webshop orders go to the till) and a products and stock source.

Layout: ``_signing`` (the ``x-hash`` scheme, shared with the sandbox), ``_limiter`` (the
per-minute windows), ``client`` (signed, verified, paced HTTP), ``translate`` (pure CCV
JSON <-> canonical), ``source`` (``ProductSource`` + ``StockSource``), ``target``
(``OrderTarget``), ``defaults`` (default mappings), ``sandbox`` (FastAPI fake) and ``hook``
(Airflow). This package imports neither ``hook`` (Airflow) nor ``sandbox`` (FastAPI), so
clients stay light (STYLE R1).

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
