"""Airflow hook for Lightspeed eCom: Connection in, client, source and target out (STYLE R9).

Connection layout (conn_type ``lightspeed_ecom``):

* ``host``: API address incl. scheme, default ``https://api.webshopapp.com`` (eu1);
  ``https://api.shoplightspeed.com`` for us1, or a sandbox's ``http://127.0.0.1:PORT``.
* ``login`` / ``password``: the shop's API key / API secret.
* ``extra``: ``{"language": "nl", "page_size": 250}``; as an order target also
  ``order_lookup_days`` (default 30: how far back ``find_orders`` looks); as a product
  target ``item_code_field`` (default ``data01``: the product text field that keeps the
  item code of each product written, see :mod:`.catalogue_target`); and
  ``rate_limit_pause_s`` (default 330: how long a client sleeps out an emptied
  rate-limit window before it hands the wait to Airflow's task retry).

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from shopbridge.connectors._kit.hook import VendorHook
from shopbridge.connectors.lightspeed_ecom.client import (
    DEFAULT_BASE_URL,
    LightspeedEcomClient,
    LightspeedEcomSettings,
)
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.connectors.lightspeed_ecom.target import LightspeedEcomTarget

if TYPE_CHECKING:
    from shopbridge.connectors.base import (
        OrderSource,
        OrderTarget,
        ProductSource,
        ProductTarget,
        StockSource,
        StockTarget,
    )


class LightspeedEcomHook(
    VendorHook[
        LightspeedEcomSettings, LightspeedEcomClient, LightspeedEcomSource, LightspeedEcomTarget
    ]
):
    """Builds a :class:`LightspeedEcomSource` and a :class:`LightspeedEcomTarget` from an
    Airflow Connection."""

    conn_type = "lightspeed_ecom"
    default_host = DEFAULT_BASE_URL
    credentials_into: ClassVar[Mapping[str, str]] = {"login": "key", "password": "secret"}

    def source(
        self, settings: LightspeedEcomSettings, client: LightspeedEcomClient
    ) -> LightspeedEcomSource:
        """The one source every flow reads from: orders, customers, products, stock,
        shipments and checkouts."""
        return LightspeedEcomSource(client)

    def target(
        self, settings: LightspeedEcomSettings, client: LightspeedEcomClient
    ) -> LightspeedEcomTarget:
        """The one target every flow writes to: orders (through the checkout API),
        products and stock. ``extra.order_lookup_days`` bounds its order lookup,
        ``extra.item_code_field`` names the product field holding item codes."""
        return LightspeedEcomTarget(
            client,
            lookup_days=settings.order_lookup_days,
            item_code_field=settings.item_code_field,
        )

    def probe(self, client: LightspeedEcomClient, settings: LightspeedEcomSettings) -> str:
        """One ``orders/count.json``."""
        return f"OK, the shop has {client.count_orders()} orders"


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _TARGET_SERVES: tuple[type[OrderTarget], type[ProductTarget], type[StockTarget]] = (
        LightspeedEcomTarget,
    ) * 3
    _SOURCE_SERVES: tuple[type[OrderSource], type[ProductSource], type[StockSource]] = (
        LightspeedEcomSource,
    ) * 3
