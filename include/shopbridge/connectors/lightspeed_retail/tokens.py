"""Where the current OAuth token pair lives, shared by every worker of an integration.

Why a shared store: Lightspeed Retail rotates refresh tokens. A refresh returns a new
access token *and* a new refresh token, and the one just used dies (VENDOR_APIS.md §2;
developers.lightspeedhq.com/retail/authentication/refresh-token). Airflow runs many tasks
in parallel processes; if each kept its own copy, the first to refresh would kill every
other copy, and the next refresh by another worker would lock the whole integration out
until someone re-authorizes the app by hand.

So the pair lives in one row that every worker reads, and changes only by
compare-and-swap on the refresh token it replaces (:meth:`TokenStore.swap`): of two
workers holding the same refresh token, exactly one can store a successor; the other
re-reads and uses the winner's pair. A short *lease* (:meth:`TokenStore.claim`) lets only
one worker send the refresh request at all, so the vendor never sees the same refresh
token twice ("excessive use of refresh tokens may result in rate limiting or your client
being blocked"); the lease expires, so a worker that dies mid-refresh blocks nobody for
long.

Implementations: :class:`SqlTokenStore` (table ``shopbridge_oauth_tokens`` in the ledger
database, ``shopbridge.store.db.default_url()``, i.e. ``SHOPBRIDGE_LEDGER_URL``), atomic
through conditional ``UPDATE ... WHERE refresh_token = :old``; and
:class:`InMemoryTokenStore` for tests and single-process use.

The row holds a secret (the refresh token; useless without the connection's client
secret, but still): protect the ledger database like Airflow's metadata database.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from shopbridge.store.db import default_url

TABLE = "shopbridge_oauth_tokens"


@dataclass(frozen=True)
class TokenSet:
    """One access/refresh pair and when the access token expires (epoch seconds)."""

    access_token: str
    refresh_token: str
    expires_at: float

    def __repr__(self) -> str:  # never print the tokens
        return f"TokenSet(expires_at={self.expires_at:.0f}, access=***, refresh=***)"

    def fresh(self, now: float, skew_s: float) -> bool:
        """Usable for at least ``skew_s`` more seconds."""
        return bool(self.access_token) and now < self.expires_at - skew_s


def token_key(client_id: str, initial_refresh_token: str) -> str:
    """The store row of one authorization: the client id plus a hash of the refresh token
    the Connection was set up with.

    Why the seed's hash is part of the key: re-authorizing the app (a new refresh token
    pasted into the Connection) then starts a new row from the new token, instead of
    being overruled by the dead chain of the old one. Why the API address is not: the
    chain belongs to the authorization, not to the host it is spent at (a proxy, or a
    sandbox restarted on another port with its state kept, continues the same chain).
    The token itself never appears in the key.
    """
    digest = hashlib.sha256(f"{client_id}\x1f{initial_refresh_token}".encode()).hexdigest()
    return f"lightspeed_retail:{client_id[:60]}:{digest[:24]}"


class TokenStore(Protocol):
    """The current token pair per key, changed only by compare-and-swap."""

    def get(self, key: str) -> TokenSet | None:
        """The stored pair, or ``None`` when this key was never seeded."""
        ...

    def put_if_absent(self, key: str, tokens: TokenSet) -> TokenSet:
        """Seed the key with ``tokens`` unless it holds a pair already; returns the stored
        pair (the seed, or whatever another worker stored first)."""
        ...

    def claim(
        self, key: str, refresh_token: str, owner: str, *, now: float, lease_s: float
    ) -> bool:
        """Take the right to spend ``refresh_token``: only while it is still the stored
        one and no other owner's lease runs. ``False``: someone else refreshes (or did)."""
        ...

    def swap(self, key: str, old_refresh_token: str, new: TokenSet) -> bool:
        """Store ``new`` if the stored refresh token is still ``old_refresh_token``
        (atomic); clears the lease. ``False``: another worker's pair is stored already."""
        ...

    def release(self, key: str, owner: str) -> None:
        """Give up ``owner``'s lease without storing anything (the refresh failed)."""
        ...

    def close(self) -> None:
        """Release connections (a no-op for the in-memory store)."""
        ...


@dataclass
class _Row:
    tokens: TokenSet
    lease_owner: str | None = None
    lease_until: float = 0.0


