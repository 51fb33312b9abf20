"""Which notifications were sent: one per (run, event, channel), however often a task runs.

A retried ``report`` task, or a failure callback that both the worker and the DAG
processor run for one dead task, would otherwise tell the on-call person the same thing
twice. The sender claims the notice here before it sends and gives the claim back when the
channel refused it, so a retry tries an undelivered notice again and never repeats a
delivered one. Its own table in the ledger's database, ids only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, String, delete, insert
from sqlalchemy.exc import IntegrityError

from shopbridge.store.db import Store, moment, table

metadata = MetaData()

sent = table(
    "shopbridge_notices",
    metadata,
    ("integration", "flow", "run_id"),
    #: ``quarantine``, or ``failure:<task>[<map index>]`` (each failed task is its own notice)
    Column("event", String(250), primary_key=True),
    #: ``<channel>:<connection id>``
    Column("channel", String(250), primary_key=True),
    moment("sent_at", required=True),
)


@dataclass(frozen=True)
class NoticeKey:
    """One notice of one run to one channel."""

    integration: str
    flow: str
    run_id: str
    event: str
    channel: str

    def row(self) -> dict[str, str]:
        """The key as the table's columns (they are named alike)."""
        return asdict(self)


class SentNotices(Store):
    """Claims on notices in the ledger's database (``SHOPBRIDGE_LEDGER_URL``)."""

    metadata = metadata

    def claim(self, key: NoticeKey) -> bool:
        """True when this caller may send ``key``; False when it was sent (or is being sent)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(sent).values(**key.row(), sent_at=datetime.now(UTC)))
        except IntegrityError:
            return False
        return True

    def release(self, key: NoticeKey) -> None:
        """Give a claim back after the channel refused the notice, so a retry sends it."""
        with self.engine.begin() as conn:
            conn.execute(delete(sent).filter_by(**key.row()))

    def purge_before(self, cutoff: datetime) -> int:
        """Forget claims older than ``cutoff`` (no run that old is retried any more)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(sent).where(sent.c.sent_at < cutoff)).rowcount
