"""OAuth2 for Lightspeed Retail: short-lived access tokens, rotating refresh tokens.

An :class:`httpx.Auth` (STYLE R8): the token request is just another request yielded from
``auth_flow``, so it goes through the same connection pool (and, in tests, the same
in-process sandbox). What it decides:

* Refresh *before* expiry (``skew_s`` early) and once on a 401 whose body is the OAuth
  ``access_denied`` error ("Access token could not be verified" / "... has been
  revoked"); never twice for one request. A second 401 reaches the caller as ``AuthError``.
* The pair comes from a shared :class:`~.tokens.TokenStore` (see there for why). Before
  refreshing, the flow re-reads the store: if another worker rotated meanwhile, its pair
  is used and nothing is sent. Otherwise it claims a short lease on the refresh token
  (only one worker sends it), refreshes, and stores the new pair by compare-and-swap on
  the old refresh token. A worker that finds the lease taken polls the store until the
  winner's pair appears (at most ``wait_s``).
* The Connection's refresh token only seeds the store: once rotated, the store is the
  truth. ``invalid_grant`` for the stored refresh token is answered by trying the
  Connection's token once (when it differs: the vendor side may have been reset to it),
  then by a ``grace_s`` wait for a worker whose lease ran out to store its successor; if
  neither helps, the chain is dead (used elsewhere, revoked, or 30 days unused):
  ``AuthError`` saying to re-authorize, never a retry loop.
* Token endpoint 429/5xx are ``RetriableError`` (the client's retry policy takes over);
  a wrong client id/secret is ``AuthError``.

Form fields and response follow the vendor's refresh-token page [V]:
``grant_type=refresh_token, refresh_token, client_id, client_secret`` ->
``{"token_type","expires_in","access_token","refresh_token"}``.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Generator

import httpx

from shopbridge.connectors._kit.http import describe, parse_retry_after
from shopbridge.connectors.lightspeed_retail.tokens import TokenSet, TokenStore, token_key
from shopbridge.errors import AuthError, FatalError, RetriableError

log = logging.getLogger(__name__)

#: The vendor's token endpoint; the API itself lives on api.lightspeedapp.com.
DEFAULT_TOKEN_URL = "https://cloud.lightspeedapp.com/auth/oauth/token"  # noqa: S105 - a URL

Flow = Generator[httpx.Request, httpx.Response, TokenSet]


def access_token_rejected(response: httpx.Response) -> bool:
    """A 401 that a fresh access token may cure: the OAuth ``access_denied`` body (hint
    "Access token could not be verified" or "... has been revoked"), or no body at all."""
    if response.status_code != 401:
        return False
    if not response.content:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    hint = str(body.get("hint") or body.get("message") or "").lower()
    return body.get("error") == "access_denied" or "access token" in hint


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


class _DeadRefreshToken(AuthError):
    """The token endpoint refused the refresh token itself (``invalid_grant``)."""


class RotatingTokenAuth(httpx.Auth):
    """Bearer auth backed by a shared, compare-and-swap token store."""

    requires_response_body = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        store: TokenStore,
        key: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        skew_s: float = 60.0,
        lease_s: float = 30.0,
        wait_s: float = 45.0,
        poll_s: float = 0.05,
        grace_s: float = 3.0,
    ) -> None:
        """``clock`` is wall-clock epoch seconds: expiries and leases are compared across
        processes and hosts. ``refresh_token`` is the Connection's (it seeds the store)."""
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._seed = refresh_token
        self.store = store
        self.key = key or token_key(client_id, refresh_token)
        self.clock = clock
        self.sleep = sleep
        self.skew_s = skew_s
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.grace_s = grace_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        #: token requests this instance sent (tests and reports)
        self.refreshes = 0

    def __repr__(self) -> str:  # never show the secrets
        return f"RotatingTokenAuth(client_id={self.client_id!r}, key={self.key!r})"

    def current(self) -> TokenSet:
        """The stored pair, seeding the store from the Connection on first use (with an
        expired access token, so the first request refreshes)."""
        stored = self.store.get(self.key)
        if stored is not None:
            return stored
        return self.store.put_if_absent(self.key, TokenSet("", self._seed, 0.0))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize ``request``; refresh before expiry and at most once on a 401."""
        tokens = self.current()
        if not tokens.fresh(self.clock(), self.skew_s):
            tokens = yield from self._refresh(tokens)
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        response = yield request
        if access_token_rejected(response):
            log.info("Lightspeed rejected the access token (%s); refreshing once", request.url.path)
            tokens = yield from self._refresh(tokens)
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"
            yield request

    # -- refresh ----------------------------------------------------------------------

    def _refresh(self, stale: TokenSet) -> Flow:
        """A working pair replacing ``stale``: another worker's if it rotated meanwhile,
        else one this worker gets from the token endpoint under a lease."""
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
                    f"another worker has been refreshing the Lightspeed token of client "
                    f"{self.client_id} for over {self.wait_s:.0f}s; trying again later"
                )
            self.sleep(self.poll_s)
        swapped = False
        try:
            issued_at = self.clock()
            response = yield self._token_request(stale.refresh_token)
            try:
                new = self._parse(response, stale, issued_at)
            except _DeadRefreshToken as dead:
                # The vendor refused our (stored) refresh token. If the Connection's own
                # token differs, the vendor side may have been reset to it (a sandbox
                # started afresh): try it once. A worker whose lease ran out may also have
                # spent the stored token a moment ago and be storing its successor: give
                # it ``grace_s`` to appear. If neither helps, the chain is dead.
                revived = yield from self._try_seed(stale, issued_at)
                if revived is None:
                    after = self._await_successor(stale, self.grace_s)
                    if after is not None:
                        return after
                    raise dead from None
                new = revived
            self.refreshes += 1
            swapped = self.store.swap(self.key, stale.refresh_token, new)
            if swapped:
                log.info("Lightspeed token of client %s refreshed (rotated)", self.client_id)
                return new
            # our lease ran out and another worker stored a successor: theirs is the one
            # the store (and every other worker) has, so ours is dropped
            log.warning("Lightspeed token refresh lost the compare-and-swap; using the stored pair")
            winner = self.store.get(self.key)
            if winner is None:  # pragma: no cover - rows are never deleted
                raise AuthError("the Lightspeed token row disappeared during a refresh")
            return winner
        finally:
            if not swapped:
                self.store.release(self.key, self.owner)

    def _try_seed(
        self, stale: TokenSet, issued_at: float
    ) -> Generator[httpx.Request, httpx.Response, TokenSet | None]:
        """The Connection's refresh token, spent once when the stored chain is refused and
        the seed is another token; ``None`` when it is the same or refused too."""
        if self._seed == stale.refresh_token:
            return None
        log.warning(
            "Lightspeed refused the stored refresh token of client %s; trying the connection's",
            self.client_id,
        )
        response = yield self._token_request(self._seed)
        try:
            return self._parse(response, stale, issued_at)
        except _DeadRefreshToken:
            return None

    def _await_successor(self, stale: TokenSet, wait_s: float) -> TokenSet | None:
        """A pair stored after ``stale`` within ``wait_s``, else ``None``."""
        deadline = self.clock() + wait_s
        while True:
            stored = self.store.get(self.key)
            if stored is not None and stored.refresh_token != stale.refresh_token:
                return stored
            if self.clock() >= deadline:
                return None
            self.sleep(self.poll_s)

    def _token_request(self, refresh_token: str) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.token_url,
            headers={"Accept": "application/json"},
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
        )

    def _parse(self, response: httpx.Response, stale: TokenSet, issued_at: float) -> TokenSet:
        """The new pair, or the error that says what to do about it."""
        code = response.status_code
        if code == 429 or code >= 500:
            raise RetriableError(
                f"Lightspeed token endpoint: {describe(response)}",
                response=response,
                retry_after=parse_retry_after(response),
            )
        error = _error_code(response)
        if code in (400, 401) and error in ("invalid_grant", "invalid_request"):
            raise _DeadRefreshToken(
                f"Lightspeed refused the refresh token of client {self.client_id} "
                f"({error}): it was used or revoked and no worker stored a newer one. "
                "Re-authorize the app and put the new refresh token in the connection's "
                "extra.refresh_token.",
                response=response,
            )
        if code in (400, 401):
            raise AuthError(
                f"Lightspeed refused client {self.client_id} at the token endpoint "
                f"({error or code}): check the connection's login (client id) and "
                f"password (client secret). {describe(response)}",
                response=response,
            )
        if code >= 300:
            raise FatalError(f"Lightspeed token endpoint: {describe(response)}", response=response)
        try:
            body = response.json()
            access = str(body["access_token"])
            expires_in = float(body.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalError(
                "Lightspeed token endpoint answered without an access_token", response=response
            ) from exc
        refresh = str(body.get("refresh_token") or stale.refresh_token)
        return TokenSet(access, refresh, issued_at + expires_in)
