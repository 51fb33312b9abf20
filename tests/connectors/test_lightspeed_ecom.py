"""Lightspeed eCom client, source and hook against the in-process sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors._kit.http import RetryPolicy, send
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient, RateLimit
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.errors import AuthError, ConfigError, FatalError, RecordError, RetriableError
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from shopbridge_dev.sandboxes.lightspeed_ecom.app import create_app
from tests.connectors.clock import FakeClock

with warnings.catch_warnings():
    # Starlette warns at import that TestClient should run on `httpx2`; the project pins
    # httpx, and filterwarnings=error would turn that notice into a collection error.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

    from tests.connectors.suite import Harness, connector_suite

BASE = "http://testserver"
WEEK = (DEMO_START - timedelta(days=1), DEMO_END + timedelta(days=1))


@dataclass
class Setup:
    app: FastAPI
    client: LightspeedEcomClient
    clock: FakeClock
    counter: CallCounter

    def stats(self) -> dict[str, int]:
        with TestClient(self.app) as tc:
            return tc.get("/_sandbox/stats").json()

    def upsert(self, order: dict[str, Any]) -> dict[str, Any]:
        with TestClient(self.app) as tc:
            resp = tc.post("/_sandbox/orders", json=order)
            assert resp.status_code == 200, resp.text
            return resp.json()["order"]


def setup(
    *, secret: str = "demo-secret", page_size: int = 250, max_per_second: int = 20, **options: Any
) -> Setup:
    clock = FakeClock()
    options.setdefault("n_orders", 60)
    app = create_app(seed="demo", clock=clock, **options)
    counter = CallCounter()
    client = LightspeedEcomClient(
        BASE,
        "nl",
        "demo-key",
        secret,
        http=TestClient(app),
        policy=RetryPolicy(sleep=clock.sleep),
        counter=counter,
        page_size=page_size,
        max_per_second=max_per_second,
        clock=clock,
    )
    return Setup(app, client, clock, counter)


def make() -> Harness:
    ok = setup()

    def rejected_write() -> None:
        # orders cannot be POSTed (checkout flow only): the sandbox answers 405. The client
        # has no write method (it only reads orders), so the request is sent through the
        # same `send` + check the client uses.
        request = ok.client._http.build_request(
            "POST",
            f"{BASE}/nl/orders.json",
            json={"order": {}},
            headers={"Authorization": ok.client._auth_header},
        )
        send(
            ok.client._http,
            request,
            policy=ok.client.policy,
            counter=ok.counter,
            retry=False,
            check=ok.client._check,
        )

    bad_app_client = LightspeedEcomClient(
        BASE,
        "nl",
        "demo-key",
        "wrong",
        http=TestClient(ok.app),
        policy=ok.client.policy,
        counter=ok.counter,
    )
    return Harness(
        app=ok.app,
        probe=ok.client.count_orders,
        probe_bad_auth=bad_app_client.count_orders,
        rejected_write=rejected_write,
        counter=ok.counter,
        sleeps=ok.clock.sleeps,
    )


TestLightspeedSuite = connector_suite(make)


def test_pages_through_all_orders() -> None:
    s = setup(page_size=25)
    orders = list(s.client.iter_orders(*WEEK))
    ids = [o["id"] for o in orders]
    assert len(ids) == 60 == len(set(ids)) == s.client.count_orders()
    assert s.counter.calls == 3 + 1  # pages of 25, 25, 10 + the count


def test_exactly_full_last_page_costs_one_empty_page() -> None:
    s = setup(page_size=20)
    assert len(list(s.client.iter_orders(*WEEK))) == 60
    assert s.counter.calls == 4


def test_window_is_min_inclusive_max_exclusive() -> None:
    s = setup()
    lo = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    hi = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    s.upsert({"id": 30001, "updatedAt": "2026-11-18T13:00:00+01:00"})  # == lo, kept
    s.upsert({"id": 30002, "updatedAt": "2026-11-19T13:00:00+01:00"})  # == hi, next window
    s.upsert({"id": 30003, "updatedAt": "2026-11-19T12:59:59+01:00"})  # just inside
    got = {o["id"]: datetime.fromisoformat(o["updatedAt"]) for o in s.client.iter_orders(lo, hi)}
    assert 30001 in got and 30003 in got and 30002 not in got
    assert all(lo <= at < hi for at in got.values())
    every = list(s.client.iter_orders(*WEEK))
    expected = {o["id"] for o in every if lo <= datetime.fromisoformat(o["updatedAt"]) < hi}
    assert set(got) == expected


def test_subsecond_window_bounds_are_trimmed_client_side() -> None:
    s = setup()
    s.upsert({"id": 30001, "updatedAt": "2026-11-18T12:00:00+00:00"})
    lo = datetime(2026, 11, 18, 12, 0, 0, 500_000, tzinfo=UTC)
    hi = datetime(2026, 11, 18, 12, 0, 0, 600_000, tzinfo=UTC)
    assert list(s.client.iter_orders(lo, hi)) == []
    hi2 = datetime(2026, 11, 18, 12, 0, 0, 100_000, tzinfo=UTC)
    lo2 = datetime(2026, 11, 18, 11, 59, 59, 900_000, tzinfo=UTC)
    assert [o["id"] for o in s.client.iter_orders(lo2, hi2)] == [30001]


def test_paces_itself_from_rate_limit_headers() -> None:
    s = setup(rate_limit="10/100/1000", windows_s="5/3600/86400", per_second=1000, page_size=25)
    for _ in range(25):
        s.client.count_orders()
    assert s.clock.sleeps == [5, 5]  # two emptied 5 s windows waited out
    assert s.stats()["rejected_429"] == 0
    assert s.client.rate_limit is not None


def test_paces_itself_under_the_per_second_cap() -> None:
    # the per-second cap is not in the headers: the client counts its own requests
    s = setup(per_second=5, max_per_second=5)
    for _ in range(12):
        s.client.count_orders()
    assert s.stats()["rejected_429"] == 0
    assert len(s.clock.sleeps) == 2  # after the 5th and the 10th request


def test_long_rate_limit_wait_is_handed_to_airflow() -> None:
    s = setup(rate_limit="10/100/1000", per_second=1000)
    for _ in range(10):
        s.client.count_orders()
    with pytest.raises(RetriableError, match="rate limit") as exc:
        s.client.count_orders()
    assert exc.value.retry_after == pytest.approx(300, abs=1)
    assert s.clock.sleeps == []
    assert s.stats()["rejected_429"] == 0


def test_per_second_cap_429_is_retried() -> None:
    s = setup(per_second=3)
    for _ in range(4):
        s.client.count_orders()
    assert s.clock.sleeps == [1.0]
    assert s.stats()["rejected_429"] == 1


def test_rate_limit_header_parsing() -> None:
    headers = {
        "X-RateLimit-Limit": "300/3000/12000",
        "X-RateLimit-Remaining": "0/2999/11999",
        "X-RateLimit-Reset": "263/2063/23663",
    }
    rl = RateLimit.from_headers(headers, seen_at=10.0)
    assert rl is not None
    assert rl.limit == (300, 3000, 12000)
    assert rl.wait_needed(now=13.0) == 260.0
    assert RateLimit.from_headers({"X-RateLimit-Limit": "x"}, 0.0) is None


def test_error_in_a_200_body_is_fatal_and_not_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"error": {"code": 500, "message": "boom"}})

    client = LightspeedEcomClient(
        BASE, "nl", "k", "s3cr3t-value", http=httpx.Client(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(FatalError, match="error in a 200 body") as exc:
        client.count_orders()
    assert "s3cr3t-value" not in str(exc.value)
    assert len(calls) == 1
    assert calls[0].url.path == "/nl/orders/count.json"
    assert calls[0].headers["Authorization"].startswith("Basic ")


def test_filters_are_sent_in_vendor_format() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"orders": []})

    client = LightspeedEcomClient(
        BASE, "en", "k", "s", http=httpx.Client(transport=httpx.MockTransport(handler))
    )
    start = datetime(2026, 11, 18, 13, 0, tzinfo=DEMO_START.tzinfo)
    list(client.iter_orders(start, start + timedelta(hours=1, microseconds=1)))
    params = seen[0].params
    assert seen[0].path == "/en/orders.json"
    assert params["updated_at_min"] == "2026-11-18 13:00:00"
    assert params["updated_at_max"] == "2026-11-18 14:00:01"
    # a window is paged by id (since_id), so an order edited mid-read shifts nothing
    assert params["since_id"] == "0" and params["limit"] == "250"
    assert "page" not in params


def test_unknown_order_is_fatal_404() -> None:
    s = setup()
    with pytest.raises(FatalError, match="404"):
        s.client.get_order(1)
    assert s.client.get_order(30001)["number"] == "ORD30001"


def test_wrong_secret_is_auth_error_without_the_secret() -> None:
    s = setup(secret="very-wrong-secret")
    with pytest.raises(AuthError) as exc:
        s.client.count_orders()
    assert "very-wrong-secret" not in str(exc.value)
    assert "very-wrong-secret" not in repr(s.client)
    assert s.stats()["rejected_401"] == 1


def test_source_embeds_lines_and_translates_every_seeded_order() -> None:
    s = setup(page_size=25, per_second=1000)
    source = LightspeedEcomSource(s.client)
    records = list(source.iter_order_records(*WEEK))
    assert len(records) == 60
    assert s.counter.calls == 3 + 60  # pages + one orderProducts call per order
    for record in records:
        embedded = record["products"]["resource"]["embedded"]
        assert embedded and all("sku" in line for line in embedded)
        json.dumps(record)  # travels as an XCom
        order = source.to_order(record)
        assert order.ref.id == source.order_id(record)
        assert len(order.lines) == len(embedded)
    kinds = {source.to_order(r).customer.kind for r in records}
    assert len(kinds) == 2  # companies and persons both seeded


def test_source_quarantines_a_malformed_order() -> None:
    s = setup()
    # a customer without e-mail is not malformed (the customer number matches it);
    # a country the shop cannot have written is
    s.upsert(
        {
            "id": 30005,
            "email": "",
            "addressBillingCountry": {"code": "Nederland"},
            "updatedAt": "2026-11-18T12:00:00+00:00",
        }
    )
    source = LightspeedEcomSource(s.client)
    record = next(r for r in source.iter_order_records(*WEEK) if r["id"] == 30005)
    with pytest.raises(RecordError) as exc:
        source.to_order(record)
    assert exc.value.field == "addressBillingCountry.code"


def test_sandbox_envelopes_and_refusals() -> None:
    s = setup()
    auth = ("demo-key", "demo-secret")
    with TestClient(s.app) as tc:
        one = tc.get("/nl/orders/30001.json", auth=auth)
        assert set(one.json()) == {"order"}
        assert one.headers["X-RateLimit-Limit"] == "300/3000/12000"
        order = one.json()["order"]
        assert order["quote"] is False  # an empty relation is false, not null
        assert order["invoices"]["resource"]["id"] is False  # a to-many reference
        assert order["shipments"]["resource"]["url"] == "shipments?order=30001"
        cid = order["customer"]["resource"]["id"]
        assert order["customer"]["resource"]["link"].endswith(f"/nl/customers/{cid}.json")
        lst = tc.get("/nl/orders.json", params={"limit": 999, "fields": "id,number"}, auth=auth)
        assert len(lst.json()["orders"]) == 60
        assert set(lst.json()["orders"][0]) == {"id", "number"}
        ids = [
            o["id"]
            for o in tc.get("/nl/orders.json", params={"since_id": 30050}, auth=auth).json()[
                "orders"
            ]
        ]
        assert ids == list(range(30051, 30061))
        assert tc.get("/nl/customers/count.json", auth=auth).json()["count"] > 0
        variant = tc.get("/nl/variants.json", params={"limit": 1}, auth=auth).json()["variants"][0]
        assert {"sku", "ean", "articleCode", "stockLevel"} <= set(variant)
        put = tc.put("/nl/orders/30001.json", json={"order": {"status": "completed"}}, auth=auth)
        assert put.json()["order"]["status"] == "completed"
        assert put.json()["order"]["updatedAt"] > order["updatedAt"]
        bad = tc.put("/nl/orders/30001.json", json={"order": {"number": "X"}}, auth=auth)
        assert bad.status_code == 400 and "error" in bad.json()
        missing = tc.get("/nl/orders/999.json", auth=auth)
        assert missing.status_code == 404
        assert set(missing.json()["error"]) == {"code", "method", "request", "message"}


def test_sandbox_state_persists(tmp_path: Any) -> None:
    state = tmp_path / "ls.json"
    app = create_app(seed="demo", n_orders=5, state_file=state)
    with TestClient(app) as tc:
        tc.post("/_sandbox/orders", json={"order": {"id": 30002, "memo": "kept"}})
    again = create_app(seed="demo", n_orders=5, state_file=state)
    with TestClient(again) as tc:
        got = tc.get("/nl/orders/30002.json", auth=("demo-key", "demo-secret")).json()
    assert got["order"]["memo"] == "kept"


# --- hook ------------------------------------------------------------------------------


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "lightspeed_ecom", **fields})
    )


def test_hook_builds_client_from_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_ecom.hook import LightspeedEcomHook

    _conn(
        monkeypatch,
        "ls_ok",
        host="http://testserver",
        login="demo-key",
        password="demo-secret",
        extra={"language": "en", "page_size": 25},
    )
    hook = LightspeedEcomHook("ls_ok")
    settings = hook.get_settings()
    assert (settings.base_url, settings.language, settings.page_size) == (BASE, "en", 25)
    app = create_app(seed="demo", n_orders=3)
    source = hook.get_source(http=TestClient(app))
    assert source.client.count_orders() == 3
    assert LightspeedEcomHook.default_conn_name == "shopbridge_lightspeed_ecom"


def test_hook_test_connection_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_ecom import hook as hook_module

    app = create_app(seed="demo", n_orders=3)
    real = hook_module.LightspeedEcomHook.get_client

    def with_sandbox(self: Any, **kwargs: Any) -> LightspeedEcomClient:
        return real(self, http=TestClient(app), **kwargs)

    monkeypatch.setattr(hook_module.LightspeedEcomHook, "get_client", with_sandbox)
    _conn(
        monkeypatch, "ls_good", host="http://testserver", login="demo-key", password="demo-secret"
    )
    _conn(monkeypatch, "ls_bad", host="http://testserver", login="demo-key", password="nope")
    assert hook_module.LightspeedEcomHook("ls_good").test_connection() == (
        True,
        "connection 'ls_good': OK, the shop has 3 orders",
    )
    ok, message = hook_module.LightspeedEcomHook("ls_bad").test_connection()
    assert not ok
    assert "key/secret of connection 'ls_bad'" in message and "nope" not in message


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"login": "k"}, "'ls_cfg': password"),
        ({"password": "s"}, "'ls_cfg': login"),
        ({"login": "k", "password": "s", "extra": {"page_size": 999}}, "extra.page_size"),
        ({"login": "k", "password": "s", "extra": {"langauge": "nl"}}, "extra.langauge"),
    ],
)
def test_hook_config_errors_name_connection_and_field(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], needle: str
) -> None:
    from shopbridge.connectors.lightspeed_ecom.hook import LightspeedEcomHook

    _conn(monkeypatch, "ls_cfg", **fields)
    with pytest.raises(ConfigError, match=needle):
        LightspeedEcomHook("ls_cfg").get_client()


def test_hook_defaults_to_eu_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_ecom.hook import LightspeedEcomHook

    _conn(monkeypatch, "ls_def", login="k", password="s")
    assert LightspeedEcomHook("ls_def").get_settings().base_url == "https://api.webshopapp.com"


def test_client_side_is_airflow_and_fastapi_free() -> None:
    code = (
        "import sys, shopbridge.connectors.lightspeed_ecom;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'fastapi'}))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "[]"


def test_client_closes_only_the_pool_it_owns() -> None:
    injected = httpx.Client()
    LightspeedEcomClient(BASE, "nl", "k", "s", http=injected).close()
    assert not injected.is_closed
    with LightspeedEcomClient(BASE, "nl", "k", "s") as own:
        pass
    assert own._http.is_closed
    injected.close()
