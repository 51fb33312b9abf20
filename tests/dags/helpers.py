"""Both sandboxes as their own processes, wired to Airflow by AIRFLOW_CONN_* variables,
and a DAG run through ``dag.test()`` that returns the report: what the e2e modules share."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from shopbridge._procs import start_sandbox, stop

DAG_ID = "lightspeed_ecom__exact_globe__orders"


@contextmanager
def sandbox_pair(state: Path, *, n_orders: int) -> Iterator[dict[str, str]]:
    """Lightspeed eCom and Exact Globe sandboxes, the connections, and a ledger of their own
    (its rows point into these sandboxes, so no other module may share it)."""
    ls, ls_url = start_sandbox("lightspeed_ecom", state_dir=state,
                               options={"n_orders": str(n_orders)})
    eg, eg_url = start_sandbox("exact_globe", state_dir=state)
    env = {
        "AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM": json.dumps({
            "conn_type": "lightspeed_ecom", "host": ls_url, "login": "demo-key",
            "password": "demo-secret", "extra": {"language": "nl"}}),
        "AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE": json.dumps({
            "conn_type": "exact_globe", "host": eg_url, "login": "globe", "password": "globe",
            "extra": {"server_name": "sandbox", "database_name": "600", "auth": "basic"}}),
        "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite'}",
    }
    previous = os.environ.get("SHOPBRIDGE_LEDGER_URL")
    os.environ.update(env)
    try:
        yield {"lightspeed_ecom": ls_url, "exact_globe": eg_url}
    finally:
        for key in env:
            os.environ.pop(key, None)
        if previous is not None:
            os.environ["SHOPBRIDGE_LEDGER_URL"] = previous
        stop(ls)
        stop(eg)


def run_dag(conf: dict[str, str], dag_id: str = DAG_ID) -> tuple[str, dict]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[dag_id]
    dr = dag.test(run_conf=conf, logical_date=datetime.now(UTC))
    with create_session() as session:
        row = session.scalars(XComModel.get_many(
            run_id=dr.run_id, key="return_value", dag_ids=dag_id, task_ids="report")).first()
        summary = XComModel.deserialize_value(row) if row is not None else {}
    return dr.state, summary

