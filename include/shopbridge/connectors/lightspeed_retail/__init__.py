"""Lightspeed Retail POS (R-Series, API V3) as an order, customer, product and stock target.

Layout: ``tokens`` (the shared token store: compare-and-swap, SQL and in-memory),
``auth`` (OAuth2 with rotating refresh tokens, an ``httpx.Auth``), ``ratelimit`` (the leaky
bucket: cost model and pacing, shared with the sandbox), ``client`` (HTTP, cursors,
filters), ``translate`` (pure canonical <-> vendor payloads), ``target`` (the one object
every flow writes to), ``defaults`` (default field mappings) and ``hook`` (Airflow); the
FastAPI fake is the dev kit's ``shopbridge_dev.sandboxes.lightspeed_retail``. This package
does not import ``hook`` (Airflow), so clients stay light (STYLE R1).

Nothing is re-exported here: import each name from the module that defines it, so that
importing ``.defaults`` (DAG parsing) never pulls in the client, httpx auth or SQLAlchemy.

What the connector relies on, [V] verified by a recorded answer or the vendor's own doc
example in ``tests/contracts/lightspeed_retail`` (see ``tests/contracts/SOURCES.md``),
[U] unverified:

* Envelopes [V]: every scalar a string (``"qoh":"45"``, ``"completed":"true"``); one child
  an object, several a list (``SaleLines.SaleLine``, ``ItemShops.ItemShop``,
  ``Prices.ItemPrice``); an empty relation ``""``; a list with no match has no entity key.
* Paging [V]: ``@attributes {next, previous}`` (V3 docs) and ``{count, offset, limit}``
  (recorded); ``count=1`` answers ``{"count": "764"}``. A count that disagrees with the rows
  read is a ``FatalError`` (:class:`~shopbridge.connectors._kit.pages.OffsetCount`).
* Errors [V]: ``{"httpCode","httpMessage","message","errorClass"}`` for 400/401/404; OAuth
  ``{"error","error_description","hint"}``. 422 and 429 bodies [U] (none recorded).
* Account [V]: ``accountID``. Token answer [V, doc]: ``access_token``, ``refresh_token``,
  ``expires_in`` (a number).
* Item [V]: ``itemID``, ``customSku`` (our item code; echoed by a create, ``""`` when
  none), ``ean``, ``itemMatrixID``, ``itemType``, ``Prices.ItemPrice{amount, useType}``
  (Default and MSRP, Online in V3), ``ItemShops`` in write answers. ``manufacturerSku`` as
  the parent SKU of a matrix's items [U] (see :data:`~.translate.PARENT_SKU_FIELD`).
* ItemShop [V]: ``itemShopID``, ``shopID`` (``"0"`` is the total over the shops, ignored
  unless it is the only row), ``qoh`` (a string).
* ItemMatrix [V]: ``itemMatrixID``, ``itemAttributeSetID``; the system attribute sets
  [V, recorded: 1 Color/Size, 2 Size, 3 Color, 4 "3 Attributes"].
* Sale [V]: a write answers ``saleID``, ``completed``, ``total``, ``calcTotal``,
  ``balance``, ``SaleLines``, ``SalePayments``; a sale that cannot complete stays open
  with a ``balance``; only a sale that is not completed can be archived (``DELETE``).
  ``referenceNumber``/``referenceNumberSource`` searchable with ``IN`` [U]; a completed
  sale's ``referenceNumberSource`` still writable [U].
* Customer [V]: ``customerID``, ``firstName``, ``lastName``, ``company``, ``vatNumber``,
  ``Contact{Emails, Phones, Addresses}`` (each ``""`` when empty; a new contact gets one
  address of empty fields); searching ``Contact.email`` with ``IN`` [U].
* Category [V]: ``categoryID``, ``name``, ``parentID``; names may repeat under one parent.
* Shop [V]: ``TaxCategory{isTaxInclusive, tax1Rate, tax2Rate}``.
* Currency: R-Series sales carry none (the account's own); nothing is sent [V, absent from
  every recorded sale].
"""
