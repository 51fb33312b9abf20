"""``order_from_lightspeed``: a fixture table (in → out), and malformed records → their field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shopbridge.connectors.lightspeed_ecom.translate import order_from_lightspeed, order_id
from shopbridge.errors import RecordError
from shopbridge.models import CustomerKind, Order

FIX = Path(__file__).parents[1] / "fixtures" / "lightspeed_ecom"
CASES = sorted(FIX.glob("*.in.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((FIX / f"{name}.in.json").read_text())


@pytest.mark.parametrize("src", CASES, ids=lambda p: p.name.removesuffix(".in.json"))
def test_order_from_lightspeed(src: Path) -> None:
    want = Order.model_validate_json(src.with_name(src.name.replace(".in.", ".out.")).read_text())
    assert order_from_lightspeed(json.loads(src.read_text())) == want


def test_fixture_table_covers_company_and_person() -> None:
    names = {p.name.removesuffix(".in.json") for p in CASES}
    assert {"company_order", "person_order"} <= names
    assert order_from_lightspeed(load("company_order")).customer.kind is CustomerKind.COMPANY
    assert order_from_lightspeed(load("person_order")).customer.kind is CustomerKind.PERSON


def test_money_is_decimal_from_the_json_number_text() -> None:
    order = order_from_lightspeed(load("company_order"))
    assert str(order.lines[0].unit_price_incl) == "36.24"
    assert str(order.total_excl) == "75.45"


def _lines(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return raw["products"]["resource"]["embedded"]


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw.pop(key)


def _line(i: int, key: str, value: Any = ...) -> Callable[[dict[str, Any]], None]:
    def mutate(raw: dict[str, Any]) -> None:
        if value is ...:
            _lines(raw)[i].pop(key)
        else:
            _lines(raw)[i][key] = value
    return mutate


BAD: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("missing email", "person_order", _drop("email"), "email"),
    ("empty email", "person_order", _set("email", " "), "email"),
    ("malformed email", "person_order", _set("email", "tess-at-example"), "email"),
    ("country as a name", "person_order",
     _set("addressBillingCountry", {"code": "United Kingdom"}), "addressBillingCountry.code"),
    ("country relation false", "person_order",
     _set("addressBillingCountry", False), "addressBillingCountry.code"),
    ("shipping country 3 letters", "company_order",
     _set("addressShippingCountry", {"code": "deu"}), "addressShippingCountry.code"),
    ("negative quantity", "company_order", _line(1, "quantityOrdered", -1),
     "lines[1].quantityOrdered"),
    ("zero quantity", "company_order", _line(0, "quantityOrdered", 0), "lines[0].quantityOrdered"),
    ("absent quantity", "company_order", _line(1, "quantityOrdered"), "lines[1].quantityOrdered"),
    ("no sku nor articleCode", "company_order", _line(1, "articleCode", ""), "lines[1].sku"),
    ("price not a number", "person_order", _line(0, "priceIncl", "nine"), "lines[0].priceIncl"),
    ("tax rate as percent", "person_order", _line(0, "taxRate", 20), "lines[0].taxRate"),
    ("float noise in money", "person_order", _set("priceIncl", 0.1 + 0.2), "priceIncl"),
    ("no lines embedded", "person_order", _set("products", False), "lines"),
    ("empty lines", "person_order",
     lambda raw: raw["products"]["resource"].__setitem__("embedded", []), "lines"),
    ("line not an object", "person_order",
     lambda raw: raw["products"]["resource"].__setitem__("embedded", ["x"]), "lines[0]"),
    ("naive timestamp", "person_order", _set("updatedAt", "2026-11-20T17:00:00"), "updatedAt"),
    ("garbled timestamp", "person_order", _set("createdAt", "yesterday"), "createdAt"),
    ("missing number", "person_order", _drop("number"), "number"),
    ("missing billing city", "person_order", _set("addressBillingCity", ""),
     "addressBillingCity"),
    ("person without a name", "person_order",
     lambda raw: raw.update(firstname="", lastname=None), "firstname"),
    ("currency not a code", "person_order", _set("currency", "pounds"), "currency"),
    ("missing id", "person_order", _drop("id"), "id"),
]


@pytest.mark.parametrize(("case", "base", "mutate", "field"), BAD, ids=[b[0] for b in BAD])
def test_malformed_order_names_the_field(
    case: str, base: str, mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    raw = copy.deepcopy(load(base))
    mutate(raw)
    with pytest.raises(RecordError) as exc:
        order_from_lightspeed(raw)
    err = exc.value
    assert (err.entity, err.field) == ("order", field), str(err)
    assert err.source_id == str(raw.get("id", "?"))
    assert err.reason


def test_order_id_survives_garbage() -> None:
    assert order_id({"id": 30042}) == "30042"
    assert order_id({}) == "?"
