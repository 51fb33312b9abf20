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

import httpx

from shopbridge.connectors._kit.grants import RefreshGrant
from shopbridge.connectors._kit.http import describe
from shopbridge.connectors._kit.tokens import RefreshRefused
from shopbridge.errors import AuthError

SYSTEM = "accountview"


class AccountViewGrant(RefreshGrant):
    """AccountView's refresh-token grant: client id and secret in the form, and the app's
    ``redirect_uri`` when it registered one. ASSUMPTION [U]: the token lives an hour when
    ``expires_in`` is missing."""

    vendor = "AccountView.net"
    system = SYSTEM

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, redirect_uri: str = ""
    ) -> None:
        super().__init__(token_url, client_id, client_secret)
        self.redirect_uri = redirect_uri

    def form(self, refresh_token: str) -> dict[str, str]:
        """The refresh-token grant, with ``redirect_uri`` as the OAuth flow requires."""
        form = super().form(refresh_token)
        if self.redirect_uri:
            form["redirect_uri"] = self.redirect_uri
        return form

    def refusal(self, response: httpx.Response, error: str, description: str) -> AuthError | None:
        """``invalid_grant`` is a refused refresh token; ``invalid_client`` or a 401 the
        client id and secret; any other 400/403 a refused request."""
        if response.status_code not in (400, 401, 403):
            return None
        if error == "invalid_grant":
            return RefreshRefused(
                f"{describe(response)} (the refresh token was refused and no worker stored a "
                "newer one: a revoked or expired one needs a new consent of the app, "
                "stored in the connection's extra.refresh_token)",
                response=response,
            )
        if error == "invalid_client" or response.status_code == 401:
            what = (
                "the client id and secret were refused: check the connection's login "
                "(client id) and password (client secret)"
            )
        else:
            what = f"the token request was refused ({error or 'no reason given'})"
        return AuthError(f"{describe(response)} ({what})", response=response)
