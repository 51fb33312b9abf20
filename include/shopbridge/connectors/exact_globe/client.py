"""HTTP client for the Exact Globe REST Entity service (OData v2 over the entity services).

What it decides, so callers don't have to:

* Every request carries ``ServerName`` and ``DatabaseName`` (Globe selects the
  administration from them, e.g. ``600``) and asks for JSON both ways.
* Status -> error goes through :func:`~shopbridge.connectors._kit.http.classify` (STYLE R5),
  but the message carries the OData error body ``{"error":{"code","message"}}`` verbatim,
  because Globe's validation text ("Customer 60093 not found") is what a person needs.
* Lists page with ``$top``/``$skip`` (the kit's
  :class:`~shopbridge.connectors._kit.pages.ODataPages`), ordered by a stable key when
  the caller names one (``$orderby``: without it ``$skip`` walks Globe's own, unstated
  order and a row can be skipped or read twice). A ``__next`` link (server-driven paging:
  the server caps a page below ``$top``) is followed rather than taken for the end; a
  page longer than ``$top`` (a server ignoring it) and a ``__count`` that disagrees with
  the rows read fail loudly (:class:`~shopbridge.connectors._kit.pages.PageMismatch`),
  never stop early in silence.
* Creating POSTs are retried only when the caller says it is safe (``retry=``); MERGE is
  idempotent and always retried.
* :meth:`ExactGlobeClient.batch` sends many changesets (e.g. one per sales order: its lines,
  then its header) in ONE OData v2 ``$batch`` request (format in :mod:`._batch`); it is
  never retried, and per-changeset failures come back as results, not exceptions.
  [U] That Globe's REST Entity adapter accepts ``$batch``: it is part of OData v2 and of
  WCF Data Services, which the adapter appears to be built on (MERGE, ``guid'...'`` keys),
  but no Globe document shows it. ``write_mode="single"`` keeps one request per entity.

Envelopes: both OData v2 JSON verbose list forms are read, ``{"d":{"results":[...],
"__next":..., "__count":"N"}}`` and the bare ``{"d":[...]}`` ([V] as forms: Exact Online
recordings in ``tests/contracts/exact_globe/exact_online.*``; [U] which one Globe uses:
no public Globe recording exists). ``__count`` is a string in OData v2 and read as either.
Errors: ``{"error":{"code":"","message":{"lang","value"},"innererror":{...}}}`` (WCF Data
Services; the shape omniboost/go-exactglobe-webservices decodes from a live Globe [S]) and
a proxy's flat ``{"error":{"code","message"}}`` both give ``"<code>: <message>"``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import Any, Literal, Self, Unpack

import httpx
from httpx_ntlm import HttpNtlmAuth
from pydantic import BaseModel, Field, SecretStr

from shopbridge.connectors._kit.client import JsonClient, Transport, classify_with
from shopbridge.connectors._kit.http import describe, send
from shopbridge.connectors._kit.pages import ODataPage, ODataPages, parse_list
from shopbridge.connectors._kit.settings import VendorSettings, ZoneName
from shopbridge.connectors.exact_globe._batch import (
    BatchFormatError,
    ChangesetResult,
    Operation,
    build_request,
    odata_error,
    parse,
    results,
)
from shopbridge.errors import AuthError, ConfigError, FatalError, RetriableError

#: Path of the REST Entity service under the Globe web server.
SERVICE_PATH = "/services/Exact.Entity.REST.EG"
#: Values per ``any_of`` filter: keeps request URLs well under IIS's default 4 KB query limit.
MAX_FILTER_VALUES = 40
AUTH_KINDS = ("ntlm", "basic")
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=3.0)
#: A batch of ``batch_size`` orders is one request doing the work of hundreds, so it gets a
#: longer read timeout. [U] Globe's per-operation cost inside a batch.
BATCH_TIMEOUT = httpx.Timeout(120.0, connect=3.0)

AuthKind = Literal["ntlm", "basic"]
WriteMode = Literal["batch", "single"]
#: A ``$batch`` answered with one of these means "this service has no $batch" (not "the
#: data was wrong"): the message then says to switch to ``write_mode="single"``.
_NO_BATCH_STATUSES = (404, 405, 415, 501)


class ExactGlobeSettings(VendorSettings):
    """What a Globe connection needs, validated before any request (the hook fills it)."""

    base_url: str = Field(min_length=1)
    server_name: str = Field(min_length=1)
    database_name: str = Field(min_length=1)
    user: str = ""
    password: SecretStr = SecretStr("")
    auth: AuthKind = "ntlm"
    page_size: int = Field(100, ge=1, le=1000)
    #: ``"batch"``: new orders go out as OData ``$batch`` requests, one changeset per order
    #: (its lines, then its header), ``batch_size`` orders per request. ``"single"``: one
    #: POST per line and per header, for a Globe whose adapter refuses ``$batch`` [U].
    write_mode: WriteMode = "batch"
    #: Orders (changesets) per ``$batch`` request. Bounded because the request is never
    #: retried (a lost answer means looking every order of it up again) and one slow
    #: request holds the whole group.
    batch_size: int = Field(50, ge=1, le=500)
    #: Globe warehouse code stock goes to when a stock level names no location.
    default_warehouse: str = Field("1", min_length=1)
    #: The Globe server's IANA time zone: its timestamps are naive local time [U].
    timezone: ZoneName = "Europe/Amsterdam"
    #: The administration's own currency (ISO 4217), for orders whose header and debtor
    #: name none; ``""``: such an order is quarantined instead of guessed. [U] Globe's
    #: REST service is not known to expose the administration's base currency.
    currency: str = Field("", pattern=r"^([A-Za-z]{3})?$")


def odata_quote(value: str) -> str:
    """An OData string literal: ``O'Brien`` -> ``'O''Brien'`` (quotes doubled, then wrapped)."""
    return "'" + str(value).replace("'", "''") + "'"


