import pytest

from shopbridge.errors import PaginationLoop
from shopbridge.paginate import PageNumber, TopSkip


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
        nxt = p.advance(items)
        if nxt is None:
            break
        seen.append(dict(nxt.params))
    assert seen == expected_params


def test_top_skip():
    p = TopSkip(top=2)
    assert dict(p.start().params) == {"$top": 2, "$skip": 0}
    assert dict(p.advance([{"a": 1}, {"a": 2}]).params) == {"$top": 2, "$skip": 2}
    assert p.advance([{"a": 3}]) is None


def test_identical_full_page_twice_is_a_loop():
    p = PageNumber(limit=1)
    p.start()
    p.advance([{"id": 1}])
    with pytest.raises(PaginationLoop):
        p.advance([{"id": 1}])
