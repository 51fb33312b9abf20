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

from shopbridge.connectors.lightspeed_ecom.sandbox import create_app
from shopbridge.connectors.lightspeed_ecom.webhooks import signature, verify

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
    hook = {"isActive": True, "itemGroup": "orders", "itemAction": "*", "language": "nl",
            "format": "json", "address": address} | fields
    resp = client.post("/nl/webhooks.json", json={"webhook": hook}, auth=AUTH)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()["webhook"]
    return created


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
    resp = client.put(f"/nl/webhooks/{wid}.json", json={"webhook": {"isActive": False}},
                      auth=AUTH)
    assert resp.status_code == 200
    assert resp.json()["webhook"]["isActive"] is False
    assert resp.json()["webhook"]["itemAction"] == "created"
    assert client.delete(f"/nl/webhooks/{wid}.json", auth=AUTH).status_code == 200
    missing = client.get(f"/nl/webhooks/{wid}.json", auth=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
    assert client.get("/nl/webhooks.json", auth=AUTH).json() == {"webhooks": []}


@pytest.mark.parametrize("fields", [
    {"itemGroup": "invoices"}, {"itemAction": "paid"}, {"itemAction": "shipped",
                                                        "itemGroup": "products"},
    {"address": "ftp://example.test/x"}, {"format": "xml"}, {"isActive": "yes"},
    {"colour": "red"},
])
def test_registration_validation(client: TestClient, fields: dict[str, Any]) -> None:
    hook = {"itemGroup": "orders", "itemAction": "created",
            "address": "https://example.test/hook"} | fields
    resp = client.post("/nl/webhooks.json", json={"webhook": hook}, auth=AUTH)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == 400 and err["method"] == "POST" and err["request"] == "/nl/webhooks.json"
    missing = client.post("/nl/webhooks.json", json={"webhook": {"itemGroup": "orders"}},
                          auth=AUTH)
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
        (match["id"], oid, 204)]
    ((body, headers),) = receiver.wait_for(1)
    assert headers["Content-Type"] == "application/json"
    assert verify(body, headers["X-Signature"], SECRET)
    assert not verify(body.replace(b"ORD-W1", b"ORD-W2"), headers["X-Signature"], SECRET)
    rendered = client.get(f"/nl/orders/{oid}.json", auth=AUTH).json()
    assert json.loads(body) == rendered
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
