"""The kit's shared refresh-token store and rotating-token auth: compare-and-swap, leases,
waiting for another worker, a refused token re-read once, all on a fake clock.

The vendor is a small single-use token endpoint behind ``httpx.MockTransport``; both stores
(in memory and the ledger database's table on SQLite) are held to the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shopbridge.connectors._kit.tokens import (
    InMemoryRefreshTokenStore,
    RefreshRefused,
    RefreshTokenStore,
    RotatingTokenAuth,
    TokenSet,
    token_key,
)
from shopbridge.errors import AuthError, RetriableError
from shopbridge.store.tokens import RefreshTokens

KEY = "vendor:client:abc"
TTL = 600.0


@dataclass
class Clock:
    """Wall time that moves only when someone sleeps; ``on_sleep`` lets a test play the
    other worker while this one waits."""

    now: float = 1_000_000.0
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


class Vendor:
    """Single-use refresh tokens, access tokens valid for ``TTL`` on the shared clock."""

    def __init__(self, clock: Clock, seed: str = "r0") -> None:
        self.clock = clock
        self.refresh: dict[str, bool] = {seed: False}  # token -> used
        self.access: dict[str, float] = {}
        self.spent: list[str] = []  # every refresh token sent, refused ones included
        self.api_calls = 0
        self.rejected_401 = 0
        self._n = 0

    def issue(self) -> TokenSet:
        self._n += 1
        access, refresh = f"a{self._n}", f"r{self._n}"
        self.access[access] = self.clock() + TTL
        self.refresh[refresh] = False
        return TokenSet(access, refresh, self.clock() + TTL)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            token = dict(httpx.QueryParams(request.content.decode()))["refresh_token"]
            self.spent.append(token)
            if self.refresh.get(token, True):
                return httpx.Response(400, json={"error": "invalid_grant"})
            self.refresh[token] = True
            new = self.issue()
            return httpx.Response(
                200,
                json={
                    "access_token": new.access_token,
                    "refresh_token": new.refresh_token,
                    "expires_in": TTL,
                },
            )
        self.api_calls += 1
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.access.get(bearer, 0.0) <= self.clock():
            self.rejected_401 += 1
            return httpx.Response(401, json={"message": "unauthorized"})
        return httpx.Response(200, json={"ok": True})


class Grant:
    """The vendor-specific part: form in, pair out."""

    def request(self, refresh_token: str) -> httpx.Request:
        return httpx.Request("POST", "http://vendor/token", data={"refresh_token": refresh_token})

    def parse(self, response: httpx.Response, refresh_token: str, issued_at: float) -> TokenSet:
        body = response.json()
        if response.status_code == 400:
            raise RefreshRefused(f"refused: {body['error']}", response=response)
        new = str(body.get("refresh_token") or refresh_token)
        return TokenSet(body["access_token"], new, issued_at + float(body["expires_in"]))


@pytest.fixture(params=["memory", "sql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RefreshTokenStore]:
    if request.param == "memory":
        yield InMemoryRefreshTokenStore()
        return
    sql = RefreshTokens(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield sql
    sql.close()


def worker(
    store: RefreshTokenStore, clock: Clock, vendor: Vendor, *, seed: str = "r0", **kw: object
) -> tuple[RotatingTokenAuth, httpx.Client]:
    auth = RotatingTokenAuth(
        Grant(),
        refresh_token=seed,
        store=store,
        key=KEY,
        vendor="Vendor",
        clock=clock,
        sleep=clock.sleep,
        **kw,  # type: ignore[arg-type]
    )
    return auth, httpx.Client(transport=httpx.MockTransport(vendor), auth=auth)


# --- the store ---------------------------------------------------------------------------


def test_compare_and_swap_lets_one_of_two_holders_store_a_successor(
    store: RefreshTokenStore,
) -> None:
    assert store.put_if_absent(KEY, TokenSet("", "r0", 0.0)).refresh_token == "r0"
    assert store.put_if_absent(KEY, TokenSet("", "late", 0.0)).refresh_token == "r0"
    assert store.swap(KEY, "r0", TokenSet("a1", "r1", 5.0))
    assert not store.swap(KEY, "r0", TokenSet("a2", "r2", 5.0))  # read r0 too: loses
    got = store.get(KEY)
    assert got is not None and (got.access_token, got.refresh_token) == ("a1", "r1")
    assert store.get("other") is None


def test_a_lease_is_one_owners_until_it_expires_or_a_swap_frees_it(
    store: RefreshTokenStore,
) -> None:
    store.put_if_absent(KEY, TokenSet("", "r0", 0.0))
    assert store.claim(KEY, "r0", "A", now=100.0, lease_s=30)
    assert not store.claim(KEY, "r0", "B", now=129.0, lease_s=30)
    assert store.claim(KEY, "r0", "B", now=131.0, lease_s=30)  # A's ran out
    assert not store.claim(KEY, "r9", "C", now=500.0, lease_s=30)  # not the stored token
    store.release(KEY, "A")  # no longer A's: nothing happens
    assert not store.claim(KEY, "r0", "C", now=132.0, lease_s=30)
    assert store.swap(KEY, "r0", TokenSet("a1", "r1", 9.0))
    assert store.claim(KEY, "r1", "C", now=133.0, lease_s=30)  # the swap cleared B's


def test_the_ledger_store_is_shared_by_two_connections(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    one, two = RefreshTokens(url), RefreshTokens(url)
    one.put_if_absent(KEY, TokenSet("", "r0", 0.0))
    assert two.claim(KEY, "r0", "B", now=1.0, lease_s=30)
    assert not one.claim(KEY, "r0", "A", now=2.0, lease_s=30)
    assert two.swap(KEY, "r0", TokenSet("a1", "r1", 9.0))
    got = one.get(KEY)
    assert got is not None and got.refresh_token == "r1" and "r1" not in repr(got)
    one.close()
    two.close()


def test_the_key_names_the_system_and_changes_with_a_new_authorization() -> None:
    a, b = token_key("fortnox", "client", "r-old"), token_key("fortnox", "client", "r-new")
    assert a != b and a.startswith("fortnox:client:") and "r-old" not in a


# --- the auth ----------------------------------------------------------------------------


def test_first_request_refreshes_and_the_pair_is_reused_until_near_expiry(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    auth, http = worker(store, clock, vendor, skew_s=60.0)
    assert http.get("http://vendor/api").status_code == 200
    assert http.get("http://vendor/api").status_code == 200
    assert vendor.spent == ["r0"] and auth.token_requests == 1
    clock.now += TTL - 59  # within the skew: refreshed before the vendor says no
    assert http.get("http://vendor/api").status_code == 200
    assert vendor.spent == ["r0", "r1"] and vendor.rejected_401 == 0
    stored = store.get(KEY)
    assert stored is not None and stored.refresh_token == "r2"


def test_a_second_worker_uses_the_first_ones_pair_without_a_refresh(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    a, http_a = worker(store, clock, vendor)
    b, http_b = worker(store, clock, vendor)
    http_a.get("http://vendor/api")
    http_b.get("http://vendor/api")
    assert (a.token_requests, b.token_requests) == (1, 0) and vendor.spent == ["r0"]


def test_a_restarted_worker_starts_from_the_newest_token_not_the_seed(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    for _ in range(3):  # three "tasks", each a new client, each after the token expired
        _, http = worker(store, clock, vendor)
        assert http.get("http://vendor/api").status_code == 200
        clock.now += TTL
    assert vendor.spent == ["r0", "r1", "r2"]  # each single-use token spent once


def test_a_worker_waits_for_the_lease_holder_and_uses_its_pair(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    store.put_if_absent(KEY, TokenSet("", "r0", 0.0))
    assert store.claim(KEY, "r0", "other", now=clock(), lease_s=30)

    def other_finishes() -> None:  # the holder spends r0 and stores its successor
        if len(clock.sleeps) == 3:
            vendor.refresh["r0"] = True
            assert store.swap(KEY, "r0", vendor.issue())

    clock.on_sleep = other_finishes
    auth, http = worker(store, clock, vendor, poll_s=0.5)
    assert http.get("http://vendor/api").status_code == 200
    assert auth.token_requests == 0 and clock.sleeps == [0.5] * 3


def test_a_lease_that_never_ends_is_retriable_after_wait_s(store: RefreshTokenStore) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    store.put_if_absent(KEY, TokenSet("", "r0", 0.0))
    store.claim(KEY, "r0", "stuck", now=clock(), lease_s=3600)
    _auth, http = worker(store, clock, vendor, wait_s=10.0, poll_s=1.0)
    with pytest.raises(RetriableError, match="another worker has been refreshing"):
        http.get("http://vendor/api")
    assert vendor.spent == [] and sum(clock.sleeps) == pytest.approx(11.0)


def test_a_dead_holders_lease_runs_out_and_another_worker_refreshes(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    store.put_if_absent(KEY, TokenSet("", "r0", 0.0))
    store.claim(KEY, "r0", "died", now=clock(), lease_s=5.0)
    _auth, http = worker(store, clock, vendor, poll_s=1.0)
    assert http.get("http://vendor/api").status_code == 200
    assert vendor.spent == ["r0"] and 5.0 <= sum(clock.sleeps) <= 7.0


def test_a_refused_token_is_answered_by_re_reading_the_store_once(
    store: RefreshTokenStore,
) -> None:
    """Another worker whose lease ran out spent r0 a moment before us and stored r1."""
    clock = Clock()
    vendor = Vendor(clock)
    store.put_if_absent(KEY, TokenSet("", "r0", 0.0))
    vendor.refresh["r0"] = True
    winner = vendor.issue()
    real = vendor.__call__

    def vendor_then_winner_swaps(request: httpx.Request) -> httpx.Response:
        response = real(request)
        if request.url.path == "/token" and response.status_code == 400:
            store.swap(KEY, "r0", winner)
        return response

    auth = RotatingTokenAuth(
        Grant(), refresh_token="r0", store=store, key=KEY, vendor="Vendor", clock=clock
    )
    http = httpx.Client(transport=httpx.MockTransport(vendor_then_winner_swaps), auth=auth)
    assert http.get("http://vendor/api").status_code == 200
    assert vendor.spent == ["r0"] and clock.sleeps == []  # one re-read, no wait
    assert store.claim(KEY, winner.refresh_token, "next", now=clock(), lease_s=1)  # released


def test_a_refused_chain_falls_back_to_the_connections_token_once(
    store: RefreshTokenStore,
) -> None:
    """The vendor was reset (a fresh sandbox): the stored chain is unknown to it, the
    Connection's token works."""
    clock = Clock()
    vendor = Vendor(clock)
    store.put_if_absent(KEY, TokenSet("old-access", "r-from-elsewhere", 0.0))
    _auth, http = worker(store, clock, vendor)
    assert http.get("http://vendor/api").status_code == 200
    assert vendor.spent == ["r-from-elsewhere", "r0"]
    stored = store.get(KEY)
    assert stored is not None and stored.refresh_token == "r1"


