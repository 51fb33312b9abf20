"""FieldReader: the rules every translator reads vendor JSON by, and the vendor quirks a
subclass switches on (never looser rules for all)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shopbridge.connectors._kit.addresses import one_line_address, split_street, street_line
from shopbridge.connectors._kit.amounts import both_bases, cents, q4
from shopbridge.connectors._kit.fields import FieldReader, key_text
from shopbridge.errors import RecordError


class FalseIsEmpty(FieldReader):
    FALSE_IS_EMPTY = True


class Keyed(FieldReader):
    LONE_OBJECT = "keyed"


class OneRow(FieldReader):
    LONE_OBJECT = "row"


class NaiveUtc(FieldReader):
    NAIVE_ZONE = UTC


def reader(cls: type[FieldReader], **raw: Any) -> FieldReader:
    return cls(raw, "order", "7", "lines[1].")


def test_numbers_as_strings_and_null_as_empty_for_every_vendor() -> None:
    r = reader(FieldReader, qty="2.50", code=600, name=None, blank="")
    assert r.decimal("qty") == Decimal("2.50")
    assert r.text("code") == "600"
    assert (r.text("name"), r.text("blank")) == ("", "")
    assert not r.has("name") and not r.has("blank") and r.has("qty")


def test_false_is_an_error_unless_the_vendor_means_empty_by_it() -> None:
    with pytest.raises(RecordError, match="expected text, got bool") as err:
        reader(FieldReader, brand=False).text("brand")
    assert err.value.field == "lines[1].brand"
    with pytest.raises(RecordError, match="expected a number"):
        reader(FieldReader, price=False).decimal("price")
    assert reader(FieldReader, brand=False).has("brand")

    r = reader(FalseIsEmpty, brand=False, price=False)
    assert r.text("brand") == "" and not r.has("brand")
    assert r.decimal("price", default=Decimal("0")) == 0
    with pytest.raises(RecordError, match="missing"):
        r.decimal("price")


def test_a_lone_object_for_a_list_reads_by_the_vendors_rule() -> None:
    rows = {"12": {"id": 12}, "13": {"id": 13}}
    with pytest.raises(RecordError, match="expected a list, got dict") as err:
        reader(FieldReader, rows=rows).objects("rows")
    assert err.value.field == "lines[1].rows"
    assert reader(Keyed, rows=rows).objects("rows") == [{"id": 12}, {"id": 13}]
    assert reader(OneRow, rows={"id": 5}).objects("rows") == [{"id": 5}]


def test_objects_name_the_row_that_is_not_an_object() -> None:
    r = reader(FieldReader, rows=[{"id": 1}, 2])
    with pytest.raises(RecordError, match="expected an object, got int") as err:
        r.objects("rows")
    assert err.value.field == "lines[1].rows[1]"
    assert reader(FieldReader).objects("rows") == []
    assert r.objects("products", [{"id": 3}]) == [{"id": 3}]  # a value found elsewhere


def test_a_timestamp_without_offset_is_refused_unless_its_zone_is_known() -> None:
    r = reader(FieldReader, at="2026-03-01T10:00:00", z="2026-03-01T10:00:00Z", empty="")
    assert r.timestamp("z") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    with pytest.raises(RecordError, match="no UTC offset") as err:
        r.timestamp("at")
    assert err.value.field == "lines[1].at"
    ams = ZoneInfo("Europe/Amsterdam")
    assert r.timestamp("at", zone=ams) == datetime(2026, 3, 1, 10, tzinfo=ams)
    assert reader(NaiveUtc, at="2026-03-01T10:00:00").timestamp("at").tzinfo is UTC
    assert r.timestamp_or_none("empty") is None
    with pytest.raises(RecordError, match="missing or empty"):
        r.timestamp("empty")
    with pytest.raises(RecordError, match="not an ISO 8601 timestamp"):
        reader(FieldReader, at="yesterday").timestamp_or_none("at")
    offset = reader(FieldReader, at="2026-03-01T10:00:00+01:00").timestamp("at", zone=ams)
    assert offset.utcoffset() == timedelta(hours=1) and offset.tzinfo == timezone(
        timedelta(hours=1)
    )


def test_percentages_and_rates() -> None:
    r = reader(FieldReader, vat="21", low=5.5, over=101)
    assert r.percentage("vat") == Decimal(21)
    assert r.rate("vat") == Decimal("0.21") and r.rate("low") == Decimal("0.055")
    assert r.percentage("none", default=Decimal(0)) == 0
    with pytest.raises(RecordError, match="not a percentage: 101") as err:
        r.rate("over")
    assert err.value.field == "lines[1].over"


def test_item_keys_stay_apart_and_none_at_all_names_the_first_field() -> None:
    r = reader(FieldReader, sku="", code="A-1", ean=None)
    assert r.item_keys("sku", "code", "ean") == {"sku": "", "article_code": "A-1", "ean": ""}
    bare = reader(FieldReader, sku="", code=None)
    with pytest.raises(RecordError, match="sku, code and ean are all empty") as err:
        bare.item_keys("sku", "code", "ean")
    assert err.value.field == "lines[1].sku"
    with pytest.raises(RecordError, match="code and ean are both empty") as err:
        bare.item_keys("", "code", "ean")
    assert err.value.field == "lines[1].code"


def test_key_text_reads_an_id_from_a_malformed_record() -> None:
    assert [key_text(v) for v in (" 10001 ", 7, None, True, {}, [])] == [
        "10001",
        "7",
        "",
        "",
        "",
        "",
    ]


def test_amounts_round_half_up_and_derive_the_other_basis() -> None:
    assert q4(Decimal("1.00005")) == Decimal("1.0001") and cents(Decimal("0.125")) == Decimal(
        "0.13"
    )
    rate = Decimal("0.25")
    assert both_bases(Decimal(100), rate, includes_vat=False) == (Decimal(100), Decimal(125))
    assert both_bases(Decimal(125), rate, includes_vat=True) == (Decimal(100), Decimal(125))


def test_one_street_line_splits_and_joins_back() -> None:
    r = reader(FieldReader)
    address = one_line_address(
        r, ("Kerkstraat 12A", "Addr"), ("1234 AB", "Zip"), ("Utrecht", "City"), ("NL", "Country")
    )
    assert (address.street, address.house_number, address.house_number_ext) == (
        "Kerkstraat",
        "12",
        "A",
    )
    assert street_line(address) == "Kerkstraat 12A"
    assert split_street(street_line(address)) == ("Kerkstraat", "12", "A")
    with pytest.raises(RecordError) as err:
        one_line_address(r, ("x", "Addr"), ("", "Zip"), ("", "City"), ("NLD", "Country"))
    assert err.value.field == "lines[1].Country"
