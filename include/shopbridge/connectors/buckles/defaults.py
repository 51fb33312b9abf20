"""Default mappings for pairs with Buckles as the target: what makes a pair work with no
``mapping:`` at all. The connector registry hands :data:`DEFAULTS` to
:mod:`shopbridge.mapping.defaults` (the ``status`` rule looks up ``buckles_status``, so
without its value map the rule does not compile).

Orders: the fields :func:`~shopbridge.connectors.buckles.translate.order_payload` builds
from the canonical order, plus ``status`` from the source's order status through the
``buckles_status`` value map: Lightspeed eCom's ``status`` (VENDOR_APIS.md §1; it already
says whether the order awaits payment, shipment or pickup, so ``paymentStatus`` is not
needed) to the statuses Buckles' knowledge base names [V] (their API spelling [U]). Only
``processing`` reaches a WMS such as Boltrics [V], so an order awaiting payment is
``pending_payment`` and one on hold ``on_hold``; a shipped or picked-up order is
``completed`` (Buckles has no shipped status: the other shops' mappings send Shipped /
Fulfilled to Completed [V]). A status the map does not know becomes ``on_hold`` (a person
looks at it in Buckles) rather than being held back. The target sets ``channel``,
``channel_order_id``, ``customer_id`` and each line's ``sku`` and ``barcode`` itself.

Products: title, description, brand, VAT percentage and per SKU its title, barcode and
price excl. VAT (Buckles products are flat: one per SKU).

This module imports nothing but the mapping package: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.defaults import VendorDefaults, incl_tax, rules
from shopbridge.mapping.spec import ValueMap

#: Lightspeed eCom ``status`` -> Buckles order ``status``. Buckles' status names are [V]
#: (its knowledge base), Lightspeed's values [V]; which goes to which is ours [U]: the
#: knowledge base's own Lightspeed table was not found.
LIGHTSPEED_TO_BUCKLES_STATUS = ValueMap(
    values={
        "on_hold": "on_hold",
        "processing_awaiting_payment": "pending_payment",
        "processing_awaiting_shipment": "processing",
        "processing_awaiting_pickup": "processing",
        "processing_ready_for_pickup": "processing",
        "completed": "completed",
        "completed_shipped": "completed",
        "completed_picked_up": "completed",
        "cancelled": "cancelled",
    },
    default="on_hold",
    on_missing="default",
)

_ORDERS = rules(
    header={
        "status": "order.status | lookup(buckles_status)",
        "number": "order.number",
        "currency": "order.currency",
        "payment_status": "order.payment_status",
        "payment_method": "order.payment_method",
        "shipping_method": "order.shipping_method",
        "shipping_cost": "order.shipping_cost_excl",
        "total": "order.total_incl",
        "prices_include_tax": False,
    },
    lines={
        "name": "[line.description, line.sku] | coalesce",
        "qty": "line.quantity",
        "price": "line.unit_price_excl",
        "tax_rate": "line.tax_rate | percent",
        "discount": "line.discount_excl",
    },
)

_PRODUCTS = rules(
    header={
        "title": "product.title",
        "description": "product.description",
        "brand": "product.brand",
        "tax_rate": "product.tax_rate | percent",
    },
    lines={
        "title": "[product.title, variant.title] | concat(' ')",
        "barcode": "variant.ean",
        "price": "variant.price_excl",
    },
)

DEFAULTS = VendorDefaults(
    mappings={
        ("lightspeed_ecom", "buckles", "orders"): _ORDERS,
        ("lightspeed_ecom", "buckles", "products"): _PRODUCTS,
    },
    # Buckles' order flag ``prices_include_tax`` [U]; the shipping cost stays excl. tax,
    # as the connector's own payload sends it
    incl_tax={
        ("buckles", "orders"): incl_tax(
            _ORDERS, "lines.price", "lines.discount", flag="prices_include_tax"
        ),
    },
    value_maps={("lightspeed_ecom", "buckles"): {"buckles_status": LIGHTSPEED_TO_BUCKLES_STATUS}},
)
