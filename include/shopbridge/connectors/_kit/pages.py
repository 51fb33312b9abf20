"""Paginators: one class per paging scheme, owning all of its page state (dlt, Singer SDK).

A client asks ``start()`` for the first page, sends it, and hands ``advance()`` the
response with the page's items until it returns ``None``; :func:`paged` is that loop. The
response is what a scheme needs besides the items: the envelope's link or counts, its
``meta``, its ``@attributes``. Every scheme the connectors page with is here:

* :class:`PageNumber` (a short page is the last), :class:`TopSkip` (OData ``$top``/
  ``$skip``), :class:`SinceId` (a keyset cursor on the id);
* :class:`PageTotal` (``page``/``per_page`` and a ``meta.total``: Buckles [U]) and
  :class:`MetaPages` (Fortnox's ``MetaInformation`` ``@TotalPages``/``@CurrentPage``);
* :class:`NextLink` (a ``{start, size, next, items}`` envelope: CCV), :class:`OffsetCount`
  (an ``@attributes`` cursor link or ``offset``/``limit``/``count``: Lightspeed Retail) and
  :class:`ODataPages` (``$top``/``$skip`` that follows OData v2's server-driven ``__next``
  and checks ``__count``: Exact Globe).

None of them stops early in silence: a page that disagrees with what its envelope promised
is a :class:`PageMismatch`, one that would page forever a :class:`PaginationLoop`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from shopbridge.errors import ConfigError, FatalError, PaginationLoop

Items = list[dict[str, Any]]


@dataclass(frozen=True)
class Page:
    """The next request: query ``params`` on the list's own URL, or a ``url`` the server
    named (its query included) to request as given."""

    params: Mapping[str, str | int] = field(default_factory=dict)
    url: str | None = None


class Paginator(Protocol):
    def start(self) -> Page: ...
    def advance(self, response: httpx.Response, items: Items) -> Page | None: ...


class PageMismatch(FatalError):
    """A page disagrees with itself or with what was read before it (a count, a start, a
    page longer than asked): stop, rather than skip or double rows in silence."""


def check_page_size(size: int, most: int, name: str = "page_size") -> None:
    """A client's page size must be one the vendor serves: ``1..most`` (a larger one is
    capped by the server, and a pager counting on it would misjudge the last page)."""
    if not 1 <= size <= most:
        raise ConfigError(f"{name} must be 1..{most}, got {size}")


def body_of(response: httpx.Response) -> Any:
    """The response's JSON, or ``None`` when it has none (the client judged it already)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def paged(
    pager: Paginator,
    fetch: Callable[[Page], httpx.Response],
    items_of: Callable[[httpx.Response], Items],
) -> Iterator[dict[str, Any]]:
    """Every item of a list: ``fetch`` each page ``pager`` names, ``items_of`` its rows."""
    page: Page | None = pager.start()
    while page is not None:
        response = fetch(page)
        items = items_of(response)
        yield from items
        page = pager.advance(response, items)


def _fingerprint(items: Items) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


class _LoopGuard:
    """Raises when a full page is byte-identical to the one before (a vendor ignoring paging)."""

    def __init__(self, where: str = "") -> None:
        self._last: str | None = None
        self._where = f"{where}: " if where else ""

    def check(self, items: Items) -> None:
        fp = _fingerprint(items)
        if items and fp == self._last:
            raise PaginationLoop(
                f"{self._where}the same page came back twice; stopping instead of looping"
            )
        self._last = fp