class InMemoryTokenStore:
    """A :class:`TokenStore` in one process: a dict behind a lock (tests, the demo)."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        #: successful swaps, for tests
        self.swaps = 0

    def get(self, key: str) -> TokenSet | None:
        """See :meth:`TokenStore.get`."""
        with self._lock:
            row = self._rows.get(key)
            return row.tokens if row else None

    def put_if_absent(self, key: str, tokens: TokenSet) -> TokenSet:
        """See :meth:`TokenStore.put_if_absent`."""
        with self._lock:
            return self._rows.setdefault(key, _Row(tokens)).tokens

    def claim(
        self, key: str, refresh_token: str, owner: str, *, now: float, lease_s: float
    ) -> bool:
        """See :meth:`TokenStore.claim`."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or row.tokens.refresh_token != refresh_token:
                return False
            if row.lease_owner not in (None, owner) and row.lease_until > now:
                return False
            row.lease_owner, row.lease_until = owner, now + lease_s
            return True

    def swap(self, key: str, old_refresh_token: str, new: TokenSet) -> bool:
        """See :meth:`TokenStore.swap`."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or row.tokens.refresh_token != old_refresh_token:
                return False
            self._rows[key] = _Row(new)
            self.swaps += 1
            return True

    def release(self, key: str, owner: str) -> None:
        """See :meth:`TokenStore.release`."""
        with self._lock:
            row = self._rows.get(key)
            if row is not None and row.lease_owner == owner:
                row.lease_owner, row.lease_until = None, 0.0

    def close(self) -> None:
        """Nothing to release."""

    def expire_access(self, key: str) -> None:
        """Test helper: make the stored access token look expired."""
        with self._lock:
            row = self._rows[key]
            row.tokens = replace(row.tokens, expires_at=0.0)


_metadata = MetaData()

tokens_table = Table(
    TABLE,
    _metadata,
    Column("key", String(200), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("lease_owner", String(200)),
    Column("lease_until", Float),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Parallel workers on one SQLite file: WAL, and wait for a writer instead of failing."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _now() -> datetime:
    return datetime.now(UTC)


class SqlTokenStore:
    """A :class:`TokenStore` in the ledger database (any SQLAlchemy URL).

    Atomicity comes from the database, not from Python: ``claim`` and ``swap`` are single
    conditional UPDATEs (``WHERE refresh_token = :old ...``) whose row count says who won.
    Under SQLite writers are serialised; under PostgreSQL's READ COMMITTED the second
    UPDATE waits for the first one's row lock and then re-checks its WHERE against the
    committed row, so it matches nothing. No SELECT ... FOR UPDATE is needed.
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        """``url`` defaults to the ledger's (``SHOPBRIDGE_LEDGER_URL`` or the SQLite file
        under ``$AIRFLOW_HOME``); the table is created when missing."""
        if engine is None:
            engine = create_engine(url or default_url())
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
        self.engine = engine
        _metadata.create_all(self.engine)

    def get(self, key: str) -> TokenSet | None:
        """See :meth:`TokenStore.get`."""
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens_table).where(tokens_table.c.key == key)).first()
        if row is None:
            return None
        return TokenSet(row.access_token, row.refresh_token, float(row.expires_at))

    def put_if_absent(self, key: str, tokens: TokenSet) -> TokenSet:
        """See :meth:`TokenStore.put_if_absent` (an INSERT; a duplicate key loses)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(tokens_table).values(
                        key=key,
                        access_token=tokens.access_token,
                        refresh_token=tokens.refresh_token,
                        expires_at=tokens.expires_at,
                        updated_at=_now(),
                    )
                )
        except IntegrityError:
            pass
        stored = self.get(key)
        if stored is None:  # pragma: no cover - deleted between the two statements
            raise RuntimeError(f"token row {key} vanished while being seeded")
        return stored

    def claim(
        self, key: str, refresh_token: str, owner: str, *, now: float, lease_s: float
    ) -> bool:
        """See :meth:`TokenStore.claim`: one conditional UPDATE."""
        t = tokens_table.c
        free = (t.lease_owner.is_(None)) | (t.lease_owner == owner) | (t.lease_until < now)
        with self.engine.begin() as conn:
            won = conn.execute(
                update(tokens_table)
                .where(t.key == key, t.refresh_token == refresh_token, free)
                .values(lease_owner=owner, lease_until=now + lease_s)
            ).rowcount
        return bool(won)

    def swap(self, key: str, old_refresh_token: str, new: TokenSet) -> bool:
        """See :meth:`TokenStore.swap`: ``UPDATE ... WHERE refresh_token = :old``."""
        t = tokens_table.c
        with self.engine.begin() as conn:
            won = conn.execute(
                update(tokens_table)
                .where(t.key == key, t.refresh_token == old_refresh_token)
                .values(
                    access_token=new.access_token,
                    refresh_token=new.refresh_token,
                    expires_at=new.expires_at,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=_now(),
                )
            ).rowcount
        return bool(won)

    def release(self, key: str, owner: str) -> None:
        """See :meth:`TokenStore.release`."""
        t = tokens_table.c
        with self.engine.begin() as conn:
            conn.execute(
                update(tokens_table)
                .where(t.key == key, t.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def close(self) -> None:
        """Return pooled connections (each task opens its own store)."""
        self.engine.dispose()
