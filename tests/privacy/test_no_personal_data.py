"""After a full demo, no customer's name, e-mail, street or phone number is left in the task
logs, Airflow's metadata DB or the ledger; the maintenance DAG then purges what aged out.

The seeded personal data is read from the source sandbox's own state (what the demo's
webshop served), and every file and every text column is searched for it: a leak anywhere
fails the test, naming the place and the kind of datum, never the datum.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from shopbridge.local_airflow import LocalAirflow

ROOT = Path(__file__).parents[2]
MAINTENANCE = "shopbridge_maintenance"

pytestmark = pytest.mark.slow


def seeded_personal_data(state: Path) -> dict[str, str]:
    """Each demo customer's e-mail, phone, full name, last name, company and street, as
    the webshop sandbox holds them -> the kind of datum."""
    shop = json.loads((state / "lightspeed_ecom.state.json").read_text())
    found: dict[str, str] = {}
    for c in shop["customers"].values():
        found[c["email"]] = "e-mail"
        found[f"{c['firstname']} {c['lastname']}"] = "name"
        found[c["lastname"]] = "last name"
        found[c["addressBillingStreet"]] = "street"
        if c.get("phone"):
            found[c["phone"]] = "phone"
        if c.get("companyName"):
            found[c["companyName"]] = "company name"
    assert len(found) > 100, "the demo shop has no customers to look for"
    return found


def needles(data: dict[str, str]) -> dict[bytes, str]:
    """Each datum as UTF-8 and as JSON writes it (``Müller`` -> ``M\\u00fcller``)."""
    out: dict[bytes, str] = {}
    for value, kind in data.items():
        out[value.encode()] = kind
        out[json.dumps(value)[1:-1].encode()] = kind
    return out


def leaks_in(where: str, blob: bytes, find: dict[bytes, str], hits: Counter[str]) -> None:
    for needle, kind in find.items():
        if needle in blob:
            hits[f"{kind} in {where}"] += 1


def scan_files(folder: Path, find: dict[bytes, str], hits: Counter[str]) -> int:
    n = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            leaks_in(str(path.relative_to(folder.parent)), path.read_bytes(), find, hits)
            n += 1
    return n


def scan_sqlite(db: Path, find: dict[bytes, str], hits: Counter[str]) -> list[str]:
    """Every table, every value that is text or bytes (JSON columns are text in SQLite)."""
    con = sqlite3.connect(db)
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')  # table names from the DB itself
            cols = [d[0] for d in cur.description]
            for row in cur:
                for col, value in zip(cols, row, strict=True):
                    if isinstance(value, str):
                        value = value.encode()
                    if isinstance(value, bytes):
                        leaks_in(f"{db.name}:{table}.{col}", value, find, hits)
    finally:
        con.close()
    return tables


def run_demo(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "SHOPBRIDGE", "PYTEST"))}
    env["SHOPBRIDGE_DEMO_DIR"] = str(tmp)
    proc = subprocess.run([str(ROOT / "run"), "demo", "--once", "--json"], capture_output=True,
                          text=True, env=env, timeout=600, stdin=subprocess.DEVNULL,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_demo_leaves_no_personal_data_and_maintenance_purges_the_rest(tmp_path):
    summary = run_demo(tmp_path)
    assert summary["orders_created"] == 239
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
        f"  {where}: {n}" for where, n in sorted(hits.items()))
    # what a reported run keeps: its report's summary, nothing of its batches
    assert {t for (t,) in rows(metadata_db, "SELECT DISTINCT task_id FROM xcom")} == {"report"}
    assert rows(ledger_db, "SELECT count(*) FROM shopbridge_activity")[0][0] >= 5

    # --- the maintenance DAG with a retention of 0 days, in the demo's own Airflow -------
    airflow = LocalAirflow(home=home, dags_folder=ROOT / "dags", extra_env={
        # the flows' schedules would start runs against the stopped sandboxes meanwhile
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{ledger_db}",
        "AIRFLOW_CONN_SHOPBRIDGE_AIRFLOW_DB": json.dumps(
            {"conn_type": "generic", "password": f"sqlite:///{metadata_db}"}),
    })
    airflow.start()
    try:
        airflow.wait_for_dag(MAINTENANCE)
        run_id = airflow.trigger(MAINTENANCE, {"retention_days": 0})
        airflow.unpause(MAINTENANCE)
        state = airflow.wait_for_run(MAINTENANCE, run_id, timeout=300)
        assert state == "success", airflow.failures(MAINTENANCE, run_id)
        purged = airflow.xcom(MAINTENANCE, run_id, "purge")
    finally:
        airflow.stop()

    assert purged["retention_days"] == 0
    assert purged["log_files"] >= n_files - 5  # the dag-processor may have written since
    assert purged["activity_runs"] >= 5
    assert purged["airflow_db"]["status"] == "ok", purged["airflow_db"]["detail"]
    flow_logs = [p for p in (home / "logs").glob("dag_id=*") if MAINTENANCE not in p.name]
    assert flow_logs == []
    assert rows(metadata_db, f"SELECT count(*) FROM xcom WHERE dag_id != '{MAINTENANCE}'"
                )[0][0] == 0
    assert rows(metadata_db, "SELECT count(*) FROM rendered_task_instance_fields WHERE "
                f"dag_id != '{MAINTENANCE}'")[0][0] == 0
    assert rows(ledger_db, "SELECT count(*) FROM shopbridge_activity")[0][0] == 0
    # no archive copies of the purged rows
    assert not [t for t in rows(metadata_db, "SELECT name FROM sqlite_master")
                if t[0].startswith("_airflow_deleted")]
