"""Airflow hook for Lightspeed Retail (R-Series): Connection in, settings and target out.

Connection layout (conn_type ``lightspeed_retail``):

* ``host``: the API address incl. scheme, default ``https://api.lightspeedapp.com``; a
  sandbox's ``http://127.0.0.1:PORT``.
* ``login`` / ``password``: the API client's client id / client secret.
* ``extra``: ``{"refresh_token": "..."}`` (required: the token the app was authorized
  with; it only seeds the shared token store, see :mod:`.tokens`), and optionally
  ``account_id`` (else read from ``/API/V3/Account.json``), ``token_url``, ``shop_id``,
  ``register_id``, ``employee_id`` (all default 1), ``payment_types`` ({payment method:
  paymentTypeID, "*": fallback}), ``default_payment_type_id`` (1),
  ``prices_include_tax`` (default: the shop's tax category says), ``item_attribute_set_id``
  (4), ``page_size`` (100), ``reference_source`` ("shopbridge"), ``write_cost`` (10),
  ``sale_write_cost`` (2), ``refresh_skew_s`` (60). See :class:`LightspeedRetailSettings`.

The token store is the ledger database (``SHOPBRIDGE_LEDGER_URL``), shared by every worker.
The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from pydantic import ValidationError

from shopbridge.connectors._conn import base_url
from shopbridge.connectors._kit.http import CallCounter, RetryPolicy
from shopbridge.connectors.lightspeed_retail.client import (
    DEFAULT_BASE_URL,
    LightspeedRetailClient,
    LightspeedRetailSettings,
)
from shopbridge.connectors.lightspeed_retail.target import LightspeedRetailTarget
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderTarget, ProductTarget, StockTarget


def settings_from_connection(conn: Any, conn_id: str) -> LightspeedRetailSettings:
    """Map an Airflow Connection onto settings; every problem names the connection and
    the field."""
    for field, label in (("login", "client id"), ("password", "client secret")):
        if not getattr(conn, field, None):
            raise ConfigError(f"connection {conn_id!r}: {field} ({label}) is empty")
    extra = dict(conn.extra_dejson or {})
    if not str(extra.get("refresh_token") or "").strip():
        raise ConfigError(
            f"connection {conn_id!r}: extra.refresh_token is required (the "
            "refresh token the app was authorized with)"
        )
    if extra.get("account_id") is not None:
        extra["account_id"] = str(extra["account_id"])
    try:
        return LightspeedRetailSettings(
            base_url=base_url(conn) or DEFAULT_BASE_URL,
            client_id=conn.login,
            client_secret=conn.password,
            **extra,
        )
    except ValidationError as exc:
        raise ConfigError(
            "\n".join(
                f"connection {conn_id!r}: {_field_name(x['loc'])}: {x['msg']}" for x in exc.errors()
            )
        ) from None


class LightspeedRetailHook(BaseHook):
    """Builds a :class:`LightspeedRetailTarget` (orders, customers, products and stock go
    in) from the Connection. Lightspeed Retail is a target only in shopbridge."""

    conn_name_attr = "lightspeed_retail_conn_id"
    default_conn_name = "shopbridge_lightspeed_retail"
    conn_type = "lightspeed_retail"
    hook_name = "Lightspeed Retail (R-Series)"

    def __init__(
        self,
        lightspeed_retail_conn_id: str = default_conn_name,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        super().__init__(**kwargs)
        self.lightspeed_retail_conn_id = lightspeed_retail_conn_id
        self.policy = policy or RetryPolicy()
        self.counter = counter

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Label the generic Connection form in the vendor's terms."""
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {
                "login": "Client ID",
                "password": "Client secret",
                "host": "API address",
            },
            "placeholders": {
                "host": DEFAULT_BASE_URL,
                "extra": '{"refresh_token": "...", "shop_id": 1, '
                '"register_id": 1, "employee_id": 1}',
            },
        }

    def get_settings(self) -> LightspeedRetailSettings:
        """The validated settings of this hook's Connection."""
        cid = self.lightspeed_retail_conn_id
        return settings_from_connection(self.get_connection(cid), cid)

    def get_client(self, **kwargs: Any) -> LightspeedRetailClient:
        """A client for the Connection's account; ``kwargs`` (``http=``, ``store=``,
        ``clock=``, ``token_clock=``) go to :meth:`LightspeedRetailClient.from_settings`."""
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return LightspeedRetailClient.from_settings(self.get_settings(), **kwargs)

    def get_target(self, **kwargs: Any) -> LightspeedRetailTarget:
        """The target every flow writes to: an ``OrderTarget``, ``ProductTarget`` and
        ``StockTarget`` in one object."""
        settings = self.get_settings()
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        return LightspeedRetailTarget.from_settings(
            settings, LightspeedRetailClient.from_settings(settings, **kwargs)
        )

    def get_source(self, **kwargs: Any) -> Any:
        """Lightspeed Retail is only a target in shopbridge."""
        raise ConfigError(
            f"connection {self.lightspeed_retail_conn_id!r}: Lightspeed Retail "
            "can only be a target (orders, customers, products, stock go in)"
        )

    def test_connection(self) -> tuple[bool, str]:
        """One ``Account.json`` read (refreshing the token if needed), without retries;
        the message says what to fix."""
        cid = self.lightspeed_retail_conn_id
        try:
            settings = self.get_settings()
            client = self.get_client(policy=RetryPolicy(attempts=1))
        except ConfigError as e:
            return False, str(e)
        try:
            account = client.probe()
        except AuthError as e:
            return False, (
                f"Lightspeed refused connection {cid!r}: {e} (check login = client "
                "id, password = client secret, extra.refresh_token, and the "
                "app's scopes)"
            )
        except ConfigError as e:
            return False, f"connection {cid!r}: {e}"
        except FatalError as e:
            return False, f"connection {cid!r}: Lightspeed answered {e}"
        except RetriableError as e:
            where = settings.base_url if e.response is None else "Lightspeed"
            return False, f"connection {cid!r}: cannot reach {where} right now: {e}"
        finally:
            client.close()
        return True, (
            f"connection {cid!r}: OK, account {account.get('accountID')} "
            f"({account.get('name', '')})"
        )


if TYPE_CHECKING:

    def _conforms(target: LightspeedRetailTarget) -> tuple[OrderTarget, ProductTarget, StockTarget]:
        """Strict mypy proves here that the one target serves every flow."""
        return target, target, target


def _field_name(loc: tuple[int | str, ...]) -> str:
    """The connection form's name for a settings field, so the error points at what to edit."""
    return "host" if loc == ("base_url",) else "extra." + ".".join(map(str, loc))
