"""HTTP client for the Fortnox REST API (v3, plus the warehouse API), OAuth2 included.

Vendor quirks this module absorbs (VENDOR_APIS.md §5):

* **Auth.** API calls carry ``Authorization: Bearer <access token>`` from the
  refresh-token grant; refresh tokens rotate on every refresh and may be single-use
  (ASSUMPTION [U]). The kit's rotating-token auth over :class:`~.auth.FortnoxGrant` keeps
  the pair in the kit's shared
  :class:`~shopbridge.connectors._kit.tokens.RefreshTokenStore` (the ledger database when
  the hook builds the client; ``token_store=``), refreshes shortly before expiry and once
  on a 401; a second 401 is an :class:`AuthError`.
* **Rate limit: 25 requests per 5 s per access token, sliding window**, with no rate-limit
  headers documented [U]. The client therefore paces itself (the kit's
  :class:`~shopbridge.connectors._kit.pacing.SlidingWindow`): it
  remembers when it sent its last 25 requests and, before a 26th, waits until the oldest is
  ``window_s + margin_s`` old. A sustained sync runs just under the limit and meets no 429.
  Pacing happens inside the auth flow, so retries and the re-send after a 401 are paced
  too. A 429 (``ErrorInformation`` body) still happens when another process shares the
  token; it is retried, after ``Retry-After`` when sent, else after one whole window.
* **Paging.** ``page``/``limit`` (at most 500 [U]); each list carries
  ``MetaInformation`` ``{"@TotalResources", "@TotalPages", "@CurrentPage"}`` [V]
  (the kit's :class:`~shopbridge.connectors._kit.pages.MetaPages`), whose promises every
  page is held to: a page with fewer or more rows than promised fails loudly, naming the
  page.
* **Changed since.** ``lastmodified=yyyy-MM-dd HH:mm`` is Fortnox server time
  (ASSUMPTION [U]: Europe/Stockholm) and means "changed at or after"; there is no upper
  bound, and records carry no modification time. :meth:`FortnoxClient.iter_changed`
  therefore drops what also shows up as "changed since ``end``": a window reads
  ``[floor(start), floor(end))`` to the minute, and consecutive windows meet exactly.
* Errors: ``{"ErrorInformation": {"Error", "Message", "Code"}}`` on 404s and lower-case
  ``error/message/code`` on 400s [V] (:func:`error_information` reads both; the message
  leads every error raised); a 2xx body carrying it is treated as a failure too.

Methods use vendor terms and return raw JSON (STYLE R2).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Unpack

import httpx
from pydantic import Field, model_validator

from shopbridge.connectors._kit.client import TokenClient, Transport, classify_with, error_in_body
from shopbridge.connectors._kit.fields import time_zone
from shopbridge.connectors._kit.http import describe
from shopbridge.connectors._kit.pacing import SlidingWindow
from shopbridge.connectors._kit.pages import MetaPages, body_of, check_page_size, paged
from shopbridge.connectors._kit.settings import AppCredentials, ZoneName
from shopbridge.connectors._kit.tokens import RefreshTokenStore
from shopbridge.connectors.fortnox.auth import TOKEN_PATH, FortnoxGrant
from shopbridge.connectors.fortnox.auth import RefreshTokenRejected as RefreshTokenRejected
from shopbridge.errors import ConfigError, FatalError, RetriableError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.fortnox.se"
DEFAULT_AUTH_URL = "https://apps.fortnox.se"
STOCK_BALANCE_PATH = "/api/warehouse/status-v1/stockbalance"
STOCK_POINTS_PATH = "/api/warehouse/stockpoints-v1"
#: ASSUMPTION [U]: the vendor caps ``limit`` at 500
MAX_PAGE_SIZE = 500
#: the documented limit: 25 requests per 5 seconds per access token (sliding window)
RATE_LIMIT_REQUESTS = 25
RATE_LIMIT_WINDOW_S = 5.0
#: extra wait on top of the window: the server sees our requests a network hop later
DEFAULT_PACE_MARGIN_S = 0.2
#: ASSUMPTION [U]: ``lastmodified`` and dates are Fortnox server time (Swedish)
DEFAULT_TIMEZONE = "Europe/Stockholm"
LASTMODIFIED_FORMAT = "%Y-%m-%d %H:%M"
#: order actions (``PUT /3/orders/{n}/{action}``)
ORDER_ACTIONS = ("cancel", "createinvoice", "warehouseready", "externalprint")

#: the currency of article prices unless the Connection says otherwise: a Fortnox account
#: keeps its books, and its default price list, in SEK [U]. Orders never use it: each names
#: its own ``Currency`` [V].
DEFAULT_CURRENCY = "SEK"

StockMode = Literal["article", "warehouse"]


def lastmodified(value: datetime, tz_name: str = DEFAULT_TIMEZONE) -> str:
    """``value`` as Fortnox's ``lastmodified`` filter: server-local wall time, to the minute.

    Floored: the filter has minute resolution, and flooring start and end the same way
    keeps consecutive windows meeting exactly (see :meth:`FortnoxClient.iter_changed`).
    """
    if value.tzinfo is None:
        raise ConfigError(f"window bound {value!r} has no timezone")
    return value.astimezone(time_zone(tz_name)).strftime(LASTMODIFIED_FORMAT)


class FortnoxSettings(AppCredentials):
    """What a Connection holds for one Fortnox tenant; the hook fills it."""

    base_url: str = DEFAULT_BASE_URL
    #: where ``/oauth-v1/token`` lives; default: ``apps.fortnox.se`` for the real API,
    #: else the API's own host (a sandbox serves both)
    auth_url: str | None = None
    #: where stock levels come from: the article's own quantities, or the warehouse
    #: module's balances per stock point
    stock: StockMode = "article"
    #: warehouse mode: the stock point whose balance is the level (``on_hand``); empty:
    #: the sum over all stock points (each one is reported under ``locations`` either way)
    stock_point: str | None = None
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    timezone: ZoneName = DEFAULT_TIMEZONE
    #: the currency of article prices (price lists hold no currency on the article [U])
    currency: str = Field(DEFAULT_CURRENCY, pattern=r"^[A-Z]{3}$")
    #: the pacing window (documented: 25 per 5 s); lower only to share a token knowingly
    max_requests: int = Field(RATE_LIMIT_REQUESTS, ge=1, le=RATE_LIMIT_REQUESTS)
    window_s: float = Field(RATE_LIMIT_WINDOW_S, ge=RATE_LIMIT_WINDOW_S, le=60.0)
    pace_margin_s: float = Field(DEFAULT_PACE_MARGIN_S, ge=0.0, le=5.0)

    @model_validator(mode="after")
    def _consistent(self) -> FortnoxSettings:
        if self.stock_point and self.stock != "warehouse":
            raise ValueError(
                "stock_point needs stock: 'warehouse' (articles hold one "
                "quantity for the whole company)"
            )
        return self

    def token_url(self) -> str:
        """The token endpoint: ``auth_url`` when set, else derived from ``base_url``."""
        return token_url(self.base_url, self.auth_url)


def token_url(base_url: str, auth_url: str | None = None) -> str:
    """``{auth}/oauth-v1/token``; the real API's tokens come from ``apps.fortnox.se``."""
    base = base_url.rstrip("/")
    auth = auth_url or (DEFAULT_AUTH_URL if base == DEFAULT_BASE_URL else base)
    return auth.rstrip("/") + TOKEN_PATH


