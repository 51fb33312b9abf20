"""Airflow hook for Fortnox: Connection in, settings, client and source out (STYLE R9).

Connection layout (conn_type ``fortnox``):

* ``host``: the API address incl. scheme, default ``https://api.fortnox.se``, or a
  sandbox's ``http://127.0.0.1:PORT`` (which serves ``/oauth-v1/token`` too);
* ``login`` / ``password``: the integration's client id / client secret;
* ``extra``: ``{"refresh_token": "...", "stock": "article" | "warehouse",
  "stock_point": "HQ", "currency": "SEK", "timezone": "Europe/Stockholm",
  "page_size": 500, "auth_url": "https://apps.fortnox.se", "pace_margin_s": 0.2}``;
  only ``refresh_token`` is required (from the one-time authorisation of the
  integration, ``access_type=offline``).

Refresh tokens rotate on every use: the pair lives in the ledger database
(``SHOPBRIDGE_LEDGER_URL``, :class:`~shopbridge.store.tokens.RefreshTokens`), shared by every
worker and every later run (see :mod:`.auth`).

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from shopbridge.connectors._kit.hook import ProbeFailed, VendorHook
from shopbridge.connectors.base import Endpoint
from shopbridge.connectors.fortnox.auth import RefreshTokenRejected
from shopbridge.connectors.fortnox.client import DEFAULT_BASE_URL, FortnoxClient, FortnoxSettings
from shopbridge.connectors.fortnox.source import FortnoxSource
from shopbridge.store.tokens import RefreshTokens

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderSource, ProductSource, StockSource


class FortnoxHook(VendorHook[FortnoxSettings, FortnoxClient, FortnoxSource, Endpoint]):
    """Builds a :class:`FortnoxSource` (orders, products and stock come out) from the
    Connection."""

    conn_type = "fortnox"
    default_host = DEFAULT_BASE_URL
    credentials_into: ClassVar[Mapping[str, str]] = {
        "login": "client_id",
        "password": "client_secret",
    }

    def client(self, settings: FortnoxSettings, **kwargs: Any) -> FortnoxClient:
        """``kwargs``: ``http=``, ``token_store=``, ``clock=`` (tests and the sandbox); the
        token store defaults to the ledger database's, closed with the client."""
        if "token_store" not in kwargs:
            kwargs["token_store"] = RefreshTokens()
        return FortnoxClient.from_settings(settings, **kwargs)

    def source(self, settings: FortnoxSettings, client: FortnoxClient) -> FortnoxSource:
        """The one source every flow reads from: ``OrderSource``, ``ProductSource`` and
        ``StockSource``."""
        return FortnoxSource(
            client,
            stock=settings.stock,
            stock_point=settings.stock_point,
            currency=settings.currency,
        )

    def probe(self, client: FortnoxClient, settings: FortnoxSettings) -> str:
        """A token refresh and one ``/3/orders?limit=1``."""
        client.auth.expire()  # a stored access token would not prove the client secret
        try:
            n = client.probe()
        except RefreshTokenRejected:
            raise ProbeFailed(
                f"Fortnox refused the refresh token of connection {self.conn_id!r}: "
                "authorise the integration again and put the new refresh token "
                "in extra.refresh_token"
            ) from None
        return f"OK, Fortnox has {n} orders"


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _SOURCE_SERVES: tuple[type[OrderSource], type[ProductSource], type[StockSource]] = (
        FortnoxSource,
    ) * 3
