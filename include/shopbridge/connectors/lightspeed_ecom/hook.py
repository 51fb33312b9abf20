"""Airflow hook for Lightspeed eCom: Connection in, client/source out (STYLE R9).

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

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from pydantic import ValidationError

from shopbridge.connectors._conn import base_url
from shopbridge.connectors._kit.http import CallCounter, RetryPolicy
from shopbridge.connectors.lightspeed_ecom.client import (
    DEFAULT_BASE_URL,
    LightspeedEcomClient,
    LightspeedEcomSettings,
)
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.connectors.lightspeed_ecom.target import LightspeedEcomTarget
from shopbridge.errors import AuthError, ConfigError, ShopbridgeError

if TYPE_CHECKING:
    from shopbridge.connectors.base import (
        OrderSource,
        OrderTarget,
        ProductSource,
        ProductTarget,
        StockSource,
        StockTarget,
    )


class LightspeedEcomHook(BaseHook):
    """Builds a :class:`LightspeedEcomClient` from an Airflow Connection."""

    conn_name_attr = "lightspeed_ecom_conn_id"
    default_conn_name = "shopbridge_lightspeed_ecom"
    conn_type = "lightspeed_ecom"
    hook_name = "Lightspeed eCom"

    def __init__(
        self,
        lightspeed_ecom_conn_id: str = default_conn_name,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lightspeed_ecom_conn_id = lightspeed_ecom_conn_id
        self.policy = policy or RetryPolicy()
        self.counter = counter

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Label the generic Connection form in the vendor's terms."""
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"login": "API key", "password": "API secret", "host": "API address"},
            "placeholders": {
                "host": DEFAULT_BASE_URL,
                "extra": '{"language": "nl", "page_size": 250}',
            },
        }

    def get_settings(self) -> LightspeedEcomSettings:
        """Validate the Connection; every problem names the connection id and the field."""
        cid = self.lightspeed_ecom_conn_id
        conn = self.get_connection(cid)
        for field, label in (("login", "API key"), ("password", "API secret")):
            if not getattr(conn, field, None):
                raise ConfigError(f"connection {cid!r}: {field} ({label}) is empty")
        try:
            return LightspeedEcomSettings(
                base_url=base_url(conn) or DEFAULT_BASE_URL,
                key=conn.login,
                secret=conn.password,
                **conn.extra_dejson,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"connection {cid!r}: extra.{where}: {first['msg']}") from None

    def get_client(self, **kwargs: Any) -> LightspeedEcomClient:
        """A client for this connection; ``kwargs`` (e.g. ``http=``) go to the client."""
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return LightspeedEcomClient.from_settings(self.get_settings(), **kwargs)

    def get_source(self, **kwargs: Any) -> LightspeedEcomSource:
        """The order source the flows read from."""
        return LightspeedEcomSource(self.get_client(**kwargs))

    def get_target(self, **kwargs: Any) -> LightspeedEcomTarget:
        """The one target every flow writes to: orders (through the checkout API),
        products and stock. ``extra.order_lookup_days`` bounds its order lookup,
        ``extra.item_code_field`` names the product field holding item codes."""
        settings = self.get_settings()
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return LightspeedEcomTarget(
            LightspeedEcomClient.from_settings(settings, **kwargs),
            lookup_days=settings.order_lookup_days,
            item_code_field=settings.item_code_field,
        )

    def test_connection(self) -> tuple[bool, str]:
        """One cheap call (``orders/count.json``); the message says what to fix."""
        cid = self.lightspeed_ecom_conn_id
        try:
            client = self.get_client(policy=RetryPolicy(attempts=1))
            n = client.count_orders()
        except AuthError:
            return False, (
                f"Lightspeed refused the API key/secret of connection {cid!r} "
                "(check login = API key, password = API secret, and the key's "
                "'orders' read permission)"
            )
        except ShopbridgeError as exc:
            return False, f"connection {cid!r}: {exc}"
        return True, f"connection {cid!r}: OK, the shop has {n} orders"


if TYPE_CHECKING:

    def _conforms(
        target: LightspeedEcomTarget, source: LightspeedEcomSource
    ) -> tuple[OrderTarget, ProductTarget, StockTarget, OrderSource, ProductSource, StockSource]:
        """Strict mypy proves here that the one target serves every flow (the runtime asks
        the hook for "the target" whatever the flow) and the one source every source role."""
        return target, target, target, source, source, source
