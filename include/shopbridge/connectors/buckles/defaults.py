"""Default mappings for pairs with Buckles as the target: what makes a pair work with no
``mapping:`` at all. :mod:`shopbridge.mapping.defaults` reads :data:`DEFAULT_MAPPINGS`
and :data:`INCL_TAX` itself; :data:`DEFAULT_VALUE_MAPS` must be wired there by the lead
(the ``status`` rule looks up ``buckles_status``, so without it the rule does not
compile).

Orders: the fields :func:`~shopbridge.connectors.buckles.translate.order_payload` builds
from the canonical order, plus ``status`` from the source's order status through the
``buckles_status`` value map (Lightspeed eCom statuses, VENDOR_APIS.md §1, to Buckles'
assumed ``new``/``processing``/``on_hold``/``shipped``/``completed``/``cancelled``). Only
``processing`` reaches a WMS such as Boltrics [V], so an order still awaiting payment is
``new``. A status the map does not know becomes ``new`` (a person looks at it in
Buckles) rather than being held back. The target sets ``channel``,
``channel_order_id``, ``customer_id`` and each line's ``sku`` itself.

Products: title, description, brand, VAT percentage and per SKU its title, barcode and
price excl. VAT (Buckles products are flat: one per SKU).

This module imports nothing but the mapping spec: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.spec import EntityMapping, FieldRule, ValueMap

R = FieldRule.of

#: Lightspeed eCom ``status`` -> Buckles order ``status`` (ASSUMPTION [U]: Buckles'
#: statuses; the knowledge base only says Lightspeed statuses are mapped to them [V])
LIGHTSPEED_TO_BUCKLES_STATUS = ValueMap(
    values={
        "on_hold": "on_hold",
        "processing_awaiting_payment": "new",
        "processing_awaiting_shipment": "processing",
        "processing_awaiting_pickup": "processing",
        "processing_ready_for_pickup": "processing",
        "completed": "completed",
        "completed_shipped": "shipped",
        "completed_picked_up": "completed",
        "cancelled": "cancelled",
    },
    default="new",
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
