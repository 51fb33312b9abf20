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

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from shopbridge.connectors._conn import base_url, settings_from
from shopbridge.connectors._kit.http import CallCounter, RetryPolicy
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient, CcvSalesposSettings
from shopbridge.connectors.ccv_salespos.source import CcvSalesposSource
from shopbridge.connectors.ccv_salespos.target import CcvSalesposTarget
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderTarget, ProductSource, StockSource


def settings_from_connection(conn: Any, conn_id: str) -> CcvSalesposSettings:
    """Map an Airflow Connection onto :class:`CcvSalesposSettings`; errors name the
    connection and the field."""
    url = base_url(conn)
    if not url:
        raise ConfigError(
            f"connection {conn_id!r}: host is required (the shop's domain, "
            "e.g. https://mijnwinkel.ccvshop.nl)"
        )
    for field, label in (("login", "public key"), ("password", "secret key")):
        if not getattr(conn, field, None):
            raise ConfigError(f"connection {conn_id!r}: {field} ({label}) is empty")
    return settings_from(
        CcvSalesposSettings,
        conn,
        conn_id,
        base_url=url,
        public_key=conn.login,
        secret_key=conn.password,
    )


class CcvSalesposHook(BaseHook):
    """Builds a :class:`CcvSalesposTarget` (orders go in) or a :class:`CcvSalesposSource`
    (products and stock come out) from the Connection."""

    conn_name_attr = "ccv_salespos_conn_id"
    default_conn_name = "shopbridge_ccv_salespos"
    conn_type = "ccv_salespos"
    hook_name = "CCV SalesPOS"

    def __init__(
        self,
        ccv_salespos_conn_id: str = default_conn_name,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        super().__init__(**kwargs)
        self.ccv_salespos_conn_id = ccv_salespos_conn_id
        self.policy = policy or RetryPolicy()
        self.counter = counter

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Label the generic Connection form in the vendor's terms."""
        return {
            "hidden_fields": ["schema"],
            "relabeling": {"login": "Public key", "password": "Secret key", "host": "Shop address"},
            "placeholders": {
                "host": "https://mijnwinkel.ccvshop.nl",
                "extra": '{"rate_limit_per_resource": 120, "rate_limit_total": 600}',
            },
        }

    def get_settings(self) -> CcvSalesposSettings:
        """The validated settings of this hook's Connection."""
        conn = self.get_connection(self.ccv_salespos_conn_id)
        return settings_from_connection(conn, self.ccv_salespos_conn_id)

    def get_client(self, **kwargs: Any) -> CcvSalesposClient:
        """A client for this connection; ``kwargs`` (e.g. ``http=``) go to the client."""
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return CcvSalesposClient.from_settings(self.get_settings(), **kwargs)

    def get_source(self, **kwargs: Any) -> CcvSalesposSource:
        """The products and stock source (a ``ProductSource`` and ``StockSource``)."""
        settings = self.get_settings()
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return CcvSalesposSource(
            CcvSalesposClient.from_settings(settings, **kwargs),
            prices_include_tax=settings.prices_include_tax,
            currency=settings.currency,
        )

    def get_target(self, **kwargs: Any) -> CcvSalesposTarget:
        """The orders target (an ``OrderTarget``)."""
        settings = self.get_settings()
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return CcvSalesposTarget(
            CcvSalesposClient.from_settings(settings, **kwargs),
            reference_field=settings.reference_field,
            lookup_days=settings.order_lookup_days,
        )

    def test_connection(self) -> tuple[bool, str]:
        """One ``GET webshops`` without retries; the message says what to fix."""
        cid = self.ccv_salespos_conn_id
        try:
            settings = self.get_settings()
            client = self.get_client(policy=RetryPolicy(attempts=1))
        except ConfigError as exc:
            return False, str(exc)
        try:
            shops = client.webshops(size=1)
        except AuthError as exc:
            return False, (
                f"CCV refused the signed request of connection {cid!r}: check "
                "login = public key, password = secret key, and that this "
                f"machine's clock is right (x-date is checked): {exc}"
            )
        except FatalError as exc:
            if "signature" in str(exc) or "not signed" in str(exc):
                return False, (
                    f"the answers of {settings.base_url} are not signed with the "
                    f"secret key of connection {cid!r} (check password, and that "
                    f"host is the shop's own address): {exc}"
                )
            return False, f"connection {cid!r}: {exc}"
        except RetriableError as exc:
            if exc.response is None:
                return False, f"cannot reach CCV at {settings.base_url}: {exc}"
            return False, f"CCV at {settings.base_url} failed: {exc}"
        finally:
            client.close()
        shop = shops[0] if shops else {}
        return True, (
            f"connection {cid!r}: OK, webshop {shop.get('name', '?')!r} (id {shop.get('id', '?')})"
        )


if TYPE_CHECKING:

    def _conforms(
        target: CcvSalesposTarget, source: CcvSalesposSource
    ) -> tuple[OrderTarget, ProductSource, StockSource]:
        """Strict mypy proves here that the target is an order target and the one source
        serves the products and the stock flow."""
        return target, source, source
