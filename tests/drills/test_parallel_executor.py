"""Drill: the LocalExecutor at parallelism 4 on PostgreSQL, many loads at once on the same
records, and still no order or debtor written twice.

The production shape without Docker: Airflow's metadata database and the ledger both on a
real PostgreSQL server, the LocalExecutor running four tasks at a time, and the Exact Globe
account's pool opened to four slots (as a Connection's ``pool_slots`` or Admin → Pools
would). Then, all at once: a backfill of three days, three runs at a time, whose windows
overlap by a whole day (so every order is read by two runs racing each other), the
scheduled run of the latest day, and the customers flow writing the same debtors the
orders flow books on. Small batches make many ``lookup``/``load`` tasks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shopbridge.airflow import pools
from tests.drills.live import Drill, at, live_drill
from tests.pg import PostgresServer

pytestmark = pytest.mark.slow

ORDERS = "lightspeed_ecom__exact_globe__orders"
CUSTOMERS = "lightspeed_ecom__exact_globe__customers"
PARALLELISM = 4
FIRST_DAY, LAST_DAY = at("2026-11-17T00:00:00"), at("2026-11-19T00:00:00")
WEEK = {"start": "2026-11-16T00:00:00+00:00", "end": "2026-11-24T00:00:00+00:00"}


@pytest.fixture
def drill(tmp_path: Path, postgres: PostgresServer) -> Iterator[Drill]:
    flows = {
        # daily windows that start a day early: each order is in two backfill runs' windows
        "orders": {
            "schedule": "0 0 * * *",
            "start_date": "2026-11-16T00:00:00Z",
            "batch_size": 8,
            "overlap_minutes": 1440,
            "retries": 1,
            "retry_delay_s": 2,
        },
        # no schedule of its own (once a year): triggered over the whole week below
        "customers": {"schedule": "0 0 1 1 *", "batch_size": 20, "retries": 1, "retry_delay_s": 2},
    }
    with live_drill(
        tmp_path,
        flows=flows,
        ledger_url=postgres.create_database("ledger"),
        n_orders=120,
        parallelism=PARALLELISM,
        executor="LocalExecutor",
        database_url=postgres.create_database("airflow"),
    ) as d:
        yield d


#: the tasks that call Globe (the pool's tasks)
WRITERS = ("lookup", "load")


class RunningTasks(threading.Thread):
    """Samples the task instances running in every DAG until stopped; keeps the peaks, of
    all tasks and of those calling Globe."""

    def __init__(self, drill: Drill) -> None:
        super().__init__(daemon=True)
        self.drill = drill
        self.peak: list[dict[str, Any]] = []
        self.peak_writers: list[dict[str, Any]] = []
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                running = self.drill.airflow.task_instances(state="running")
            except Exception:  # noqa: BLE001 - a slow answer under load: sample again
                continue
            self.samples += 1
            if len(running) > len(self.peak):
                self.peak = running
            writers = [t for t in running if t["task_id"] in WRITERS]
            if len(writers) > len(self.peak_writers):
                self.peak_writers = writers
            self._done.wait(0.3)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=30)


def all_runs_finished(drill: Drill) -> list[dict[str, Any]] | None:
    runs = drill.airflow.runs(ORDERS) + drill.airflow.runs(CUSTOMERS)
    if len(runs) >= 5 and all(r["state"] in ("success", "failed") for r in runs):
        return runs
    return None


def test_parallel_runs_over_the_same_records_write_each_once(drill: Drill) -> None:
    airflow = drill.airflow
    debtors_before = len(drill.globe_debtors())
    pool = "shopbridge_exact_globe"  # the target Connection's id, made by start()
    assert pool in pools.RestApi(airflow.api).pools()
    airflow.cli("pools", "set", pool, str(PARALLELISM), "drill: 4 tasks may call Globe at once")
    for dag_id in (ORDERS, CUSTOMERS):
        airflow.wait_for_dag(dag_id)

    airflow.cli(
        "backfill",
        "create",
        "--dag-id",
        ORDERS,
        "--from-date",
        FIRST_DAY.isoformat(),
        "--to-date",
        LAST_DAY.isoformat(),
        "--max-active-runs",
        "3",
    )
    sampler = RunningTasks(drill)
    sampler.start()
    started = time.monotonic()
    airflow.unpause(ORDERS)  # the backfill runs, and the scheduled latest day
    airflow.unpause(CUSTOMERS)
    airflow.trigger(CUSTOMERS, WEEK)
    try:
        runs = drill.wait_for(
            lambda: all_runs_finished(drill), timeout=420, what="every run to finish", every=2
        )
    finally:
        sampler.stop()
    took = time.monotonic() - started

    assert all(r["state"] == "success" for r in runs), [
        (r["dag_run_id"], airflow.failures(r["dag_id"], r["dag_run_id"]))
        for r in runs
        if r["state"] != "success"
    ]
    orders_runs = [r for r in runs if r["dag_id"] == ORDERS]
    assert sum(r["run_type"] == "backfill" for r in orders_runs) == 3
    reports = {
        r["dag_run_id"]: airflow.xcom(ORDERS, r["dag_run_id"], "report") for r in orders_runs
    }
    expected: dict[str, str] = {}
    for report in reports.values():
        start, end = report["window"]
        expected |= drill.shop_orders(datetime.fromisoformat(start), datetime.fromisoformat(end))
    drill.assert_each_once(expected)
    # every order and debtor Globe got was counted by exactly one run's report
    created = sum(r["orders_created"] for r in reports.values())
    assert created == len(drill.globe_orders()), reports
    customers = airflow.xcom(
        CUSTOMERS, next(r["dag_run_id"] for r in runs if r["dag_id"] == CUSTOMERS), "report"
    )
    debtors = sum(r["customers_created"] for r in reports.values()) + customers["customers_created"]
    assert debtors == len(drill.globe_debtors()) - debtors_before, (reports, customers)
    # the point of the drill: tasks, and Globe's lookups and loads among them, overlapped
    assert len(sampler.peak) >= 3, sampler.peak
    assert len(sampler.peak_writers) >= 2, sampler.peak_writers
    skipped = sum(r["orders_skipped_existing"] for r in reports.values())
    print(
        f"\n{len(runs)} runs in {took:.0f}s; peak {len(sampler.peak)} task instances "
        f"running at once, {len(sampler.peak_writers)} of them lookup/load "
        f"({sorted(t['task_id'] for t in sampler.peak_writers)}), over {sampler.samples} "
        f"samples; {created} orders created, {skipped} skipped as already there, "
        f"{debtors} debtors created"
    )
