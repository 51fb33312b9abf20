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

from typing import TYPE_CHECKING, Any, NamedTuple

from shopbridge.connectors._kit.hook import ProbeFailed, VendorHook
from shopbridge.connectors.accountview.client import (
    DEFAULT_BASE_URL,
    AccountViewClient,
    AccountViewSettings,
)
from shopbridge.connectors.accountview.options import SourceOptions, TargetOptions
from shopbridge.connectors.accountview.source import AccountViewSource
from shopbridge.connectors.accountview.target import AccountViewTarget
from shopbridge.errors import AuthError, FatalError
from shopbridge.store.tokens import RefreshTokens

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from shopbridge.connectors.base import OrderTarget, ProductSource, StockSource

#: business objects whose rights ``test_connection`` checks: debtors, sales orders, articles
PROBES = (
    ("AR1", "CONTACT", "debtors"),
    ("SO1", "SO_HDR", "sales orders"),
    ("AK1", "ARTICLE", "articles"),
)


class AccountViewSetup(NamedTuple):
    """One Connection's three settings: the client's, the target's and the source's (one
    ``extra`` holds them all, each key belongs to one of them)."""

    client: AccountViewSettings
    target: TargetOptions
    source: SourceOptions

    @property
    def base_url(self) -> str:
        """The API's address."""
        return self.client.base_url


class AccountViewHook(
    VendorHook[AccountViewSetup, AccountViewClient, AccountViewSource, AccountViewTarget]
):
    """Builds an :class:`AccountViewTarget` (debtors and orders go in) or an
    :class:`AccountViewSource` (articles and stock come out) from the Connection."""

    conn_type = "accountview"
    default_host = DEFAULT_BASE_URL

    def settings_from(self, conn: Connection) -> AccountViewSetup:
        return AccountViewSetup(
            self.validate(
                AccountViewSettings,
                conn,
                into={"login": "client_id", "password": "client_secret"},
                also=(TargetOptions, SourceOptions),
            ),
            self.options(TargetOptions, conn),
            self.options(SourceOptions, conn),
        )

    def client(self, settings: AccountViewSetup, **kwargs: Any) -> AccountViewClient:
        """The token pair lives in the ledger database (``token_store=`` overrides it), so
        a refresh token AccountView rotates is the next task's too."""
        if "token_store" not in kwargs:
            kwargs["token_store"] = RefreshTokens()
        return AccountViewClient.from_settings(settings.client, **kwargs)

    def target(self, settings: AccountViewSetup, client: AccountViewClient) -> AccountViewTarget:
        """The one target of every flow that writes here: an ``OrderTarget`` (orders and
        customers)."""
        return AccountViewTarget(client, settings.target)

    def source(self, settings: AccountViewSetup, client: AccountViewClient) -> AccountViewSource:
        """The one source of every flow that reads here: a ``ProductSource`` and a
        ``StockSource``."""
        return AccountViewSource(client, settings.source)

    def probe(self, client: AccountViewClient, settings: AccountViewSetup) -> str:
        """Token, company, then one read of each business object: the verdict says which
        step failed and what to fix."""
        cid, company = self.conn_id, settings.client.company_id
        try:
            client.authenticate()
        except FatalError as exc:  # the token endpoint answers 400 as well as 401
            raise AuthError(str(exc), response=exc.response) from None
        companies = client.companies()
        ids = [str(c.get("Id")) for c in companies]
        if company not in ids:
            raise ProbeFailed(
                f"AccountView.net does not list company {company!r} for this API user "
                f"(connection {cid!r}, extra.company_id); the companies it may open: "
                f"{', '.join(ids) or 'none'}"
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
                if str(c.get("Id")) == company
            ),
            "",
        )
        label = f"{company}{f' ({name})' if name else ''}"
        if missing:
            raise ProbeFailed(
                f"the API user of connection {cid!r} lacks rights in company {label} on "
                + "; ".join(missing)
                + " (grant it rights on AR1, SO1 and AK1 in AccountView)"
            )
        return (
            f"connected to AccountView.net company {label}; "
            "debtors (AR1), sales orders (SO1) and articles (AK1) are readable"
        )


if TYPE_CHECKING:  # strict mypy proves the source and target serve every flow given them
    _TARGET_SERVES: tuple[type[OrderTarget]] = (AccountViewTarget,)
    _SOURCE_SERVES: tuple[type[ProductSource], type[StockSource]] = (AccountViewSource,) * 2
