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

The only module of this connector that imports Airflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from pydantic import ValidationError

from shopbridge.connectors._conn import base_url
from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, ExactGlobeSettings
from shopbridge.connectors.exact_globe.source import ExactGlobeSource
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderSource, OrderTarget, ProductTarget, StockTarget


def settings_from_connection(conn: Any, conn_id: str) -> ExactGlobeSettings:
    """Map an Airflow Connection onto :class:`ExactGlobeSettings`; errors name conn and field."""
    url = base_url(conn, default_scheme="http")
    if not url:
        raise ConfigError(f"connection {conn_id!r}: host is required (the Globe web server)")
    extra = conn.extra_dejson or {}
    for name in ("server_name", "database_name"):
        if not str(extra.get(name) or "").strip():
            raise ConfigError(f"connection {conn_id!r}: extra.{name} is required")
    try:
        return ExactGlobeSettings(
            base_url=url,
            server_name=str(extra["server_name"]),
            database_name=str(extra["database_name"]),
            user=conn.login or "",
            password=conn.password or "",
            auth=extra.get("auth", "ntlm"),
            page_size=extra.get("page_size", 100),
            write_mode=extra.get("write_mode", "batch"),
            batch_size=extra.get("batch_size", 50),
            default_warehouse=str(extra.get("default_warehouse", "1")),
            timezone=str(extra.get("timezone", "Europe/Amsterdam")),
            currency=str(extra.get("currency", "")),
        )
    except ValidationError as e:
        raise ConfigError(
            "\n".join(
                f"connection {conn_id!r}: extra.{'.'.join(map(str, x['loc']))}: {x['msg']}"
                for x in e.errors()
            )
        ) from None


class ExactGlobeHook(BaseHook):
    """Builds an :class:`ExactGlobeTarget` (orders, customers, products and stock go in) or
    an :class:`ExactGlobeSource` (ERP-entered orders come out) from the Connection."""

    conn_name_attr = "exact_globe_conn_id"
    default_conn_name = "shopbridge_exact_globe"
    conn_type = "exact_globe"
    hook_name = "Exact Globe"

    def __init__(self, exact_globe_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        super().__init__(**kwargs)
        self.exact_globe_conn_id = exact_globe_conn_id

    def get_settings(self) -> ExactGlobeSettings:
        """The validated settings of this hook's Connection."""
        conn = self.get_connection(self.exact_globe_conn_id)
        return settings_from_connection(conn, self.exact_globe_conn_id)

    def get_client(self, *, policy: RetryPolicy = RetryPolicy()) -> ExactGlobeClient:  # noqa: B008
        """A client for the Connection's administration."""
        return ExactGlobeClient.from_settings(self.get_settings(), policy=policy)

    def get_target(self) -> ExactGlobeTarget:
        """The target every flow writes to: an ``OrderTarget``, ``ProductTarget`` and
        ``StockTarget`` in one object."""
        settings = self.get_settings()
        return ExactGlobeTarget(
            ExactGlobeClient.from_settings(settings), default_warehouse=settings.default_warehouse
        )

    def get_source(self) -> ExactGlobeSource:
        """The ``OrderSource`` of the ERP -> webshop orders flow."""
        settings = self.get_settings()
        return ExactGlobeSource(
            ExactGlobeClient.from_settings(settings),
            timezone=settings.timezone,
            currency=settings.currency,
        )

    def test_connection(self) -> tuple[bool, str]:
        """One ``Items?$top=1`` call, without retries; the message says what to fix."""
        try:
            settings = self.get_settings()
            client = ExactGlobeClient.from_settings(settings, policy=RetryPolicy(attempts=1))
        except ConfigError as e:
            return False, str(e)
        try:
            client.probe()
        except AuthError as e:
            return False, (
                f"Exact Globe refused the credentials of {self.exact_globe_conn_id!r} "
                f"(check login/password, auth and the user's function rights): {e}"
            )
        except FatalError as e:
            return False, (
                f"Exact Globe did not accept administration "
                f"{settings.database_name!r} on server {settings.server_name!r} "
                f"(check extra.server_name/database_name): {e}"
            )
        except RetriableError as e:
            if e.response is None:
                return False, f"cannot reach Exact Globe at {settings.base_url}: {e}"
            return False, f"Exact Globe at {settings.base_url} failed: {e}"
        finally:
            client.close()
        return True, (
            f"connected to Exact Globe administration {settings.database_name} "
            f"on {settings.server_name}"
        )


if TYPE_CHECKING:

    def _conforms(
        target: ExactGlobeTarget, source: ExactGlobeSource
    ) -> tuple[OrderTarget, ProductTarget, StockTarget, OrderSource]:
        """Strict mypy proves here that the one target serves every flow (the runtime asks
        the hook for "the target" whatever the flow) and that the source is a source."""
        return target, target, target, source
