"""The whole webhook path on this machine: the Lightspeed sandbox delivering signed
webhooks to Airflow's api-server (the shopbridge plugin), the DAG runs they start, and
the Buckles sandbox the orders land in. The end-to-end test and ``./run bench webhooks``
drive the same thing, so the benchmark measures what the test proves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shopbridge_dev.local_airflow import LocalAirflow
from shopbridge_dev.procs import start_sandbox, stop
from shopbridge_dev.sandboxes.connections import connection_fields

ROOT = Path(__file__).parents[2]
PAIR = "lightspeed_ecom__buckles"
ORDERS_DAG = f"{PAIR}__orders"
AUTH = ("demo-key", "demo-secret")


@dataclass
class LivePair:
    shop: str
    hub: str
    airflow: LocalAirflow
    env: dict[str, str]
    #: the folder whose ``include/integrations`` the CLI reads (the Airflow's own)
    root: Path = ROOT

    def register_webhooks(self) -> str:
        """``shopbridge webhooks register`` as a person runs it; returns its output."""
        out = subprocess.run(  # noqa: S603 (our own CLI, fixed arguments)
            [
                sys.executable,
                "-m",
                "shopbridge.tools.cli",
                "webhooks",
                "register",
                PAIR,
                "--url",
                self.airflow.url,
            ],
            env={**os.environ, **self.env, "SHOPBRIDGE_ROOT": str(self.root)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"webhooks register failed: {out.stderr[-2000:]}")
        return out.stdout

    def burst(self, n: int) -> dict[str, float]:
        """``n`` new orders in the shop as fast as it takes them (each one a delivery);
        order number (our reference in the hub) -> when it was created (epoch seconds)."""
        with httpx.Client(base_url=self.shop, timeout=30) as shop:
            template = shop.get("/nl/orders.json", params={"limit": 1}, auth=AUTH).json()
            order = template["orders"][0]
            lines = shop.get(f"/nl/orders/{order['id']}/products.json", auth=AUTH).json()
            created: dict[str, float] = {}
            stamp = time.strftime("%H%M%S")
            for i in range(n):
                body = {k: v for k, v in order.items() if k not in ("id", "createdAt", "updatedAt")}
                body |= {
                    "number": f"WH{stamp}-{i}",
                    "products": {"resource": {"embedded": lines["orderProducts"]}},
                }
                shop.post("/_sandbox/orders", json={"order": body}).raise_for_status()
                created[body["number"]] = time.time()
        return created

    def deliveries(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.shop}/_sandbox/deliveries", timeout=30).json())

    def hub_orders(self) -> list[dict[str, Any]]:
        state = httpx.get(f"{self.hub}/_sandbox/state", timeout=30).json()
        return list(state["orders"])

    def wait_for_orders(self, refs: set[str], *, timeout: float = 600) -> dict[str, float]:
        """Poll the hub until every ref (shop order number) is there; ref -> when it was
        created there."""
        seen: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.time()
            for o in self.hub_orders():
                ref = str(o.get("channel_order_id"))
                if ref in refs and ref not in seen:
                    seen[ref] = _created_at(o, now)
            if refs <= seen.keys():
                return seen
            time.sleep(0.5)
        missing = sorted(refs - seen.keys())
        raise RuntimeError(f"{len(missing)} orders never reached the hub, e.g. {missing[:5]}")

    def runs(self) -> list[dict[str, Any]]:
        return self.airflow.runs(ORDERS_DAG)


def _created_at(order: dict[str, Any], default: float) -> float:
    value = order.get("created_at")
    if not value:
        return default
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return default


@contextmanager
def live_pair(
    state: Path, *, parallelism: int = 4, shop_options: dict[str, str] | None = None
) -> Iterator[LivePair]:
    """Both sandboxes and ``airflow standalone`` with the plugin; only the orders DAG of
    the pair is switched on (every other DAG stays paused, as new DAGs start)."""
    state.mkdir(parents=True, exist_ok=True)
    procs = []
    airflow: LocalAirflow | None = None
    try:
        shop_proc, shop = start_sandbox(
            "lightspeed_ecom",
            state_dir=state,
            persist=False,
            options={"n_orders": "3", **(shop_options or {})},
        )
        procs.append(shop_proc)
        hub_proc, hub = start_sandbox("buckles", state_dir=state, persist=False)
        procs.append(hub_proc)
        env = {
            "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite'}",
            "AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM": json.dumps(
                connection_fields("lightspeed_ecom", shop)
            ),
            "AIRFLOW_CONN_SHOPBRIDGE_BUCKLES": json.dumps(connection_fields("buckles", hub)),
        }
        airflow = LocalAirflow(
            home=state / "airflow",
            dags_folder=ROOT / "dags",
            parallelism=parallelism,
            extra_env={**env, "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"},
        )
        airflow.start()
        airflow.wait_for_dag(ORDERS_DAG)
        airflow.unpause(ORDERS_DAG)
        yield LivePair(shop=shop, hub=hub, airflow=airflow, env=env)
    finally:
        if airflow is not None:
            airflow.stop()
        for proc in procs:
            stop(proc)
