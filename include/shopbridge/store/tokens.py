"""Rotating OAuth refresh tokens in the ledger database, shared by every worker.

One row per authorization (``{system}:{client id}:{seed hash}``, see
:func:`shopbridge.connectors._kit.tokens.token_key`): the current access/refresh pair, its
expiry, and the lease (holder, until) of the one worker allowed to spend the refresh token
now. Why the database and not the worker: a refresh kills the token it spends (Fortnox,
Lightspeed Retail), so a copy held by one task is dead for every other task and for the
next run after a restart; see :mod:`shopbridge.connectors._kit.tokens` for the protocol.

Atomicity comes from the database, not from Python: :meth:`RefreshTokens.claim` and
:meth:`RefreshTokens.swap` are single conditional UPDATEs (``WHERE refresh_token = :old
...``) whose row count says who won. SQLite serialises writers; under PostgreSQL's READ
COMMITTED the second UPDATE waits for the first one's row lock and re-checks its WHERE
against the committed row, so it matches nothing. No ``SELECT ... FOR UPDATE`` is needed.

The table keeps the name Lightspeed Retail's own store gave it, with the same keys, so a
chain rotated before the connectors shared this store carries on after an upgrade.

The row holds a secret (the refresh token; useless without the connection's client
secret, but still): protect the ledger database like Airflow's metadata database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, Text, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from shopbridge.store.db import Store


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


metadata = MetaData()

tokens = Table(
    "shopbridge_oauth_tokens",
    metadata,
    #: ``{system}:{client id}:{hash of the Connection's refresh token}``
    Column("key", String(200), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    #: epoch seconds
    Column("expires_at", Float, nullable=False),
    Column("lease_owner", String(200)),
    Column("lease_until", Float),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class RefreshTokens(Store):
    """A :class:`~shopbridge.connectors._kit.tokens.RefreshTokenStore` in the ledger
    database (``SHOPBRIDGE_LEDGER_URL``; SQLite by default, PostgreSQL in production)."""

    metadata = metadata

    def get(self, key: str) -> TokenSet | None:
        """See :meth:`RefreshTokenStore.get`."""
        with self.engine.connect() as conn:
            row = conn.execute(select(tokens).where(tokens.c.key == key)).first()
        if row is None:
            return None
        return TokenSet(row.access_token, row.refresh_token, float(row.expires_at))

    def put_if_absent(self, key: str, pair: TokenSet) -> TokenSet:
        """See :meth:`RefreshTokenStore.put_if_absent` (an INSERT; a duplicate key loses)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(tokens).values(
                        key=key,
                        access_token=pair.access_token,
                        refresh_token=pair.refresh_token,
                        expires_at=pair.expires_at,
                        updated_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            pass
        stored = self.get(key)
        if stored is None:  # pragma: no cover - rows are never deleted
            raise RuntimeError(f"token row {key} vanished while being seeded")
        return stored

    def claim(
        self, key: str, refresh_token: str, owner: str, *, now: float, lease_s: float
    ) -> bool:
        """See :meth:`RefreshTokenStore.claim`: one conditional UPDATE."""
        t = tokens.c
        free = t.lease_owner.is_(None) | (t.lease_owner == owner) | (t.lease_until < now)
        with self.engine.begin() as conn:
            won = conn.execute(
                sql_update(tokens)
                .where(t.key == key, t.refresh_token == refresh_token, free)
                .values(lease_owner=owner, lease_until=now + lease_s)
            ).rowcount
        return bool(won)

    def swap(self, key: str, old_refresh_token: str, new: TokenSet) -> bool:
        """See :meth:`RefreshTokenStore.swap`: ``UPDATE ... WHERE refresh_token = :old``."""
        t = tokens.c
        with self.engine.begin() as conn:
            won = conn.execute(
                sql_update(tokens)
                .where(t.key == key, t.refresh_token == old_refresh_token)
                .values(
                    access_token=new.access_token,
                    refresh_token=new.refresh_token,
                    expires_at=new.expires_at,
                    lease_owner=None,
                    lease_until=None,
                    updated_at=datetime.now(UTC),
                )
            ).rowcount
        return bool(won)

    def release(self, key: str, owner: str) -> None:
        """See :meth:`RefreshTokenStore.release`."""
        t = tokens.c
        with self.engine.begin() as conn:
            conn.execute(
                sql_update(tokens)
                .where(t.key == key, t.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
