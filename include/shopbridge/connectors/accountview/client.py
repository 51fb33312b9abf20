"""HTTP client for AccountView.net (Visma AccountView, REST API v3).

Vendor quirks this module absorbs (VENDOR_APIS.md §4; [S] = two independent clients agree):

* Auth is OAuth2 [S]: a long-lived refresh token is exchanged at ``POST /api/v3/token``
  for a bearer token; every call carries ``Authorization: Bearer …`` and ``x-company:
  <company id>``. The kit's rotating-token auth over :class:`~.auth.AccountViewGrant`
  keeps the pair in the kit's shared
  :class:`~shopbridge.connectors._kit.tokens.RefreshTokenStore` (the ledger database when
  the hook builds the client; ``token_store=``), fetches a token before the first call,
  again shortly before it expires, and once more on a 401 (STYLE R8: refresh once, never
  loop); a rotated refresh token is stored and handed to ``on_refresh_token``.
* Reading is ``GET /api/v3/accountviewdata`` with ``BusinessObject``, ``PageNumber``/
  ``PageSize`` (paged by :class:`~shopbridge.connectors._kit.pages.PageNumber`: a short page is the
  last), ``Fields`` (``TABLE.FIELD`` list), ``SortFields``/``SortOrder`` and numbered
  filters (``FilterControlSource1``, ``FilterOperator1``, ``FilterValueType1``,
  ``FilterValue1``, ``FilterIsListOfValues1``...). The answer is keyed by table name with
  UPPER_SNAKE fields, and a single row may come as an object instead of a list: both
  are turned into a list of dicts (text trimmed: AccountView's char columns are padded).
* Batched lookups use ``FilterIsListOfValues`` with comma-separated values [S field],
  ASSUMPTION [U] on the separator; ``max_list_values`` bounds each list (1 turns them
  into one ``Equal`` lookup per value) and a value containing a comma is asked alone.
* Errors come as ``{"ErrorType", "ErrorNumbers", "ErrorMessage"}``, possibly with status
  200, so :func:`check` reads ``ErrorMessage`` on every answer (a 2xx with a message is
  a :class:`FatalError`), and puts it, not the raw body, into every error.
* Writing is ``POST /api/v3/accountviewdata`` with declared tables and positional rows
  (format in :mod:`._rows`). A write is retried only when the caller says a replay is
  harmless (an upsert by a key we chose); documents are never retried (STYLE R6).
* Rate limits are not documented [U]. The client paces itself to ``max_per_second``
  requests per second (default 10) and honours ``Retry-After`` on a 429 through
  :func:`shopbridge.connectors._kit.http.send`.

Methods use vendor terms and return raw JSON (STYLE R2).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Unpack
from urllib.parse import urlsplit

import httpx
from pydantic import Field

from shopbridge.connectors._kit.client import TokenClient, Transport, classify_with, json_of
from shopbridge.connectors._kit.http import describe
from shopbridge.connectors._kit.pacing import SlidingWindow
from shopbridge.connectors._kit.pages import PageNumber, body_of, check_page_size
from shopbridge.connectors._kit.settings import AppCredentials
from shopbridge.connectors._kit.tokens import RefreshTokenStore
from shopbridge.connectors.accountview._rows import Table, post_body
from shopbridge.connectors.accountview.auth import AccountViewGrant
from shopbridge.errors import FatalError, RetriableError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.accountview.net"
API_PATH = "/api/v3"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: ASSUMPTION [U]: AccountView's upper bound for ``PageSize``
MAX_PAGE_SIZE = 1000
#: ASSUMPTION [U]: the separator of ``FilterIsListOfValues`` values
LIST_SEPARATOR = ","

ValueType = Literal["C", "N", "T", "D"]


class AccountViewSettings(AppCredentials):
    """The connection to one AccountView.net company; the hook fills it from a Connection."""

    base_url: str = DEFAULT_BASE_URL
    company_id: str = Field(min_length=1)
    #: sent with the token request as the OAuth flow requires; the app's registered one
    redirect_uri: str = ""
    page_size: int = Field(200, ge=1, le=MAX_PAGE_SIZE)
    max_list_values: int = Field(50, ge=1, le=500)
    #: ASSUMPTION [U]: no documented rate limit; 10 requests a second stays polite
    max_per_second: int = Field(10, ge=1, le=100)


@dataclass(frozen=True)
class Filter:
    """One numbered filter group of ``GET accountviewdata``.

    ``operator`` is AccountView's name (``Equal``, ``DateOnOrAfterDate`` are documented
    [S]); ``value_type`` is ``C`` text, ``N`` number, ``T`` datetime, ``D`` date; a list
    filter (``is_list``) matches any of ``value``'s comma-separated entries.
    """

    field: str
    operator: str
    value: str
    value_type: ValueType = "C"
    is_list: bool = False


def fox_datetime(when: datetime) -> str:
    """A filter value for a ``T`` field: ``{^2024-01-31 10:00:00}`` (FoxPro's literal) [S]."""
    return "{^" + when.strftime("%Y-%m-%d %H:%M:%S") + "}"


def fox_date(day: date) -> str:
    """A filter value for a ``D`` field: ``{^2024-01-31}``."""
    return "{^" + day.isoformat() + "}"


def filter_params(filters: Sequence[Filter]) -> dict[str, str]:
    """The numbered query parameters of ``filters`` (1-based, in order)."""
    params: dict[str, str] = {}
    for n, f in enumerate(filters, start=1):
        params[f"FilterControlSource{n}"] = f.field
        params[f"FilterOperator{n}"] = f.operator
        params[f"FilterValueType{n}"] = f.value_type
        params[f"FilterValue{n}"] = f.value
        params[f"FilterIsListOfValues{n}"] = "true" if f.is_list else "false"
    return params


def error_message(body: Any) -> str | None:
    """AccountView's ``ErrorType: ErrorMessage`` from a parsed body; ``None`` when none.

    An ``ErrorType`` without a message is an error too (the Go client's rule: its example
    body is ``{"ErrorType": "AccountViewError", "ErrorNumbers": null, "ErrorMessage": ""}``,
    recorded in tests/contracts/accountview/error.blank.json).
    """
    if not isinstance(body, Mapping):
        return None
    message = body.get("ErrorMessage")
    kind = body.get("ErrorType")
    if message in (None, "") and kind in (None, ""):
        return None
    numbers = body.get("ErrorNumbers")
    if message in (None, ""):
        text = f"{kind} (AccountView gave no message)"
    else:
        text = f"{kind}: {message}" if kind else str(message)
    return f"{text} (error {numbers})" if numbers not in (None, "", []) else text


def _message(resp: httpx.Response, text: str | None) -> str:
    if text is None:
        return describe(resp)
    req = resp.request
    return f"{req.method} {req.url.path} -> {resp.status_code} {text}"


def check(resp: httpx.Response) -> None:
    """Fail a response the way :func:`classify` would, with AccountView's own message; and
    fail a 2xx whose body carries an ``ErrorMessage`` (integrations check it always [S]).

    Override point for the error-in-200 quirk: a 2xx with an error is a ``FatalError``
    (the request reached AccountView and was refused; a retry changes nothing).
    """
    text = error_message(body_of(resp))
    classify_with(resp, lambda r: _message(r, text))
    if text is not None:
        raise FatalError(_message(resp, text), response=resp)


def rows_of(body: Any, table: str) -> list[dict[str, Any]]:
    """The rows of ``table`` in a table-keyed answer, always as a list of dicts.

    Handles the documented quirks: the key is the table name (matched case-insensitively),
    a single row may be an object instead of a list, an empty answer may leave the key out
    (``{}``/``null``). Field names are upper-cased and text values trimmed.
    """
    if body is None:
        return []
    if not isinstance(body, Mapping):
        raise FatalError(
            f"AccountView answered {type(body).__name__}, not a table-keyed "
            f"object (expected {table!r})"
        )
    found = next((v for k, v in body.items() if str(k).upper() == table.upper()), None)
    if found is None:
        return []
    if found in ("", False):  # an empty table as an empty value, not a list [U]
        return []
    raw = [found] if isinstance(found, Mapping) else found
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise FatalError(f"AccountView's {table!r} is not a list of rows")
    return [
        {str(k).upper(): (v.strip() if isinstance(v, str) else v) for k, v in r.items()}
        for r in raw
    ]


class AccountViewClient(TokenClient):
    """Raw access to one AccountView.net company; methods return the vendor's JSON."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        company_id: str,
        redirect_uri: str = "",
        page_size: int = 200,
        max_list_values: int = 50,
        max_per_second: int = 10,
        clock: Callable[[], float] | None = None,
        on_refresh_token: Callable[[str], None] | None = None,
        token_store: RefreshTokenStore | None = None,
        token_clock: Callable[[], float] | None = None,
        **transport: Unpack[Transport],
    ) -> None:
        """An injected ``http`` (Starlette's TestClient in tests) gets the token auth set;
        ``clock`` and ``token_clock`` as :meth:`TokenClient._rotating_auth` says;
        ``on_refresh_token`` gets each new refresh token AccountView issues."""
        check_page_size(page_size, MAX_PAGE_SIZE)
        self.base_url = base_url.rstrip("/")
        self.company_id = company_id
        self.page_size = page_size
        self.max_list_values = max_list_values
        self.per_second = SlidingWindow(max_per_second, 1.0, clock=clock or time.monotonic)
        self._on_refresh_token = on_refresh_token
        self.auth = self._rotating_auth(
            AccountViewGrant(
                f"{self.base_url}{API_PATH}/token", client_id, client_secret, redirect_uri
            ),
            refresh_token,
            store=token_store,
            clock=clock,
            token_clock=token_clock,
            on_rotated=self._rotated,
        )
        self.timeout = DEFAULT_TIMEOUT  # read now: a drill shortens it for one test
        self._connect(self.auth, **transport)

    def __repr__(self) -> str:  # never show the credentials
        return f"AccountViewClient({self.base_url!r}, company={self.company_id!r})"

    @property
    def host(self) -> str:
        """The host the client talks to (for messages)."""
        return urlsplit(self.base_url).netloc or self.base_url

    # --- plumbing --------------------------------------------------------------------

    def _pace(self, request: httpx.Request) -> None:
        """Stay under ``max_per_second``: a full second's worth of requests means waiting
        until the oldest of them is a second old (no documented limit to read instead)."""
        self.per_second.acquire(self.policy.sleep)

    def _rotated(self, token: str) -> None:
        log.info(
            "AccountView.net issued a new refresh token (%s); it is kept in the store",
            self.auth.key,
        )
        if self._on_refresh_token is not None:
            self._on_refresh_token(token)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API_PATH}/{path}"

    def _headers(self) -> dict[str, str]:
        return {**super()._headers(), "x-company": self.company_id}

    def _check(self, resp: httpx.Response) -> None:
        check(resp)

    # --- auth and companies ---------------------------------------------------------

    def authenticate(self) -> None:
        """Fetch a fresh access token now (``test_connection`` tells this step apart)."""

        def post(request: httpx.Request) -> httpx.Response:
            self._pace(request)
            try:
                return self._http.send(request, auth=None)
            except httpx.TransportError as exc:
                raise RetriableError(
                    f"POST {request.url.path}: {type(exc).__name__}: {exc}"
                ) from exc

        self.auth.refresh_now(post)

    def companies(self) -> list[dict[str, Any]]:
        """``GET /companies``: the companies this API user may open, each with its ``Id``.

        ASSUMPTION [U]: a JSON list; an object with a list under any key is accepted too.
        """
        body = self.request("GET", "companies")
        if isinstance(body, Mapping):
            body = next((v for v in body.values() if isinstance(v, list)), [])
        if not isinstance(body, list):
            raise FatalError("GET /companies: not a list of companies")
        return [dict(c) for c in body if isinstance(c, Mapping)]

    # --- reading ----------------------------------------------------------------------

    def read(
        self,
        business_object: str,
        table: str,
        *,
        fields: Sequence[str] = (),
        filters: Sequence[Filter] = (),
        sort_fields: Sequence[str] = (),
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``table`` in ``business_object`` matching all ``filters``.

        Pages with ``PageNumber``/``PageSize`` until a short page; sorted by
        ``sort_fields`` (ascending) when given, so pages stay stable while paging. The
        answer has no total or next link (none of the public clients reads one), so the
        checks are: a page longer than ``PageSize`` and a full page repeated (the pager's
        loop guard) fail loudly rather than end the read early or loop.
        """
        pager = PageNumber(
            page_size or self.page_size, page_param="PageNumber", limit_param="PageSize"
        )
        base: dict[str, Any] = {"BusinessObject": business_object, **filter_params(filters)}
        if fields:
            base["Fields"] = ",".join(f"{table}.{f}" for f in dict.fromkeys(fields))
        if sort_fields:
            base["SortFields"] = ",".join(sort_fields)
            base["SortOrder"] = "ascending"
        size = page_size or self.page_size
        number = 0

        def rows_on(resp: httpx.Response) -> list[dict[str, Any]]:
            nonlocal number
            number += 1
            rows = rows_of(json_of(resp), table)
            if len(rows) > size:
                # AccountView's answer carries no total to check the rows against; a page
                # longer than asked means PageSize was ignored, and paging on would skip
                # or repeat rows: stop loudly instead
                raise FatalError(
                    f"AccountView answered {len(rows)} {table} rows on page "
                    f"{number} of {business_object} for PageSize={size}: paging "
                    "was not applied, so the read cannot be trusted to be whole"
                )
            return rows

        yield from self._iter_paged("accountviewdata", pager, rows_on, base)

    def lookup(
        self,
        business_object: str,
        table: str,
        field: str,
        values: Iterable[str],
        *,
        fields: Sequence[str] = (),
        filters: Sequence[Filter] = (),
    ) -> Iterator[dict[str, Any]]:
        """Rows whose ``field`` is one of ``values``: list filters of ``max_list_values``
        values each (plus ``filters``), so a batch of 200 keys costs a few requests."""
        unique = [v for v in dict.fromkeys(str(v) for v in values) if v]
        alone = [v for v in unique if LIST_SEPARATOR in v]
        listed = [v for v in unique if LIST_SEPARATOR not in v]
        size = self.max_list_values
        groups = [listed[i : i + size] for i in range(0, len(listed), size)]
        for group in [*groups, *([v] for v in alone)]:
            key = (
                Filter(field, "Equal", group[0])
                if len(group) == 1
                else Filter(field, "Equal", LIST_SEPARATOR.join(group), is_list=True)
            )
            yield from self.read(
                business_object, table, fields=[field, *fields], filters=[key, *filters]
            )

    def probe(self, business_object: str, table: str) -> None:
        """Read one row of ``business_object`` (``PageSize=1``): may this API user read it?"""
        params = {"BusinessObject": business_object, "PageNumber": 1, "PageSize": 1}
        rows_of(self.request("GET", "accountviewdata", params=params), table)

    # --- writing ----------------------------------------------------------------------

    def write(
        self,
        business_object: str,
        header: Table,
        details: Sequence[Table] = (),
        *,
        book_date: datetime | date | None = None,
        retry: bool = False,
    ) -> Any:
        """``POST accountviewdata``: the header table's rows with their detail rows.

        Returns AccountView's answer (ASSUMPTION [U]: the written rows, table-keyed; the
        target does not depend on it). ``retry`` only for writes a replay cannot
        duplicate (an update, or an upsert by a key we chose); a document POST is never
        retried, so a lost answer means looking its reference up (STYLE R6).
        """
        body = post_body(business_object, header, details, book_date=book_date)
        return self.request("POST", "accountviewdata", body=body, retry=retry)
