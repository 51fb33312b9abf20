"""The README's demo command itself, as a user runs it: twice, with --once --json; then
what those runs left behind holds no customer's personal data, and the maintenance DAG
purges the rest (``tests/privacy/scan.py`` does the searching)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shopbridge_dev.procs import leftovers
from shopbridge_dev.sandboxes.demo_data import UNKNOWN_SKU
from tests.dags.helpers import run
from tests.privacy.scan import needles, rows, scan_files, scan_sqlite, seeded_personal_data

ROOT = Path(__file__).parents[1]
MAINTENANCE = "shopbridge_maintenance"
KEYS = {
    "orders_read",
    "orders_created",
    "orders_skipped_existing",
    "orders_quarantined",
    "customers_created",
    "customers_updated",
    "api_calls",
}

pytestmark = pytest.mark.slow


def demo(tmp: Path, *args: str) -> tuple[int, str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SHOPBRIDGE", "PYTEST"))
    }
    env["SHOPBRIDGE_DEMO_DIR"] = str(tmp)
    proc = subprocess.run(
        [str(ROOT / "run"), "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@dataclass(frozen=True)
class DemoRuns:
    state: Path
    first: dict[str, Any]
    first_out: str
    first_err: str
    second: dict[str, Any]


@pytest.fixture(scope="module")
def demo_twice(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    """The demo run twice in one state folder: both tests below read it (one demo costs
    minutes, so the privacy search looks at what this one left behind)."""
    state = tmp_path_factory.mktemp("demo")
    code, out, err = demo(state, "--once", "--json")
    assert code == 0, err[-3000:]
    first = json.loads(out.strip().splitlines()[-1])
    code, out2, err2 = demo(state, "--once", "--json")
    assert code == 0, err2[-3000:]
    return DemoRuns(
        state=state,
        first=first,
        first_out=out,
        first_err=err,
        second=json.loads(out2.strip().splitlines()[-1]),
    )


def test_demo_twice_creates_nothing_the_second_time(demo_twice):
    first, out, err = demo_twice.first, demo_twice.first_out, demo_twice.first_err
    assert first.keys() >= KEYS
    assert first["orders_read"] == 240
    # one order has a SKU Globe lacks, one a total 1.00 off its lines (demo_data): both set
    # aside naming what a person must fix; customers without e-mail or country are synced
    assert first["orders_created"] == 238
    assert first["orders_quarantined"] == 2
    fields = {q["field"]: q["reason"] for q in first["quarantined"]}
    assert any(f.startswith("lines[") and UNKNOWN_SKU in r for f, r in fields.items())
    assert "differs from its lines" in fields["total_incl"]
    assert first["countries_defaulted"] >= 1
    flows = first["flows"]
    assert set(flows) == {"products", "customers", "orders", "stock", "erp_orders"}
    assert all(f["state"] == "success" for f in flows.values())
    # the customers flow ran before the orders: they found every debtor in place
    assert flows["customers"]["customers_created"] > 50
    assert flows["customers"]["customers_updated"] >= 1  # debtors the ERP already had
    assert first["customers_created"] == 0
    assert flows["products"]["products_created"] > 0
    assert flows["products"]["products_quarantined"] == 0
    assert flows["products"]["images_uploaded"] > 0
    assert flows["stock"]["stock_written"] > 0
    assert flows["erp_orders"]["orders_created"] == 5
    assert "==> starting airflow standalone" in err
    assert "Airflow UI: http://127.0.0.1:" in out
    assert "login: admin / " in out

    second = demo_twice.second
    assert second["orders_created"] == 0
    assert second["customers_created"] == 0
    assert second["orders_skipped_existing"] == 238
    assert second["orders_quarantined"] == 2
    again = second["flows"]
    assert again["customers"]["customers_created"] == again["customers"]["customers_updated"] == 0
    assert again["products"]["products_created"] == again["products"]["products_updated"] == 0
    assert again["products"]["images_uploaded"] == 0
    assert again["stock"]["stock_written"] == 0
    assert again["erp_orders"]["orders_created"] == 0
    # --once stops everything it started
    assert leftovers(demo_twice.state / ".airflow") == []


def test_demo_with_a_broken_integration_file_says_which_file_and_field(tmp_path):
    env_root = tmp_path / "repo"
    # a copy of the repo's front door pointing at a broken YAML: the demo stops before
    # starting anything and names the file and the field
    (env_root / "include" / "integrations").mkdir(parents=True)
    good = (ROOT / "include/integrations/lightspeed_ecom__exact_globe.yaml").read_text()
    (env_root / "include/integrations/lightspeed_ecom__exact_globe.yaml").write_text(
        good.replace("batch_size", "batchsize")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SHOPBRIDGE"))}
    env.update({"SHOPBRIDGE_ROOT": str(env_root), "SHOPBRIDGE_DEMO_DIR": str(tmp_path)})
    proc = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "shopbridge_dev.demo", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "lightspeed_ecom__exact_globe.yaml" in proc.stderr
    assert "flows.orders.batchsize" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_demo_leaves_no_personal_data_and_maintenance_purges_the_rest(
    demo_twice, airflow_db, monkeypatch
):
    tmp_path = demo_twice.state
    home = tmp_path / ".airflow"
    metadata_db, ledger_db = home / "airflow.db", home / "shopbridge_ledger.sqlite"
    find = needles(seeded_personal_data(tmp_path / ".demo"))

    hits: Counter[str] = Counter()
    n_files = scan_files(home / "logs", find, hits)
    tables = scan_sqlite(metadata_db, find, hits)
    scan_sqlite(ledger_db, find, hits)
    assert n_files > 40  # every task of five runs left its log
    assert {"xcom", "rendered_task_instance_fields", "dag_run", "log"} <= set(tables)
    assert not hits, "personal data found:\n" + "\n".join(
        f"  {where}: {n}" for where, n in sorted(hits.items())
    )
    # what a reported run keeps: its report's summary, nothing of its batches
    assert {t for (t,) in rows(metadata_db, "SELECT DISTINCT task_id FROM xcom")} == {"report"}
    assert rows(ledger_db, "SELECT count(*) FROM shopbridge_activity")[0][0] >= 5

    # --- the maintenance DAG with a retention of 0 days, aimed at the demo's stores -------
    # (a dag.test() run in this process: its own run lives in this process's metadata DB,
    # so `db clean` with 0 days on the demo's cannot delete the purge's own task instance,
    # and no third Airflow has to boot)
    monkeypatch.setenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs"))
    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", f"sqlite:///{ledger_db}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOPBRIDGE_AIRFLOW_DB",
        json.dumps({"conn_type": "generic", "password": f"sqlite:///{metadata_db}"}),
    )
    from shopbridge.airflow.maintenance import build_maintenance_dag

    state, purged = run(build_maintenance_dag(), {"retention_days": 0}, task_id="purge")
    assert state == "success"

    assert purged["retention_days"] == 0
    assert purged["log_files"] >= n_files - 5  # the dag-processor may have written since
    assert purged["activity_runs"] >= 5
    assert purged["airflow_db"]["status"] == "ok", purged["airflow_db"]["detail"]
    flow_logs = [p for p in (home / "logs").glob("dag_id=*") if MAINTENANCE not in p.name]
    assert flow_logs == []
    assert (
        rows(metadata_db, f"SELECT count(*) FROM xcom WHERE dag_id != '{MAINTENANCE}'")[0][0] == 0
    )
    assert (
        rows(
            metadata_db,
            f"SELECT count(*) FROM rendered_task_instance_fields WHERE dag_id != '{MAINTENANCE}'",
        )[0][0]
        == 0
    )
    assert rows(ledger_db, "SELECT count(*) FROM shopbridge_activity")[0][0] == 0
    # no archive copies of the purged rows
    assert not [
        t
        for t in rows(metadata_db, "SELECT name FROM sqlite_master")
        if t[0].startswith("_airflow_deleted")
    ]
