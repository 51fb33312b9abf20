"""Default mappings with Lightspeed eCom as the product target: what makes the
AccountView -> Lightspeed and CCV SalesPOS -> Lightspeed product flows work with no
``mapping:`` at all.

Target field names are Lightspeed's (see :mod:`.catalogue_target`): the header fills the
product (``title``, ``fulltitle``, ``content`` = the long HTML text, ``description`` = the
short one, ``isVisible``), the lines fill each variant (``sku``, ``ean``, both prices and
the initial ``stockLevel``, which the target sends on create only). A variant's options
need the pair's ``products.attributes`` mapping (``{Colour: Colour, Size: Size}``: any
target field that is not a Lightspeed field becomes an option in the variant title).

Imports only :mod:`shopbridge.mapping`, so the lead can wire it anywhere.
"""

from __future__ import annotations

from shopbridge.mapping.defaults import VendorDefaults, rules

#: Both sources hand over canonical products, so they share one mapping.
_PRODUCTS = rules(
    header={
        "title": "product.title",
        "fulltitle": "[product.brand, product.title] | concat(' ')",
        "content": "product.description",
        "description": "product.short_description",
        "isVisible": "product.visible",
    },
    lines={
        "sku": "variant.sku",
        "ean": "variant.ean | omit_empty",
        "priceExcl": "variant.price_excl",
        "priceIncl": "variant.price_incl",
        "stockLevel": "variant.quantity",
    },
)

#: No incl.-tax rules, on purpose: a Lightspeed variant stores ``priceExcl`` and
#: ``priceIncl`` side by side and the default mapping always sends both, so
#: ``prices_include_tax`` has nothing to switch.
DEFAULTS = VendorDefaults(
    mappings={
        ("accountview", "lightspeed_ecom", "products"): _PRODUCTS,
        ("ccv_salespos", "lightspeed_ecom", "products"): _PRODUCTS,
    },
)
