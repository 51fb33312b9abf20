"""Lightspeed eCom (C-Series): client, translation and order source.

``hook`` (Airflow) and ``sandbox`` (FastAPI) are deliberately not imported here, so
importing the client pulls in neither (STYLE R1).
"""

from shopbridge.connectors.lightspeed_ecom.client import (
    LightspeedEcomClient,
    LightspeedEcomSettings,
    RateLimit,
)
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource, embed_products
from shopbridge.connectors.lightspeed_ecom.translate import order_from_lightspeed, order_id

__all__ = [
    "LightspeedEcomClient",
    "LightspeedEcomSettings",
    "LightspeedEcomSource",
    "RateLimit",
    "embed_products",
    "order_from_lightspeed",
    "order_id",
]
