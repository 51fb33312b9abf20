"""Default field mappings for pairs that write into Lightspeed Retail (the connector
registry hands them to ``shopbridge.mapping.defaults``). Imports nothing but the mapping
package.

Target field names are Lightspeed's, plus the few the target turns into nested relations
itself (see :mod:`.translate`): ``price``/``msrp``/``onlinePrice`` (``Prices.ItemPrice`` by
price level), ``attribute1..3`` (``ItemAttributes``, mapped from the products flow's
``attributes`` setting) and ``qoh`` (the initial stock of a new item).

Orders: a sale line needs only the item (``customSku``, resolved to ``itemID``) and the
quantity; ``unitPrice`` and ``discountAmount`` are left to the target on purpose, which
sends them incl. or excl. tax as the Lightspeed shop prices (its tax category), because the
sale's payment must equal the total Lightspeed computes from them. Map them only to force
other amounts. So ``orders.prices_include_tax`` changes nothing for this target.

Products: ``products.prices_include_tax`` must match the Lightspeed account's own price
setting (tax-inclusive in the EU): it switches ``price`` to the price incl. tax.
"""

from __future__ import annotations

from shopbridge.mapping.defaults import VendorDefaults, incl_tax, rules

#: Every item of a product gets the header fields; a variant item also its lines fields
#: (a simple product's own fields win over its single variant's). The parent of a
#: configurable product is an ItemMatrix and only takes matrix fields (description,
#: defaultCost, prices, ...).
_PRODUCTS = rules(
    header={
        "description": "product.title",
    },
    lines={
        "description": "[product.title, variant.title] | concat(' ')",
        "customSku": "variant.sku",
        "ean": "variant.ean | omit_empty",
        "price": "variant.price_excl",
        # [U] the Fortnox article's purchase price, when the source record carries it
        # (a missing source field maps to nothing and is not sent)
        "defaultCost": "source.PurchasePrice",
        "qoh": "variant.quantity",
    },
)

DEFAULTS = VendorDefaults(
    mappings={
        ("fortnox", "lightspeed_retail", "orders"): rules(
            lines={"customSku": "line.sku", "unitQuantity": "line.quantity"},
        ),
        ("fortnox", "lightspeed_retail", "products"): _PRODUCTS,
    },
    incl_tax={("lightspeed_retail", "products"): incl_tax(_PRODUCTS, "lines.price")},
)
