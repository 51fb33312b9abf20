"""Lightspeed eCom shipments and checkouts: client, source, target and the sandbox behind them.

Orders are placed through the sandbox's checkout routes over HTTP, as a shopper would; every
one gets a ``not_shipped`` shipment the target then marks shipped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, CheckoutSource, ShipmentSource, ShipmentTarget
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.connectors.lightspeed_ecom.target import LightspeedEcomTarget
from shopbridge.connectors.lightspeed_ecom.translate import (
    checkout_from_lightspeed,
    shipment_from_lightspeed,
)
from shopbridge.errors import FatalError, RecordError
from shopbridge.models import ExternalRef, Shipment
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes.lightspeed_ecom.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

BASE = "http://testserver"
AUTH = ("demo-key", "demo-secret")
_DEMO = demo_data.generate("demo", n_orders=1)
V1, V2 = (p for p in _DEMO.products[:2])
ADDRESS = {
    "name": "Iris Visser",
    "address1": "Kerkstraat",
    "number": "12",
    "zipcode": "3511 AB",
    "city": "Utrecht",
    "country": "nl",
}


def place_order(
    tc: TestClient,
    *,
    email: str = "iris@example.nl",
    customer_id: int | None = None,
    lines: tuple[tuple[int, int], ...] = ((V1["variant_id"], 2),),
) -> int:
    """Walk the sandbox's checkout over HTTP; the new order's id."""
    customer: dict[str, Any] = {"email": email, "firstname": "Iris", "lastname": "Visser"}
    mode = "guest"
    if customer_id is not None:
        mode, customer = "customer", {"id": customer_id}
    co = tc.post(
        "/nl/checkouts.json", auth=AUTH, json={"checkout": {"mode": mode, "customer": customer}}
    )
    assert co.status_code == 201, co.text
    url = f"/nl/checkouts/{co.json()['id']}"
    for variant_id, quantity in lines:
        added = tc.post(
            f"{url}/products.json", auth=AUTH, json={"variantId": variant_id, "quantity": quantity}
        )
        assert added.status_code == 201, added.text
    put = tc.put(
        f"{url}.json",
        auth=AUTH,
        json={
            "checkout": {
                "shipmentMethod": "core|85518|424001",
                "paymentMethod": "ideal",
                "billingAddress": ADDRESS,
                "shippingAddress": ADDRESS,
                "terms": True,
            }
        },
    )
    assert put.status_code == 200, put.text
    placed = tc.post(f"{url}/order.json", auth=AUTH)
    assert placed.status_code == 201, placed.text
    oid: int = placed.json()["orderId"]
    return oid


@dataclass
class Setup:
    app: FastAPI
    tc: TestClient
    client: LightspeedEcomClient
    source: LightspeedEcomSource
    target: LightspeedEcomTarget
    counter: CallCounter

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.tc.request(method, path, **kwargs)
        assert resp.status_code < 400, resp.text
        return resp.json()

    def writes(self) -> int:
        stats: dict[str, int] = self.control("GET", "/_sandbox/stats")
        return stats["writes"]


def setup(*, page_size: int = 250, **options: Any) -> Setup:
    app = create_app(
        seed="demo", n_orders=5, per_second=1000, rate_limit="100000/100000/100000", **options
    )
    tc = TestClient(app)
    counter = CallCounter()
    client = LightspeedEcomClient(
        BASE,
        "nl",
        "demo-key",
        "demo-secret",
        http=tc,
        policy=RetryPolicy(sleep=lambda _: None),
        counter=counter,
        max_per_second=1000,
        page_size=page_size,
    )
    return Setup(
        app, tc, client, LightspeedEcomSource(client), LightspeedEcomTarget(client), counter
    )


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


def shipped(code: str = "3SABC123", order: str = "1") -> Shipment:
    at = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    return Shipment(
        ref=ExternalRef(system="buckles", id="S-1"),
        order_ref=ExternalRef(system="buckles", id=order),
        status="shipped",
        tracking_code=code,
        carrier="PostNL",
        shipped_at=at,
        updated_at=at,
    )


def test_protocols_are_satisfied() -> None:
    s = setup()
    sources: tuple[ShipmentSource, CheckoutSource] = (s.source, s.source)
    target: ShipmentTarget = s.target
    assert sources and target


# --- the sandbox ---------------------------------------------------------------------


def test_a_checkout_order_gets_one_unshipped_shipment_listed_by_order_and_window() -> None:
    s = setup()
    seeded = s.tc.get("/nl/shipments/count.json", auth=AUTH).json()["count"]
    oid = place_order(s.tc, lines=((V1["variant_id"], 2), (V2["variant_id"], 1)))
    other = place_order(s.tc)
    listed = s.tc.get("/nl/shipments.json", params={"order": oid}, auth=AUTH).json()
    (shipment,) = listed["shipments"]
    assert shipment["status"] == "not_shipped" and shipment["trackingCode"] == ""
    assert shipment["order"]["resource"]["id"] == oid
    assert shipment["order"]["resource"]["link"].endswith(f"/nl/orders/{oid}.json")
    sid = shipment["id"]
    assert s.tc.get(f"/nl/shipments/{sid}.json", auth=AUTH).json()["shipment"] == shipment
    lines = s.tc.get(f"/nl/shipments/{sid}/products.json", auth=AUTH).json()
    assert [(ln["sku"], ln["quantity"]) for ln in lines["shipmentProducts"]] == [
        (V1["sku"], 2),
        (V2["sku"], 1),
    ]
    order = s.tc.get(f"/nl/orders/{oid}.json", auth=AUTH).json()["order"]
    assert order["shipmentStatus"] == "not_shipped"
    assert order["shipments"]["resource"]["url"] == f"shipments?order={oid}"
    # paging and the updated_at filters, as every list
    assert s.tc.get("/nl/shipments/count.json", auth=AUTH).json() == {"count": seeded + 2}
    page2 = s.tc.get(
        "/nl/shipments.json", params={"limit": 1, "page": seeded + 2}, auth=AUTH
    ).json()
    assert [x["order"]["resource"]["id"] for x in page2["shipments"]] == [other]
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert s.tc.get("/nl/shipments.json", params={"updated_at_min": future}, auth=AUTH).json() == {
        "shipments": []
    }
    # the vendor has no shipment create
    assert s.tc.post("/nl/shipments.json", auth=AUTH, json={"shipment": {}}).status_code == 405
    assert s.tc.get("/nl/shipments.json", auth=("demo-key", "bad")).status_code == 401


def test_put_shipment_updates_it_and_cascades_to_the_order() -> None:
    s = setup()
    oid = place_order(s.tc)
    (shipment,) = s.client.shipments_for_order(oid)
    before = s.client.get_order(oid)
    url = f"/nl/shipments/{shipment['id']}.json"
    for bad in ({"order": 1}, {"status": "lost"}, {"trackingCode": 5}):
        resp = s.tc.put(url, auth=AUTH, json={"shipment": bad})
        assert resp.status_code == 400 and resp.json()["error"]["code"] == 400, bad
    assert (
        s.tc.put(
            "/nl/shipments/1.json", auth=AUTH, json={"shipment": {"status": "shipped"}}
        ).status_code
        == 404
    )
    resp = s.tc.put(
        url, auth=AUTH, json={"shipment": {"status": "shipped", "trackingCode": "3SXYZ"}}
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["shipment"]["status"], resp.json()["shipment"]["trackingCode"]) == (
        "shipped",
        "3SXYZ",
    )
    order = s.client.get_order(oid)
    assert order["shipmentStatus"] == "shipped" and order["updatedAt"] > before["updatedAt"]
    assert [ln["quantityShipped"] for ln in s.client.order_products(oid)] == [2]


def test_the_cascade_can_be_switched_off() -> None:
    s = setup(shipment_cascades=False)
    oid = place_order(s.tc)
    (shipment,) = s.client.shipments_for_order(oid)
    s.client.update_shipment(shipment["id"], {"status": "shipped"})
    assert s.client.get_order(oid)["shipmentStatus"] == "not_shipped"


def test_a_shipment_added_by_hand_in_the_back_office() -> None:
    s = setup()
    oid = place_order(s.tc)
    made = s.tc.post(f"/_sandbox/orders/{oid}/shipments", json={"trackingCode": "HAND1"})
    assert made.status_code == 201, made.text
    assert made.json()["shipment"]["status"] == "shipped"
    rows = s.client.shipments_for_order(oid)
    assert [(r["status"], r["trackingCode"]) for r in rows] == [
        ("not_shipped", ""),
        ("shipped", "HAND1"),
    ]
    assert s.client.get_order(oid)["shipmentStatus"] == "partially_shipped"
    assert s.tc.post("/_sandbox/orders/1/shipments", json={}).status_code == 404
    assert (
        s.tc.post(f"/_sandbox/orders/{oid}/shipments", json={"status": "lost"}).status_code == 400
    )


# --- client and source -----------------------------------------------------------------


def test_iter_shipments_pages_the_window_and_translates() -> None:
    s = setup(page_size=2)
    orders = [place_order(s.tc) for _ in range(5)]
    start, end = window()
    records = list(s.source.iter_shipment_records(start, end))
    assert sorted(r["order"]["resource"]["id"] for r in records) == orders
    shipments = [s.source.to_shipment(r) for r in records]
    assert {x.order_ref for x in shipments} == {
        ExternalRef(system="lightspeed_ecom", id=str(o)) for o in orders
    }
    assert all(x.status == "not_shipped" and x.lines == () for x in shipments)
    assert s.source.shipment_id(records[0]) == str(records[0]["id"])
    assert list(s.source.iter_shipment_records(end, end + timedelta(hours=1))) == []


def test_shipment_translation() -> None:
    raw = {
        "id": 7,
        "status": "shipped",
        "trackingCode": " 3S1 ",
        "updatedAt": "2026-11-21T10:00:00+01:00",
        "order": {"resource": {"id": 30001}},
        "products": {
            "resource": {
                "id": False,
                "embedded": [
                    {"sku": "SKU-1", "quantity": 2},
                    {"articleCode": "ART-2", "quantity": 0},
                ],
            }
        },
    }
    got = shipment_from_lightspeed(raw)
    assert (got.status, got.tracking_code, got.order_ref.id) == ("shipped", "3S1", "30001")
    assert [(ln.sku, ln.quantity) for ln in got.lines] == [("SKU-1", Decimal(2))]
    for status in ("not_shipped", "partially_shipped", "cancelled"):
        assert shipment_from_lightspeed({**raw, "status": status}).status == "not_shipped"
    for bad, field in (
        ({**raw, "order": False}, "order"),
        ({**raw, "status": ""}, "status"),
        ({**raw, "updatedAt": "yesterday"}, "updatedAt"),
        ({**raw, "id": None}, "id"),
        ({**raw, "products": {"resource": {"embedded": [{"quantity": 1}]}}}, "products[0].sku"),
        (
            {**raw, "products": {"resource": {"embedded": [{"sku": "A", "quantity": -1}]}}},
            "products[0].quantity",
        ),
    ):
        with pytest.raises(RecordError) as err:
            shipment_from_lightspeed(bad)
        assert (err.value.entity, err.value.field) == ("shipment", field)


# --- the target ------------------------------------------------------------------------


def test_apply_shipment_marks_the_order_shipped_once() -> None:
    s = setup()
    oid = place_order(s.tc)
    (before,) = s.client.shipments_for_order(oid)
    writes = s.writes()
    sid = s.target.apply_shipment(str(oid), shipped("3SABC"))
    assert sid == str(before["id"])
    (after,) = s.client.shipments_for_order(oid)
    assert (after["status"], after["trackingCode"]) == ("shipped", "3SABC")
    assert s.client.get_order(oid)["shipmentStatus"] == "shipped"
    assert s.writes() == writes + 1
    # idempotent: the second time finds it by tracking code and writes nothing
    assert s.target.apply_shipment(str(oid), shipped("3SABC")) == sid
    assert s.writes() == writes + 1
    assert s.client.shipments_for_order(oid) == [after]
    # another parcel, but Lightspeed cannot add a shipment
    with pytest.raises(FatalError, match=f"order {oid}"):
        s.target.apply_shipment(str(oid), shipped("3SOTHER"))


def test_apply_shipment_prefers_the_same_tracking_code() -> None:
    s = setup()
    oid = place_order(s.tc)
    hand = s.control("POST", f"/_sandbox/orders/{oid}/shipments", json={"trackingCode": "HAND1"})[
        "shipment"
    ]
    writes = s.writes()
    assert s.target.apply_shipment(str(oid), shipped("HAND1")) == str(hand["id"])
    assert s.writes() == writes  # already shipped with that code: nothing to write
    first = s.target.apply_shipment(str(oid), shipped("3SNEW"))
    assert first != str(hand["id"])
    assert s.client.get_order(oid)["shipmentStatus"] == "shipped"


def test_an_unshipped_shipment_only_sets_the_tracking_code() -> None:
    s = setup()
    oid = place_order(s.tc)
    pending = shipped("3SPEND").model_copy(update={"status": "not_shipped"})
    s.target.apply_shipment(str(oid), pending)
    (row,) = s.client.shipments_for_order(oid)
    assert (row["status"], row["trackingCode"]) == ("not_shipped", "3SPEND")


def test_apply_shipment_names_a_missing_order_or_one_without_shipments() -> None:
    s = setup()
    with pytest.raises(FatalError, match="order 99999 does not exist"):
        s.target.apply_shipment("99999", shipped())
    # an order put in by a control, not the checkout: it has no shipment
    bare = s.tc.post("/_sandbox/orders", json={"order": {"number": "BARE-1"}}).json()["order"]
    with pytest.raises(FatalError, match=f"order {bare['id']} has no shipments"):
        s.target.apply_shipment(str(bare["id"]), shipped())
    with pytest.raises(FatalError, match="not a number"):
        s.target.apply_shipment("ORD-1", shipped())


# --- checkouts -------------------------------------------------------------------------


def test_checkouts_list_pages_and_filters_and_the_abandoned_cart_control() -> None:
    s = setup(page_size=2, abandoned_carts=0)
    oid = place_order(s.tc, email="Buyer@Example.nl")
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    abandoned = s.control(
        "POST",
        "/_sandbox/checkouts",
        json={
            "customer": {"email": "gone@example.nl", "firstname": "Gone"},
            "products": [{"sku": V2["sku"], "quantity": 3}, {"variantId": V1["variant_id"]}],
        },
    )["checkout"]
    stale = s.control("POST", "/_sandbox/checkouts", json={"createdAt": old, "updatedAt": old})[
        "checkout"
    ]
    empty = s.control("POST", "/_sandbox/checkouts", json={})["checkout"]
    assert s.tc.post("/_sandbox/checkouts", json={"products": [{"sku": "NOPE"}]}).status_code == 400
    listed = s.tc.get("/nl/checkouts.json", params={"limit": 2, "page": 2}, auth=AUTH).json()
    assert [c["id"] for c in listed["checkouts"]] == [stale["id"], empty["id"]]
    assert s.tc.get("/nl/checkouts/count.json", auth=AUTH).json() == {"count": 4}
    start, end = window()
    records = list(s.source.iter_checkout_records(start, end))
    assert [s.source.checkout_id(r) for r in records] == [
        str(i) for i in (1, abandoned["id"], empty["id"])
    ]
    by_id = {c.ref.id: c for c in map(s.source.to_checkout, records)}
    ordered, cart, nothing = by_id["1"], by_id[str(abandoned["id"])], by_id[str(empty["id"])]
    assert ordered.order_ref == ExternalRef(system="lightspeed_ecom", id=str(oid))
    assert ordered.email == "buyer@example.nl" and len(ordered.lines) == 1
    assert cart.order_ref is None and cart.email == "gone@example.nl"
    assert [(ln.sku, ln.quantity) for ln in cart.lines] == [(V2["sku"], 3), (V1["sku"], 1)]
    assert cart.total_incl == sum(ln.quantity * ln.unit_price_incl for ln in cart.lines)
    assert all(ln.description for ln in cart.lines)
    assert (nothing.email, nothing.lines, nothing.total_incl) == ("", (), Decimal(0))


def test_checkout_translation_names_the_vendor_field() -> None:
    raw = {
        "id": 3,
        "createdAt": "2026-11-21T10:00:00+01:00",
        "updatedAt": "2026-11-21T10:05:00+01:00",
        "customer": None,
        "orderId": None,
        "products": [{"sku": "A", "quantity": 1, "priceIncl": 12.1}],
    }
    assert checkout_from_lightspeed(raw, currency="EUR").total_incl == Decimal("12.1")
    ordered = checkout_from_lightspeed({**raw, "orderId": 30009}, currency="EUR")
    assert ordered.order_ref == ExternalRef(system="lightspeed_ecom", id="30009")
    for bad, field in (
        (
            {**raw, "products": [{"sku": "A", "quantity": "x", "priceIncl": 1}]},
            "products[0].quantity",
        ),
        ({**raw, "products": [{"sku": "A", "quantity": 1}]}, "products[0].priceIncl"),
        ({**raw, "customer": "x"}, "customer"),
        ({**raw, "createdAt": None}, "createdAt"),
    ):
        with pytest.raises(RecordError) as err:
            checkout_from_lightspeed(bad, currency="EUR")
        assert (err.value.entity, err.value.field) == ("checkout", field)


# --- webhooks through the client -------------------------------------------------------


def test_webhook_crud_through_the_client() -> None:
    s = setup(page_size=2)
    made = [
        s.client.create_webhook(
            {"itemGroup": group, "itemAction": "*", "address": f"https://hub.example/{group}"}
        )
        for group in ("orders", "shipments", "customers")
    ]
    # the API shows a webhook's language as an object [V: a live webhook]
    assert all(h["isActive"] and h["language"]["code"] == "nl" for h in made)
    assert [h["id"] for h in s.client.list_webhooks()] == [h["id"] for h in made]
    assert s.client.delete_webhook(made[0]["id"]) is True
    assert s.client.delete_webhook(made[0]["id"]) is False
    assert [h["itemGroup"] for h in s.client.list_webhooks()] == ["shipments", "customers"]
    with pytest.raises(FatalError):
        s.client.create_webhook(
            {"itemGroup": "invoices", "itemAction": "*", "address": "https://hub.example/x"}
        )
