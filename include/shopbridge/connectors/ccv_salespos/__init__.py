"""CCV SalesPOS (the CCV Shop REST API, ``/api/rest/v1/``): signed client, translation,
an order target (webshop orders go to the till) and a products and stock source.

Layout: ``_signing`` (the ``x-hash`` scheme, shared with the sandbox), ``_limiter`` (the
per-minute windows), ``client`` (signed, verified, paced HTTP), ``translate`` (pure CCV
JSON <-> canonical), ``source`` (``ProductSource`` + ``StockSource``), ``target``
(``OrderTarget``), ``defaults`` (default mappings) and ``hook`` (Airflow); the FastAPI fake
is the dev kit's ``shopbridge_dev.sandboxes.ccv_salespos``. This package does not import
``hook`` (Airflow), so clients stay light (STYLE R1).

Fields the project relies on. [V] = seen in a recording in ``tests/contracts/ccv_salespos``
(a live shop's order, order row and webhooks); [S] = the vendor's JSON schema (as generated
into jacobdekeizer/ccvshop-client) or SDK; [U] = unverified.

* order [V]: ``id``, ``ordernumber`` (int), ``ordernumber_full``, ``reservationnumber``
  (``""`` when unset), ``transaction_id`` (``null``), ``total_price``,
  ``total_orderrow_price``, ``total_shipping``, ``currency``, ``taxes_included``,
  ``order_row_taxes_included``, ``shipping_taxes_included``, ``status`` (int 1..14:
  1 New, 2 In process, 3 Wait for manufacturer, 4 Wait for payment, 5 Sent, 6 Delivered,
  7 Completed, 8 Cancelled, 9 Wait for supplier, 10 Is being packaged, 11 Ready to be
  collected, 12 Is being assembled, 13 Backorder, 14 Reserved), ``paid``, ``is_completed``;
  ``orderrows`` is a link ``{"href"}`` [V], not embedded; ``customer.billingaddress`` has
  first/last/full name, ``customer.deliveryaddress`` ``full_name`` only [V]; an empty
  address has ``housenumber: null`` and ``country_code: null`` [V].
* order row [V]: ``product_id``, ``product_number``, ``sub_sku_number``,
  ``sub_ean_number`` (``""`` on a product without combinations), ``count``, ``price``
  (before the discount), ``discount``, ``tax``, ``total_price``, ``selling_price``,
  ``price_without_discount``, ``unit``, ``product_type``.
* webhook [V]: ``id``, ``order_number`` (not ``ordernumber``), ``total_price``, ``status``
  and ``previous_status``, ``paid``, ``customer_email``.
* product [S]: ``id``, ``productnumber``, ``eannumber``, ``name``, ``description``
  (``null`` allowed), ``price``, ``discount``, ``vatrate`` (deprecated), ``taxtariff``,
  ``stockenabled``/``stocktype``/``stock`` (each ``null`` allowed), ``stocklocation``,
  ``unit`` (``null`` allowed), ``brand`` (``{id, name}`` or ``null``), ``is_visible``,
  ``modifydate``.
* attribute combination [S]: ``id``, ``product_id``, ``stock``, ``netto_extra_price``,
  ``product_number``, ``ean_number``, ``sku_number``, ``active``, ``combination[]`` of
  ``{attribute{name}, attribute_value{name}, extra_price}``.
* category [S]: ``id``, ``name``, ``parentcategory`` (``{id, href}`` or ``null``);
  producttocategories [S]: ``product_id``, ``category_id``.
* shop settings [S]: ``currency`` and ``prices_include_vat`` (each ``null`` allowed).
* collections [S]: ``{"href","start","size","first","previous","next","items"}``, paged
  by ``next``; that ``start`` counts the rows before the page is [U] (checked, see
  ``_kit.pages.NextLink``); an answer without ``items`` is the one resource [S: SDK].
* ``POST orders`` [S]: the body's ``customer.deliveryaddress`` takes ``full_name``, no
  first/last name; the answer is the order resource, sometimes empty [S: SDK comment].
* errors [S: SDK ``ExceptionFactory``]: ``{"code","status","developermessage"}``, codes
  ``404.20``, ``405.10``, ``429.10``/``429.11``, ``500.xx``, ``501.xx``; no 401 body is
  documented or recorded [U].
* webshop [V]: an order's ``user.id`` is text (``"24464274"``) where the schema says an
  integer; ``paymethod_id`` a number.
* ``stocktype`` values ``product``/``attributecombination`` [U]; ``taxtariff`` rates [U];
  how ``total_price`` adds shipping [U] (see ``translate.expected_total``).

Nothing is re-exported here: import each name from the module that defines it, so
reading a connector's ``defaults`` (DAG parsing) never loads its HTTP client.
"""
