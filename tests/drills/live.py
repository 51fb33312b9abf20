"""What the live drills share: a real ``airflow standalone`` running the Lightspeed eCom →
Exact Globe orders DAG against both sandboxes, with the ledger on a real PostgreSQL server,
and the three-way comparison each drill ends with (source sandbox, target sandbox, ledger).

Each drill gets a folder of its own laid out like the repository (``dags/``,
``include/integrations/``): its DAG file registers the drill's copy of the pair's YAML,
changed only where the drill needs it (schedule, batch size, retries), so the DAG ids,
tasks and pools are those of production.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from shopbridge.store.ledger import Ledger
from shopbridge_dev.local_airflow import LocalAirflow
from shopbridge_dev.procs import start_sandbox, stop
from shopbridge_dev.sandboxes.connections import connection_fields
from shopbridge_dev.sandboxes.demo_data import UNKNOWN_SKU

ROOT = Path(__file__).parents[2]
PAIR = "lightspeed_ecom__exact_globe"
#: the ledger's namespace of flows going webshop -> ERP (``IntegrationConfig.scope``)
SCOPE = "lightspeed_ecom__exact_globe"
SHOP_AUTH = ("demo-key", "demo-secret")

#: Airflow's DAG discovery skips a file that says neither "airflow" nor "dag"
DAG_FILE = '''"""One Airflow DAG per flow of the drill's copy of the integrations."""
from pathlib import Path

from shopbridge.airflow.dag_factory import register_integrations

