"""Default mappings for pairs with CCV SalesPOS as the target: what makes a pair work with
no ``mapping:`` at all. The connector registry hands :data:`DEFAULT_MAPPINGS` and
:data:`INCL_TAX` to :mod:`shopbridge.mapping.defaults`.

The orders entry reproduces the fields
:func:`~shopbridge.connectors.ccv_salespos.translate.order_payload` builds from the
canonical order, except those the target sets itself: our reference
(``reservationnumber``), the embedded ``customer`` and each row's ``product_id`` /
``attribute_combination_id``. Map ``status`` (1 New .. 14 Reserved, CCV's default is 1),
``paid`` or ``total_shipping`` here when a shop needs them; ``total_shipping`` is 0 unless
mapped (shipping goes as a line with the flow's ``shipping_line`` setting).

This module imports nothing but the mapping spec: it is read when DAG files are parsed.
"""

from __future__ import annotations

from shopbridge.mapping.spec import EntityMapping, FieldRule

R = FieldRule.of

DEFAULT_MAPPINGS: dict[tuple[str, str, str], EntityMapping] = {
    ("lightspeed_ecom", "ccv_salespos", "orders"): EntityMapping(
        header={
            "currency": R("order.currency"),
            "taxes_included": FieldRule(const=True),
            "order_row_taxes_included": FieldRule(const=False),
        },
        lines={
            "product_name": R("[line.description, line.sku] | coalesce"),
            "count": R("line.quantity"),
            "price": R("line.unit_price_excl"),
            # ASSUMPTION [U]: CCV's row discount is for the whole row, as canonical's is
            "discount": R("line.discount_excl"),
            "tax": R("line.tax_rate | percent"),
        },
    ),
}

#: (target, entity) -> the default rules that change when prices are sent incl. tax
#: (``orders.prices_include_tax``): CCV's ``order_row_taxes_included`` says the row prices
#: include VAT [S].
INCL_TAX: dict[tuple[str, str], EntityMapping] = {
    ("ccv_salespos", "orders"): EntityMapping(
        header={"order_row_taxes_included": FieldRule(const=True)},
        lines={"price": R("line.unit_price_incl"), "discount": R("line.discount_incl")},
    ),
}
