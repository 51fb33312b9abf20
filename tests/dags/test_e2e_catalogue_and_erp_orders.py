"""The products, stock and ERP-orders DAGs, run with ``dag.test()`` against both sandboxes as
their own processes: what arrived on the other side, and a second run writing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.dags.helpers import run_dag, sandbox_pair

pytestmark = pytest.mark.slow

PAIR = "lightspeed_ecom__exact_globe"
AUTH = ("demo-key", "demo-secret")


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory, airflow_db):
    with sandbox_pair(tmp_path_factory.mktemp("catalogue-sandboxes"), n_orders=10) as urls:
        yield urls


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_sandbox/stats", timeout=10).json()


def test_products_dag_builds_the_catalogue_in_globe_and_reruns_for_free(sandboxes):
    eg = sandboxes["exact_globe"]
    window = {"start": (DEMO_START - timedelta(days=120)).isoformat(), "end": DEMO_END.isoformat()}
    state, summary = run_dag(window, dag_id=f"{PAIR}__products")
    assert state == "success"
    assert summary["products_quarantined"] == 0
    assert summary["products_skipped_filtered"] == 1  # the hidden, discontinued one
    items = {i["ItemCode"]: i for i in httpx.get(f"{eg}/_sandbox/items", timeout=10).json()}
    parents = [i for i in items.values() if i.get("IsConfigurable")]
    assert parents
    children = [i for i in items.values() if i.get("ParentItem") == parents[0]["ItemCode"]]
    assert len(children) >= 2
    assert all(i["FreeTextField_01"] for i in children)  # the colour attribute
    assert any(i["images"] for i in items.values())
    assert httpx.get(f"{eg}/_sandbox/categories", timeout=10).json()
    writes = stats(eg)["writes"]
    state, again = run_dag(window, dag_id=f"{PAIR}__products")
    assert state == "success"
    assert again["products_created"] == again["products_updated"] == 0
    assert again["images_uploaded"] == 0
    assert stats(eg)["writes"] == writes


def test_stock_dag_writes_levels_then_only_changes(sandboxes):
    eg, ls = sandboxes["exact_globe"], sandboxes["lightspeed_ecom"]
    state, summary = run_dag({}, dag_id=f"{PAIR}__stock")
    assert state == "success"
    assert summary["stock_written"] > 0
    variant = next(
        v
        for v in httpx.get(f"{ls}/nl/variants.json", auth=AUTH, timeout=10).json()["variants"]
        if v["stockTracking"] == "enabled" and v["sku"] != "DISC-0001"
    )
    httpx.put(
        f"{ls}/nl/variants/{variant['id']}.json",
        auth=AUTH,
        timeout=10,
        json={"variant": {"stockLevel": 42}},
    ).raise_for_status()
    state, again = run_dag({}, dag_id=f"{PAIR}__stock")
    assert state == "success"
    assert again["stock_written"] == 1
    item = next(
        i
        for i in httpx.get(f"{eg}/_sandbox/items", timeout=10).json()
        if i["ItemCode"] == variant["sku"]
    )
    assert float(item["warehouses"]["1"]) == 42


def test_erp_orders_dag_creates_the_erp_orders_in_the_webshop_once(sandboxes):
    ls = sandboxes["lightspeed_ecom"]
    window = {
        "start": DEMO_START.isoformat(),
        "end": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    state, summary = run_dag(window, dag_id=f"{PAIR}__erp_orders")
    assert state == "success"
    # (the shop's 300 requests / 5 min can make the load wait for a task retry: an order
    # its first attempt created still counts once, as created)
    assert summary["orders_created"] == 5
    shop = httpx.get(f"{ls}/nl/orders.json", params={"limit": 250}, auth=AUTH, timeout=10).json()[
        "orders"
    ]
    ours = [o for o in shop if str(o.get("comment") or "").startswith("shopbridge ref ")]
    assert len(ours) == 5
    state, again = run_dag(window, dag_id=f"{PAIR}__erp_orders")
    assert state == "success"
    assert again["orders_created"] == 0
    assert again["orders_skipped_existing"] == 5


def test_a_window_with_nothing_in_it_still_reports_and_remembers_it(sandboxes):
    window = {"start": "2020-01-01T00:00:00+00:00", "end": "2020-01-02T00:00:00+00:00"}
    state, summary = run_dag(window, dag_id=f"{PAIR}__erp_orders")
    assert state == "success"
    assert summary["orders_read"] == summary["orders_created"] == 0
    assert summary["window"] == [window["start"], window["end"]]
