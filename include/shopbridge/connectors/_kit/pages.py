"""Paginators: one class per paging scheme, owning all of its page state (dlt, Singer SDK).

A client asks ``start()`` for the first page's parameters, then ``advance()`` with each
page's items until it returns ``None``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shopbridge.errors import PaginationLoop


@dataclass(frozen=True)
class Page:
    params: Mapping[str, str | int] = field(default_factory=dict)


class Paginator(Protocol):
    def start(self) -> Page: ...
    def advance(self, items: list[dict[str, Any]]) -> Page | None: ...


def _fingerprint(items: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


class _LoopGuard:
    """Raises when a full page is byte-identical to the one before (a vendor ignoring paging)."""

    def __init__(self) -> None:
        self._last: str | None = None

    def check(self, items: list[dict[str, Any]]) -> None:
        fp = _fingerprint(items)
        if items and fp == self._last:
            raise PaginationLoop("the same page came back twice; stopping instead of looping")
        self._last = fp


class PageNumber:
    """``page`` (1-based) + ``limit``; a page shorter than ``limit`` is the last (Lightspeed)."""

    def __init__(self, limit: int, *, page_param: str = "page", limit_param: str = "limit") -> None:
        self.limit = limit
        self._page = 1
        self._names = (page_param, limit_param)
        self._guard = _LoopGuard()

    def start(self) -> Page:
        self._page = 1
        return Page({self._names[0]: 1, self._names[1]: self.limit})

    def advance(self, items: list[dict[str, Any]]) -> Page | None:
        self._guard.check(items)
        if len(items) < self.limit:
            return None
        self._page += 1
        return Page({self._names[0]: self._page, self._names[1]: self.limit})


class TopSkip:
    """OData ``$top``/``$skip``; a page shorter than ``$top`` is the last (Exact Globe)."""

    def __init__(self, top: int) -> None:
        self.top = top
        self._skip = 0
        self._guard = _LoopGuard()

    def start(self) -> Page:
        self._skip = 0
        return Page({"$top": self.top, "$skip": 0})

    def advance(self, items: list[dict[str, Any]]) -> Page | None:
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

    def advance(self, items: list[dict[str, Any]]) -> Page | None:
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