def any_of(field: str, values: Iterable[str], *, chunk: int = MAX_FILTER_VALUES) -> list[str]:
    """``Field eq 'a' or Field eq 'b'`` filters, at most ``chunk`` values each.

    Globe's OData adapter has no ``in`` operator, so a batched lookup is an ``or`` chain;
    chunking keeps each URL bounded. Duplicates and empty values are dropped, order kept.
    """
    unique = [v for v in dict.fromkeys(values) if v]
    return [
        " or ".join(f"{field} eq {odata_quote(v)}" for v in unique[i : i + chunk])
        for i in range(0, len(unique), chunk)
    ]


class NtlmAuth(httpx.Auth):
    """``httpx_ntlm.HttpNtlmAuth`` that ends with the server's 401 when the handshake breaks.

    ``HttpNtlmAuth`` raises ``RuntimeError``/``KeyError`` when a server (or a proxy in
    front of IIS) answers the negotiate message without an NTLM challenge; ending the flow
    instead hands that 401 to :func:`check`, which makes it an ``AuthError`` (STYLE R4).
    """

    def __init__(self, user: str, password: str) -> None:
        """``user`` as ``DOMAIN\\user`` for a domain account."""
        self._inner = HttpNtlmAuth(user, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Relay the inner handshake; stop quietly where it would crash."""
        flow = self._inner.auth_flow(request)
        try:
            outgoing = next(flow)
            while True:
                outgoing = flow.send((yield outgoing))
        except StopIteration:
            return
        except (RuntimeError, KeyError, ValueError):
            return


def make_auth(kind: str, user: str, password: str) -> httpx.Auth:
    """NTLM for a real Globe (a Windows/Globe employee account); Basic for the sandbox."""
    if kind == "ntlm":
        return NtlmAuth(user, password)
    if kind == "basic":
        return httpx.BasicAuth(user, password)
    raise ConfigError(f"unknown Exact Globe auth {kind!r}; valid: {', '.join(AUTH_KINDS)}")


def _message(resp: httpx.Response) -> str:
    """``describe`` with the OData error's code and message instead of the raw body."""
    error = odata_error(resp.json)
    if error is None:
        return describe(resp)
    req = resp.request
    return f"{req.method} {req.url.path} -> {resp.status_code} {error}".strip()


def check(resp: httpx.Response) -> None:
    """:func:`classify`, re-raised with the OData error message (same class, same retry_after)."""
    classify_with(resp, _message)


def _page(resp: httpx.Response) -> ODataPage:
    try:
        payload = resp.json()
    except ValueError:
        raise FatalError(f"{describe(resp)}: not JSON") from None
    return parse_list(payload, describe(resp))


class ExactGlobeClient(JsonClient):
    """Raw OData access to one Globe administration; methods return the vendor's JSON."""

    def __init__(
        self,
        base_url: str,
        *,
        server_name: str,
        database_name: str,
        auth: httpx.Auth,
        page_size: int = 100,
        write_mode: WriteMode = "batch",
        batch_size: int = 50,
        **transport: Unpack[Transport],
    ) -> None:
        """An injected ``http`` (e.g. Starlette's TestClient) gets ``auth`` set on it.

        ``write_mode``/``batch_size`` are carried for the target (:class:`ExactGlobeSettings`
        documents them); the client itself sends whatever it is asked to.
        """
        self.base_url = base_url.rstrip("/")
        self.root = self.base_url + SERVICE_PATH
        self.timeout = DEFAULT_TIMEOUT  # read now: a drill shortens both for one test
        self.batch_timeout = BATCH_TIMEOUT
        self.headers = {
            "ServerName": server_name,
            "DatabaseName": database_name,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self._connect(auth, **transport)
        self.page_size = page_size
        self.write_mode: WriteMode = write_mode
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: BaseModel, **kwargs: Any) -> Self:
        """As the kit's, with the auth built from the settings' kind, user and password."""
        assert isinstance(settings, ExactGlobeSettings)
        password = settings.password.get_secret_value()
        kwargs.setdefault("auth", make_auth(settings.auth, settings.user, password))
        return super().from_settings(settings, **kwargs)

    def _url(self, path: str) -> str:
        """An entity path, or a ``__next`` link: absolute, or relative to the service root."""
        return path if "://" in path else f"{self.root}/{path.lstrip('/')}"

    def _headers(self) -> dict[str, str]:
        return dict(self.headers)

    def _check(self, resp: httpx.Response) -> None:
        check(resp)

    def query(
        self,
        entity: str,
        *,
        filter: str | None = None,
        select: Sequence[str] | None = None,
        orderby: Sequence[str] | None = None,
        count: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """All rows of ``entity`` matching ``filter``, fetched ``page_size`` at a time.

        ``orderby``: stable key fields (e.g. ``["SalesOrderNumber"]``) so ``$skip`` pages a
        fixed order. ``count``: also ask ``$inlinecount=allpages`` and check the rows read
        against it (:class:`~shopbridge.connectors._kit.pages.ODataPages`). [U] That Globe's
        adapter honours ``$orderby`` and ``$inlinecount`` (OData v2 / WCF Data Services
        both define them).
        """
        params: dict[str, Any] = {"$top": self.page_size, "$skip": 0}
        if filter:
            params["$filter"] = filter
        if select:
            params["$select"] = ",".join(select)
        if orderby:
            params["$orderby"] = ",".join(orderby)
        if count:
            params["$inlinecount"] = "allpages"
        yield from self._iter_paged(
            entity, ODataPages(self.page_size, entity), lambda resp: _page(resp).rows, params
        )

    def probe(self) -> None:
        """One cheap authenticated read (``Items?$top=1``): what ``test_connection`` uses."""
        self.send("GET", "Items", params={"$top": 1})

    def create(self, entity: str, body: dict[str, Any], *, retry: bool) -> dict[str, Any]:
        """POST a new record; returns the ``d`` object Globe echoes (with its ID and codes).

        ``retry`` must be False unless a replay cannot duplicate (STYLE R6).
        """
        resp = self.send("POST", entity, body=body, retry=retry)
        try:
            created = resp.json()["d"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalError(f"{describe(resp)}: create did not return a 'd' object") from exc
        if not isinstance(created, dict):
            raise FatalError(f"{describe(resp)}: 'd' is not an object")
        return created

    def merge(self, entity: str, key: str, body: dict[str, Any]) -> None:
        """MERGE (partial update) ``{Entity}(guid'key')``; idempotent, so retried."""
        self.merge_key(entity, f"guid'{key}'", body)

    def merge_key(self, entity: str, key_literal: str, body: dict[str, Any]) -> None:
        """MERGE ``{Entity}(<key_literal>)``, the key as an OData literal (``guid'…'``,
        ``'  10001'``); idempotent, so retried."""
        self.send("MERGE", f"{entity}({key_literal})", body=body)

    def batch(self, changesets: list[list[Operation]]) -> list[ChangesetResult]:
        """Send ``changesets`` as ONE OData ``$batch`` request; one result per changeset.

        Each changeset is atomic at Globe: all of its operations apply or none do. For an
        order that is its ``SalesOrderLine`` POSTs, then the ``SalesOrderHeader`` POST
        that commits them (operations run in the order given).

        Never retried (STYLE R6): the batch holds committing header POSTs, and a timeout
        or a 5xx can hide commits, so the caller looks its references up again before a
        second attempt. Failures of the whole request raise as any request does
        (:func:`check`: ``RetriableError`` for transport errors, 429 and 5xx, ``AuthError``
        for 401/403, ``FatalError`` otherwise); a changeset Globe refused (e.g. ``400
        ValidationError: Customer 60093 not found``) is returned with ``ok=False`` and the
        other changesets' results stand. An answer that is not a well-formed batch response
        is a ``FatalError``. [U] That Globe's adapter accepts ``$batch`` at all.
        """
        if not changesets:
            return []
        content_type, body = build_request(
            changesets, headers={k: v for k, v in self.headers.items() if k != "Content-Type"}
        )
        request = self._http.build_request(
            "POST",
            f"{self.root}/$batch",
            content=body,
            timeout=self.batch_timeout,
            headers={**self.headers, "Content-Type": content_type, "Accept": "multipart/mixed"},
        )
        resp = send(
            self._http,
            request,
            policy=self.policy,
            counter=self.counter,
            retry=False,
            check=_check_batch,
        )
        try:
            return results(changesets, parse(resp.headers.get("Content-Type", ""), resp.content))
        except BatchFormatError as exc:
            raise FatalError(
                f"{describe(resp)}: not an OData batch response: {exc}", response=resp
            ) from None


def _check_batch(resp: httpx.Response) -> None:
    """:func:`check`, plus a hint when the status says the service has no ``$batch``."""
    if resp.status_code not in _NO_BATCH_STATUSES:
        check(resp)
        return
    try:
        check(resp)
    except AuthError:
        raise
    except (FatalError, RetriableError) as err:
        raise FatalError(
            f"{err} (does this Globe accept OData $batch? set the connection's "
            f"extra.write_mode to 'single')",
            response=resp,
        ) from None
