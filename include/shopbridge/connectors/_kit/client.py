"""The request plumbing of a JSON REST client: build, pace, send, classify, parse, page.

A vendor client says only what differs (STYLE R5: one place a status becomes an error):
its URLs (:meth:`JsonClient._url`), how a body is serialised, what runs before every
attempt (pacing, a signature that must carry the attempt's own date), and its status
rules. Sending, retrying (:func:`~shopbridge.connectors._kit.http.send`), reading JSON,
walking a paginator's pages, building a client from its validated settings
(:meth:`JsonClient.from_settings`) and, for the vendors whose refresh tokens rotate, the
auth over the shared token store (:class:`TokenClient`) are the same for every vendor and
live here.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self, TypedDict, Unpack

import httpx
from pydantic import BaseModel, SecretStr

from shopbridge.connectors._kit.grants import RefreshGrant
from shopbridge.connectors._kit.http import (
    RETRY_MODES,
    PooledClient,
    RetryOn,
    RetryPolicy,
    classify,
    describe,
    parse_retry_after,
    send,
)
from shopbridge.connectors._kit.pages import Items, Page, Paginator, paged
from shopbridge.connectors._kit.tokens import RefreshTokenStore, RotatingTokenAuth
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import FatalError, RetriableError

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=3.0)


def json_of(resp: httpx.Response) -> Any:
    """The parsed JSON of ``resp`` (``None`` for an empty body); a body that is not JSON is
    a :class:`FatalError`: a success we cannot read is no success."""
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError as exc:
        req = resp.request
        raise FatalError(
            f"{req.method} {req.url.path}: response is not JSON", response=resp
        ) from exc


def classify_with(resp: httpx.Response, message: Callable[[httpx.Response], str]) -> None:
    """:func:`~shopbridge.connectors._kit.http.classify`, re-raised with the vendor's own
    words for the failure (``message``): same class, same ``retry_after``."""
    if resp.status_code < 400:
        return
    try:
        classify(resp)
    except RetriableError as err:
        raise RetriableError(message(resp), response=resp, retry_after=err.retry_after) from None
    except FatalError as err:
        raise type(err)(message(resp), response=resp) from None


def error_in_body(resp: httpx.Response, key: str, said: str = "") -> None:
    """Fail a success whose JSON body carries a top-level ``key`` (vendors that answer an
    error with 200), or whose body is not JSON at all; ``said`` leads the message."""
    if not resp.content:
        return
    try:
        body = resp.json()
    except ValueError as exc:
        raise FatalError(f"not JSON: {describe(resp)}", response=resp) from exc
    if isinstance(body, Mapping) and key in body:
        raise FatalError(
            f"{said}error in a {resp.status_code} body: {describe(resp)}", response=resp
        )


def rate_limited(
    resp: httpx.Response, message: str, until_free: Callable[[], float]
) -> RetriableError:
    """The error for a 429: retried after ``Retry-After``, or, when the vendor sends none
    [U], after ``until_free()`` (the client's own window: when its oldest request of the
    window leaves it), at least a second."""
    wait = parse_retry_after(resp)
    if wait is None:
        wait = max(1.0, until_free())
    return RetriableError(message, response=resp, retry_after=wait)


def settings_kwargs(settings: BaseModel, build: Callable[..., object]) -> dict[str, Any]:
    """The fields of ``settings`` that ``build`` takes by the same name, secrets revealed
    (the one place a Connection's secrets leave ``SecretStr`` on the way to a client)."""
    takes = inspect.signature(build).parameters
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name in type(settings).model_fields
        if name in takes
        for value in [getattr(settings, name)]
    }


class Transport(TypedDict, total=False):
    """How a client reaches its vendor: what the hook or a test gives, not the settings."""

    #: an injected pool (Starlette's TestClient in tests): it gets the client's auth set,
    #: and stays open when the client closes
    http: httpx.Client | None
    #: default: ``RetryPolicy()``
    policy: RetryPolicy
    #: default: a new one
    counter: CallCounter | None


class SendOptions(TypedDict, total=False):
    """What one call may say besides its method and path."""

    params: Mapping[str, Any] | None
    body: Any
    #: ``RetryOn``, or a bool for everything-or-nothing
    retry: RetryOn | bool


