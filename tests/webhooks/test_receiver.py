"""The receiver app in-process: what a vendor's delivery gets back, and what waits after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopbridge.airflow.receiver import MAX_BODY, create_receiver
from shopbridge.connectors.lightspeed_ecom.source import embed_products
from shopbridge.connectors.lightspeed_ecom.webhooks import SIGNATURE_HEADER, signature
from shopbridge.store.inbox import Inbox
from shopbridge_dev.sandboxes.lightspeed_ecom import app as ls_sandbox

ROOT = Path(__file__).parents[2]
P = "lightspeed_ecom__buckles"
URL = f"/webhooks/{P}/lightspeed_ecom"
SECRET = "demo-secret"
AUTH = ("demo-key", SECRET)


@pytest.fixture
def shop() -> TestClient:
    return TestClient(
        ls_sandbox.create_app(
            seed="demo", n_orders=5, rate_limit="10000/10000/10000", per_second=10000
        )
    )


@pytest.fixture
def receiver(tmp_path) -> tuple[TestClient, Inbox, list[tuple[str, str, list[str]]]]:
    announced: list[tuple[str, str, list[str]]] = []
    inbox = Inbox(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    app = create_receiver(
        config_dir=ROOT / "include/integrations",
        secret_for=lambda conn_id: SECRET if conn_id else "",
        announce=lambda i, f, ids: announced.append((i, f, ids)),
        inbox=inbox,
        flush_s=0.05,
    )
    return TestClient(app), inbox, announced


def order_body(shop: TestClient, order_id: int | None = None) -> bytes:
    orders = shop.get("/nl/orders.json", auth=AUTH).json()["orders"]
    order = next(o for o in orders if order_id is None or o["id"] == order_id)
    lines = shop.get(f"/nl/orders/{order['id']}/products.json", auth=AUTH).json()
    return json.dumps({"order": embed_products(order, lines["orderProducts"])}).encode()


def post(client: TestClient, body: bytes, sig: str | None, url: str = URL) -> Any:
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers[SIGNATURE_HEADER] = sig
    return client.post(url, content=body, headers=headers)


def test_a_signed_order_waits_in_the_inbox_and_its_flow_is_announced(shop, receiver):
    client, inbox, announced = receiver
    body = order_body(shop)
    resp = post(client, body, signature(body, SECRET))
    assert resp.status_code == 202, resp.text
    assert resp.json()["flows"] == ["orders"]
    order_id = str(json.loads(body)["order"]["id"])
    assert inbox.waiting_count(P, "orders") == 1
    client.app.state.announcer.flush()
    assert announced == [(P, "orders", [order_id])]


def test_a_forged_or_unsigned_delivery_is_refused_and_nothing_waits(shop, receiver, caplog):
    client, inbox, _ = receiver
    body = order_body(shop)
    assert post(client, body, signature(body, "wrong-secret")).status_code == 401
    assert post(client, body, None).status_code == 401
    tampered = body.replace(b'"id"', b'"id" ', 1)
    assert post(client, tampered, signature(body, SECRET)).status_code == 401
    assert inbox.waiting_count(P) == 0
    email = json.loads(body)["order"]["email"]
    assert email and email not in caplog.text  # refusals are logged without personal data


def test_a_redelivery_is_acknowledged_with_2xx_and_stored_once(shop, receiver):
    client, inbox, announced = receiver
    body = order_body(shop)
    assert post(client, body, signature(body, SECRET)).status_code == 202
    client.app.state.announcer.flush()
    again = post(client, body, signature(body, SECRET))
    # a vendor that missed the first answer redelivers, and treats non-2xx as a failure
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicate": True}
    assert inbox.waiting_count(P, "orders") == 1
    client.app.state.announcer.flush()
    assert len(announced) == 1  # the duplicate announces nothing


def test_an_oversized_body_is_refused_from_its_content_length_before_it_is_read(receiver):
    client, inbox, _ = receiver
    body = b"{" + b" " * (MAX_BODY + 10) + b"}"
    resp = post(client, body, signature(body, SECRET))
    assert resp.status_code == 413
    assert inbox.waiting_count(P) == 0


async def _call(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> dict:
    """Drive the ASGI app directly, so the Content-Length can lie and the chunks be counted."""
    sent: list[dict] = []
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled <= len(chunks):
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": True}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return {"status": start["status"], "pulled": pulled}


def test_a_body_longer_than_its_content_length_says_stops_being_read_past_the_limit(receiver):
    import asyncio

    client, inbox, _ = receiver
    chunk = b" " * 500_000
    chunks = [chunk] * 20  # 10 MB behind a header that claims 2 bytes
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    out = asyncio.run(_call(client.app, headers, chunks))
    assert out["status"] == 413
    assert out["pulled"] <= MAX_BODY // len(chunk) + 2  # stopped soon after the limit
    assert inbox.waiting_count(P) == 0


def test_a_content_length_that_is_not_a_number_is_a_400(receiver):
    import asyncio

    client, _, _ = receiver
    headers = [(b"content-type", b"application/json"), (b"content-length", b"lots")]
    assert asyncio.run(_call(client.app, headers, [b"{}"]))["status"] == 400


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"unknown": {"id": 1}}', b'{"order": {"no_id": true}}']
)
def test_a_malformed_delivery_is_a_400_naming_what_is_wrong(receiver, body):
    client, inbox, _ = receiver
    resp = post(client, body, signature(body, SECRET))
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("malformed delivery")
    assert inbox.waiting_count(P) == 0


def test_nobody_listens_on_an_unknown_integration_or_system(shop, receiver):
    client, _, _ = receiver
    body = order_body(shop)
    sig = signature(body, SECRET)
    assert post(client, body, sig, "/webhooks/no_such_pair/lightspeed_ecom").status_code == 404
    assert post(client, body, sig, f"/webhooks/{P}/exact_globe").status_code == 404
    # a pair whose flows take no webhooks
    assert (
        post(
            client, body, sig, "/webhooks/lightspeed_ecom__exact_globe/lightspeed_ecom"
        ).status_code
        == 404
    )


def test_a_burst_is_announced_in_a_few_events_not_one_per_delivery(shop, receiver):
    client, inbox, announced = receiver
    order = json.loads(order_body(shop))["order"]
    for i in range(300):
        body = json.dumps({"order": {**order, "id": 10_000 + i}}).encode()
        assert post(client, body, signature(body, SECRET)).status_code == 202
    client.app.state.announcer.flush()
    assert inbox.waiting_count(P, "orders") == 300
    assert sum(len(ids) for *_, ids in announced) == 300
    assert len(announced) < 300


@pytest.mark.parametrize("enveloped", [True, False])
def test_a_bare_order_body_is_taken_like_an_enveloped_one(shop, receiver, enveloped):
    """Lightspeed delivers the order object itself with its ``embedded`` relations (the
    recorded delivery is bare): the receiver stores either form for the orders flow."""
    client, inbox, _ = receiver
    order = json.loads(order_body(shop))["order"]
    body = json.dumps({"order": order} if enveloped else order).encode()
    resp = post(client, body, signature(body, SECRET))
    assert resp.status_code == 202, resp.text
    assert resp.json()["flows"] == ["orders"]
    assert inbox.waiting_count(P, "orders") == 1


def test_the_recorded_lightspeed_delivery_is_taken_byte_for_byte(receiver):
    from tests.contracts.shape import recorded_bytes

    client, inbox, _ = receiver
    body = recorded_bytes("lightspeed_ecom", "webhook.order_created")
    resp = post(client, body, signature(body, SECRET))
    assert resp.status_code == 202, resp.text
    assert inbox.waiting_count(P, "orders") == 1
