"""Default mappings for pairs with Exact Globe as the target: what makes a pair work with
no ``mapping:`` at all.

The Lightspeed eCom -> Exact Globe orders entry reproduces the fields
:mod:`.translate`'s ``order_header``/``order_lines`` build, except those the target sets
itself (TransactionKey, OrderDebtor, YourReference, LineNumber). Its value maps are empty
passthrough tables: the webshop's payment and shipping names go through unchanged until a
customer lists their Globe codes. The Globe field names are [U] (see the package
docstring): none is in Exact's documentation.

This module imports nothing but the mapping package: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.defaults import VendorDefaults, incl_tax, rules
from shopbridge.mapping.spec import ValueMap

_ORDERS = rules(
    header={
        "Description": "order.number",
        "OrderDate": "order.created_at | date_format(%Y-%m-%d)",
        "Currency": "order.currency",
        "DeliveryAddressLine1": "order.shipping_address | address_line",
        "DeliveryPostalCode": "order.shipping_address.postcode",
        "DeliveryCity": "order.shipping_address.city",
        "DeliveryCountry": "order.shipping_address.country",
        "AmountDC": "order.total_excl",
        "PaymentCondition": "order.payment_method | omit_empty | lookup(payment_condition)",
        "DeliveryMethod": "order.shipping_method | omit_empty | lookup(shipping_method)",
    },
    lines={
        "Itemcode": "line.sku",
        "Description": "[line.description, line.sku] | coalesce",
        "Quantity": "line.quantity",
        "Price": "line.unit_price_excl",
        "DiscountAmount": "line.discount_excl",
        "VATPercentage": "line.tax_rate | percent",
    },
)

#: Every item of a product gets the header fields; a variant item also its lines fields
#: (a simple product's own fields win over its single variant's). [U] the Globe item
#: field names: see the catalogue module.
_PRODUCTS = rules(
    header={
        "Description": "product.title",
        "LongDescription": "product.description",
        "ShortDescription": "product.short_description",
        "Brand": "product.brand | omit_empty",
        "Currency": "product.currency",
        "IsSalesItem": True,
    },
    lines={
        "Description": "[product.title, variant.title] | concat(' ')",
        "GTIN": "variant.ean | omit_empty",
        "SalesPrice": "variant.price_excl",
        "Stock": "variant.quantity",
    },
)

DEFAULTS = VendorDefaults(
    mappings={
        ("lightspeed_ecom", "exact_globe", "orders"): _ORDERS,
        ("lightspeed_ecom", "exact_globe", "products"): _PRODUCTS,
    },
    # [U] ``VATIncluded`` and ``SalesPriceIncludesVAT``: Globe's flags that the order's
    # and the item's prices include VAT
    incl_tax={
        ("exact_globe", "orders"): incl_tax(
            _ORDERS, "AmountDC", "lines.Price", "lines.DiscountAmount", flag="VATIncluded"
        ),
        ("exact_globe", "products"): incl_tax(
            _PRODUCTS, "lines.SalesPrice", flag="SalesPriceIncludesVAT"
        ),
    },
    value_maps={
        ("lightspeed_ecom", "exact_globe"): {
            "payment_condition": ValueMap(),
            "shipping_method": ValueMap(),
        },
    },
)
