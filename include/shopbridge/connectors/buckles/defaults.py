"""Default mappings for pairs with Buckles as the target: what makes a pair work with no
``mapping:`` at all. The connector registry hands :data:`DEFAULT_MAPPINGS`,
:data:`INCL_TAX` and :data:`DEFAULT_VALUE_MAPS` to :mod:`shopbridge.mapping.defaults` (the
``status`` rule looks up ``buckles_status``, so without its value map the rule does not
compile).

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

This module imports nothing but the mapping spec: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.spec import EntityMapping, FieldRule, ValueMap

R = FieldRule.of

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

DEFAULT_MAPPINGS: dict[tuple[str, str, str], EntityMapping] = {
    ("lightspeed_ecom", "buckles", "orders"): EntityMapping(
        header={
            "status": R("order.status | lookup(buckles_status)"),
            "number": R("order.number"),
            "currency": R("order.currency"),
            "payment_status": R("order.payment_status"),
            "payment_method": R("order.payment_method"),
            "shipping_method": R("order.shipping_method"),
            "shipping_cost": R("order.shipping_cost_excl"),
            "total": R("order.total_incl"),
            "prices_include_tax": FieldRule(const=False),
        },
        lines={
            "name": R("[line.description, line.sku] | coalesce"),
            "qty": R("line.quantity"),
            "price": R("line.unit_price_excl"),
            "tax_rate": R("line.tax_rate | percent"),
            "discount": R("line.discount_excl"),
        },
    ),
    ("lightspeed_ecom", "buckles", "products"): EntityMapping(
        header={
            "title": R("product.title"),
            "description": R("product.description"),
            "brand": R("product.brand"),
            "tax_rate": R("product.tax_rate | percent"),
        },
        lines={
            "title": R("[product.title, variant.title] | concat(' ')"),
            "barcode": R("variant.ean"),
            "price": R("variant.price_excl"),
        },
    ),
}

#: (target, entity) -> the default rules that change when prices are sent incl. tax
#: (``orders.prices_include_tax``): Buckles' order flag ``prices_include_tax`` [U].
INCL_TAX: dict[tuple[str, str], EntityMapping] = {
    ("buckles", "orders"): EntityMapping(
        header={"prices_include_tax": FieldRule(const=True)},
        lines={"price": R("line.unit_price_incl"), "discount": R("line.discount_incl")},
    ),
}

#: (source, target) -> value maps the default rules look up; YAML maps replace by name
DEFAULT_VALUE_MAPS: dict[tuple[str, str], dict[str, ValueMap]] = {
    ("lightspeed_ecom", "buckles"): {"buckles_status": LIGHTSPEED_TO_BUCKLES_STATUS},
}
