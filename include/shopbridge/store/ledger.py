"""The sync ledger: what was written where, so every load is idempotent.

One row per ``(integration, entity, source_ref)``: the target's id, the content hash last
written, the status and, for quarantined records, the reason. It makes a retried or
re-run task skip what already landed, lets an unchanged customer cost no API call, and
feeds the run report. It holds ids and hashes only: customers are keyed by a hash of
their e-mail, never the address itself.

A row goes ``pending`` before a create is sent and ``done`` after the target confirmed.
A ``pending`` row found later means an attempt died mid-write: the caller must look the
record up in the target before creating it again (a timeout can hide a success).

Default store: a SQLite file under ``$AIRFLOW_HOME`` (WAL, so parallel mapped tasks can
write); production: any SQLAlchemy URL in ``SHOPBRIDGE_LEDGER_URL`` (PostgreSQL).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, MetaData, RowMapping, String, select, update
from sqlalchemy.exc import IntegrityError

from shopbridge.store.db import Store, aware, column, moment, table

metadata = MetaData()

records = table(
    "shopbridge_ledger",
    metadata,
    ("integration", "entity", "source_ref"),
    column("target_ref"),
    Column("content_hash", String(64)),
    column("status", required=True),
    column("reason"),
    column("run_id"),
    moment("updated_at", required=True),
    # the echo check of the opposite direction looks rows up by the id they were written as
    Index("ix_shopbridge_ledger_target", "integration", "entity", "target_ref"),
)

windows = table(
    "shopbridge_windows", metadata, ("integration", "flow"), moment("last_end", required=True)
)


class Status(StrEnum):
    PENDING = "pending"
    DONE = "done"
    QUARANTINED = "quarantined"


class Claim(StrEnum):
    """Outcome of :meth:`Ledger.claim`."""

    #: nobody wrote it yet: this caller creates it
    NEW = "new"
    #: an earlier attempt died mid-write: look it up in the target before creating
    STALE = "stale"
    #: it already landed: use the row's target_ref
    DONE = "done"
    #: another worker is writing it right now: try again shortly
    BUSY = "busy"


@dataclass(frozen=True)
class Row:
    source_ref: str
    target_ref: str | None
    content_hash: str | None
    status: Status
    reason: str | None
    updated_at: datetime
    run_id: str | None = None


def unchanged(row: Row | None, content_hash: str) -> bool:
    """Whether ``row`` has this very content as written: writing it again would change
    nothing in the target."""
    return row is not None and row.status is Status.DONE and row.content_hash == content_hash


def email_key(email: str) -> str:
    """Ledger key of a customer: a hash, so no e-mail address is ever stored."""
    return "email-sha256:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _record(integration: str, entity: str, ref: str) -> dict[str, str]:
    """The key of a record's row in the ledger."""
    return {"integration": integration, "entity": entity, "source_ref": ref}


def _flow(integration: str, flow: str) -> dict[str, str]:
    """The key of a flow's row in the windows table."""
    return {"integration": integration, "flow": flow}


