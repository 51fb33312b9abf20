"""Lightspeed eCom webhooks: signatures, the sandbox's registration API and its deliveries."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors.lightspeed_ecom.translate import (
    customer_from_lightspeed,
    order_from_lightspeed,
    shipment_from_lightspeed,
)
from shopbridge.connectors.lightspeed_ecom.webhooks import (
    delivery_records,
    record_id,
    signature,
    verify,
)
from shopbridge_dev.sandboxes.lightspeed_ecom.app import create_app
from tests.connectors.test_lightspeed_ecom_shipments import V1, V2, place_order

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

AUTH = ("demo-key", "demo-secret")
SECRET = "demo-secret"


@dataclass
class Receiver:
    """A local HTTP endpoint collecting every POST it gets."""

    url: str
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = 3.0) -> list[tuple[bytes, dict[str, str]]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= n, timeout), self.received
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()
            with rec.cond:
                rec.received.append((body, dict(self.headers.items())))
                rec.cond.notify_all()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(seed="demo", n_orders=3))


def _register(client: TestClient, address: str, **fields: Any) -> dict[str, Any]:
    hook = {
        "isActive": True,
        "itemGroup": "orders",
        "itemAction": "*",
        "language": "nl",
        "format": "json",
        "address": address,
    } | fields
    resp = client.post("/nl/webhooks.json", json={"webhook": hook}, auth=AUTH)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()["webhook"]
    return created


def _bodies(receiver: Receiver, n: int, timeout: float = 3.0) -> list[dict[str, Any]]:
    """The first ``n`` bodies received, each checked against its signature."""
    out = []
    for body, headers in receiver.wait_for(n, timeout)[:n]:
        assert verify(body, headers["X-Signature"], SECRET)
        out.append(json.loads(body))
    return out


def _settled(client: TestClient, timeout: float = 3.0) -> list[dict[str, Any]]:
    """The delivery log once nothing is pending any more."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/_sandbox/deliveries").json()
        if body["pending"] == 0:
            log: list[dict[str, Any]] = body["deliveries"]
            return log
        assert time.monotonic() < deadline, body
        time.sleep(0.01)


