"""The retention purge: what is older than the cutoff goes, what is newer stays."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shopbridge.airflow import retention
from shopbridge.store.activity import ActivityLog
from shopbridge.store.inbox import Inbox, digest, waiting
from shopbridge.store.notices import sent as notices_table

NOW = datetime.now(UTC)
CUTOFF = NOW - timedelta(days=30)


def _write(path, age_days: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("log line\n")
    when = (NOW - timedelta(days=age_days)).timestamp()
    os.utime(path, (when, when))


def test_log_files_before_the_cutoff_go_with_their_emptied_folders(tmp_path):
    run = tmp_path / "dag_id=a__b__orders" / "run_id=manual__old"
    _write(run / "task_id=extract" / "attempt=1.log", 40)
    _write(run / "task_id=load" / "map_index=0" / "attempt=1.log", 31)
    recent = tmp_path / "dag_id=a__b__orders" / "run_id=manual__new" / "task_id=extract"
    _write(recent / "attempt=1.log", 29)
    _write(tmp_path / "dag_processor" / "2026-10-01" / "integrations.py.log", 45)
    # the maintenance run's own folder stays whatever its age (its log is being written)
    own = tmp_path / "dag_id=shopbridge_maintenance" / "run_id=manual__now"
    _write(own / "task_id=purge" / "attempt=1.log", 90)

    gone = retention.purge_log_files(tmp_path, CUTOFF, keep=[own])

    assert gone == 3
    assert not run.exists()  # emptied folders went with their files
    assert not (tmp_path / "dag_processor").exists()
    assert (recent / "attempt=1.log").exists()
    assert (own / "task_id=purge" / "attempt=1.log").exists()


def test_log_purge_does_not_follow_symlinks(tmp_path):
    outside = tmp_path / "outside"
    _write(outside / "keep.log", 100)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "latest").symlink_to(outside)

    assert retention.purge_log_files(logs, CUTOFF) == 0
    assert (outside / "keep.log").exists()


def test_missing_log_folder_purges_nothing(tmp_path):
    assert retention.purge_log_files(tmp_path / "nowhere", CUTOFF) == 0


def test_inbox_purge_drops_old_finished_rows_and_keeps_waiting_ones(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    inbox = Inbox(url)
    try:
        record = {"id": 1, "email": "someone@example.nl"}
        inbox.accept("pair", "lightspeed_ecom", digest(b"old"), ["orders"], [("1", record)])
        inbox.claim("pair", "orders", "run-1")
        assert inbox.finish("pair", "orders", "run-1") == 1
        inbox.accept("pair", "lightspeed_ecom", digest(b"waiting"), ["orders"], [("2", record)])
        with inbox.engine.begin() as conn:  # the finished row and both fingerprints age
            conn.execute(
                update(waiting)
                .where(waiting.c.record_id == "1")
                .values(done_at=NOW - timedelta(days=10))
            )
    finally:
        inbox.close()

    # finished 10 days ago: gone at a 0-day retention, and at 30 days too (the inbox's
    # own 7 days are the longest a finished row stays)
    assert retention.purge_inbox(NOW - timedelta(days=30), url=url) == 1
    inbox = Inbox(url)
    try:
        assert inbox.waiting_count("pair", "orders") == 1  # never loaded: kept
        # a 0-day retention drops the fingerprints as well; the waiting row still stays
        assert retention.purge_inbox(datetime.now(UTC) + timedelta(minutes=1), url=url) == 2
        assert inbox.waiting_count("pair", "orders") == 1
    finally:
        inbox.close()


def test_activity_purge_drops_runs_finished_before_the_cutoff(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    log = ActivityLog(url)
    try:
        for run_id, age in (("old", 31), ("new", 29)):
            log.record(
                integration="pair",
                flow="orders",
                kind="orders",
                dag_id="d",
                run_id=run_id,
                summary={"orders_read": 1},
                finished_at=NOW - timedelta(days=age),
            )
        assert retention.purge_activity(CUTOFF, url=url) == 1
        assert [r.run_id for r in log.query()] == ["new"]
    finally:
        log.close()


def test_claims_of_sent_notices_older_than_the_cutoff_are_purged(tmp_path):
    from shopbridge.store.notices import NoticeKey, SentNotices

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    notices = SentNotices(url)
    try:
        old = NoticeKey("pair", "orders", "old-run", "quarantine", "webhook:ops")
        new = NoticeKey("pair", "orders", "new-run", "quarantine", "webhook:ops")
        assert notices.claim(old) and notices.claim(new)
        with notices.engine.begin() as conn:
            conn.execute(
                notices_table.update()
                .where(notices_table.c.run_id == "old-run")
                .values(sent_at=NOW - timedelta(days=31))
            )
        assert retention.purge_notices(CUTOFF, url=url) == 1
        assert notices.claim(old)  # forgotten: claimable again
        assert not notices.claim(new)
    finally:
        notices.close()


@pytest.mark.parametrize(
    ("param", "variable", "days"),
    [
        (None, None, 30.0),
        (None, "7", 7.0),
        (0, "7", 0.0),
        ("", "2.5", 2.5),
    ],
)
def test_retention_days_param_wins_over_the_variable(param, variable, days):
    assert retention.retention_days(param, variable) == days


@pytest.mark.parametrize(
    ("param", "variable", "message"),
    [
        (None, "a month", "shopbridge_retention_days: not a number"),
        (-1, None, "params.retention_days: must be 0 or more"),
    ],
)
def test_a_bad_retention_names_where_it_came_from(param, variable, message):
    with pytest.raises(ValueError, match=message):
        retention.retention_days(param, variable)


def test_db_clean_without_its_connection_is_skipped_and_says_why():
    result = retention.run_db_clean(CUTOFF, None, running_since=NOW)
    assert result.status == "skipped"
    assert retention.DB_CONNECTION in result.detail
