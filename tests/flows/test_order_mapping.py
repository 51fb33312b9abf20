"""The datamapper's order settings, shown by what arrives in the Exact Globe sandbox."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml

from shopbridge.config import load_integration
from shopbridge_dev.sandboxes.demo_data import UNKNOWN_SKU
from tests.flows.conftest import N, globe_orders, run_flow

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "include/integrations/lightspeed_ecom__exact_globe.yaml"
AUTH = ("demo-key", "demo-secret")


def mapper_with(tmp_path: Path, mapping: dict):
    data = yaml.safe_load(SHIPPED.read_text())
    data["mapping"] = mapping
    path = tmp_path / "lightspeed_ecom__exact_globe.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_integration(path).mapper("orders")


def ls_orders(env) -> dict[str, dict]:
    orders = env["ls"].get("/nl/orders.json", params={"limit": 250}, auth=AUTH).json()["orders"]
    return {o["number"]: o for o in orders}


MAPPING = {
    "value_maps": {
        "payment_condition": {
            "values": {"iDEAL": "ID", "Bancontact": "BC", "Credit card": "CC"},
            "on_missing": "quarantine",
        },
        "shipping_method": {
            "values": {"PostNL": "PNL", "DHL": "DHL"},
            "default": "AFH",
            "on_missing": "default",
        },
        "tax_code": {
            "values": {
                "NL/0.21": "2",
                "BE/0.21": "B2",
                "DE/0.19": "D1",
                "FR/0.2": "F1",
                "GB/0.2": "E0",
            },
            "on_missing": "quarantine",
        },
        "revenue_account": {
            "values": {"NL": "8000", "BE": "8100", "DE": "8100", "FR": "8100"},
            "default": "8200",
            "on_missing": "default",
        },
    },
    "orders": {
        "header": {
            "Warehouse": {"const": "1"},  # missing data added: the store's warehouse
            "Remarks": {"source": "source.paymentId", "transforms": ["upper"]},
        },
        "lines": {
            "VATCode": {
                "source": ["order.shipping_address.country", "line.tax_rate"],
                "transforms": ["concat(/)", "lookup(tax_code)"],
            },
            "GLAccount": "order.customer.billing_address.country | lookup(revenue_account)",
            "CostCenter": {"const": "WEB"},
            "CostUnit": {"const": "SHOP1"},
        },
    },
}


def test_value_maps_constants_and_custom_fields_arrive_in_globe(env, tmp_path):
    summary = run_flow(env, mapper=mapper_with(tmp_path, MAPPING))
    assert summary["orders_created"] == N - 1
    source = ls_orders(env)
    pay = {"iDEAL": "ID", "Bancontact": "BC", "Credit card": "CC"}
    rates = {"NL": "2", "BE": "B2", "DE": "D1", "FR": "F1", "GB": "E0"}
    for booked in globe_orders(env):
        src = source[booked["YourReference"]]
        assert booked["PaymentCondition"] == pay[src["paymentTitle"]]
        assert booked["DeliveryMethod"] == {"PostNL": "PNL", "DHL": "DHL"}.get(
            src["shipmentTitle"], "AFH"
        )
        assert booked["Warehouse"] == "1"
        assert booked["Remarks"] == src["paymentId"].upper()
        # a customer without a country gets the pair's default_country (NL)
        country = (src.get("addressShippingCountry") or src["addressBillingCountry"])["code"]
        billing = src["addressBillingCountry"]["code"].upper() or "NL"
        for line in booked["lines"]:
            assert line["VATCode"] == rates[country.upper() or "NL"]
            assert line["GLAccount"] == {"NL": "8000", "GB": "8200"}.get(billing, "8100")
            assert (line["CostCenter"], line["CostUnit"]) == ("WEB", "SHOP1")


def test_a_value_with_no_entry_quarantines_naming_the_field(env, tmp_path):
    mapping = {
        "value_maps": {"payment_condition": {"values": {"iDEAL": "ID"}, "on_missing": "quarantine"}}
    }
    summary = run_flow(env, mapper=mapper_with(tmp_path, mapping))
    booked = globe_orders(env)
    assert {b["PaymentCondition"] for b in booked} == {"ID"}
    by_field = [q for q in summary["quarantined"] if q["field"] == "header.PaymentCondition"]
    assert by_field
    assert all("payment_condition" in q["reason"] for q in by_field)
    assert summary["orders_created"] + summary["orders_quarantined"] == N
    assert not any(UNKNOWN_SKU in q["reason"] for q in by_field)


def test_prices_sent_including_tax_reconcile_with_the_webshop_total(env, tmp_path):
    from shopbridge.config import OrderSettings, ShippingLine

    data = yaml.safe_load(SHIPPED.read_text())
    data["flows"]["orders"]["orders"] |= {
        "prices_include_tax": True,
        "shipping_line": {"item_code": "VERZENDKOSTEN"},
    }
    path = tmp_path / "lightspeed_ecom__exact_globe.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_integration(path)
    settings = cfg.flows["orders"].orders
    assert settings == OrderSettings(
        payment_statuses=("paid",),
        prices_include_tax=True,
        shipping_line=ShippingLine(item_code="VERZENDKOSTEN"),
    )
    summary = run_flow(env, settings=settings, mapper=cfg.mapper("orders"))
    assert summary["orders_created"] == N - 1
    source = ls_orders(env)
    for booked in globe_orders(env):
        src = source[booked["YourReference"]]
        assert booked["VATIncluded"] is True
        assert Decimal(booked["AmountDC"]) == Decimal(str(src["priceIncl"]))
        total = sum(
            Decimal(ln["Price"]) * Decimal(ln["Quantity"]) - Decimal(ln["DiscountAmount"])
            for ln in booked["lines"]
        )
        assert total == Decimal(str(src["priceIncl"])), booked["YourReference"]
