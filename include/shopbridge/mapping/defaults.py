"""Default mappings shipped in code: what makes a pair work with no ``mapping:`` at all.

Keyed (source system, target system, entity). The Lightspeed eCom -> Exact Globe orders
entry reproduces the fields Exact Globe's ``translate.order_header``/``order_lines``
build, except those the target sets itself (TransactionKey, OrderDebtor, YourReference,
LineNumber). Its value maps are empty passthrough tables: the webshop's payment and
shipping names go through unchanged until a customer lists their Globe codes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shopbridge.mapping.engine import Mapper
from shopbridge.mapping.spec import EntityMapping, FieldRule, ValueMap

if TYPE_CHECKING:
    from shopbridge.config import IntegrationConfig

R = FieldRule.of

DEFAULTS: dict[tuple[str, str, str], EntityMapping] = {
    ("lightspeed_ecom", "exact_globe", "orders"): EntityMapping(
        header={
            "Description": R("order.number"),
            "OrderDate": R("order.created_at | date_format(%Y-%m-%d)"),
            "Currency": R("order.currency"),
            "DeliveryAddressLine1": R("order.shipping_address | address_line"),
            "DeliveryPostalCode": R("order.shipping_address.postcode"),
            "DeliveryCity": R("order.shipping_address.city"),
            "DeliveryCountry": R("order.shipping_address.country"),
            "AmountDC": R("order.total_excl"),
            "PaymentCondition": R("order.payment_method | omit_empty | lookup(payment_condition)"),
            "DeliveryMethod": R("order.shipping_method | omit_empty | lookup(shipping_method)"),
        },
        lines={
            "Itemcode": R("line.sku"),
            "Description": R("[line.description, line.sku] | coalesce"),
            "Quantity": R("line.quantity"),
            "Price": R("line.unit_price_excl"),
            "DiscountAmount": R("line.discount_excl"),
            "VATPercentage": R("line.tax_rate | percent"),
        },
    ),
    # Every item of a product gets the header fields; a variant item also its lines
    # fields (a simple product's own fields win over its single variant's). [U] the Globe
    # item field names: see the Exact Globe connector's catalogue module.
    ("lightspeed_ecom", "exact_globe", "products"): EntityMapping(
        header={
            "Description": R("product.title"),
            "LongDescription": R("product.description"),
            "ShortDescription": R("product.short_description"),
            "Brand": R("product.brand | omit_empty"),
            "Currency": R("product.currency"),
            "IsSalesItem": FieldRule(const=True),
        },
        lines={
            "Description": R("[product.title, variant.title] | concat(' ')"),
            "GTIN": R("variant.ean | omit_empty"),
            "SalesPrice": R("variant.price_excl"),
            "Stock": R("variant.quantity"),
        },
    ),
}

#: (target, entity) -> the default rules that change when prices are sent incl. tax
#: (``orders.prices_include_tax``). [U] ``VATIncluded``: Globe's header flag that the
#: line prices include VAT.
INCL_TAX: dict[tuple[str, str], EntityMapping] = {
    ("exact_globe", "orders"): EntityMapping(
        header={"AmountDC": R("order.total_incl"), "VATIncluded": FieldRule(const=True)},
        lines={"Price": R("line.unit_price_incl"), "DiscountAmount": R("line.discount_incl")},
    ),
    ("exact_globe", "products"): EntityMapping(
        header={"SalesPriceIncludesVAT": FieldRule(const=True)},
        lines={"SalesPrice": R("variant.price_incl")},
    ),
}

#: (source, target) -> value maps the default rules look up; YAML maps replace by name
DEFAULT_VALUE_MAPS: dict[tuple[str, str], dict[str, ValueMap]] = {
    ("lightspeed_ecom", "exact_globe"): {
        "payment_condition": ValueMap(),
        "shipping_method": ValueMap(),
    },
}


def _connector_tables(
    target: str,
) -> tuple[dict[tuple[str, str, str], EntityMapping], dict[tuple[str, str], EntityMapping]]:
    """The default mappings a connector ships for pairs it is the target of, from its
    ``defaults.py`` (its field names are its vendor's business: they stay in its folder).
    Connector packages import lazily, so this costs no HTTP client at DAG parse time."""
    try:
        module = importlib.import_module(f"shopbridge.connectors.{target}.defaults")
    except ModuleNotFoundError:
        return {}, {}
    return (dict(getattr(module, "DEFAULT_MAPPINGS", {})), dict(getattr(module, "INCL_TAX", {})))


def _connector_value_maps(source: str, target: str) -> dict[str, ValueMap]:
    """The value maps a target connector's default rules look up (its ``defaults.py``'s
    ``DEFAULT_VALUE_MAPS``); the entries here win by name."""
    try:
        module = importlib.import_module(f"shopbridge.connectors.{target}.defaults")
    except ModuleNotFoundError:
        return {}
    return dict(getattr(module, "DEFAULT_VALUE_MAPS", {}).get((source, target), {}))


def default_mapping(source: str, target: str, entity: str) -> EntityMapping:
    """The shipped mapping of a pair's entity; empty when the pair has none."""
    found = DEFAULTS.get((source, target, entity))
    if found is None:
        found = _connector_tables(target)[0].get((source, target, entity))
    return found or EntityMapping()


def _incl_tax(target: str, entity: str) -> EntityMapping | None:
    return INCL_TAX.get((target, entity)) or _connector_tables(target)[1].get((target, entity))


def mapper_for(cfg: IntegrationConfig, key: str) -> Mapper:
    """The effective mapper of one flow (by its key) of an integration: defaults plus its
    YAML, for the direction the flow runs in."""
    reads, writes = cfg.ends(key)
    src, tgt = reads.system, writes.system
    flow = cfg.kind(key)
    defaults = default_mapping(src, tgt, flow)
    spec = cfg.flows[key]
    incl_tax = (
        spec.orders.prices_include_tax if flow == "orders" else spec.products.prices_include_tax
    )
    incl = _incl_tax(tgt, flow) if incl_tax else None
    if incl is not None:
        defaults = defaults.model_copy(
            update={
                "header": {**defaults.header, **incl.header},
                "lines": {**defaults.lines, **incl.lines},
            }
        )
    return Mapper(
        cfg.mapping,
        defaults,
        entity=flow,
        base_value_maps={
            **_connector_value_maps(src, tgt),
            **DEFAULT_VALUE_MAPS.get((src, tgt), {}),
        },
    )
