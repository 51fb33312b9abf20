"""A bad ``mapping:`` fails when the integration file is loaded, naming file and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopbridge.config import load_integration
from shopbridge.errors import ConfigError

HEAD = """\
id: lightspeed_ecom__exact_globe
source: {system: lightspeed_ecom}
target: {system: exact_globe}
flows:
  orders: {}
"""


def write(tmp_path: Path, mapping: str) -> Path:
    path = tmp_path / "lightspeed_ecom__exact_globe.yaml"
    path.write_text(HEAD + mapping, encoding="utf-8")
    return path


def test_good_mapping_loads_and_overrides(tmp_path: Path) -> None:
    cfg = load_integration(
        write(
            tmp_path,
            """\
mapping:
  value_maps:
    payment_condition:
      values: {iDEAL: "01", "Credit card": "02"}
      on_missing: quarantine
  orders:
    header:
      Remark: "source.memo | truncate(60)"
      Warehouse: {const: "1"}
    drop: [AmountDC]
""",
        )
    )
    rows = {(s, f): (rule, origin) for s, f, rule, origin in cfg.mapper("orders").table()}
    assert rows[("header", "Remark")] == ("source.memo | truncate(60)", "yaml")
    assert rows[("header", "Warehouse")] == ("const '1'", "yaml")
    assert ("header", "AmountDC") not in rows
    assert cfg.mapping.value_maps["payment_condition"].values == {
        "iDEAL": "01",
        "Credit card": "02",
    }


@pytest.mark.parametrize(
    ("mapping", "field", "reason"),
    [
        (
            """\
mapping:
  orders:
    header:
      PaymentCondition: "order.payment_method | upper | lookupp(payment_condition)"
""",
            "mapping.orders.header.PaymentCondition.transforms[1]",
            "unknown transform 'lookupp'; known:",
        ),
        (
            """\
mapping:
  orders:
    lines:
      Itemcode: {source: line.skuu}
""",
            "mapping.orders.lines.Itemcode.source",
            "line has no field 'skuu'",
        ),
        (
            """\
mapping:
  orders:
    header:
      VATCode: "order.shipping_address.country | lookup(vat_code)"
""",
            "mapping.orders.header.VATCode.transforms[0]",
            "unknown value map 'vat_code'",
        ),
        (
            """\
mapping:
  orders:
    header:
      X: {source: order.number, const: "y"}
""",
            "mapping.orders.header.X",
            "set exactly one of source or const",
        ),
        (
            """\
mapping:
  value_maps:
    shipping_method: {on_missing: default}
""",
            "mapping.value_maps.shipping_method",
            "on_missing: default needs a default",
        ),
        (
            """\
mapping:
  orders:
    drop: [Nope]
""",
            "mapping.orders.drop[0]",
            "'Nope' is not a default field",
        ),
        (
            """\
mapping:
  orders:
    headers: {}
""",
            "mapping.orders.headers",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_bad_mapping_names_file_and_field(
    tmp_path: Path, mapping: str, field: str, reason: str
) -> None:
    path = write(tmp_path, mapping)
    with pytest.raises(ConfigError, match=re.escape(field)) as caught:
        load_integration(path)
    text = str(caught.value)
    assert str(path) in text
    assert re.search(re.escape(field) + r": .*" + re.escape(reason), text), text