def _rows(body: Any, key: str, where: str) -> list[dict[str, Any]]:
    """The list under ``key`` (or a bare list); an answer without one is a FatalError."""
    rows = (
        body if isinstance(body, list) else (body.get(key) if isinstance(body, Mapping) else None)
    )
    if not isinstance(rows, list):
        raise FatalError(f"GET {where}: response has no {key!r} list")
    return [r for r in rows if isinstance(r, dict)]


def _one(body: Any, key: str, where: str) -> dict[str, Any]:
    one = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(one, dict):
        raise FatalError(f"{where}: response has no {key!r} object")
    return one


def error_information(body: Any) -> tuple[str, str] | None:
    """``(code, message)`` of a Fortnox error body, or ``None`` when it is not one.

    Fortnox answers ``{"ErrorInformation": {"Error": 1, "Message", "Code"}}`` (404s) and
    ``{"ErrorInformation": {"error": 1, "message", "code"}}`` (400s) from the same account on
    the same day [V]; a rejected token gets ``{"message": "unauthorized"}`` [V].
    """
    if not isinstance(body, Mapping):
        return None
    info = body.get("ErrorInformation")
    if isinstance(info, Mapping):
        fields = {str(k).lower(): v for k, v in info.items()}
        return (str(fields.get("code") or "").strip(), str(fields.get("message") or "").strip())
    if set(body) == {"message"} and isinstance(body["message"], str):
        return "", body["message"].strip()
    return None


def _vendor_says(resp: httpx.Response) -> str:
    """``"Fortnox 2000439: Kan inte hitta ordern. "`` for an error body, else ``""``."""
    if resp.status_code < 400 and b"ErrorInformation" not in resp.content[:200]:
        return ""
    try:
        info = error_information(resp.json())
    except ValueError:
        return ""
    if info is None or not any(info):
        return ""
    code, message = info
    return f"Fortnox {code + ': ' if code else ''}{message[:300]} | "


