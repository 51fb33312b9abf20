"""Fortnox client, source, sandbox and hook against the in-process sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.tokens import InMemoryRefreshTokenStore
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.fortnox.client import FortnoxClient
from shopbridge.connectors.fortnox.source import FortnoxSource
from shopbridge.errors import (
    AuthError,
    ConfigError,
    FatalError,
    PaginationLoop,
    RecordError,
    RetriableError,
)
from shopbridge.models import CustomerKind
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from shopbridge_dev.sandboxes.fortnox.app import create_app
from tests.connectors.clock import FakeClock

with warnings.catch_warnings():
    # Starlette warns at import that TestClient should run on `httpx2`; the project pins
    # httpx, and filterwarnings=error would turn that notice into a collection error.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

    from tests.connectors.suite import Harness, connector_suite

BASE = "http://testserver"
WEEK = (DEMO_START - timedelta(days=1), DEMO_END + timedelta(days=1))
CLIENT_ID, SECRET, REFRESH = "demo-client-id", "demo-client-secret", "demo-refresh-token"


@dataclass
class Setup:
    app: FastAPI
    client: FortnoxClient
    clock: FakeClock
    counter: CallCounter

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        with TestClient(self.app) as tc:
            resp = tc.post(path, json=body or {}) if body is not None else tc.get(path)
            assert resp.status_code == 200, resp.text
            return resp.json()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.control("/_sandbox/stats")
        return stats

    def source(self, **kwargs: Any) -> FortnoxSource:
        return FortnoxSource(self.client, **kwargs)


def setup(
    *,
    secret: str = SECRET,
    refresh: str = REFRESH,
    page_size: int = 500,
    client_kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> Setup:
    clock = FakeClock()
    app = create_app(seed="demo", clock=clock, **options)
    counter = CallCounter()
    client = FortnoxClient(
        BASE,
        CLIENT_ID,
        secret,
        refresh,
        http=TestClient(app),
        policy=RetryPolicy(sleep=clock.sleep),
        counter=counter,
        page_size=page_size,
        clock=clock,
        **(client_kwargs or {}),
    )
    return Setup(app, client, clock, counter)


def make() -> Harness:
    ok = setup()
    ok.client.probe()  # the token is fetched: faults below meet the API, not /oauth-v1
    ok.counter.calls = 0

    def rejected_write() -> None:
        ok.client.update_order("1", {"Cancelled": True})  # read-only: 400

    bad = FortnoxClient(
        BASE,
        CLIENT_ID,
        "wrong-secret",
        REFRESH,
        http=TestClient(ok.app),
        policy=ok.client.policy,
        counter=ok.counter,
        clock=ok.clock,
    )
    return Harness(
        app=ok.app,
        probe=ok.client.probe,
        probe_bad_auth=bad.probe,
        rejected_write=rejected_write,
        counter=ok.counter,
        sleeps=ok.clock.sleeps,
    )


TestFortnoxSuite = connector_suite(make)


# --- paging and windows ------------------------------------------------------------------


def test_pages_through_all_orders() -> None:
    s = setup(page_size=5)
    orders = list(s.client.find_orders())
    numbers = [o["DocumentNumber"] for o in orders]
    assert numbers == [str(n) for n in range(1, 13)]
    assert s.counter.calls == 3  # pages of 5, 5, 2
    assert all(
        "OrderRows" not in o and o["@url"].endswith(f"/3/orders/{o['DocumentNumber']}")
        for o in orders
    )
    s.counter.calls = 0
    assert len(list(s.client.iter_orders(*WEEK))) == 12
    assert s.counter.calls == 1 + 3  # the "since end" read (empty) + the window's pages


def test_pages_through_all_articles_at_page_boundaries() -> None:
    s = setup(page_size=7)
    every = list(s.client.iter_articles())
    assert len(every) == len({a["ArticleNumber"] for a in every}) == 35
    assert s.counter.calls == 5  # 5 x 7: MetaInformation says there is no sixth page


def test_a_page_that_ignores_paging_raises_instead_of_looping() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(
            200,
            json={
                "MetaInformation": {"@TotalResources": 4, "@TotalPages": 2, "@CurrentPage": 1},
                "Orders": [{"DocumentNumber": "1"}, {"DocumentNumber": "2"}],
            },
        )

    client = FortnoxClient(
        BASE, "c", "s", "r", page_size=2, http=httpx.Client(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(PaginationLoop):
        list(client.find_orders())


def _pin(s: Setup, number: str, when: datetime) -> None:
    s.control(
        "/_sandbox/orders", {"Order": {"DocumentNumber": number}, "modified": when.isoformat()}
    )


def test_window_is_start_inclusive_end_exclusive_to_the_minute() -> None:
    s = setup()
    lo = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    hi = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    _pin(s, "1", lo)  # == start: in
    _pin(s, "2", hi)  # == end: next window
    _pin(s, "3", hi - timedelta(minutes=1))  # just inside
    _pin(s, "4", hi + timedelta(seconds=30))  # after the end: next window
    _pin(s, "5", lo - timedelta(minutes=1))  # before the start: previous window
    got = {o["DocumentNumber"] for o in s.client.iter_orders(lo, hi)}
    assert {"1", "3"} <= got and not {"2", "4", "5"} & got
    stored = s.control("/_sandbox/orders")["orders"]
    expected = {
        o["DocumentNumber"] for o in stored if lo <= datetime.fromisoformat(o["_modified"]) < hi
    }
    assert got == expected


def test_consecutive_windows_meet_exactly_with_sub_minute_bounds() -> None:
    s = setup()
    t0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    _pin(s, "1", t0 + timedelta(seconds=10))
    _pin(s, "2", t0 + timedelta(seconds=40))
    cut = t0 + timedelta(seconds=30)
    first = {o["DocumentNumber"] for o in s.client.iter_orders(t0 - timedelta(hours=1), cut)}
    second = {o["DocumentNumber"] for o in s.client.iter_orders(cut, t0 + timedelta(hours=1))}
    assert {"1", "2"} & first == set() and {"1", "2"} <= second  # floored: both after 12:00
    assert not first & second


def test_lastmodified_is_sent_in_server_time_to_the_minute() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        seen.append(request.url)
        return httpx.Response(
            200,
            json={
                "MetaInformation": {  # as Fortnox: 0 pages
                    "@TotalResources": 0,
                    "@TotalPages": 0,
                    "@CurrentPage": 1,
                },
                "Orders": [],
            },
        )

    client = FortnoxClient(
        BASE, "c", "s", "r", http=httpx.Client(transport=httpx.MockTransport(handler))
    )
    start = datetime(2026, 11, 18, 12, 0, 59, tzinfo=UTC)
    list(client.iter_orders(start, start + timedelta(hours=1)))
    assert [u.params["lastmodified"] for u in seen] == ["2026-11-18 14:00", "2026-11-18 13:00"]
    assert seen[0].params["page"] == "1" and seen[0].params["limit"] == "500"
    with pytest.raises(ConfigError, match="no timezone"):
        list(client.iter_orders(datetime(2026, 11, 18), datetime(2026, 11, 19)))  # noqa: DTZ001


# --- rate limit --------------------------------------------------------------------------


def test_sustained_burst_stays_under_25_per_5s_without_a_429() -> None:
    s = setup()
    start = s.clock.now
    for _ in range(200):
        s.client.probe()
    stats = s.stats()
    assert stats["rejected_429"] == 0
    assert stats["requests"] == 200 + 1  # + the token request
    elapsed = s.clock.now - start
    # 8 windows' worth: 7 full waits of 5 s (+ the 0.2 s margin), no more
    assert 7 * 5.0 <= elapsed <= 7 * 5.2 + 1e-6
    assert s.client.rate_limit == (25, 5.0)
    assert s.client.pacer.waits == 7


def test_without_pacing_the_sandbox_429s_and_the_client_backs_off() -> None:
    s = setup(client_kwargs={"max_requests": 1000})
    for _ in range(60):
        s.client.probe()
    stats = s.stats()
    assert stats["rejected_429"] >= 2  # the 26th and the 51st, each retried once
    assert all(w == pytest.approx(5.2) for w in s.clock.sleeps)  # one whole window each
    assert s.counter.retries == stats["rejected_429"]


def test_429_body_is_error_information() -> None:
    s = setup(rate_limit=1)
    s.client.probe()
    token = s.client.auth.current().access_token
    with TestClient(s.app) as tc:
        resp = tc.get("/3/orders", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 429 and "Retry-After" not in resp.headers
    assert set(resp.json()["ErrorInformation"]) == {"error", "message", "code"}


def test_paces_in_real_time_too() -> None:
    # a short window so the test stays quick; pacing and limiter use the real clock
    app = create_app(seed="demo", rate_limit=25, window_s=0.3)
    client = FortnoxClient(
        BASE, CLIENT_ID, SECRET, REFRESH, http=TestClient(app), window_s=0.3, pace_margin_s=0.1
    )
    began = time.monotonic()
    for _ in range(75):
        client.probe()
    with TestClient(app) as tc:
        assert tc.get("/_sandbox/stats").json()["rejected_429"] == 0
    assert time.monotonic() - began >= 2 * 0.3


# --- auth ----------------------------------------------------------------------------------


def test_refreshes_once_on_401_and_sends_again() -> None:
    s = setup()
    s.client.probe()
    assert s.control("/_sandbox/expire_tokens", {})["expired"] == 1
    s.counter.calls = 0
    assert s.client.probe() == 12
    assert s.client.token_requests == 2
    assert s.stats()["rejected_401"] == 1
    assert (s.counter.calls, s.counter.retries) == (2, 1)  # the re-send is counted


def test_refreshes_before_expiry_without_a_401() -> None:
    s = setup(token_ttl_s=600)
    s.client.probe()
    s.clock.now += 590  # within the 60 s skew of expiry
    s.client.probe()
    assert s.client.token_requests == 2
    assert s.stats()["rejected_401"] == 0


def test_second_401_after_refresh_is_auth_error() -> None:
    s = setup()
    s.client.probe()
    with TestClient(s.app) as tc:
        tc.post("/_sandbox/faults", json={"status": 401, "times": 2, "path_contains": "/3/"})
    with pytest.raises(AuthError, match="401"):
        s.client.probe()
    assert s.client.token_requests == 2
    assert s.clock.sleeps == []


def test_refresh_tokens_rotate_and_the_newest_is_kept() -> None:
    store = InMemoryRefreshTokenStore()
    s = setup(single_use_refresh_tokens=True, client_kwargs={"token_store": store})
    s.client.probe()
    first = s.client.refresh_token
    stored = store.get(s.client.auth.key)
    assert first != REFRESH and len(first) == 40 and stored and stored.refresh_token == first
    s.control("/_sandbox/expire_tokens", {})
    s.client.probe()  # refreshes with the rotated token: the initial one is spent
    assert s.client.refresh_token not in (REFRESH, first)
    stale = FortnoxClient(
        BASE,
        CLIENT_ID,
        SECRET,
        REFRESH,
        http=TestClient(s.app),
        policy=s.client.policy,
        clock=s.clock,
    )
    with pytest.raises(AuthError, match="refresh token"):
        stale.probe()


def test_wrong_client_secret_is_auth_error_without_the_secret() -> None:
    s = setup(secret="very-wrong-secret")
    with pytest.raises(AuthError, match="client id/secret") as exc:
        s.client.probe()
    assert "very-wrong-secret" not in str(exc.value)
    assert "very-wrong-secret" not in repr(s.client)
    assert s.stats()["rejected_401"] == 1


def test_api_rejects_missing_or_unknown_bearer() -> None:
    app = create_app(seed="demo")
    with TestClient(app) as tc:
        assert tc.get("/3/orders").status_code == 401
        resp = tc.get("/3/orders", headers={"Authorization": "Bearer nope"})
        assert resp.status_code == 401 and resp.json() == {"message": "unauthorized"}
        token = tc.post(
            "/oauth-v1/token",
            auth=(CLIENT_ID, SECRET),
            data={"grant_type": "authorization_code", "code": "demo-auth-code"},
        )
        assert token.status_code == 200 and token.json()["token_type"] == "bearer"
        again = tc.post(
            "/oauth-v1/token",
            auth=(CLIENT_ID, SECRET),
            data={"grant_type": "authorization_code", "code": "demo-auth-code"},
        )
        assert again.json()["error"] == "invalid_grant"  # codes are single use
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert tc.get("/3/orders", headers=headers).status_code == 200


# --- the source: orders ---------------------------------------------------------------------


def test_source_embeds_rows_and_customer_and_translates_every_order() -> None:
    s = setup(page_size=5)
    source = s.source()
    records = list(source.iter_order_records(*WEEK))
    assert len(records) == 12
    customers = {r["CustomerNumber"] for r in records}
    assert s.counter.calls == 1 + 3 + 12 + len(customers)  # lists, details, customers once
    kinds, statuses, currencies = set(), set(), set()
    for record in records:
        json.dumps(record)  # travels as an XCom
        assert record["OrderRows"] and record["Customer"]["CustomerNumber"]
        # a new order is in DeliveryState "delivery" already, as Fortnox makes it
        assert record["DeliveryState"] == "delivery"
        order = source.to_order(record)
        assert order.ref.system == "fortnox" and order.ref.id == source.order_id(record)
        article_rows = [r for r in record["OrderRows"] if r["ArticleNumber"]]
        assert len(order.lines) == len(article_rows)
        assert order.updated_at == WEEK[1]
        assert order.total_incl == Decimal(str(record["Total"]))  # passed through as is
        assert order.customer.customer_number == record["CustomerNumber"]
        kinds.add(order.customer.kind)
        statuses.add(order.status)
        currencies.add(order.currency)
    assert kinds == {CustomerKind.COMPANY, CustomerKind.PERSON}
    assert statuses == {"open", "cancelled", "invoiced", "delivered", "draft"}
    assert currencies == {"EUR", "SEK"}
    bare = source.to_order(records[1])  # a customer with a name only, as real accounts hold
    assert (bare.customer.email, bare.customer.billing_address.country) == ("", "")
    assert bare.shipping_address == bare.customer.billing_address


def test_an_order_whose_customer_has_no_email_is_known_by_its_number() -> None:
    s = setup()
    s.control(
        "/_sandbox/customers",
        {
            "Customer": {
                "CustomerNumber": "900",
                "Type": "PRIVATE",
                "Name": "No Mail",
                "Address1": "Storgatan 1",
                "City": "Malmö",
                "CountryCode": "SE",
            }
        },
    )
    s.control(
        "/_sandbox/orders",
        {
            "Order": {
                "DocumentNumber": "500",
                "CustomerNumber": "900",
                "OrderDate": "2026-11-18",
                "OrderRows": [
                    {"ArticleNumber": "BEA-BLA-9021", "OrderedQuantity": 1, "Price": 10, "VAT": 25}
                ],
            },
            "modified": "2026-11-18T12:00:00+00:00",
        },
    )
    source = s.source()
    record = next(r for r in source.iter_order_records(*WEEK) if r["DocumentNumber"] == "500")
    assert record["Customer"]["Email"] == "" and record["Customer"]["Phone1"] is None
    order = source.to_order(record)
    assert (order.customer.email, order.customer.customer_number) == ("", "900")
    assert (order.customer.first_name, order.customer.last_name) == ("No", "Mail")
    address = order.customer.billing_address
    assert (address.street, address.house_number, address.city, address.country) == (
        "Storgatan",
        "1",
        "Malmö",
        "SE",
    )


def test_source_quarantines_an_order_whose_customer_is_gone() -> None:
    s = setup()
    s.control(
        "/_sandbox/orders",
        {
            "Order": {
                "DocumentNumber": "501",
                "CustomerNumber": "4040",
                "OrderDate": "2026-11-18",
                "OrderRows": [{"ArticleNumber": "X", "OrderedQuantity": 1, "Price": 1, "VAT": 25}],
            },
            "modified": "2026-11-18T12:00:00+00:00",
        },
    )
    source = s.source()
    record = next(r for r in source.iter_order_records(*WEEK) if r["DocumentNumber"] == "501")
    assert record["Customer"] is None
    with pytest.raises(RecordError) as exc:
        source.to_order(record)
    assert exc.value.field == "CustomerNumber"


def test_confirm_order_writes_allowed_fields_once() -> None:
    s = setup()
    source = s.source()
    source.confirm_order("2", {"YourOrderNumber": "SO-7", "ExternalInvoiceReference1": "X1"})
    order = s.client.get_order("2")
    assert (order["YourOrderNumber"], order["ExternalInvoiceReference1"]) == ("SO-7", "X1")
    assert s.stats()["writes"] == 1
    source.confirm_order("2", {})
    assert s.stats()["writes"] == 1
    with pytest.raises(RecordError, match="not found"):
        source.confirm_order("999", {"YourOrderNumber": "SO-8"})
    s.counter.calls = 0
    with pytest.raises(FatalError, match="read-only") as exc:
        source.confirm_order("2", {"Cancelled": True})
    assert not isinstance(exc.value, AuthError) and s.counter.calls == 1


# --- the source: products and stock --------------------------------------------------------


def test_products_are_the_articles_changed_in_the_window() -> None:
    s = setup(page_size=10)
    source = s.source(currency="EUR")
    records = list(source.iter_product_records(*WEEK))
    assert len(records) == 35
    assert s.counter.calls == 1 + 4 + 35  # since-end list, window pages, one detail each
    unpriced = next(r for r in records if r["SalesPrice"] is None)
    with pytest.raises(RecordError) as exc:
        source.to_product(unpriced)
    assert (exc.value.source_id, exc.value.field) == ("SERVICE-INSTALL", "SalesPrice")
    products = {r["ArticleNumber"]: source.to_product(r) for r in records if r is not unpriced}
    gadget = products["DISC-0001"]
    assert not gadget.visible and gadget.variants[0].quantity is not None
    beanie = products["BEA-BLA-9021"]
    assert beanie.currency == "EUR" and beanie.tax_rate == Decimal("0.21")
    assert not beanie.configurable and beanie.images == ()
    with pytest.raises(ConfigError, match="no images"):
        source.fetch_image("http://example.com/x.png")
    narrow = list(
        source.iter_product_records(
            datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)
        )
    )
    assert narrow == []


def test_stock_article_mode_reads_every_stock_article() -> None:
    s = setup(page_size=500)
    source = s.source()
    records = list(source.iter_stock_records())
    articles = s.control("/_sandbox/articles")["articles"]
    stocked = {a["ArticleNumber"] for a in articles if a["StockGoods"]}
    assert {source.stock_id(r) for r in records} == stocked
    assert s.counter.calls == 1 + len(articles)  # list rows lack StockGoods: detail each
    by_sku = {a["ArticleNumber"]: a for a in articles}
    for record in records:
        level = source.to_stock(record)
        raw = by_sku[level.sku]
        assert (level.on_hand, level.reserved, level.managed) == (
            Decimal(str(raw["QuantityInStock"])),
            Decimal(str(raw["ReservedQuantity"])),
            True,
        )


def test_stock_article_mode_with_full_list_rows_costs_pages_only() -> None:
    s = setup(article_list="full", page_size=20)
    records = list(s.source().iter_stock_records())
    assert len(records) == 32 and s.counter.calls == 2


def test_negative_article_stock_is_a_record_error() -> None:
    s = setup(article_list="full")
    s.control(
        "/_sandbox/articles", {"Article": {"ArticleNumber": "BEA-BLA-9021", "QuantityInStock": -3}}
    )
    source = s.source()
    record = next(r for r in source.iter_stock_records() if r["ArticleNumber"] == "BEA-BLA-9021")
    with pytest.raises(RecordError) as exc:
        source.to_stock(record)
    assert (exc.value.entity, exc.value.field) == ("stock", "QuantityInStock")


@pytest.mark.parametrize("style", ["camel", "pascal"])
def test_stock_warehouse_mode_reports_stock_points(style: str) -> None:
    s = setup(warehouse_style=style, page_size=25)
    source = s.source(stock="warehouse")
    records = list(source.iter_stock_records())
    assert len(records) == 32
    assert s.counter.calls == 3  # 64 balance rows in pages of 25
    articles = {a["ArticleNumber"]: a for a in s.control("/_sandbox/articles")["articles"]}
    for record in records:
        level = source.to_stock(record)
        assert set(level.locations) == {"HQ", "STORE"}
        assert level.on_hand == Decimal(str(articles[level.sku]["QuantityInStock"]))
        assert level.reserved == Decimal(str(articles[level.sku]["ReservedQuantity"]))
    at_hq = s.source(stock="warehouse", stock_point="HQ")
    level = at_hq.to_stock(next(iter(at_hq.iter_stock_records())))
    assert level.on_hand == level.locations["HQ"] < sum(level.locations.values())


def test_negative_warehouse_balance_names_the_field() -> None:
    s = setup()
    s.control(
        "/_sandbox/stockbalance",
        {"ItemId": "BEA-BLA-9021", "StockPointCode": "HQ", "InStock": -2, "AvailableStock": -2},
    )
    source = s.source(stock="warehouse")
    record = next(r for r in source.iter_stock_records() if r["ItemId"] == "BEA-BLA-9021")
    with pytest.raises(RecordError) as exc:
        source.to_stock(record)
    assert exc.value.field == "StockBalances[0].inStock"
    assert s.client.get_article("BEA-BLA-9021")["QuantityInStock"] < 14


def test_source_refuses_a_stock_point_in_article_mode() -> None:
    s = setup()
    with pytest.raises(ConfigError, match="warehouse"):
        s.source(stock="article", stock_point="HQ")


# --- the sandbox ---------------------------------------------------------------------------


def _authed(app: FastAPI) -> TestClient:
    tc = TestClient(app)
    token = tc.post(
        "/oauth-v1/token",
        auth=(CLIENT_ID, SECRET),
        data={"grant_type": "refresh_token", "refresh_token": REFRESH},
    )
    tc.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return tc


def test_sandbox_orders_numbers_totals_and_actions() -> None:
    app = create_app(seed="demo")
    with _authed(app) as tc:
        created = tc.post(
            "/3/orders",
            json={
                "Order": {
                    "CustomerNumber": "1",
                    "Freight": 10,
                    "OrderRows": [
                        {
                            "ArticleNumber": "BEA-BLA-9021",
                            "OrderedQuantity": 2,
                            "Price": 100,
                            "VAT": 25,
                            "Discount": 10,
                            "DiscountType": "PERCENT",
                        },
                        {
                            "ArticleNumber": "BEA-BLA-9021",
                            "OrderedQuantity": 1,
                            "Price": 50,
                            "VAT": 12,
                            "Discount": 5,
                            "DiscountType": "AMOUNT",
                        },
                    ],
                }
            },
        )
        assert created.status_code == 201
        order = created.json()["Order"]
        assert order["DocumentNumber"] == "13" and isinstance(order["DocumentNumber"], str)
        # rows 180 (25 %) + 45 (12 %), freight 10 at the top rate: VAT 45 + 5.40 + 2.50
        assert (order["Net"], order["TotalVAT"], order["Total"]) == (225.0, 52.9, 287.9)
        refused = tc.put("/3/orders/13", json={"Order": {"Cancelled": True}})
        assert (
            refused.status_code == 400 and "cancel" in refused.json()["ErrorInformation"]["message"]
        )
        assert tc.put("/3/orders/13", json={"Order": {"Total": 1}}).status_code == 400
        assert tc.put("/3/orders/13/cancel").json()["Order"]["Cancelled"] is True
        assert tc.put("/3/orders/13", json={"Order": {"Remarks": "x"}}).status_code == 400
        invoiced = tc.put("/3/orders/2/createinvoice").json()["Order"]
        invoice = tc.get(f"/3/invoices/{invoiced['InvoiceReference']}").json()["Invoice"]
        assert invoice["OrderReference"] == "2" and invoice["Total"] == invoiced["Total"]
        assert tc.put("/3/orders/2/createinvoice").status_code == 400
        cancelled = tc.get("/3/orders", params={"filter": "cancelled"}).json()["Orders"]
        assert {o["DocumentNumber"] for o in cancelled} == {"4", "13"}
        done = tc.get("/3/orders", params={"filter": "invoicecreated"}).json()["Orders"]
        assert {o["DocumentNumber"] for o in done} == {"2", "6"}
        assert tc.get("/3/orders", params={"filter": "bogus"}).status_code == 400
        bad = tc.get("/3/orders", params={"lastmodified": "yesterday"})
        assert bad.status_code == 400 and "ErrorInformation" in bad.json()
        missing = tc.get("/3/orders/999")
        assert missing.status_code == 404 and missing.json() == {
            "ErrorInformation": {"Error": 1, "Message": "Kan inte hitta ordern.", "Code": 2000439}
        }
        unknown_article = tc.post(
            "/3/orders",
            json={"Order": {"CustomerNumber": "1", "OrderRows": [{"ArticleNumber": "NOPE"}]}},
        )
        assert unknown_article.status_code == 400
    with TestClient(app) as tc:
        assert tc.get("/_sandbox/stats").json()["writes"] == 3


def test_sandbox_lists_are_subsets_with_meta_information() -> None:
    app = create_app(seed="demo")
    with _authed(app) as tc:
        body = tc.get("/3/articles", params={"limit": 5, "page": 2}).json()
        assert body["MetaInformation"] == {
            "@TotalResources": 35,
            "@TotalPages": 7,
            "@CurrentPage": 2,
        }
        row = body["Articles"][0]
        assert "StockGoods" not in row and "Active" not in row
        assert all(
            isinstance(row[k], str)
            for k in (
                "QuantityInStock",
                "ReservedQuantity",
                "DisposableQuantity",
                "PurchasePrice",
                "StockValue",
            )
        )
        empty = tc.get("/3/articles", params={"lastmodified": "2099-01-01 00:00"}).json()
        assert empty == {
            "MetaInformation": {"@TotalResources": 0, "@TotalPages": 0, "@CurrentPage": 1},
            "Articles": [],
        }
        detail = tc.get(row["@url"].removeprefix(BASE)).json()["Article"]
        assert {"StockGoods", "Active", "SalesPrice", "EAN"} <= set(detail)
        customers = tc.get("/3/customers").json()["Customers"]
        assert customers and "Phone" in customers[0] and "Type" not in customers[0]
        points = tc.get("/api/warehouse/stockpoints-v1").json()
        assert [p["code"] for p in points] == ["HQ", "STORE"]
        both = tc.get(
            "/api/warehouse/status-v1/stockbalance",
            params={"itemIds": "A", "stockPointCodes": "HQ"},
        )
        assert both.status_code == 400
        one = tc.get(
            "/api/warehouse/status-v1/stockbalance", params={"itemIds": "BEA-BLA-9021"}
        ).json()
        assert [r["stockPointCode"] for r in one] == ["HQ", "STORE"]


def test_sandbox_state_persists(tmp_path: Any) -> None:
    state = tmp_path / "fortnox.json"
    app = create_app(seed="demo", state_file=state)
    with _authed(app) as tc:
        tc.put("/3/orders/3", json={"Order": {"YourOrderNumber": "kept"}})
    again = create_app(seed="demo", state_file=state)
    with _authed(again) as tc:
        assert tc.get("/3/orders/3").json()["Order"]["YourOrderNumber"] == "kept"


# --- hook ----------------------------------------------------------------------------------


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "fortnox", **fields})
    )


def test_hook_builds_source_from_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.fortnox.hook import FortnoxHook

    _conn(
        monkeypatch,
        "fx_ok",
        host="http://testserver",
        login=CLIENT_ID,
        password=SECRET,
        extra={
            "refresh_token": REFRESH,
            "stock": "warehouse",
            "stock_point": "HQ",
            "currency": "EUR",
            "page_size": 50,
        },
    )
    hook = FortnoxHook("fx_ok")
    settings = hook.get_settings()
    assert (settings.base_url, settings.token_url(), settings.page_size) == (
        BASE,
        f"{BASE}/oauth-v1/token",
        50,
    )
    app = create_app(seed="demo")
    source = hook.get_source(http=TestClient(app))
    assert (source.stock, source.stock_point, source.currency) == ("warehouse", "HQ", "EUR")
    assert source.client.probe() == 12
    assert FortnoxHook.default_conn_name == "shopbridge_fortnox"
    assert FortnoxHook.conn_type == "fortnox"


def test_hook_defaults_to_the_real_api_and_its_token_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.fortnox.hook import FortnoxHook

    _conn(monkeypatch, "fx_def", login="c", password="s", extra={"refresh_token": "r"})
    settings = FortnoxHook("fx_def").get_settings()
    assert settings.base_url == "https://api.fortnox.se"
    assert settings.token_url() == "https://apps.fortnox.se/oauth-v1/token"
    assert (settings.stock, settings.currency) == ("article", "SEK")


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"password": "s", "extra": {"refresh_token": "r"}}, "'fx_cfg': login"),
        ({"login": "c", "extra": {"refresh_token": "r"}}, "'fx_cfg': password"),
        ({"login": "c", "password": "s"}, "extra.refresh_token"),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "stock": "shelf"}},
            "extra.stock",
        ),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "stock_point": "HQ"}},
            "stock_point needs stock: 'warehouse'",
        ),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "page_size": 900}},
            "extra.page_size",
        ),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "timezone": "Mars/X"}},
            "extra.timezone",
        ),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "stok": "article"}},
            "extra.stok",
        ),
    ],
)
def test_hook_config_errors_name_connection_and_field(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], needle: str
) -> None:
    from shopbridge.connectors.fortnox.hook import FortnoxHook

    _conn(monkeypatch, "fx_cfg", **fields)
    with pytest.raises(ConfigError, match=needle):
        FortnoxHook("fx_cfg").get_source()


def test_hook_test_connection_messages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from shopbridge.connectors.fortnox import hook as hook_module

    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")

    app = create_app(seed="demo", single_use_refresh_tokens=True)
    real = FortnoxClient.from_settings  # the class the hook builds its client from

    def with_sandbox(settings: Any, **kwargs: Any) -> FortnoxClient:
        return real(settings, http=TestClient(app), **kwargs)

    monkeypatch.setattr(FortnoxClient, "from_settings", staticmethod(with_sandbox))
    extra = {"refresh_token": REFRESH}
    _conn(monkeypatch, "fx_good", host=BASE, login=CLIENT_ID, password=SECRET, extra=extra)
    _conn(monkeypatch, "fx_secret", host=BASE, login=CLIENT_ID, password="nope", extra=extra)
    assert hook_module.FortnoxHook("fx_good").test_connection() == (
        True,
        "connection 'fx_good': OK, Fortnox has 12 orders",
    )
    ok, message = hook_module.FortnoxHook("fx_secret").test_connection()
    assert not ok and "client id" in message and "nope" not in message
    # the good connection's refresh token was used once and single use made it stale, but
    # the rotated one lives in the ledger database: the next task starts from it
    assert hook_module.FortnoxHook("fx_good").test_connection()[0]
    # a refresh token Fortnox refuses (and no worker rotated) says what to fix
    _conn(
        monkeypatch,
        "fx_dead",
        host=BASE,
        login=CLIENT_ID,
        password=SECRET,
        extra={"refresh_token": "dead"},
    )
    ok, message = hook_module.FortnoxHook("fx_dead").test_connection()
    assert not ok and "extra.refresh_token" in message
    _conn(monkeypatch, "fx_none", login="c", password="s")
    ok, message = hook_module.FortnoxHook("fx_none").test_connection()
    assert not ok and "extra.refresh_token is required" in message


def test_client_side_is_airflow_and_fastapi_free() -> None:
    code = (
        "import sys, shopbridge.connectors.fortnox;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'fastapi'}))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "[]"


def test_client_closes_only_the_pool_it_owns() -> None:
    injected = httpx.Client()
    FortnoxClient(BASE, "c", "s", "r", http=injected).close()
    assert not injected.is_closed
    with FortnoxClient(BASE, "c", "s", "r") as own:
        pass
    assert own._http.is_closed
    injected.close()


def test_token_endpoint_outage_is_retried() -> None:
    s = setup()
    with TestClient(s.app) as tc:
        tc.post(
            "/_sandbox/faults", json={"status": 503, "times": 1, "path_contains": "/oauth-v1/token"}
        )
    assert s.client.probe() == 12
    assert len(s.clock.sleeps) == 1 and s.client.token_requests == 2


def test_retriable_error_has_no_secret() -> None:
    s = setup()
    with TestClient(s.app) as tc:
        tc.post("/_sandbox/faults", json={"status": 503, "times": 10})
    with pytest.raises(RetriableError) as exc:
        s.client.probe()
    assert SECRET not in str(exc.value) and REFRESH not in str(exc.value)