def test_a_dead_chain_is_refused_and_the_lease_given_back(store: RefreshTokenStore) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    vendor.refresh["r0"] = True  # spent elsewhere, no successor anywhere
    _auth, http = worker(store, clock, vendor)
    with pytest.raises(RefreshRefused):
        http.get("http://vendor/api")
    assert isinstance(RefreshRefused("x"), AuthError)
    assert vendor.spent == ["r0"]  # the seed is the stored token: not tried twice
    assert store.claim(KEY, "r0", "someone-else", now=clock(), lease_s=1)


def test_a_401_refreshes_once_and_sends_again_paced_and_counted(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    sent: list[str] = []
    resent: list[int] = []
    _auth, http = worker(
        store,
        clock,
        vendor,
        before_send=lambda r: sent.append(r.url.path),
        on_resend=lambda: resent.append(1),
    )
    http.get("http://vendor/api")
    vendor.access.clear()  # the vendor revoked every access token early
    assert http.get("http://vendor/api").status_code == 200
    assert vendor.rejected_401 == 1 and vendor.spent == ["r0", "r1"]
    assert sent == ["/api"] * 3 and resent == [1]
    vendor.access.clear()
    vendor.refresh.clear()  # the refresh is refused too: that reaches the caller
    with pytest.raises(RefreshRefused):
        http.get("http://vendor/api")


def test_a_second_401_right_after_a_refresh_reaches_the_caller(
    store: RefreshTokenStore,
) -> None:
    clock = Clock()
    vendor = Vendor(clock)

    def always_401(request: httpx.Request) -> httpx.Response:
        response = vendor(request)
        return response if request.url.path == "/token" else httpx.Response(401)

    auth = RotatingTokenAuth(
        Grant(), refresh_token="r0", store=store, key=KEY, vendor="Vendor", clock=clock
    )
    http = httpx.Client(transport=httpx.MockTransport(always_401), auth=auth)
    assert http.get("http://vendor/api").status_code == 401
    assert auth.token_requests == 1  # refreshed before the request: no second refresh


def test_refresh_now_proves_the_grant_outside_a_request(store: RefreshTokenStore) -> None:
    clock = Clock()
    vendor = Vendor(clock)
    auth, http = worker(store, clock, vendor)
    http.get("http://vendor/api")
    pair = auth.refresh_now(lambda request: http.send(request, auth=None))
    assert pair.refresh_token == "r2" and vendor.spent == ["r0", "r1"]
    auth.expire()  # a connection test: refresh although the stored pair is fresh
    http.get("http://vendor/api")
    assert vendor.spent == ["r0", "r1", "r2"]
