"""Airflow hook for Lightspeed Retail (R-Series): Connection in, settings and target out.

Connection layout (conn_type ``lightspeed_retail``):

* ``host``: the API address incl. scheme, default ``https://api.lightspeedapp.com``; a
  sandbox's ``http://127.0.0.1:PORT``.
* ``login`` / ``password``: the API client's client id / client secret.
* ``extra``: ``{"refresh_token": "..."}`` (required: the token the app was authorized
  with; it only seeds the shared token store, see :mod:`.auth`), and optionally
  ``account_id`` (else read from ``/API/V3/Account.json``), ``token_url``, ``shop_id``,
  ``register_id``, ``employee_id`` (all default 1), ``payment_types`` ({payment method:
  paymentTypeID, "*": fallback}), ``default_payment_type_id`` (1),
  ``prices_include_tax`` (default: the shop's tax category says), ``item_attribute_set_id``
  (4), ``page_size`` (100), ``reference_source`` ("shopbridge"), ``write_cost`` (10),
  ``sale_write_cost`` (2), ``refresh_skew_s`` (60). See :class:`LightspeedRetailSettings`.

The token store is the ledger database (``SHOPBRIDGE_LEDGER_URL``), shared by every worker.
The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from shopbridge.connectors._kit.hook import VendorHook
from shopbridge.connectors.base import Endpoint
from shopbridge.connectors.lightspeed_retail.client import (
    DEFAULT_BASE_URL,
    LightspeedRetailClient,
    LightspeedRetailSettings,
)
from shopbridge.connectors.lightspeed_retail.target import LightspeedRetailTarget

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderTarget, ProductTarget, StockTarget


class LightspeedRetailHook(
    VendorHook[LightspeedRetailSettings, LightspeedRetailClient, Endpoint, LightspeedRetailTarget]
):
    """Builds a :class:`LightspeedRetailTarget` (orders, customers, products and stock go
    in) from the Connection. Lightspeed Retail is a target only in shopbridge."""

    conn_type = "lightspeed_retail"
    default_host = DEFAULT_BASE_URL
    credentials_into: ClassVar[Mapping[str, str]] = {
        "login": "client_id",
        "password": "client_secret",
    }

    def target(
        self, settings: LightspeedRetailSettings, client: LightspeedRetailClient
    ) -> LightspeedRetailTarget:
        """The target every flow writes to: an ``OrderTarget``, ``ProductTarget`` and
        ``StockTarget`` in one object."""
        return LightspeedRetailTarget.from_settings(settings, client)

    def probe(self, client: LightspeedRetailClient, settings: LightspeedRetailSettings) -> str:
        """One ``Account.json`` read (refreshing the token if needed)."""
        account = client.probe()
        return f"OK, account {account.get('accountID')} ({account.get('name', '')})"


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _TARGET_SERVES: tuple[type[OrderTarget], type[ProductTarget], type[StockTarget]] = (
        LightspeedRetailTarget,
    ) * 3
