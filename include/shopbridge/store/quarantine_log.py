"""Where each quarantined record was read: the window a replay must read it again from.

The ledger keeps a quarantined record's ids and reason only, never its payload (a bad order
still carries a customer's name and address), so ``shopbridge replay`` has to fetch the
record from the source again. To do that with one windowed read instead of a scan of the
whole history, the run's report remembers here, per quarantined record, the window it was
read in. A webhook run has no window: its records are looked for in the flow's
``lookback_hours`` before they were set aside.

Its own table in the ledger's database (created on first use, like the ledger's), not a
new column on the ledger: existing SQLite and PostgreSQL ledgers need no migration, and
quarantines found at validation time (a field the translator refused), which never reach
the ledger, are remembered too. Ids, field names and reasons only, like the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, MetaData, String, select, update

from shopbridge.store.db import aware, column, moment, table

metadata = MetaData()

entries = table(
    "shopbridge_quarantine_windows",
    metadata,
    ("integration", "flow", "entity", "source_ref"),
    Column("field", String(200), nullable=False),
    column("reason", required=True),
    #: the window the record was last read in; both null for a webhook run's record
    moment("window_start"),
    moment("window_end"),
    moment("recorded_at", required=True),
    #: ``open`` until a replay loads it (or finds it already in the target): ``resolved``
    column("status", required=True),
)

OPEN = "open"
RESOLVED = "resolved"


@dataclass(frozen=True)
class Entry:
    """One remembered quarantine (what the table holds, with aware datetimes)."""

    integration: str
    flow: str
    entity: str
    source_ref: str
    field: str
    reason: str
    window_start: datetime | None
    window_end: datetime | None
    recorded_at: datetime
    status: str


def _entry(integration: str, flow: str, entity: str, source_ref: str) -> dict[str, str]:
    """The key of an entry's row."""
    return {"integration": integration, "flow": flow, "entity": entity, "source_ref": source_ref}


class QuarantineLog:
    """The table on the ledger's engine; cheap to create, like the ledger."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def remember(
        self,
        integration: str,
        flow: str,
        quarantined: Iterable[Mapping[str, str]],
        window: tuple[datetime, datetime] | None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Record (or refresh) each quarantined entry with the window it was read in.

        A record quarantined again keeps only its latest window and reason: that window
        saw the record as it is now, so a replay reading from it finds it.
        """
        when = now or datetime.now(UTC)
        start, end = window if window is not None else (None, None)
        n = 0
        with self.engine.begin() as conn:
            for q in quarantined:
                key = _entry(integration, flow, q["entity"], q["source_id"])
                values = {
                    "field": q["field"][:200],
                    "reason": q["reason"][:2000],
                    "window_start": start,
                    "window_end": end,
                    "recorded_at": when,
                    "status": OPEN,
                }
                if not conn.execute(update(entries).filter_by(**key).values(**values)).rowcount:
                    conn.execute(entries.insert().values(**key, **values))
                n += 1
        return n

    def open_entries(self, integration: str) -> list[Entry]:
        """Every entry of the integration not resolved yet, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(entries)
                .filter_by(integration=integration, status=OPEN)
                .order_by(entries.c.recorded_at, entries.c.source_ref)
            ).mappings()
            return [
                Entry(
                    **{
                        **r,
                        "window_start": aware(r["window_start"]),
                        "window_end": aware(r["window_end"]),
                        "recorded_at": aware(r["recorded_at"]),
                    }
                )
                for r in rows
            ]

    def resolve(self, integration: str, flow: str, entity: str, source_ref: str) -> None:
        """The record left quarantine (a replay loaded it, or found it in the target)."""
        with self.engine.begin() as conn:
            key = _entry(integration, flow, entity, source_ref)
            conn.execute(update(entries).filter_by(**key).values(status=RESOLVED))
