"""The CCV SalesPOS Airflow hook: Connection -> settings, source, target, test_connection."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient
from shopbridge.errors import ConfigError
from shopbridge_dev.sandboxes.ccv_salespos.app import create_app
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START

SANDBOX_CONN = {
    "conn_type": "ccv_salespos",
    "host": "http://testserver",
    "login": "demo-public",
    "password": "demo-secret",
}


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "ccv_salespos", **fields})
    )


def test_hook_builds_source_and_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.ccv_salespos.hook import CcvSalesposHook

    _conn(
        monkeypatch,
        "ccv_ok",
        **{
            **SANDBOX_CONN,
            "extra": {
                "page_size": 5,
                "rate_limit_per_resource": 60,
                "prices_include_tax": True,
                "order_lookup_days": 7,
            },
        },
    )
    hook = CcvSalesposHook("ccv_ok")
    settings = hook.get_settings()
    assert (settings.base_url, settings.page_size, settings.rate_limit_per_resource) == (
        "http://testserver",
        5,
        60,
    )
    assert "demo-secret" not in repr(settings)
    app = create_app(seed="demo")
    source = hook.get_source(http=TestClient(app))
    assert source.prices_include_tax is True and source.client.page_size == 5
    assert len(list(source.iter_product_records(DEMO_START, DEMO_END))) > 0
    target = hook.get_target(http=TestClient(app))
    assert target.lookup_days == 7 and target.reference_field == "reservationnumber"
    assert target.find_items(["MUG-BLA-9006"]) == {"MUG-BLA-9006"}
    assert CcvSalesposHook.default_conn_name == "shopbridge_ccv_salespos"
    assert CcvSalesposHook.conn_type == "ccv_salespos"


def test_host_without_scheme_is_https(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.ccv_salespos.hook import CcvSalesposHook

    _conn(monkeypatch, "ccv_host", host="mijnwinkel.ccvshop.nl", login="k", password="s")
    assert CcvSalesposHook("ccv_host").get_settings().base_url == "https://mijnwinkel.ccvshop.nl"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"login": "k", "password": "s"}, "'ccv_cfg': host is required"),
        ({"host": "https://x", "password": "s"}, r"'ccv_cfg': login \(public key\) is empty"),
        ({"host": "https://x", "login": "k"}, r"'ccv_cfg': password \(secret key\) is empty"),
        (
            {"host": "https://x", "login": "k", "password": "s", "extra": {"page_size": 999}},
            "'ccv_cfg': extra.page_size",
        ),
        (
            {"host": "https://x", "login": "k", "password": "s", "extra": {"pagesize": 9}},
            "'ccv_cfg': extra.pagesize",
        ),
        (
            {
                "host": "https://x",
                "login": "k",
                "password": "s",
                "extra": {"reference_field": "memo"},
            },
            "'ccv_cfg': extra.reference_field",
        ),
    ],
)
def test_config_errors_name_connection_and_field(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], needle: str
) -> None:
    from shopbridge.connectors.ccv_salespos.hook import CcvSalesposHook

    _conn(monkeypatch, "ccv_cfg", **fields)
    with pytest.raises(ConfigError, match=needle):
        CcvSalesposHook("ccv_cfg").get_client()


@pytest.fixture
def on_sandbox(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point every client the hook builds at ``app`` (None: nothing listens)."""
    from shopbridge.connectors.ccv_salespos import hook as hook_module

    real = hook_module.CcvSalesposHook.get_client

    def use(app: FastAPI | None) -> None:
        def get_client(self: Any, **kwargs: Any) -> CcvSalesposClient:
            if app is not None:
                kwargs["http"] = TestClient(app)
            return real(self, **kwargs)

        monkeypatch.setattr(hook_module.CcvSalesposHook, "get_client", get_client)

    return use


def test_test_connection_messages(monkeypatch: pytest.MonkeyPatch, on_sandbox: Any) -> None:
    from shopbridge.connectors.ccv_salespos.hook import CcvSalesposHook

    on_sandbox(create_app(seed="demo"))
    _conn(monkeypatch, "ccv_good", **{**SANDBOX_CONN, "conn_type": "ccv_salespos"})
    _conn(monkeypatch, "ccv_bad", **{**SANDBOX_CONN, "password": "nope"})
    assert CcvSalesposHook("ccv_good").test_connection() == (
        True,
        "connection 'ccv_good': OK, webshop 'Demo winkel' (id 1)",
    )
    ok, message = CcvSalesposHook("ccv_bad").test_connection()
    assert not ok
    assert "refused the signed request of connection 'ccv_bad'" in message
    assert "public key" in message and "clock" in message and "nope" not in message


def test_test_connection_unsigned_answers_and_unreachable(
    monkeypatch: pytest.MonkeyPatch, on_sandbox: Any
) -> None:
    from shopbridge.connectors.ccv_salespos.hook import CcvSalesposHook

    app = create_app(seed="demo")
    with TestClient(app) as tc:
        tc.post("/_sandbox/tamper", json={"times": 1})
    on_sandbox(app)
    _conn(monkeypatch, "ccv_mitm", **SANDBOX_CONN)
    ok, message = CcvSalesposHook("ccv_mitm").test_connection()
    assert not ok and "are not signed with the secret key of connection 'ccv_mitm'" in message

    on_sandbox(None)
    _conn(monkeypatch, "ccv_down", **{**SANDBOX_CONN, "host": "http://127.0.0.1:1"})
    ok, message = CcvSalesposHook("ccv_down").test_connection()
    assert not ok and "cannot reach CCV at http://127.0.0.1:1" in message

    _conn(monkeypatch, "ccv_nohost", login="k", password="s")
    ok, message = CcvSalesposHook("ccv_nohost").test_connection()
    assert not ok and "host is required" in message
