"""Buckles client and sandbox, in-process (STYLE R13, R14): auth, paging, rate limits,
errors."""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.pages import PageTotal
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.errors import AuthError, ConfigError, FatalError, PaginationLoop, RetriableError
from shopbridge_dev.sandboxes.buckles.app import create_app
from tests.connectors.clock import FakeClock

from .suite import Harness, connector_suite

BASE = "http://testserver"
TOKEN = "demo-token"


def client_for(
    app: FastAPI,
    *,
    token: str = TOKEN,
    sleeps: list[float] | None = None,
    counter: CallCounter | None = None,
    **kw: Any,
) -> BucklesClient:
    sleeps = sleeps if sleeps is not None else []
    kw.setdefault("policy", RetryPolicy(sleep=sleeps.append))
    return BucklesClient(BASE, token, http=TestClient(app), counter=counter, **kw)


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
    bad = client_for(app, token="wrong", sleeps=sleeps, counter=counter)
    return Harness(
        app=app,
        probe=good.ping,
        probe_bad_auth=bad.ping,
        rejected_write=lambda: good.create_order({"channel": "x"}),
        counter=counter,
        sleeps=sleeps,
    )


TestBucklesSuite = connector_suite(make)


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


def test_the_client_imports_no_airflow() -> None:
    out = subprocess.check_output(
        [
            sys.executable,
            "-c",
            "import sys, shopbridge.connectors.buckles.client, "
            "shopbridge.connectors.buckles.target;"
            "print(any(m.startswith('airflow') for m in sys.modules))",
        ],
        text=True,
    )
    assert out.strip() == "False"


def test_bearer_token_is_sent_and_a_wrong_one_is_401_with_buckles_error(app: FastAPI) -> None:
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(
            200, json={"data": [], "meta": {"page": 1, "per_page": 1, "total": 0}}
        )

    mock = BucklesClient(BASE, "s3cret", http=httpx.Client(transport=httpx.MockTransport(server)))
    assert mock.ping() == 0
    assert seen == ["Bearer s3cret"]
    assert "s3cret" not in repr(mock.auth)

    counter = CallCounter()
    with pytest.raises(AuthError, match="401 invalid or missing API token") as err:
        client_for(app, token="not-it", counter=counter).ping()
    assert "not-it" not in str(err.value)
    assert counter.calls == 1
    assert control(app, "GET", "stats")["rejected_401"] == 1


def test_pages_through_every_product_with_small_pages(app: FastAPI) -> None:
    every = control(app, "GET", "state")["products"]
    counter = CallCounter()
    client = client_for(app, per_page=7, counter=counter)
    got = list(client.iter_products())
    assert [p["sku"] for p in got] == [p["sku"] for p in every]
    assert len(got) > 30
    assert counter.calls == -(-len(every) // 7)


def test_server_capping_per_page_is_followed() -> None:
    app = create_app(seed="demo", max_per_page=10)
    client = client_for(app, per_page=100)
    total = len(control(app, "GET", "state")["products"])
    assert len(list(client.iter_products())) == total


def test_filters_are_comma_separated_and_chunked(app: FastAPI) -> None:
    rows = control(app, "GET", "state")["products"]
    skus = [*[p["sku"] for p in rows][:3], "NOPE"]
    assert {p["sku"] for p in client_for(app).iter_products(skus=skus)} == set(skus[:3])
    with pytest.raises(ConfigError, match="comma"):
        list(client_for(app).iter_products(skus=["A,B"]))


def _meta(**meta: int) -> httpx.Response:
    return httpx.Response(200, json={"data": [], "meta": meta})


def test_page_mismatch_is_a_pagination_loop() -> None:
    pager = PageTotal(10)
    nxt = pager.advance(_meta(page=1, per_page=10, total=25), [{}])
    assert nxt is not None and dict(nxt.params) == {"page": 2, "per_page": 10}
    with pytest.raises(PaginationLoop):
        pager.advance(_meta(page=1, per_page=10, total=25), [{}])
    assert PageTotal(10).advance(_meta(page=1, per_page=10, total=10), [{}]) is None
    assert PageTotal(10).advance(_meta(page=1, per_page=10, total=99), []) is None
    with pytest.raises(FatalError, match="meta"):
        PageTotal(10).advance(_meta(page=1), [{}])


def test_client_paces_to_the_window_and_is_never_refused() -> None:
    clock = FakeClock()
    app = create_app(seed="demo", rate_limit_per_minute=5, clock=clock)
    client = client_for(
        app, rate_limit_per_minute=5, clock=clock, policy=RetryPolicy(sleep=clock.sleep)
    )
    for _ in range(12):
        client.ping()
    assert control(app, "GET", "stats")["rejected_429"] == 0
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] == pytest.approx(60.0)