def _without_embedded(value: Any) -> Any:
    """``value`` with every reference's ``embedded`` dropped (what a GET returns)."""
    if isinstance(value, list):
        return [_without_embedded(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _without_embedded(v) for k, v in value.items() if k != "embedded"}
    return out


def test_signature_is_md5_of_body_and_secret() -> None:
    body = b'{"order":{"id":1}}'
    sig = signature(body, "s3cret")
    assert sig == hashlib.md5(body + b"s3cret", usedforsecurity=False).hexdigest()
    assert verify(body, sig, "s3cret")
    assert verify(body, sig.upper(), "s3cret")
    assert not verify(body + b" ", sig, "s3cret")
    assert not verify(body, sig, "other")
    assert not verify(body, None, "s3cret")
    assert not verify(body, "", "s3cret")


def test_registration_round_trip(client: TestClient) -> None:
    hook = _register(client, "https://example.test/hook", itemAction="created")
    wid = hook["id"]
    assert hook["itemGroup"] == "orders" and hook["isActive"] is True
    got = client.get(f"/nl/webhooks/{wid}.json", auth=AUTH).json()["webhook"]
    assert got == hook
    assert client.get("/nl/webhooks.json", auth=AUTH).json()["webhooks"] == [hook]
    assert client.get("/nl/webhooks/count.json", auth=AUTH).json() == {"count": 1}
    resp = client.put(f"/nl/webhooks/{wid}.json", json={"webhook": {"isActive": False}}, auth=AUTH)
    assert resp.status_code == 200
    assert resp.json()["webhook"]["isActive"] is False
    assert resp.json()["webhook"]["itemAction"] == "created"
    assert client.delete(f"/nl/webhooks/{wid}.json", auth=AUTH).status_code == 200
    missing = client.get(f"/nl/webhooks/{wid}.json", auth=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
    assert client.get("/nl/webhooks.json", auth=AUTH).json() == {"webhooks": []}


@pytest.mark.parametrize(
    "fields",
    [
        {"itemGroup": "invoices"},
        {"itemAction": "paid"},
        {"itemAction": "shipped", "itemGroup": "products"},
        {"address": "ftp://example.test/x"},
        {"format": "xml"},
        {"isActive": "yes"},
        {"colour": "red"},
    ],
)
def test_registration_validation(client: TestClient, fields: dict[str, Any]) -> None:
    hook = {
        "itemGroup": "orders",
        "itemAction": "created",
        "address": "https://example.test/hook",
    } | fields
    resp = client.post("/nl/webhooks.json", json={"webhook": hook}, auth=AUTH)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == 400 and err["method"] == "POST" and err["request"] == "/nl/webhooks.json"
    missing = client.post("/nl/webhooks.json", json={"webhook": {"itemGroup": "orders"}}, auth=AUTH)
    assert missing.status_code == 400


def test_webhooks_need_auth(client: TestClient) -> None:
    resp = client.get("/nl/webhooks.json")
    assert resp.status_code == 401 and "X-RateLimit-Limit" in resp.headers


def test_upsert_is_delivered_signed_to_matching_webhooks_only(
    client: TestClient, receiver: Receiver
) -> None:
    match = _register(client, receiver.url, itemAction="created")
    _register(client, receiver.url + "?other", itemGroup="customers")
    _register(client, receiver.url + "?inactive", isActive=False)
    created = client.post("/_sandbox/orders", json={"order": {"number": "ORD-W1"}}).json()
    oid = created["order"]["id"]
    log = _settled(client)
    assert [(d["webhook_id"], d["order_id"], d.get("status")) for d in log] == [
        (match["id"], oid, 204)
    ]
    ((body, headers),) = receiver.wait_for(1)
    assert headers["Content-Type"] == "application/json"
    assert verify(body, headers["X-Signature"], SECRET)
    assert not verify(body.replace(b"ORD-W1", b"ORD-W2"), headers["X-Signature"], SECRET)
    rendered = client.get(f"/nl/orders/{oid}.json", auth=AUTH).json()
    # the GET envelope, with the relations embedded in their references (§1 [V])
    delivered = json.loads(body)
    assert delivered["order"]["products"]["resource"]["embedded"] == []
    assert _without_embedded(delivered) == rendered
    # an update does not match a "created" webhook
    client.post("/_sandbox/orders", json={"order": {"id": oid, "memo": "x"}})
    assert len(_settled(client)) == 1


def test_vendor_put_and_redeliver(client: TestClient, receiver: Receiver) -> None:
    hook = _register(client, receiver.url, itemAction="updated")
    resp = client.put("/nl/orders/30001.json", json={"order": {"memo": "packed"}}, auth=AUTH)
    assert resp.status_code == 200, resp.text
    resp = client.post("/_sandbox/deliver", json={"order_id": 30001})
    assert resp.json() == {"queued": 1}
    (first, h1), (second, h2) = receiver.wait_for(2)
    assert first == second and h1["X-Signature"] == h2["X-Signature"]
    assert verify(first, h1["X-Signature"], SECRET)
    assert [d["webhook_id"] for d in _settled(client)] == [hook["id"], hook["id"]]
    assert client.post("/_sandbox/deliver", json={"order_id": 1}).status_code == 404


def test_delete_stops_deliveries_and_failures_are_recorded(
    client: TestClient, receiver: Receiver
) -> None:
    hook = _register(client, receiver.url)
    client.post("/_sandbox/orders", json={"order": {"number": "ORD-D1"}})
    receiver.wait_for(1)
    assert client.delete(f"/nl/webhooks/{hook['id']}.json", auth=AUTH).status_code == 200
    client.post("/_sandbox/orders", json={"order": {"number": "ORD-D2"}})
    assert len(_settled(client)) == 1
    assert len(receiver.received) == 1
    # an unreachable address: recorded as an error, not retried
    _register(client, "http://127.0.0.1:9/nowhere")
    client.post("/_sandbox/orders", json={"order": {"number": "ORD-D3"}})
    log = _settled(client)
    assert len(log) == 2 and "error" in log[-1] and "status" not in log[-1]


# --- payloads: embedded relations, every item group ------------------------------------


@pytest.fixture
def shop() -> TestClient:
    """A sandbox whose rate limits a checkout-heavy test does not meet."""
    return TestClient(
        create_app(seed="demo", n_orders=3, per_second=1000, rate_limit="100000/100000/100000")
    )


def test_a_checkout_order_is_delivered_with_its_lines_and_customer_embedded(
    shop: TestClient, receiver: Receiver
) -> None:
    _register(shop, receiver.url + "?orders", itemAction="created")
    _register(shop, receiver.url + "?shipments", itemGroup="shipments", itemAction="created")
    customer = shop.get("/nl/customers.json", params={"limit": 1}, auth=AUTH).json()
    cid = customer["customers"][0]["id"]
    oid = place_order(shop, customer_id=cid, lines=((V1["variant_id"], 2), (V2["variant_id"], 1)))
    log = _settled(shop)
    assert sorted((d["item_group"], d["action"]) for d in log) == [
        ("orders", "created"),
        ("shipments", "created"),
    ]
    bodies = {next(iter(b)): b for b in _bodies(receiver, 2)}
    entity, (order,) = delivery_records(bodies["order"])
    assert entity == "order" and record_id(entity, order) == str(oid)
    lines = shop.get(f"/nl/orders/{oid}/products.json", auth=AUTH).json()["orderProducts"]
    assert order["products"]["resource"]["embedded"] == lines
    assert [ln["sku"] for ln in lines] == [V1["sku"], V2["sku"]]
    embedded = order["customer"]["resource"]["embedded"]
    assert embedded == shop.get(f"/nl/customers/{cid}.json", auth=AUTH).json()["customer"]
    (shipment,) = order["shipments"]["resource"]["embedded"]
    assert shipment["status"] == "not_shipped"
    translated = order_from_lightspeed(order, currency="EUR")  # as the source's to_order
    assert [(ln.sku, ln.quantity) for ln in translated.lines] == [(V1["sku"], 2), (V2["sku"], 1)]
    assert translated.customer.email == embedded["email"]
    entity, (raw_shipment,) = delivery_records(bodies["shipment"])
    assert entity == "shipment"
    parcel = shipment_from_lightspeed(raw_shipment)
    assert parcel.order_ref.id == str(oid) and parcel.status == "not_shipped"
    assert [(ln.sku, ln.quantity) for ln in parcel.lines] == [(V1["sku"], 2), (V2["sku"], 1)]


def test_shipping_delivers_the_shipment_and_the_orders_shipped_event(
    shop: TestClient, receiver: Receiver
) -> None:
    oid = place_order(shop)
    (row,) = shop.get("/nl/shipments.json", params={"order": oid}, auth=AUTH).json()["shipments"]
    shipped_hook = _register(shop, receiver.url + "?shipped", itemAction="shipped")
    updated_hook = _register(shop, receiver.url + "?updated", itemAction="updated")
    ship_hook = _register(shop, receiver.url + "?ship", itemGroup="shipments", itemAction="updated")
    resp = shop.put(
        f"/nl/shipments/{row['id']}.json",
        auth=AUTH,
        json={"shipment": {"status": "shipped", "trackingCode": "3SX"}},
    )
    assert resp.status_code == 200, resp.text
    log = _settled(shop)
    assert sorted((d["webhook_id"], d["item_group"], d["item_id"]) for d in log) == sorted(
        [
            (shipped_hook["id"], "orders", oid),
            (updated_hook["id"], "orders", oid),
            (ship_hook["id"], "shipments", row["id"]),
        ]
    )
    assert all(d["status"] == 204 for d in log)
    bodies = _bodies(receiver, 3)
    orders = [b["order"] for b in bodies if "order" in b]
    assert len(orders) == 2 and all(o["shipmentStatus"] == "shipped" for o in orders)
    (shipment,) = [b["shipment"] for b in bodies if "shipment" in b]
    assert (shipment["status"], shipment["trackingCode"]) == ("shipped", "3SX")
    # writing the same again changes nothing, so nothing is delivered
    shop.put(f"/nl/shipments/{row['id']}.json", auth=AUTH, json={"shipment": {"status": "shipped"}})
    assert len(_settled(shop)) == 3
    # a shipment added by hand fires the shipments "created" event
    created = _register(shop, receiver.url + "?hand", itemGroup="shipments", itemAction="created")
    shop.post(f"/_sandbox/orders/{oid}/shipments", json={"trackingCode": "HAND"})
    assert [d["webhook_id"] for d in _settled(shop)[3:]] == [created["id"]]


def test_customer_writes_are_delivered(shop: TestClient, receiver: Receiver) -> None:
    hook = _register(shop, receiver.url, itemGroup="customers")
    made = shop.post(
        "/nl/customers.json",
        auth=AUTH,
        json={
            "customer": {
                "email": "new@example.nl",
                "firstname": "Nieuw",
                "lastname": "Klant",
                "addressBillingStreet": "Kerkstraat",
                "addressBillingCity": "Utrecht",
                "addressBillingCountry": "NL",
            }
        },
    )
    assert made.status_code == 201, made.text
    cid = made.json()["customer"]["id"]
    shop.put(f"/nl/customers/{cid}.json", auth=AUTH, json={"customer": {"lastname": "Klant2"}})
    log = _settled(shop)
    assert [(d["webhook_id"], d["item_id"], d["action"]) for d in log] == [
        (hook["id"], cid, "created"),
        (hook["id"], cid, "updated"),
    ]
    assert all("order_id" not in d for d in log)
    bodies = _bodies(receiver, 2)
    records = [delivery_records(b) for b in bodies]
    assert [e for e, _ in records] == ["customer", "customer"]
    last = max((r for _, (r,) in records), key=lambda r: r["updatedAt"])
    assert customer_from_lightspeed(last).last_name == "Klant2"
    resend = shop.post("/_sandbox/deliver", json={"item_group": "customers", "id": cid})
    assert resend.json() == {"queued": 1}
    assert len(_settled(shop)) == 3
    assert (
        shop.post("/_sandbox/deliver", json={"item_group": "customers", "id": 1}).status_code == 404
    )
    assert (
        shop.post("/_sandbox/deliver", json={"item_group": "invoices", "id": cid}).status_code
        == 400
    )


def test_a_burst_of_300_orders_is_delivered_in_full(client: TestClient, receiver: Receiver) -> None:
    hook = _register(client, receiver.url, itemAction="created")
    ids = [
        client.post("/_sandbox/orders", json={"order": {"number": f"B{i}"}}).json()["order"]["id"]
        for i in range(300)
    ]
    log = _settled(client, timeout=60)
    assert len(log) == 300
    assert {d["webhook_id"] for d in log} == {hook["id"]}
    assert sorted(d["order_id"] for d in log) == sorted(ids)
    assert all(d.get("status") == 204 for d in log)
    bodies = _bodies(receiver, 300, timeout=10)
    assert sorted(b["order"]["id"] for b in bodies) == sorted(ids)
    assert len(receiver.received) == 300


# --- delivery_records / record_id ------------------------------------------------------


def test_delivery_records_reads_every_envelope() -> None:
    line = {"id": 9, "sku": "A"}
    order = {"id": 5, "products": {"resource": {"id": False, "embedded": [line]}}}
    assert delivery_records({"order": order}) == ("order", [order])
    keyed = {"id": 5, "products": {"resource": {"id": False, "embedded": {"9": line}}}}
    assert delivery_records({"order": keyed}) == ("order", [order])
    assert delivery_records({"customer": {"id": 1}}) == ("customer", [{"id": 1}])
    assert delivery_records({"shipment": {"id": "2"}})[0] == "shipment"
    assert delivery_records({"product": {"id": 3}})[0] == "product"
    assert delivery_records({"variant": {"id": 4}, "meta": 1}) == ("variant", [{"id": 4}])
    assert delivery_records({"orders": [{"id": 1}, {"id": 2}]}) == ("order", [{"id": 1}, {"id": 2}])
    assert record_id("shipment", {"id": 12}) == "12"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"order": {"id": 1}}], "not a JSON object"),
        ("order", "not a JSON object"),
        ({}, "no known envelope key"),
        ({"invoice": {"id": 1}}, "no known envelope key"),
        ({"order": {"id": 1}, "customer": {"id": 2}}, "more than one"),
        ({"order": [1]}, "not a JSON object"),
        ({"order": {"number": "X"}}, "order has no id"),
        ({"order": {"id": ""}}, "has no id"),
        ({"orders": {"id": 1}}, "not a list"),
        ({"orders": [{"id": 1}, {}]}, r"orders\[1\] has no id"),
    ],
)
def test_delivery_records_refuses_a_malformed_body(body: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        delivery_records(body)


def test_record_id_refuses_unknown_entities_and_missing_ids() -> None:
    with pytest.raises(ValueError, match="unknown Lightspeed entity"):
        record_id("invoice", {"id": 1})
    with pytest.raises(ValueError, match="has no id"):
        record_id("order", {"id": None})
    with pytest.raises(ValueError, match="not a JSON object"):
        record_id("order", [1])
