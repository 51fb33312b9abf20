"""The shipped order mapping of Lightspeed eCom -> AccountView (the connector registry
hands :data:`DEFAULTS` to :mod:`shopbridge.mapping.defaults`).

It reproduces the fields :func:`~shopbridge.connectors.accountview.translate.order_header`
and :func:`~shopbridge.connectors.accountview.translate.order_lines` build, except those the
target always sets itself (``RPL_INV``/``RPL_DEL``: the debtor; the reference field,
``COMMENT1`` by default; ``RowId``/``HeaderId``), so a YAML can see and override each one.
Field names beyond ``ORD_DATE``, ``TO_EMAIL``, ``ART_CODE``, ``ORD_QTY`` and ``ART_PX`` are
ASSUMPTIONs [U] (see ``_rows.FIELD_TYPES``). These are SO1 (sales order) fields: with
``order_type: sales_invoice`` the target books a sales-journal page and takes only
``DJ_PAGE``/``DJ_LINE`` fields (e.g. a per-line ``ACCT_NR``) from the mapping.

No value maps are referenced, so the pair needs no default value maps. Imports
nothing but the mapping package (the DAG parser loads it).
"""

from __future__ import annotations

from shopbridge.mapping.defaults import VendorDefaults, incl_tax, rules

_ORDERS = rules(
    header={
        "ORD_DATE": "order.created_at",
        "TO_EMAIL": "order.customer.email",
        "DEL_ADDR1": "order.shipping_address | address_line",
        "DEL_PC": "order.shipping_address.postcode",
        "DEL_CITY": "order.shipping_address.city",
        "DEL_CNT": "order.shipping_address.country",
        "CUR_CODE": "order.currency",
    },
    lines={
        "ART_CODE": "line.sku",
        "ART_DESC": "[line.description, line.sku] | coalesce",
        "ORD_QTY": "line.quantity",
        "ART_PX": "line.unit_price_excl",
        "DISC_AMT": "line.discount_excl",
    },
)

DEFAULTS = VendorDefaults(
    mappings={("lightspeed_ecom", "accountview", "orders"): _ORDERS},
    # ASSUMPTION [U]: ``INCL_VAT``, the SO_HDR flag that the line prices include VAT
    incl_tax={
        ("accountview", "orders"): incl_tax(
            _ORDERS, "lines.ART_PX", "lines.DISC_AMT", flag="INCL_VAT"
        ),
    },
)
