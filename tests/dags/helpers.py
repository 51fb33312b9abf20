"""Both sandboxes as their own processes, wired to Airflow by AIRFLOW_CONN_* variables,
and a DAG run through ``dag.test()`` that returns the report: what the e2e modules share.

The DAG folder is parsed once per test process (:func:`dag`): the DAGs are built from the
integration files alone and read their Connections only when a task runs, so every test
can run the same DAG objects against sandboxes of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

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


@cache
def _dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not bag.import_errors, bag.import_errors
    return bag


def parsed_dag(dag_id: str = DAG_ID) -> Any:
    """The DAG from the DAG folder, parsed once for the whole test process."""
    return _dagbag().dags[dag_id]


def run_dag(conf: dict[str, str], dag_id: str = DAG_ID) -> tuple[str, dict]:
    return run(parsed_dag(dag_id), conf)


def run(flow_dag: Any, conf: dict[str, Any], task_id: str = "report") -> tuple[str, dict]:
    """One ``dag.test()`` run of ``flow_dag``: its state and what ``task_id`` returned (a
    flow's report: the run's summary)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dr = flow_dag.test(run_conf=conf, logical_date=datetime.now(UTC))
    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                run_id=dr.run_id, key="return_value", dag_ids=flow_dag.dag_id, task_ids=task_id
            )
        ).first()
        summary = XComModel.deserialize_value(row) if row is not None else {}
    return dr.state, summary
