"""Default mappings for pairs with Exact Globe as the target: what makes a pair work with
no ``mapping:`` at all.

The Lightspeed eCom -> Exact Globe orders entry reproduces the fields
:mod:`.translate`'s ``order_header``/``order_lines`` build, except those the target sets
itself (TransactionKey, OrderDebtor, YourReference, LineNumber). Its value maps are empty
passthrough tables: the webshop's payment and shipping names go through unchanged until a
customer lists their Globe codes. The Globe field names are [U] (see the package
docstring): none is in Exact's documentation.

This module imports nothing but the mapping spec: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.spec import EntityMapping, FieldRule, ValueMap

R = FieldRule.of

DEFAULT_MAPPINGS: dict[tuple[str, str, str], EntityMapping] = {
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
    # item field names: see the catalogue module.
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
