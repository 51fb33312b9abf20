"""What each system's Airflow Connection is made of: its fields, in the vendor's words.

A sandbox's Connection and a real account's differ only in values, never in shape, so the
shape is product knowledge and lives here; each hook class carries its system's form
(``VendorHook.form``) and checks a Connection against it, the setup wizard asks for it,
and a test holds the dev kit's sandbox Connections
(``shopbridge_dev.sandboxes.connections``) to it.

Why data here and not only on the hook classes: the command line builds its ``init`` flags
from every form, and importing the hooks means importing Airflow (seconds) for every
``shopbridge`` command. This module imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConnectionForm:
    """What a system's Airflow Connection is made of.

    The UI's Connection form (the hook's ``get_ui_field_behaviour``), the setup wizard's
    questions and the hook's "is empty" / "is required" checks are all derived from it,
    so they cannot disagree.
    """

    conn_type: str
    #: the system as Airflow's Connection type list names it ("Lightspeed Retail (R-Series)")
    name: str
    #: ``login`` / ``password`` -> the vendor's words for what it holds ("client id"); a
    #: field not named here is not used. A used one must not be empty.
    credentials: Mapping[str, str]
    #: the vendor's name in messages ("CCV", "AccountView.net"); "": ``name``
    vendor: str = ""
    #: what the vendor refuses on a wrong credential ("the token"), and what to check
    #: besides the credentials ("the integration's scopes: order, article, customer")
    refused: str = "the credentials"
    also_check: str = ""
    #: what ``host`` holds, in the vendor's words
    host: str = "API address"
    #: said when ``host`` is missing and the vendor has no address of its own (the hook's
    #: ``default_host``), e.g. "the shop's domain, e.g. https://mijnwinkel.ccvshop.nl"
    host_hint: str = ""
    #: the scheme of a ``host`` given without one (and without ``schema``)
    default_scheme: str = "https"
    #: ``extra`` keys the setup asks for -> the JSON type the connector reads
    extra: Mapping[str, type] = field(default_factory=dict)
    #: ``extra`` keys that must be set -> what they hold ("" if the name says it)
    required: Mapping[str, str] = field(default_factory=dict)
    #: an ``extra`` to show as the UI's placeholder
    example: Mapping[str, Any] = field(default_factory=dict)
    #: standard fields the UI hides besides an unused login or password
    hidden: tuple[str, ...] = ("schema", "port")

    def __post_init__(self) -> None:
        if missing := sorted(set(self.required) - set(self.extra)):
            raise ValueError(f"{self.conn_type}: required extra {missing} is not asked for")
        if odd := sorted(set(self.credentials) - {"login", "password"}):
            raise ValueError(f"{self.conn_type}: credentials are login and password, not {odd}")

    @property
    def login(self) -> str | None:
        """What ``login`` holds; ``None`` when unused."""
        return self.credentials.get("login")

    @property
    def password(self) -> str | None:
        """What ``password`` holds; ``None`` when unused."""
        return self.credentials.get("password")

    def labels(self) -> dict[str, str]:
        """``host`` and the used credentials, labelled as a form shows them ("Client id")."""
        words = {"host": self.host, **self.credentials}
        return {name: text[:1].upper() + text[1:] for name, text in words.items()}


def _refresh_token_app(
    conn_type: str,
    name: str,
    *,
    hint: str = "",
    also_check: str,
    vendor: str = "",
    extra: Mapping[str, type],
    required: Mapping[str, str] | None = None,
    example: Mapping[str, Any],
) -> ConnectionForm:
    """The form of an OAuth app whose refresh token rotates (the kit's
    :mod:`~shopbridge.connectors._kit.grants`): its client id and secret as login and
    password, and the refresh token it was authorised with as a required ``extra``
    (``hint``: what the setup says it is) before the vendor's own keys."""
    return ConnectionForm(
        conn_type,
        name,
        credentials={"login": "client id", "password": "client secret"},
        vendor=vendor,
        also_check=also_check,
        extra={"refresh_token": str, **extra},
        required={"refresh_token": hint, **(required or {})},
        example={"refresh_token": "...", **example},
    )


#: system -> its form (the key is the form's ``conn_type``)
CONNECTION_FORMS: dict[str, ConnectionForm] = {
    form.conn_type: form
    for form in (
        ConnectionForm(
            "lightspeed_ecom",
            "Lightspeed eCom",
            credentials={"login": "API key", "password": "API secret"},
            vendor="Lightspeed",
            refused="the API key/secret",
            also_check="the key's 'orders' read permission",
            extra={"language": str},
            example={"language": "nl", "page_size": 250},
        ),
        ConnectionForm(
            "exact_globe",
            "Exact Globe",
            credentials={"login": "Windows login", "password": "Windows password"},
            also_check="extra.auth and the user's function rights",
            host="Globe server address",
            host_hint="the Globe web server",
            default_scheme="http",
            extra={"server_name": str, "database_name": str, "auth": str},
            required={"server_name": "", "database_name": ""},
            example={"server_name": "SQL01", "database_name": "600", "auth": "ntlm"},
            hidden=(),
        ),
        _refresh_token_app(
            "fortnox",
            "Fortnox",
            hint="the refresh token from authorising the integration",
            also_check="the integration's scopes: order, article, customer",
            extra={"currency": str, "stock": str},
            example={"stock": "article"},
        ),
        _refresh_token_app(
            "accountview",
            "AccountView",
            vendor="AccountView.net",
            also_check="extra.refresh_token",
            extra={"company_id": str, "ean_field": str, "vat_codes": dict},
            required={"company_id": ""},
            example={"company_id": "..."},
        ),
        ConnectionForm(
            "ccv_salespos",
            "CCV SalesPOS",
            credentials={"login": "public key", "password": "secret key"},
            vendor="CCV",
            refused="the signed request",
            also_check="that this machine's clock is right: x-date is checked",
            host="shop address",
            host_hint="the shop's domain, e.g. https://mijnwinkel.ccvshop.nl",
            example={"rate_limit_per_resource": 120, "rate_limit_total": 600},
            hidden=("schema",),
        ),
        _refresh_token_app(
            "lightspeed_retail",
            "Lightspeed Retail (R-Series)",
            hint="the refresh token the app was authorized with",
            vendor="Lightspeed",
            also_check="extra.refresh_token and the app's scopes",
            extra={"account_id": str, "shop_id": int, "register_id": int, "employee_id": int},
            example={"shop_id": 1, "register_id": 1, "employee_id": 1},
        ),
        ConnectionForm(
            "buckles",
            "Buckles",
            credentials={"password": "API token"},
            refused="the token",
            host="API base URL",
            host_hint="the Buckles API's base URL",
            example={"rate_limit_per_minute": 120},
        ),
    )
}
