"""AccountView (Visma, through AccountView.net REST API v3) as an order and customer
target and as a product and stock source.

Layout: ``client`` (OAuth2 token auth, ``x-company``, paged table reads, positional
writes, the error-in-200 check), ``_rows`` (the positional write format), ``options``
(the settings of the target and the source), ``translate`` (pure canonical <-> AccountView
rows), ``target`` (the ``OrderTarget``: debtors ``AR1``, sales orders ``SO1``, sales-journal
invoices ``DJ2``), ``source`` (the ``ProductSource`` and ``StockSource``: articles ``AK1``),
``hook`` (Airflow) and ``defaults`` (the default order mapping); the FastAPI fake is the
dev kit's ``shopbridge_dev.sandboxes.accountview``. This package does not import ``hook``
(Airflow), so clients stay light.

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

Nothing is re-exported here: import each name from the module that defines it, so
reading a connector's ``defaults`` (DAG parsing) never loads its HTTP client.
"""
