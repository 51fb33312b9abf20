"""The Mapper: defaults reproduce today's Exact Globe payload; YAML overrides; value maps."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shopbridge.connectors.exact_globe.defaults import DEFAULTS
from shopbridge.connectors.exact_globe.translate import order_header, order_lines
from shopbridge.connectors.lightspeed_ecom.translate import order_from_lightspeed
from shopbridge.connectors.registry import defaults_for
from shopbridge.errors import RecordError
from shopbridge.mapping import (
    EntityMapping,
    FieldRule,
    MappedOrder,
    Mapper,
    MappingError,
    MappingSpec,
    ValueMap,
)
from shopbridge.mapping.defaults import incl_tax, rules
from shopbridge.mapping.engine import jsonable

FIX = Path(__file__).parents[1] / "fixtures" / "lightspeed_ecom"
CASES = sorted(FIX.glob("*.in.json"))
PAIR = ("lightspeed_ecom", "exact_globe")
STRUCTURAL = {"TransactionKey", "OrderDebtor", "YourReference", "LineNumber"}


def mapper(spec: dict[str, Any] | None = None) -> Mapper:
    return Mapper(
        MappingSpec.model_validate(spec or {}),
        defaults_for("exact_globe").mapping(*PAIR, "orders"),
        base_value_maps=DEFAULTS.value_maps[PAIR],
    )


def load(name: str = "company_order") -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((FIX / f"{name}.in.json").read_text())
    return raw


def mapped(spec: dict[str, Any] | None, raw: dict[str, Any]) -> MappedOrder:
    return mapper(spec).map_order(order_from_lightspeed(raw), raw)


@pytest.mark.parametrize("src", CASES, ids=lambda p: p.stem.removesuffix(".in"))
def test_defaults_reproduce_exact_globe_translate(src: Path) -> None:
    raw = json.loads(src.read_text())
    order = order_from_lightspeed(raw)
    got = mapper().map_order(order, raw)
    header = order_header(order, debtor_code="D1", reference="R1", transaction_key="T1")
    lines = order_lines(order, "T1")
    assert got.header == {k: v for k, v in header.items() if k not in STRUCTURAL}
    assert got.lines == [{k: v for k, v in line.items() if k not in STRUCTURAL} for line in lines]


def test_mapped_order_is_json_and_round_trips() -> None:
    got = mapped(
        {
            "orders": {
                "header": {
                    "Created": "order.created_at",
                    "Total": "order.total_incl | decimal(2)",
                    "Kind": "order.customer.kind",
                }
            }
        },
        load(),
    )
    text = json.dumps(got.as_dict())
    assert MappedOrder.from_dict(json.loads(text)) == got
    assert got.header["Created"] == "2026-11-17T09:12:00+01:00"
    assert got.header["Total"] == "91.29"
    assert got.header["Kind"] == "company"
    for value in [*got.header.values(), *(v for line in got.lines for v in line.values())]:
        assert not isinstance(value, float)
        assert not re.search(r"\dE[+-]", str(value))


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+1"), "10"),
        (Decimal("2.1E+1"), "21"),
        (0.1, "0.1"),
        (True, True),
        (3, 3),
        (date(2026, 1, 2), "2026-01-02"),
        (None, None),
    ],
)
def test_jsonable(value: object, want: object) -> None:
    assert jsonable(value) == want


def test_yaml_overrides_adds_constant_custom_field_and_drops() -> None:
    raw = load() | {"memo": "  leave at the back door  "}
    spec = {
        "orders": {
            "header": {
                "Description": "order.number | lower",  # replaces a default
                "Remark": "source.memo | strip | truncate(10)",  # custom field from source
                "Warehouse": {"const": "1"},  # constant
                "Journal": 70,  # scalar shorthand = const
                "Reference": {
                    "source": ["order.number", "source.memo"],
                    "transforms": ["concat(' / ')"],
                },
            },
            "lines": {"CostCenter": {"const": "WEB"}, "Ean": "line.ean | default('none')"},
            "drop": ["AmountDC", "lines.VATPercentage"],
        }
    }
    got = mapped(spec, raw)
    assert got.header["Description"] == "ord30017"
    assert got.header["Remark"] == "leave at t"
    assert got.header["Warehouse"] == "1"
    assert got.header["Journal"] == 70
    assert got.header["Reference"] == "ORD30017 /   leave at the back door  "
    assert "AmountDC" not in got.header
    assert all("VATPercentage" not in line for line in got.lines)
    assert [line["CostCenter"] for line in got.lines] == ["WEB", "WEB"]
    assert got.lines[0]["Ean"] == "8700000009004"
    origins = {(s, f): o for s, f, _, o in mapper(spec).table()}
    assert origins[("header", "Description")] == "yaml"
    assert origins[("header", "Currency")] == "default"
    assert ("header", "AmountDC") not in origins


def test_missing_source_value_leaves_the_field_out() -> None:
    got = mapped({"orders": {"header": {"Remark": "source.no_such_field"}}}, load())
    assert "Remark" not in got.header


def test_table_prints_rules_as_text() -> None:
    rows = mapper({"orders": {"header": {"Note": "[source.memo, order.number] | concat"}}}).table()
    assert (
        "header",
        "PaymentCondition",
        "order.payment_method | omit_empty | lookup(payment_condition)",
        "default",
    ) in rows
    assert ("header", "Note", "[source.memo, order.number] | concat", "yaml") in rows
    assert ("lines", "VATPercentage", "line.tax_rate | percent", "default") in rows


@pytest.mark.parametrize(
    ("value_map", "want"),
    [
        ({"values": {"iDEAL": "IDL"}}, "IDL"),
        ({"values": {"Klarna": "KL"}}, "iDEAL"),  # passthrough
        ({"values": {"Klarna": "KL"}, "on_missing": "default", "default": "30D"}, "30D"),
    ],
)
def test_value_map_payment_condition(value_map: dict[str, Any], want: str) -> None:
    got = mapped({"value_maps": {"payment_condition": value_map}}, load())
    assert got.header["PaymentCondition"] == want


def test_value_map_quarantine_raises_record_error() -> None:
    spec = {
        "value_maps": {
            "payment_condition": {"values": {"Klarna": "KL"}, "on_missing": "quarantine"}
        }
    }
    with pytest.raises(RecordError) as caught:
        mapped(spec, load())
    err = caught.value
    assert (err.entity, err.source_id, err.field) == ("order", "30017", "header.PaymentCondition")
    assert err.reason == "payment method 'iDEAL' has no entry in value map 'payment_condition'"


def test_line_value_map_quarantine_names_the_line() -> None:
    spec = {
        "value_maps": {"vat": {"values": {"0.09": "L"}, "on_missing": "quarantine"}},
        "orders": {"lines": {"VATCode": "line.tax_rate | lookup(vat)"}},
    }
    with pytest.raises(RecordError) as caught:
        mapped(spec, load())
    assert caught.value.field == "lines[0].VATCode"
    assert "tax rate Decimal('0.21') has no entry in value map 'vat'" in caught.value.reason


def test_value_map_keys_compare_as_text() -> None:
    spec = {
        "value_maps": {"vat": {"values": {0.21: "H", "0.09": "L"}, "on_missing": "quarantine"}},
        "orders": {"lines": {"VATCode": "line.tax_rate | lookup(vat)"}},
    }
    assert [line["VATCode"] for line in mapped(spec, load()).lines] == ["H", "H"]


def test_bad_value_at_run_time_is_a_record_error() -> None:
    spec = {"orders": {"header": {"Amount": "source.memo | decimal(2)"}}}
    with pytest.raises(RecordError, match=r"header\.Amount"):
        mapped(spec, load() | {"memo": "not a number"})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {
                "orders": {
                    "header": {"PaymentCondition": "order.payment_method | upper | lookupp(x)"}
                }
            },
            "header.PaymentCondition.transforms[1]: unknown transform 'lookupp'; known: ",
        ),
        (
            {"orders": {"header": {"X": "order.numbr"}}},
            "header.X.source: path 'order.numbr': order has no field 'numbr'",
        ),
        (
            {"orders": {"header": {"X": "[order.number, order.nope] | concat"}}},
            "header.X.source[1]: path 'order.nope'",
        ),
        ({"orders": {"header": {"X": "line.sku"}}}, "header.X.source: path 'line.sku'"),
        (
            {"orders": {"lines": {"X": "line.sku | lookup(vat_code)"}}},
            "lines.X.transforms[0]: lookup: unknown value map 'vat_code'; known: payment_condition",
        ),
        ({"orders": {"drop": ["Nope"]}}, "drop[0]: 'Nope' is not a default field"),
    ],
)
def test_bad_rules_fail_when_built(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingError, match=re.escape(message)):
        mapper(spec)


@pytest.mark.parametrize(
    "data",
    [
        {"source": "order.number", "const": "x"},
        {},
        {"source": []},
    ],
)
def test_field_rule_needs_exactly_one_origin(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="source"):
        FieldRule.model_validate(data)


def test_field_rule_shorthand() -> None:
    rule = FieldRule.of("order.number | upper | truncate(40)")
    assert (rule.source, rule.transforms) == ("order.number", ("upper", "truncate(40)"))
    rule = FieldRule.of("[source.a, source.b] | concat('|') | upper")
    assert (rule.source, rule.transforms) == (["source.a", "source.b"], ("concat('|')", "upper"))
    assert rule.text() == "[source.a, source.b] | concat('|') | upper"
    assert FieldRule.model_validate(True).const is True
    assert FieldRule.of("order.number").text() == "order.number"
    assert FieldRule(const="X").text() == "const 'X'"


def test_value_map_default_needs_a_default() -> None:
    with pytest.raises(ValueError, match="on_missing: default needs a default"):
        ValueMap(on_missing="default")


def test_empty_pair_mapping_maps_nothing() -> None:
    assert (
        defaults_for("nowhere").mapping("lightspeed_ecom", "nowhere", "orders") == EntityMapping()
    )
    assert (
        defaults_for("exact_globe").mapping("fortnox", "exact_globe", "orders") == EntityMapping()
    )


def test_incl_tax_switches_the_named_amounts_to_their_incl_twins() -> None:
    base = rules(
        header={"Total": "order.total_excl", "Shipping": "order.shipping_cost_excl"},
        lines={"Price": "line.unit_price_excl | round(2)", "Code": "line.sku"},
    )
    incl = incl_tax(base, "Total", "lines.Price", flag="VATIncluded")
    assert incl.header == {
        "Total": FieldRule.of("order.total_incl"),
        "VATIncluded": FieldRule(const=True),
    }
    assert incl.lines == {"Price": FieldRule.of("line.unit_price_incl | round(2)")}
    assert incl_tax(base).header == {} and incl_tax(base).lines == {}
    for wrong in ("lines.Code", "lines.Total", "Nowhere", "footer.Total"):
        with pytest.raises(ValueError, match=r"not a default field reading an amount excl\. tax"):
            incl_tax(base, wrong)
