"""Drill: thousands of malformed vendor records through translate + map.

Each case starts from a valid order of a vendor (the unit tests' own samples) and breaks it
in one to three places: a field removed, or replaced by the wrong type, an absurd number,
unicode, a huge string, an empty or nested value. Whatever comes in, the orders flow's
``validate_and_map`` must not crash: the record is either mapped or quarantined with the
record's id and the field that was wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopbridge.config import OrderSettings, load_integration
from shopbridge.flows import orders
from shopbridge.tools.tryout import offline_source
from tests.unit.test_exact_globe_from_globe import record as globe_record
from tests.unit.test_fortnox_translate import order as fortnox_record

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests/fixtures/lightspeed_ecom"

#: vendor -> (a valid record, the pair file and flow whose mapping it goes through)
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "lightspeed_ecom": (
        json.loads((FIXTURES / "company_order.in.json").read_text()),
        "lightspeed_ecom__exact_globe",
        "orders",
    ),
    "exact_globe": (globe_record(), "lightspeed_ecom__exact_globe", "erp_orders"),
    "fortnox": (fortnox_record(), "fortnox__lightspeed_retail", "orders"),
}

BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.just(""),
    st.just([]),
    st.just({}),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),  # unicode, control characters
    st.text(alphabet="𝔘ñï¢ødé\u202e\x00", min_size=1, max_size=20),
    st.just("9" * 5000),
    st.just("x" * 100_000),  # huge strings
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path in a JSON-like value."""
    out: list[tuple[Any, ...]] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _mutate(record: dict[str, Any], path: tuple[Any, ...], new: Any, delete: bool) -> None:
    parent: Any = record
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = new


@st.composite
def broken(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    record = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(record)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _mutate(record, path, draw(BAD_VALUES), draw(st.booleans()))
    return record


class _Source:
    """The source connector's translator, offline (the demo shop's currency: Lightspeed
    orders carry none of their own)."""

    def __init__(self, system: str) -> None:
        self.to_order = offline_source(system, currency="EUR").to_order


@pytest.mark.parametrize("system", sorted(CASES))
def test_a_malformed_record_is_mapped_or_quarantined_naming_the_field(system: str) -> None:
    base, pair, flow = CASES[system]
    cfg = load_integration(ROOT / "include/integrations" / f"{pair}.yaml")
    mapper = cfg.mapper(flow)
    source = _Source(system)
    # the valid sample itself maps: the drill breaks a record that would have gone through
    ok = orders.validate_and_map(source, [base], OrderSettings(), mapper, cfg.rules)  # type: ignore[arg-type]
    assert len(ok["orders"]) == 1, ok["counts"]

    @settings(
        max_examples=1500,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(record=broken(base))
    def check(record: dict[str, Any]) -> None:
        result = orders.validate_and_map(
            source,
            [record],
            OrderSettings(),
            mapper,  # type: ignore[arg-type]
            cfg.rules,
        )
        counts = result["counts"]
        assert (
            len(result["orders"]) + counts["orders_quarantined"] + counts["orders_skipped_status"]
            == 1
        ), counts
        for q in result["quarantined"] if "quarantined" in result else counts["quarantined"]:
            assert q["entity"] == "order" and q["source_id"] and q["field"], q
            assert q["reason"] and len(q["reason"]) <= 2000, q

    check()


def _product_sources() -> dict[str, tuple[Any, dict[str, Any], str]]:
    """system -> (its product source, a valid record, the pair whose mapping it takes)."""
    from types import SimpleNamespace

    from shopbridge.connectors.accountview.source import AccountViewSource
    from shopbridge.connectors.base import CallCounter
    from shopbridge.connectors.ccv_salespos.source import CcvSalesposSource
    from tests.unit.test_accountview_translate import article
    from tests.unit.test_ccv_salespos_translate import combo
    from tests.unit.test_ccv_salespos_translate import product as ccv_product

    client = SimpleNamespace(counter=CallCounter())
    return {
        "ccv_salespos": (
            CcvSalesposSource(client),  # type: ignore[arg-type]
            ccv_product(
                attributecombinations=[combo(11, "MUG-1-B", "Black"), combo(12, "MUG-1-W", "White")]
            ),
            "lightspeed_ecom__ccv_salespos",
        ),
        "accountview": (
            AccountViewSource(client),
            article(),  # type: ignore[arg-type]
            "lightspeed_ecom__accountview",
        ),
    }


@pytest.mark.parametrize("system", ["accountview", "ccv_salespos"])
def test_a_malformed_product_is_mapped_or_quarantined_naming_the_field(system: str) -> None:
    from shopbridge.flows import products

    source, base, pair = _product_sources()[system]
    cfg = load_integration(ROOT / "include/integrations" / f"{pair}.yaml")
    spec, mapper = cfg.flows["products"].products, cfg.mapper("products")
    ok = products.validate_and_map(source, [base], spec, mapper)
    assert ok["counts"]["products_quarantined"] == 0, ok["counts"]

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(record=broken(base))
    def check(record: dict[str, Any]) -> None:
        result = products.validate_and_map(source, [record], spec, mapper)
        for q in result["counts"]["quarantined"]:
            assert q["entity"] in ("product", "category", "image"), q
            assert q["source_id"] and q["field"] and len(q["reason"]) <= 2000, q

    check()
