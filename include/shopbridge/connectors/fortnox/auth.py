"""OAuth2 for Fortnox: the refresh-token grant, on the kit's shared rotating-token store.

API calls carry ``Authorization: Bearer <access token>``; the token comes from
``POST {auth_url}/oauth-v1/token`` (HTTP Basic with client id and secret, form body
``grant_type=refresh_token&refresh_token=...``) [V]. Every refresh returns a new refresh
token, and (ASSUMPTION [U]; the sandbox's ``single_use_refresh_tokens``) the one spent may
die with it. So the pair lives in the kit's :class:`RefreshTokenStore`: the ledger
database when the hook builds the client, which every task and every worker after a
restart reads; a lease lets one worker refresh at a time and a compare-and-swap keeps a
single-use token from being spent twice (:mod:`shopbridge.connectors._kit.tokens`).

The rotating flow itself is the kit's :class:`RotatingTokenAuth` (built by the client,
a :class:`~shopbridge.connectors._kit.client.TokenClient`); what is Fortnox's is
:class:`FortnoxGrant`: Basic client auth, and which refusal means which.
"""

from __future__ import annotations

import httpx

from shopbridge.connectors._kit.grants import RefreshGrant
from shopbridge.connectors._kit.tokens import RefreshRefused
from shopbridge.errors import AuthError

SYSTEM = "fortnox"
TOKEN_PATH = "/oauth-v1/token"  # noqa: S105 - a path, not a secret


class RefreshTokenRejected(RefreshRefused):
    """The token endpoint refused the refresh token (``invalid_grant``) and no worker
    stored a newer one: only a person can authorise the integration again."""


class FortnoxGrant(RefreshGrant):
    """Fortnox's refresh-token grant: Basic client auth, the refresh token in the form.
    ASSUMPTION [U]: the access token lives an hour when ``expires_in`` is missing."""

    vendor = "Fortnox"
    system = SYSTEM
    client_auth = "basic"

    def refusal(self, response: httpx.Response, error: str, description: str) -> AuthError | None:
        """A 400 not naming the client is a refused refresh token (used, revoked or past its
        lifetime): :class:`RefreshTokenRejected`; any other 400/401/403 refused the client
        id and secret."""
        code = response.status_code
        if code not in (400, 401, 403):
            return None
        reason = ": ".join(x for x in (error, description) if x) or f"status {code}"
        if code == 400 and "client" not in reason:
            return RefreshTokenRejected(
                f"POST {TOKEN_PATH} -> 400: Fortnox refused the refresh token ({reason}): "
                "it was used already, revoked or is past its lifetime, and no worker "
                "stored a newer one; authorise the integration again",
                response=response,
            )
        return AuthError(
            f"POST {TOKEN_PATH} -> {code}: Fortnox refused the client id/secret ({reason})",
            response=response,
        )
