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

Refresh tokens rotate on every use; the newest lives in the client's memory (see
:class:`~.client.TokenStore` for why a persistent store is the production answer).

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from pydantic import ValidationError

from shopbridge.connectors._conn import base_url
from shopbridge.connectors._kit.http import CallCounter, RetryPolicy
from shopbridge.connectors.fortnox.client import (
    DEFAULT_BASE_URL,
    FortnoxClient,
    FortnoxSettings,
    RefreshTokenRejected,
)
from shopbridge.connectors.fortnox.source import FortnoxSource
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderSource, ProductSource, StockSource

#: extra keys the settings take (anything else is a typo worth naming)
_EXTRA = (
    "refresh_token",
    "stock",
    "stock_point",
    "currency",
    "timezone",
    "page_size",
    "auth_url",
    "pace_margin_s",
    "max_requests",
    "window_s",
)


def settings_from_connection(conn: Any, conn_id: str) -> FortnoxSettings:
    """Map an Airflow Connection onto :class:`FortnoxSettings`; errors name conn and field."""
    for field, label in (("login", "client id"), ("password", "client secret")):
        if not getattr(conn, field, None):
            raise ConfigError(f"connection {conn_id!r}: {field} ({label}) is empty")
    extra = dict(conn.extra_dejson or {})
    if not str(extra.get("refresh_token") or "").strip():
        raise ConfigError(
            f"connection {conn_id!r}: extra.refresh_token is required (the "
            "refresh token from authorising the integration)"
        )
    if unknown := sorted(set(extra) - set(_EXTRA)):
        raise ConfigError(
            f"connection {conn_id!r}: extra.{unknown[0]}: unknown setting "
            f"(valid: {', '.join(_EXTRA)})"
        )
    try:
        return FortnoxSettings(
            base_url=base_url(conn) or DEFAULT_BASE_URL,
            client_id=conn.login,
            client_secret=conn.password,
            **extra,
        )
    except ValidationError as e:
        raise ConfigError(
            "\n".join(
                f"connection {conn_id!r}: extra.{'.'.join(map(str, x['loc'])) or 'stock_point'}: "
                f"{x['msg'].removeprefix('Value error, ')}"
                for x in e.errors()
            )
        ) from None


class FortnoxHook(BaseHook):
    """Builds a :class:`FortnoxSource` (orders, products and stock come out) from the
    Connection."""

    conn_name_attr = "fortnox_conn_id"
    default_conn_name = "shopbridge_fortnox"
    conn_type = "fortnox"
    hook_name = "Fortnox"

    def __init__(
        self,
        fortnox_conn_id: str = default_conn_name,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        super().__init__(**kwargs)
        self.fortnox_conn_id = fortnox_conn_id
        self.policy = policy or RetryPolicy()
        self.counter = counter

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Label the generic Connection form in the vendor's terms."""
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {
                "login": "Client id",
                "password": "Client secret",
                "host": "API address",
            },
            "placeholders": {
                "host": DEFAULT_BASE_URL,
                "extra": '{"refresh_token": "...", "stock": "article"}',
            },
        }

    def get_settings(self) -> FortnoxSettings:
        """The validated settings of this hook's Connection."""
        conn = self.get_connection(self.fortnox_conn_id)
        return settings_from_connection(conn, self.fortnox_conn_id)

    def get_client(self, **kwargs: Any) -> FortnoxClient:
        """A client for this connection; ``kwargs`` (``http=``, ``token_store=``, ``clock=``)
        go to the client."""
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return FortnoxClient.from_settings(self.get_settings(), **kwargs)

    def get_source(self, **kwargs: Any) -> FortnoxSource:
        """The one source every flow reads from: ``OrderSource``, ``ProductSource`` and
        ``StockSource``."""
        settings = self.get_settings()
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return FortnoxSource(
            FortnoxClient.from_settings(settings, **kwargs),
            stock=settings.stock,
            stock_point=settings.stock_point,
            currency=settings.currency,
        )

    def test_connection(self) -> tuple[bool, str]:
        """A token refresh and one ``/3/orders?limit=1`` call, without retries; the message
        says what to fix."""
        cid = self.fortnox_conn_id
        try:
            settings = self.get_settings()
            client = FortnoxClient.from_settings(settings, policy=RetryPolicy(attempts=1))
        except ConfigError as e:
            return False, str(e)
        try:
            n = client.probe()
        except RefreshTokenRejected:
            return False, (
                f"Fortnox refused the refresh token of connection {cid!r}: "
                "authorise the integration again and put the new refresh token "
                "in extra.refresh_token"
            )
        except AuthError as e:
            return False, (
                f"Fortnox refused the credentials of connection {cid!r} (check "
                f"login = client id, password = client secret, and the "
                f"integration's scopes: order, article, customer): {e}"
            )
        except RetriableError as e:
            if e.response is None:
                return False, f"cannot reach Fortnox at {settings.base_url}: {e}"
            return False, f"Fortnox at {settings.base_url} failed: {e}"
        except FatalError as e:
            return False, f"connection {cid!r}: Fortnox refused the request: {e}"
        finally:
            client.close()
        return True, f"connection {cid!r}: OK, Fortnox has {n} orders"


if TYPE_CHECKING:

    def _conforms(source: FortnoxSource) -> tuple[OrderSource, ProductSource, StockSource]:
        """Strict mypy proves here that the one source serves every flow it reads for."""
        return source, source, source