register_integrations(globals(), config_dir=Path(__file__).parents[1] / "include/integrations")
'''


def write_tree(base: Path, flows: dict[str, dict[str, Any]]) -> Path:
    """``base/dags`` and ``base/include/integrations/<pair>.yaml``: the pair's own file
    with only ``flows`` (each flow's settings over the production ones); returns the DAG
    folder."""
    cfg = yaml.safe_load((ROOT / "include/integrations" / f"{PAIR}.yaml").read_text())
    cfg["flows"] = {name: {**cfg["flows"].get(name, {}), **spec} for name, spec in flows.items()}
    (base / "include/integrations").mkdir(parents=True, exist_ok=True)
    (base / "include/integrations" / f"{PAIR}.yaml").write_text(yaml.safe_dump(cfg))
    (base / "dags").mkdir(exist_ok=True)
    (base / "dags" / "shopbridge_drill.py").write_text(DAG_FILE)
    return base / "dags"


@dataclass
class Drill:
    airflow: LocalAirflow
    shop: str
    globe: str
    ledger_url: str

    # --- the target ------------------------------------------------------------------

    def fault(self, **fault: Any) -> None:
        """Queue a fault in the Exact Globe sandbox (see ``sandbox/_common.Fault``)."""
        httpx.post(f"{self.globe}/_sandbox/faults", json=fault, timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.globe}/_sandbox/faults", timeout=10).raise_for_status()

    def globe_orders(self) -> list[dict[str, Any]]:
        """The sales orders the sync committed in Globe (not the ERP's own phone orders)."""
        return list(httpx.get(f"{self.globe}/_sandbox/orders", timeout=30).json())

    def globe_debtors(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.globe}/_sandbox/accounts", timeout=30).json())

    # --- the source ------------------------------------------------------------------

    def shop_orders(self, start: datetime, end: datetime) -> dict[str, str]:
        """Webshop order id -> number of every order updated in ``[start, end)``, read
        through the shop's own API (its ``updated_at`` filter is inclusive at both ends)."""
        found: dict[str, str] = {}
        with httpx.Client(base_url=self.shop, auth=SHOP_AUTH, timeout=30) as shop:
            page = 1
            while True:
                batch = shop.get(
                    "/nl/orders.json",
                    params={
                        "limit": 250,
                        "page": page,
                        "updated_at_min": start.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                        "updated_at_max": end.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                    },
                ).json()["orders"]
                for o in batch:
                    if datetime.fromisoformat(o["updatedAt"]) < end:
                        found[str(o["id"])] = str(o["number"])
                if len(batch) < 250:
                    return found
                page += 1

    # --- the ledger ------------------------------------------------------------------

    def ledger_orders(self) -> dict[str, tuple[str, str | None, str | None]]:
        """Webshop order id -> (status, Globe order number, reason) of every order row."""
        from sqlalchemy import select

        from shopbridge.store.ledger import records

        ledger = Ledger(self.ledger_url)
        try:
            with ledger.engine.connect() as conn:
                rows = conn.execute(
                    select(
                        records.c.source_ref,
                        records.c.status,
                        records.c.target_ref,
                        records.c.reason,
                    ).where(records.c.integration == SCOPE, records.c.entity == "order")
                )
                return {r.source_ref: (r.status, r.target_ref, r.reason) for r in rows}
        finally:
            ledger.close()

    def assert_each_once(self, expected: dict[str, str]) -> None:
        """0 lost, 0 twice: every expected webshop order (id -> number) is in Globe exactly
        once and the ledger has it ``done`` as that very Globe order; no Globe order is
        there twice, and no two ledger rows claim the same Globe order. Only the order the
        ERP cannot take (the demo's unknown SKU) may be quarantined instead, and must be."""
        in_globe = Counter(o["YourReference"] for o in self.globe_orders())
        twice = {ref: n for ref, n in in_globe.items() if n > 1}
        assert not twice, f"written twice in Globe: {twice}"
        ledger = self.ledger_orders()
        quarantined = {i for i, (status, _, _) in ledger.items() if status == "quarantined"}
        assert all(UNKNOWN_SKU in str(ledger[i][2]) for i in quarantined), {
            i: ledger[i][2] for i in quarantined
        }
        lost = {i: n for i, n in expected.items() if i not in quarantined and n not in in_globe}
        assert not lost, f"{len(lost)} orders never reached Globe: {sorted(lost.values())[:10]}"
        assert all(n not in in_globe for i, n in expected.items() if i in quarantined)
        numbers = {o["YourReference"]: str(o["OrderNumber"]).strip() for o in self.globe_orders()}
        for order_id, number in expected.items():
            if order_id in quarantined:
                continue
            assert ledger.get(order_id, ("missing",))[:2] == ("done", numbers[number]), (
                order_id,
                number,
                ledger.get(order_id),
            )
        targets = Counter(t for status, t, _ in ledger.values() if status == "done")
        assert max(targets.values(), default=1) == 1, "two ledger rows name one Globe order"
        emails = Counter(
            str(d.get("Email", "")).lower() for d in self.globe_debtors() if d.get("Email")
        )
        assert max(emails.values(), default=1) == 1, "a debtor was created twice"

    # --- Airflow ---------------------------------------------------------------------

    def wait_for(
        self, check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.5
    ) -> Any:
        """Poll until ``check`` returns something truthy; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := check():
                return value
            time.sleep(every)
        raise AssertionError(
            f"{what}: not within {timeout:.0f}s; "
            f"{self.airflow.home / 'standalone.log'} has the details"
        )


def at(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@contextmanager
def live_drill(
    base: Path,
    *,
    flows: dict[str, dict[str, Any]],
    ledger_url: str,
    n_orders: int = 240,
    globe_extra: dict[str, Any] | None = None,
    airflow_env: dict[str, str] | None = None,
    parallelism: int = 2,
    database_url: str | None = None,
    executor: str | None = None,
    unpause: tuple[str, ...] = (),
) -> Iterator[Drill]:
    """Both sandboxes as processes, ``airflow standalone`` on the drill's DAG folder with
    the ledger in ``ledger_url``; the DAGs in ``unpause`` switched on (the others stay
    paused, as new DAGs start), and everything stopped again afterwards."""
    dags = write_tree(base, flows)
    procs = []
    airflow: LocalAirflow | None = None
    try:
        shop_proc, shop = start_sandbox(
            "lightspeed_ecom", state_dir=base, persist=False, options={"n_orders": str(n_orders)}
        )
        procs.append(shop_proc)
        globe_proc, globe = start_sandbox("exact_globe", state_dir=base, persist=False)
        procs.append(globe_proc)
        globe_conn = connection_fields("exact_globe", globe)
        globe_conn["extra"] = {**globe_conn["extra"], **(globe_extra or {})}
        env = {
            "SHOPBRIDGE_LEDGER_URL": ledger_url,
            "AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM": json.dumps(
                connection_fields("lightspeed_ecom", shop)
            ),
            "AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE": json.dumps(globe_conn),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            **(airflow_env or {}),
        }
        airflow = LocalAirflow(
            home=base / "airflow",
            dags_folder=dags,
            parallelism=parallelism,
            database_url=database_url,
            executor=executor,
            extra_env=env,
        )
        airflow.start()
        for dag_id in unpause:
            airflow.wait_for_dag(dag_id)
            airflow.unpause(dag_id)
        yield Drill(airflow=airflow, shop=shop, globe=globe, ledger_url=ledger_url)
    finally:
        if airflow is not None:
            airflow.stop()
        for proc in procs:
            stop(proc)
