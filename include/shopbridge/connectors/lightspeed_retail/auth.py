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
* The store row's key: :data:`SYSTEM`, the client id and the seed's hash (the kit's
  :func:`~shopbridge.connectors._kit.tokens.token_key`).
"""

from __future__ import annotations

from typing import Unpack

import httpx

from shopbridge.connectors._kit.grants import RefreshGrant
from shopbridge.connectors._kit.http import describe
from shopbridge.connectors._kit.tokens import RefreshRefused, RefreshTokenStore, Timing
from shopbridge.connectors._kit.tokens import RotatingTokenAuth as KitRotatingTokenAuth
from shopbridge.errors import AuthError

SYSTEM = "lightspeed_retail"
#: The vendor's token endpoint; the API itself lives on api.lightspeedapp.com.
DEFAULT_TOKEN_URL = "https://cloud.lightspeedapp.com/auth/oauth/token"  # noqa: S105 - a URL
#: how long a refused refresh token makes the auth wait for a successor in the store (a
#: worker whose lease ran out may be storing one right now)
GRACE_S = 3.0


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


class LightspeedGrant(RefreshGrant):
    """Lightspeed's refresh-token grant (client id and secret in the form). An answer
    without ``expires_in`` expires at once (the vendor always sends it [V])."""

    vendor = "Lightspeed"
    system = SYSTEM
    default_ttl_s = 0.0

    def refusal(self, response: httpx.Response, error: str, description: str) -> AuthError | None:
        """``invalid_grant``/``invalid_request`` on a 400/401: the refresh token was used
        or revoked; any other 400/401: the client id or secret."""
        code = response.status_code
        if code not in (400, 401):
            return None
        if error in ("invalid_grant", "invalid_request"):
            return RefreshRefused(
                f"Lightspeed refused the refresh token of client {self.client_id} "
                f"({error}): it was used or revoked and no worker stored a newer one. "
                "Re-authorize the app and put the new refresh token in the connection's "
                "extra.refresh_token.",
                response=response,
            )
        return AuthError(
            f"Lightspeed refused client {self.client_id} at the token endpoint "
            f"({error or code}): check the connection's login (client id) and "
            f"password (client secret). {describe(response)}",
            response=response,
        )


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
        **timing: Unpack[Timing],
    ) -> None:
        """``refresh_token`` is the Connection's (it seeds the store); ``grace_s``
        defaults to :data:`GRACE_S`."""
        timing.setdefault("grace_s", GRACE_S)
        grant = LightspeedGrant(token_url, client_id, client_secret)
        super().__init__(
            grant,
            refresh_token=refresh_token,
            key=key or grant.key(refresh_token),
            vendor="Lightspeed",
            store=store,
            rejected=access_token_rejected,
            **timing,
        )
