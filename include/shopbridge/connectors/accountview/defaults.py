"""The shipped order mapping of Lightspeed eCom -> AccountView (the connector registry
hands it to :mod:`shopbridge.mapping.defaults`).

It reproduces the fields :func:`~shopbridge.connectors.accountview.translate.order_header`
and :func:`~shopbridge.connectors.accountview.translate.order_lines` build, except those the
target always sets itself (``RPL_INV``/``RPL_DEL``: the debtor; the reference field,
``COMMENT1`` by default; ``RowId``/``HeaderId``), so a YAML can see and override each one.
Field names beyond ``ORD_DATE``, ``TO_EMAIL``, ``ART_CODE``, ``ORD_QTY`` and ``ART_PX`` are
ASSUMPTIONs [U] (see ``_rows.FIELD_TYPES``). These are SO1 (sales order) fields: with
``order_type: sales_invoice`` the target books a sales-journal page and takes only
``DJ_PAGE``/``DJ_LINE`` fields (e.g. a per-line ``ACCT_NR``) from the mapping.

No value maps are referenced, so the pair needs no ``DEFAULT_VALUE_MAPS`` entry. Imports
nothing but the mapping spec (the DAG parser loads it).
"""

from __future__ import annotations

from shopbridge.mapping.spec import EntityMapping, FieldRule

R = FieldRule.of

DEFAULT_MAPPINGS: dict[tuple[str, str, str], EntityMapping] = {
    ("lightspeed_ecom", "accountview", "orders"): EntityMapping(
        header={
            "ORD_DATE": R("order.created_at"),
            "TO_EMAIL": R("order.customer.email"),
            "DEL_ADDR1": R("order.shipping_address | address_line"),
            "DEL_PC": R("order.shipping_address.postcode"),
            "DEL_CITY": R("order.shipping_address.city"),
            "DEL_CNT": R("order.shipping_address.country"),
            "CUR_CODE": R("order.currency"),
        },
        lines={
            "ART_CODE": R("line.sku"),
            "ART_DESC": R("[line.description, line.sku] | coalesce"),
            "ORD_QTY": R("line.quantity"),
            "ART_PX": R("line.unit_price_excl"),
            "DISC_AMT": R("line.discount_excl"),
        },
    ),
}

#: (target, entity) -> the default rules that change when prices are sent incl. tax
#: (``orders.prices_include_tax``). ASSUMPTION [U]: ``INCL_VAT``, the SO_HDR flag that
#: the line prices include VAT.
INCL_TAX: dict[tuple[str, str], EntityMapping] = {
    ("accountview", "orders"): EntityMapping(
        header={"INCL_VAT": FieldRule(const=True)},
        lines={"ART_PX": R("line.unit_price_incl"), "DISC_AMT": R("line.discount_incl")},
    ),
}
