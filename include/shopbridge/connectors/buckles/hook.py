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

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from shopbridge.connectors._conn import base_url, settings_from
from shopbridge.connectors._kit.http import CallCounter, RetryPolicy
from shopbridge.connectors.buckles.client import BucklesClient, BucklesSettings
from shopbridge.connectors.buckles.source import BucklesSource
from shopbridge.connectors.buckles.target import BucklesTarget
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

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


def settings_from_connection(conn: Any, conn_id: str) -> BucklesSettings:
    """Map an Airflow Connection onto :class:`BucklesSettings`; errors name the
    connection and the field."""
    url = base_url(conn)
    if not url:
        raise ConfigError(f"connection {conn_id!r}: host is required (the Buckles API's base URL)")
    if not getattr(conn, "password", None):
        raise ConfigError(f"connection {conn_id!r}: password (API token) is empty")
    return settings_from(BucklesSettings, conn, conn_id, base_url=url, token=conn.password)


class BucklesHook(BaseHook):
    """Builds a :class:`BucklesTarget` (orders, customers, products, shipments and
    checkouts go in) or a :class:`BucklesSource` (stock, customers, shipments come out)."""

    conn_name_attr = "buckles_conn_id"
    default_conn_name = "shopbridge_buckles"
    conn_type = "buckles"
    hook_name = "Buckles"

    def __init__(
        self,
        buckles_conn_id: str = default_conn_name,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        super().__init__(**kwargs)
        self.buckles_conn_id = buckles_conn_id
        self.policy = policy or RetryPolicy()
        self.counter = counter

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Label the generic Connection form in Buckles' terms."""
        return {
            "hidden_fields": ["schema", "login", "port"],
            "relabeling": {"password": "API token", "host": "API base URL"},
            "placeholders": {"extra": '{"rate_limit_per_minute": 120}'},
        }

    def get_settings(self) -> BucklesSettings:
        """The validated settings of this hook's Connection."""
        conn = self.get_connection(self.buckles_conn_id)
        return settings_from_connection(conn, self.buckles_conn_id)

    def get_client(self, **kwargs: Any) -> BucklesClient:
        """A client for this connection; ``kwargs`` (e.g. ``http=``) go to the client."""
        return self._client(self.get_settings(), **kwargs)

    def _client(self, settings: BucklesSettings, **kwargs: Any) -> BucklesClient:
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return BucklesClient.from_settings(settings, **kwargs)

    def get_source(self, **kwargs: Any) -> BucklesSource:
        """The stock, customers and shipments source."""
        return BucklesSource(self.get_client(**kwargs))

    def get_target(self, **kwargs: Any) -> BucklesTarget:
        """The orders, products, shipments and checkouts target."""
        settings = self.get_settings()
        return BucklesTarget(self._client(settings, **kwargs), channel=settings.channel)

    def test_connection(self) -> tuple[bool, str]:
        """One ``GET orders?per_page=1`` without retries; the message says what to fix."""
        cid = self.buckles_conn_id
        try:
            settings = self.get_settings()
            client = self.get_client(policy=RetryPolicy(attempts=1))
        except ConfigError as exc:
            return False, str(exc)
        try:
            total = client.ping()
        except AuthError as exc:
            return False, (
                f"Buckles refused the token of connection {cid!r} (password = API token): {exc}"
            )
        except FatalError as exc:
            return False, f"connection {cid!r}: {exc}"
        except RetriableError as exc:
            if exc.response is None:
                return False, f"cannot reach Buckles at {settings.base_url}: {exc}"
            return False, f"Buckles at {settings.base_url} failed: {exc}"
        finally:
            client.close()
        return True, f"connection {cid!r}: OK, {total} order(s) in Buckles"


if TYPE_CHECKING:

    def _conforms(
        target: BucklesTarget, source: BucklesSource
    ) -> tuple[
        OrderTarget,
        ProductTarget,
        ShipmentTarget,
        CheckoutTarget,
        StockSource,
        CustomerSource,
        ShipmentSource,
    ]:
        """Strict mypy proves here that the target and source satisfy every protocol
        they are handed out for."""
        return target, target, target, target, source, source, source
