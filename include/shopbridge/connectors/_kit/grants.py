"""The OAuth2 refresh-token grant (RFC 6749 §6) as the rotating vendors speak it.

Fortnox, AccountView.net and Lightspeed Retail all POST a form with
``grant_type=refresh_token`` and read ``{access_token, expires_in, refresh_token}`` back;
429 and 5xx are worth another try, any other failure is not. What differs is where the
client's id and secret go (HTTP Basic or the form: RFC 6749 §2.3.1), a field or two more in
the form, how long a token lives when the answer does not say, and above all which
refusal means "the refresh token is dead, a person must authorise the app again" rather
than "the client id and secret are wrong". A vendor's grant subclasses
:class:`RefreshGrant` and states only those (:meth:`RefreshGrant.refusal` for the last).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import ClassVar, Literal

import httpx

from shopbridge.connectors._kit.http import describe, parse_retry_after
from shopbridge.connectors._kit.tokens import token_key
from shopbridge.errors import AuthError, FatalError, RetriableError
from shopbridge.store.tokens import TokenSet

#: where the client authenticates: ``Authorization: Basic`` or ``client_id``/
#: ``client_secret`` in the form (``client_secret_basic``/``client_secret_post``)
ClientAuth = Literal["basic", "form"]


def oauth_error(response: httpx.Response) -> tuple[str, str]:
    """``(error, error_description)`` of an OAuth error body (RFC 6749 §5.2); empty
    strings for what it does not carry (or a body that is not one)."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        return "", ""
    if not isinstance(body, Mapping):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")


class RefreshGrant:
    """One vendor's refresh-token grant: the token request, and what its answer means.

    Satisfies :class:`~shopbridge.connectors._kit.tokens.TokenGrant`.
    """

    #: the vendor's name in messages
    vendor: ClassVar[str] = "the vendor"
    #: the system's name in the store's keys (:func:`~shopbridge.connectors._kit.tokens.token_key`)
    system: ClassVar[str]
    client_auth: ClassVar[ClientAuth] = "form"
    #: seconds an access token lives when the answer has no usable ``expires_in``
    default_ttl_s: ClassVar[float] = 3600.0

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:  # never show the secret
        return f"{type(self).__name__}({self.token_url!r}, client_id={self.client_id!r})"

    def key(self, initial_refresh_token: str) -> str:
        """The store row of the authorization ``initial_refresh_token`` started."""
        return token_key(self.system, self.client_id, initial_refresh_token)

    def form(self, refresh_token: str) -> dict[str, str]:
        """The form spending ``refresh_token``."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.client_auth == "form":
            form |= {"client_id": self.client_id, "client_secret": self._client_secret}
        return form

    def request(self, refresh_token: str) -> httpx.Request:
        """``POST`` the form to the token endpoint."""
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            pair = base64.b64encode(f"{self.client_id}:{self._client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        return httpx.Request("POST", self.token_url, data=self.form(refresh_token), headers=headers)

    def refusal(self, response: httpx.Response, error: str, description: str) -> AuthError | None:
        """What a 4xx other than 429 means, in the vendor's words: a
        :class:`~shopbridge.connectors._kit.tokens.RefreshRefused` for a refused refresh
        token, an :class:`AuthError` for refused client credentials; ``None`` leaves the
        answer to the generic rule (a :class:`FatalError`)."""
        return None

    def parse(self, response: httpx.Response, refresh_token: str, issued_at: float) -> TokenSet:
        """The new pair (``refresh_token`` stays when the answer names no new one), or the
        error saying what to do about the answer."""
        code = response.status_code
        if code == 429 or code >= 500:
            raise RetriableError(
                f"{self.vendor} token endpoint: {describe(response)}",
                response=response,
                retry_after=parse_retry_after(response),
            )
        if code >= 400:
            refused = self.refusal(response, *oauth_error(response))
            if refused is not None:
                raise refused
        if code >= 300:
            raise FatalError(
                f"{self.vendor} token endpoint: {describe(response)}", response=response
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        access = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(body, Mapping) or not isinstance(access, str) or not access:
            raise FatalError(
                f"{self.vendor} token endpoint answered without an access_token: "
                f"{describe(response)[:200]}",
                response=response,
            )
        try:
            ttl = float(body.get("expires_in") or self.default_ttl_s)
        except (TypeError, ValueError):
            ttl = self.default_ttl_s
        new = body.get("refresh_token")
        rotated = new if isinstance(new, str) and new else refresh_token
        return TokenSet(access, rotated, issued_at + ttl)
