"""The activity log: what a run's report stores, how the view's filters select runs, what
the retention purge removes, and that ``runtime.report`` writes the row (also when the
report fails the run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from shopbridge import runtime
from shopbridge.config import load_integration
from shopbridge.errors import ConfigError
from shopbridge.store.activity import FAILED, SUCCESS, ActivityLog, outcome, purge_before, runs

ROOT = Path(__file__).parents[2]
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def orders_summary(*, read: int = 5, created: int = 3, quarantined: int = 1, **extra: int) -> dict:
    return {
        "orders_read": read,
        "orders_created": created,
        "orders_skipped_existing": 1,
        "orders_skipped_status": 0,
        "orders_skipped_mirrored": 0,
        "orders_quarantined": quarantined,
        "orders_confirmed_in_source": 0,
        "customers_created": 2,
        "customers_updated": 1,
        "api_calls": 14,
        **extra,
        "window": ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"],
        "quarantined": [
            {
                "entity": "order",
                "source_id": str(100 + i),
                "field": "lines[0].sku",
                "reason": "unknown SKU NOPE-1",
            }
            for i in range(quarantined)
        ],
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """The log on SQLite and on a real PostgreSQL server (its production store)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def log(url) -> ActivityLog:
    return ActivityLog(url)


def add(
    log: ActivityLog,
    run_id: str,
    *,
    integration: str = "shop__erp",
    flow: str = "orders",
    hours_ago: float = 0,
    status: str = SUCCESS,
    **counts: int,
) -> None:
    log.record(
        integration=integration,
        flow=flow,
        kind="orders",
        dag_id=f"{integration}__{flow}",
        run_id=run_id,
        summary=orders_summary(**counts),
        status=status,
        finished_at=T0 - timedelta(hours=hours_ago),
    )


def test_a_run_is_stored_with_its_counts_window_and_quarantined_records(log):
    add(log, "manual__1")
    [run] = log.query()
    assert (run.integration, run.flow, run.dag_id, run.run_id, run.status) == (
        "shop__erp",
        "orders",
        "shop__erp__orders",
        "manual__1",
        SUCCESS,
    )
    assert (run.read, run.created, run.updated, run.skipped, run.quarantined) == (5, 3, 0, 1, 1)
    assert run.counts["customers_created"] == 2 and run.counts["api_calls"] == 14
    assert run.window_start == datetime(2026, 3, 1, tzinfo=UTC)
    assert run.window_end == datetime(2026, 3, 2, tzinfo=UTC)
    assert run.finished_at == T0
    assert run.quarantined_records == [
        {
            "entity": "order",
            "source_id": "100",
            "field": "lines[0].sku",
            "reason": "unknown SKU NOPE-1",
        }
    ]


def test_a_retried_report_replaces_its_row_instead_of_adding_one(log):
    add(log, "manual__1", created=3)
    add(log, "manual__1", created=4)
    [run] = log.query()
    assert run.created == 4


def test_every_flow_folds_into_read_created_updated_skipped_quarantined():
    assert outcome(
        "stock",
        {
            "stock_read": 9,
            "stock_written": 4,
            "stock_unchanged": 3,
            "stock_quarantined": 2,
            "api_calls": 7,
        },
    ) == {"read": 9, "created": 0, "updated": 4, "skipped": 3, "quarantined": 2}
    assert outcome(
        "products",
        {
            "products_read": 10,
            "products_created": 2,
            "products_updated": 3,
            "products_unchanged": 4,
            "products_skipped_filtered": 1,
            "items_created": 99,
        },
    ) == {"read": 10, "created": 2, "updated": 3, "skipped": 5, "quarantined": 0}


def test_no_email_address_is_stored_even_if_a_reason_quotes_one(log):
    summary = orders_summary()
    summary["quarantined"][0]["reason"] = "target said: jan.jansen@example.nl already exists"
    log.record(
        integration="a",
        flow="orders",
        kind="orders",
        dag_id="a__orders",
        run_id="r",
        summary=summary,
    )
    with log.engine.connect() as conn:
        stored = str(conn.execute(select(runs)).all())
    assert "jan.jansen" not in stored and "@example.nl" not in stored
    assert log.query()[0].quarantined_records[0]["reason"] == (
        "target said: (e-mail) already exists"
    )


