"""FieldReader: the rules every translator reads vendor JSON by, and the vendor quirks a
subclass switches on (never looser rules for all)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shopbridge.connectors._kit.fields import FieldReader
from shopbridge.errors import RecordError


class FalseIsEmpty(FieldReader):
    FALSE_IS_EMPTY = True


class Keyed(FieldReader):
    LONE_OBJECT = "keyed"


class OneRow(FieldReader):
    LONE_OBJECT = "row"


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
