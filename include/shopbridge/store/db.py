"""The one database shopbridge keeps for itself (``SHOPBRIDGE_LEDGER_URL``): the ledger,
the webhook inbox, the activity log, the quarantine log, notices and refresh tokens share
it, each in its own tables created on first use (no migration step for an operator).

Default: a SQLite file under ``$AIRFLOW_HOME`` (WAL, so parallel mapped tasks can write);
production: any SQLAlchemy URL, PostgreSQL in the compose file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self, overload

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

#: the columns the stores' tables share, one type each: a run id or a record's ref is
#: as long in the ledger as in the quarantine log or the notices
_SHARED: dict[str, TypeEngine[Any]] = {
    "integration": String(100),
    "flow": String(30),
    "kind": String(30),
    "entity": String(30),
    "source_ref": String(200),
    "target_ref": String(200),
    "status": String(20),
    "run_id": String(250),
    "reason": Text(),
}


def default_url() -> str:
    if url := os.environ.get("SHOPBRIDGE_LEDGER_URL"):
        return url
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return f"sqlite:///{home / 'shopbridge_ledger.sqlite'}"


def column(name: str, *, required: bool = False, key: bool = False) -> Column[Any]:
    """One of the columns the stores share (``integration``, ``run_id``, ...), with its
    one type; ``key``: part of the table's primary key (never null)."""
    if key:
        return Column(name, _SHARED[name], primary_key=True)
    return Column(name, _SHARED[name], nullable=not required)


def moment(name: str, *, required: bool = False) -> Column[datetime]:
    """A point in time; stored with its zone where the database keeps one (see
    :func:`aware`)."""
    return Column(name, DateTime(timezone=True), nullable=not required)


def table(name: str, metadata: MetaData, key: Iterable[str], *rest: SchemaItem) -> Table:
    """A store's table, its primary key made of the shared columns named in ``key``."""
    return Table(name, metadata, *(column(k, key=True) for k in key), *rest)


def journal(name: str, metadata: MetaData, *rest: SchemaItem) -> Table:
    """A table of what happens to an integration's flows (deliveries, runs), numbered in
    the order it happened."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        column("integration", required=True),
        column("flow", required=True),
        *rest,
    )


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    """A time read back from the database, in UTC when it came back without a zone
    (SQLite keeps none)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def open_store(tables: MetaData, url: str | None = None, engine: Engine | None = None) -> Engine:
    """The database's engine with ``tables`` created.

    An engine made here gets SQLite's WAL and busy timeout, so parallel tasks can write; one
    passed in is the caller's, as it is.
    """
    if engine is None:
        engine = create_engine(url or default_url())
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
    tables.create_all(engine)
    return engine


class Store:
    """One store's access to the database: cheap to create, one per task or request, closed
    when done (each task opens its own, so pooled connections must go back)."""

    #: the store's tables, created on first use
    metadata: ClassVar[MetaData]

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.engine = open_store(self.metadata, url, engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