# --- client --------------------------------------------------------------------------------


class FortnoxClient(TokenClient):
    """Raw access to one Fortnox tenant: orders, customers, articles, warehouse balances."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        auth_url: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        timezone: str = DEFAULT_TIMEZONE,
        max_requests: int = RATE_LIMIT_REQUESTS,
        window_s: float = RATE_LIMIT_WINDOW_S,
        pace_margin_s: float = DEFAULT_PACE_MARGIN_S,
        clock: Callable[[], float] | None = None,
        token_store: RefreshTokenStore | None = None,
        token_clock: Callable[[], float] | None = None,
        **transport: Unpack[Transport],
    ) -> None:
        """An injected ``http`` (e.g. Starlette's TestClient) gets the auth set on it;
        ``clock`` and ``token_clock`` as :meth:`TokenClient._rotating_auth` says."""
        check_page_size(page_size, MAX_PAGE_SIZE)
        try:
            time_zone(timezone)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timezone = timezone
        self.pacer = SlidingWindow(
            max_requests, window_s, margin_s=pace_margin_s, clock=clock or time.monotonic
        )
        self.auth = self._rotating_auth(
            FortnoxGrant(token_url(base_url, auth_url), client_id, client_secret),
            refresh_token,
            store=token_store,
            clock=clock,
            token_clock=token_clock,
        )
        self._connect(self.auth, **transport)

    @property
    def rate_limit(self) -> tuple[int, float]:
        """``(requests, seconds)`` the client paces itself to: the documented 25 per 5 s."""
        return self.pacer.limit, self.pacer.window_s

    # --- plumbing ------------------------------------------------------------------------

    def _pace(self, request: httpx.Request) -> None:
        """The documented 25 requests per 5 s, from inside the auth flow: retries and the
        re-send after a 401 are paced too."""
        self.pacer.acquire(self.policy.sleep, f"{request.method} {request.url.path}")

    def _check(self, resp: httpx.Response) -> None:
        """:func:`classify`, with Fortnox's rules: a 429 without ``Retry-After`` waits one
        whole window (the limit slides, so that is when room is guaranteed), a 2xx body
        carrying ``ErrorInformation`` is a failure, and every message leads with the
        vendor's own error (:func:`error_information`, either casing)."""
        said = _vendor_says(resp)
        if resp.status_code == 429 and "Retry-After" not in resp.headers:
            raise RetriableError(
                said + describe(resp),
                response=resp,
                retry_after=self.pacer.window_s + self.pacer.margin_s,
            )
        classify_with(resp, lambda r: said + describe(r))
        error_in_body(resp, "ErrorInformation", said)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def iter_list(
        self, path: str, key: str, params: Mapping[str, str | int] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every row of a list endpoint (``{key: [...], "MetaInformation": {...}}``), paged."""
        yield from paged(
            MetaPages(self.page_size, f"GET {path}"),
            lambda page: self.send("GET", path, params={**(params or {}), **page.params}),
            lambda resp: _rows(body_of(resp), key, path),
        )

    def iter_changed(
        self,
        path: str,
        key: str,
        id_field: str,
        start: datetime,
        end: datetime,
        params: Mapping[str, str | int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows of ``path`` changed in ``[start, end)`` (to the minute, server time).

        Fortnox only filters "changed since", and its records carry no modification time,
        so the end is enforced by asking twice: the ids changed since ``end`` are read
        first (usually one short page: ``end`` is about now) and left out of the rows
        changed since ``start``. A record changed between the two reads comes in this
        window and the next; the ledger makes that harmless.
        """
        if start >= end:
            return
        since_end = {
            str(r.get(id_field))
            for r in self.iter_list(
                path, key, {**(params or {}), "lastmodified": lastmodified(end, self.timezone)}
            )
        }
        for row in self.iter_list(
            path, key, {**(params or {}), "lastmodified": lastmodified(start, self.timezone)}
        ):
            if str(row.get(id_field)) not in since_end:
                yield row

    def count(self, path: str, key: str) -> int:
        """``@TotalResources`` of a list, for one call of one row."""
        body = self.request("GET", path, params={"page": 1, "limit": 1})
        _rows(body, key, path)
        meta = body.get("MetaInformation") if isinstance(body, Mapping) else None
        try:
            return int(meta["@TotalResources"]) if isinstance(meta, Mapping) else 0
        except (KeyError, TypeError, ValueError):
            return 0

    # --- orders --------------------------------------------------------------------------

    def iter_orders(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Order subsets (no ``OrderRows``: those are only on :meth:`get_order`) changed in
        ``[start, end)``."""
        yield from self.iter_changed("/3/orders", "Orders", "DocumentNumber", start, end)

    def find_orders(self, **filters: str | int) -> Iterator[dict[str, Any]]:
        """Order subsets by the list's own filters (``filter=cancelled|expired|
        invoicecreated|invoicenotcreated``, ``customernumber``, ``yourreference``, ...)."""
        yield from self.iter_list("/3/orders", "Orders", filters)

    def get_order(self, number: str) -> dict[str, Any]:
        """``GET /3/orders/{DocumentNumber}`` -> the order with its ``OrderRows``."""
        path = f"/3/orders/{number}"
        return _one(self.request("GET", path), "Order", f"GET {path}")

    def create_order(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /3/orders``; the server assigns ``DocumentNumber``. Never retried."""
        body = self.request("POST", "/3/orders", body={"Order": dict(fields)}, retry=False)
        return _one(body, "Order", "POST /3/orders")

    def update_order(self, number: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /3/orders/{n} {"Order": {...}}``: writable fields only (``Cancelled`` goes
        through :meth:`order_action`); setting the same fields again is harmless."""
        path = f"/3/orders/{number}"
        return _one(self.request("PUT", path, body={"Order": dict(fields)}), "Order", f"PUT {path}")

    def order_action(self, number: str, action: str) -> dict[str, Any]:
        """``PUT /3/orders/{n}/{action}`` (``cancel``, ``createinvoice``, ...) -> the order.

        ``createinvoice`` is not retried: a hidden success already made the invoice.
        """
        if action not in ORDER_ACTIONS:
            raise ConfigError(f"unknown order action {action!r}; valid: {', '.join(ORDER_ACTIONS)}")
        path = f"/3/orders/{number}/{action}"
        body = self.request("PUT", path, retry=action != "createinvoice")
        return _one(body, "Order", f"PUT {path}")

    # --- customers and articles --------------------------------------------------------

    def get_customer(self, number: str) -> dict[str, Any]:
        """``GET /3/customers/{CustomerNumber}``."""
        path = f"/3/customers/{number}"
        return _one(self.request("GET", path), "Customer", f"GET {path}")

    def iter_articles(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Article subsets: all of them, or those changed in ``[start, end)``.

        ASSUMPTION [U] (the SDK's ``ArticleSubset``): list rows lack ``Active`` and
        ``StockGoods``; :meth:`get_article` has every field.
        """
        if start is not None and end is not None:
            yield from self.iter_changed("/3/articles", "Articles", "ArticleNumber", start, end)
        else:
            yield from self.iter_list("/3/articles", "Articles")

    def get_article(self, number: str) -> dict[str, Any]:
        """``GET /3/articles/{ArticleNumber}``: the full article."""
        path = f"/3/articles/{number}"
        return _one(self.request("GET", path), "Article", f"GET {path}")

    # --- warehouse -----------------------------------------------------------------------

    def iter_stock_balances(
        self, *, item_ids: Sequence[str] = (), stock_point_codes: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """``GET /api/warehouse/status-v1/stockbalance``: one row per article and stock
        point (``itemId``, ``stockPointCode``, ``inStock``, ``availableStock``).

        The vendor allows one of the two filters per request. ASSUMPTION [U]: the answer is
        a bare array or ``{"StockBalances": [...]}``, with camelCase or PascalCase names
        (the translator reads either), paged like the v3 API.
        """
        if item_ids and stock_point_codes:
            raise ConfigError(
                "the stock balance API takes one filter per request: item_ids or stock_point_codes"
            )
        params: dict[str, str | int] = {}
        if item_ids:
            params["itemIds"] = ",".join(item_ids)
        if stock_point_codes:
            params["stockPointCodes"] = ",".join(stock_point_codes)

        def rows_of(resp: httpx.Response) -> list[dict[str, Any]]:
            body = body_of(resp)
            if isinstance(body, Mapping):
                key = next((k for k in body if k.lower() == "stockbalances"), "StockBalances")
                return _rows(body, key, STOCK_BALANCE_PATH)
            return _rows(body, "", STOCK_BALANCE_PATH)

        yield from paged(
            MetaPages(self.page_size, f"GET {STOCK_BALANCE_PATH}"),
            lambda page: self.send("GET", STOCK_BALANCE_PATH, params={**params, **page.params}),
            rows_of,
        )

    def probe(self) -> int:
        """One cheap authenticated read (``/3/orders`` with ``limit=1``): the order count."""
        return self.count("/3/orders", "Orders")
