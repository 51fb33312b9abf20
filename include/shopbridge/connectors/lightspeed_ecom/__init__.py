"""Lightspeed eCom (C-Series): client, translation, order source and order target.

``hook`` (Airflow) and ``sandbox`` (FastAPI) are deliberately not imported here, so
importing the client pulls in neither (STYLE R1).
"""

from shopbridge.connectors.lightspeed_ecom.client import (
    LightspeedEcomClient,
    LightspeedEcomSettings,
    RateLimit,
)
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource, embed_products
from shopbridge.connectors.lightspeed_ecom.target import (
    LightspeedEcomTarget,
    reference_from_comment,
)
from shopbridge.connectors.lightspeed_ecom.translate import (
    order_from_lightspeed,
    order_id,
    product_from_lightspeed,
    stock_from_lightspeed,
)

__all__ = [
    "LightspeedEcomClient",
    "LightspeedEcomSettings",
    "LightspeedEcomSource",
    "LightspeedEcomTarget",
    "RateLimit",
    "embed_products",
    "order_from_lightspeed",
    "order_id",
    "product_from_lightspeed",
    "reference_from_comment",
    "stock_from_lightspeed",
]