class Ledger(Store):
    """Access to the ledger tables; cheap to create, one per task."""

    metadata = metadata

    #: a ``pending`` row older than this is treated as an attempt that died
    lease = timedelta(minutes=5)

    def _rows_by(
        self, column: str, refs: list[str], integration: str, entity: str, **where: str
    ) -> list[RowMapping]:
        """The rows of ``(integration, entity)`` whose ``column`` is one of ``refs`` (and
        that match ``where``), one query per 500 refs: databases cap a query's parameters."""
        found: list[RowMapping] = []
        with self.engine.connect() as conn:
            for i in range(0, len(refs), 500):
                stmt = (
                    select(records)
                    .filter_by(integration=integration, entity=entity, **where)
                    .where(records.c[column].in_(refs[i : i + 500]))
                )
                found.extend(conn.execute(stmt).mappings())
        return found

    def get_many(self, integration: str, entity: str, refs: list[str]) -> dict[str, Row]:
        """Rows for ``refs`` that exist (one query per 500 refs)."""
        return {
            r["source_ref"]: Row(
                r["source_ref"],
                r["target_ref"],
                r["content_hash"],
                Status(r["status"]),
                r["reason"],
                aware(r["updated_at"]),
                r["run_id"],
            )
            for r in self._rows_by("source_ref", refs, integration, entity)
        }

    def written_as(self, integration: str, entity: str, target_refs: list[str]) -> set[str]:
        """Which of ``target_refs`` this ledger wrote (as a target id), so a flow going the
        other way recognises a record that came from shopbridge and does not echo it back."""
        return {
            r["target_ref"] for r in self._rows_by("target_ref", target_refs, integration, entity)
        }

    def sources_of(self, integration: str, entity: str, target_refs: list[str]) -> dict[str, str]:
        """``target_ref -> source_ref`` for the done rows written as ``target_refs``: how a
        flow going the other way finds a record's counterpart (a hub's order id -> the
        webshop's)."""
        done = self._rows_by(
            "target_ref", target_refs, integration, entity, status=Status.DONE.value
        )
        return {r["target_ref"]: r["source_ref"] for r in done}

    def get(self, integration: str, entity: str, ref: str) -> Row | None:
        return self.get_many(integration, entity, [ref]).get(ref)

    def claim(
        self, integration: str, entity: str, ref: str, run_id: str
    ) -> tuple[Claim, Row | None]:
        """Take the right to create ``ref`` in the target; at most one worker holds it.

        ``run_id`` names the owner: the task (run and map index) that writes. A pending
        claim of the same owner is that task's own earlier, interrupted attempt, so it is
        returned as ``STALE`` at once instead of waiting out the lease.
        """
        now = _now()
        key = _record(integration, entity, ref)
        with self.engine.begin() as conn:
            try:
                conn.execute(
                    records.insert().values(
                        **key, status=Status.PENDING, run_id=run_id, updated_at=now
                    )
                )
                return Claim.NEW, None
            except IntegrityError:
                pass
        row = self.get(integration, entity, ref)
        assert row is not None
        if row.status is Status.DONE and row.target_ref:
            return Claim.DONE, row
        mine = row.run_id == run_id  # a retry of the same task attempt's work
        if row.status is Status.PENDING and now - row.updated_at < self.lease and not mine:
            return Claim.BUSY, row
        # stale pending, or quarantined before: take it over atomically
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(records)
                .filter_by(**key, updated_at=row.updated_at)
                .values(status=Status.PENDING, run_id=run_id, reason=None, updated_at=now)
            ).rowcount
        if not taken:
            return Claim.BUSY, row
        return (Claim.STALE if row.status is Status.PENDING else Claim.NEW), row

    def _upsert(self, integration: str, entity: str, ref: str, **values: Any) -> None:
        values["updated_at"] = _now()
        key = _record(integration, entity, ref)
        with self.engine.begin() as conn:
            if not conn.execute(update(records).filter_by(**key).values(**values)).rowcount:
                conn.execute(records.insert().values(**key, **values))

    def done(
        self,
        integration: str,
        entity: str,
        ref: str,
        *,
        target_ref: str,
        content_hash: str | None,
        run_id: str,
    ) -> None:
        """Record that ``ref`` is in the target as ``target_ref`` with this content."""
        self._upsert(
            integration,
            entity,
            ref,
            target_ref=target_ref,
            content_hash=content_hash,
            status=Status.DONE,
            reason=None,
            run_id=run_id,
        )

    def release(self, integration: str, entity: str, ref: str) -> None:
        """Give a claim back after a write that certainly did not land (a 4xx)."""
        key = _record(integration, entity, ref)
        with self.engine.begin() as conn:
            conn.execute(records.delete().filter_by(**key, status=Status.PENDING))

    def quarantine(
        self, integration: str, entity: str, ref: str, *, reason: str, run_id: str
    ) -> None:
        """Set a record aside with a reason a person can act on (no personal data)."""
        self._upsert(
            integration,
            entity,
            ref,
            status=Status.QUARANTINED,
            reason=reason[:2000],
            run_id=run_id,
            target_ref=None,
        )

    def last_window_end(self, integration: str, flow: str) -> datetime | None:
        key = _flow(integration, flow)
        with self.engine.connect() as conn:
            end = conn.execute(select(windows.c.last_end).filter_by(**key)).scalar()
        return aware(end) if end else None

    def record_window_end(self, integration: str, flow: str, end: datetime) -> None:
        """Remember how far a flow has synced, for manual runs without a data interval."""
        key = _flow(integration, flow)
        with self.engine.begin() as conn:
            current = conn.execute(select(windows.c.last_end).filter_by(**key)).scalar()
            if current is None:
                conn.execute(windows.insert().values(**key, last_end=end))
            elif aware(current) < end:
                conn.execute(update(windows).filter_by(**key).values(last_end=end))

    def counts(self, integration: str) -> dict[tuple[str, str], int]:
        """Rows per (entity, status): what the ledger says, for reports and tests."""
        from sqlalchemy import func

        with self.engine.connect() as conn:
            rows = conn.execute(
                select(records.c.entity, records.c.status, func.count())
                .where(records.c.integration == integration)
                .group_by(records.c.entity, records.c.status)
            )
            return {(e, s): n for e, s, n in rows}
