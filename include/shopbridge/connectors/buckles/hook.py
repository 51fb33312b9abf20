"""Airflow hook for Buckles: Connection in, settings, source and target out (STYLE R9).

Connection layout (conn_type ``buckles``):

* ``host``: the API's base URL without ``/api/v1`` (ASSUMPTION [U]: no public Buckles API
  address is known), or a sandbox's ``http://127.0.0.1:PORT``; without a scheme it gets
  ``https://``;
* ``password``: the API token (sent as ``Authorization: Bearer``); ``login`` is unused;
* ``extra`` (all optional): ``{"per_page": 100, "rate_limit_per_minute": 120,
  "channel": ""}``, documented on :class:`BucklesSettings`.

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from shopbridge.connectors._kit.hook import VendorHook
from shopbridge.connectors.buckles.client import BucklesClient, BucklesSettings
from shopbridge.connectors.buckles.source import BucklesSource
from shopbridge.connectors.buckles.target import BucklesTarget

if TYPE_CHECKING:
    from shopbridge.connectors.base import (
        CheckoutTarget,
        CustomerSource,
        OrderTarget,
        ProductTarget,
        ShipmentSource,
        ShipmentTarget,
        StockSource,
    )


class BucklesHook(VendorHook[BucklesSettings, BucklesClient, BucklesSource, BucklesTarget]):
    """Builds a :class:`BucklesTarget` (orders, customers, products, shipments and
    checkouts go in) or a :class:`BucklesSource` (stock, customers, shipments come out)."""

    conn_type = "buckles"
    credentials_into: ClassVar[Mapping[str, str]] = {"password": "token"}

    def source(self, settings: BucklesSettings, client: BucklesClient) -> BucklesSource:
        """The stock, customers and shipments source."""
        return BucklesSource(client)

    def target(self, settings: BucklesSettings, client: BucklesClient) -> BucklesTarget:
        """The orders, products, shipments and checkouts target."""
        return BucklesTarget(client, channel=settings.channel)

    def probe(self, client: BucklesClient, settings: BucklesSettings) -> str:
        """One ``GET orders?per_page=1``."""
        return f"OK, {client.ping()} order(s) in Buckles"


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _TARGET_SERVES: tuple[
        type[OrderTarget], type[ProductTarget], type[ShipmentTarget], type[CheckoutTarget]
    ] = (BucklesTarget,) * 4
    _SOURCE_SERVES: tuple[type[StockSource], type[CustomerSource], type[ShipmentSource]] = (
        BucklesSource,
    ) * 3
