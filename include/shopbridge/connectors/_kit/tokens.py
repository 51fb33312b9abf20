"""Rotating OAuth refresh tokens shared by every worker of an integration.

Why one scheme for every vendor: Fortnox, Lightspeed Retail and AccountView.net answer a
refresh with a new access token *and* a new refresh token, and (Fortnox and Lightspeed on
purpose, AccountView when it rotates) the one just spent dies. Airflow runs many tasks in
parallel processes, and builds every client anew from the Connection. If each kept its own
copy, the first to refresh would kill every other copy, and the next refresh by another
worker, or by the same worker after a restart, would lock the integration out until a
person authorizes the app again.

So the pair lives in one row per authorization (:func:`token_key`) of a
:class:`RefreshTokenStore` that every worker reads, and it changes only

* under a short **lease** (:meth:`RefreshTokenStore.claim`): only one worker sends a given
  refresh token to the vendor at all (vendors block clients that spend refresh tokens
  twice); the lease expires, so a worker that dies mid-refresh blocks nobody for long;
* by **compare-and-swap** on the refresh token it replaces (:meth:`RefreshTokenStore.swap`):
  of two workers holding the same refresh token exactly one stores a successor; the other
  re-reads and uses the winner's pair.

:class:`RotatingTokenAuth` is the one ``httpx.Auth`` doing that (take the lease, re-read,
refresh, CAS-write, release); what differs per vendor is only the token request and how
its answer reads, a :class:`TokenGrant`. The store in production is
:class:`shopbridge.store.tokens.RefreshTokens` (the ledger database);
:class:`InMemoryRefreshTokenStore` serves unit tests and single-process use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import Protocol, TypedDict

import httpx

from shopbridge.errors import AuthError, RetriableError
from shopbridge.store.tokens import TokenSet as TokenSet

log = logging.getLogger(__name__)

Flow = Generator[httpx.Request, httpx.Response, TokenSet]


def token_key(system: str, client_id: str, initial_refresh_token: str) -> str:
    """The store row of one authorization: ``{system}:{client id}:{hash}``, the hash over
    the client id and the refresh token the Connection was set up with.

    Why the seed's hash is part of the key: authorizing the app again (a new refresh token
    in the Connection) then starts a new row from the new token, instead of being overruled
    by the dead chain of the old one. Why the API address is not: the chain belongs to the
    authorization, not to the host it is spent at (a proxy, or a sandbox restarted on
    another port with its state kept, continues the same chain). No token appears in it.
    """
    digest = hashlib.sha256(f"{client_id}\x1f{initial_refresh_token}".encode()).hexdigest()
    return f"{system}:{client_id[:60]}:{digest[:24]}"


class RefreshTokenStore(Protocol):
    """The current token pair per key, changed only by compare-and-swap."""

    def get(self, key: str) -> TokenSet | None:
        """The stored pair, or ``None`` when this key was never seeded."""
        ...

    def put_if_absent(self, key: str, pair: TokenSet) -> TokenSet:
        """Seed the key with ``pair`` unless it holds a pair already; returns the stored
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


class InMemoryRefreshTokenStore:
    """A :class:`RefreshTokenStore` in one process: a dict behind a lock (unit tests, a
    client built without a store)."""

    def __init__(self) -> None:
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        #: successful swaps, for tests
        self.swaps = 0

    def get(self, key: str) -> TokenSet | None:
        """See :meth:`RefreshTokenStore.get`."""
        with self._lock:
            row = self._rows.get(key)
            return row.tokens if row else None

    def put_if_absent(self, key: str, pair: TokenSet) -> TokenSet:
        """See :meth:`RefreshTokenStore.put_if_absent`."""
        with self._lock:
            return self._rows.setdefault(key, _Row(pair)).tokens

    def claim(
        self, key: str, refresh_token: str, owner: str, *, now: float, lease_s: float
    ) -> bool:
        """See :meth:`RefreshTokenStore.claim`."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or row.tokens.refresh_token != refresh_token:
                return False
            if row.lease_owner not in (None, owner) and row.lease_until > now:
                return False
            row.lease_owner, row.lease_until = owner, now + lease_s
            return True

    def swap(self, key: str, old_refresh_token: str, new: TokenSet) -> bool:
        """See :meth:`RefreshTokenStore.swap`."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or row.tokens.refresh_token != old_refresh_token:
                return False
            self._rows[key] = _Row(new)
            self.swaps += 1
            return True

    def release(self, key: str, owner: str) -> None:
        """See :meth:`RefreshTokenStore.release`."""
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


