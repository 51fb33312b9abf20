"""The activity log: one row per finished flow run, for the Operations → Activity view.

A run's report (:func:`shopbridge.runtime.report`) writes what the run read from the
source, what it wrote to the target (created / updated / skipped) and every record it set
aside with the field and the reason. The ledger cannot answer "what did Tuesday's 14:00
run do": it keeps one row per record, overwritten by the next run that touches it. This
table keeps the runs.

Counts are kept twice: the flow's own summary keys as JSON (``orders_skipped_status``,
``customers_created``, ``api_calls``, ...), and five columns every flow shares, so the
view and its filters need no knowledge of a flow. How a flow's keys fold into the five
(:func:`outcome`): ``<kind>_read`` is read; ``<kind>_created`` is created;
``<kind>_updated`` and ``<kind>_written`` (stock levels and shipment states overwrite what
the target has) are updated; ``<kind>_unchanged`` and every ``<kind>_skipped_*`` are
skipped; ``<kind>_quarantined`` is quarantined.

No personal data: ids, counts, field paths and reasons only. Reasons are written without
personal data by the flows, but a reason quoting a target's error body could carry an
e-mail address, so addresses are masked here before anything is stored.

Same database as the ledger (``SHOPBRIDGE_LEDGER_URL``, else SQLite under
``$AIRFLOW_HOME``): the workers write it, the api-server's plugin reads it. Rows are
dropped by :meth:`ActivityLog.purge_before` (the retention purge).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    delete,
    select,
    update,
)

from shopbridge.store.db import Store, aware, column, journal, moment

metadata = MetaData()

runs = journal(
    "shopbridge_activity",
    metadata,
    column("kind", required=True),
    Column("dag_id", String(250), nullable=False),
    column("run_id", required=True),
    column("status", required=True),
    moment("finished_at", required=True),
    moment("window_start"),
    moment("window_end"),
    Column("read", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("quarantined_records", JSON, nullable=False),
    # a retried report task rewrites its run's row instead of adding a second one
    UniqueConstraint("dag_id", "run_id", name="uq_shopbridge_activity_run"),
    Index("ix_shopbridge_activity_finished", "finished_at"),
    Index("ix_shopbridge_activity_integration", "integration", "flow", "finished_at"),
)

#: a run succeeded; it may still have set records aside
SUCCESS = "success"
#: the report failed the run: more records quarantined than the flow allows
FAILED = "failed"
STATUSES = (SUCCESS, FAILED)

#: quarantined entries kept per run; the ``quarantined`` count stays the true total
MAX_ENTRIES = 500
#: a reason longer than this is cut (the ledger keeps the full one)
MAX_REASON = 500

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_QUARANTINE_FIELDS = ("entity", "source_id", "field", "reason")


def mask_emails(text: str) -> str:
    """``text`` with every e-mail address replaced, so none reaches the table or the page."""
    return _EMAIL.sub("(e-mail)", text)


def outcome(kind: str, counts: Mapping[str, Any]) -> dict[str, int]:
    """The five numbers every flow shares, from a flow's own summary keys (module doc)."""

    def n(key: str) -> int:
        value = counts.get(f"{kind}_{key}", 0)
        return value if isinstance(value, int) else 0

    skipped = n("unchanged") + sum(
        v
        for k, v in counts.items()
        if k.startswith(f"{kind}_skipped_") and isinstance(v, int) and not isinstance(v, bool)
    )
    return {
        "read": n("read"),
        "created": n("created"),
        "updated": n("updated") + n("written"),
        "skipped": skipped,
        "quarantined": n("quarantined"),
    }


#: the fields of a run that are times
_TIMES = ("finished_at", "window_start", "window_end")


@dataclass(frozen=True)
class RunActivity:
    """One finished run as the activity view shows it."""

    integration: str
    flow: str
    kind: str
    dag_id: str
    run_id: str
    status: str
    finished_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    read: int
    created: int
    updated: int
    skipped: int
    quarantined: int
    counts: dict[str, int]
    quarantined_records: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        """JSON-able, dates as ISO 8601 (the view's JSON endpoint)."""
        out = dict(self.__dict__)
        for key in _TIMES:
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


