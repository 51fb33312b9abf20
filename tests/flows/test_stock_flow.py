"""The stock flow against both sandboxes in-process: the level Exact Globe ends up with."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.config import StockSettings
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import RecordError
from shopbridge.flows import stock
from shopbridge.flows.counts import summarize
from shopbridge.models import StockLevel
from tests.flows.conftest import P

AUTH = ("demo-key", "demo-secret")


def sync(
    env: dict[str, Any],
    settings: StockSettings | None = None,
    run_id: str = "s1",
    *,
    source: Any = None,
    full_resync: bool = False,
) -> dict[str, Any]:
    settings = settings or StockSettings()
    source = source or env["source"]
    results = []
    for batch in stock.extract(source, 100):
        mapped = stock.validate_and_map(source, batch, settings)
        target = env["target"]()
        looked = stock.lookup(target, env["ledger"], P, mapped, full_resync=full_resync)
        results.append(
            stock.load(target, env["ledger"], P, looked, run_id=run_id, settings=settings)
        )
    return summarize(results, keys=stock.SUMMARY_KEYS)


def globe_stock(env: dict[str, Any], sku: str, warehouse: str = "1") -> Decimal:
    item = next(i for i in env["eg"].get("/_sandbox/items").json() if i["ItemCode"] == sku)
    return Decimal(str(item["warehouses"][warehouse]))


def globe_item(env: dict[str, Any], sku: str) -> dict[str, Any]:
    return dict(next(i for i in env["eg"].get("/_sandbox/items").json() if i["ItemCode"] == sku))


def variants(env: dict[str, Any]) -> list[dict[str, Any]]:
    return list(
        env["ls"].get("/nl/variants.json", params={"limit": 250}, auth=AUTH).json()["variants"]
    )


def set_variant(env: dict[str, Any], vid: int, **fields: Any) -> None:
    resp = env["ls"].post("/_sandbox/variants", json={"variant": {"id": vid, **fields}})
    assert resp.status_code == 200, resp.text


def tracked(env: dict[str, Any]) -> dict[str, Any]:
    """A stock-tracked demo variant the ERP knows."""
    known = {i["ItemCode"] for i in env["eg"].get("/_sandbox/items").json()}
    return next(v for v in variants(env) if v["stockTracking"] == "enabled" and v["sku"] in known)


def test_levels_arrive_and_only_changed_ones_are_written_again(env):
    first = sync(env)
    # the only refusals: SKUs the ERP does not carry (the discontinued gadget)
    assert {q["field"] for q in first["quarantined"]} <= {"sku"}
    v = tracked(env)
    assert globe_stock(env, v["sku"]) == Decimal(v["stockLevel"])
    writes = env["eg"].get("/_sandbox/stats").json()["writes"]
    again = sync(env, run_id="s2")
    assert again["stock_written"] == 0
    assert again["stock_unchanged"] == first["stock_written"]
    assert env["eg"].get("/_sandbox/stats").json()["writes"] == writes
    # one level changes in the shop: exactly that one is written
    set_variant(env, v["id"], stockLevel=v["stockLevel"] + 3)
    third = sync(env, run_id="s3")
    assert third["stock_written"] == 1
    assert globe_stock(env, v["sku"]) == Decimal(v["stockLevel"] + 3)


def test_a_full_resync_writes_every_level_again(env):
    first = sync(env)
    again = sync(env, run_id="s2", full_resync=True)
    assert again["stock_written"] == first["stock_written"]


def test_safety_buffer_and_on_hand_calculations(env):
    v = tracked(env)
    set_variant(env, v["id"], stockLevel=10)
    sync(env, StockSettings(safety_buffer=Decimal(4)))
    assert globe_stock(env, v["sku"]) == 6
    sync(env, StockSettings(calculation="on_hand"), run_id="s2")
    assert globe_stock(env, v["sku"]) == 10
    # a buffer above the stock sends 0, never a negative level
    sync(env, StockSettings(safety_buffer=Decimal(25)), run_id="s3")
    assert globe_stock(env, v["sku"]) == 0


def test_the_managed_flag_follows_the_setting(env):
    v = tracked(env)
    set_variant(env, v["id"], stockTracking="disabled")
    sync(env)
    assert globe_item(env, v["sku"])["IsStockItem"] is False
    sync(env, StockSettings(managed="always"), run_id="s2")
    assert globe_item(env, v["sku"])["IsStockItem"] is True


def test_a_negative_level_is_quarantined_and_the_rest_written(env):
    v = tracked(env)
    known = {i["ItemCode"] for i in env["eg"].get("/_sandbox/items").json()}
    other = next(
        x
        for x in variants(env)
        if x["stockTracking"] == "enabled" and x["id"] != v["id"] and x["sku"] in known
    )
    set_variant(env, v["id"], stockLevel=-3)
    summary = sync(env)
    bad = [q for q in summary["quarantined"] if q["source_id"] == str(v["id"])]
    assert len(bad) == 1
    assert bad[0]["field"] == "stockLevel"
    assert "-3" in bad[0]["reason"]
    assert summary["stock_written"] >= 1
    assert globe_stock(env, other["sku"]) == Decimal(other["stockLevel"])


def test_a_sku_the_erp_does_not_know_is_reported(env):
    summary = sync(env)
    unknown = [q for q in summary["quarantined"] if q["field"] == "sku"]
    assert all("does not exist in exact_globe" in q["reason"] for q in unknown)
    assert summary["stock_written"] + summary["stock_quarantined"] == summary["stock_read"]


class _Warehouses:
    """A source keeping stock per location (the calculation a till or ERP source uses)."""

    system = "test"

    def __init__(self, levels: list[StockLevel]) -> None:
        self.levels = levels
        self.counter = CallCounter()

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        yield from (lv.model_dump(mode="json") for lv in self.levels)

    def stock_id(self, record: dict[str, Any]) -> str:
        return str(record["sku"])

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        return StockLevel.model_validate(record)

    def close(self) -> None: ...


def test_per_location_and_reserved_calculations(env):
    v = tracked(env)
    level = StockLevel(
        sku=v["sku"],
        on_hand=Decimal(20),
        reserved=Decimal(5),
        locations={"STORE": Decimal(8), "DC": Decimal(12)},
    )
    source = _Warehouses([level])
    sync(env, source=source)
    assert globe_stock(env, v["sku"]) == 15  # on hand minus reserved
    sync(env, StockSettings(calculation="location", location="DC"), "s2", source=source)
    assert globe_stock(env, v["sku"]) == 12
    sync(
        env,
        StockSettings(calculation="location", location="DC", target_location="2"),
        "s3",
        source=source,
    )
    assert globe_stock(env, v["sku"], "2") == 12
    missing = sync(
        env, StockSettings(calculation="location", location="ATTIC"), "s4", source=source
    )
    assert missing["quarantined"][0]["field"] == "locations.ATTIC"


def test_level_rejects_an_unknown_location_naming_it():
    with pytest.raises(RecordError) as err:
        stock.level(
            StockLevel(sku="X", on_hand=Decimal(1)),
            StockSettings(calculation="location", location="DC"),
            "X",
        )
    assert err.value.field == "locations.DC"
