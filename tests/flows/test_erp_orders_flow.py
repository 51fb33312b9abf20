"""Orders entered in Exact Globe arriving in Lightspeed eCom through its checkout API, and
the two order directions never echoing each other's orders back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shopbridge.config import OrderSettings
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, make_auth
from shopbridge.connectors.exact_globe.source import ExactGlobeSource
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.target import LightspeedEcomTarget
from shopbridge.flows import orders
from shopbridge.flows.counts import summarize
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.flows.conftest import NO_SLEEP, SHIPPED, P, run_flow

REVERSE = "exact_globe__lightspeed_ecom"
AUTH = ("demo-key", "demo-secret")


@pytest.fixture
def erp(env: dict[str, Any]) -> dict[str, Any]:
    source = ExactGlobeSource(
        ExactGlobeClient(
            "http://testserver",
            server_name="sandbox",
            database_name="600",
            auth=make_auth("basic", "globe", "globe"),
            http=env["eg"],
            policy=NO_SLEEP,
        )
    )

    def target() -> LightspeedEcomTarget:
        return LightspeedEcomTarget(
            LightspeedEcomClient(
                "http://testserver",
                "nl",
                "demo-key",
                "demo-secret",
                http=env["ls"],
                policy=NO_SLEEP,
            )
        )

    return {"source": source, "target": target}


def sync_erp_orders(
    env: dict[str, Any], erp: dict[str, Any], start: datetime, end: datetime, run_id: str = "e1"
) -> dict[str, Any]:
    results = []
    for batch in orders.extract(erp["source"], start, end, 10):
        mapped = orders.validate_and_map(erp["source"], batch, OrderSettings(), None, SHIPPED.rules)
        target = erp["target"]()
        looked = orders.lookup(target, env["ledger"], REVERSE, mapped, OrderSettings(), opposite=P)
        results.append(
            orders.load(
                target, env["ledger"], REVERSE, looked, run_id=run_id, settings=OrderSettings()
            )
        )
    return summarize(results, keys=orders.SUMMARY_KEYS)


def shop_orders(env: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        got = (
            env["ls"]
            .get("/nl/orders.json", params={"page": page, "limit": 250}, auth=AUTH)
            .json()["orders"]
        )
        rows += got
        if len(got) < 250:
            return rows
        page += 1


def test_erp_orders_arrive_in_the_webshop_through_the_checkout(env, erp):
    phone = env["eg"].get("/_sandbox/sales_orders").json()
    assert len(phone) == 5
    before = {o["id"] for o in shop_orders(env)}
    summary = sync_erp_orders(env, erp, DEMO_START, DEMO_END)
    assert summary["orders_read"] == 5
    assert summary["orders_created"] == 5
    assert summary["orders_quarantined"] == 0
    new = [o for o in shop_orders(env) if o["id"] not in before]
    assert len(new) == 5
    # each carries its Globe order number as our reference, once
    refs = sorted(o["comment"].splitlines()[0] for o in new)
    assert refs == sorted(f"shopbridge ref {o['OrderNumber']}" for o in phone)
    # the lines are the ERP's, by SKU and quantity
    by_ref = {o["comment"].splitlines()[0].rsplit(" ", 1)[1]: o for o in new}
    for erp_order in phone:
        shop = by_ref[erp_order["OrderNumber"]]
        lines = env["ls"].get(f"/nl/orders/{shop['id']}/products.json", auth=AUTH).json()
        got = sorted((ln["sku"], ln["quantityOrdered"]) for ln in lines["orderProducts"])
        want = sorted((ln["Itemcode"], int(float(ln["Quantity"]))) for ln in erp_order["lines"])
        assert got == want
    # and a second run writes nothing
    writes = env["ls"].get("/_sandbox/stats").json()["writes"]
    again = sync_erp_orders(env, erp, DEMO_START, DEMO_END, "e2")
    assert again["orders_created"] == 0
    assert again["orders_skipped_existing"] == 5
    assert env["ls"].get("/_sandbox/stats").json()["writes"] == writes


def test_orders_never_ping_pong_between_the_two_directions(env, erp):
    # webshop -> ERP first: these land in Globe as sales orders modified "now"
    forward = run_flow(env, settings=OrderSettings())
    assert forward["orders_created"] > 0
    soon = datetime.now(UTC) + timedelta(hours=2)
    back = sync_erp_orders(env, erp, DEMO_START, soon)
    # only the five ERP-entered orders go to the shop; what came from it stays put
    assert back["orders_created"] == 5
    assert back["orders_skipped_mirrored"] == forward["orders_created"]
    # and the shop's new (checkout) orders are not booked into Globe a second time
    globe_before = len(env["eg"].get("/_sandbox/orders").json())
    results = []
    for batch in orders.extract(env["source"], DEMO_START, soon, 50):
        mapped = orders.validate_and_map(env["source"], batch, OrderSettings(), None, SHIPPED.rules)
        target = env["target"]()
        looked = orders.lookup(target, env["ledger"], P, mapped, OrderSettings(), opposite=REVERSE)
        results.append(
            orders.load(target, env["ledger"], P, looked, run_id="f2", settings=OrderSettings())
        )
    again = summarize(results, keys=orders.SUMMARY_KEYS)
    assert again["orders_skipped_mirrored"] == 5
    assert again["orders_created"] == 0
    assert len(env["eg"].get("/_sandbox/orders").json()) == globe_before


def test_an_erp_order_without_email_is_read_with_its_debtor_number(env, erp):
    """Globe's side no longer refuses a debtor without e-mail (its DebtorCode is the
    customer number); what the webshop does with it is the webshop's business: synced, or
    quarantined with the webshop's own refusal, never with a Globe field."""
    env["eg"].post(
        "/_sandbox/sales_orders",
        json={
            "header": {"Modified": "2026-11-18T10:00:00", "Created": "2026-11-18T10:00:00"},
            "lines": [
                {
                    "Itemcode": env["eg"].get("/_sandbox/items").json()[0]["ItemCode"],
                    "Quantity": 1,
                    "Price": "10.00",
                    "VATPercentage": 21,
                }
            ],
            "account": {
                "Name": "Zonder Mail BV",
                "IsPerson": False,
                "Email": "",
                "AddressLine1": "Kerkstraat 1",
                "PostalCode": "1000 AA",
                "City": "Amsterdam",
                "Country": "NL",
            },
        },
    )
    summary = sync_erp_orders(env, erp, DEMO_START, DEMO_END)
    assert summary["orders_created"] + summary["orders_quarantined"] == 6
    assert summary["orders_created"] >= 5
    for q in summary["quarantined"]:
        assert q["field"] == "(target)", q  # not account.Email: Globe's side read it
