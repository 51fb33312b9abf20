"""The drift comparator itself: what it must call drift, and what it must let pass."""

from __future__ import annotations

from tests.contracts.shape import shape_diff


def test_numbers_sent_as_strings_are_drift() -> None:
    assert shape_diff({"qoh": "45"}, {"qoh": 45}) == [
        '$.qoh: the vendor sends string ("45"), the sandbox number (45)'
    ]


def test_a_missing_key_is_drift_and_an_extra_key_is_not() -> None:
    assert shape_diff({"a": 1, "b": ""}, {"a": 2, "c": 3}) == [
        "$.b: missing in the sandbox (the vendor sends string)"
    ]


def test_vendor_null_matches_anything_sandbox_null_only_when_allowed() -> None:
    assert shape_diff({"Email": None}, {"Email": "x@y.z"}) == []
    assert shape_diff({"Email": ""}, {"Email": None}) == [
        "$.Email: the vendor sends string, the sandbox null"
    ]
    assert shape_diff({"Email": ""}, {"Email": None}, nullable=["Email"]) == []


def test_lists_compare_each_element_with_the_recorded_one() -> None:
    rec = {"rows": [{"Price": 1.5, "Qty": "2"}]}
    assert shape_diff(rec, {"rows": []}) == []
    assert shape_diff(rec, {"rows": [{"Price": 2, "Qty": "1"}, {"Price": 2, "Qty": 1}]}) == [
        '$.rows[1].Qty: the vendor sends string ("2"), the sandbox number (1)'
    ]


def test_one_child_as_object_or_several_as_list() -> None:
    rec = {"SaleLines": {"SaleLine": {"itemID": "1"}}}
    many = {"SaleLines": {"SaleLine": [{"itemID": "1"}, {"itemID": "2"}]}}
    assert shape_diff(rec, many) != []
    assert shape_diff(rec, many, one_or_many=["SaleLine"]) == []
    assert shape_diff(
        rec, {"SaleLines": {"SaleLine": [{"itemID": 1}]}}, one_or_many=["SaleLine"]
    ) == ['$.SaleLines.SaleLine.itemID: the vendor sends string ("1"), the sandbox number (1)']


def test_booleans_are_not_numbers() -> None:
    assert shape_diff({"isCompany": False}, {"isCompany": 0}) == [
        "$.isCompany: the vendor sends boolean (false), the sandbox number (0)"
    ]
