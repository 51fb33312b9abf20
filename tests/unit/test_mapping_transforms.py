"""Named transforms: table tests of what each does, and how bad ones fail at load time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.mapping.spec import ValueMap
from shopbridge.mapping.transforms import TRANSFORMS, MissingMapping, parse

MAPS = {
    "pay": ValueMap(values={"iDEAL": "IDL", "0.21": "H"}, default="ZZ", on_missing="default"),
    "strict": ValueMap(values={"iDEAL": "IDL"}, on_missing="quarantine"),
    "loose": ValueMap(values={"iDEAL": "IDL"}),
    "rate": ValueMap(values={0.21: "H", 9: "L"}),  # type: ignore[dict-item]  # YAML numbers
}

CASES: list[tuple[str, Any, Any]] = [
    ("upper", "abc", "ABC"),
    ("lower", "ÄBC", "äbc"),
    ("strip", "  x ", "x"),
    ("upper", None, None),
    ("truncate(3)", "abcdef", "abc"),
    ("truncate(10)", "abc", "abc"),
    ("split_house_number", "Hoofdstraat 12A", "12A"),
    ("split_house_number", "Hoofdstraat 12 bis", "12 bis"),
    ("split_house_number", "1e Jacob van Campenstraat 5-3", "5-3"),
    ("split_house_number", "Dorpsplein", ""),
    ("street_only", "Hoofdstraat 12A", "Hoofdstraat"),
    ("street_only", "Rue de la Paix, 3", "Rue de la Paix"),
    ("street_only", "Dorpsplein", "Dorpsplein"),
    (
        "address_line",
        {"street": "Kerkstraat", "house_number": "12", "house_number_ext": "A"},
        "Kerkstraat 12A",
    ),
    ("concat", ["a", None, "", "b"], "a b"),
    ("concat(' / ')", ["a", "b"], "a / b"),
    ("concat(', ')", ["x", Decimal("1.50")], "x, 1.5"),
    ("coalesce", ["", None, "sku"], "sku"),
    ("coalesce", [None, None], None),
    ("date_format(%Y-%m-%d)", datetime(2026, 11, 17, 23, 30, tzinfo=UTC), "2026-11-17"),
    ("date_format('%d-%m-%Y')", "2026-11-17T09:12:00+01:00", "17-11-2026"),
    ("date_format(%Y%m%d)", date(2026, 1, 2), "20260102"),
    ("percent", Decimal("0.21"), Decimal("21")),
    ("percent", Decimal("0.090"), Decimal("9")),
    ("percent", Decimal("0.055"), Decimal("5.5")),
    ("percent", Decimal("1"), Decimal("100")),
    ("percent", Decimal("0"), Decimal("0")),
    ("decimal(2)", Decimal("12.5"), Decimal("12.50")),
    ("decimal(2)", Decimal("0.125"), Decimal("0.13")),
    ("decimal(0)", "7.5", Decimal("8")),
    ("default('n/a')", None, "n/a"),
    ("default(x)", "", "x"),
    ("default(x)", "y", "y"),
    ("omit_empty", "", None),
    ("omit_empty", "a", "a"),
    ("lookup(pay)", "iDEAL", "IDL"),
    ("lookup(pay)", "Klarna", "ZZ"),
    ("lookup(pay)", Decimal("0.210"), "H"),
    ("lookup(loose)", "Klarna", "Klarna"),
    ("lookup(strict)", None, None),
    ("lookup(rate)", Decimal("0.21"), "H"),
    ("lookup(rate)", Decimal("9.00"), "L"),
]


@pytest.mark.parametrize(
    ("spec", "value", "want"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_transform(spec: str, value: Any, want: Any) -> None:
    got = parse(spec, MAPS)(value)
    assert got == want
    if isinstance(want, Decimal):
        assert str(got) == str(want)  # same exponent: "12.50", never "1.25E+1"


def test_quarantine_map_raises_missing_mapping() -> None:
    with pytest.raises(MissingMapping) as caught:
        parse("lookup(strict)", MAPS)("Klarna")
    assert (caught.value.map_name, caught.value.value) == ("strict", "Klarna")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("lookupp(pay)", "unknown transform 'lookupp'; known: "),
        ("upper(3)", "upper: takes no argument"),
        ("truncate", "truncate: needs a whole number"),
        ("truncate(x)", "truncate: needs a whole number"),
        ("lookup(nope)", "lookup: unknown value map 'nope'; known: loose, pay, rate, strict"),
        ("date_format", "date_format: needs a strftime format"),
        ("decimal(two)", "decimal: needs the number of decimal places"),
        ("concat(a, b)", "takes one argument"),
        ("Upper", "unknown transform"),
    ],
)
def test_bad_transform_fails_at_parse(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(spec, MAPS)


def test_unknown_transform_lists_every_known_name() -> None:
    with pytest.raises(ValueError, match="unknown transform") as caught:
        parse("nope", MAPS)
    assert all(name in str(caught.value) for name in TRANSFORMS)
