"""``order_from_lightspeed``: a fixture table (in → out), and malformed records → their field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shopbridge.connectors.lightspeed_ecom.translate import order_from_lightspeed, record_id
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
    ("malformed email", "person_order", _set("email", "tess-at-example"), "email"),
    (
        "country as a name",
        "person_order",
        _set("addressBillingCountry", {"code": "United Kingdom"}),
        "addressBillingCountry.code",
    ),
    (
        "shipping country 3 letters",
        "company_order",
        _set("addressShippingCountry", {"code": "deu"}),
        "addressShippingCountry.code",
    ),
    (
        "negative quantity",
        "company_order",
        _line(1, "quantityOrdered", -1),
        "lines[1].quantityOrdered",
    ),
    ("zero quantity", "company_order", _line(0, "quantityOrdered", 0), "lines[0].quantityOrdered"),
    ("absent quantity", "company_order", _line(1, "quantityOrdered"), "lines[1].quantityOrdered"),
    (
        "no item key",
        "company_order",
        lambda raw: _lines(raw)[1].update(sku="", articleCode="", ean=""),
        "lines[1].sku",
    ),
    (
        "line total above base x quantity",
        "person_order",
        _line(0, "priceExcl", 99),
        "lines[0].priceExcl",
    ),
    ("price not a number", "person_order", _line(0, "priceIncl", "nine"), "lines[0].priceIncl"),
    ("tax rate as percent", "person_order", _line(0, "taxRate", 20), "lines[0].taxRate"),
    ("no lines embedded", "person_order", _set("products", False), "lines"),
    (
        "empty lines",
        "person_order",
        lambda raw: raw["products"]["resource"].__setitem__("embedded", []),
        "lines",
    ),
    (
        "line not an object",
        "person_order",
        lambda raw: raw["products"]["resource"].__setitem__("embedded", ["x"]),
        "lines[0]",
    ),
    ("naive timestamp", "person_order", _set("updatedAt", "2026-11-20T17:00:00"), "updatedAt"),
    ("garbled timestamp", "person_order", _set("createdAt", "yesterday"), "createdAt"),
    ("missing number", "person_order", _drop("number"), "number"),
    (
        "person without a name",
        "person_order",
        lambda raw: raw.update(firstname="", lastname=None),
        "firstname",
    ),
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


def test_what_real_accounts_hold_is_not_an_error() -> None:
    """Recorded orders have no e-mail, no street or city, a ``false`` country; the
    translator says so ("" everywhere) and the flow decides (customer number,
    default_country)."""
    raw = copy.deepcopy(load("person_order"))
    raw.update(
        email="",
        addressBillingCity="",
        addressBillingStreet="",
        addressBillingCountry=False,
        addressShippingCity="",
        addressShippingStreet="",
    )
    order = order_from_lightspeed(raw)
    assert order.customer.email == ""
    assert order.customer.customer_number == "742"
    assert order.customer.billing_address.country == ""
    assert order.shipping_address == order.customer.billing_address


def test_float_noise_is_rounded_to_the_vendors_four_decimals() -> None:
    raw = copy.deepcopy(load("person_order"))
    raw["priceIncl"] = 0.1 + 0.2
    assert str(order_from_lightspeed(raw).total_incl) == "0.3000"


def test_the_shops_currency_when_the_order_has_none() -> None:
    raw = copy.deepcopy(load("person_order"))
    del raw["currency"]
    assert order_from_lightspeed(raw, currency="gbp").currency == "GBP"
    with pytest.raises(RecordError) as exc:
        order_from_lightspeed(raw)
    assert exc.value.field == "currency"


def test_record_id_survives_garbage() -> None:
    assert record_id({"id": 30042}) == "30042"
    assert record_id({}) == "?"
