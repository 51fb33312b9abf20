"""Buckles (order hub and fulfilment tool): client, translation, a target for orders,
customers, products, shipments and checkouts, and a source for stock, customers and
shipments.

No public Buckles API, OpenAPI spec, SDK or example payload exists (VENDOR_APIS.md §7;
tests/contracts/SOURCES.md, section buckles lists what was searched). The API below is ASSUMED,
written down so the connector can be pointed at the real one by changing ``client.py``
and ``translate.py`` only; the sandbox speaks exactly this. Markers: [V] verified (here:
stated by Buckles' own knowledge base, or by a Lightspeed recording in
tests/contracts/buckles), [U] unverified. Every Buckles field name, type and envelope is
[U]: no Buckles recording exists to verify one.

What Buckles' knowledge base states [V]: Lightspeed orders arrive by webhook whatever
their payment status; products are matched on barcode (EAN) or SKU; a shipped order is
Completed (Buckles has no shipped status); only Processing orders reach a WMS; Buckles'
statuses are Pending payment, Processing, On hold, Partially shipped, Completed,
Cancelled, Refunded, Partially refunded, Returned, Partially returned, Failed; shipments
carry carrier and track & trace back to the shop; customers sync both ways.

What the Lightspeed recordings show the hub must take [V]: order lines with ``"sku": ""``
and the code in ``articleCode`` (or, in real accounts, only an EAN); customers without
street or city, some without e-mail; ``false`` for empty fields; no currency on the order
(the shop's); unit prices with extra precision.

ASSUMPTION [U] auth: ``Authorization: Bearer <API token>`` (the Connection's password). A
missing or wrong token is ``401 {"error": "..."}``.

ASSUMPTION [U] base and envelopes: everything under ``{host}/api/v1/``; JSON both ways.
One record is ``{"data": {...}}``; an error is ``{"error": "<text>", "field": "<name>"}``
(``field`` when one field is at fault) with 400 (bad JSON), 404 (no such record), 409
(a unique key exists; the body adds the existing ``id``) or 422 (validation).

ASSUMPTION [U] lists: ``?page=N&per_page=M`` (1-based, ``per_page`` at most 100; more is
capped) answering ``{"data": [...], "meta": {"page", "per_page", "total"}}``, ordered by
``id``; the pages must add up to ``total`` (else the read fails). ``updated_since``
(inclusive) and ``updated_before`` (exclusive) filter on ``updated_at`` (ISO 8601 UTC,
``Z``). List filters take comma-separated values: ``orders?channel_order_id=``,
``customers?email=`` / ``?customer_number=``, ``products?sku=`` / ``?barcode=``,
``stock?sku=``.

ASSUMPTION [U] rate limit: 600 requests per minute per token (a sliding minute); beyond
it ``429`` with ``Retry-After`` in seconds. (Buckles' fair use is 15,000 requests per
connection per month [V]; no per-minute figure is published.)

ASSUMPTION [U] money and quantities: decimal text (``"12.50"``); numbers are accepted on
input. VAT rates are percentages (``"21"``). Timestamps ISO 8601 UTC with ``Z``.

ASSUMPTION [U] resources and field names (the statuses' names [V], their spelling [U]):

* ``orders``: ``id``, ``channel`` (the channel's system, e.g. ``lightspeed_ecom``),
  ``channel_order_id`` (our reference; unique per channel: a second POST is 409),
  ``number``, ``status`` (``pending_payment``, ``processing``, ``on_hold``,
  ``partially_shipped``, ``completed``, ``cancelled``, ``refunded``,
  ``partially_refunded``, ``returned``, ``partially_returned``, ``failed``),
  ``customer_id``, ``email`` (may be ""), ``currency`` (required, ISO 4217),
  ``payment_status``, ``payment_method``, ``shipping_method``, ``ordered_at``,
  ``prices_include_tax``, ``billing_address``/``shipping_address`` (``name``,
  ``company`` + an address), ``shipping_cost``, ``discount``, ``total`` (the channel's
  own order total), ``lines`` (``sku``, ``barcode`` (the EAN the channel sent), ``name``,
  ``qty``, ``price`` per unit before the line discount, ``tax_rate``, ``discount`` per
  line; a line must name a sellable product by its ``sku``, else its ``barcode``),
  ``shipments`` (embedded), ``created_at``, ``updated_at``. ``POST orders`` answers the
  created order (its id, reference, lines and total are what confirms the write),
  ``GET orders[/{id}]``.
* ``customers``: ``id``, ``email`` (unique when set; may be ""), ``customer_number`` (the
  channel's own number of the customer, unique when set), ``first_name``, ``last_name``,
  ``company`` (non-empty: a company customer), ``vat_number``, ``phone``, ``address``
  (``street``, ``house_number``, ``house_number_ext``, ``postcode``, ``city``,
  ``country`` ISO-2 or "": any part may be empty, or the address ``{}``), ``created_at``,
  ``updated_at``. ``GET``, ``POST``, ``PATCH customers/{id}``.
* ``products``: flat, one per SKU: ``id``, ``sku`` (unique), ``barcode`` (EAN, unique
  when set, may be ""), ``title``, ``description``, ``brand``, ``price`` (excl. VAT; may be
  ``null``), ``tax_rate``, ``parent_sku`` (a variant's configurable parent),
  ``is_parent`` (the parent itself, not sold), ``attributes`` (free name -> text),
  ``category_ids``, ``updated_at``. ``GET``, ``POST``, ``PATCH products/{id}``. No images.
* ``categories``: a flat list ``id``, ``path`` (names joined with ``" > "``, unique).
  ``GET``, ``POST``.
* ``stock``: one row per SKU: ``sku``, ``barcode`` (the product's), ``on_hand``,
  ``reserved`` (open order quantity), ``updated_at``. Read only (Buckles is the stock
  master).
* ``shipments``: ``id``, ``order_id``, ``status`` (``shipped``/``pending``), ``carrier``,
  ``tracking_code``, ``reference`` (the channel's shipment id), ``shipped_at``,
  ``updated_at``, ``lines`` (``sku``, ``qty``). ``GET shipments``; ``POST
  orders/{id}/shipments`` adds one, or updates the order's shipment with the same
  ``tracking_code`` (else the same ``reference``); a shipped one completes the order.
* ``checkouts``: ``id``, ``channel_checkout_id``, ``channel``, ``email``, ``currency``
  (required), ``lines`` (``sku``, ``name``, ``qty``, ``price_incl``), ``total``,
  ``channel_order_id`` (once ordered), ``created_at``, ``updated_at``. ``PUT
  checkouts/{channel_checkout_id}`` upserts; ``GET checkouts``.

Layout: ``_limits`` (the per-minute window, shared with the sandbox), ``client``,
``translate`` (pure), ``source``, ``target``, ``defaults`` (default mappings) and ``hook``
(Airflow); the FastAPI fake is the dev kit's ``shopbridge_dev.sandboxes.buckles``.
Nothing is re-exported here: import each name from the module that defines it, so reading
``defaults`` (DAG parsing) never loads the HTTP client.
"""
