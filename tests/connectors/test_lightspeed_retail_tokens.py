"""Rotating refresh tokens shared by parallel workers: the store's compare-and-swap, and
concurrent refreshes (threads in-process, then real processes) that never lock out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.tokens import InMemoryRefreshTokenStore as InMemoryTokenStore
from shopbridge.connectors._kit.tokens import RefreshTokenStore as TokenStore
from shopbridge.connectors._kit.tokens import TokenSet
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.lightspeed_retail.auth import LightspeedGrant
from shopbridge.connectors.lightspeed_retail.client import LightspeedRetailClient
from shopbridge.errors import AuthError
from shopbridge.store.tokens import RefreshTokens as SqlTokenStore
from shopbridge_dev.sandboxes.lightspeed_retail.app import create_app

from .test_lightspeed_retail import ACCOUNT, settings_for

ROOT = Path(__file__).parents[2]


@pytest.fixture(params=["memory", "sql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield InMemoryTokenStore()
        return
    sql = SqlTokenStore(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield sql
    sql.close()


# --- the store ---------------------------------------------------------------------------


def test_seeding_keeps_the_first_pair(store: TokenStore) -> None:
    first = store.put_if_absent("k", TokenSet("", "r0", 0.0))
    second = store.put_if_absent("k", TokenSet("", "other", 0.0))
    assert first.refresh_token == second.refresh_token == "r0"
    assert store.get("nope") is None


def test_swap_is_compare_and_swap_on_the_refresh_token(store: TokenStore) -> None:
    store.put_if_absent("k", TokenSet("", "r0", 0.0))
    assert store.swap("k", "r0", TokenSet("a1", "r1", 100.0))
    assert not store.swap("k", "r0", TokenSet("a2", "r2", 200.0))  # the loser
    got = store.get("k")
    assert got is not None and (got.access_token, got.refresh_token) == ("a1", "r1")
    assert "a1" not in repr(got) and "r1" not in repr(got)


def test_only_one_owner_holds_the_lease_until_it_expires(store: TokenStore) -> None:
    store.put_if_absent("k", TokenSet("", "r0", 0.0))
    assert store.claim("k", "r0", "A", now=10.0, lease_s=30)
    assert not store.claim("k", "r0", "B", now=11.0, lease_s=30)
    assert store.claim("k", "r0", "A", now=12.0, lease_s=30)  # its own again
    assert store.claim("k", "r0", "B", now=43.0, lease_s=30)  # A's lease ran out
    assert not store.claim("k", "stale", "C", now=100.0, lease_s=30)  # not the stored one
    store.release("k", "A")  # not A's any more: nothing happens
    assert not store.claim("k", "r0", "C", now=44.0, lease_s=30)
    store.release("k", "B")
    assert store.claim("k", "r0", "C", now=45.0, lease_s=30)
    assert store.swap("k", "r0", TokenSet("a", "r1", 1.0))
    assert store.claim("k", "r1", "D", now=46.0, lease_s=30)  # a swap frees the lease


def test_sql_store_shares_the_row_across_engines(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    one, two = SqlTokenStore(url), SqlTokenStore(url)
    one.put_if_absent("k", TokenSet("", "r0", 0.0))
    assert two.claim("k", "r0", "B", now=1.0, lease_s=30)
    assert not one.claim("k", "r0", "A", now=2.0, lease_s=30)
    assert two.swap("k", "r0", TokenSet("a1", "r1", 9.0))
    got = one.get("k")
    assert got is not None and got.refresh_token == "r1"
    one.close()
    two.close()


def test_sql_store_defaults_to_the_ledger_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.sqlite'}"
    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", url)
    store = SqlTokenStore()
    store.put_if_absent("k", TokenSet("", "r0", 0.0))
    assert str(store.engine.url) == url
    store.close()


def test_the_key_changes_with_a_new_authorization() -> None:
    grant = LightspeedGrant("https://auth.test/token", "client", "secret")
    a, b = grant.key("r-old"), grant.key("r-new")
    assert a != b and a.startswith("lightspeed_retail:client:") and "r-old" not in a


def test_a_vendor_reset_to_the_connections_token_is_survived() -> None:
    """A fresh sandbox (state wiped, its seed token active again) behind a store that holds
    a chain it never issued: the stored token is refused, the Connection's one works."""
    store = InMemoryTokenStore()
    first = create_app(seed="demo")
    LightspeedRetailClient.from_settings(
        settings_for(account_id=ACCOUNT), store=store, http=TestClient(first)
    ).accounts()
    fresh = create_app(seed="demo")
    client = LightspeedRetailClient.from_settings(
        settings_for(account_id=ACCOUNT), store=store, http=TestClient(fresh)
    )
    assert client.accounts()[0]["accountID"] == ACCOUNT
    stats = _control(fresh, "get", "stats")
    assert (stats["rejected_401"], stats["refresh_rejected"], stats["refreshes"]) == (1, 1, 1)


