"""What ``./run demo --pair <name>`` shows for each further pair, on the shared live Airflow
(``tests/stage.py``): every flow runs in a real scheduler and moves something; then each
flow run again through its DAG (``dag.test()``) over the same sandboxes and ledger writes
nothing there.

The demo command itself, starting and stopping everything, is ``test_demo_command``'s; here
its :func:`shopbridge_dev.demo.present` runs against the stage, one Airflow per test
process instead of one per pair (``tests/conftest.py`` puts the Buckles pair on one worker's
stage and the others on the other's, both tests of a pair on the same).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shopbridge_dev import demo
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.dags.helpers import run
from tests.stage import Stage

pytestmark = pytest.mark.slow


#: pair -> the flows its demo runs
NEW_PAIRS = {
    "lightspeed_ecom__accountview": {"products", "customers", "orders", "stock"},
    "lightspeed_ecom__ccv_salespos": {"products", "orders", "stock"},
    "fortnox__lightspeed_retail": {"products", "orders", "stock"},
    "lightspeed_ecom__buckles": {
        "products",
        "customers",
        "hub_customers",
        "orders",
        "stock",
        "shipments",
        "shop_shipments",
        "checkouts",
    },
}
#: pair -> its flows in the order a user would first run them (the catalogue first), each
#: run again after the demo (``tests/dags/test_e2e_buckles.py`` reruns the Buckles pair's)
RERUN: dict[str, tuple[str, ...]] = {
    "lightspeed_ecom__accountview": ("products", "stock", "customers", "orders"),
    "lightspeed_ecom__ccv_salespos": ("products", "stock", "orders"),
    "fortnox__lightspeed_retail": ("products", "stock", "orders"),
}
#: what each kind's first run must show it did (any of these keys above 0)
DID = {
    "products": ("products_created", "products_updated"),
    "stock": ("stock_written",),
    "customers": ("customers_created", "customers_updated"),
    "orders": ("orders_created",),
}
#: ... and what its second run must not do
REDO = {
    "products": ("products_created", "products_updated", "images_uploaded"),
    "stock": ("stock_written",),
    "customers": ("customers_created", "customers_updated"),
    "orders": ("orders_created", "customers_created", "customers_updated"),
}


def _window(kind: str) -> dict[str, str]:
    if kind == "orders":
        return {"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat()}
    return {
        "start": (DEMO_START - timedelta(days=365)).isoformat(),
        "end": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }


def _writes(url: str) -> int:
    return int(httpx.get(f"{url}/_sandbox/stats", timeout=10).json()["writes"])


@pytest.fixture(scope="module")
def shown(stage: Stage) -> Callable[[str], tuple[dict[str, Any], str]]:
    """pair -> the demo's summary and what it printed, the demo shown once per pair."""
    done: dict[str, tuple[dict[str, Any], str]] = {}

    def show(pair: str) -> tuple[dict[str, Any], str]:
        if pair not in done:
            out = io.StringIO()
            with stage.paused(pair) as live, contextlib.redirect_stdout(out):
                summary = demo.present(stage.airflow, live.cfg, live.urls, stage.root)
            done[pair] = summary, out.getvalue()
        return done[pair]

    return show


@pytest.mark.parametrize("pair", sorted(NEW_PAIRS))
def test_demo_runs_every_flow_of_each_pair(stage: Stage, shown: Any, pair: str) -> None:
    summary, out = shown(pair)
    flows = summary["flows"]
    assert set(flows) == NEW_PAIRS[pair]
    assert all(f["state"] == "success" for f in flows.values())
    assert flows["orders"]["orders_created"] > 0
    assert flows["stock"]["stock_written"] > 0
    assert flows["products"]["products_created"] + flows["products"]["products_updated"] > 0
    cfg = stage.pair(pair).cfg
    for flow in RERUN.get(pair, ()):
        kind, first = cfg.kind(flow), flows[flow]
        assert any(first.get(k, 0) > 0 for k in DID[kind]), (pair, flow, first)
        assert first[f"{kind}_quarantined"] <= max(1, first[f"{kind}_read"] // 10), first
    assert "DAG: http://127.0.0.1:" in out and f"{pair}__orders" in out
    if pair == "lightspeed_ecom__buckles":  # new orders arrive through the webhook path
        assert len(summary["webhook"]["orders"]) == 3 and summary["webhook"]["runs"]
        assert "Webhooks: 3 new orders reached buckles" in out


@pytest.mark.parametrize("pair", sorted(RERUN))
def test_every_flow_run_again_writes_nothing(
    stage: Stage, shown: Any, pair: str, airflow_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopbridge.airflow.dag_factory import build_flow_dag

    shown(pair)
    live = stage.pair(pair)
    cfg = live.cfg
    # this process runs the tasks: the stage's Connections and ledger, so the rerun meets
    # what the demo wrote
    for key, value in live.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", stage.ledger_url)
    for flow in RERUN[pair]:
        kind = cfg.kind(flow)
        written_to = live.urls[cfg.ends(flow)[1].system]
        writes = _writes(written_to)
        state, again = run(build_flow_dag(cfg, flow, cfg.flows[flow]), _window(kind))
        assert state == "success", (pair, flow, again)
        assert all(again.get(k, 0) == 0 for k in REDO[kind]), (pair, flow, again)
        assert _writes(written_to) == writes, (pair, flow, "the rerun wrote")
