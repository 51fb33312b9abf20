"""The kit's paginators driven through :func:`paged` against fake servers: which pages are
requested, when the list ends, and what stops a read that would skip rows or loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shopbridge.connectors._kit.pages import (
    MetaPages,
    NextLink,
    ODataPages,
    OffsetCount,
    Page,
    PageMismatch,
    PageNumber,
    PageTotal,
    Paginator,
    SinceId,
    paged,
    parse_list,
)
from shopbridge.errors import FatalError, PaginationLoop

Body = dict[str, Any] | list[Any]


def run(
    pager: Paginator,
    serve: Callable[[Page], Body],
    items_of: Callable[[Any], list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[Page]]:
    """Every item ``pager`` pages out of ``serve``, and the pages it asked for."""
    asked: list[Page] = []

    def fetch(page: Page) -> httpx.Response:
        asked.append(page)
        return httpx.Response(200, json=serve(page))

    return list(paged(pager, fetch, lambda resp: items_of(resp.json()))), asked


def rows(n: int, first: int = 1) -> list[dict[str, Any]]:
    return [{"id": i} for i in range(first, first + n)]


# --- short page ends the list ------------------------------------------------------------


def test_page_number_asks_until_a_short_page() -> None:
    data = rows(5)

    def serve(page: Page) -> Body:
        n, size = int(page.params["page"]), int(page.params["limit"])
        return data[(n - 1) * size : n * size]

    items, asked = run(PageNumber(2), serve, lambda body: body)
    assert items == data
    assert [dict(p.params) for p in asked] == [{"page": n, "limit": 2} for n in (1, 2, 3)]


def test_page_number_exactly_full_costs_one_empty_page_and_renamed_params() -> None:
    data = rows(4)

    def serve(page: Page) -> Body:
        n = int(page.params["PageNumber"])
        return data[(n - 1) * 2 : n * 2]

    pager = PageNumber(2, page_param="PageNumber", limit_param="PageSize")
    items, asked = run(pager, serve, lambda body: body)
    assert items == data and [p.params["PageNumber"] for p in asked] == [1, 2, 3]


def test_a_server_ignoring_the_page_number_is_a_loop() -> None:
    with pytest.raises(PaginationLoop):
        run(PageNumber(2), lambda page: rows(2), lambda body: body)


def test_since_id_pages_by_the_last_id_seen() -> None:
    data = rows(5, first=10)

    def serve(page: Page) -> Body:
        since = int(page.params["since_id"])
        return [r for r in data if r["id"] > since][: int(page.params["limit"])]

    items, asked = run(SinceId(2), serve, lambda body: body)
    assert items == data
    assert [p.params["since_id"] for p in asked] == [0, 11, 13]


# --- page number against a total ---------------------------------------------------------


def envelope(data: list[dict[str, Any]], page: int, per_page: int, total: int) -> Body:
    part = data[(page - 1) * per_page : page * per_page]
    return {"data": part, "meta": {"page": page, "per_page": per_page, "total": total}}


def test_page_total_follows_the_servers_per_page_and_stops_at_the_total() -> None:
    data = rows(7)

    def serve(page: Page) -> Body:  # the server caps per_page at 3
        return envelope(data, int(page.params["page"]), 3, len(data))

    items, asked = run(PageTotal(10, whole=True), serve, lambda body: body["data"])
    assert items == data
    assert [dict(p.params) for p in asked] == [
        {"page": 1, "per_page": 10},
        {"page": 2, "per_page": 3},
        {"page": 3, "per_page": 3},
    ]


def test_page_total_that_the_pages_do_not_add_up_to_fails() -> None:
    def serve(page: Page) -> Body:  # says 5, ends after 2
        return envelope(rows(2), int(page.params["page"]), 2, 5)

    with pytest.raises(PageMismatch, match=r"GET x: meta\.total is 5 but the pages held 2"):
        run(PageTotal(2, where="GET x", whole=True), serve, lambda body: body["data"])


def test_page_total_sent_the_wrong_page_is_a_loop() -> None:
    with pytest.raises(PaginationLoop, match="asked for page 2, the API sent page 1"):
        run(PageTotal(2), lambda page: envelope(rows(4), 1, 2, 4), lambda body: body["data"])


def test_meta_pages_read_meta_information_and_a_bare_array() -> None:
    data = rows(5)

    def serve(page: Page) -> Body:
        n = int(page.params["page"])
        meta = {"@TotalResources": 5, "@TotalPages": 3, "@CurrentPage": n}
        return {"Orders": data[(n - 1) * 2 : n * 2], "MetaInformation": meta}

    items, asked = run(MetaPages(2, "GET /3/orders"), serve, lambda body: body["Orders"])
    assert items == data and len(asked) == 3
    bare, asked = run(MetaPages(2), lambda page: rows(3), lambda body: body)
    assert len(bare) == 3 and len(asked) == 1  # the server ignored limit: that was all


def test_meta_pages_short_page_before_the_last_fails() -> None:
    def serve(page: Page) -> Body:
        meta = {"@TotalResources": 5, "@TotalPages": 3, "@CurrentPage": 1}
        return {"Orders": rows(1), "MetaInformation": meta}

    with pytest.raises(PageMismatch, match="page 1 of 3: 1 rows, but MetaInformation promises 2"):
        run(MetaPages(2), serve, lambda body: body["Orders"])


# --- links the server names --------------------------------------------------------------


def test_next_link_follows_the_path_and_checks_the_start() -> None:
    base = "https://shop.example/api/rest/v1/products"

    def serve(page: Page) -> Body:
        start = 0 if page.url is None else int(page.url.split("start=")[1].split("&")[0])
        part = rows(5)[start : start + 2]
        nxt = f"{base}?start={start + 2}&size=2" if start + 2 < 5 else None
        return {"href": base, "start": start, "size": 2, "next": nxt, "items": part}

    items, asked = run(NextLink(2), serve, lambda body: body["items"])
    assert items == rows(5)
    assert [p.url for p in asked] == [
        None,
        "/api/rest/v1/products?start=2&size=2",
        "/api/rest/v1/products?start=4&size=2",
    ]
    assert dict(asked[0].params) == {"start": 0, "size": 2}


def test_next_link_page_that_starts_elsewhere_fails() -> None:
    body = {"href": "x", "start": 3, "size": 2, "next": None, "items": rows(1)}
    with pytest.raises(PageMismatch, match="starts at row 3 but 0 rows were read"):
        run(NextLink(2), lambda page: body, lambda b: b["items"])


def test_offset_count_pages_by_offset_and_refuses_a_foreign_next_link() -> None:
    data = rows(5)

    def serve(page: Page) -> Body:
        offset = int(page.params.get("offset", 0))
        attrs = {"count": "5", "offset": str(offset), "limit": "2"}
        return {"Sale": data[offset : offset + 2], "@attributes": attrs}

    pager = OffsetCount("Sale", httpx.URL("https://api.example"))
    items, asked = run(pager, serve, lambda body: body["Sale"])
    assert items == data and [dict(p.params) for p in asked] == [{}, {"offset": 2}, {"offset": 4}]
    foreign = {"Item": rows(1), "@attributes": {"next": "https://elsewhere.example/Item.json"}}
    with pytest.raises(FatalError, match="on another host"):
        run(
            OffsetCount("Item", httpx.URL("https://api.example")),
            lambda page: foreign,
            lambda body: body["Item"],
        )


def test_odata_pages_follow_next_then_skip_and_check_the_count() -> None:
    def serve(page: Page) -> Body:
        if page.url is not None:  # the server capped the first request at 1 row
            return {"d": {"results": rows(1, first=2)}}
        if page.params["$skip"] == 0:
            return {"d": {"results": rows(1), "__next": "Items?$skiptoken=1", "__count": "3"}}
        return {"d": {"results": rows(1, first=3)}}

    items, asked = run(ODataPages(2, "Items"), serve, lambda body: parse_list(body).rows)
    assert [r["id"] for r in items] == [1, 2, 3]
    assert [(p.url, dict(p.params)) for p in asked] == [
        (None, {"$top": 2, "$skip": 0}),
        ("Items?$skiptoken=1", {}),
        (None, {"$top": 2, "$skip": 2}),
    ]


def test_odata_pages_count_that_disagrees_fails() -> None:
    body = {"d": {"results": rows(1), "__count": "4"}}
    with pytest.raises(PageMismatch, match=r"counted 4 rows \(__count\) but paging read 1"):
        run(ODataPages(2, "Items"), lambda page: body, lambda b: parse_list(b).rows)
