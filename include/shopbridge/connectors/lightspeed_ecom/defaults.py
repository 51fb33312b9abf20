"""Default mappings with Lightspeed eCom as the product target: what makes the
AccountView -> Lightspeed and CCV SalesPOS -> Lightspeed product flows work with no
``mapping:`` at all.

Target field names are Lightspeed's (see :mod:`.catalogue_target`): the header fills the
product (``title``, ``fulltitle``, ``content`` = the long HTML text, ``description`` = the
short one, ``isVisible``), the lines fill each variant (``sku``, ``ean``, both prices and
the initial ``stockLevel``, which the target sends on create only). A variant's options
need the pair's ``products.attributes`` mapping (``{Colour: Colour, Size: Size}``: any
target field that is not a Lightspeed field becomes an option in the variant title).

Imports only :mod:`shopbridge.mapping.spec`, so the lead can wire it anywhere.
"""

from __future__ import annotations

from shopbridge.mapping.spec import EntityMapping, FieldRule

R = FieldRule.of

#: Both sources hand over canonical products, so they share one mapping.
_PRODUCTS = EntityMapping(
    header={
        "title": R("product.title"),
        "fulltitle": R("[product.brand, product.title] | concat(' ')"),
        "content": R("product.description"),
        "description": R("product.short_description"),
        "isVisible": R("product.visible"),
    },
    lines={
        "sku": R("variant.sku"),
        "ean": R("variant.ean | omit_empty"),
        "priceExcl": R("variant.price_excl"),
        "priceIncl": R("variant.price_incl"),
        "stockLevel": R("variant.quantity"),
    },
)

DEFAULT_MAPPINGS: dict[tuple[str, str, str], EntityMapping] = {
    ("accountview", "lightspeed_ecom", "products"): _PRODUCTS,
    ("ccv_salespos", "lightspeed_ecom", "products"): _PRODUCTS,
}

#: (target, entity) -> rules that change when prices are sent incl. tax. Empty on purpose:
#: a Lightspeed variant stores ``priceExcl`` and ``priceIncl`` side by side and the
#: default mapping always sends both, so ``prices_include_tax`` has nothing to switch.
INCL_TAX: dict[tuple[str, str], EntityMapping] = {}
