import httpx
import pytest

from shopbridge.connectors._kit.pages import Page, PageNumber, SinceId, TopSkip
from shopbridge.errors import PaginationLoop

#: the simple schemes read only the items; any response will do
OK = httpx.Response(200, json=[])


def params(page: Page | None) -> dict[str, str | int]:
    assert page is not None
    return dict(page.params)


@pytest.mark.parametrize(
    ("pages", "expected_params"),
    [
        ([[{"id": 1}, {"id": 2}], [{"id": 3}]], [{"page": 1, "limit": 2}, {"page": 2, "limit": 2}]),
        ([[{"id": 1}, {"id": 2}], []], [{"page": 1, "limit": 2}, {"page": 2, "limit": 2}]),
        ([[]], [{"page": 1, "limit": 2}]),
    ],
)
def test_page_number(pages, expected_params):
    p = PageNumber(limit=2)
    seen = [dict(p.start().params)]
    for items in pages:
        nxt = p.advance(OK, items)
        if nxt is None:
            break
        seen.append(dict(nxt.params))
    assert seen == expected_params


def test_top_skip():
    p = TopSkip(top=2)
    assert dict(p.start().params) == {"$top": 2, "$skip": 0}
    assert params(p.advance(OK, [{"a": 1}, {"a": 2}])) == {"$top": 2, "$skip": 2}
    assert p.advance(OK, [{"a": 3}]) is None


def test_identical_full_page_twice_is_a_loop():
    p = PageNumber(limit=1)
    p.start()
    p.advance(OK, [{"id": 1}])
    with pytest.raises(PaginationLoop):
        p.advance(OK, [{"id": 1}])


def test_since_id_follows_the_last_id_of_each_full_page():
    p = SinceId(limit=2)
    assert dict(p.start().params) == {"since_id": 0, "limit": 2}
    assert params(p.advance(OK, [{"id": 4}, {"id": "9"}])) == {"since_id": 9, "limit": 2}
    assert p.advance(OK, [{"id": 12}]) is None


def test_since_id_that_does_not_move_is_a_loop():
    p = SinceId(limit=2)
    p.start()
    p.advance(OK, [{"id": 4}, {"id": 9}])
    with pytest.raises(PaginationLoop):
        p.advance(OK, [{"id": 3}, {"id": 9}])
