"""OAuth2 for Lightspeed Retail: short-lived access tokens, rotating refresh tokens.

The flow is the kit's :class:`~shopbridge.connectors._kit.tokens.RotatingTokenAuth` over
the shared store (lease, re-read, refresh, compare-and-swap; see there for why). What is
Lightspeed's:

* The token request and its answer (:class:`LightspeedGrant`), after the vendor's
  refresh-token page [V]: ``grant_type=refresh_token, refresh_token, client_id,
  client_secret`` -> ``{"token_type","expires_in","access_token","refresh_token"}``.
  ``invalid_grant`` for a refresh token means it was used or revoked; a wrong client
  id/secret is an ``AuthError`` naming the login and password; 429/5xx are
  ``RetriableError`` (the client's retry policy takes over).
* Which 401 a fresh access token may cure (:func:`access_token_rejected`): the OAuth
  ``access_denied`` body ("Access token could not be verified" / "... has been revoked")
  or none at all.
* The store row's key (:func:`~.tokens.token_key`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from shopbridge.connectors._kit.http import describe, parse_retry_after
from shopbridge.connectors._kit.tokens import RefreshRefused, RefreshTokenStore, TokenSet
from shopbridge.connectors._kit.tokens import RotatingTokenAuth as KitRotatingTokenAuth
from shopbridge.connectors.lightspeed_retail.tokens import token_key
from shopbridge.errors import AuthError, FatalError, RetriableError

#: The vendor's token endpoint; the API itself lives on api.lightspeedapp.com.
DEFAULT_TOKEN_URL = "https://cloud.lightspeedapp.com/auth/oauth/token"  # noqa: S105 - a URL


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


class LightspeedGrant:
    """Lightspeed's refresh-token grant (client id and secret in the form)."""

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:  # never show the secret
        return f"LightspeedGrant({self.token_url!r}, client_id={self.client_id!r})"

    def request(self, refresh_token: str) -> httpx.Request:
        """``POST`` the form to the token endpoint."""
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

    def parse(self, response: httpx.Response, refresh_token: str, issued_at: float) -> TokenSet:
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
            raise RefreshRefused(
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
        refresh = str(body.get("refresh_token") or refresh_token)
        return TokenSet(access, refresh, issued_at + expires_in)


class RotatingTokenAuth(KitRotatingTokenAuth):
    """The kit's rotating-token auth with Lightspeed's grant, key and 401 test."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        store: RefreshTokenStore,
        key: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        skew_s: float = 60.0,
        lease_s: float = 30.0,
        wait_s: float = 45.0,
        poll_s: float = 0.05,
        grace_s: float = 3.0,
    ) -> None:
        """``refresh_token`` is the Connection's (it seeds the store). ``grace_s``: how
        long a refused refresh token makes it wait for a successor in the store (a worker
        whose lease ran out may be storing one right now)."""
        super().__init__(
            LightspeedGrant(token_url, client_id, client_secret),
            refresh_token=refresh_token,
            store=store,
            key=key or token_key(client_id, refresh_token),
            vendor="Lightspeed",
            clock=clock,
            sleep=sleep,
            skew_s=skew_s,
            lease_s=lease_s,
            wait_s=wait_s,
            poll_s=poll_s,
            grace_s=grace_s,
            rejected=access_token_rejected,
        )
        self.token_url = token_url
        self.client_id = client_id
