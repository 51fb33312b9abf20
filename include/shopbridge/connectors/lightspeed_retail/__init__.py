"""Lightspeed Retail POS (R-Series, API V3) as an order, customer, product and stock target.

Layout: ``tokens`` (the shared token store: compare-and-swap, SQL and in-memory),
``auth`` (OAuth2 with rotating refresh tokens, an ``httpx.Auth``), ``ratelimit`` (the leaky
bucket: cost model and pacing, shared with the sandbox), ``client`` (HTTP, cursors,
filters), ``translate`` (pure canonical <-> vendor payloads), ``target`` (the one object
every flow writes to), ``defaults`` (default field mappings), ``sandbox`` (FastAPI fake)
and ``hook`` (Airflow). This package imports neither ``hook`` (Airflow) nor ``sandbox``
(FastAPI), so clients stay light (STYLE R1).

Public names are resolved on first use (PEP 562): importing ``.defaults``, which the
mapping layer does when DAG files are parsed, must not pull in the client, httpx auth or
SQLAlchemy.

What the connector relies on, [V] verified by a recorded answer or the vendor's own doc
example in ``tests/contracts/lightspeed_retail`` (see ``tests/contracts/SOURCES.md``),
[U] unverified:

* Envelopes [V]: every scalar a string (``"qoh":"45"``, ``"completed":"true"``); one child
  an object, several a list (``SaleLines.SaleLine``, ``ItemShops.ItemShop``,
  ``Prices.ItemPrice``); an empty relation ``""``; a list with no match has no entity key.
* Paging [V]: ``@attributes {next, previous}`` (V3 docs) and ``{count, offset, limit}``
  (recorded); ``count=1`` answers ``{"count": "764"}``. A count that disagrees with the rows
  read is a ``FatalError`` (:class:`~.client.Pages`).
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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopbridge.connectors.lightspeed_retail.auth import (
        DEFAULT_TOKEN_URL,
        RotatingTokenAuth,
        access_token_rejected,
    )
    from shopbridge.connectors.lightspeed_retail.client import (
        DEFAULT_BASE_URL,
        MAX_PAGE_SIZE,
        LightspeedRetailClient,
        LightspeedRetailSettings,
        NextLink,
        any_of,
        op,
    )
    from shopbridge.connectors.lightspeed_retail.ratelimit import BucketState, CostModel, Pacer
    from shopbridge.connectors.lightspeed_retail.target import (
        IMAGES_REFUSED,
        LightspeedRetailTarget,
    )
    from shopbridge.connectors.lightspeed_retail.tokens import (
        InMemoryTokenStore,
        SqlTokenStore,
        TokenSet,
        TokenStore,
        token_key,
    )
    from shopbridge.connectors.lightspeed_retail.translate import (
        SYSTEM,
        as_list,
        customer_body,
        fingerprint,
        item_body,
        matrix_body,
        sale_body,
    )

#: public name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    "BucketState": "ratelimit",
    "CostModel": "ratelimit",
    "DEFAULT_BASE_URL": "client",
    "DEFAULT_TOKEN_URL": "auth",
    "IMAGES_REFUSED": "target",
    "InMemoryTokenStore": "tokens",
    "LightspeedRetailClient": "client",
    "LightspeedRetailSettings": "client",
    "LightspeedRetailTarget": "target",
    "MAX_PAGE_SIZE": "client",
    "NextLink": "client",
    "Pacer": "ratelimit",
    "RotatingTokenAuth": "auth",
    "SYSTEM": "translate",
    "SqlTokenStore": "tokens",
    "TokenSet": "tokens",
    "TokenStore": "tokens",
    "access_token_rejected": "auth",
    "any_of": "client",
    "as_list": "translate",
    "customer_body": "translate",
    "fingerprint": "translate",
    "item_body": "translate",
    "matrix_body": "translate",
    "op": "client",
    "sale_body": "translate",
    "token_key": "tokens",
}

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TOKEN_URL",
    "IMAGES_REFUSED",
    "MAX_PAGE_SIZE",
    "SYSTEM",
    "BucketState",
    "CostModel",
    "InMemoryTokenStore",
    "LightspeedRetailClient",
    "LightspeedRetailSettings",
    "LightspeedRetailTarget",
    "NextLink",
    "Pacer",
    "RotatingTokenAuth",
    "SqlTokenStore",
    "TokenSet",
    "TokenStore",
    "access_token_rejected",
    "any_of",
    "as_list",
    "customer_body",
    "fingerprint",
    "item_body",
    "matrix_body",
    "op",
    "sale_body",
    "token_key",
]


def __getattr__(name: str) -> Any:
    """Import a public name's submodule the first time the name is used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