# --- concurrent refreshes ------------------------------------------------------------------


class Worker(threading.Thread):
    """One worker process' worth of client (own connection, own auth), sharing the store."""

    def __init__(
        self,
        app: Any,
        store: TokenStore,
        barrier: threading.Barrier,
        rounds: int,
        expire: threading.Event,
    ) -> None:
        super().__init__()
        self.client = LightspeedRetailClient.from_settings(
            settings_for(account_id=ACCOUNT),
            store=store,
            http=TestClient(app),
            policy=RetryPolicy(),
            counter=CallCounter(),
        )
        self.barrier, self.rounds, self.expire = barrier, rounds, expire
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            for _ in range(self.rounds):
                self.barrier.wait(timeout=30)
                self.client.accounts()
                self.barrier.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.errors.append(exc)
            self.barrier.abort()


def _control(app: Any, method: str, path: str, **kw: Any) -> Any:
    with TestClient(app) as tc:
        return getattr(tc, method)(f"/_sandbox/{path}", **kw).json()


def _race(app: Any, store: TokenStore, *, workers: int, rounds: int) -> list[Worker]:
    """``workers`` threads meet at a barrier and call the API at once, ``rounds`` times;
    between rounds every access token expires, so each round starts with a refresh race."""

    def between_rounds() -> None:
        _control(app, "post", "tokens", json={"action": "expire_access"})

    barrier = threading.Barrier(workers, action=between_rounds)
    team = [Worker(app, store, barrier, rounds, threading.Event()) for _ in range(workers)]
    for w in team:
        w.start()
    for w in team:
        w.join(timeout=120)
    return team


def test_concurrent_refreshes_end_with_one_working_token(store: TokenStore) -> None:
    app = create_app(seed="demo")
    team = _race(app, store, workers=6, rounds=4)
    assert [e for w in team for e in w.errors] == []
    stats = _control(app, "get", "stats")
    # the lease lets exactly one worker spend each refresh token: one refresh per round
    assert stats["refreshes"] == 4
    assert stats["refresh_rejected"] == 0
    refresh = _control(app, "get", "tokens")["refresh"]
    active = [t for t, state in refresh.items() if state == "active"]
    stored = store.get(team[0].client.auth.key)  # type: ignore[attr-defined]
    assert stored is not None and active == [stored.refresh_token]  # one chain, not a fork
    assert refresh["demo-refresh-token"] == "used"
    # and the integration still works afterwards, from any worker
    assert team[-1].client.accounts()[0]["accountID"] == ACCOUNT


