"""CCV SalesPOS client and sandbox, in-process (STYLE R13, R14): signatures both ways,
paging, rate limits, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette warns about its httpx fork at import (a UserWarning/deprecation, which
    # filterwarnings=error would trip on); TestClient still works on the pinned httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.pages import NextLink, PageMismatch
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.ccv_salespos._limiter import MinuteWindows, resource_of
from shopbridge.connectors.ccv_salespos._signing import sign, stamp
from shopbridge.connectors.ccv_salespos.client import CcvHmacAuth, CcvSalesposClient, dumps
from shopbridge.errors import AuthError, ConfigError, FatalError, PaginationLoop, RetriableError
from shopbridge_dev.sandboxes.ccv_salespos.app import create_app
from tests.connectors.clock import FakeClock

from .suite import Harness, connector_suite

BASE = "http://testserver"
PUBLIC, SECRET = "demo-public", "demo-secret"
N_PRODUCTS = 15  # the demo catalogue without the webshop-only DISC-0001


def client_for(
    app: FastAPI,
    *,
    secret: str = SECRET,
    sleeps: list[float] | None = None,
    counter: CallCounter | None = None,
    **kw: Any,
) -> CcvSalesposClient:
    sleeps = sleeps if sleeps is not None else []
    kw.setdefault("policy", RetryPolicy(sleep=sleeps.append))
    return CcvSalesposClient(BASE, PUBLIC, secret, http=TestClient(app), counter=counter, **kw)


def control(app: FastAPI, method: str, path: str, body: Any = None) -> Any:
    with TestClient(app) as tc:
        resp = tc.request(method, f"/_sandbox/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()


def make() -> Harness:
    app = create_app(seed="demo")
    sleeps: list[float] = []
    counter = CallCounter()
    good = client_for(app, sleeps=sleeps, counter=counter)
    bad = client_for(app, secret="wrong", sleeps=sleeps, counter=counter)
    return Harness(
        app=app,
        probe=good.webshops,
        probe_bad_auth=bad.webshops,
        rejected_write=lambda: good.create_order({"orderrows": [{"product_id": 1, "count": 1}]}),
        counter=counter,
        sleeps=sleeps,
    )


TestCcvSalesposSuite = connector_suite(make)


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


# --- signatures --------------------------------------------------------------------------


def test_signature_is_hmac_sha512_of_the_documented_string() -> None:
    date = "2024-05-01T10:00:00+00:00"
    text = f'pub|POST|/api/rest/v1/orders?start=0&size=25|{{"a":1}}|{date}'
    want = hmac.new(b"sec", text.encode(), hashlib.sha512).hexdigest()
    assert (
        sign("sec", "pub", "post", "/api/rest/v1/orders?start=0&size=25", b'{"a":1}', date) == want
    )
    assert stamp(datetime(2024, 5, 1, 12, 0, 0, 123, tzinfo=UTC) - timedelta(hours=2)) == date


def test_request_signature_round_trip_signs_the_bytes_on_the_wire() -> None:
    """The client signs the path+query and body exactly as sent; recomputing the hash from
    what reaches the server gives the same value, and a response signed by the server
    the same way is accepted."""
    seen: dict[str, Any] = {}
    when = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)

    def server(request: httpx.Request) -> httpx.Response:
        uri = request.url.raw_path.decode()
        seen["uri"], seen["body"] = uri, request.content
        seen["ok"] = hmac.compare_digest(
            sign(SECRET, PUBLIC, request.method, uri, request.content, request.headers["x-date"]),
            request.headers["x-hash"],
        )
        body = b'{"id":7}'
        date = stamp(when)
        return httpx.Response(
            201,
            content=body,
            headers={
                "x-date": date,
                "x-hash": sign(SECRET, PUBLIC, request.method, uri, body, date),
            },
        )

    client = CcvSalesposClient(
        BASE,
        PUBLIC,
        SECRET,
        utcnow=lambda: when,
        http=httpx.Client(transport=httpx.MockTransport(server)),
    )
    payload = {"reservationnumber": "ORD 1/ä", "orderrows": [{"product_id": 1, "count": 2}]}
    assert client.request("POST", "orders", params={"q": "a b,c"}, body=payload) == {"id": 7}
    assert seen["ok"] is True
    assert seen["uri"] == "/api/rest/v1/orders?q=a+b%2Cc"
    assert seen["body"] == dumps(payload)
    assert json.loads(seen["body"]) == payload
    client._http.close()


def test_signed_auth_works_as_a_plain_httpx_auth(app: FastAPI) -> None:
    with TestClient(app) as tc:
        resp = tc.get("/api/rest/v1/webshops", auth=CcvHmacAuth(PUBLIC, SECRET))
    assert resp.status_code == 200
    assert resp.json()["items"][0]["id"] == 1
    assert "x-hash" in resp.headers and "x-date" in resp.headers


def test_wrong_secret_is_refused_401_and_reported(app: FastAPI) -> None:
    counter = CallCounter()
    with pytest.raises(AuthError, match=r"401 401\.13 x-hash does not match") as err:
        client_for(app, secret="not-the-secret", counter=counter).webshops()
    assert "not-the-secret" not in str(err.value)
    assert counter.calls == 1
    assert control(app, "GET", "stats")["rejected_401"] == 1


def test_stale_x_date_is_refused_401_and_reported(app: FastAPI) -> None:
    stale = client_for(app, utcnow=lambda: datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(
        AuthError,
        match=r"401\.12 x-date .* 60\ds away from the server's "
        r"clock \(at most 300s\)",
    ):
        stale.webshops()
    slightly_off = client_for(app, utcnow=lambda: datetime.now(UTC) + timedelta(minutes=2))
    assert slightly_off.webshops()[0]["id"] == 1


def test_clock_tolerance_is_a_sandbox_option() -> None:
    strict = create_app(seed=None, max_clock_skew_s=60)
    with pytest.raises(AuthError, match=r"at most 60s"):
        client_for(strict, utcnow=lambda: datetime.now(UTC) - timedelta(minutes=2)).webshops()


def test_missing_headers_and_unknown_key_are_401(app: FastAPI) -> None:
    with TestClient(app) as tc:
        bare = tc.get("/api/rest/v1/webshops")
        other = tc.get("/api/rest/v1/webshops", auth=CcvHmacAuth("someone-else", SECRET))
    assert bare.status_code == 401 and bare.json()["code"] == "401.10"
    assert set(bare.json()) == {"code", "status", "developermessage"}
    assert other.status_code == 401 and other.json()["code"] == "401.11"
    assert "x-hash" not in other.headers  # the server cannot sign for an unknown key


def test_tampered_response_is_rejected_naming_the_request(app: FastAPI) -> None:
    client = client_for(app)
    control(app, "POST", "tamper", {"times": 1, "path_contains": "/products"})
    with pytest.raises(
        FatalError,
        match=r"GET /api/rest/v1/products -> 200: the response "
        r"signature does not match",
    ):
        list(client.iter_products())
    assert client.counter.retries == 0
    assert len(list(client.iter_products())) == N_PRODUCTS  # only the one was altered


def test_unsigned_success_is_rejected_unsigned_error_is_judged_by_status() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("webshops"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(502, text="Bad gateway")

    sleeps: list[float] = []
    client = CcvSalesposClient(
        BASE,
        PUBLIC,
        SECRET,
        policy=RetryPolicy(sleep=sleeps.append),
        http=httpx.Client(transport=httpx.MockTransport(server)),
    )
    with pytest.raises(
        FatalError, match="GET /api/rest/v1/webshops -> 200: the response is not signed"
    ):
        client.webshops()
    with pytest.raises(RetriableError, match="502"):
        client.get_order(1)
    assert len(sleeps) == RetryPolicy().attempts - 1
    client._http.close()


# --- errors ------------------------------------------------------------------------------


def test_error_bodies_codes_and_fatal_5xx(app: FastAPI) -> None:
    client = client_for(app)
    with pytest.raises(FatalError, match=r"404 404\.20 resource 'nothing' does not exist"):
        client.request("GET", "nothing")
    with pytest.raises(FatalError, match=r"405 405\.10 DELETE is not allowed on orders/1001"):
        client.request("DELETE", "orders/1001")
    with pytest.raises(FatalError, match=r"404 404\.10 orders 999 not found"):
        client.get_order(999)
    # CCV reports "payload too big" with HTTP 500: not worth a retry
    control(
        app,
        "POST",
        "faults",
        {
            "status": 500,
            "times": 5,
            "body": {
                "code": "500.80",
                "status": 500,
                "developermessage": "Requested payload too big",
            },
        },
    )
    with pytest.raises(FatalError, match=r"500 500\.80 Requested payload too big") as err:
        client.webshops()
    assert not isinstance(err.value, RetriableError)
    assert client.counter.retries == 0


def test_order_validation_names_the_field(app: FastAPI) -> None:
    client = client_for(app)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"orderrows": []}, "orderrows: at least one row"),
        (
            {"orderrows": [{"product_id": 424242, "count": 1}]},
            r"orderrows\[0\]\.product_id: product 424242 not found",
        ),
        (
            {"orderrows": [{"product_id": 5001, "attribute_combination_id": 9006, "count": 1}]},
            r"orderrows\[0\]\.attribute_combination_id: combination 9006 does not belong",
        ),
        ({"orderrows": [{"product_id": 5003, "count": 0}]}, r"orderrows\[0\]\.count"),
        (
            {"orderrows": [{"product_id": 5003, "count": 1, "colour": "red"}]},
            r"orderrows\[0\]: unknown field\(s\) colour",
        ),
        (
            {"orderrows": [{"product_id": 5003, "count": 1}], "ordernumber": 5},
            r"unknown or read-only field\(s\): ordernumber",
        ),
        (
            {"orderrows": [{"product_id": 5003, "count": 1}], "transaction_id": "x"},
            "transaction_id",
        ),
        (
            {
                "orderrows": [{"product_id": 5003, "count": 1}],
                "customer": {"email": "not-an-address"},
            },
            "customer.email",
        ),
    ]
    for body, needle in cases:
        with pytest.raises(FatalError, match=needle):
            client.create_order(body)
    assert control(app, "GET", "stats")["writes"] == 0


def test_patch_order_status_and_track_and_trace(app: FastAPI) -> None:
    client = client_for(app)
    client.update_order(
        1001, {"status": 5, "track_and_trace_code": "3SABC123", "track_and_trace_carrier": "PostNL"}
    )
    order = client.get_order(1001)
    assert (order["status"], order["track_and_trace_code"]) == (5, "3SABC123")
    with pytest.raises(FatalError, match=r"read-only or unknown field\(s\): total_price"):
        client.update_order(1001, {"total_price": 1})
    with pytest.raises(FatalError, match=r"status: an integer 1\.\.14"):
        client.update_order(1001, {"status": 99})


# --- paging ------------------------------------------------------------------------------


def test_paging_follows_next_across_pages(app: FastAPI) -> None:
    client = client_for(app, page_size=4)
    rows = list(client.iter_products())
    assert len(rows) == N_PRODUCTS
    assert len({r["id"] for r in rows}) == N_PRODUCTS
    assert client.counter.calls == 4  # 4 + 4 + 4 + 3


def test_paging_follows_a_server_that_caps_the_size() -> None:
    capped = create_app(seed="demo", max_page_size=5)
    client = client_for(capped, page_size=250)
    assert len(list(client.iter_products())) == N_PRODUCTS
    assert client.counter.calls == 3


def test_collection_envelope_orderby_and_filters(app: FastAPI) -> None:
    with TestClient(app) as tc:
        page = tc.get(
            "/api/rest/v1/orders?start=5&size=5&orderby=create_date_desc",
            auth=CcvHmacAuth(PUBLIC, SECRET),
        ).json()
    assert set(page) == {"href", "start", "size", "first", "previous", "next", "items"}
    assert (page["start"], page["size"], len(page["items"])) == (5, 5, 5)
    assert "start=0" in page["previous"] and "start=10" in page["next"]
    dates = [o["create_date"] for o in page["items"]]
    assert dates == sorted(dates, reverse=True)
    client = client_for(app)
    some = list(
        client.iter_orders(
            min_create_date=datetime(2026, 11, 17, tzinfo=UTC),
            max_create_date=datetime(2026, 11, 18, tzinfo=UTC),
        )
    )
    assert [o["create_date"] for o in some] == ["2026-11-17T10:00:00Z", "2026-11-17T22:00:00Z"]
    assert list(client.iter_orders(filters={"status": 5})) == []
    with pytest.raises(FatalError, match="orderby: cannot sort orders by 'colour'"):
        list(client.iter_orders(orderby="colour"))
    with pytest.raises(FatalError, match="expand: photos cannot be expanded"):
        list(client.iter_products(expand=("photos",)))


def test_next_link_loop_is_detected() -> None:
    pager = NextLink(2)
    body = httpx.Response(
        200, json={"next": "https://shop.example/api/rest/v1/products?start=2&size=2"}
    )
    nxt = pager.advance(body, [{}])
    assert nxt is not None and nxt.url == "/api/rest/v1/products?start=2&size=2"
    with pytest.raises(PaginationLoop):
        pager.advance(body, [{}])
    with pytest.raises(PageMismatch):  # an empty page that names a next page: rows lost
        NextLink(2).advance(body, [])


# --- rate limits -------------------------------------------------------------------------


def test_burst_is_paced_under_the_limits_and_none_is_rejected() -> None:
    clock = FakeClock()
    app = create_app(seed="demo", limit_per_resource=5, limit_total=8, clock=clock)
    client = client_for(
        app,
        policy=RetryPolicy(sleep=clock.sleep),
        clock=clock,
        rate_limit_per_resource=5,
        rate_limit_total=8,
    )
    for _ in range(12):
        client.webshops(size=1)
    for _ in range(6):
        client.get_order(1001)
    stats = control(app, "GET", "stats")
    assert stats["rejected_429"] == 0
    assert stats["requests"] == 18 and client.counter.calls == 18
    assert clock.sleeps  # it waited instead of being refused
    assert clock.now - 1000 >= 60 * 2  # 18 requests at 8 a minute span two windows


def test_429_per_resource_then_total_are_retried_with_retry_after() -> None:
    clock = FakeClock()
    app = create_app(seed="demo", limit_per_resource=3, limit_total=5, clock=clock)
    client = client_for(
        app,
        policy=RetryPolicy(sleep=clock.sleep, max_wait=120),
        clock=clock,
        rate_limit_per_resource=1000,
        rate_limit_total=1000,
    )
    for _ in range(4):
        client.webshops(size=1)
    assert clock.sleeps == [60.0]  # Retry-After: the per-resource window frees in 60 s
    assert client.counter.calls == 5
    assert control(app, "GET", "stats")["rejected_429"] == 1
    with TestClient(app) as tc:
        for path in ("categories", "categories", "categories", "products/5003"):
            assert (
                tc.get(f"/api/rest/v1/{path}", auth=CcvHmacAuth(PUBLIC, SECRET)).status_code == 200
            )
        refused = tc.get("/api/rest/v1/orders/1001", auth=CcvHmacAuth(PUBLIC, SECRET))
    assert refused.status_code == 429
    assert refused.json()["code"] == "429.11"
    assert "x-hash" in refused.headers


def test_429_without_retry_after_waits_for_the_window() -> None:
    clock = FakeClock()
    app = create_app(
        seed=None, limit_per_resource=2, limit_total=100, clock=clock, send_retry_after=False
    )
    client = client_for(
        app,
        policy=RetryPolicy(sleep=clock.sleep, max_wait=120),
        clock=clock,
        rate_limit_per_resource=3,
    )
    for _ in range(3):
        client.webshops(size=1)
    assert control(app, "GET", "stats")["rejected_429"] == 1
    assert clock.sleeps == [60.0]  # until the first of the minute's requests is a minute old


def test_minute_windows_arithmetic() -> None:
    w = MinuteWindows(2, 3)
    key = ("orders", "GET")
    for t in (0.0, 10.0):
        assert w.wait(key, t) == 0
        w.record(key, t)
    assert w.wait(key, 20.0) == 40.0
    assert w.refusal(key, 20.0) == ("429.10", 40.0)
    assert w.refusal(("products", "GET"), 20.0) is None
    w.record(("products", "GET"), 20.0)
    assert w.refusal(("products", "GET"), 30.0) == ("429.11", 30.0)
    assert w.oldest_expires(key, 20.0) == 40.0 and w.oldest_expires(None, 20.0) == 40.0
    assert w.wait(key, 60.0) == 0
    assert resource_of("/api/rest/v1/orders/12/orderrows", "/api/rest/v1") == "orderrows"
    assert resource_of("/api/rest/v1/orders/12", "/api/rest/v1") == "orders"


# --- misc ----------------------------------------------------------------------------------


def test_sandbox_state_persists(tmp_path: Path) -> None:
    state = tmp_path / "ccv.json"
    app = create_app(seed="demo", state_file=state)
    client_for(app).update_order(1001, {"status": 5})
    again = create_app(seed="demo", state_file=state)
    assert client_for(again).get_order(1001)["status"] == 5


def test_client_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="page_size"):
        CcvSalesposClient(BASE, PUBLIC, SECRET, page_size=0)
    with pytest.raises(ConfigError, match="http:// or https://"):
        CcvSalesposClient("shop.example", PUBLIC, SECRET)
    assert "demo-secret" not in repr(CcvHmacAuth(PUBLIC, SECRET))


def test_client_closes_only_the_pool_it_owns() -> None:
    injected = httpx.Client()
    CcvSalesposClient(BASE, PUBLIC, SECRET, http=injected).close()
    assert not injected.is_closed
    with CcvSalesposClient(BASE, PUBLIC, SECRET) as own:
        pass
    assert own._http.is_closed
    injected.close()


def test_client_side_is_airflow_and_fastapi_free() -> None:
    code = (
        "import sys, shopbridge.connectors.ccv_salespos, "
        "shopbridge.connectors.ccv_salespos.defaults;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'fastapi'}))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "[]"
