"""The real orders DAG, run with ``dag.test()`` against both sandboxes as their own processes.

What a user would check: orders arrived in Exact Globe, one debtor per e-mail, company vs
person debtors right, the unknown-SKU order quarantined with its reason while the rest
loaded, and a second run creating nothing.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shopbridge.store.ledger import Ledger
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU, generate
from tests.dags.helpers import parsed_dag, run_dag, sandbox_pair

pytestmark = pytest.mark.slow

DAG_ID = "lightspeed_ecom__exact_globe__orders"
INTEGRATION = "lightspeed_ecom__exact_globe"
N_ORDERS = 60


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory, airflow_db):
    with sandbox_pair(tmp_path_factory.mktemp("sandboxes"), n_orders=N_ORDERS) as urls:
        yield urls


def globe(url: str, what: str) -> list[dict]:
    return httpx.get(f"{url}/_sandbox/{what}", timeout=10).json()


WEEK = {"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat()}


def test_first_run_loads_orders_and_quarantines_the_unknown_sku(sandboxes):
    data = generate("demo", n_orders=N_ORDERS)
    state, summary = run_dag(WEEK)
    assert state == "success"
    orders = globe(sandboxes["exact_globe"], "orders")
    bad = [o for o in data.orders if any(l["product"]["sku"] == UNKNOWN_SKU for l in o["lines"])]
    assert len(bad) == 1
    assert summary["orders_read"] == N_ORDERS
    assert summary["orders_quarantined"] == 1
    assert summary["orders_created"] == N_ORDERS - 1
    assert len(orders) == N_ORDERS - 1
    q = summary["quarantined"][0]
    assert q["source_id"] == str(bad[0]["order_id"])
    assert q["field"].endswith(".sku")
    assert UNKNOWN_SKU in q["reason"]
    # every loaded order is in Globe once, under its webshop number
    refs = Counter(o["YourReference"] for o in orders)
    assert max(refs.values()) == 1
    assert bad[0]["number"] not in refs
    # the ledger agrees and says why the other one is set aside
    ledger = Ledger()
    row = ledger.get(INTEGRATION, "order", str(bad[0]["order_id"]))
    assert row.status == "quarantined"
    assert UNKNOWN_SKU in row.reason
    assert summary["api_calls"] > 0


def test_debtors_one_per_email_company_or_person(sandboxes):
    data = generate("demo", n_orders=N_ORDERS)
    accounts = globe(sandboxes["exact_globe"], "accounts")
    emails = Counter(a["Email"].lower() for a in accounts if a["Email"])
    assert max(emails.values()) == 1
    by_email = {a["Email"].lower(): a for a in accounts if a["Email"]}
    # a customer without an e-mail is known by its webshop customer number: one debtor
    # each, found by name here
    by_name = {a["Name"]: a for a in accounts if not a["Email"]}
    loaded = [
        o
        for o in data.orders
        if all(l["product"]["sku"] != UNKNOWN_SKU for l in o["lines"]) and "total_off" not in o
    ]

    def account_of(c: dict[str, Any]) -> dict[str, Any]:
        if c["email"]:
            return by_email[c["email"].lower()]
        return by_name[
            c["company_name"] if c["is_company"] else f"{c['first_name']} {c['last_name']}"
        ]

    for order in loaded:
        c = order["customer"]
        account = account_of(c)
        if c["is_company"]:
            assert account["Name"] == c["company_name"]
            assert account["VATNumber"] == c["vat_number"]  # no person flag in Globe
            contacts = account.get("Contacts") or account.get("contacts") or []
            assert any(ct["LastName"] == c["last_name"] for ct in contacts)
        else:
            assert account["Name"] == f"{c['first_name']} {c['last_name']}"
            assert not account.get("VATNumber")
    # every Globe order is booked on the debtor of its customer
    orders = {o["YourReference"]: o for o in globe(sandboxes["exact_globe"], "orders")}
    for order in loaded:
        assert orders[order["number"]]["OrderDebtor"] == account_of(order["customer"])["DebtorCode"]


def test_second_run_creates_nothing(sandboxes):
    before_orders = globe(sandboxes["exact_globe"], "orders")
    before_accounts = globe(sandboxes["exact_globe"], "accounts")
    state, summary = run_dag(WEEK)
    assert state == "success"
    assert summary["orders_created"] == 0
    assert summary["customers_created"] == 0
    assert summary["customers_updated"] == 0
    assert summary["orders_skipped_existing"] == N_ORDERS - 1
    assert summary["orders_quarantined"] == 1
    assert globe(sandboxes["exact_globe"], "orders") == before_orders
    assert globe(sandboxes["exact_globe"], "accounts") == before_accounts


def test_a_new_order_with_changed_customer_details_updates_the_debtor_in_place(sandboxes):
    ls = sandboxes["lightspeed_ecom"]
    auth = ("demo-key", "demo-secret")
    order = httpx.get(f"{ls}/nl/orders.json", params={"limit": 1}, auth=auth).json()["orders"][0]
    lines = httpx.get(f"{ls}/nl/orders/{order['id']}/products.json", auth=auth).json()
    when = (DEMO_END + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    new = {
        **order,
        "id": 39999,
        "number": "ORD39999",
        "addressBillingCity": "Maastricht",
        "createdAt": when,
        "updatedAt": when,
        "products": {
            "resource": {
                "id": 39999,
                "url": "orders/39999/products",
                "link": "",
                "embedded": lines["orderProducts"],
            }
        },
    }
    r = httpx.post(f"{ls}/_sandbox/orders", json={"order": new})
    assert r.status_code in (200, 201), r.text
    codes_before = {
        a["Email"].lower(): a["DebtorCode"] for a in globe(sandboxes["exact_globe"], "accounts")
    }
    state, summary = run_dag(
        {"start": DEMO_END.isoformat(), "end": (DEMO_END + timedelta(hours=2)).isoformat()}
    )
    assert state == "success"
    assert summary["orders_read"] == 1
    assert summary["orders_created"] == 1
    assert summary["customers_created"] == 0
    assert summary["customers_updated"] == 1
    after = {a["Email"].lower(): a for a in globe(sandboxes["exact_globe"], "accounts")}
    account = after[order["email"].lower()]
    assert account["City"] == "Maastricht"
    # updated in place: same debtor code, no new debtor
    assert {e: a["DebtorCode"] for e, a in after.items()} == codes_before
    booked = {o["YourReference"]: o for o in globe(sandboxes["exact_globe"], "orders")}
    assert booked["ORD39999"]["OrderDebtor"] == codes_before[order["email"].lower()]


def _task_states(run_id: str) -> dict[str, tuple[str, int]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.run_id == run_id).all()
        return {f"{ti.task_id}[{ti.map_index}]": (ti.state, ti.try_number) for ti in tis}


def test_wrong_credentials_fail_the_run_at_once_without_retries(sandboxes, monkeypatch):
    bad = json.loads(os.environ["AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE"])
    bad["password"] = "not-the-password"
    monkeypatch.setenv("AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE", json.dumps(bad))
    before = globe(sandboxes["exact_globe"], "orders")
    dag = parsed_dag(DAG_ID)
    dr = dag.test(run_conf=WEEK, logical_date=datetime.now(UTC))
    assert dr.state == "failed"
    states = _task_states(dr.run_id)
    failed = {k: v for k, v in states.items() if v[0] == "failed"}
    assert failed, states
    # an auth error is fatal: the task failed on its first try, no retry was scheduled
    assert all(tries == 1 for _, tries in failed.values())
    assert all(k.startswith("lookup") for k in failed)
    assert globe(sandboxes["exact_globe"], "orders") == before


def test_missing_connection_fails_at_once_naming_it(sandboxes, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM")
    dag = parsed_dag(DAG_ID)
    dr = dag.test(run_conf=WEEK, logical_date=datetime.now(UTC))
    assert dr.state == "failed"
    states = _task_states(dr.run_id)
    assert states["extract[-1]"] == ("failed", 1)
