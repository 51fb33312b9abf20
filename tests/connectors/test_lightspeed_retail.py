"""Lightspeed Retail client, auth, pacing, sandbox and hook, against the in-process sandbox."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette warns at import that it wants httpx2 (filterwarnings=error would make that
    # a collection error); TestClient still works on the pinned httpx. Before .suite.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

    from tests.connectors.suite import Harness, connector_suite

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.tokens import InMemoryRefreshTokenStore as InMemoryTokenStore
from shopbridge.connectors._kit.tokens import RefreshTokenStore as TokenStore
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.lightspeed_retail.client import (
    LightspeedRetailClient,
    LightspeedRetailSettings,
    any_of,
)
from shopbridge.connectors.lightspeed_retail.ratelimit import CostModel
from shopbridge.connectors.lightspeed_retail.target import LightspeedRetailTarget
from shopbridge.errors import AuthError, ConfigError, FatalError
from shopbridge_dev.sandboxes.demo_data import DEMO_START
from shopbridge_dev.sandboxes.lightspeed_retail.app import create_app
from tests.connectors.clock import FakeClock

BASE = "http://testserver"
ACCOUNT = "83050"


@dataclass
class Setup:
    app: FastAPI
    client: LightspeedRetailClient
    clock: FakeClock
    store: TokenStore
    counter: CallCounter
    settings: LightspeedRetailSettings

    def control(self, what: str) -> Any:
        with TestClient(self.app) as tc:
            return tc.get(f"/_sandbox/{what}").json()

    def stats(self) -> dict[str, int]:
        return dict(self.control("stats"))

    def tokens(self, action: str) -> dict[str, Any]:
        with TestClient(self.app) as tc:
            resp = tc.post("/_sandbox/tokens", json={"action": action})
            assert resp.status_code == 200, resp.text
            return dict(resp.json())

    def fault(self, **fault: Any) -> None:
        with TestClient(self.app) as tc:
            assert tc.post("/_sandbox/faults", json=fault).status_code == 200

    def client_for(
        self,
        *,
        store: TokenStore | None = None,
        secret: str = "demo-secret",
        counter: CallCounter | None = None,
        **kw: Any,
    ) -> LightspeedRetailClient:
        settings = LightspeedRetailSettings.model_validate(
            {**self.settings.model_dump(), "client_secret": secret, **kw}
        )
        return make_client(
            self.app, settings, self.clock, store or self.store, counter or CallCounter()
        )

    def target(self, **kw: Any) -> LightspeedRetailTarget:
        return LightspeedRetailTarget.from_settings(
            LightspeedRetailSettings.model_validate({**self.settings.model_dump(), **kw}),
            self.client,
        )


def settings_for(**kw: Any) -> LightspeedRetailSettings:
    return LightspeedRetailSettings(
        base_url=BASE,
        client_id="demo-client",
        client_secret="demo-secret",
        refresh_token="demo-refresh-token",
        **kw,
    )


def make_client(
    app: FastAPI,
    settings: LightspeedRetailSettings,
    clock: FakeClock,
    store: TokenStore,
    counter: CallCounter,
) -> LightspeedRetailClient:
    return LightspeedRetailClient.from_settings(
        settings,
        store=store,
        http=TestClient(app),
        policy=RetryPolicy(sleep=clock.sleep),
        counter=counter,
        clock=clock,
        token_clock=clock,
    )


def setup(
    *,
    page_size: int = 100,
    warm: bool = True,
    client_kw: dict[str, Any] | None = None,
    **options: Any,
) -> Setup:
    """A fresh sandbox on a fake clock and a client for it; ``warm`` spends the seeded
    refresh token once, so the client under test starts with a stored, valid pair."""
    clock = FakeClock(now=1_800_000_000.0)
    app = create_app(seed="demo", clock=clock, **options)
    store = InMemoryTokenStore()
    settings = settings_for(page_size=page_size, **{"account_id": ACCOUNT, **(client_kw or {})})
    if warm:
        make_client(app, settings, clock, store, CallCounter()).accounts()
    counter = CallCounter()
    client = make_client(app, settings, clock, store, counter)
    return Setup(app, client, clock, store, counter, settings)


def make() -> Harness:
    s = setup()
    bad = s.client_for(store=InMemoryTokenStore(), secret="wrong", counter=s.counter)
    s.clock.sleeps.clear()
    return Harness(
        app=s.app,
        probe=s.client.accounts,
        probe_bad_auth=bad.accounts,
        rejected_write=lambda: s.client.create("Sale", {"shopID": 99}),
        counter=s.counter,
        sleeps=s.clock.sleeps,
    )


TestLightspeedRetailSuite = connector_suite(make)


def sandbox_items(s: Setup) -> list[dict[str, Any]]:
    return list(s.control("items"))


# --- paging and filters ----------------------------------------------------------------


def test_pages_across_cursors() -> None:
    s = setup(page_size=7)
    rows = list(s.client.query("Item"))
    seeded = sandbox_items(s)
    assert len(seeded) > 14
    assert sorted(int(r["itemID"]) for r in rows) == sorted(int(i["itemID"]) for i in seeded)
    assert s.counter.calls == math.ceil(len(seeded) / 7)
    with TestClient(s.app) as tc:
        page = tc.get(
            f"/API/V3/Account/{ACCOUNT}/Item.json", params={"limit": 7}, headers=bearer(s)
        ).json()
    nxt = httpx.URL(page["@attributes"]["next"])
    assert set(nxt.params) >= {"after", "limit", "sort"} and page["@attributes"]["previous"] == ""


def bearer(s: Setup) -> dict[str, str]:
    tokens = s.store.get(s.client.auth.key)  # type: ignore[attr-defined]
    assert tokens is not None
    return {"Authorization": f"Bearer {tokens.access_token}"}


def test_pages_across_offsets_in_the_older_envelope() -> None:
    s = setup(page_size=5, envelope="offset")
    ids = [r["itemID"] for r in s.client.query("Item")]
    assert ids == [str(n) for n in range(1, 35)]  # every item, each once
    assert s.counter.calls == 7  # 34 items, 5 a page


def test_a_cursor_page_that_repeats_is_a_loop_and_an_offset_count_that_drifts_fails() -> None:
    from shopbridge.connectors._kit.pages import OffsetCount
    from shopbridge.errors import PaginationLoop

    def resp(body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json=body)

    pages = OffsetCount("Item", httpx.URL(BASE), vendor="Lightspeed")
    page = {
        "@attributes": {
            "next": f"{BASE}/API/V3/Account/1/Item.json?after=WzEwMF0%3D",
            "previous": "",
        }
    }
    nxt = pages.advance(resp(page), [{}] * 100)
    assert nxt is not None and (nxt.url, dict(nxt.params)) == (page["@attributes"]["next"], {})
    with pytest.raises(PaginationLoop):
        pages.advance(resp(page), [{}] * 100)
    older = OffsetCount("Sale", httpx.URL(BASE), vendor="Lightspeed")
    nxt = older.advance(
        resp({"@attributes": {"count": "119", "offset": "0", "limit": "100"}}), [{}] * 100
    )
    assert nxt is not None and (nxt.url, dict(nxt.params)) == (None, {"offset": 100})
    with pytest.raises(FatalError, match=r"count 119.*18 rows, not 19"):
        older.advance(
            resp({"@attributes": {"count": "119", "offset": "100", "limit": "100"}}), [{}] * 18
        )
    with pytest.raises(FatalError, match="count 2 but sent 1 rows"):
        OffsetCount("Sale", httpx.URL(BASE), vendor="Lightspeed").advance(
            resp({"@attributes": {"count": "2"}}), [{}]
        )


def test_descending_sort_and_filters_with_operators() -> None:
    s = setup(page_size=5)
    ids = [int(r["itemID"]) for r in s.client.query("Item", {"sort": "-itemID", "itemID": "<=,12"})]
    assert ids == list(range(12, 0, -1))
    assert s.counter.calls == 3
    between = [r["itemID"] for r in s.client.query("Item", {"itemID": "><,3,5"})]
    assert between == ["3", "4", "5"]
    like = {r["customSku"] for r in s.client.query("Item", {"customSku": "~,t-s-bla%"})}
    assert like and all(sku.startswith("T-S-BLA") for sku in like)
    # the last seeded item (34) is the barcode-only one
    either = {r["itemID"] for r in s.client.query("Item", {"or": "itemID=1|itemID=>=,34"})}
    assert either == {"1", "34"}


def test_in_filter_takes_json_lists_of_at_most_100() -> None:
    s = setup()
    skus = [i["customSku"] for i in sandbox_items(s) if i["customSku"]]
    values = any_of([*skus, "DOES-NOT-EXIST", skus[0]])
    assert len(values) == 1 and values[0].startswith('IN,["')
    found = {r["customSku"] for r in s.client.query("Item", {"customSku": values[0]})}
    assert found == set(skus)
    assert len(any_of([str(n) for n in range(250)])) == 3


def test_window_filter_is_start_inclusive_end_exclusive() -> None:
    s = setup(page_size=4)
    stamps = sorted({datetime.fromisoformat(i["timeStamp"]) for i in sandbox_items(s)})
    start, end = stamps[1], stamps[3]  # items of the 2nd and 3rd product, not the 4th
    got = list(s.client.iter_changed("Item", start, end))
    want = [i for i in sandbox_items(s) if start <= datetime.fromisoformat(i["timeStamp"]) < end]
    assert sorted(r["itemID"] for r in got) == sorted(i["itemID"] for i in want)
    assert got and all(start <= datetime.fromisoformat(r["timeStamp"]) < end for r in got)
    assert [r["timeStamp"] for r in got] == sorted(r["timeStamp"] for r in got)


def test_requests_are_in_vendor_format() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(
                200,
                json={
                    "access_token": "a1",
                    "refresh_token": "r2",
                    "expires_in": 3600,
                    "token_type": "Bearer",
                },
            )
        return httpx.Response(200, json={"@attributes": {"next": "", "previous": ""}})

    store = InMemoryTokenStore()
    client = LightspeedRetailClient.from_settings(
        settings_for(account_id="7"),
        store=store,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    start = DEMO_START + timedelta(hours=6, microseconds=5)
    list(
        client.iter_changed("Item", start, start + timedelta(hours=1), load_relations=["ItemShops"])
    )
    token_req, query = seen
    assert token_req.url == "http://testserver/auth/oauth/token"
    form = dict(httpx.QueryParams(token_req.content.decode()))
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "demo-refresh-token",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    assert query.url.path == "/API/V3/Account/7/Item.json"
    assert query.headers["Authorization"] == "Bearer a1"
    assert dict(query.url.params) == {
        "limit": "100",
        "timeStamp": "><,2026-11-16T06:00:00Z,2026-11-16T07:00:00Z",
        "sort": "timeStamp",
        "load_relations": '["ItemShops"]',
    }
    stored = store.get(client.auth.key)  # type: ignore[attr-defined]
    assert stored is not None and stored.refresh_token == "r2"
    client.close()


def test_next_link_on_another_host_is_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(
                200, json={"access_token": "a", "refresh_token": "r", "expires_in": 3600}
            )
        return httpx.Response(
            200,
            json={
                "@attributes": {"next": "https://evil.example/API/V3/Account/7/Item.json?after=x"},
                "Item": {"itemID": "1"},
            },
        )

    client = LightspeedRetailClient.from_settings(
        settings_for(account_id="7"),
        store=InMemoryTokenStore(),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(FatalError, match="another host"):
        list(client.query("Item"))


def test_account_is_discovered_once() -> None:
    s = setup(client_kw={"account_id": None})
    assert s.client.account_id == ACCOUNT
    list(s.client.query("Shop"))
    list(s.client.query("Register"))
    assert s.counter.calls == 3  # Account.json once, then the two queries


# --- auth --------------------------------------------------------------------------------


def test_wrong_client_secret_is_reported_clearly() -> None:
    s = setup()
    bad = s.client_for(store=InMemoryTokenStore(), secret="sup3r-wrong")
    with pytest.raises(AuthError) as exc:
        bad.accounts()
    assert "client secret" in str(exc.value) and "invalid_client" in str(exc.value)
    assert "sup3r-wrong" not in str(exc.value) and "sup3r-wrong" not in repr(bad)


def test_a_dead_refresh_chain_says_to_reauthorize() -> None:
    s = setup(warm=False)
    s.tokens("revoke_refresh")
    with pytest.raises(AuthError, match="Re-authorize") as exc:
        s.client.accounts()
    assert "extra.refresh_token" in str(exc.value)
    assert s.stats()["refresh_rejected"] == 1


def test_expired_access_token_gets_one_refresh_on_401() -> None:
    s = setup()
    s.tokens("expire_access")  # the client still believes its token is good for an hour
    assert s.client.accounts()[0]["accountID"] == ACCOUNT
    stats = s.stats()
    assert (stats["rejected_401"], stats["refreshes"]) == (1, 2)
    assert s.counter.calls == 1  # the 401 and the token request stay inside one call


def test_token_is_refreshed_before_it_expires() -> None:
    s = setup()
    s.clock.now += 3600 - 30  # inside the 60 s skew
    s.client.accounts()
    stats = s.stats()
    assert (stats["rejected_401"], stats["refreshes"]) == (0, 2)


def test_a_second_401_is_an_auth_error_not_a_loop() -> None:
    s = setup()
    s.fault(
        status=401,
        times=2,
        path_contains="/API/",
        body={"error": "access_denied", "hint": "Access token could not be verified"},
    )
    with pytest.raises(AuthError, match="401"):
        s.client.accounts()
    assert s.stats()["refreshes"] == 2  # the warm-up and exactly one more
    assert s.clock.sleeps == []


def test_a_401_without_the_oauth_body_is_not_refreshed() -> None:
    s = setup()
    s.fault(status=401, times=1, path_contains="/API/")
    with pytest.raises(AuthError):
        s.client.accounts()
    assert s.stats()["refreshes"] == 1


def test_rotation_kills_the_used_refresh_token() -> None:
    s = setup(warm=False)
    s.client.accounts()
    with TestClient(s.app) as tc:
        again = tc.post(
            "/auth/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "demo-refresh-token",
                "client_id": "demo-client",
                "client_secret": "demo-secret",
            },
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        tokens = tc.get("/_sandbox/tokens").json()["refresh"]
    stored = s.store.get(s.client.auth.key)  # type: ignore[attr-defined]
    assert stored is not None
    assert tokens["demo-refresh-token"] == "used" and tokens[stored.refresh_token] == "active"


def test_vendor_revocation_on_first_use_of_the_new_access_token() -> None:
    s = setup(warm=False, refresh_revocation="on_new_access_use")
    with TestClient(s.app) as tc:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "demo-refresh-token",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        }
        first = tc.post("/auth/oauth/token", data=form).json()
        assert tc.get("/_sandbox/tokens").json()["refresh"]["demo-refresh-token"] == "active"
        tc.get("/API/V3/Account.json", headers={"Authorization": f"Bearer {first['access_token']}"})
        assert tc.get("/_sandbox/tokens").json()["refresh"]["demo-refresh-token"] == "used"
        assert tc.post("/auth/oauth/token", data=form).status_code == 400


def test_reauthorizing_starts_a_new_chain() -> None:
    s = setup()
    s.tokens("revoke_refresh")
    s.tokens("expire_access")
    with pytest.raises(AuthError):
        s.client.accounts()
    fresh = s.tokens("authorize")["refresh_token"]
    client = s.client_for(refresh_token=fresh)  # the operator pasted the new token
    assert client.accounts()[0]["accountID"] == ACCOUNT


# --- rate limits -------------------------------------------------------------------------


def test_sustained_writes_are_paced_to_the_drip_rate_without_429s() -> None:
    s = setup()
    target = s.target()
    sku = sandbox_items(s)[0]["customSku"]
    record = target._item(sku)
    start = s.clock.now
    n = 30
    for i in range(n):
        s.client.update(
            "Item",
            record["itemID"],
            {"ItemShops": {"ItemShop": {"shopID": "1", "qoh": str(100 + i)}}},
        )
    elapsed = s.clock.now - start
    assert s.stats()["rejected_429"] == 0
    cost = CostModel().cost("PUT", "Item", body={"ItemShops": {"ItemShop": {"qoh": 1}}})
    assert cost == 10.5
    # the bucket buys the first 90 drips; the rest drains at 1 drip/s, and no faster
    bound = (n * cost - 90) / 1.0
    assert bound <= elapsed <= bound + 2 * cost
    assert CostModel().sustained_rate("PUT", "Item") == pytest.approx(0.1)
    assert s.client.pacer.state.level <= 90


def test_reads_are_paced_under_the_burst_limiter() -> None:
    s = setup()
    for _ in range(45):
        s.client.accounts()
    assert s.stats()["rejected_429"] == 0
    assert len(s.clock.sleeps) == 2  # two one-second windows were full


def test_a_429_caused_by_another_worker_waits_retry_after() -> None:
    s = setup(bucket_size=20)
    with TestClient(s.app) as tc:  # another worker of the account fills the bucket
        for _ in range(2):
            assert tc.post(
                f"/API/V3/Account/{ACCOUNT}/Category.json", json={"name": "x"}, headers=bearer(s)
            ).status_code in (200, 422)
    assert s.client.accounts()[0]["accountID"] == ACCOUNT
    assert s.stats()["rejected_429"] == 1
    assert s.clock.sleeps and s.clock.sleeps[0] >= 1
    assert s.counter.retries == 1


def test_cost_model() -> None:
    costs = CostModel()
    assert costs.cost("GET", "Item") == 1
    assert costs.cost(
        "GET", "Item", params={"load_relations": '["ItemShops","Category"]'}
    ) == pytest.approx(1.8)
    assert costs.cost("GET", "Item", params={"count": 1}) == 10
    sale = {
        "SaleLines": {"SaleLine": [{"itemID": 1}, {"itemID": 2}]},
        "SalePayments": {"SalePayment": {"amount": "1"}},
    }
    assert costs.cost("POST", "Sale", body=sale) == 2 + 3 * 0.5
    assert costs.cost("POST", "Category", body={"name": "x"}) == 10
    assert CostModel(write=5).sustained_rate("PUT", "Item", drip_rate=2) == pytest.approx(0.4)


def test_bucket_headers_on_every_api_response() -> None:
    s = setup()
    with TestClient(s.app) as tc:
        resp = tc.get(
            f"/API/V3/Account/{ACCOUNT}/Item.json", params={"count": 1}, headers=bearer(s)
        )
    assert resp.headers["X-LS-API-Request-Cost"] == "10"
    level, size = resp.headers["X-LS-API-Bucket-Level"].split("/")
    assert float(size) == 90 and float(level) >= 10
    assert resp.headers["X-LS-API-Drip-Rate"] == "1"
    assert resp.headers["X-LS-API-Burst-Level"].endswith("/20")


# --- the sandbox's shapes --------------------------------------------------------------


def test_sandbox_envelopes_and_quirks() -> None:
    s = setup()
    h = bearer(s)
    url = f"/API/V3/Account/{ACCOUNT}"
    with TestClient(s.app) as tc:
        one = tc.get(f"{url}/Item/1.json", headers=h).json()
        assert one["@attributes"] == {"count": "1"} and isinstance(one["Item"], dict)
        # two prices (Default and MSRP), as real items have them: a list
        assert [p["useType"] for p in one["Item"]["Prices"]["ItemPrice"]] == ["Default", "MSRP"]
        assert "ItemShops" not in one["Item"]  # relations only when loaded
        assert all(isinstance(v, str) for v in one["Item"].values() if not isinstance(v, dict))
        single = tc.get(f"{url}/Item.json", params={"itemID": "1"}, headers=h).json()
        assert isinstance(single["Item"], dict)  # a one-record list is an object too
        none = tc.get(f"{url}/Item.json", params={"itemID": "9999"}, headers=h).json()
        assert "Item" not in none and none["@attributes"]["next"] == ""
        shops = tc.get(
            f"{url}/Item/1.json", params={"load_relations": '["ItemShops"]'}, headers=h
        ).json()["Item"]["ItemShops"]["ItemShop"]
        assert {r["shopID"] for r in shops} == {"0", "1"}
        customer = tc.post(
            f"{url}/Customer.json", headers=h, json={"firstName": "Noor", "lastName": "Visser"}
        ).json()
        rid = customer["Customer"]["customerID"]
        contact = tc.get(
            f"{url}/Customer/{rid}.json", headers=h, params={"load_relations": '["Contact"]'}
        ).json()["Customer"]["Contact"]
        assert contact["Emails"] == "" and contact["Phones"] == ""  # empty collections
        assert tc.get(f"{url}/Item.json", params={"limit": 101}, headers=h).status_code == 400
        bad_rel = tc.get(f"{url}/Item.json", params={"load_relations": '["Nope"]'}, headers=h)
        assert bad_rel.status_code == 400 and "ItemShops" in bad_rel.json()["message"]
        assert (
            tc.get(f"{url}/Customer.json", params={"Contact.email": "x@y.z"}, headers=h).status_code
            == 400
        )  # search in a relation needs it loaded
        assert tc.get(f"{url}/Nope.json", headers=h).status_code == 404
        assert tc.get("/API/V3/Account/1/Item.json", headers=h).status_code == 404
        assert tc.post(f"{url}/ItemShop.json", json={}, headers=h).status_code == 405
        assert tc.put(f"{url}/Item/1.json", content=b"{", headers=h).status_code == 400
        assert (
            tc.get(f"{url}/Item.json", params={"count": 1, "limit": 5}, headers=h).status_code
            == 400
        )
        missing = tc.get(f"{url}/Item/999.json", headers=h)
        assert missing.status_code == 404
        assert set(missing.json()) == {"httpCode", "httpMessage", "message", "errorClass"}
        unauth = tc.get(f"{url}/Item.json", headers={"Authorization": "Bearer nope"})
        assert unauth.status_code == 401
        assert unauth.json()["hint"] == "Access token could not be verified"


def test_a_put_with_nested_item_shops_sets_qoh_and_bumps_only_the_item_shop() -> None:
    s = setup()
    h = bearer(s)
    url = f"/API/V3/Account/{ACCOUNT}/Item/2.json"
    with TestClient(s.app) as tc:
        before = tc.get(url, params={"load_relations": '["ItemShops"]'}, headers=h).json()
        shop1 = next(r for r in before["Item"]["ItemShops"]["ItemShop"] if r["shopID"] == "1")
        put = tc.put(
            url,
            headers=h,
            json={"ItemShops": {"ItemShop": {"itemShopID": shop1["itemShopID"], "qoh": 3}}},
        )
        assert put.status_code == 200, put.text
        after = tc.get(url, params={"load_relations": '["ItemShops"]'}, headers=h).json()
    rows = {r["shopID"]: r for r in after["Item"]["ItemShops"]["ItemShop"]}
    assert rows["1"]["qoh"] == "3" and rows["0"]["qoh"] == "3"  # the summary follows
    assert rows["1"]["timeStamp"] > shop1["timeStamp"]
    assert after["Item"]["timeStamp"] == before["Item"]["timeStamp"]
    with TestClient(s.app) as tc:
        changed = tc.put(url, headers=h, json={"description": "Renamed"}).json()
    assert changed["Item"]["timeStamp"] > before["Item"]["timeStamp"]


def test_sandbox_state_persists_items_and_tokens(tmp_path: Any) -> None:
    state = tmp_path / "lsr.json"
    clock = FakeClock(now=1_800_000_000.0)
    store = InMemoryTokenStore()
    app = create_app(seed="demo", state_file=state, clock=clock)
    client = make_client(app, settings_for(), clock, store, CallCounter())
    client.update("Item", "1", {"description": "Kept"})
    again = create_app(seed="demo", state_file=state, clock=clock)
    client = make_client(again, settings_for(), clock, store, CallCounter())
    assert client.get("Item", 1)["description"] == "Kept"  # and the rotated token still works


# --- hook --------------------------------------------------------------------------------


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "lightspeed_retail", **fields})
    )


GOOD: dict[str, Any] = {
    "host": BASE,
    "login": "demo-client",
    "password": "demo-secret",
    "extra": {
        "refresh_token": "demo-refresh-token",
        "shop_id": 1,
        "payment_types": {"iDEAL": 4, "*": 2},
        "account_id": 83050,
    },
}


def test_hook_builds_the_target_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_retail.hook import LightspeedRetailHook

    _conn(monkeypatch, "lsr_ok", **GOOD)
    hook = LightspeedRetailHook("lsr_ok")
    settings = hook.get_settings()
    assert (settings.base_url, settings.account_id, settings.payment_types) == (
        BASE,
        "83050",
        {"iDEAL": 4, "*": 2},
    )
    assert settings.effective_token_url == f"{BASE}/auth/oauth/token"
    app = create_app(seed="demo")
    target = hook.get_target(http=TestClient(app), store=InMemoryTokenStore())
    assert target.payment_types == {"iDEAL": 4, "*": 2}
    assert target.find_items(["T-S-BLA-9001", "NOPE"]) == {"T-S-BLA-9001"}
    target.close()
    assert LightspeedRetailHook.default_conn_name == "shopbridge_lightspeed_retail"
    assert LightspeedRetailHook.conn_type == "lightspeed_retail"
    with pytest.raises(ConfigError, match="only be a target"):
        hook.get_source()


def test_hook_defaults_to_the_vendor_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_retail.hook import LightspeedRetailHook

    _conn(monkeypatch, "lsr_def", login="c", password="s", extra={"refresh_token": "r"})
    settings = LightspeedRetailHook("lsr_def").get_settings()
    assert settings.base_url == "https://api.lightspeedapp.com"
    assert settings.effective_token_url == "https://cloud.lightspeedapp.com/auth/oauth/token"


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"password": "s", "extra": {"refresh_token": "r"}}, "'lsr_cfg': login"),
        ({"login": "c", "extra": {"refresh_token": "r"}}, "'lsr_cfg': password"),
        ({"login": "c", "password": "s"}, "'lsr_cfg': extra.refresh_token"),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "page_size": 500}},
            "extra.page_size",
        ),
        (
            {"login": "c", "password": "s", "extra": {"refresh_token": "r", "shopid": 2}},
            "extra.shopid",
        ),
    ],
)
def test_hook_config_errors_name_connection_and_field(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], needle: str
) -> None:
    from shopbridge.connectors.lightspeed_retail.hook import LightspeedRetailHook

    _conn(monkeypatch, "lsr_cfg", **fields)
    with pytest.raises(ConfigError, match=needle):
        LightspeedRetailHook("lsr_cfg").get_target()


def test_hook_test_connection_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_retail import hook as hook_module

    app = create_app(seed="demo")
    real = hook_module.LightspeedRetailHook.get_client
    store = InMemoryTokenStore()  # the workers' shared store (the ledger database in a run)

    def with_sandbox(self: Any, **kwargs: Any) -> LightspeedRetailClient:
        # a wrong secret only shows at the next refresh: give that connection no pair yet
        own = InMemoryTokenStore() if self.lightspeed_retail_conn_id == "lsr_bad" else store
        return real(self, http=TestClient(app), store=own, **kwargs)

    monkeypatch.setattr(hook_module.LightspeedRetailHook, "get_client", with_sandbox)
    _conn(monkeypatch, "lsr_good", **GOOD)
    _conn(monkeypatch, "lsr_bad", **{**GOOD, "password": "n0pe-secret"})
    _conn(monkeypatch, "lsr_acct", **{**GOOD, "extra": {**GOOD["extra"], "account_id": 1}})
    assert hook_module.LightspeedRetailHook("lsr_good").test_connection() == (
        True,
        "connection 'lsr_good': OK, account 83050 (Demo Winkel)",
    )
    ok, message = hook_module.LightspeedRetailHook("lsr_bad").test_connection()
    assert not ok and "client secret" in message and "n0pe-secret" not in message
    ok, message = hook_module.LightspeedRetailHook("lsr_acct").test_connection()
    assert not ok and "account 1 is not among" in message


def test_client_side_is_airflow_and_fastapi_free() -> None:
    code = (
        "import sys, shopbridge.connectors.lightspeed_retail, "
        "shopbridge.connectors.lightspeed_retail.defaults;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'fastapi'}))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "[]"


def test_defaults_import_only_the_mapping_layer() -> None:
    """The vendor's tables need the mapping's spec and its VendorDefaults, nothing of the
    connector's client or of Airflow (the registry reads them for every pair)."""
    code = (
        "import sys, shopbridge.mapping.spec, shopbridge.mapping.defaults;"
        "before = set(sys.modules);"
        "import shopbridge.connectors.lightspeed_retail.defaults as d;"
        "print(sorted(set(sys.modules) - before))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == str(
        [
            "shopbridge.connectors",
            "shopbridge.connectors.lightspeed_retail",
            "shopbridge.connectors.lightspeed_retail.defaults",
        ]
    )


