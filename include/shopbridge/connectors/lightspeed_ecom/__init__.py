"""Lightspeed eCom (C-Series): client, translation, source (orders, customers, products,
stock, shipments, checkouts) and target (orders, products, stock, shipments).

``hook`` (Airflow) and ``sandbox`` (FastAPI) are deliberately not imported here, so
importing the client pulls in neither (STYLE R1).

Exports import lazily (PEP 562): DAG parsing reads a connector's ``defaults`` without
loading its HTTP client.

Fields the project relies on: [V] verified by a payload in ``tests/contracts/
lightspeed_ecom`` (a recorded delivery, a trimmed live response or the vendor's documented
example; see ``tests/contracts/SOURCES.md``), [U] unverified. Details per field in
:mod:`.translate`.

* Envelopes: ``{"order": {...}}``, ``{"orders": [...]}``, ``{"orderProducts": [...]}``,
  ``{"shop": {...}}`` [V]; ``{"count": N}`` [U]; errors ``{"error": {"code", "message"}}``
  [V: SDK fixtures with the vendor's messages], ``method``/``request`` keys [U].
* Order: ``id``, ``number``, ``createdAt``, ``updatedAt``, ``status``, ``paymentStatus``,
  ``shipmentStatus``, ``priceExcl``/``priceIncl`` (order total), ``shipmentPriceExcl``/
  ``Incl``, ``shipmentTitle``, ``paymentTitle``, ``isDiscounted``, ``discountAmount``,
  ``discountCouponCode``, ``customer`` reference, ``addressBilling*``/``addressShipping*``
  (``""`` when never typed), ``customStatusId`` ``null`` [V]; ``customStatusId`` ``0`` [U];
  no ``currency`` [V] (``shop.json`` ``currency.shortcode`` [V]); ``paymentPriceExcl``
  (a fee) [V] but not bookable (no canonical field: the totals check quarantines it).
* Order line: ``quantityOrdered``, ``basePriceExcl``/``Incl`` (unit), ``priceExcl``/
  ``Incl`` (LINE TOTAL), ``discountExcl``/``Incl`` (line, in total), ``taxRate``,
  ``sku``/``articleCode``/``ean`` (``"sku": ""`` common), ``productTitle``,
  ``variantTitle`` (free text) [V].
* Variant: ``sku``/``articleCode``/``ean``, ``priceExcl`` (4 decimals), ``priceIncl``,
  ``stockTracking`` (``enabled``/``disabled``/``indicator``), ``stockLevel``, ``product``
  and ``tax`` references (``tax`` ``false`` when unset) [V]; ``title`` as ``"Name: value"``
  for matrix variants [U].
* Product: ``title``, ``fulltitle``, ``content``, ``description``, ``isVisible``,
  ``visibility``, ``brand`` (``false`` or a reference), ``data01``-``03`` [V]; the
  relations' embedded rows (filled by the source) [V shapes].
* Shipment: ``status``, ``trackingCode``, ``order`` reference, ``updatedAt`` [V];
  shipment products ``quantity``, ``sku``/``articleCode`` [V].
* Webhooks: enveloped body with ``embedded`` relations, ``\\/`` escapes [V]; a bare body
  [U, accepted]; ``X-Signature`` = md5(body + secret) [U: community thread].
* Rate limits: three windows in ``X-RateLimit-*`` headers [S]; plans differ (the
  documented account has 1000/12000/288000) [V].
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopbridge.connectors.lightspeed_ecom.catalogue_target import (
        LightspeedEcomCatalogue as LightspeedEcomCatalogue,
    )
    from shopbridge.connectors.lightspeed_ecom.client import (
        LightspeedEcomClient as LightspeedEcomClient,
    )
    from shopbridge.connectors.lightspeed_ecom.client import (
        LightspeedEcomSettings as LightspeedEcomSettings,
    )
    from shopbridge.connectors.lightspeed_ecom.client import (
        RateLimit as RateLimit,
    )
    from shopbridge.connectors.lightspeed_ecom.source import (
        LightspeedEcomSource as LightspeedEcomSource,
    )
    from shopbridge.connectors.lightspeed_ecom.source import (
        embed_products as embed_products,
    )
    from shopbridge.connectors.lightspeed_ecom.target import (
        LightspeedEcomTarget as LightspeedEcomTarget,
    )
    from shopbridge.connectors.lightspeed_ecom.target import (
        reference_from_comment as reference_from_comment,
    )
    from shopbridge.connectors.lightspeed_ecom.translate import (
        checkout_from_lightspeed as checkout_from_lightspeed,
    )
    from shopbridge.connectors.lightspeed_ecom.translate import (
        order_from_lightspeed as order_from_lightspeed,
    )
    from shopbridge.connectors.lightspeed_ecom.translate import (
        order_id as order_id,
    )
    from shopbridge.connectors.lightspeed_ecom.translate import (
        product_from_lightspeed as product_from_lightspeed,
    )
    from shopbridge.connectors.lightspeed_ecom.translate import (
        shipment_from_lightspeed as shipment_from_lightspeed,
    )
    from shopbridge.connectors.lightspeed_ecom.translate import (
        stock_from_lightspeed as stock_from_lightspeed,
    )

#: exported name -> the module defining it
_EXPORTS: dict[str, str] = {
    "LightspeedEcomCatalogue": "shopbridge.connectors.lightspeed_ecom.catalogue_target",
    "LightspeedEcomClient": "shopbridge.connectors.lightspeed_ecom.client",
    "LightspeedEcomSettings": "shopbridge.connectors.lightspeed_ecom.client",
    "LightspeedEcomSource": "shopbridge.connectors.lightspeed_ecom.source",
    "LightspeedEcomTarget": "shopbridge.connectors.lightspeed_ecom.target",
    "RateLimit": "shopbridge.connectors.lightspeed_ecom.client",
    "checkout_from_lightspeed": "shopbridge.connectors.lightspeed_ecom.translate",
    "embed_products": "shopbridge.connectors.lightspeed_ecom.source",
    "order_from_lightspeed": "shopbridge.connectors.lightspeed_ecom.translate",
    "order_id": "shopbridge.connectors.lightspeed_ecom.translate",
    "product_from_lightspeed": "shopbridge.connectors.lightspeed_ecom.translate",
    "reference_from_comment": "shopbridge.connectors.lightspeed_ecom.target",
    "shipment_from_lightspeed": "shopbridge.connectors.lightspeed_ecom.translate",
    "stock_from_lightspeed": "shopbridge.connectors.lightspeed_ecom.translate",
}

__all__ = [
    "LightspeedEcomCatalogue",
    "LightspeedEcomClient",
    "LightspeedEcomSettings",
    "LightspeedEcomSource",
    "LightspeedEcomTarget",
    "RateLimit",
    "checkout_from_lightspeed",
    "embed_products",
    "order_from_lightspeed",
    "order_id",
    "product_from_lightspeed",
    "reference_from_comment",
    "shipment_from_lightspeed",
    "stock_from_lightspeed",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
