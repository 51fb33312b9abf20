"""HTTP client for the Lightspeed Retail (R-Series) API V3.

Vendor quirks this module absorbs (VENDOR_APIS.md §2, developers.lightspeedhq.com/retail):

* URLs are ``{base}/API/V3/Account/{accountID}/{Entity}[/{id}].json``; the account id is
  read once from ``/API/V3/Account.json`` unless the settings name it.
* OAuth2 with rotating refresh tokens: :class:`~.auth.RotatingTokenAuth` over the kit's
  shared :class:`~shopbridge.connectors._kit.tokens.RefreshTokenStore`.
* Lists page by cursor: follow ``@attributes.next`` (a full URL with an opaque ``after``)
  until it is ``""``; ``limit`` is at most 100. The next URL is only followed on the
  configured API origin, so the bearer token never goes elsewhere. Older answers page with
  ``@attributes {count, offset, limit}`` [V, recorded]: the kit's
  :class:`~shopbridge.connectors._kit.pages.OffsetCount` follows either and fails loudly
  when a count disagrees with the rows read.
* Filters put their operator in the value: ``timeStamp=><,a,b``, ``customSku=IN,[...]``
  (:func:`op`, :func:`any_of`); at most 100 values per ``IN``.
* The leaky bucket: every request is paced by :class:`~.ratelimit.Pacer` from the
  ``X-LS-API-*`` headers so a long sync gets no 429s; the 429s that still happen (other
  clients of the account) carry ``Retry-After`` and are retried by the shared policy.
* Responses are raw: string scalars, a single record as an object, an empty collection as
  ``""``; callers normalise with :func:`~.translate.as_list`.

Methods use vendor terms (entity names, field names) and return raw JSON (STYLE R2).
A creating POST is never retried (no idempotency key; STYLE R6); PUT and GET are.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self, Unpack

import httpx
from pydantic import BaseModel, Field, field_validator

from shopbridge.connectors._kit.client import JsonClient, Transport, classify_with, json_of
from shopbridge.connectors._kit.http import RetryPolicy, describe
from shopbridge.connectors._kit.pages import OffsetCount, check_page_size
from shopbridge.connectors._kit.settings import AppCredentials
from shopbridge.connectors._kit.tokens import RefreshTokenStore
from shopbridge.connectors.lightspeed_retail.auth import DEFAULT_TOKEN_URL, RotatingTokenAuth
from shopbridge.connectors.lightspeed_retail.ratelimit import CostModel, Pacer
from shopbridge.connectors.lightspeed_retail.translate import as_list
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError
from shopbridge.store.tokens import RefreshTokens

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.lightspeedapp.com"
API_PREFIX = "/API/V3"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=3.0)
#: the vendor's page cap [V]
MAX_PAGE_SIZE = 100
#: values per ``IN`` filter [V: "A maximum of 100 values may be passed in per field"]
MAX_IN_VALUES = 100
#: ``timeStamp`` values we send: UTC with ``Z`` (a ``+`` in a query needs care)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def op(operator: str, *values: Any) -> str:
    """A filter value with its operator, as the vendor reads it: ``op(">", t)`` ->
    ``">,2026-11-16T00:00:00Z"``; ``op("><", a, b)`` -> ``"><,a,b"``."""
    return ",".join([operator, *(_text(v) for v in values)])


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def stamp(value: datetime) -> str:
    """A window bound as the vendor's ``timeStamp`` filter takes it (UTC, seconds)."""
    if value.tzinfo is None:
        raise ConfigError(f"window bound {value!r} has no timezone")
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def any_of(values: Iterable[str], *, chunk: int = MAX_IN_VALUES) -> list[str]:
    """``IN,["a","b"]`` filter values, at most ``chunk`` each; duplicates and empties
    dropped, order kept. The list is JSON so commas and quotes inside values survive
    ("the IDs list can be commas separated or a JSON encoded array" [V])."""
    unique = [v for v in dict.fromkeys(str(v) for v in values) if v]
    return [
        "IN," + json.dumps(unique[i : i + chunk], ensure_ascii=False)
        for i in range(0, len(unique), chunk)
    ]


def relations(names: Sequence[str] | None) -> str | None:
    """``load_relations`` as the vendor wants it: a JSON array (``["ItemShops"]``)."""
    return json.dumps(list(names)) if names else None


