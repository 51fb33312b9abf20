"""Airflow hook for Exact Globe: Connection in, settings, target and source out (STYLE R9).

Connection fields:

* ``host`` (may carry the scheme, e.g. ``http://globe01``), ``port`` (often 8020 [S]),
  ``schema`` (the scheme when ``host`` has none; Globe's service is usually plain http);
* ``login``/``password``: a Globe employee's Windows account with the function rights;
* ``extra``: ``{"server_name": "SQL01", "database_name": "600", "auth": "ntlm"|"basic",
  "page_size": 100, "write_mode": "batch"|"single", "batch_size": 50,
  "default_warehouse": "1", "timezone": "Europe/Amsterdam", "currency": "EUR"}``;
  ``server_name`` and
  ``database_name`` select the administration; ``write_mode``/``batch_size`` are
  documented on :class:`ExactGlobeSettings` ("single" for a Globe that refuses ``$batch``);
  ``default_warehouse`` takes stock levels without a location; ``timezone`` is the Globe
  server's zone (its timestamps are naive local time); ``currency`` is the
  administration's own currency, for ERP orders whose header and debtor name none
  (unset: such an order is quarantined naming ``header.CurrencyCode``).

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from shopbridge.connectors._kit.hook import VendorHook
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, ExactGlobeSettings
from shopbridge.connectors.exact_globe.source import ExactGlobeSource
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.errors import FatalError, ShopbridgeError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderSource, OrderTarget, ProductTarget, StockTarget


class ExactGlobeHook(
    VendorHook[ExactGlobeSettings, ExactGlobeClient, ExactGlobeSource, ExactGlobeTarget]
):
    """Builds an :class:`ExactGlobeTarget` (orders, customers, products and stock go in) or
    an :class:`ExactGlobeSource` (ERP-entered orders come out) from the Connection."""

    conn_type = "exact_globe"
    credentials_into: ClassVar[Mapping[str, str]] = {"login": "user", "password": "password"}

    def target(self, settings: ExactGlobeSettings, client: ExactGlobeClient) -> ExactGlobeTarget:
        """The target every flow writes to: an ``OrderTarget``, ``ProductTarget`` and
        ``StockTarget`` in one object."""
        return ExactGlobeTarget(client, default_warehouse=settings.default_warehouse)

    def source(self, settings: ExactGlobeSettings, client: ExactGlobeClient) -> ExactGlobeSource:
        """The ``OrderSource`` of the ERP -> webshop orders flow."""
        return ExactGlobeSource(client, timezone=settings.timezone, currency=settings.currency)

    def probe(self, client: ExactGlobeClient, settings: ExactGlobeSettings) -> str:
        """One ``Items?$top=1`` call."""
        client.probe()
        return (
            f"connected to Exact Globe administration {settings.database_name} "
            f"on {settings.server_name}"
        )

    def rejected(self, exc: ShopbridgeError, settings: ExactGlobeSettings) -> str:
        """Globe refuses an unknown server or administration with a 4xx."""
        if isinstance(exc, FatalError):
            return (
                f"Exact Globe did not accept administration {settings.database_name!r} on "
                f"server {settings.server_name!r} (connection {self.conn_id!r}: check "
                f"extra.server_name/database_name): {exc}"
            )
        return super().rejected(exc, settings)


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _TARGET_SERVES: tuple[type[OrderTarget], type[ProductTarget], type[StockTarget]] = (
        ExactGlobeTarget,
    ) * 3
    _SOURCE_SERVES: tuple[type[OrderSource]] = (ExactGlobeSource,)