def _count(value: Any) -> int | None:
    """A non-negative whole number from an envelope field, else ``None`` (not given)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# --- short page ends the list --------------------------------------------------------------


class PageNumber:
    """``page`` (1-based) + ``limit``; a page shorter than ``limit`` is the last (Lightspeed
    eCom, AccountView)."""

    def __init__(self, limit: int, *, page_param: str = "page", limit_param: str = "limit") -> None:
        self.limit = limit
        self._page = 1
        self._names = (page_param, limit_param)
        self._guard = _LoopGuard()

    def start(self) -> Page:
        self._page = 1
        return Page({self._names[0]: 1, self._names[1]: self.limit})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        self._guard.check(items)
        if len(items) < self.limit:
            return None
        self._page += 1
        return Page({self._names[0]: self._page, self._names[1]: self.limit})


class TopSkip:
    """OData ``$top``/``$skip``; a page shorter than ``$top`` is the last."""

    def __init__(self, top: int) -> None:
        self.top = top
        self._skip = 0
        self._guard = _LoopGuard()

    def start(self) -> Page:
        self._skip = 0
        return Page({"$top": self.top, "$skip": 0})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        self._guard.check(items)
        if len(items) < self.top:
            return None
        self._skip += self.top
        return Page({"$top": self.top, "$skip": self._skip})


class SinceId:
    """``since_id`` (the last id seen) + ``limit``: a keyset cursor over a list sorted by id;
    a page shorter than ``limit`` is the last (Lightspeed eCom).

    Page numbers are offsets into a list that can change under the reader: a record that
    leaves a filtered list (its ``updatedAt`` moves past the window while it is read)
    shifts every later record one place forward, and the one at the page boundary is
    skipped, lost for good when its own timestamp is older than the next window's start.
    A cursor on the id has no offset to shift: what left the list is gone, the rest still
    comes, and a record that enters it below the cursor waits for the next (overlapping)
    window. Raises when the cursor does not move forward (a vendor ignoring it).
    """

    def __init__(
        self,
        limit: int,
        *,
        id_field: str = "id",
        since_param: str = "since_id",
        limit_param: str = "limit",
    ) -> None:
        self.limit = limit
        self._id_field = id_field
        self._names = (since_param, limit_param)
        self._since = 0

    def start(self) -> Page:
        self._since = 0
        return Page({self._names[0]: 0, self._names[1]: self.limit})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        if len(items) < self.limit:
            return None
        ids = [
            int(i[self._id_field])
            for i in items
            if str(i.get(self._id_field, "")).lstrip("-").isdigit()
        ]
        last = max(ids, default=self._since)
        if last <= self._since:
            raise PaginationLoop(
                f"{self._names[0]} did not move past {self._since}; stopping instead of looping"
            )
        self._since = last
        return Page({self._names[0]: last, self._names[1]: self.limit})


# --- page number against a total -----------------------------------------------------------


class PageTotal:
    """``page``/``per_page`` from 1, then the next page while ``page * per_page < total``,
    all three read from the body's ``meta`` (Buckles [U]). The server may cap ``per_page``
    lower than asked: ``meta.per_page`` is what is followed. An empty page ends the list
    whatever ``total`` says; a page with another number than asked is a
    :class:`PaginationLoop`. With ``whole``, the rows read must add up to the last
    ``meta.total`` at the end (:class:`PageMismatch`): a list never ends early in silence.
    """

    def __init__(
        self, per_page: int, *, where: str = "list", meta_key: str = "meta", whole: bool = False
    ) -> None:
        self.per_page = per_page
        self.where = where
        self.meta_key = meta_key
        self.whole = whole
        self.page = 1
        self.read = 0

    def start(self) -> Page:
        self.page, self.read = 1, 0
        return Page({"page": 1, "per_page": self.per_page})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        body = body_of(response)
        meta = body.get(self.meta_key) if isinstance(body, Mapping) else None
        meta = meta if isinstance(meta, Mapping) else {}
        try:
            page, per_page, total = (int(meta["page"]), int(meta["per_page"]), int(meta["total"]))
        except (KeyError, TypeError, ValueError):
            raise FatalError(
                f"response meta is not {{page, per_page, total}}: {dict(meta)!r}"[:300]
            ) from None
        if page != self.page:
            raise PaginationLoop(f"asked for page {self.page}, the API sent page {page}")
        self.read += len(items)
        if not items or per_page < 1 or page * per_page >= total:
            if self.whole and self.read != total:
                raise PageMismatch(
                    f"{self.where}: meta.total is {total} but the pages held {self.read} records"
                )
            return None
        self.page = page + 1
        return Page({"page": self.page, "per_page": per_page})


def _meta(meta: Mapping[str, Any], name: str) -> int | None:
    """``MetaInformation[@name]`` (also without the ``@``, as older SDKs show it) as int."""
    value = meta.get(f"@{name}", meta.get(name))
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} is {value!r}")
    return int(value)


class MetaPages:
    """``page``/``limit`` paging driven by Fortnox's ``MetaInformation`` [V]:
    ``{"@TotalResources", "@TotalPages", "@CurrentPage"}`` (an empty list answers
    ``@TotalPages 0`` with ``@CurrentPage 1`` [V]).

    Paging never stops early in silence: a page that reports another page number than the
    one asked for means the vendor ignores paging (:class:`PaginationLoop`), and every page
    must hold exactly the rows its ``MetaInformation`` promises (``limit`` on each page but
    the last, the rest of ``@TotalResources`` on the last, ``@TotalPages`` =
    ceil(total / limit)); otherwise a :class:`FatalError` names the page: rows would be
    skipped or read twice without anyone noticing. Without ``MetaInformation`` (a bare
    array) a page shorter than ``limit`` is the last, and a longer one means the server
    ignored ``limit``: it was all.
    """

    def __init__(self, limit: int, where: str = "list") -> None:
        self.limit = limit
        self.where = where
        self._page = 1

    def start(self) -> Page:
        self._page = 1
        return Page({"page": 1, "limit": self.limit})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        body = body_of(response)
        meta = body.get("MetaInformation") if isinstance(body, Mapping) else None
        if not isinstance(meta, Mapping):
            if len(items) != self.limit:
                return None
        else:
            try:
                current = _meta(meta, "CurrentPage")
                pages = _meta(meta, "TotalPages")
                total = _meta(meta, "TotalResources")
            except (TypeError, ValueError):
                raise FatalError(
                    f"{self.where} page {self._page}: unreadable MetaInformation {dict(meta)!r}"
                ) from None
            current = self._page if current is None else current
            if current != self._page:
                raise PaginationLoop(
                    f"{self.where}: asked for page {self._page}, got page {current}"
                )
            if pages is None:
                raise FatalError(
                    f"{self.where} page {current}: MetaInformation has no "
                    f"@TotalPages: {dict(meta)!r}"
                )
            self._check_rows(current, pages, total, len(items))
            if current >= pages:
                return None
        self._page += 1
        return Page({"page": self._page, "limit": self.limit})

    def _check_rows(self, current: int, pages: int, total: int | None, rows: int) -> None:
        """Rows on page ``current`` against what ``MetaInformation`` promises."""
        if total is None:  # only the page count: every page but the last is full
            expected = self.limit if current < pages else None
        else:
            if pages != -(-total // self.limit):
                raise PageMismatch(
                    f"{self.where} page {current}: MetaInformation says {total} rows in "
                    f"{pages} pages, but {total} rows at {self.limit} a page make "
                    f"{-(-total // self.limit)}"
                )
            expected = (
                self.limit
                if current < pages
                else max(0, total - (pages - 1) * self.limit)
                if pages
                else 0
            )
        if expected is not None and rows != expected:
            raise PageMismatch(
                f"{self.where} page {current} of {pages}: {rows} rows, but MetaInformation "
                f"promises {expected} ({total if total is not None else '?'} in all, "
                f"{self.limit} a page): rows would be skipped or read twice"
            )


# --- links the server names ----------------------------------------------------------------


class NextLink:
    """``start``/``size`` for the first page, then the envelope's ``next`` link (CCV).

    The link is followed as the server wrote it (only its path and query: the host is
    ours), so the server's own ``size`` cap and filters carry over. Each page is checked
    against the envelope ``{"href","start","size","next","items"}``: its ``start`` must be
    the number of rows read so far, it holds at most ``size`` rows, and only a full page
    may name a ``next`` (a short or empty page with a ``next`` means the server dropped
    rows, and following on would skip them); a :class:`PageMismatch` otherwise. A link
    seen before is a :class:`PaginationLoop`.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.read = 0
        self._seen: set[str] = set()

    def start(self) -> Page:
        self.read = 0
        return Page({"start": 0, "size": self.size})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        body = body_of(response)
        body = body if isinstance(body, Mapping) else {}
        where = str(body.get("href") or "?")
        start, size, link = body.get("start"), body.get("size"), body.get("next")
        if _count(start) is not None and _count(start) != self.read:
            raise PageMismatch(
                f"{where}: the page starts at row {start} but {self.read} rows were read before it"
            )
        self.read += len(items)
        page = _count(size)
        if page is not None and len(items) > page:
            raise PageMismatch(f"{where}: {len(items)} rows on a page of size {size}")
        if not link:
            return None
        if not isinstance(link, str):
            raise FatalError(f"'next' is not a link: {link!r}")
        if not items or (page is not None and len(items) < page):
            raise PageMismatch(
                f"{where}: {len(items)} rows on a page of size {size} that "
                f"names a next page ({link}); rows would be skipped"
            )
        parts = urlsplit(link)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if target in self._seen:
            raise PaginationLoop(f"the API sent the same next link twice: {parts.path}")
        self._seen.add(target)
        return Page(url=target)


