"""What the maintenance DAG (``shopbridge_maintenance``) deletes once it is older than the
retention, and how.

Personal data never reaches the ledger, the activity log or a reported run's XCom (see
``shopbridge.airflow.task_privacy``). What is left to age out:

* task log files under ``[logging] base_log_folder`` (``dag_id=…/run_id=…/task_id=…/
  [map_index=…/]attempt=N.log``, plus the dag-processor's): they name ids, counts and
  reasons, and a failing vendor call may quote a vendor's error body;
* the webhook inbox: finished rows (payloads already erased when their run finished) and
  replay fingerprints; rows still waiting are never dropped (they are unloaded records);
* the activity log's runs (``shopbridge.store.activity.purge_before``) and the claims of
  sent notifications (``shopbridge.store.notices``);
* Airflow's own records of old runs (``airflow db clean``): dag runs and their conf, task
  instances with their rendered fields, XComs (a run that failed before its report kept
  its batches there, for a retry), the audit log and asset events.

**Why ``airflow db clean`` needs a Connection.** Airflow 3 keeps task code away from the
metadata DB: the worker replaces ``sql_alchemy_conn`` with ``airflow-db-not-allowed:///``
in the task's process and environment (``supervisor.block_orm_access``), so the command
fails when a task simply runs it. The deployment gives the maintenance DAG the URL on
purpose, as the password of the Connection :data:`DB_CONNECTION` (so it is masked in
logs); without it the step is skipped and the report says so. Run ``airflow db clean``
from cron instead if workers must not reach the database at all.

Functions here take the cutoff and the places; they do not read Airflow's settings, so
they are testable without it (``shopbridge.airflow.maintenance`` wires them to Airflow).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

#: the Airflow Variable that sets the retention in days (a run's ``retention_days`` wins)
VARIABLE = "shopbridge_retention_days"
DEFAULT_DAYS = 30
#: Connection whose password is the metadata DB's SQLAlchemy URL (see the module doc)
DB_CONNECTION = "shopbridge_airflow_db"
#: tables ``airflow db clean`` empties of old rows. ``dag_run`` cascades to its task
#: instances, their rendered fields and XComs; ``db clean`` keeps each DAG's latest
#: scheduled run, which the scheduler needs to continue
DB_TABLES = (
    "dag_run",
    "task_instance",
    "task_instance_history",
    "xcom",
    "log",
    "asset_event",
    "task_reschedule",
)
#: the last lines of ``airflow db clean``'s output kept in the report
OUTPUT_TAIL = 20


def retention_days(param: object, variable: str | None) -> float:
    """The run's ``retention_days`` param, else the Variable, else :data:`DEFAULT_DAYS`."""
    for value, where in ((param, "params.retention_days"), (variable, VARIABLE)):
        if value is None or value == "":
            continue
        try:
            days = float(str(value))
        except ValueError:
            raise ValueError(f"{where}: not a number of days: {value!r}") from None
        if days < 0:
            raise ValueError(f"{where}: must be 0 or more days, got {days:g}")
        return days
    return float(DEFAULT_DAYS)


def cutoff_for(days: float, now: datetime) -> datetime:
    return now - timedelta(days=days)


def purge_log_files(log_dir: Path, cutoff: datetime, *, keep: Iterable[Path] = ()) -> int:
    """Delete the files under ``log_dir`` last written before ``cutoff``, then the
    directories that emptied; how many files went.

    ``keep``: directories left alone whatever their age (the maintenance run's own, whose
    log is being written while it runs). Symlinks (the dag-processor's ``latest``) are
    not followed.
    """
    if not log_dir.is_dir():
        return 0
    kept = [k.resolve() for k in keep]
    limit = cutoff.timestamp()
    gone = 0
    for root, dirs, files in os.walk(log_dir, topdown=False):
        here = Path(root)
        if any(here == k or k in here.parents for k in kept):
            continue
        for name in files:
            path = here / name
            try:
                if not path.is_symlink() and path.lstat().st_mtime < limit:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:  # rotated or removed meanwhile
                continue
        for name in dirs:
            sub = here / name
            if sub.is_symlink() or any(sub == k or sub in k.parents for k in kept):
                continue
            with suppress(OSError):  # not empty: something newer lives there
                sub.rmdir()
    return gone


def purge_inbox(cutoff: datetime, url: str | None = None) -> int:
    """Finished inbox rows and fingerprints older than ``cutoff``, and at the latest after
    the inbox's own retention (7 days) whatever the configured one."""
    from shopbridge.store.inbox import Inbox

    inbox = Inbox(url)
    with closing(inbox):
        return inbox.purge_before(max(cutoff, datetime.now(UTC) - Inbox.retention))


def purge_activity(cutoff: datetime, url: str | None = None) -> int:
    from shopbridge.store import activity

    return activity.purge_before(cutoff, url=url)


def purge_notices(cutoff: datetime, url: str | None = None) -> int:
    from shopbridge.store.notices import SentNotices

    notices = SentNotices(url)
    with closing(notices):
        return notices.purge_before(cutoff)


@dataclass(frozen=True)
class DbClean:
    """What ``airflow db clean`` did: skipped (no Connection), ok, or failed, and why."""

    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


def db_clean_command(cutoff: datetime, *, tables: Sequence[str] = DB_TABLES) -> list[str]:
    """``airflow db clean`` without archive tables: an archive would keep a copy of every
    purged row (conf, rendered fields, XComs) in the same database."""
    return [
        sys.executable,
        "-m",
        "airflow",
        "db",
        "clean",
        "--clean-before-timestamp",
        cutoff.isoformat(),
        "--tables",
        ",".join(tables),
        "--skip-archive",
        "--yes",
        "--verbose",
        "--error-on-cleanup-failure",
    ]


def run_db_clean(
    cutoff: datetime, db_url: str | None, *, running_since: datetime | None, timeout: float = 1800
) -> DbClean:
    """Run ``airflow db clean`` against ``db_url`` (the deployment's metadata DB).

    Rows from ``running_since`` on are kept whatever the retention (the cutoff moves back
    to it): with a retention of 0 the maintenance run would otherwise delete its own dag
    run and task instance while it runs. Not ``--exclude-dag-ids``: in Airflow 3.3.2 that
    filter fails on ``asset_event``, ``deadline`` and ``task_reschedule``, which have no
    ``dag_id`` column (apache/airflow#69030), and cleans nothing.

    The child gets the URL in place of the worker's blocked one; every other setting is
    the worker's own.
    """
    if not db_url:
        return DbClean(
            "skipped",
            f"no Connection {DB_CONNECTION!r} with the metadata DB's "
            "URL as its password (see shopbridge.airflow.retention)",
        )
    if running_since is not None:
        cutoff = min(cutoff, running_since)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN")
        )
    }
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = db_url
    proc = subprocess.run(  # noqa: S603
        db_clean_command(cutoff),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-OUTPUT_TAIL:])
    if proc.returncode != 0:
        return DbClean("failed", f"exit {proc.returncode}: {tail}")
    return DbClean("ok", tail)
