"""Airflow hook for CCV SalesPOS: Connection in, settings, source and target out (STYLE R9).

Connection layout (conn_type ``ccv_salespos``):

* ``host``: the shop's own domain incl. scheme (``https://mijnwinkel.ccvshop.nl``), or a
  sandbox's ``http://127.0.0.1:PORT``; a host without a scheme gets ``https://``;
* ``login`` / ``password``: the API's public key / secret key;
* ``extra`` (all optional): ``{"page_size": 100, "rate_limit_per_resource": 120,
  "rate_limit_total": 600, "api_schema": "webshop"|"salespos", "prices_include_tax":
  true, "currency": "EUR", "reference_field": "reservationnumber"|"transaction_id",
  "order_lookup_days": 30}``, documented on :class:`CcvSalesposSettings`.
  ``prices_include_tax`` and ``currency`` default to the shop's own settings
  (``GET webshops/{id}/settings``). Set the two
  rate limits to the shop's own per-minute limits (ask CCV: they are not published).

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from shopbridge.connectors._kit.hook import VendorHook
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient, CcvSalesposSettings
from shopbridge.connectors.ccv_salespos.source import CcvSalesposSource
from shopbridge.connectors.ccv_salespos.target import CcvSalesposTarget
from shopbridge.errors import ShopbridgeError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderTarget, ProductSource, StockSource


class CcvSalesposHook(
    VendorHook[CcvSalesposSettings, CcvSalesposClient, CcvSalesposSource, CcvSalesposTarget]
):
    """Builds a :class:`CcvSalesposTarget` (orders go in) or a :class:`CcvSalesposSource`
    (products and stock come out) from the Connection."""

    conn_type = "ccv_salespos"
    credentials_into: ClassVar[Mapping[str, str]] = {
        "login": "public_key",
        "password": "secret_key",
    }

    def source(self, settings: CcvSalesposSettings, client: CcvSalesposClient) -> CcvSalesposSource:
        """The products and stock source (a ``ProductSource`` and ``StockSource``)."""
        return CcvSalesposSource(
            client, prices_include_tax=settings.prices_include_tax, currency=settings.currency
        )

    def target(self, settings: CcvSalesposSettings, client: CcvSalesposClient) -> CcvSalesposTarget:
        """The orders target (an ``OrderTarget``)."""
        return CcvSalesposTarget(
            client,
            reference_field=settings.reference_field,
            lookup_days=settings.order_lookup_days,
        )

    def probe(self, client: CcvSalesposClient, settings: CcvSalesposSettings) -> str:
        """One ``GET webshops``."""
        shops = client.webshops(size=1)
        shop = shops[0] if shops else {}
        return f"OK, webshop {shop.get('name', '?')!r} (id {shop.get('id', '?')})"

    def rejected(self, exc: ShopbridgeError, settings: CcvSalesposSettings) -> str:
        """An answer not signed with the secret key: a wrong key or another host."""
        text = str(exc)
        if "signature" not in text and "not signed" not in text:
            return super().rejected(exc, settings)
        return (
            f"the answers of {settings.base_url} are not signed with the secret key of "
            f"connection {self.conn_id!r} (check password, and that host is the shop's own "
            f"address): {exc}"
        )


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _TARGET_SERVES: tuple[type[OrderTarget]] = (CcvSalesposTarget,)
    _SOURCE_SERVES: tuple[type[ProductSource], type[StockSource]] = (CcvSalesposSource,) * 2
