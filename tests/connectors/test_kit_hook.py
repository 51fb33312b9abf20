"""VendorHook: what every connector's hook has in common, held for all seven at once."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from shopbridge.connectors._kit.hook import VendorHook
from shopbridge.connectors.forms import CONNECTION_FORMS
from shopbridge.connectors.registry import HOOKS
from shopbridge.errors import ConfigError


def hook_class(system: str) -> type[VendorHook[Any, Any, Any, Any]]:
    module, _, name = HOOKS[system].partition(":")
    cls: type[VendorHook[Any, Any, Any, Any]] = getattr(importlib.import_module(module), name)
    return cls


@pytest.mark.parametrize("system", sorted(HOOKS))
def test_names_and_form_follow_from_the_system(system: str) -> None:
    cls = hook_class(system)
    form = CONNECTION_FORMS[system]
    assert issubclass(cls, VendorHook)
    assert (cls.conn_type, cls.conn_name_attr, cls.default_conn_name) == (
        system,
        f"{system}_conn_id",
        f"shopbridge_{system}",
    )
    assert (cls.form, cls.hook_name) == (form, form.name)
    ui = cls.get_ui_field_behaviour()
    for field in ("login", "password"):
        assert (field in ui["hidden_fields"]) == (field not in form.credentials), field
    assert ui["relabeling"] == form.labels()
    assert json.loads(ui["placeholders"]["extra"]) == dict(form.example)


@pytest.mark.parametrize("system", sorted(HOOKS))
def test_the_connection_id_is_taken_the_airflow_way_too(system: str) -> None:
    cls = hook_class(system)
    assert cls().conn_id == f"shopbridge_{system}"
    hook = cls(**{cls.conn_name_attr: "from_airflow"})
    assert hook.conn_id == getattr(hook, cls.conn_name_attr) == "from_airflow"
    assert cls("positional").conn_id == "positional"


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str, **fields: Any) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, **fields})
    )


def test_a_role_the_system_cannot_play_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "kit_fx", "fortnox", login="c", password="s", extra={"refresh_token": "r"})
    with pytest.raises(ConfigError, match="'kit_fx': Fortnox can only be a source"):
        hook_class("fortnox")("kit_fx").get_target()


def test_unknown_extra_names_the_known_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(monkeypatch, "kit_b", "buckles", host="https://x", password="t", extra={"perpage": 5})
    with pytest.raises(ConfigError) as err:
        hook_class("buckles")("kit_b").get_settings()
    assert str(err.value).startswith("connection 'kit_b': extra.perpage: unknown setting; known:")
    assert "per_page" in str(err.value) and "token" not in str(err.value).split("known:")[1]


def test_a_number_where_text_belongs_is_read_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    _conn(
        monkeypatch,
        "kit_g",
        "exact_globe",
        host="globe01",
        login="u",
        password="p",
        extra={"server_name": "SQL01", "database_name": 600, "default_warehouse": 3},
    )
    settings = hook_class("exact_globe")("kit_g").get_settings()
    assert (settings.base_url, settings.database_name, settings.default_warehouse) == (
        "http://globe01",
        "600",
        "3",
    )


def test_test_connection_reports_a_config_error_without_calling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _conn(monkeypatch, "kit_c", "ccv_salespos", login="k")
    assert hook_class("ccv_salespos")("kit_c").test_connection() == (
        False,
        "connection 'kit_c': host is required "
        "(the shop's domain, e.g. https://mijnwinkel.ccvshop.nl)",
    )
