"""Lightspeed eCom (C-Series): client, translation, source (orders, customers, products,
stock, shipments, checkouts) and target (orders, products, stock, shipments).

``hook`` (Airflow) is deliberately not imported here, so importing the client does not pull
it in (STYLE R1); the FastAPI fake is the dev kit's ``shopbridge_dev.sandboxes.lightspeed_ecom``.

Nothing is re-exported here: import each name from the module that defines it, so
reading a connector's ``defaults`` (DAG parsing) never loads its HTTP client.

Fields the project relies on: [V] verified by a payload in ``tests/contracts/
lightspeed_ecom`` (a recorded delivery, a trimmed live response or the vendor's documented
example; see ``tests/contracts/SOURCES.md``), [U] unverified. Details per field in
:mod:`.translate`.

* Envelopes: ``{"order": {...}}``, ``{"orders": [...]}``, ``{"orderProducts": [...]}``,
  ``{"shop": {...}}`` [V]; ``{"count": N}`` [U]; errors ``{"error": {"code", "message"}}``
  [V: SDK fixtures with the vendor's messages], ``method``/``request`` keys [U].
* Order: ``id``, ``number``, ``createdAt``, ``updatedAt``, ``status``, ``paymentStatus``,
  ``shipmentStatus``, ``priceExcl``/``priceIncl`` (order total), ``shipmentPriceExcl``/
  ``Incl``, ``shipmentTitle``, ``paymentTitle``, ``isDiscounted``, ``discountAmount``,
  ``discountCouponCode``, ``customer`` reference, ``addressBilling*``/``addressShipping*``
  (``""`` when never typed), ``customStatusId`` ``null`` [V]; ``customStatusId`` ``0`` [U];
  no ``currency`` [V] (``shop.json`` ``currency.shortcode`` [V]); ``paymentPriceExcl``
  (a fee) [V] but not bookable (no canonical field: the totals check quarantines it).
* Order line: ``quantityOrdered``, ``basePriceExcl``/``Incl`` (unit), ``priceExcl``/
  ``Incl`` (LINE TOTAL), ``discountExcl``/``Incl`` (line, in total), ``taxRate``,
  ``sku``/``articleCode``/``ean`` (``"sku": ""`` common), ``productTitle``,
  ``variantTitle`` (free text) [V].
* Variant: ``sku``/``articleCode``/``ean``, ``priceExcl`` (4 decimals), ``priceIncl``,
  ``stockTracking`` (``enabled``/``disabled``/``indicator``), ``stockLevel``, ``product``
  and ``tax`` references (``tax`` ``false`` when unset) [V]; ``title`` as ``"Name: value"``
  for matrix variants [U].
* Product: ``title``, ``fulltitle``, ``content``, ``description``, ``isVisible``,
  ``visibility``, ``brand`` (``false`` or a reference), ``data01``-``03`` [V]; the
  relations' embedded rows (filled by the source) [V shapes].
* Shipment: ``status``, ``trackingCode``, ``order`` reference, ``updatedAt`` [V];
  shipment products ``quantity``, ``sku``/``articleCode`` [V].
* Webhooks: enveloped body with ``embedded`` relations, ``\\/`` escapes [V]; a bare body
  [U, accepted]; ``X-Signature`` = md5(body + secret) [U: community thread].
* Rate limits: three windows in ``X-RateLimit-*`` headers [S]; plans differ (the
  documented account has 1000/12000/288000) [V].
"""
