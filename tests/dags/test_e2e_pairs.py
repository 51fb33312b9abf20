"""Every flow of every further pair through its real DAG (``dag.test()``), against the pair's
sandboxes as their own processes: something arrives in the target sandbox the first time,
and the second run writes nothing there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.dags.helpers import run_dag, sandbox_pair

pytestmark = pytest.mark.slow

#: pair -> its flows in the order a user would first run them (the catalogue first)
PAIRS: dict[str, tuple[str, ...]] = {
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


@pytest.fixture(scope="module", params=sorted(PAIRS))
def pair(request: Any, tmp_path_factory: Any, airflow_db: Any) -> Any:
    from shopbridge.config import load_integration
    from shopbridge_dev.demo import SANDBOX_OPTIONS, _root

    name = request.param
    cfg = load_integration(_root() / "include" / "integrations" / f"{name}.yaml")
    systems = (cfg.source.system, cfg.target.system)
    with sandbox_pair(
        tmp_path_factory.mktemp(name),
        n_orders=40,
        systems=systems,
        options={
            **SANDBOX_OPTIONS,
            "lightspeed_ecom": {**SANDBOX_OPTIONS["lightspeed_ecom"], "n_orders": "40"},
        },
    ) as urls:
        yield name, cfg, urls


def test_every_flow_lands_once_and_a_rerun_writes_nothing(pair: Any) -> None:
    name, cfg, urls = pair
    for flow in PAIRS[name]:
        kind = cfg.kind(flow)
        written_to = urls[cfg.ends(flow)[1].system]
        state, first = run_dag(_window(kind), dag_id=cfg.dag_id(flow))
        assert state == "success", (name, flow, first)
        assert any(first.get(k, 0) > 0 for k in DID[kind]), (name, flow, first)
        assert first[f"{kind}_quarantined"] <= max(1, first[f"{kind}_read"] // 10), first
        writes = _writes(written_to)
        state, again = run_dag(_window(kind), dag_id=cfg.dag_id(flow))
        assert state == "success", (name, flow, again)
        assert all(again.get(k, 0) == 0 for k in REDO[kind]), (name, flow, again)
        assert _writes(written_to) == writes, (name, flow, "the rerun wrote")
