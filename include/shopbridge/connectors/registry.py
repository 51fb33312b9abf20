"""Which systems exist, and what each can be in a flow: a source, a target, or both.

Hooks are named by import path so that parsing a DAG file never imports a connector
(and with it httpx, FastAPI or a vendor SDK); the task imports it when it runs. The
targets' default mappings are imported plainly: each ``defaults.py`` imports nothing but
the mapping package, and the config needs them at parse time to check every rule.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shopbridge.connectors.accountview import defaults as accountview_defaults
from shopbridge.connectors.buckles import defaults as buckles_defaults
from shopbridge.connectors.ccv_salespos import defaults as ccv_salespos_defaults
from shopbridge.connectors.exact_globe import defaults as exact_globe_defaults
from shopbridge.connectors.lightspeed_ecom import defaults as lightspeed_ecom_defaults
from shopbridge.connectors.lightspeed_retail import defaults as lightspeed_retail_defaults
from shopbridge.mapping.defaults import VendorDefaults

if TYPE_CHECKING:  # base imports the HTTP kit: not at DAG parse time
    from shopbridge.connectors.base import SystemHook

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


#: target system -> the default mappings its connector ships (its ``defaults.py``)
TARGET_DEFAULTS: dict[str, VendorDefaults] = {
    "exact_globe": exact_globe_defaults.DEFAULTS,
    "accountview": accountview_defaults.DEFAULTS,
    "buckles": buckles_defaults.DEFAULTS,
    "ccv_salespos": ccv_salespos_defaults.DEFAULTS,
    "lightspeed_ecom": lightspeed_ecom_defaults.DEFAULTS,
    "lightspeed_retail": lightspeed_retail_defaults.DEFAULTS,
}


def defaults_for(target: str) -> VendorDefaults:
    """The default mappings of pairs writing into ``target`` (none for a system that
    ships none: every field then comes from the pair's YAML)."""
    return TARGET_DEFAULTS.get(target) or VendorDefaults()


def hook_for(system: str, conn_id: str) -> SystemHook:
    """An instance of the system's Airflow hook for ``conn_id`` (imports it on first use)."""
    module, _, cls = HOOKS[system].partition(":")
    hook: SystemHook = getattr(importlib.import_module(module), cls)(conn_id)
    return hook
