"""OAuth2 for Fortnox: the refresh-token grant, on the kit's shared rotating-token store.

API calls carry ``Authorization: Bearer <access token>``; the token comes from
``POST {auth_url}/oauth-v1/token`` (HTTP Basic with client id and secret, form body
``grant_type=refresh_token&refresh_token=...``) [V]. Every refresh returns a new refresh
token, and (ASSUMPTION [U]; the sandbox's ``single_use_refresh_tokens``) the one spent may
die with it. So the pair lives in the kit's :class:`RefreshTokenStore`: the ledger
database when the hook builds the client, which every task and every worker after a
restart reads; a lease lets one worker refresh at a time and a compare-and-swap keeps a
single-use token from being spent twice (:mod:`shopbridge.connectors._kit.tokens`).

:class:`FortnoxAuth` is also the place every API request passes right before it is sent,
so the client's pacer runs there and sees retries and the re-send after a 401 as well.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping

import httpx

from shopbridge.connectors._kit.http import CallCounter, classify, describe
from shopbridge.connectors._kit.pacing import SlidingWindow
from shopbridge.connectors._kit.tokens import (
    InMemoryRefreshTokenStore,
    RefreshRefused,
    RefreshTokenStore,
    RotatingTokenAuth,
    TokenSet,
    token_key,
)
from shopbridge.errors import AuthError, FatalError

SYSTEM = "fortnox"
TOKEN_PATH = "/oauth-v1/token"  # noqa: S105 - a path, not a secret
#: refresh the access token this long before Fortnox says it expires
TOKEN_EXPIRY_SKEW_S = 60.0
#: ASSUMPTION [U]: the access token lives an hour when ``expires_in`` is missing
DEFAULT_TOKEN_TTL_S = 3600.0


class RefreshTokenRejected(RefreshRefused):
    """The token endpoint refused the refresh token (``invalid_grant``) and no worker
    stored a newer one: only a person can authorise the integration again."""


def _oauth_error(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    if not isinstance(body, Mapping):
        return ""
    error, text = body.get("error"), body.get("error_description")
    return ": ".join(str(x) for x in (error, text) if x)


class FortnoxGrant:
    """Fortnox's refresh-token grant: Basic client auth, the refresh token in the form."""

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = f"Basic {basic}"

    def __repr__(self) -> str:  # never show the secret
        return f"FortnoxGrant({self.token_url!r})"

    def request(self, refresh_token: str) -> httpx.Request:
        """``POST /oauth-v1/token`` spending ``refresh_token``."""
        return httpx.Request(
            "POST",
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            headers={"Authorization": self._basic, "Accept": "application/json"},
        )

    def parse(self, resp: httpx.Response, refresh_token: str, issued_at: float) -> TokenSet:
        """The new pair; ``invalid_grant`` (a used, revoked or expired refresh token) is
        :class:`RefreshTokenRejected`, ``invalid_client`` an :class:`AuthError`."""
        if resp.status_code in (400, 401, 403):
            reason = _oauth_error(resp) or f"status {resp.status_code}"
            if resp.status_code == 400 and "client" not in reason:
                raise RefreshTokenRejected(
                    f"POST {TOKEN_PATH} -> 400: Fortnox refused the refresh token ({reason}): "
                    "it was used already, revoked or is past its lifetime, and no worker "
                    "stored a newer one; authorise the integration again",
                    response=resp,
                )
            raise AuthError(
                f"POST {TOKEN_PATH} -> {resp.status_code}: Fortnox refused the "
                f"client id/secret ({reason})",
                response=resp,
            )
        classify(resp)
        try:
            body = resp.json()
            access = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise FatalError(
                f"{describe(resp)[:200]}: no access_token in the token response", response=resp
            ) from None
        try:
            ttl = float(body.get("expires_in") or DEFAULT_TOKEN_TTL_S)
        except (TypeError, ValueError):
            ttl = DEFAULT_TOKEN_TTL_S
        return TokenSet(access, str(body.get("refresh_token") or refresh_token), issued_at + ttl)


class FortnoxAuth(RotatingTokenAuth):
    """Bearer token from the shared store; refreshed before expiry and once on a 401, the
    pacer consulted before every API request."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        store: RefreshTokenStore | None = None,
        pacer: SlidingWindow | None = None,
        counter: CallCounter | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``store``: where the pair lives (default: this object's memory only, which a
        Fortnox enforcing single use turns into a lockout at the next task); ``clock``:
        wall-clock seconds (expiries are compared across processes)."""
        self.pacer = pacer
        self.counter = counter
        super().__init__(
            FortnoxGrant(token_url, client_id, client_secret),
            refresh_token=refresh_token,
            store=store if store is not None else InMemoryRefreshTokenStore(),
            key=token_key(SYSTEM, client_id, refresh_token),
            vendor="Fortnox",
            clock=clock,
            sleep=sleep,
            skew_s=TOKEN_EXPIRY_SKEW_S,
            before_send=self._pace,
            on_resend=self._count_resend,
        )
        self.token_url = token_url

    def _pace(self, request: httpx.Request) -> None:
        if self.pacer is not None:
            self.pacer.acquire(self.sleep, f"{request.method} {request.url.path}")

    def _count_resend(self) -> None:
        if self.counter is not None:
            self.counter.calls += 1
            self.counter.retries += 1