def _message(resp: httpx.Response) -> str:
    """``describe`` with the vendor's ``message`` instead of the raw body when it has one.

    Error bodies are ``{"httpCode","httpMessage","message","errorClass"}``, all strings [V,
    recorded 400/401/404: ``tests/contracts/lightspeed_retail/error.*.json``]; the OAuth
    layer's are ``{"error","error_description","hint"}`` [V, doc example]. No 422 or 429
    body was found recorded [U]: the same shape is assumed. Anything else is shown raw.
    """
    try:
        body = resp.json()
    except ValueError:
        return describe(resp)
    if isinstance(body, dict):
        text = body.get("message") or body.get("hint") or body.get("error_description")
        if text:
            req = resp.request
            return f"{req.method} {req.url.path} -> {resp.status_code} {str(text)[:500]}"
    return describe(resp)


def check(resp: httpx.Response) -> None:
    """:func:`classify`, re-raised with the vendor's message (same class, same retry_after).

    Override point: the one place a Lightspeed status becomes an error (STYLE R5).
    """
    classify_with(resp, _message)


def _entity_of(url: httpx.URL) -> str | None:
    """``Item`` of ``/API/V3/Account/{id}/Item/7.json``; ``None`` for ``Account.json``."""
    parts = url.path.removeprefix(f"{API_PREFIX}/Account/").split("/")
    return parts[1].removesuffix(".json") if len(parts) > 1 else None


def default_token_url(base_url: str) -> str:
    """The vendor's token endpoint for the vendor's API host; ``{base}/auth/oauth/token``
    for anything else (a sandbox or a proxy serves both on one origin)."""
    host = httpx.URL(base_url).host
    if host in ("api.lightspeedapp.com", ""):
        return DEFAULT_TOKEN_URL
    return base_url.rstrip("/") + "/auth/oauth/token"


