"""Fortnox (Swedish cloud ERP/accounting, REST v3) as a source of orders, products and stock.

Layout: ``client`` (HTTP, OAuth refresh-token auth, self-pacing to 25 requests per 5 s,
``MetaInformation`` paging), ``translate`` (pure Fortnox -> canonical), ``source`` (the
``OrderSource``/``ProductSource``/``StockSource`` in one object) and ``hook`` (Airflow);
the FastAPI fake is the dev kit's ``shopbridge_dev.sandboxes.fortnox``. This package does
not import ``hook`` (Airflow), so clients stay light (STYLE R1).

Fields the project relies on, **[V]** verified by a response recorded from the live API
(``tests/contracts/fortnox/``, sources in ``tests/contracts/SOURCES.md``) or **[U]** unverified (API
descriptions, SDK types); :mod:`.translate` explains how each is read:

* envelopes ``{"Order": {...}}``, ``{"Orders": [...], "MetaInformation": {"@TotalResources",
  "@TotalPages", "@CurrentPage"}}`` [V], ``@TotalPages 0`` for an empty list [V]; list rows
  are subsets (no ``OrderRows``; articles without ``Active``/``StockGoods``) [V];
* order: ``DocumentNumber`` (string) [V], ``OrderDate`` [V], ``Currency`` [V], ``Total``,
  ``TotalVAT``, ``Freight``, ``FreightVAT``, ``RoundOff``, ``AdministrationFee`` (numbers)
  [V; RoundOff inside Total: U], ``VATIncluded`` [V false; true: U], ``Cancelled``,
  ``InvoiceReference`` (``"0"``; a number 0 in 2020), ``NotCompleted``, ``DeliveryState``
  (``"delivery"`` on a new order), ``WarehouseReady``, ``Sent`` [V], its own address and
  ``EmailInformation.EmailAddressTo`` [V], ``YourReference``, ``WayOfDelivery``,
  ``TermsOfPayment`` [V];
* order row: ``ArticleNumber`` [V], ``OrderedQuantity``/``DeliveredQuantity`` as strings
  [V], ``Price`` [V], ``VAT`` (percent) [V], ``Discount`` + ``DiscountType`` ``PERCENT``
  [V] / ``AMOUNT`` [U], ``Description`` [V]; a text row's shape [U];
* customer: ``CustomerNumber``, ``Type`` (``COMPANY`` default) [V], ``Name`` [V], ``Email``
  (``""``) [V], ``CountryCode``/``Country``/``Address1``/``ZipCode``/``City``/``Phone1``
  (``null``) [V], ``VATNumber`` [V ""], ``PRIVATE`` customers [U];
* country names on documents: ``"Sverige"`` and English ISO names [V];
* article: ``ArticleNumber``, ``Description``, ``EAN``, ``SalesPrice`` (``null``) [V],
  ``VAT``, ``Active``, ``WebshopArticle``, ``StockGoods``, ``QuantityInStock`` and
  ``ReservedQuantity`` (strings on list rows) [V], ``Manufacturer`` (``null``) [V];
  ``SalesPrice`` excl. VAT [U];
* errors: ``ErrorInformation`` with ``Error/Message/Code`` (404) or ``error/message/code``
  (400) [V], ``{"message": "unauthorized"}`` (401) [V], a 429's body [U]; the token
  endpoint's answer and ``invalid_grant``/``invalid_client`` refusals [V];
* warehouse stock balances and stock points [U] (no public recording); refresh-token
  single use [U]; ``lastmodified`` in Swedish time [U].

Nothing is re-exported here: import each name from the module that defines it, so
reading a connector's ``defaults`` (DAG parsing) never loads its HTTP client.
"""