def _whole(attrs: Mapping[str, Any], key: str, entity: str) -> int | None:
    """An ``@attributes`` number (a string: ``"234"``), ``None`` when absent."""
    if key not in attrs or attrs[key] in (None, ""):
        return None
    try:
        value = int(str(attrs[key]))
    except ValueError:
        raise FatalError(
            f"{entity}: @attributes.{key} is not a number: {str(attrs[key])[:40]!r}"
        ) from None
    if value < 0:
        raise FatalError(f"{entity}: @attributes.{key} is negative ({value})")
    return value


class OffsetCount:
    """Both list envelopes Lightspeed Retail has used, under ``@attributes``:

    * a cursor [V, docs]: ``{next, previous}``; follow ``next`` (a full URL with an opaque
      ``after``) until it is ``""``, only on ``origin`` (the bearer token must not leave
      the API host), never the same URL twice (:class:`PaginationLoop`);
    * ``{count, offset, limit}`` [V, recorded]: the next page is ``offset + limit`` of the
      same query while that is below ``count``. Every page must hold
      ``min(limit, count - offset)`` rows, and the rows read must add up to ``count`` at
      the end: anything else is a :class:`PageMismatch` naming both numbers (records
      appearing or vanishing between pages would otherwise be skipped without a word);
    * a ``count`` alone (a query answered in one piece) must equal the rows in it.

    The first page is the list's own query (``start()`` adds nothing); an offset page adds
    only ``offset`` to it. ``vendor`` names who said what in the messages.
    """

    def __init__(
        self,
        entity: str,
        origin: httpx.URL,
        *,
        vendor: str = "the API",
        attributes: str = "@attributes",
    ) -> None:
        self.entity = entity
        self.origin = origin
        self.vendor = vendor
        self.attributes = attributes
        self.read = 0
        self._links: set[str] = set()
        self._offsets: set[int] = set()

    def start(self) -> Page:
        self.read = 0
        return Page()

    def _link(self, attrs: Mapping[str, Any]) -> str | None:
        nxt = attrs.get("next")
        if not nxt:
            return None
        url = httpx.URL(str(nxt))
        if (url.scheme, url.host, url.port) != (
            self.origin.scheme,
            self.origin.host,
            self.origin.port,
        ):
            raise FatalError(
                f"{self.vendor}'s next page is on another host ({url.host}); "
                "not following it with our token"
            )
        if str(url) in self._links:
            raise PaginationLoop(f"{self.vendor} sent the same next page twice ({url.path})")
        self._links.add(str(url))
        return str(url)

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        rows = len(items)
        self.read += rows
        body = body_of(response)
        attrs = body.get(self.attributes) if isinstance(body, Mapping) else None
        attrs = attrs if isinstance(attrs, Mapping) else {}
        url = self._link(attrs)
        if url is not None:
            return Page(url=url)
        count = _whole(attrs, "count", self.entity)
        offset = _whole(attrs, "offset", self.entity)
        limit = _whole(attrs, "limit", self.entity)
        if count is None:
            return None
        if offset is None or limit is None:
            if rows != count:
                raise PageMismatch(
                    f"{self.entity}: {self.vendor} said count {count} but sent {rows} rows"
                )
            return None
        expected = max(0, min(limit, count - offset))
        if rows != expected:
            raise PageMismatch(
                f"{self.entity}: the page at offset {offset} (limit {limit}) of a list with "
                f"count {count} holds {rows} rows, not {expected}: the list changed while "
                "it was read or the count is wrong; not going on with a partial list"
            )
        if limit == 0 or offset + limit >= count:
            if self.read != count:
                raise PageMismatch(
                    f"{self.entity}: {self.vendor} said count {count} "
                    f"but {self.read} rows were read"
                )
            return None
        nxt = offset + limit
        if nxt in self._offsets:
            raise PaginationLoop(f"{self.entity}: {self.vendor} sent offset {nxt} twice")
        self._offsets.add(nxt)
        return Page({"offset": nxt})