class RefreshRefused(AuthError):
    """The token endpoint refused the refresh token itself (``invalid_grant``: used,
    revoked or past its lifetime), as opposed to the client's id and secret."""


class TokenGrant(Protocol):
    """What differs per vendor: the refresh request and how its answer reads."""

    def request(self, refresh_token: str) -> httpx.Request:
        """The token request spending ``refresh_token``."""
        ...

    def parse(self, response: httpx.Response, refresh_token: str, issued_at: float) -> TokenSet:
        """The new pair (``refresh_token`` stays when the answer names no new one, expiry
        counted from ``issued_at``); raises :class:`RefreshRefused` for a refused refresh
        token, :class:`AuthError` for refused client credentials, ``RetriableError`` for
        429/5xx, ``FatalError`` for anything else."""
        ...


class Timing(TypedDict, total=False):
    """The clocks and durations of a :class:`RotatingTokenAuth` (see there), as a vendor's
    auth passes them through unchanged."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    skew_s: float
    lease_s: float
    wait_s: float
    poll_s: float
    grace_s: float


def any_401(response: httpx.Response) -> bool:
    """The default test for "a fresh access token may cure this": any 401."""
    return response.status_code == 401


def worker_id() -> str:
    """Who holds a lease: host, process and this auth object (threads share a process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class RotatingTokenAuth(httpx.Auth):
    """Bearer auth from a shared store of rotating refresh tokens.

    * The Connection's refresh token only seeds the store (with an expired access token,
      so the first request refreshes); once rotated, the store is the truth, and a client
      built after a worker restart starts from the newest pair.
    * Refresh *before* expiry (``skew_s`` early) and once on a rejected access token
      (``rejected``, default any 401), never twice for one request: a second rejection
      reaches the caller.
    * A refresh re-reads the store first: if another worker rotated meanwhile, its pair is
      used and nothing is sent. Otherwise it takes the lease on the stored refresh token,
      spends it, and stores the answer by compare-and-swap. A worker that finds the lease
      taken polls the store until the winner's pair appears (at most ``wait_s``).
    * A refused refresh token (:class:`RefreshRefused`) makes it re-read the store once
      more (``grace_s`` > 0: keep re-reading that long), in case another worker whose lease
      ran out rotated it just now; then it tries the Connection's token once when that
      differs (the vendor side may have been reset to it); else the refusal stands.

    ``store`` defaults to this object's memory only (a single process that never restarts).
    ``clock`` is wall-clock epoch seconds: expiries and leases are compared across
    processes and hosts. ``before_send`` runs right before each API request goes out (a
    pacer, so re-sends are paced too); ``on_resend`` when one is sent again after a
    refresh; ``on_rotated`` with each new refresh token the vendor issues.
    """

    requires_response_body = True

    def __init__(
        self,
        grant: TokenGrant,
        *,
        refresh_token: str,
        key: str,
        vendor: str,
        store: RefreshTokenStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        skew_s: float = 60.0,
        lease_s: float = 30.0,
        wait_s: float = 45.0,
        poll_s: float = 0.05,
        grace_s: float = 0.0,
        rejected: Callable[[httpx.Response], bool] = any_401,
        before_send: Callable[[httpx.Request], None] | None = None,
        on_resend: Callable[[], None] | None = None,
        on_rotated: Callable[[str], None] | None = None,
    ) -> None:
        if store is None:
            store = InMemoryRefreshTokenStore()
        self.grant = grant
        self._seed = refresh_token
        self.store = store
        self.key = key
        self.vendor = vendor
        self.clock = clock
        self.sleep = sleep
        self.skew_s = skew_s
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.grace_s = grace_s
        self.rejected = rejected
        self.before_send = before_send
        self.on_resend = on_resend
        self.on_rotated = on_rotated
        self.owner = worker_id()
        #: token requests this instance sent, refused ones included
        self.token_requests = 0
        #: pairs this instance got from the vendor (tests and reports)
        self.refreshes = 0
        self._expired = False

    def __repr__(self) -> str:  # never show the secrets
        return f"{type(self).__name__}(key={self.key!r})"

    def current(self) -> TokenSet:
        """The stored pair, seeding the store from the Connection on first use."""
        stored = self.store.get(self.key)
        if stored is not None:
            return stored
        return self.store.put_if_absent(self.key, TokenSet("", self._seed, 0.0))

    def expire(self) -> None:
        """Refresh before this instance's next request, whatever the stored expiry says:
        a connection test proves the client id, secret and refresh token that way."""
        self._expired = True

    def refresh_now(self, send: Callable[[httpx.Request], httpx.Response]) -> TokenSet:
        """Refresh outside an API request (a connection test's first step, told apart from
        the calls after it), the token request sent by ``send``; same lease and swap."""
        flow = self._refresh(self.current())
        try:
            request = next(flow)
            while True:
                request = flow.send(send(request))
        except StopIteration as done:
            self._expired = False
            tokens: TokenSet = done.value
            return tokens

    @property
    def refresh_token(self) -> str:
        """The newest refresh token the store holds."""
        return self.current().refresh_token

    def _send(self, request: httpx.Request, tokens: TokenSet) -> httpx.Request:
        if self.before_send is not None:
            self.before_send(request)
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize ``request``; refresh before expiry, or once on a rejected token."""
        tokens = self.current()
        refreshed = False
        if self._expired or not tokens.fresh(self.clock(), self.skew_s):
            tokens = yield from self._refresh(tokens)
            refreshed, self._expired = True, False
        response = yield self._send(request, tokens)
        if refreshed or not self.rejected(response):
            return
        log.info(
            "%s rejected the access token (%s); refreshing once", self.vendor, request.url.path
        )
        tokens = yield from self._refresh(tokens)
        if self.on_resend is not None:
            self.on_resend()
        yield self._send(request, tokens)

    # -- refresh ----------------------------------------------------------------------

    def _refresh(self, stale: TokenSet) -> Flow:
        """A working pair replacing ``stale``: another worker's if it rotated meanwhile,
        else one this worker gets from the token endpoint under the lease."""
        deadline = self.clock() + self.wait_s
        while True:
            stored = self.current()
            if stored.refresh_token != stale.refresh_token:
                if stored.fresh(self.clock(), 0.0):
                    return stored  # rotated by another worker: use theirs
                stale = stored  # theirs is stale too (long idle): refresh it
                continue
            if self.store.claim(
                self.key, stale.refresh_token, self.owner, now=self.clock(), lease_s=self.lease_s
            ):
                break
            if self.clock() > deadline:
                raise RetriableError(
                    f"another worker has been refreshing the {self.vendor} token {self.key} "
                    f"for over {self.wait_s:.0f}s; trying again later"
                )
            self.sleep(self.poll_s)
        swapped = False
        try:
            try:
                new = yield from self._spend(stale.refresh_token)
            except RefreshRefused:
                after = self._successor(stale)
                if after is not None:
                    return after  # another worker rotated it a moment ago
                if self._seed == stale.refresh_token:
                    raise
                log.warning(
                    "%s refused the stored refresh token of %s; trying the connection's",
                    self.vendor,
                    self.key,
                )
                new = yield from self._spend(self._seed)
            swapped = self.store.swap(self.key, stale.refresh_token, new)
            if swapped:
                log.info("%s token %s refreshed", self.vendor, self.key)
                return new
            # our lease ran out and another worker stored a successor: theirs is the one
            # the store (and every other worker) has, so ours is dropped
            log.warning(
                "%s token refresh lost the compare-and-swap; using the stored pair", self.vendor
            )
            return self.current()
        finally:
            if not swapped:
                self.store.release(self.key, self.owner)

    def _spend(self, refresh_token: str) -> Flow:
        """One token request; the new pair, or the grant's error."""
        issued_at = self.clock()
        self.token_requests += 1
        response = yield self.grant.request(refresh_token)
        new = self.grant.parse(response, refresh_token, issued_at)
        self.refreshes += 1
        if new.refresh_token != refresh_token and self.on_rotated is not None:
            self.on_rotated(new.refresh_token)
        return new

    def _successor(self, stale: TokenSet) -> TokenSet | None:
        """A pair stored after ``stale``: one re-read, or re-reads for ``grace_s``."""
        deadline = self.clock() + self.grace_s
        while True:
            stored = self.store.get(self.key)
            if stored is not None and stored.refresh_token != stale.refresh_token:
                return stored
            if self.clock() >= deadline:
                return None
            self.sleep(self.poll_s)
