"""Status classification, Retry-After parsing and the retry loop shared by all clients.

The vendors differ in where they put errors, but the decision "retry or not" is the same
everywhere (Singer SDK's ``validate_response``): 429 and 5xx and transport errors are
retried with full-jitter exponential backoff, honouring ``Retry-After``; 401/403 are auth
errors; any other 4xx is fatal. A client whose vendor reports errors inside a 200 body
passes its own ``check`` to :func:`send`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, Self

import httpx

from shopbridge.connectors.base import CallCounter
from shopbridge.errors import AuthError, FatalError, RetriableError

log = logging.getLogger(__name__)

MAX_BODY_IN_MESSAGE = 500


def describe(resp: httpx.Response) -> str:
    """Method, path (no query: it may hold secrets), status and a bounded body excerpt."""
    req = resp.request
    body = resp.text[:MAX_BODY_IN_MESSAGE] if resp.content else ""
    return f"{req.method} {req.url.path} -> {resp.status_code} {body}".strip()


def parse_retry_after(resp: httpx.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` given as seconds or as an HTTP date."""
    raw = resp.headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify(resp: httpx.Response) -> None:
    """Raise the matching error for a failed response; return for a success."""
    code = resp.status_code
    if code == 429 or code >= 500:
        raise RetriableError(describe(resp), response=resp, retry_after=parse_retry_after(resp))
    if code in (401, 403):
        raise AuthError(describe(resp), response=resp)
    if code >= 400:
        raise FatalError(describe(resp), response=resp)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a client keeps trying before it hands the problem to Airflow's task retries.

    The client retries for seconds; longer outages are the task's ``retries`` business.
    """

    attempts: int = 5
    base: float = 0.5
    max_wait: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, err: Exception) -> float:
        """Retry-After when the vendor gave one (clamped), else full-jitter backoff."""
        if isinstance(err, RetriableError) and err.retry_after is not None:
            return min(err.retry_after, self.max_wait)
        return random.uniform(0, min(self.max_wait, self.base * 2**attempt))  # noqa: S311


#: what a client call may send again: everything transient, only after a 429 (a creating
#: POST the vendor refused before doing anything), or nothing
RetryOn = Literal["all", "rate_limit", "none"]
RETRY_MODES: dict[str, bool | Literal["rate_limit"]] = {
    "all": True,
    "rate_limit": "rate_limit",
    "none": False,
}


def send(
    http: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    counter: CallCounter,
    retry: bool | Literal["rate_limit"] = True,
    check: Callable[[httpx.Response], None] = classify,
    prepare: Callable[[httpx.Request], None] | None = None,
) -> httpx.Response:
    """Send ``request``; retry what is transient unless ``retry`` is False.

    ``retry=False`` is for creating POSTs without an idempotency key: a timeout can hide a
    success, so the caller must look the record up before trying again (STYLE R6).
    ``retry="rate_limit"`` sends such a POST again only after a 429 (the vendor refused
    it before doing anything). ``prepare`` runs before every attempt: pacing, and a
    signature that must carry the attempt's own date.
    """
    attempt = 0
    while True:
        if prepare is not None:
            prepare(request)
        counter.calls += 1
        try:
            resp = http.send(request)
            check(resp)
            return resp
        except httpx.TransportError as exc:
            err: Exception = RetriableError(
                f"{request.method} {request.url.path}: {type(exc).__name__}: {exc}"
            )
            err.__cause__ = exc
        except RetriableError as exc:
            err = exc
        attempt += 1
        limited = (
            isinstance(err, RetriableError)
            and err.response is not None
            and err.response.status_code == 429
        )
        if not (retry is True or (retry == "rate_limit" and limited)) or attempt >= policy.attempts:
            raise err
        wait = policy.delay(attempt, err)
        counter.retries += 1
        log.warning(
            "retrying %s %s in %.1fs (attempt %d/%d): %s",
            request.method,
            request.url.path,
            wait,
            attempt + 1,
            policy.attempts,
            str(err)[:200],
        )
        policy.sleep(wait)


class PooledClient:
    """The connection-pool lifecycle every vendor client shares.

    A client closes the pool it created, never one it was given (a test's ``TestClient``
    or a pool shared by the caller stays the caller's); it is a context manager; and it
    closes its own pool when garbage-collected, as a safety net for a task that forgot to
    (a leaked socket is a ``ResourceWarning``, an error under the project's filterwarnings).
    """

    _owned_pool: httpx.Client | None = None

    def _pool(
        self,
        http: httpx.Client | None,
        *,
        timeout: httpx.Timeout | float,
        auth: httpx.Auth | None = None,
    ) -> httpx.Client:
        """The pool requests go through: ``http`` when given (it gets ``auth``), else a
        new one this client owns."""
        if http is None:
            http = self._owned_pool = httpx.Client(auth=auth, timeout=timeout)
        elif auth is not None:
            http.auth = auth
        return http

    def close(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owned_pool is not None:
            self._owned_pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        pool = getattr(self, "_owned_pool", None)
        if pool is not None:
            pool.close()
