"""The one database shopbridge keeps for itself (``SHOPBRIDGE_LEDGER_URL``): the ledger,
the webhook inbox, the activity log, the quarantine log, notices and refresh tokens share
it, each in its own tables created on first use (no migration step for an operator).

Default: a SQLite file under ``$AIRFLOW_HOME`` (WAL, so parallel mapped tasks can write);
production: any SQLAlchemy URL, PostgreSQL in the compose file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Self

from sqlalchemy import Engine, MetaData, create_engine, event


def default_url() -> str:
    if url := os.environ.get("SHOPBRIDGE_LEDGER_URL"):
        return url
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return f"sqlite:///{home / 'shopbridge_ledger.sqlite'}"


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
