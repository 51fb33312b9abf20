"""The Buckles Airflow hook: Connection -> settings, source, target, test_connection."""

from __future__ import annotations

import json
import warnings
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.errors import ConfigError
from shopbridge_dev.sandboxes.buckles.app import create_app
from shopbridge_dev.sandboxes.connections import connection_fields
from shopbridge_dev.sandboxes.demo_data import DEMO_START

SANDBOX_CONN = connection_fields("buckles", "http://testserver")


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "buckles", **fields})
    )


def test_hook_builds_source_and_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.buckles.hook import BucklesHook

    _conn(
        monkeypatch,
        "b_ok",
        **{
            **SANDBOX_CONN,
            "extra": {"per_page": 5, "rate_limit_per_minute": 60, "channel": "webshop"},
        },
    )
    hook = BucklesHook("b_ok")
    settings = hook.get_settings()
    assert (settings.base_url, settings.per_page, settings.rate_limit_per_minute) == (
        "http://testserver",
        5,
        60,
    )
    assert "demo-token" not in repr(settings)
    app = create_app(seed="demo")
    source = hook.get_source(http=TestClient(app))
    assert source.client.per_page == 5 and source.client.window.limit == 60
    assert len(list(source.iter_stock_records())) > 5
    assert list(source.iter_customer_records(DEMO_START, DEMO_START + timedelta(days=7))) == []
    target = hook.get_target(http=TestClient(app))
    assert target.channel == "webshop"
    assert target.find_items(["MUG-BLA-9006"]) == {"MUG-BLA-9006"}
    assert BucklesHook.default_conn_name == "shopbridge_buckles"
    assert BucklesHook.conn_type == "buckles"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"password": "t"}, "'b_cfg': host is required"),
        ({"host": "https://x"}, r"'b_cfg': password \(API token\) is empty"),
        (
            {"host": "https://x", "password": "t", "extra": {"per_page": 500}},
            "'b_cfg': extra.per_page",
        ),
        (
            {"host": "https://x", "password": "t", "extra": {"pagesize": 9}},
            "'b_cfg': extra.pagesize",
        ),
    ],
)
def test_config_errors_name_connection_and_field(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], needle: str
) -> None:
    from shopbridge.connectors.buckles.hook import BucklesHook

    _conn(monkeypatch, "b_cfg", **fields)
    with pytest.raises(ConfigError, match=needle):
        BucklesHook("b_cfg").get_client()


def test_test_connection_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.buckles import hook as hook_module

    real = hook_module.BucklesHook.get_client
    app: list[FastAPI | None] = [create_app(seed="demo")]

    def get_client(self: Any, **kwargs: Any) -> BucklesClient:
        if app[0] is not None:
            kwargs["http"] = TestClient(app[0])
        return real(self, **kwargs)

    monkeypatch.setattr(hook_module.BucklesHook, "get_client", get_client)
    _conn(monkeypatch, "b_good", **SANDBOX_CONN)
    _conn(monkeypatch, "b_bad", **{**SANDBOX_CONN, "password": "nope"})
    assert hook_module.BucklesHook("b_good").test_connection() == (
        True,
        "connection 'b_good': OK, 0 order(s) in Buckles",
    )
    ok, message = hook_module.BucklesHook("b_bad").test_connection()
    assert not ok and "refused the token of connection 'b_bad'" in message
    assert "nope" not in message
    app[0] = None
    _conn(monkeypatch, "b_down", **{**SANDBOX_CONN, "host": "http://127.0.0.1:1"})
    ok, message = hook_module.BucklesHook("b_down").test_connection()
    assert not ok and "cannot reach Buckles at http://127.0.0.1:1" in message