class JsonClient(PooledClient):
    """Paced, retried JSON calls. A vendor client subclasses it; its constructor sets
    ``base_url`` (and ``timeout`` when not the default), takes :class:`Transport` on to
    :meth:`_connect`, and names its parameters after its settings' fields
    (:meth:`from_settings`)."""

    base_url: str
    _http: httpx.Client
    policy: RetryPolicy
    counter: CallCounter
    timeout: httpx.Timeout = DEFAULT_TIMEOUT
    #: the ``Accept`` header of every request
    accept: str = "application/json"

    def _connect(
        self,
        auth: httpx.Auth | None = None,
        *,
        http: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
    ) -> None:
        """The retry policy, the call counter, and the pool every call goes through, with
        ``auth`` on it (``timeout`` set by then)."""
        self.policy = policy if policy is not None else RetryPolicy()
        self.counter = counter if counter is not None else CallCounter()
        self._http = self._pool(http, auth=auth, timeout=self.timeout)

    @classmethod
    def from_settings(cls, settings: BaseModel, **kwargs: Any) -> Self:
        """Build from validated settings (the hook's path): each field the constructor
        takes by name (:func:`settings_kwargs`), ``kwargs`` (``http=``, a test's clock, the
        hook's token store) on top."""
        return cls(**{**settings_kwargs(settings, cls), **kwargs})

    def __repr__(self) -> str:  # never show the credentials
        return f"{type(self).__name__}({self.base_url!r})"

    def _url(self, path: str) -> str:
        """The absolute URL of an API ``path``."""
        raise NotImplementedError

    def _dumps(self, body: Any) -> bytes:
        """The one serialisation of a request body."""
        return json.dumps(body, separators=(",", ":")).encode()

    def _headers(self) -> dict[str, str]:
        """The headers of every request (a body adds its ``Content-Type``)."""
        return {"Accept": self.accept}

    def _prepare(self, method: str, request: httpx.Request) -> None:
        """Runs before every attempt (a retry too): pacing, authentication, signing."""

    def _check(self, resp: httpx.Response) -> None:
        """The one place a status becomes an error."""
        classify(resp)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        retry: RetryOn | bool = "all",
    ) -> httpx.Response:
        """One API call: prepared per attempt, classified, retried as ``retry`` allows; a
        parameter whose value is ``None`` is left out.

        ``retry="rate_limit"`` is for creating POSTs (STYLE R6): only a 429 is sent again,
        since the vendor refused it before doing anything; a timeout or a 5xx could hide a
        success, so the caller looks the record up instead.
        """
        content = self._dumps(body) if body is not None else None
        headers = self._headers()
        if content is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method,
            self._url(path),
            params={k: v for k, v in params.items() if v is not None} if params else None,
            content=content,
            headers=headers,
            timeout=self.timeout,
        )
        return send(
            self._http,
            request,
            policy=self.policy,
            counter=self.counter,
            retry=retry if isinstance(retry, bool) else RETRY_MODES[retry],
            check=self._check,
            prepare=lambda req: self._prepare(method, req),
        )

    def request(self, method: str, path: str, **options: Unpack[SendOptions]) -> Any:
        """:meth:`send`, returning the parsed JSON (``None`` for an empty body)."""
        return json_of(self.send(method, path, **options))

    def _iter_paged(
        self,
        path: str,
        pager: Paginator,
        items_of: Callable[[httpx.Response], Items],
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of the list at ``path``: the pages ``pager`` names (its parameters on
        top of ``params``, or a link the server sent), their rows by ``items_of``."""

        def fetch(page: Page) -> httpx.Response:
            if page.url is not None:
                return self.send("GET", page.url)
            return self.send("GET", path, params={**(params or {}), **page.params})

        return paged(pager, fetch, items_of)


class TokenClient(JsonClient):
    """A :class:`JsonClient` whose bearer token rotates: the kit's
    :class:`~shopbridge.connectors._kit.tokens.RotatingTokenAuth` over the vendor's grant,
    whose store the client closes with its pool."""

    auth: RotatingTokenAuth

    def _rotating_auth(
        self,
        grant: RefreshGrant,
        refresh_token: str,
        *,
        store: RefreshTokenStore | None,
        clock: Callable[[], float] | None,
        token_clock: Callable[[], float] | None,
        on_rotated: Callable[[str], None] | None = None,
    ) -> RotatingTokenAuth:
        """The auth of this client (its waits sleep through ``policy``, set later).

        ``clock`` paces (monotonic by default) and, when given, also times the token (a
        test's fake clock drives both); ``token_clock`` is wall time by default, since the
        pair's expiry is compared by every worker sharing ``store``. :meth:`_pace` runs
        right before every API request, so a re-send after a refresh is paced too, and
        counted as a call and a retry.
        """
        return RotatingTokenAuth(
            grant,
            refresh_token=refresh_token,
            key=grant.key(refresh_token),
            vendor=grant.vendor,
            store=store,
            clock=token_clock or clock or time.time,
            sleep=self._sleep,
            before_send=self._pace,
            on_resend=self._count_resend,
            on_rotated=on_rotated,
        )

    def _pace(self, request: httpx.Request) -> None:
        """Wait, if need be, until ``request`` may go out."""

    def _sleep(self, seconds: float) -> None:
        self.policy.sleep(seconds)

    def _count_resend(self) -> None:
        self.counter.calls += 1
        self.counter.retries += 1

    def close(self) -> None:
        """Close the pool (if owned) and the token store's connections."""
        super().close()
        self.auth.store.close()

    @property
    def token_requests(self) -> int:
        """Token requests sent so far (not API calls: not in ``counter``)."""
        return self.auth.token_requests

    @property
    def refresh_token(self) -> str:
        """The newest refresh token (rotated on every refresh)."""
        return self.auth.refresh_token