class LightspeedRetailSettings(AppCredentials):
    """What a Connection holds for one Lightspeed Retail account (the hook fills it)."""

    base_url: str = DEFAULT_BASE_URL
    #: default: the vendor's (cloud.lightspeedapp.com) for the vendor's API host, else
    #: ``{base_url}/auth/oauth/token``
    token_url: str | None = None
    #: read from ``/API/V3/Account.json`` when not given
    account_id: str | None = None
    page_size: int = Field(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    #: the shop sales and stock go to unless a level names another (``location``)
    shop_id: int = Field(1, ge=1)
    register_id: int = Field(1, ge=1)
    employee_id: int = Field(1, ge=1)
    #: order payment method (``Order.payment_method``) -> ``paymentTypeID``; ``"*"`` for
    #: every other method; else ``default_payment_type_id``
    payment_types: dict[str, int] = Field(default_factory=dict)
    default_payment_type_id: int = Field(1, ge=1)
    #: ``None``: ask the shop's tax category (``isTaxInclusive``) once per task
    prices_include_tax: bool | None = None
    #: the system set "3 Attributes" has id 4 (1 Color/Size, 2 Size, 3 Color) [V, recorded:
    #: itemattributesets.list.offset.json]; a new matrix gets it unless its fields name one
    item_attribute_set_id: int = Field(4, ge=1)
    reference_source: str = Field("shopbridge", min_length=1)
    #: what a write costs, in drips [U] (see :class:`CostModel`)
    write_cost: float = Field(10.0, gt=0)
    sale_write_cost: float = Field(2.0, gt=0)
    #: refresh the access token this long before it expires
    refresh_skew_s: float = Field(60.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @property
    def effective_token_url(self) -> str:
        """Where refresh tokens are spent."""
        return self.token_url or default_token_url(self.base_url)

    def costs(self) -> CostModel:
        """The cost model these settings describe."""
        return CostModel(write=self.write_cost, entity_writes={"Sale": self.sale_write_cost})


class LightspeedRetailClient(JsonClient):
    """Raw V3 access to one account: entity queries, reads and writes, paced and retried."""

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        account_id: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        costs: CostModel | None = None,
        clock: Callable[[], float] = time.time,
        closers: Sequence[Callable[[], None]] = (),
        **transport: Unpack[Transport],
    ) -> None:
        """An injected ``http`` (e.g. Starlette's TestClient) gets ``auth`` set on it.

        ``clock`` drives the pacing (tests share a fake one with the sandbox): wall-clock
        seconds by default, so the client's one-second burst windows line up with the
        vendor's; the pacer sleeps through ``policy.sleep``. ``closers`` run on
        :meth:`close` (the token store :meth:`from_settings` opened for this client).
        """
        check_page_size(page_size, MAX_PAGE_SIZE)
        self.base_url = base_url.rstrip("/")
        self.origin = httpx.URL(self.base_url)
        self.page_size = page_size
        self.costs = costs or CostModel()
        self.auth = auth
        self._account_id = account_id
        self._closers = list(closers)
        self.timeout = DEFAULT_TIMEOUT  # read now: a drill shortens it for one test
        self._connect(auth, **transport)
        self.pacer = Pacer(clock=clock, sleep=self.policy.sleep)

    @classmethod
    def from_settings(cls, settings: BaseModel, **kwargs: Any) -> Self:
        """As the kit's, with the rotating-token auth built here: ``store=`` is where its
        pair lives (default: :class:`~shopbridge.store.tokens.RefreshTokens`, the ledger
        database, closed with the client), ``token_clock=`` times it (wall time)."""
        assert isinstance(settings, LightspeedRetailSettings)
        store: RefreshTokenStore | None = kwargs.pop("store", None)
        token_clock: Callable[[], float] = kwargs.pop("token_clock", time.time)
        closers: list[Callable[[], None]] = []
        if store is None:
            sql = RefreshTokens()
            store, closers = sql, [sql.close]
        policy: RetryPolicy = kwargs.get("policy") or RetryPolicy()
        auth = RotatingTokenAuth(
            token_url=settings.effective_token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            refresh_token=settings.refresh_token.get_secret_value(),
            store=store,
            clock=token_clock,
            sleep=policy.sleep,
            skew_s=settings.refresh_skew_s,
        )
        kwargs.setdefault("costs", settings.costs())
        return super().from_settings(settings, auth=auth, closers=closers, **kwargs)

    def __repr__(self) -> str:  # never show the credentials
        return f"LightspeedRetailClient({self.base_url!r}, account={self._account_id!r})"

    def close(self) -> None:
        """Close the pool if this client created it, and what it was handed to close."""
        super().close()
        for closer in self._closers:
            closer()
        self._closers = []

    # --- plumbing --------------------------------------------------------------------

    def _prepare(self, method: str, request: httpx.Request) -> None:
        """Price the request (its entity, body and query) and wait until the bucket has
        room for it; a wait longer than ``policy.max_wait`` is Airflow's to sit out."""
        content = request.content
        body = json.loads(content) if content else None
        cost = self.costs.cost(
            method, _entity_of(request.url), body=body, params=dict(request.url.params)
        )
        wait = self.pacer.wait_for(cost, max_wait=self.policy.max_wait)
        if wait:
            raise RetriableError(
                f"Lightspeed's rate-limit bucket needs {wait:.0f}s to drain (level "
                f"{self.pacer.state.level:g}/{self.pacer.state.size:g}); trying again later",
                retry_after=wait,
            )

    def _check(self, resp: httpx.Response) -> None:
        self.pacer.observe(resp.headers)
        check(resp)

    def _url(self, path: str) -> str:
        """``path`` is absolute already: an entity's URL (:meth:`_entity_url`) or a
        ``next`` link."""
        return path

    @property
    def account_id(self) -> str:
        """The account this client works in (asked once when the settings don't say)."""
        if self._account_id is None:
            accounts = self.accounts()
            if len(accounts) != 1:
                ids = ", ".join(str(a.get("accountID")) for a in accounts) or "none"
                raise ConfigError(
                    f"the token gives access to {len(accounts)} Lightspeed "
                    f"accounts ({ids}); set extra.account_id"
                )
            self._account_id = str(accounts[0]["accountID"])
        return self._account_id

    def _entity_url(self, entity: str, record_id: str | int | None = None) -> str:
        tail = f"/{record_id}" if record_id is not None else ""
        return f"{self.base_url}{API_PREFIX}/Account/{self.account_id}/{entity}{tail}.json"

    @staticmethod
    def _one(body: Any, entity: str) -> dict[str, Any]:
        rows = as_list(body.get(entity)) if isinstance(body, dict) else []
        if len(rows) != 1:
            raise FatalError(f"{entity}: expected one record in the response, got {len(rows)}")
        return rows[0]

    # --- account ---------------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """``GET /API/V3/Account.json``: the accounts the token reaches (usually one)."""
        body = self.request("GET", f"{self.base_url}{API_PREFIX}/Account.json")
        return as_list(body.get("Account") if isinstance(body, dict) else None)

    # --- generic entity access ---------------------------------------------------------

    def query(
        self,
        entity: str,
        params: Mapping[str, Any] | None = None,
        *,
        load_relations: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``entity`` matching ``params`` (vendor filters, operators in the
        values), ``page_size`` per request, through whichever envelope the answer uses
        (:class:`~shopbridge.connectors._kit.pages.OffsetCount`: the ``next`` cursor, or
        ``offset``/``count``/``limit``)."""
        query: dict[str, Any] = {"limit": self.page_size, **(params or {})}
        if load_relations:
            query["load_relations"] = relations(load_relations)

        def rows_of(resp: httpx.Response) -> list[dict[str, Any]]:
            body = json_of(resp)
            return as_list(body.get(entity) if isinstance(body, dict) else None)

        pager = OffsetCount(entity, self.origin, vendor="Lightspeed")
        yield from self._iter_paged(self._entity_url(entity), pager, rows_of, query)

    def count(self, entity: str, params: Mapping[str, Any] | None = None) -> int:
        """``count=1``: how many records match (costs 10 drips [V]; use sparingly)."""
        body = self.request("GET", self._entity_url(entity), params={**(params or {}), "count": 1})
        attrs = body.get("@attributes") if isinstance(body, dict) else None
        try:
            return int((attrs or {})["count"])
        except (KeyError, TypeError, ValueError):
            raise FatalError(f"{entity} count: no @attributes.count in the response") from None

    def iter_changed(
        self,
        entity: str,
        start: datetime,
        end: datetime,
        *,
        params: Mapping[str, Any] | None = None,
        load_relations: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records of ``entity`` with ``start <= timeStamp < end``, oldest first.

        The vendor's between operator (``timeStamp=><,a,b``) includes both ends at second
        resolution; records outside ``[start, end)`` are dropped here, so a record stamped
        exactly ``end`` belongs to the next window.
        """
        query = {**(params or {}), "timeStamp": op("><", start, end), "sort": "timeStamp"}
        for row in self.query(entity, query, load_relations=load_relations):
            try:
                when = datetime.fromisoformat(str(row.get("timeStamp")))
            except ValueError:
                yield row  # unreadable: the translator reports it
                continue
            if when.tzinfo is None or start <= when < end:
                yield row

    def get(
        self, entity: str, record_id: str | int, *, load_relations: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """One record (``FatalError`` 404 when it does not exist)."""
        body = self.request(
            "GET",
            self._entity_url(entity, record_id),
            params={"load_relations": relations(load_relations)},
        )
        return self._one(body, entity)

    def create(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST {Entity}.json``; never retried (a timeout can hide a success: the caller
        looks the record up before trying again)."""
        answer = self.request("POST", self._entity_url(entity), body=dict(body), retry=False)
        return self._one(answer, entity)

    def update(self, entity: str, record_id: str | int, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT {Entity}/{id}.json`` with the fields to change; retried (setting the same
        fields again is harmless)."""
        answer = self.request("PUT", self._entity_url(entity, record_id), body=dict(body))
        return self._one(answer, entity)

    def delete(self, entity: str, record_id: str | int) -> dict[str, Any]:
        """``DELETE {Entity}/{id}.json``: archives the record (an Item, a Customer, a Sale
        that is not completed [V]); retried (archiving twice is harmless)."""
        answer = self.request("DELETE", self._entity_url(entity, record_id))
        return self._one(answer, entity)

    def probe(self) -> dict[str, Any]:
        """One cheap authorized read (the account): what ``test_connection`` calls."""
        accounts = self.accounts()
        if not accounts:
            raise AuthError("the token reaches no Lightspeed account")
        wanted = self._account_id
        for account in accounts:
            if wanted is None or str(account.get("accountID")) == wanted:
                return account
        raise ConfigError(
            f"account {wanted} is not among the token's accounts "
            f"({', '.join(str(a.get('accountID')) for a in accounts)})"
        )
