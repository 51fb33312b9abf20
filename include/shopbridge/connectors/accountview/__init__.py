"""AccountView (Visma, through AccountView.net REST API v3) as an order and customer
target and as a product and stock source.

Layout: ``client`` (OAuth2 token auth, ``x-company``, paged table reads, positional
writes, the error-in-200 check), ``_rows`` (the positional write format), ``options``
(the settings of the target and the source), ``translate`` (pure canonical <-> AccountView
rows), ``target`` (the ``OrderTarget``: debtors ``AR1``, sales orders ``SO1``, sales-journal
invoices ``DJ2``), ``source`` (the ``ProductSource`` and ``StockSource``: articles ``AK1``),
``sandbox`` (FastAPI fake), ``hook`` (Airflow) and ``defaults`` (the default order
mapping). This package imports neither ``hook`` (Airflow) nor ``sandbox`` (FastAPI), so
clients stay light.

Facts marked [U] in VENDOR_APIS.md §4 are ASSUMPTIONs, each documented where it is used
and configurable in the Connection's extra and in the sandbox.

What the project relies on, checked against tests/contracts/accountview (SOURCES.md):
[V] = verified by a live recording, [D] = a doc example only (no public recording of a
data answer exists; the shapes come from the public clients and VENDOR_APIS.md),
[U] = unverified.

* Debtors ``CONTACT`` (AR1): the names and types of ``SUB_NR``, ``ACCT_NR``, ``ACCT_NAME``,
  ``MAIN_CONT``, ``ADDRESS1``, ``POST_CODE``, ``CITY``, ``CNT_CODE``, ``MAIL_BUS``,
  ``TEL_BUS``, ``VAT_NR``, ``VAT_CODE``, ``LNK_ACCT``, ``RPL_GRP``, ``SRC_CODE``,
  ``COMMENT1``, ``CNG_DATE``/``INP_DATE`` [V, fields.contact.json]; their lengths
  (``ACCT_NAME`` 40, ``MAIL_BUS`` 50, ``CNT_CODE`` 2, ...) and the mandatory ``SUB_NR``,
  ``ACCT_NAME``, ``SRC_CODE`` [V]; an empty timestamp comes as ``""`` [V]; rows as
  answered (``MAIL_BUS`` ``""``, one row as an object) [D]; ``RPL_GRP``/``LNK_ACCT`` as the
  classification/revenue account [U meaning]; who numbers a new debtor: the client picks
  ``SUB_NR`` in its own range (open risk, see ``target``) [U].
* Sales-journal pages ``DJ_PAGE``/``DJ_LINE`` (DJ2): every field written exists with the
  declared type, ``INV_NR`` holds 12 and ``HDR_DESC`` 40 characters [V,
  fields.dj_page.json/fields.dj_line.json]; ``PAGE_NR`` is mandatory in the dictionary and
  not sent (AccountView numbering the page is [U]); the VAT code field is 2 long [V,
  fields.vat.json].
* Sales orders ``SO_HDR``/``SO_LINE`` (SO1): ``RPL_INV``, ``RPL_DEL``, ``ORD_DATE``,
  ``COMMENT1``, ``TO_EMAIL``, ``DEL_CODE``, ``ART_CODE``, ``ORD_QTY``, ``ART_PX`` [S: the
  PHP integration writes them]; ``ORD_NR`` as the assigned number and every other SO field
  [U]; a read by ``COMMENT1`` [D].
* Articles ``ARTICLE`` (AK1) and groups ``ART_GRP`` (AG1): ``ART_CODE`` (the article code,
  canonical ``article_code``), ``ART_DESC1``, ``PX_SELL`` (a number, or ``null`` when the
  article has no price), ``QTY_AVAIL`` (text such as ``"24.000"``, ``""`` read as 0),
  ``AG_CODE``, ``CNG_DATE``, ``AG_DESC`` [D]; an EAN field [U] (``ean_field``).
* Envelope: table-keyed answers, one row as an object, an empty table as ``[]`` [D]; no
  total or next link (a short page ends the read) [D]; errors
  ``{"ErrorType","ErrorNumbers","ErrorMessage"}``, also with status 200, and an
  ``ErrorType`` with an empty message is an error [D: go-accountview.net's client];
  ``/companies`` a bare list of ``{Id, Description, Code}`` [D]; the token answer [D];
  the answer to a successful POST [U]: a write counts only once read back.

Exports import lazily (PEP 562): DAG parsing reads a connector's ``defaults`` without
loading its HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopbridge.connectors.accountview._rows import (
        FIELD_TYPES as FIELD_TYPES,
    )
    from shopbridge.connectors.accountview._rows import (
        Table as Table,
    )
    from shopbridge.connectors.accountview._rows import (
        build_table as build_table,
    )
    from shopbridge.connectors.accountview._rows import (
        encode as encode,
    )
    from shopbridge.connectors.accountview.client import (
        AccountViewClient as AccountViewClient,
    )
    from shopbridge.connectors.accountview.client import (
        AccountViewSettings as AccountViewSettings,
    )
    from shopbridge.connectors.accountview.client import (
        Filter as Filter,
    )
    from shopbridge.connectors.accountview.client import (
        TokenAuth as TokenAuth,
    )
    from shopbridge.connectors.accountview.client import (
        check as check,
    )
    from shopbridge.connectors.accountview.client import (
        error_message as error_message,
    )
    from shopbridge.connectors.accountview.client import (
        rows_of as rows_of,
    )
    from shopbridge.connectors.accountview.options import (
        SourceOptions as SourceOptions,
    )
    from shopbridge.connectors.accountview.options import (
        TargetOptions as TargetOptions,
    )
    from shopbridge.connectors.accountview.source import (
        AccountViewSource as AccountViewSource,
    )
    from shopbridge.connectors.accountview.target import (
        AccountViewTarget as AccountViewTarget,
    )
    from shopbridge.connectors.accountview.translate import (
        contact_from_customer as contact_from_customer,
    )
    from shopbridge.connectors.accountview.translate import (
        fingerprint as fingerprint,
    )
    from shopbridge.connectors.accountview.translate import (
        invoice_lines as invoice_lines,
    )
    from shopbridge.connectors.accountview.translate import (
        invoice_page as invoice_page,
    )
    from shopbridge.connectors.accountview.translate import (
        order_header as order_header,
    )
    from shopbridge.connectors.accountview.translate import (
        order_lines as order_lines,
    )
    from shopbridge.connectors.accountview.translate import (
        product_from_article as product_from_article,
    )
    from shopbridge.connectors.accountview.translate import (
        stock_from_article as stock_from_article,
    )

#: exported name -> the module defining it
_EXPORTS: dict[str, str] = {
    "AccountViewClient": "shopbridge.connectors.accountview.client",
    "AccountViewSettings": "shopbridge.connectors.accountview.client",
    "AccountViewSource": "shopbridge.connectors.accountview.source",
    "AccountViewTarget": "shopbridge.connectors.accountview.target",
    "FIELD_TYPES": "shopbridge.connectors.accountview._rows",
    "Filter": "shopbridge.connectors.accountview.client",
    "SourceOptions": "shopbridge.connectors.accountview.options",
    "Table": "shopbridge.connectors.accountview._rows",
    "TargetOptions": "shopbridge.connectors.accountview.options",
    "TokenAuth": "shopbridge.connectors.accountview.client",
    "build_table": "shopbridge.connectors.accountview._rows",
    "check": "shopbridge.connectors.accountview.client",
    "contact_from_customer": "shopbridge.connectors.accountview.translate",
    "encode": "shopbridge.connectors.accountview._rows",
    "error_message": "shopbridge.connectors.accountview.client",
    "fingerprint": "shopbridge.connectors.accountview.translate",
    "invoice_lines": "shopbridge.connectors.accountview.translate",
    "invoice_page": "shopbridge.connectors.accountview.translate",
    "order_header": "shopbridge.connectors.accountview.translate",
    "order_lines": "shopbridge.connectors.accountview.translate",
    "product_from_article": "shopbridge.connectors.accountview.translate",
    "rows_of": "shopbridge.connectors.accountview.client",
    "stock_from_article": "shopbridge.connectors.accountview.translate",
}

__all__ = [
    "FIELD_TYPES",
    "AccountViewClient",
    "AccountViewSettings",
    "AccountViewSource",
    "AccountViewTarget",
    "Filter",
    "SourceOptions",
    "Table",
    "TargetOptions",
    "TokenAuth",
    "build_table",
    "check",
    "contact_from_customer",
    "encode",
    "error_message",
    "fingerprint",
    "invoice_lines",
    "invoice_page",
    "order_header",
    "order_lines",
    "product_from_article",
    "rows_of",
    "stock_from_article",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
