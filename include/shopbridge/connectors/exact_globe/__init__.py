"""Exact Globe (Globe Next / Globe+, on-premise ERP) as an order, product and stock target
and as an order source (orders entered in the ERP go to the webshop).

Interface: the **REST Entity service** (OData v2 over Globe's entity services,
``http://{server}:{port}/services/Exact.Entity.REST.EG/{Entity}``), not the eExact XML
import. Why: a realtime sync needs per-record answers. The REST service gives a
synchronous result per request (the new DebtorCode, the OrderNumber, or a
``ValidationError`` naming the problem), lookups by ``$filter`` before writing (skip orders
already imported, find debtors by e-mail, check item codes) and MERGE updates. The eExact
XML import is a batch file import whose results are read afterwards under Other import ->
Results, so it cannot answer "does this exist" before a write, nor tie a failure to a
record while the run is still going.

Layout: ``client`` (HTTP, auth, OData helpers), ``translate`` (pure canonical -> Globe),
``from_globe`` (pure Globe sales order -> canonical), ``catalogue`` (items, categories,
images, stock: ``ProductTarget``/``StockTarget``), ``target`` (the ``OrderTarget``, built
on the catalogue: one object for every flow), ``source`` (the ``OrderSource``),
and ``hook`` (Airflow); the FastAPI fake is the dev kit's
``shopbridge_dev.sandboxes.exact_globe``. This package does not import ``hook`` (Airflow),
so clients stay light.

What is verified. No public recording of a Globe REST response exists (see
``tests/contracts/SOURCES.md, section exact_globe``); the contract tests run doc examples built from
Exact's own entity documentation (PU415 "List of properties"). Markers: [V] a documented
REST name read or written through a doc-example contract test (or, for the OData
envelope, an Exact Online recording); [S] seen in a client decoding live Globe answers
(omniboost/go-exactglobe-webservices); [U] unverified.

* Envelope [V]: ``{"d":{"results":[…],"__next"}}`` and ``{"d":[…]}``; ``/Date(ms)/``;
  ``null`` for empty text [S]; codes padded in char columns [S] (compared stripped).
  ``__count`` as text [U]; ``$orderby``/``$inlinecount`` honoured [U].
* Errors [S]: ``{"error":{"code","message":{"lang","value"},"innererror"}}``.
* ``SalesOrderHeader`` read [V]: ``SalesOrderNumber`` (key), ``SalesOrderDate``,
  ``OrderDebtor``, ``CurrencyCode``, ``PaymentCondition``, ``ShippingVia``,
  ``YourReference``, ``Completed``, ``TotalAmountExcludingVAT``/``TotalAmount``
  (read-only totals, also the write confirmation), ``OrderDebtor*``/``DeliveryDebtor*``.
  ``Modified`` (the source's window) [U]: NOT in the documentation.
* ``SalesOrderLine`` read [V]: ``Itemcode``, ``Quantity``, ``Price``, ``NetPrice``,
  ``DiscountPercentage``, ``VATCode``, ``LineNumber``, ``SalesOrderNumber``;
  answer echoes ``TransactionKey`` [S: portway reads ``d.TransactionKey``].
* ``VAT`` [V names, S types]: ``VATCode``, ``Percentage``; ``Calculationbasis`` "I" =
  inclusive [U].
* ``Account`` [V]: read and written as ``AccountName``, ``EmailAddress``,
  ``PhoneNumber``, ``VATNumber``, ``DebtorCode``, ``CurrencyCode``, ``Contact*``;
  ``Mailing*`` as the debtor's address [U]; ``CustomerType "C"``/``AccountStatus "A"``
  codes [U]; person vs company (no such field: no VAT nor CoC number = person) [U].
* ``Items`` lookups [V]: ``ItemCode`` (key), ``GTIN``, ``IsStockItem``. Writes [U]:
  ``Description`` (documented: ``Description0..4``), ``Assortment`` (documented as a
  Number; the code is ``AssortmentCode``), the ``ID`` guid used as MERGE key (the
  documented key is ``ItemCode``), ``ItemCategory``/``ItemImage``/``ItemWarehouse``.
* Order writes [U]: the line and header field names come from the pair's default mapping
  (``connectors/exact_globe/defaults.py``: ``OrderDate``, ``Currency``, ``DeliveryAddressLine1``…,
  ``VATPercentage``, ``DiscountAmount``, ``AmountDC``), none of which is in Exact's
  documentation; the sandbox accepts them as aliases of the documented names
  (the sandbox's ``ALIASES``) so the demo runs, and serves only the documented ones.
* ``Contact`` entity [U] (documented as ``ContactPerson``), ``$batch`` [U].

Nothing is re-exported here: import each name from the module that defines it, so
reading a connector's ``defaults`` (DAG parsing) never loads its HTTP client.
"""
