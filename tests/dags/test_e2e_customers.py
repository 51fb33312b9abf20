"""The customers DAG, run with ``dag.test()`` against both sandboxes as their own processes."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from shopbridge._procs import start_sandbox, stop
from shopbridge.sandbox.demo_data import DEMO_START, generate
from tests.dags.test_e2e_lightspeed_ecom__exact_globe import run_dag

pytestmark = pytest.mark.slow

DAG_ID = "lightspeed_ecom__exact_globe__customers"


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory, airflow_db):
    state = tmp_path_factory.mktemp("customer-sandboxes")
    ls, ls_url = start_sandbox("lightspeed_ecom", state_dir=state, options={"n_orders": "10"})
    eg, eg_url = start_sandbox("exact_globe", state_dir=state)
    env = {
        "AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM": json.dumps({
            "conn_type": "lightspeed_ecom", "host": ls_url, "login": "demo-key",
            "password": "demo-secret", "extra": {"language": "nl"}}),
        "AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE": json.dumps({
            "conn_type": "exact_globe", "host": eg_url, "login": "globe", "password": "globe",
            "extra": {"server_name": "sandbox", "database_name": "600", "auth": "basic"}}),
        # a ledger of this module's own: its rows point into this module's sandboxes
        "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite'}",
    }
    previous = os.environ.get("SHOPBRIDGE_LEDGER_URL")
    os.environ.update(env)
    yield eg_url
    for key in env:
        os.environ.pop(key, None)
    if previous is not None:
        os.environ["SHOPBRIDGE_LEDGER_URL"] = previous
    stop(ls)
    stop(eg)


def test_customers_dag_creates_and_updates_debtors_once(sandboxes):
    data = generate("demo")
    window = {"start": (DEMO_START - timedelta(days=90)).isoformat(),
              "end": DEMO_START.isoformat()}
    state, summary = run_dag(window, dag_id=DAG_ID)
    assert state == "success"
    assert summary["customers_read"] == len(data.customers)
    assert summary["customers_created"] == len(data.customers) - len(data.existing_debtors)
    accounts = httpx.get(f"{sandboxes}/_sandbox/accounts", timeout=10).json()
    emails = Counter(a["Email"].lower() for a in accounts if a["Email"])
    assert set(emails) == {c["email"] for c in data.customers}
    assert max(emails.values()) == 1
    state, again = run_dag(window, dag_id=DAG_ID)
    assert state == "success"
    assert again["customers_created"] == again["customers_updated"] == 0
    assert again["customers_unchanged"] == len(data.customers)