@dataclass(frozen=True)
class ODataPage:
    """One OData v2 list response: its rows, the ``__next`` link and ``__count`` (if sent)."""

    rows: Items
    next_link: str | None = None
    count: int | None = None


def parse_list(payload: Any, where: str = "response") -> ODataPage:
    """An OData v2 list body in either JSON verbose form -> :class:`ODataPage`.

    ``{"d":{"results":[...],"__next":"…","__count":"12"}}`` or ``{"d":[...]}``; every row
    must be an object. Anything else is a ``FatalError`` naming ``where``.
    """
    d = payload.get("d") if isinstance(payload, dict) else None
    if isinstance(d, list):
        rows, next_link, count = d, None, None
    elif isinstance(d, dict) and "results" in d:
        rows, next_link, count = d["results"], d.get("__next"), d.get("__count")
    else:
        raise FatalError(
            f"{where}: not an OData list envelope ({{'d': [...]}} or {{'d': {{'results': [...]}}}})"
        )
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise FatalError(f"{where}: 'results' is not a list of objects")
    if next_link is not None and not (isinstance(next_link, str) and next_link.strip()):
        raise FatalError(f"{where}: '__next' is not a link: {next_link!r}")
    total: int | None = None
    if count is not None:
        try:
            total = int(str(count).strip())
        except ValueError:
            raise FatalError(f"{where}: '__count' is not a number: {count!r}") from None
    return ODataPage(rows, next_link, total)


