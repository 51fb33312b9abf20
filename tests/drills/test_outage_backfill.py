"""Drill: Exact Globe is down for two hourly runs; ``airflow backfill create`` brings the
window across once it is back.

The orders DAG runs hourly here (its production schedule is every 15 minutes; an hour
keeps the drill to a few runs). Its runs are made for hours of the demo week, each with
the data interval the scheduler gives it, so no time has to pass: 10:00 loads normally,
then Globe answers every request with 503 and the 11:00 and 12:00 runs fail. With Globe
back, the real CLI reprocesses the failed runs of that window, and every webshop order of
the three hours must be in Globe exactly once, the ledger agreeing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.drills.live import Drill, at, live_drill
from tests.pg import PostgresServer

pytestmark = pytest.mark.slow

DAG_ID = "lightspeed_ecom__exact_globe__orders"
HOUR = timedelta(hours=1)
BEFORE = at("2026-11-17T10:00:00")
OUTAGE = [at("2026-11-17T11:00:00"), at("2026-11-17T12:00:00")]
OVERLAP = timedelta(minutes=5)


@pytest.fixture
def drill(tmp_path: Path, postgres: PostgresServer) -> Iterator[Drill]:
    # no task retries: an outage of hours outlasts them anyway, and the drill is about
    # what comes after
    flows = {
        "orders": {
            "schedule": "0 * * * *",
            "start_date": "2026-11-16T00:00:00Z",
            "retries": 0,
            "overlap_minutes": int(OVERLAP.total_seconds() // 60),
        }
    }
    # Airflow's own database on PostgreSQL too: on SQLite, the backfill command's clearing
    # of the failed runs meets the scheduler's write lock ("database is locked")
    with live_drill(
        tmp_path,
        flows=flows,
        ledger_url=postgres.create_database("ledger"),
        database_url=postgres.create_database("airflow"),
        n_orders=1200,
        unpause=(DAG_ID,),
    ) as d:
        yield d


def run_hour(drill: Drill, start: Any) -> str:
    """The run the scheduler makes for the hour from ``start``; returns its id."""
    return drill.airflow.trigger(DAG_ID, {}, interval=(start, start + HOUR))


def test_runs_failed_while_globe_was_down_are_brought_across_by_a_backfill(drill: Drill) -> None:
    expected = drill.shop_orders(BEFORE - OVERLAP, OUTAGE[-1] + HOUR)
    outage_only = drill.shop_orders(OUTAGE[0], OUTAGE[-1] + HOUR)
    assert len(outage_only) >= 8

    before = run_hour(drill, BEFORE)
    assert drill.airflow.wait_for_run(DAG_ID, before, timeout=180) == "success", (
        drill.airflow.failures(DAG_ID, before)
    )
    loaded_before = len(drill.globe_orders())

    # Globe down: every request refused, at once (no Retry-After wait)
    drill.fault(status=503, retry_after=0, times=100_000)
    down = [run_hour(drill, start) for start in OUTAGE]
    for run_id in down:
        assert drill.airflow.wait_for_run(DAG_ID, run_id, timeout=180) == "failed"
    assert len(drill.globe_orders()) == loaded_before  # nothing got through

    drill.clear_faults()
    drill.airflow.cli(
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        OUTAGE[0].isoformat(),
        "--to-date",
        OUTAGE[-1].isoformat(),
        "--reprocess-behavior",
        "failed",
        "--max-active-runs",
        "2",
    )
    backfill = drill.wait_for(
        lambda: _finished_backfill(drill), timeout=240, what="the backfill to complete", every=2
    )

    runs = {r["dag_run_id"]: r for r in drill.airflow.runs(DAG_ID)}
    # the failed runs themselves were run again, as backfill runs, and succeeded
    for run_id in down:
        assert runs[run_id]["state"] == "success", drill.airflow.failures(DAG_ID, run_id)
        assert runs[run_id]["run_type"] == "backfill", runs[run_id]
    assert runs[before]["state"] == "success"
    drill.assert_each_once(expected)
    reports = [drill.airflow.xcom(DAG_ID, run_id, "report") for run_id in down]
    assert sum(r["orders_created"] for r in reports) + loaded_before == len(drill.globe_orders()), (
        reports
    )
    print(
        f"\nbackfill {backfill['id']}: {len(down)} failed runs reprocessed, "
        f"{len(outage_only)} orders of the outage hours, "
        f"{json.dumps([r['orders_created'] for r in reports])} created by them"
    )


def _finished_backfill(drill: Drill) -> dict[str, Any] | None:
    r = drill.airflow.api("GET", "/backfills", params={"dag_id": DAG_ID})
    r.raise_for_status()
    done = [b for b in r.json().get("backfills", []) if b.get("completed_at")]
    return done[0] if done else None