def test_429_from_the_window_waits_retry_after() -> None:
    clock = FakeClock()
    app = create_app(seed="demo", rate_limit_per_minute=3, clock=clock)
    # the client believes it may send 100 a minute: Buckles' 429 teaches it otherwise
    client = client_for(
        app,
        rate_limit_per_minute=100,
        clock=clock,
        policy=RetryPolicy(sleep=clock.sleep, max_wait=120),
    )
    for _ in range(4):
        client.ping()
    assert control(app, "GET", "stats")["rejected_429"] == 1
    assert clock.sleeps == [60.0]


def test_429_without_retry_after_waits_for_the_clients_own_window() -> None:
    clock = FakeClock()
    app = create_app(seed="demo", rate_limit_per_minute=2, clock=clock, send_retry_after=False)
    client = client_for(
        app,
        rate_limit_per_minute=100,
        clock=clock,
        policy=RetryPolicy(sleep=clock.sleep, max_wait=120),
    )
    client.ping()
    clock.now += 10
    client.ping()
    client.ping()
    assert clock.sleeps == [pytest.approx(50.0)]


def test_creating_post_is_not_retried_on_5xx_but_on_429(app: FastAPI) -> None:
    sleeps: list[float] = []
    counter = CallCounter()
    client = client_for(app, sleeps=sleeps, counter=counter)
    control(app, "POST", "faults", {"status": 503, "path_contains": "/customers", "method": "POST"})
    with pytest.raises(RetriableError, match="503"):
        client.create_customer({"email": "a@example.nl"})
    assert counter.calls == 1 and sleeps == []
    control(
        app,
        "POST",
        "faults",
        {"status": 429, "retry_after": 3, "path_contains": "/customers", "method": "POST"},
    )
    created = client.create_customer({"email": "a@example.nl"})
    assert sleeps == [3.0]
    emails = [c["email"] for c in control(app, "GET", "state")["customers"]]
    assert emails.count("a@example.nl") == 1 and created["email"] == "a@example.nl"


def test_422_names_the_field(app: FastAPI) -> None:
    with pytest.raises(FatalError, match=r"POST /api/v1/products -> 422 title: required"):
        client_for(app).create_product({"sku": "X-1"})


def test_window_filters_are_inclusive_start_exclusive_end(app: FastAPI) -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    app2 = create_app(seed=None, now=lambda: when)
    client = client_for(app2)
    client.create_customer({"email": "w@example.nl"})
    assert len(list(client.iter_customers(updated_since=when))) == 1
    assert list(client.iter_customers(updated_before=when)) == []


def test_reset_brings_back_the_seed(app: FastAPI) -> None:
    seeded = control(app, "GET", "state")
    client_for(app).create_customer({"email": "new@example.nl"})
    first = seeded["customers"][0]["id"]
    control(app, "PATCH", f"customers/{first}", {"phone": "changed"})
    assert len(control(app, "GET", "state")["customers"]) == len(seeded["customers"]) + 1
    counts = control(app, "POST", "reset")
    assert counts["customers"] == len(seeded["customers"])
    assert control(app, "GET", "state") == seeded
