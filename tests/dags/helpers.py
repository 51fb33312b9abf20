"""Both sandboxes as their own processes, wired to Airflow by AIRFLOW_CONN_* variables,
and a DAG run through ``dag.test()`` that returns the report: what the e2e modules share."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from shopbridge_dev.procs import start_sandbox, stop
from shopbridge_dev.sandboxes.connections import connection_fields

DAG_ID = "lightspeed_ecom__exact_globe__orders"


@contextmanager
def sandbox_pair(
    state: Path,
    *,
    n_orders: int,
    systems: tuple[str, ...] = ("lightspeed_ecom", "exact_globe"),
    options: dict[str, dict[str, str]] | None = None,
) -> Iterator[dict[str, str]]:
    """Each system's sandbox as its own process, its Connection as AIRFLOW_CONN_*, and a
    ledger of their own (its rows point into these sandboxes, so no other module may
    share it)."""
    options = {"lightspeed_ecom": {"n_orders": str(n_orders)}, **(options or {})}
    procs = []
    urls: dict[str, str] = {}
    env = {"SHOPBRIDGE_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite'}"}
    try:
        for system in systems:
            proc, urls[system] = start_sandbox(system, state_dir=state, options=options.get(system))
            procs.append(proc)
            env[f"AIRFLOW_CONN_SHOPBRIDGE_{system.upper()}"] = json.dumps(
                connection_fields(system, urls[system])
            )
        previous = os.environ.get("SHOPBRIDGE_LEDGER_URL")
        os.environ.update(env)
        try:
            yield urls
        finally:
            for key in env:
                os.environ.pop(key, None)
            if previous is not None:
                os.environ["SHOPBRIDGE_LEDGER_URL"] = previous
    finally:
        for proc in procs:
            stop(proc)


def run_dag(conf: dict[str, str], dag_id: str = DAG_ID) -> tuple[str, dict]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[dag_id]
    dr = dag.test(run_conf=conf, logical_date=datetime.now(UTC))
    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                run_id=dr.run_id, key="return_value", dag_ids=dag_id, task_ids="report"
            )
        ).first()
        summary = XComModel.deserialize_value(row) if row is not None else {}
    return dr.state, summary
