"""The webhook inbox: deliveries accepted by the receiver, waiting for their flow's run.

The receiver answers a vendor within milliseconds, so it cannot do the sync itself: it
verifies the delivery, stores the record here, and announces the flow (an asset event).
The flow's run then *claims* every waiting record of that flow, loads them and
*finishes* them. That makes the queue durable across restarts and lets a burst of
deliveries land in one run: whatever arrived while a run was busy is claimed by the next.

Kept in the ledger's database (same URL, same engine settings) because both the
api-server and the workers already reach it. Unlike the ledger, a waiting row holds the
vendor record, personal data included: it is the delivery itself, the one copy the run
needs. :meth:`Inbox.finish` erases it as soon as the run loaded it, and finished rows and
replay fingerprints are dropped after :attr:`Inbox.retention`.

A delivery's fingerprint (sha256 of its exact body) is kept to refuse replays: an
identical body posted again is recognised without keeping the body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from shopbridge.store.db import Store, journal, moment, table

metadata = MetaData()

waiting = journal(
    "shopbridge_inbox",
    metadata,
    Column("record_id", String(200), nullable=False),
    Column("payload", Text),
    moment("received_at", required=True),
    Column("claimed_by", String(250)),
    moment("done_at"),
    Index("ix_shopbridge_inbox_todo", "integration", "flow", "done_at"),
)

fingerprints = table(
    "shopbridge_deliveries",
    metadata,
    ("integration",),
    Column("system", String(40), primary_key=True),
    Column("digest", String(64), primary_key=True),
    moment("received_at", required=True),
)


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Accepted:
    """What :meth:`Inbox.accept` stored: one row per (flow, record)."""

    replay: bool
    rows: int


class Inbox(Store):
    """Access to the inbox tables; cheap to create (one per request or task)."""

    metadata = metadata

    #: how long finished rows and replay fingerprints are kept
    retention = timedelta(days=7)

    def accept(
        self,
        integration: str,
        system: str,
        body_digest: str,
        flows: Sequence[str],
        records: Sequence[tuple[str, dict[str, Any]]],
    ) -> Accepted:
        """Store ``records`` (id, vendor record) for each of ``flows``, once per body.

        The fingerprint and the rows are written in one transaction, so a delivery is
        either wholly waiting or (on a replay) not stored at all.
        """
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    fingerprints.insert().values(
                        integration=integration, system=system, digest=body_digest, received_at=now
                    )
                )
                rows = [
                    {
                        "integration": integration,
                        "flow": flow,
                        "record_id": rid,
                        "payload": json.dumps(record, separators=(",", ":")),
                        "received_at": now,
                    }
                    for flow in flows
                    for rid, record in records
                ]
                if rows:
                    conn.execute(waiting.insert(), rows)
        except IntegrityError:
            return Accepted(replay=True, rows=0)
        return Accepted(replay=False, rows=len(rows))

    def claim(self, integration: str, flow: str, run_id: str) -> list[dict[str, Any]]:
        """Every waiting record of the flow, newest delivery per record id, oldest first.

        Rows claimed by an earlier run that never finished (it failed) are claimed again:
        the ledger makes re-loading them harmless, and dropping them would lose records.
        """
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(waiting.c.id, waiting.c.record_id, waiting.c.payload)
                .filter_by(integration=integration, flow=flow, done_at=None)
                .order_by(waiting.c.id)
            ).all()
            if rows:
                conn.execute(
                    update(waiting)
                    .where(waiting.c.id.in_([r.id for r in rows]))
                    .values(claimed_by=run_id)
                )
        latest: dict[str, str] = {}
        for r in rows:
            latest.pop(r.record_id, None)  # re-insert so the order follows the last delivery
            latest[r.record_id] = r.payload
        return [json.loads(p) for p in latest.values()]

    def finish(self, integration: str, flow: str, run_id: str) -> int:
        """Mark the run's rows done and erase their payloads; drop expired rows."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            n = conn.execute(
                update(waiting)
                .filter_by(integration=integration, flow=flow, claimed_by=run_id, done_at=None)
                .values(done_at=now, payload=None)
            ).rowcount
            conn.execute(delete(waiting).where(waiting.c.done_at < now - self.retention))
            conn.execute(
                delete(fingerprints).where(fingerprints.c.received_at < now - self.retention)
            )
        return int(n or 0)

    def purge_before(self, cutoff: datetime) -> int:
        """Drop finished rows and replay fingerprints older than ``cutoff`` (the maintenance
        DAG's retention); how many rows went. Waiting rows stay whatever their age: they
        are records no run has loaded yet, and dropping them would lose those records."""
        with self.engine.begin() as conn:
            rows = conn.execute(delete(waiting).where(waiting.c.done_at < cutoff)).rowcount
            prints = conn.execute(
                delete(fingerprints).where(fingerprints.c.received_at < cutoff)
            ).rowcount
        return int(rows or 0) + int(prints or 0)

    def waiting_count(self, integration: str, flow: str | None = None) -> int:
        """Records not yet loaded (for health checks, the benchmark and tests)."""
        query = (
            select(func.count())
            .select_from(waiting)
            .where(waiting.c.integration == integration, waiting.c.done_at.is_(None))
        )
        if flow is not None:
            query = query.where(waiting.c.flow == flow)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