def _utc(value: datetime) -> datetime:
    """Every stored time in UTC: SQLite keeps them as text, compared as text."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _entries(quarantined: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for q in quarantined:
        if len(out) >= MAX_ENTRIES:
            break
        entry = {k: mask_emails(str(q.get(k, ""))) for k in _QUARANTINE_FIELDS}
        entry["reason"] = entry["reason"][:MAX_REASON]
        out.append(entry)
    return out


class ActivityLog(Store):
    """Access to the activity table; cheap to create (one per report task or request)."""

    metadata = metadata

    def record(
        self,
        *,
        integration: str,
        flow: str,
        kind: str,
        dag_id: str,
        run_id: str,
        summary: Mapping[str, Any],
        status: str = SUCCESS,
        finished_at: datetime | None = None,
    ) -> RunActivity:
        """Store a run's report (its summary dict); a second call for the same run replaces
        the first, so a retried report task leaves one row."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        counts = {
            k: v for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)
        }
        window = summary.get("window") or None
        start, end = (
            (_utc(datetime.fromisoformat(window[0])), _utc(datetime.fromisoformat(window[1])))
            if window
            else (None, None)
        )
        values: dict[str, Any] = {
            "integration": integration,
            "flow": flow,
            "kind": kind,
            "dag_id": dag_id,
            "run_id": run_id,
            "status": status,
            "finished_at": _utc(finished_at or datetime.now(UTC)),
            "window_start": start,
            "window_end": end,
            **outcome(kind, counts),
            "counts": counts,
            "quarantined_records": _entries(summary.get("quarantined") or []),
        }
        where = (runs.c.dag_id == dag_id, runs.c.run_id == run_id)
        with self.engine.begin() as conn:
            if not conn.execute(update(runs).where(*where).values(**values)).rowcount:
                conn.execute(runs.insert().values(**values))
        return _row(values)

    def query(
        self,
        *,
        integration: str | None = None,
        flow: str | None = None,
        status: str | None = None,
        quarantined_only: bool = False,
        since: datetime | None = None,
        dag_ids: Collection[str] | None = None,
        limit: int = 200,
    ) -> list[RunActivity]:
        """Runs matching every given filter, newest first, at most ``limit``.

        ``dag_ids`` limits the rows to the DAGs a person may read (the view passes what
        Airflow's auth manager allows them); ``None`` means no such limit.
        """
        stmt = select(runs).order_by(runs.c.finished_at.desc(), runs.c.id.desc()).limit(limit)
        if dag_ids is not None:
            stmt = stmt.where(runs.c.dag_id.in_(sorted(dag_ids)))
        if integration:
            stmt = stmt.where(runs.c.integration == integration)
        if flow:
            stmt = stmt.where(runs.c.flow == flow)
        if status:
            stmt = stmt.where(runs.c.status == status)
        if quarantined_only:
            stmt = stmt.where(runs.c.quarantined > 0)
        if since is not None:
            stmt = stmt.where(runs.c.finished_at >= _utc(since))
        with self.engine.connect() as conn:
            return [_row(r._asdict()) for r in conn.execute(stmt)]

    def dags(self) -> list[tuple[str, str, str]]:
        """``(integration, flow, dag_id)`` of every DAG with activity, sorted: the view's
        filter lists, and the DAG ids it asks Airflow about."""
        stmt = select(runs.c.integration, runs.c.flow, runs.c.dag_id).distinct()
        with self.engine.connect() as conn:
            return sorted((i, f, d) for i, f, d in conn.execute(stmt))

    def purge_before(self, cutoff: datetime) -> int:
        """Delete the runs that finished before ``cutoff``; how many went."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(runs).where(runs.c.finished_at < _utc(cutoff))).rowcount
        return int(gone or 0)


def _row(values: Mapping[str, Any]) -> RunActivity:
    """A row (or the values just written) as the view shows it: the table's columns are
    the fields, times come back aware, the JSON columns as copies of their own."""
    row = {f.name: values[f.name] for f in fields(RunActivity)}
    return RunActivity(
        **{
            **row,
            **{key: aware(row[key]) for key in _TIMES},
            "counts": dict(row["counts"]),
            "quarantined_records": list(row["quarantined_records"]),
        }
    )


def purge_before(cutoff: datetime, *, url: str | None = None) -> int:
    """Delete the runs that finished before ``cutoff`` from the activity log at ``url``
    (default: the ledger's database); how many went. For the retention purge."""
    log = ActivityLog(url)
    try:
        return log.purge_before(cutoff)
    finally:
        log.close()