class NoLease:
    """A store whose leases always succeed: every worker refreshes at once, so the
    compare-and-swap alone must sort them out (as when a slow worker's lease runs out)."""

    def __init__(self, inner: TokenStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def claim(
        self, key: str, refresh_token: str, owner: str, *, now: float, lease_s: float
    ) -> bool:
        return True


def test_without_leases_the_losers_reread_the_winners_token(store: TokenStore) -> None:
    app = create_app(seed="demo")
    shared: Any = NoLease(store)
    team = _race(app, shared, workers=5, rounds=3)
    assert [e for w in team for e in w.errors] == []
    stats = _control(app, "get", "stats")
    assert stats["refreshes"] == 3  # one winner per round ...
    assert stats["refresh_rejected"] >= 1  # ... the others spent a dead token and lost
    stored = store.get(team[0].client.auth.key)  # type: ignore[attr-defined]
    assert stored is not None
    active = [t for t, s in _control(app, "get", "tokens")["refresh"].items() if s == "active"]
    assert active == [stored.refresh_token]


def test_a_worker_with_an_old_copy_uses_the_stored_pair_without_refreshing() -> None:
    app = create_app(seed="demo")
    store = InMemoryTokenStore()
    a = LightspeedRetailClient.from_settings(
        settings_for(account_id=ACCOUNT), store=store, http=TestClient(app)
    )
    b = LightspeedRetailClient.from_settings(
        settings_for(account_id=ACCOUNT), store=store, http=TestClient(app)
    )
    a.accounts()
    b.accounts()
    _control(app, "post", "tokens", json={"action": "expire_access"})
    a.accounts()  # A refreshes after its 401
    b.accounts()  # B reads the store before each request: A's pair, no 401, no refresh
    stats = _control(app, "get", "stats")
    assert stats["refreshes"] == 2 and stats["refresh_rejected"] == 0
    assert stats["rejected_401"] == 1
    assert b.auth.refreshes == 0  # type: ignore[attr-defined]


def test_a_revoked_chain_is_an_auth_error_for_every_worker() -> None:
    app = create_app(seed="demo")
    store = InMemoryTokenStore()
    clients = [
        LightspeedRetailClient.from_settings(
            settings_for(account_id=ACCOUNT), store=store, http=TestClient(app)
        )
        for _ in range(2)
    ]
    clients[0].accounts()
    _control(app, "post", "tokens", json={"action": "revoke_refresh"})
    _control(app, "post", "tokens", json={"action": "expire_access"})
    for client in clients:
        client.auth.grace_s = 0.1  # type: ignore[attr-defined]
        with pytest.raises(AuthError, match="Re-authorize"):
            client.accounts()


# --- real processes ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


WORKER = textwrap.dedent("""
    import json, sys, time
    from shopbridge.connectors._kit.http import RetryPolicy
    from shopbridge.connectors.lightspeed_retail.client import (
        LightspeedRetailClient, LightspeedRetailSettings,
    )
    from shopbridge.store.tokens import RefreshTokens as SqlTokenStore
    base, ledger, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    settings = LightspeedRetailSettings(
        base_url=base, client_id="demo-client", client_secret="demo-secret",
        refresh_token="demo-refresh-token", account_id="83050", refresh_skew_s=0.5)
    store = SqlTokenStore(ledger)
    client = LightspeedRetailClient.from_settings(settings, store=store,
                                                  policy=RetryPolicy(attempts=8))
    calls = errors = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            client.accounts()
            calls += 1
        except Exception as exc:  # reported
            errors += 1
            print(type(exc).__name__, exc, file=sys.stderr)
        time.sleep(0.05)
    print(json.dumps({"calls": calls, "errors": errors,
                      "refreshes": client.auth.refreshes}))
    client.close()
""")


@pytest.mark.slow
def test_worker_processes_share_the_chain_through_the_ledger_database(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopbridge_dev.sandboxes",
            "lightspeed_retail",
            "--port",
            str(port),
            "--set",
            "access_ttl_s=1.5",
            "--set",
            "burst_limit=1000",
            "--set",
            "bucket_size=100000",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                httpx.get(f"{base}/_sandbox/stats", timeout=1)
                break
            except httpx.TransportError:
                if time.time() > deadline or sandbox.poll() is not None:
                    raise AssertionError("the sandbox did not start") from None
                time.sleep(0.2)
        ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
        SqlTokenStore(ledger).close()  # the table exists before the race starts
        started = time.time()
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, base, ledger, "6"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = []
        for w in workers:
            out, err = w.communicate(timeout=120)
            assert w.returncode == 0, err[-2000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        span = time.time() - started
        stats = httpx.get(f"{base}/_sandbox/stats").json()
        tokens = httpx.get(f"{base}/_sandbox/tokens").json()["refresh"]
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        if sandbox.stderr is not None:
            sandbox.stderr.close()
    assert sum(r["errors"] for r in results) == 0, results
    assert all(r["calls"] > 10 for r in results), results
    # an access token lives 1.5 s and is renewed 0.5 s early: the four workers share about
    # one refresh a second between them (each on its own would refresh that often), and
    # never spend a dead refresh token
    assert stats["refresh_rejected"] == 0 and stats["rejected_401"] == 0
    refreshes = sum(r["refreshes"] for r in results)
    assert 2 <= stats["refreshes"] == refreshes <= 2 * span, (stats, results, span)
    assert refreshes * 10 < sum(r["calls"] for r in results)
    assert len([t for t, s in tokens.items() if s == "active"]) == 1