class ODataPages:
    """OData v2 ``$top``/``$skip`` paging that follows ``__next`` and checks what it read
    (Exact Globe).

    * a page with ``__next`` is not the last, however short (the server capped it);
      the link is followed as given, and the pages it leads to count towards the same
      ``$top``;
    * without ``__next``, a request that got fewer than ``$top`` rows is the last, a full
      one asks for ``$skip + $top``;
    * more rows than ``$top`` raises :class:`PageMismatch` (the server ignores ``$top``:
      ``$skip`` would re-read or skip rows);
    * the same non-empty page twice raises :class:`PaginationLoop`;
    * at the end, rows read must equal the first ``__count`` the server sent, else
      :class:`PageMismatch` naming both numbers.
    """

    def __init__(self, top: int, where: str) -> None:
        self.top = top
        self.where = where
        self.skip = 0
        self.read = 0
        #: rows of the current ``$top`` request, over the ``__next`` links it was split into
        self.chain = 0
        self.count: int | None = None
        self._guard = _LoopGuard(where)

    def start(self) -> Page:
        self.skip = self.read = self.chain = 0
        self.count = None
        return Page({"$top": self.top, "$skip": 0})

    def advance(self, response: httpx.Response, items: Items) -> Page | None:
        page = parse_list(body_of(response), self.where)
        n = len(items)
        self.chain += n
        if self.chain > self.top:
            raise PageMismatch(
                f"{self.where}: {self.chain} rows for $top={self.top}; "
                "the server ignores $top, so $skip paging would skip or "
                "repeat rows"
            )
        if page.count is not None and self.count is None:
            self.count = page.count
        self._guard.check(items)
        self.read += n
        if page.next_link:
            if not items:
                raise PaginationLoop(f"{self.where}: an empty page with a __next link")
            return Page(url=page.next_link)
        if self.chain == self.top:
            self.skip += self.chain
            self.chain = 0
            return Page({"$top": self.top, "$skip": self.skip})
        if self.count is not None and self.count != self.read:
            raise PageMismatch(
                f"{self.where}: the server counted {self.count} rows "
                f"(__count) but paging read {self.read}"
            )
        return None
