"""The flow registry: every kind a file can name has one flow, and one counter type."""

from __future__ import annotations

import pytest

from shopbridge import runtime
from shopbridge.config import FLOW_NAMES
from shopbridge.errors import ConfigError
from shopbridge.flows import orders, products, shipments
from shopbridge.flows.counts import summarize
from shopbridge.flows.protocol import flow_of, registered
from shopbridge.models import QuarantineEntry


def test_every_flow_kind_a_file_can_name_is_registered_once() -> None:
    kinds = [f.kind for f in registered()]
    assert sorted(kinds) == sorted(FLOW_NAMES)
    assert {f.kind: tuple(f.summary_keys) for f in registered()} == runtime.SUMMARY_KEYS
    for flow in registered():
        assert flow_of(flow.kind) is flow
        assert f"{flow.kind}_read" in flow.summary_keys
        assert f"{flow.kind}_quarantined" in flow.summary_keys
        assert flow.summary_keys[-1] == "api_calls"


def test_an_unknown_kind_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="no flow of kind 'invoices'; known: checkouts"):
        flow_of("invoices")


def test_the_flows_counters_are_one_type() -> None:
    counts = products.Counts(read=2)
    image = QuarantineEntry(entity="image", source_id="p1", field="images[0]", reason="404")
    counts.quarantine(image, counted=False)
    counts.refuse("p2", "title", "empty")
    assert counts["quarantined"] == 1
    assert [q["entity"] for q in counts.quarantined] == ["image", "product"]
    again = products.Counts.carried(counts.as_dict())
    assert again == counts and again.quarantined is not counts.quarantined
    assert counts.as_dict()["products_read"] == 2
    with pytest.raises(KeyError, match="no counter 'written'"):
        counts.add("written")
    ship = shipments.Counts()
    ship.refuse("s1", "order_ref", "unknown")
    assert (ship["quarantined"], ship.quarantined[0]["entity"]) == (1, "shipment")


def test_the_summary_adds_the_batches_and_counts_unread_synced_orders_as_skipped() -> None:
    one = orders.Counts(read=3, created=2, api_calls=4)
    one.refuse("o3", "lines[0].sku", "unknown SKU")
    two = orders.Counts(read=1, created=1, api_calls=1)
    flow = flow_of("orders")
    summary = flow.summarize([one.as_dict(), two.as_dict()], extract_calls=5, skipped_existing=2)
    assert summary["orders_read"] == 6
    assert summary["orders_created"] == 3
    assert summary["orders_skipped_existing"] == 2
    assert summary["orders_quarantined"] == 1
    assert summary["api_calls"] == 10
    assert [q["source_id"] for q in summary["quarantined"]] == ["o3"]
    plain = summarize([one.as_dict(), two.as_dict()], extract_calls=5, keys=orders.SUMMARY_KEYS)
    assert {**plain, "orders_read": 6, "orders_skipped_existing": 2} == summary


def test_the_report_keys_are_the_flows_counters_prefixed_by_its_kind() -> None:
    assert orders.SUMMARY_KEYS == (
        "orders_read",
        "orders_created",
        "orders_skipped_existing",
        "orders_skipped_status",
        "orders_skipped_mirrored",
        "orders_quarantined",
        "orders_confirmed_in_source",
        "countries_defaulted",
        "customers_created",
        "customers_updated",
        "api_calls",
    )
    assert shipments.Counts(read=2, written=1).as_dict() == {
        "shipments_read": 2,
        "shipments_written": 1,
        "shipments_unchanged": 0,
        "shipments_skipped_not_shipped": 0,
        "shipments_skipped_mirrored": 0,
        "shipments_quarantined": 0,
        "api_calls": 0,
        "quarantined": [],
    }
