"""The AccountView hook: Connection -> settings, target, source, and ``test_connection``
telling each failure apart, each against a sandbox simulating it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI

from shopbridge.connectors.accountview.client import AccountViewClient
from shopbridge.errors import ConfigError
from shopbridge_dev.sandboxes.accountview.app import create_app

from .test_accountview import KNOWN, TestClient

EXTRA = {"refresh_token": "sandbox-refresh", "company_id": "SANDBOX"}


def av_conn(
    *,
    host: str = "http://testserver",
    login: str = "shopbridge",
    password: str = "sandbox-secret",
    **extra: Any,
) -> Any:
    from airflow.sdk import Connection

    return Connection(
        conn_id="av",
        conn_type="accountview",
        host=host,
        login=login,
        password=password,
        extra=json.dumps({**EXTRA, **extra}),
    )


@pytest.fixture
def hook_on(monkeypatch):
    """An AccountViewHook whose Connection is ``conn`` and whose client talks to ``app``
    (``None``: a real socket, for the unreachable-host case)."""
    from shopbridge.connectors.accountview import hook as hook_mod

    real = AccountViewClient.from_settings.__func__

    def build(conn: Any, app: FastAPI | None) -> Any:
        h = hook_mod.AccountViewHook("av")
        monkeypatch.setattr(h, "get_connection", lambda _id: conn)
        if app is not None:

            def from_settings(cls, settings, **kw):
                return real(cls, settings, http=TestClient(app), **kw)

            monkeypatch.setattr(
                hook_mod.AccountViewClient, "from_settings", classmethod(from_settings)
            )
        return h

    return build


# -- settings --------------------------------------------------------------------------


def test_settings_from_connection():
    from shopbridge.connectors.accountview.hook import AccountViewHook

    settings, target, source = AccountViewHook("av").settings_from(
        av_conn(
            page_size=50,
            control_account="1310",
            ean_field="bar_code",
            vat_codes={"21": "H"},
            timezone="Europe/Brussels",
        )
    )
    assert (settings.base_url, settings.client_id, settings.company_id, settings.page_size) == (
        "http://testserver",
        "shopbridge",
        "SANDBOX",
        50,
    )
    assert settings.client_secret.get_secret_value() == "sandbox-secret"
    assert settings.refresh_token.get_secret_value() == "sandbox-refresh"
    assert (target.control_account, target.vat_codes, target.timezone) == (
        "1310",
        {"21": "H"},
        "Europe/Brussels",
    )
    assert (source.ean_field, source.vat_codes, source.timezone) == (
        "BAR_CODE",
        {"21": "H"},
        "Europe/Brussels",
    )


def test_default_host_is_accountview_net():
    from airflow.sdk import Connection

    from shopbridge.connectors.accountview.hook import AccountViewHook

    conn = Connection(
        conn_id="av",
        conn_type="accountview",
        login="id",
        password="secret",
        extra=json.dumps(EXTRA),
    )
    assert AccountViewHook("av").settings_from(conn)[0].base_url == "https://www.accountview.net"


@pytest.mark.parametrize(
    ("conn", "match"),
    [
        ({"refresh_token": ""}, "'av': extra.refresh_token is required"),
        ({"company_id": None}, "'av': extra.company_id is required"),
        ({"login": ""}, r"'av': login \(client id\) is empty"),
        ({"password": ""}, r"'av': password \(client secret\) is empty"),
        ({"page_size": 5000}, "'av': extra.page_size"),
        ({"debtor_numbering": "magic"}, "'av': extra.debtor_numbering"),
        ({"timezone": "Mars/Olympus"}, "'av': extra.timezone"),
        ({"debtor_number_start": 30000}, "debtor_number_start must not exceed"),
        ({"field_types": {"SO_LINE.X": "Q"}}, "'av': extra.field_types"),
        ({"colour": "red"}, "'av': extra.colour: unknown setting"),
    ],
)
def test_settings_errors_name_connection_and_field(conn, match):
    from shopbridge.connectors.accountview.hook import AccountViewHook

    fields = {k: conn.pop(k) for k in ("login", "password") if k in conn}
    with pytest.raises(ConfigError, match=match):
        AccountViewHook("av").settings_from(av_conn(**fields, **conn))


# -- test_connection -------------------------------------------------------------------


def test_connection_ok(hook_on):
    ok, msg = hook_on(av_conn(), create_app(seed=None)).test_connection()
    assert ok, msg
    assert "company SANDBOX (Demo Webshop BV)" in msg


def test_connection_unreachable(hook_on):
    ok, msg = hook_on(av_conn(), create_app(seed=None, unreachable=True)).test_connection()
    assert not ok
    assert msg.startswith("cannot reach AccountView.net at http://testserver")


def test_connection_unreachable_real_socket(hook_on):
    ok, msg = hook_on(av_conn(host="http://127.0.0.1:1"), None).test_connection()
    assert not ok
    assert msg.startswith("cannot reach AccountView.net at http://127.0.0.1:1")


@pytest.mark.parametrize("sandbox", [{"client_secret": "other"}, {"refresh_token": "revoked"}])
def test_connection_bad_credentials(hook_on, sandbox):
    ok, msg = hook_on(av_conn(), create_app(seed=None, **sandbox)).test_connection()
    assert not ok
    assert msg.startswith("AccountView.net refused the credentials of connection 'av'")
    assert ("invalid_client" if "client_secret" in sandbox else "invalid_grant") in msg


def test_connection_unknown_company(hook_on):
    app = create_app(seed=None, company_id="ACME", extra_companies=["ACME2"])
    ok, msg = hook_on(av_conn(), app).test_connection()
    assert not ok
    assert "does not list company 'SANDBOX'" in msg and "ACME, ACME2" in msg


@pytest.mark.parametrize("rights_status", [403, 200])
def test_connection_missing_rights(hook_on, rights_status):
    app = create_app(seed=None, denied_objects=["SO1", "AK1"], rights_status=rights_status)
    ok, msg = hook_on(av_conn(), app).test_connection()
    assert not ok
    assert "lacks rights in company SANDBOX (Demo Webshop BV) on SO1 (sales orders)" in msg
    assert "AK1 (articles)" in msg and "AR1 (" not in msg
    assert "Insufficient rights for business object SO1" in msg


def test_connection_server_error_is_not_called_unreachable(hook_on):
    app = create_app(seed=None)
    with TestClient(app) as tc:
        tc.post("/_sandbox/faults", json={"status": 503, "path_contains": "/token"})
    ok, msg = hook_on(av_conn(), app).test_connection()
    assert not ok and "is unavailable, try again later" in msg and "503" in msg


def test_connection_config_error(hook_on):
    ok, msg = hook_on(av_conn(company_id=""), create_app(seed=None)).test_connection()
    assert not ok and msg == "connection 'av': extra.company_id is required"


# -- target and source -----------------------------------------------------------------


def test_hook_get_target_and_source(hook_on):
    hook = hook_on(
        av_conn(page_size=5, ean_field="BAR_CODE", control_account="1310"), create_app(seed="demo")
    )
    target = hook.get_target()
    assert target.system == "accountview" and target.client.page_size == 5
    assert target.options.control_account == "1310"
    assert target.find_items(KNOWN[:3]) == set(KNOWN[:3])
    source = hook.get_source()
    assert source.options.ean_field == "BAR_CODE"
    assert len(list(source.iter_stock_records())) == len(KNOWN)


def test_registry_points_at_the_hook():
    from shopbridge.connectors.accountview.hook import AccountViewHook
    from shopbridge.connectors.registry import HOOKS

    module, _, name = HOOKS["accountview"].partition(":")
    assert (module, name) == (AccountViewHook.__module__, AccountViewHook.__name__)
    assert (AccountViewHook.conn_type, AccountViewHook.default_conn_name) == (
        "accountview",
        "shopbridge_accountview",
    )
