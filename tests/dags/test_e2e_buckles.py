"""Lightspeed eCom <-> Buckles through the real DAGs (``dag.test()``), both sandboxes as their
own processes: what a shop owner would check in each system after each flow ran."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.dags.helpers import parsed_dag, run_dag, sandbox_pair

pytestmark = pytest.mark.slow

P = "lightspeed_ecom__buckles"
AUTH = ("demo-key", "demo-secret")
WIDE = {
    "start": (DEMO_START - timedelta(days=365)).isoformat(),
    "end": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
}


def recent() -> dict[str, str]:
    """A window around now: what the next scheduled run would cover."""
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(minutes=30)).isoformat(),
        "end": (now + timedelta(minutes=5)).isoformat(),
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory: Any, airflow_db: Any) -> Any:
    from shopbridge_dev.demo import SANDBOX_OPTIONS

    with (
        sandbox_pair(
            tmp_path_factory.mktemp("buckles"),
            n_orders=30,
            systems=("lightspeed_ecom", "buckles"),
            options={
                "lightspeed_ecom": {
                    **SANDBOX_OPTIONS["lightspeed_ecom"],
                    "per_second": "1000",
                    "n_orders": "30",
                }
            },
        ) as urls,
        httpx.Client(base_url=urls["lightspeed_ecom"], auth=AUTH, timeout=30) as shop,
        httpx.Client(base_url=urls["buckles"], timeout=30) as hub_http,
    ):
        yield {"shop": shop, "hub": hub_http}


def run(flow: str, conf: dict[str, Any]) -> dict[str, Any]:
    state, summary = run_dag(conf, dag_id=f"{P}__{flow}")
    assert state == "success", (flow, summary)
    return summary


def hub(env: Any) -> dict[str, Any]:
    return dict(env["hub"].get("/_sandbox/state").json())


def shop_orders(env: Any) -> list[dict[str, Any]]:
    return list(env["shop"].get("/nl/orders.json", params={"limit": 250}).json()["orders"])


def test_1_products_go_to_the_hub_matched_by_barcode_once(env: Any) -> None:
    known = {p["sku"] for p in hub(env)["products"]}  # the hub sells them elsewhere already
    first = run("products", WIDE)
    assert first["products_created"] + first["products_updated"] > 0, first
    products = hub(env)["products"]
    skus = [p["sku"] for p in products]
    barcodes = [p["barcode"] for p in products if p.get("barcode")]
    # a shop product the hub already had was linked, never added a second time
    assert len(skus) == len(set(skus)) and len(barcodes) == len(set(barcodes))
    assert known <= set(skus)
    again = run("products", WIDE)
    assert again["products_created"] == again["products_updated"] == 0, again


def test_2_every_order_reaches_the_hub_whatever_its_payment_status(env: Any) -> None:
    template = shop_orders(env)[0]
    lines = env["shop"].get(f"/nl/orders/{template['id']}/products.json").json()
    env["shop"].post(
        "/_sandbox/orders",
        json={
            "order": {  # not paid yet, in the window
                **{k: v for k, v in template.items() if k != "id"},
                "number": "UNPAID-1",
                "status": "processing_awaiting_payment",
                "paymentStatus": "not_paid",
                "products": {"resource": {"embedded": lines["orderProducts"]}},
            }
        },
    ).raise_for_status()
    window = {"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat()}
    summary = run("orders", window)
    assert summary["orders_created"] > 0, summary
    orders = hub(env)["orders"]
    by_ref = {o["channel_order_id"]: o for o in orders}
    assert len(by_ref) == len(orders)  # none twice
    shop = {o["number"]: o for o in shop_orders(env)}  # our reference is the shop's number
    payment = {shop[ref]["paymentStatus"] for ref in by_ref}
    assert len(payment) > 1, payment  # paid and not paid alike
    # the status map: an order awaiting payment is not released to the warehouse
    for ref, order in by_ref.items():
        if shop[ref]["status"] == "processing_awaiting_payment":
            assert order["status"] == "pending_payment", order
        if shop[ref]["status"] == "processing_awaiting_shipment":
            assert order["status"] == "processing", order
    assert run("orders", window)["orders_created"] == 0


def test_3_a_webhook_delivery_is_written_once_even_with_the_backstop(env: Any) -> None:
    from shopbridge.connectors.lightspeed_ecom.source import embed_products
    from shopbridge.store.inbox import Inbox, digest

    template = shop_orders(env)[0]
    lines = env["shop"].get(f"/nl/orders/{template['id']}/products.json").json()
    created = env["shop"].post(
        "/_sandbox/orders",
        json={
            "order": {
                **{k: v for k, v in template.items() if k not in ("id", "createdAt", "updatedAt")},
                "number": "WH-1",
                "products": {"resource": {"embedded": lines["orderProducts"]}},
            }
        },
    )
    order = created.json()["order"]
    record = embed_products(order, lines["orderProducts"])
    inbox = Inbox()
    body = json.dumps({"order": record}).encode()
    for n in range(2):  # the vendor delivers it twice (second body differs by a byte)
        inbox.accept(
            P, "lightspeed_ecom", digest(body + b" " * n), ["orders"], [(str(order["id"]), record)]
        )
    summary = run("orders", {"inbox": True})
    assert summary["orders_created"] == 1 and summary["webhook_records"] == 2, summary
    assert inbox.waiting_count(P, "orders") == 0
    inbox.close()
    backstop = run("orders", recent())
    assert backstop["orders_created"] == 0, backstop
    refs = [o["channel_order_id"] for o in hub(env)["orders"]]
    assert refs.count("WH-1") == 1


def test_4_shipped_in_the_hub_means_shipped_with_track_and_trace_in_the_shop(env: Any) -> None:
    order = next(
        o
        for o in hub(env)["orders"]
        if o["status"] in ("pending_payment", "processing") and o["number"] != "WH-1"
    )
    env["hub"].post(
        f"/_sandbox/orders/{order['id']}/ship",
        json={"carrier": "PostNL", "tracking_code": "3SABCD1234567"},
    ).raise_for_status()
    summary = run("shipments", recent())
    assert summary["shipments_written"] == 1, summary
    ls_id = next(o["id"] for o in shop_orders(env) if o["number"] == order["channel_order_id"])
    shipments = env["shop"].get("/nl/shipments.json", params={"order": ls_id}).json()
    assert [(s["status"], s["trackingCode"]) for s in shipments["shipments"]] == [
        ("shipped", "3SABCD1234567")
    ]
    assert (
        env["shop"].get(f"/nl/orders/{ls_id}.json").json()["order"]["shipmentStatus"] == "shipped"
    )
    assert run("shipments", recent())["shipments_written"] == 0
    # the shop's shipment changed because we wrote it: not sent back to the hub
    echo = run("shop_shipments", recent())
    assert echo["shipments_written"] == 0 and echo["shipments_skipped_mirrored"] >= 1, echo


def test_5_a_shipment_made_by_hand_in_the_shop_is_imported_to_the_hub(env: Any) -> None:
    order = next(
        o
        for o in hub(env)["orders"]
        if o["status"] in ("pending_payment", "processing") and o["number"] != "WH-1"
    )
    ls_id = next(o["id"] for o in shop_orders(env) if o["number"] == order["channel_order_id"])
    env["shop"].post(
        f"/_sandbox/orders/{ls_id}/shipments", json={"trackingCode": "HAND-42", "status": "shipped"}
    ).raise_for_status()
    summary = run("shop_shipments", recent())
    assert summary["shipments_written"] == 1, summary
    after = next(o for o in hub(env)["orders"] if o["id"] == order["id"])
    assert [s["tracking_code"] for s in after["shipments"]] == ["HAND-42"], after


def test_6_stock_mutations_in_the_hub_reach_the_shop(env: Any) -> None:
    first = run("stock", {})
    assert first["stock_written"] > 0, first
    sku = hub(env)["stock"][0]["sku"]
    env["hub"].post("/_sandbox/stock", json={"sku": sku, "on_hand": "7"}).raise_for_status()
    row = next(r for r in hub(env)["stock"] if r["sku"] == sku)
    summary = run("stock", {})
    assert summary["stock_written"] == 1, summary
    variants = env["shop"].get("/nl/variants.json", params={"limit": 250}).json()["variants"]
    level = next(v["stockLevel"] for v in variants if v["sku"] == sku)
    assert level == 7 - int(float(row.get("reserved", 0) or 0)), (level, row)


def test_7_customers_both_ways(env: Any) -> None:
    first = run("customers", WIDE)
    assert first["customers_created"] + first["customers_updated"] > 0, first
    customer = next(iter(hub(env)["customers"]))
    env["hub"].patch(
        f"/_sandbox/customers/{customer['id']}", json={"phone": "+31 20 555 0101"}
    ).raise_for_status()
    back = run("hub_customers", recent())
    assert back["customers_updated"] >= 1, back
    shop = env["shop"].get("/nl/customers.json", params={"limit": 250}).json()["customers"]
    mine = next(c for c in shop if c["email"] == customer["email"])
    assert "555 0101" in (mine.get("phone") or mine.get("mobile") or ""), mine


def test_8_a_checkout_appears_in_the_hub_in_the_15_minute_run(env: Any) -> None:
    dag = parsed_dag(f"{P}__checkouts")
    assert dag.timetable.expression == "*/15 * * * *"
    variant = env["shop"].get("/nl/variants.json", params={"limit": 1}).json()["variants"][0]
    co = (
        env["shop"]
        .post(
            "/_sandbox/checkouts",
            json={
                "checkout": {
                    "customer": {
                        "email": "cart@example.com",
                        "firstname": "Cart",
                        "lastname": "Left",
                    },
                    "products": [{"variantId": variant["id"], "quantity": 2}],
                }
            },
        )
        .json()["checkout"]
    )
    summary = run("checkouts", recent())
    assert summary["checkouts_created"] >= 1, summary
    copied = [
        c for c in hub(env)["checkouts"] if str(c.get("channel_checkout_id")) == str(co["id"])
    ]
    assert len(copied) == 1 and copied[0]["email"] == "cart@example.com", copied
    assert run("checkouts", recent())["checkouts_created"] == 0
