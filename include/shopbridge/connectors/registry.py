"""Which systems exist, and what each can be in a flow: a source, a target, or both.

Hooks are named by import path so that parsing a DAG file never imports a connector
(and with it httpx, FastAPI or a vendor SDK); the task imports it when it runs.
"""

from __future__ import annotations

import importlib
from typing import Any

#: system -> hook class, as "module:Class"
HOOKS: dict[str, str] = {
    "lightspeed_ecom": "shopbridge.connectors.lightspeed_ecom.hook:LightspeedEcomHook",
    "exact_globe": "shopbridge.connectors.exact_globe.hook:ExactGlobeHook",
    "lightspeed_retail": "shopbridge.connectors.lightspeed_retail.hook:LightspeedRetailHook",
    "fortnox": "shopbridge.connectors.fortnox.hook:FortnoxHook",
    "accountview": "shopbridge.connectors.accountview.hook:AccountViewHook",
    "ccv_salespos": "shopbridge.connectors.ccv_salespos.hook:CcvSalesposHook",
    "buckles": "shopbridge.connectors.buckles.hook:BucklesHook",
}

#: flow -> (systems that can be its source, systems that can be its target)
ROLES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "orders": (
        frozenset({"lightspeed_ecom", "exact_globe", "fortnox"}),
        frozenset(
            {
                "exact_globe",
                "lightspeed_ecom",
                "lightspeed_retail",
                "accountview",
                "ccv_salespos",
                "buckles",
            }
        ),
    ),
    "customers": (
        frozenset({"lightspeed_ecom", "buckles"}),
        frozenset({"exact_globe", "accountview", "buckles", "lightspeed_ecom"}),
    ),
    "products": (
        frozenset({"lightspeed_ecom", "fortnox", "accountview", "ccv_salespos"}),
        frozenset({"exact_globe", "lightspeed_retail", "lightspeed_ecom", "buckles"}),
    ),
    "stock": (
        frozenset({"lightspeed_ecom", "fortnox", "accountview", "ccv_salespos", "buckles"}),
        frozenset({"exact_globe", "lightspeed_retail", "lightspeed_ecom"}),
    ),
    "shipments": (
        frozenset({"lightspeed_ecom", "buckles"}),
        frozenset({"lightspeed_ecom", "buckles"}),
    ),
    "checkouts": (frozenset({"lightspeed_ecom"}), frozenset({"buckles"})),
}

#: system -> its webhook module (``SIGNATURE_HEADER``, ``verify``, ``delivery_records``,
#: ``record_id``): the systems whose deliveries the receiver plugin takes
WEBHOOKS: dict[str, str] = {
    "lightspeed_ecom": "shopbridge.connectors.lightspeed_ecom.webhooks",
}
#: system -> ``register(hook, address, kinds) -> lines``: creates the vendor-side webhooks
#: the flow kinds need (``shopbridge webhooks register``)
WEBHOOK_REGISTRARS: dict[str, str] = {
    "lightspeed_ecom": "shopbridge.connectors.lightspeed_ecom.webhook_registration:register",
}
#: system -> the flow kinds its webhooks can feed
WEBHOOK_FLOWS: dict[str, frozenset[str]] = {
    "lightspeed_ecom": frozenset({"orders", "customers", "shipments"}),
}

#: order target -> the order types (``orders.order_type``) it can book; one it cannot is
#: refused when the file is loaded rather than on the first run
ORDER_TYPES: dict[str, frozenset[str]] = {
    "exact_globe": frozenset({"sales_order", "sales_invoice", "direct_invoice", "journal_entry"}),
    "accountview": frozenset({"sales_order", "sales_invoice", "direct_invoice"}),
    "lightspeed_ecom": frozenset({"sales_order"}),
    "lightspeed_retail": frozenset({"sales_order"}),
    "ccv_salespos": frozenset({"sales_order"}),
    "buckles": frozenset({"sales_order"}),
}

#: product images: the systems that have them to give, and those that can take them
#: through this integration (a pair with images on needs both ends)
IMAGE_SOURCES: frozenset[str] = frozenset({"lightspeed_ecom"})
IMAGE_TARGETS: frozenset[str] = frozenset({"exact_globe", "lightspeed_ecom"})


def hook_for(system: str, conn_id: str) -> Any:
    """An instance of the system's Airflow hook for ``conn_id`` (imports it on first use)."""
    module, _, cls = HOOKS[system].partition(":")
    return getattr(importlib.import_module(module), cls)(conn_id)
