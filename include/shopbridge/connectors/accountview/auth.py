"""OAuth2 for AccountView.net: the refresh-token grant, on the kit's shared token store.

A long-lived refresh token (from the app's one-time authorization-code consent) is
exchanged at ``POST /api/v3/token`` (form-encoded, ``grant_type=refresh_token`` with
``client_id``/``client_secret``, and ``redirect_uri`` when the app registered one) for a
bearer token [S]. ASSUMPTION [U]: AccountView keeps the refresh token valid across uses;
when an answer does carry a new one (the sandbox's ``rotate_refresh_token``), the old one
may be dead, so the pair lives in the kit's :class:`RefreshTokenStore` like every rotating
vendor's (the ledger database when the hook builds the client): the next task, and a
worker after a restart, start from the newest token instead of the Connection's.

The grant classifies its own failures: ``invalid_grant`` is a refused refresh token
(re-consent the app), ``invalid_client`` or any 401 the client id and secret, 429/5xx a
``RetriableError`` (the client's retry policy takes over).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import httpx

from shopbridge.connectors._kit.http import describe, parse_retry_after
from shopbridge.connectors._kit.tokens import (
    InMemoryRefreshTokenStore,
    RefreshRefused,
    RefreshTokenStore,
    RotatingTokenAuth,
    TokenSet,
    token_key,
)
from shopbridge.errors import AuthError, FatalError, RetriableError

log = logging.getLogger(__name__)

SYSTEM = "accountview"
#: a token is renewed this many seconds before AccountView says it expires
TOKEN_SKEW_S = 60.0
#: ASSUMPTION [U]: the token lives an hour when ``expires_in`` is missing
DEFAULT_TOKEN_TTL_S = 3600.0


def _json(resp: httpx.Response) -> object:
    try:
        return resp.json() if resp.content else None
    except ValueError:
        return None


class AccountViewGrant:
    """AccountView's refresh-token grant: client id and secret in the form."""

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, redirect_uri: str = ""
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri

    def __repr__(self) -> str:  # never show the secret
        return f"AccountViewGrant({self.token_url!r}, client_id={self.client_id!r})"

    def request(self, refresh_token: str) -> httpx.Request:
        """The refresh-token grant, form-encoded."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self.redirect_uri:
            form["redirect_uri"] = self.redirect_uri
        return httpx.Request(
            "POST", self.token_url, data=form, headers={"Accept": "application/json"}
        )

    def parse(self, resp: httpx.Response, refresh_token: str, issued_at: float) -> TokenSet:
        """The token from a token answer, or what its failure means."""
        body = _json(resp)
        if resp.status_code in (400, 401, 403):
            code = body.get("error") if isinstance(body, Mapping) else None
            if code == "invalid_grant":
                raise RefreshRefused(
                    f"{describe(resp)} (the refresh token was refused and no worker stored a "
                    "newer one: a revoked or expired one needs a new consent of the app, "
                    "stored in the connection's extra.refresh_token)",
                    response=resp,
                )
            if code == "invalid_client" or resp.status_code == 401:
                what = (
                    "the client id and secret were refused: check the connection's login "
                    "(client id) and password (client secret)"
                )
            else:
                what = f"the token request was refused ({code or 'no reason given'})"
            raise AuthError(f"{describe(resp)} ({what})", response=resp)
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetriableError(describe(resp), response=resp, retry_after=parse_retry_after(resp))
        if resp.status_code >= 300:
            raise FatalError(describe(resp), response=resp)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(body, Mapping) or not isinstance(token, str) or not token:
            raise FatalError(
                f"{describe(resp)}: the token answer has no access_token", response=resp
            )
        try:
            ttl = float(body.get("expires_in") or DEFAULT_TOKEN_TTL_S)
        except (TypeError, ValueError):
            ttl = DEFAULT_TOKEN_TTL_S
        new = body.get("refresh_token")
        rotated = new if isinstance(new, str) and new else refresh_token
        return TokenSet(token, rotated, issued_at + ttl)


class AccountViewAuth(RotatingTokenAuth):
    """Bearer token from the shared store; refreshed before expiry and once on a 401."""

    def __init__(
        self,
        token_url: str,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        redirect_uri: str = "",
        store: RefreshTokenStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_refresh_token: Callable[[str], None] | None = None,
    ) -> None:
        """``store``: where the pair lives (default: this object's memory only);
        ``on_refresh_token`` gets each new refresh token AccountView issues."""
        self._on_refresh_token = on_refresh_token
        super().__init__(
            AccountViewGrant(token_url, client_id, client_secret, redirect_uri),
            refresh_token=refresh_token,
            store=store if store is not None else InMemoryRefreshTokenStore(),
            key=token_key(SYSTEM, client_id, refresh_token),
            vendor="AccountView.net",
            clock=clock,
            sleep=sleep,
            skew_s=TOKEN_SKEW_S,
            on_rotated=self._rotated,
        )
        self.token_url = token_url

    def _rotated(self, token: str) -> None:
        log.info(
            "AccountView.net issued a new refresh token (%s); it is kept in the store", self.key
        )
        if self._on_refresh_token is not None:
            self._on_refresh_token(token)
