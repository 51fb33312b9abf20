"""Drill: the worker running a ``load`` task is killed (SIGKILL) half-way through its writes.

A real ``airflow standalone`` (LocalExecutor) runs the orders DAG; the Exact Globe sandbox
answers every ``$batch`` slowly, so the load commits its orders a couple at a time. Once
some have landed, the LocalExecutor worker running the task and the task's own process are
killed at once, as the kernel's OOM killer or a lost machine would: nothing reports the
task's end, so only the scheduler's heartbeat check can notice. Airflow must fail the try
and retry it, and the retry must finish the batch without writing an order twice: the
ledger's pending claims of the killed try send those orders to a lookup in Globe first.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # (Airflow depends on it; no stubs)
import pytest

from tests.drills.live import Drill, at, live_drill
from tests.pg import PostgresServer

pytestmark = pytest.mark.slow

DAG_ID = "lightspeed_ecom__exact_globe__orders"
START, END = at("2026-11-17T00:00:00"), at("2026-11-17T14:00:00")
#: seconds Globe takes to answer each ``$batch`` (two orders each) while the drill runs
SLOW_BATCH_S = 2.0
#: how soon a try nobody heartbeats for is failed (default 300 s); live tries beat every
#: 2 s here, so a busy machine does not fail a healthy one
HEARTBEAT_TIMEOUT_S = 20


@pytest.fixture
def drill(tmp_path: Path, postgres: PostgresServer) -> Iterator[Drill]:
    # once a year: no scheduled run of its own gets in the way of the drill's run
    flows = {"orders": {"schedule": "0 0 1 1 *", "retries": 2, "retry_delay_s": 1}}
    env = {
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    }
    with live_drill(
        tmp_path,
        flows=flows,
        ledger_url=postgres.create_database("ledger"),
        globe_extra={"batch_size": 2},
        airflow_env=env,
        unpause=(DAG_ID,),
    ) as d:
        yield d


def worker_processes(ti_id: str) -> list[psutil.Process]:
    """The LocalExecutor worker supervising this try and the task process it forked: both
    carry the try's id in their process title."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if ti_id in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def running_load(drill: Drill, run_id: str) -> dict[str, Any] | None:
    tis = drill.airflow.task_instances(DAG_ID, run_id, task_id="load", state="running")
    return tis[0] if tis else None


def test_a_worker_killed_mid_load_is_retried_and_writes_nothing_twice(drill: Drill) -> None:
    expected = drill.shop_orders(START, END)
    assert len(expected) >= 8
    drill.fault(status=200, delay_s=SLOW_BATCH_S, path_contains="$batch", method="POST", times=1000)
    run_id = drill.airflow.trigger(DAG_ID, {"start": START.isoformat(), "end": END.isoformat()})
    ti = drill.wait_for(
        lambda: running_load(drill, run_id), timeout=180, what="the load task to start"
    )
    # some orders committed, most still to come
    drill.wait_for(
        lambda: len(drill.globe_orders()) >= 2,
        timeout=120,
        what="the first orders to land in Globe",
    )
    victims = drill.wait_for(
        lambda: worker_processes(ti["id"]), timeout=10, what="the worker's processes", every=0.2
    )
    for proc in victims:
        os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    landed_before_retry = len(drill.globe_orders())
    assert landed_before_retry < len(expected), "the load finished before the kill"
    drill.clear_faults()

    # the try is failed by the heartbeat check, then retried
    retried = drill.wait_for(
        lambda: [
            t
            for t in drill.airflow.task_instances(DAG_ID, run_id, task_id="load")
            if t["try_number"] >= 2
        ],
        timeout=120,
        what="a second try of load",
    )
    detected_s = time.monotonic() - killed_at
    assert drill.airflow.wait_for_run(DAG_ID, run_id, timeout=240) == "success", (
        drill.airflow.failures(DAG_ID, run_id)
    )

    load = drill.airflow.task_instances(DAG_ID, run_id, task_id="load")[0]
    assert load["state"] == "success" and load["try_number"] >= 2, load
    drill.assert_each_once(expected)
    report = drill.airflow.xcom(DAG_ID, run_id, "report")
    assert report["orders_created"] + report["orders_quarantined"] == len(expected), report
    print(
        f"\nkilled {[p.pid for p in victims]} with {landed_before_retry}/{len(expected)} "
        f"orders in Globe; try 2 of load seen {detected_s:.0f}s later "
        f"({retried[0]['state']}); report: {report['orders_created']} created"
    )
