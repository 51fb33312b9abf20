"""Airflow hook for AccountView.net: Connection in, target/source out (STYLE R9).

Connection layout (conn_type ``accountview``):

* ``host``: API address incl. scheme, default ``https://www.accountview.net``; a
  sandbox's ``http://127.0.0.1:PORT``.
* ``login`` / ``password``: the OAuth app's client id / client secret.
* ``extra``: ``{"refresh_token": "...", "company_id": "..."}`` (required: the refresh token
  from the app's one-time consent, and the company's ``Id`` as ``/companies`` lists it),
  optionally ``redirect_uri``, ``page_size``, ``max_list_values``, ``max_per_second``,
  and the target's and source's settings by their names in
  :class:`~.options.TargetOptions` / :class:`~.options.SourceOptions` (``timezone`` and
  ``vat_codes`` serve both), e.g. ``{"control_account": "1300", "ean_field": "BAR_CODE"}``.

The only module of this connector that imports Airflow; no request logic lives here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from pydantic import BaseModel, ValidationError

from shopbridge.connectors._conn import base_url
from shopbridge.connectors._kit.http import CallCounter, RetryPolicy
from shopbridge.connectors.accountview.client import (
    DEFAULT_BASE_URL,
    AccountViewClient,
    AccountViewSettings,
)
from shopbridge.connectors.accountview.options import SourceOptions, TargetOptions
from shopbridge.connectors.accountview.source import AccountViewSource
from shopbridge.connectors.accountview.target import AccountViewTarget
from shopbridge.errors import ConfigError, FatalError, RetriableError, ShopbridgeError

if TYPE_CHECKING:
    from shopbridge.connectors.base import OrderTarget, ProductSource, StockSource

log = logging.getLogger(__name__)

#: business objects whose rights ``test_connection`` checks: debtors, sales orders, articles
PROBES = (
    ("AR1", "CONTACT", "debtors"),
    ("SO1", "SO_HDR", "sales orders"),
    ("AK1", "ARTICLE", "articles"),
)
_CONNECTION_KEYS = frozenset(
    {
        "refresh_token",
        "company_id",
        "redirect_uri",
        "page_size",
        "max_list_values",
        "max_per_second",
    }
)


def _errors(exc: ValidationError, conn_id: str, prefix: str = "extra.") -> ConfigError:
    return ConfigError(
        "\n".join(
            f"connection {conn_id!r}: {prefix}{'.'.join(map(str, x['loc']))}: {x['msg']}"
            for x in exc.errors()
        )
    )


def _pick(model: type[BaseModel], extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if k in model.model_fields}


def settings_from_connection(
    conn: Any, conn_id: str
) -> tuple[AccountViewSettings, TargetOptions, SourceOptions]:
    """Validate a Connection; every problem names the connection and the field."""
    extra = dict(conn.extra_dejson or {})
    known = _CONNECTION_KEYS | set(TargetOptions.model_fields) | set(SourceOptions.model_fields)
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ConfigError(
            f"connection {conn_id!r}: extra.{unknown[0]}: unknown setting; "
            f"known: {', '.join(sorted(known))}"
        )
    for field, label in (("login", "client id"), ("password", "client secret")):
        if not str(getattr(conn, field, None) or "").strip():
            raise ConfigError(f"connection {conn_id!r}: {field} ({label}) is empty")
    for key in ("refresh_token", "company_id"):
        if not str(extra.get(key) or "").strip():
            raise ConfigError(f"connection {conn_id!r}: extra.{key} is required")
    try:
        settings = AccountViewSettings(
            base_url=base_url(conn) or DEFAULT_BASE_URL,
            client_id=conn.login,
            client_secret=conn.password,
            **{
                k: (str(v) if k in ("refresh_token", "company_id") else v)
                for k, v in extra.items()
                if k in _CONNECTION_KEYS
            },
        )
    except ValidationError as exc:
        raise _errors(exc, conn_id) from None
    try:
        target = TargetOptions(**_pick(TargetOptions, extra))
        source = SourceOptions(**_pick(SourceOptions, extra))
    except ValidationError as exc:
        raise _errors(exc, conn_id) from None
    return settings, target, source


class AccountViewHook(BaseHook):
    """Builds an :class:`AccountViewTarget` (debtors and orders go in) or an
    :class:`AccountViewSource` (articles and stock come out) from the Connection."""

    conn_name_attr = "accountview_conn_id"
    default_conn_name = "shopbridge_accountview"
    conn_type = "accountview"
    hook_name = "AccountView"

    def __init__(
        self,
        accountview_conn_id: str = default_conn_name,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        **kwargs: Any,
    ) -> None:
        """Nothing is fetched here: a hook is built at task run time, not at parse time."""
        super().__init__(**kwargs)
        self.accountview_conn_id = accountview_conn_id
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
                "extra": '{"refresh_token": "…", "company_id": "…"}',
            },
        }

    def get_settings(self) -> tuple[AccountViewSettings, TargetOptions, SourceOptions]:
        """The validated connection, target and source settings of this hook's Connection."""
        conn = self.get_connection(self.accountview_conn_id)
        return settings_from_connection(conn, self.accountview_conn_id)

    def _new_refresh_token(self, _token: str) -> None:
        """AccountView rotated the refresh token: the Connection's one may stop working."""
        log.warning(
            "AccountView.net issued a new refresh token for connection %r; if the "
            "next run is refused, store the new token in its extra.refresh_token "
            "(re-consent the app to get one)",
            self.accountview_conn_id,
        )

    def get_client(
        self, settings: AccountViewSettings | None = None, **kwargs: Any
    ) -> AccountViewClient:
        """A client for this connection; ``kwargs`` (e.g. ``http=``) go to the client."""
        kwargs.setdefault("policy", self.policy)
        kwargs.setdefault("counter", self.counter)
        kwargs.setdefault("on_refresh_token", self._new_refresh_token)
        return AccountViewClient.from_settings(settings or self.get_settings()[0], **kwargs)

    def get_target(self, **kwargs: Any) -> AccountViewTarget:
        """The one target of every flow that writes here: an ``OrderTarget`` (orders and
        customers)."""
        settings, target, _ = self.get_settings()
        return AccountViewTarget(self.get_client(settings, **kwargs), target)

    def get_source(self, **kwargs: Any) -> AccountViewSource:
        """The one source of every flow that reads here: a ``ProductSource`` and a
        ``StockSource``."""
        settings, _, source = self.get_settings()
        return AccountViewSource(self.get_client(settings, **kwargs), source)

    def test_connection(self) -> tuple[bool, str]:
        """Token, company, then one read of each business object; the message says which
        step failed and what to fix. Nothing is retried."""
        cid = self.accountview_conn_id
        try:
            settings, _, _ = self.get_settings()
            client = self.get_client(settings, policy=RetryPolicy(attempts=1))
        except ConfigError as exc:
            return False, str(exc)
        host = client.host
        try:
            return self._check(client, settings, cid)
        except RetriableError as exc:
            if exc.response is None:
                return False, (
                    f"AccountView.net is not publicly reachable at {host} "
                    f"(connection {cid!r}: check its host and this worker's "
                    f"DNS, proxy and outbound HTTPS): {exc}"
                )
            return False, f"AccountView.net at {host} is unavailable, try again later: {exc}"
        except ShopbridgeError as exc:
            return False, f"connection {cid!r}: {exc}"
        finally:
            client.close()

    def _check(
        self, client: AccountViewClient, settings: AccountViewSettings, cid: str
    ) -> tuple[bool, str]:
        try:
            client.authenticate()
        except FatalError as exc:  # AuthError included: 400/401 from the token endpoint
            return False, f"AccountView.net refused the credentials of connection {cid!r}: {exc}"
        companies = client.companies()
        ids = [str(c.get("Id")) for c in companies]
        if settings.company_id not in ids:
            return False, (
                f"AccountView.net does not list company {settings.company_id!r} for "
                f"this API user (connection {cid!r}, extra.company_id); the "
                f"companies it may open: {', '.join(ids) or 'none'}"
            )
        missing = []
        for bo, table, what in PROBES:
            try:
                client.probe(bo, table)
            except FatalError as exc:  # a 403 (AuthError) or an ErrorMessage
                missing.append(f"{bo} ({what}): {exc}")
        # the company's name is ``Description`` (go-accountview.net ``Company``); ``Name``
        # as older sandboxes sent it
        name = next(
            (
                str(c.get("Description") or c.get("Name") or "")
                for c in companies
                if str(c.get("Id")) == settings.company_id
            ),
            "",
        )
        label = f"{settings.company_id}{f' ({name})' if name else ''}"
        if missing:
            return False, (
                f"the API user of connection {cid!r} lacks rights in company "
                f"{label} on "
                + "; ".join(missing)
                + " (grant it rights on AR1, SO1 and AK1 in AccountView)"
            )
        return True, (
            f"connection {cid!r}: connected to AccountView.net company {label}; "
            "debtors (AR1), sales orders (SO1) and articles (AK1) are readable"
        )


if TYPE_CHECKING:

    def _conforms(
        target: AccountViewTarget, source: AccountViewSource
    ) -> tuple[OrderTarget, ProductSource, StockSource]:
        """Strict mypy proves the target is an ``OrderTarget`` and the one source serves
        both the products and the stock flow."""
        return target, source, source
