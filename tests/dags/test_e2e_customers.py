"""The customers DAG, run with ``dag.test()`` against both sandboxes as their own processes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import httpx
import pytest

from shopbridge_dev.sandboxes.demo_data import DEMO_START, generate
from tests.dags.helpers import run_dag, sandbox_pair

pytestmark = pytest.mark.slow

DAG_ID = "lightspeed_ecom__exact_globe__customers"


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory, airflow_db):
    state = tmp_path_factory.mktemp("customer-sandboxes")
    with sandbox_pair(state, n_orders=10) as urls:
        yield urls["exact_globe"]


def test_customers_dag_creates_and_updates_debtors_once(sandboxes):
    data = generate("demo")
    window = {"start": (DEMO_START - timedelta(days=90)).isoformat(), "end": DEMO_START.isoformat()}
    state, summary = run_dag(window, dag_id=DAG_ID)
    assert state == "success"
    assert summary["customers_read"] == len(data.customers)
    assert summary["customers_created"] == len(data.customers) - len(data.existing_debtors)
    accounts = httpx.get(f"{sandboxes}/_sandbox/accounts", timeout=10).json()
    emails = Counter(a["Email"].lower() for a in accounts if a["Email"])
    assert set(emails) == {c["email"] for c in data.customers if c["email"]}
    assert max(emails.values()) == 1
    state, again = run_dag(window, dag_id=DAG_ID)
    assert state == "success"
    assert again["customers_created"] == again["customers_updated"] == 0
    assert again["customers_unchanged"] == len(data.customers)
