"""Default mappings for pairs with CCV SalesPOS as the target: what makes a pair work with
no ``mapping:`` at all. The connector registry hands :data:`DEFAULTS` to
:mod:`shopbridge.mapping.defaults`.

The orders entry reproduces the fields
:func:`~shopbridge.connectors.ccv_salespos.translate.order_payload` builds from the
canonical order, except those the target sets itself: our reference
(``reservationnumber``), the embedded ``customer`` and each row's ``product_id`` /
``attribute_combination_id``. Map ``status`` (1 New .. 14 Reserved, CCV's default is 1),
``paid`` or ``total_shipping`` here when a shop needs them; ``total_shipping`` is 0 unless
mapped (shipping goes as a line with the flow's ``shipping_line`` setting).

This module imports nothing but the mapping package: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.defaults import VendorDefaults, incl_tax, rules

_ORDERS = rules(
    header={
        "currency": "order.currency",
        "taxes_included": True,
        "order_row_taxes_included": False,
    },
    lines={
        "product_name": "[line.description, line.sku] | coalesce",
        "count": "line.quantity",
        "price": "line.unit_price_excl",
        # ASSUMPTION [U]: CCV's row discount is for the whole row, as canonical's is
        "discount": "line.discount_excl",
        "tax": "line.tax_rate | percent",
    },
)

DEFAULTS = VendorDefaults(
    mappings={("lightspeed_ecom", "ccv_salespos", "orders"): _ORDERS},
    # CCV's ``order_row_taxes_included`` says the row prices include VAT [S]
    incl_tax={
        ("ccv_salespos", "orders"): incl_tax(
            _ORDERS, "lines.price", "lines.discount", flag="order_row_taxes_included"
        ),
    },
)