def test_client_closes_only_the_pool_it_owns() -> None:
    injected = httpx.Client()
    settings = settings_for(account_id="1")
    LightspeedRetailClient.from_settings(
        settings, store=InMemoryTokenStore(), http=injected
    ).close()
    assert not injected.is_closed
    with LightspeedRetailClient.from_settings(settings, store=InMemoryTokenStore()) as own:
        pass
    assert own._http.is_closed
    injected.close()


def test_sandbox_sales_must_balance_and_cash_overpays_into_change() -> None:
    s = setup()
    h = bearer(s)
    url = f"/API/V3/Account/{ACCOUNT}/Sale.json"
    sale = {
        "employeeID": 1,
        "registerID": 1,
        "shopID": 1,
        "completed": True,
        "SaleLines": {"SaleLine": {"itemID": 2, "unitQuantity": 1, "unitPrice": "10"}},
    }
    with TestClient(s.app) as tc:
        short = tc.post(
            url,
            headers=h,
            json={**sale, "SalePayments": {"SalePayment": {"amount": "9.99", "paymentTypeID": 2}}},
        )
        assert short.status_code == 422 and "balanced" in short.json()["message"]
        cash = tc.post(
            url,
            headers=h,
            json={**sale, "SalePayments": {"SalePayment": {"amount": "15", "paymentTypeID": 1}}},
        )
        assert cash.status_code == 200, cash.text
        body = cash.json()["Sale"]
        assert (body["change"], body["total"], body["balance"]) == ("5", "10", "0")
        assert body["SalePayments"]["SalePayment"]["amount"] == "10"
        open_sale = tc.post(url, headers=h, json={**sale, "completed": False})
        assert open_sale.json()["Sale"]["completed"] == "false"