def test_filters_select_runs_newest_first(log):
    add(log, "r_old", hours_ago=48, quarantined=0)
    add(log, "r_bad", hours_ago=2, status=FAILED, quarantined=3)
    add(log, "r_new", hours_ago=1, quarantined=0)
    add(log, "r_other", integration="pos__erp", flow="stock", hours_ago=0.5, quarantined=1)
    ids = lambda rows: [r.run_id for r in rows]  # noqa: E731
    assert ids(log.query()) == ["r_other", "r_new", "r_bad", "r_old"]
    assert ids(log.query(integration="shop__erp")) == ["r_new", "r_bad", "r_old"]
    assert ids(log.query(flow="stock")) == ["r_other"]
    assert ids(log.query(quarantined_only=True)) == ["r_other", "r_bad"]
    assert ids(log.query(status=FAILED)) == ["r_bad"]
    assert ids(log.query(since=T0 - timedelta(hours=3))) == ["r_other", "r_new", "r_bad"]
    # a `since` in another time zone means the same instant
    cet = datetime(2026, 3, 2, 10, 30, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Amsterdam")
    )
    assert ids(log.query(since=cet)) == ["r_other", "r_new"]
    assert ids(
        log.query(integration="shop__erp", quarantined_only=True, since=T0 - timedelta(days=1))
    ) == ["r_bad"]
    assert ids(log.query(dag_ids={"pos__erp__stock"})) == ["r_other"]
    assert ids(log.query(dag_ids=set())) == []
    assert ids(log.query(limit=2)) == ["r_other", "r_new"]
    assert log.dags() == [
        ("pos__erp", "stock", "pos__erp__stock"),
        ("shop__erp", "orders", "shop__erp__orders"),
    ]


def test_purge_before_deletes_older_runs_and_says_how_many(log, url):
    for i, hours in enumerate((24 * 40, 24 * 31, 24 * 29, 1)):
        add(log, f"r{i}", hours_ago=hours)
    assert log.purge_before(T0 - timedelta(days=30)) == 2
    assert [r.run_id for r in log.query()] == ["r3", "r2"]
    assert log.purge_before(T0 - timedelta(days=30)) == 0
    # the module-level form the retention purge calls
    assert purge_before(T0 - timedelta(hours=2), url=url) == 1
    assert [r.run_id for r in log.query()] == ["r3"]


def test_only_entries_up_to_the_cap_are_kept_but_the_count_stays_true(log):
    add(log, "big", read=900, created=0, quarantined=800)
    [run] = log.query()
    assert run.quarantined == 800 and len(run.quarantined_records) == 500


# --- written by the flow's report -----------------------------------------------------

CFG = load_integration(ROOT / "include/integrations/lightspeed_ecom__exact_globe.yaml")


def batch_result(created: int, bad: list[str]) -> dict:
    return {
        "orders_read": created + len(bad),
        "orders_created": created,
        "orders_quarantined": len(bad),
        "api_calls": 3,
        "quarantined": [
            {
                "entity": "order",
                "source_id": b,
                "field": "lines[1].sku",
                "reason": "no item with SKU NOPE-1 in Exact Globe",
            }
            for b in bad
        ],
    }


def test_report_writes_the_runs_row_with_the_summed_batches(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", url)
    window = ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"]
    summary = runtime.report(
        CFG,
        "orders",
        CFG.flows["orders"],
        api_calls=2,
        window=window,
        results=[batch_result(4, []), batch_result(3, ["77"])],
        skipped_existing=2,
        run_id="manual__2026-03-02",
    )
    [run] = ActivityLog(url).query()
    assert (run.dag_id, run.run_id, run.status) == (
        "lightspeed_ecom__exact_globe__orders",
        "manual__2026-03-02",
        SUCCESS,
    )
    assert (run.read, run.created, run.skipped, run.quarantined) == (10, 7, 2, 1)
    assert run.read == summary["orders_read"]
    assert run.quarantined_records[0]["source_id"] == "77"


def test_a_report_that_fails_the_run_still_leaves_its_row_marked_failed(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", url)
    spec = CFG.flows["orders"].model_copy(update={"max_quarantined_fraction": 0.1})
    with pytest.raises(ConfigError, match="max_quarantined_fraction"):
        runtime.report(
            CFG,
            "orders",
            spec,
            api_calls=1,
            window=None,
            results=[batch_result(1, ["5", "6"])],
            run_id="scheduled__x",
        )
    [run] = ActivityLog(url).query()
    assert run.status == FAILED and run.quarantined == 2 and run.window_start is None
    assert {q["source_id"] for q in run.quarantined_records} == {"5", "6"}
