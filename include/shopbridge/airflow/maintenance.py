"""The ``shopbridge_maintenance`` DAG: once a day, delete what is older than the retention.

The retention is the Airflow Variable ``shopbridge_retention_days`` (default 30 days); a
manual run may pass ``{"retention_days": N}`` (0: everything up to now). What goes, and
why ``airflow db clean`` needs the Connection ``shopbridge_airflow_db``:
``shopbridge.airflow.retention``. The task's return value (its XCom) says what was purged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from shopbridge.airflow import retention

log = logging.getLogger(__name__)

DAG_ID = "shopbridge_maintenance"


def _db_url() -> str | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(retention.DB_CONNECTION).password or None
    except AirflowNotFoundException:
        return None


def _log_dir() -> Path:
    from airflow.configuration import conf

    return Path(conf.get("logging", "base_log_folder"))


def build_maintenance_dag() -> Any:
    @dag(
        dag_id=DAG_ID,
        description="Deletes logs, activity and Airflow records older than the retention",
        schedule="@daily",
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        doc_md=__doc__,
        tags=["shopbridge", "maintenance"],
        params={
            "retention_days": Param(
                None,
                type=["null", "number"],
                minimum=0,
                description=f"Days to keep (empty: the Variable {retention.VARIABLE}, "
                f"else {retention.DEFAULT_DAYS})",
            )
        },
    )
    def shopbridge_maintenance() -> None:
        @task(multiple_outputs=False)
        def purge() -> dict[str, Any]:
            """Purge every store; fail (after logging what was done) if ``db clean`` did."""
            from airflow.sdk import Variable

            ctx = get_current_context()
            days = retention.retention_days(
                (ctx.get("params") or {}).get("retention_days"),
                Variable.get(retention.VARIABLE, default=None),
            )
            cutoff = retention.cutoff_for(days, datetime.now(UTC))
            log_dir = _log_dir()
            ti = ctx["ti"]
            own_logs = log_dir / f"dag_id={ti.dag_id}" / f"run_id={ti.run_id}"
            dag_run = ctx.get("dag_run")
            # when this run began: run_after (its trigger or interval end) precedes its start
            since = [
                t
                for t in (getattr(dag_run, "start_date", None), getattr(dag_run, "run_after", None))
                if t is not None
            ]
            db = retention.run_db_clean(
                cutoff, _db_url(), running_since=min(since) if since else None
            )
            log.info(
                "airflow db clean: rows before %s (this run began %s)",
                min([cutoff, *since]).isoformat(),
                [t.isoformat() for t in since],
            )
            purged: dict[str, Any] = {
                "retention_days": days,
                "cutoff": cutoff.isoformat(),
                "log_files": retention.purge_log_files(log_dir, cutoff, keep=[own_logs]),
                "inbox_rows": retention.purge_inbox(cutoff),
                "activity_runs": retention.purge_activity(cutoff),
                "notices": retention.purge_notices(cutoff),
                "airflow_db": db.to_json(),
            }
            log.info(
                "purged before %s: %d log files, %d inbox rows, %d activity runs, "
                "%d notice claims; airflow db clean: %s",
                purged["cutoff"],
                purged["log_files"],
                purged["inbox_rows"],
                purged["activity_runs"],
                purged["notices"],
                db.status,
            )
            if db.status == "failed":
                raise RuntimeError(f"airflow db clean failed: {db.detail}")
            return purged

        purge()

    return shopbridge_maintenance()
