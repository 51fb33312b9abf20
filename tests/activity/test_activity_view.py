"""The activity page and its JSON, in-process: what a person sees, what the filters keep,
and who gets to see it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from shopbridge.airflow.activity_view import create_activity_app
from shopbridge.store.activity import FAILED, ActivityLog

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HTML = {"Accept": "text/html,application/xhtml+xml"}


def summary(created: int, bad: dict[str, str]) -> dict:
    return {
        "orders_read": created + len(bad) + 1,
        "orders_created": created,
        "orders_skipped_existing": 1,
        "orders_quarantined": len(bad),
        "customers_created": 4,
        "api_calls": 9,
        "window": ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"],
        "quarantined": [
            {"entity": "order", "source_id": sid, "field": "lines[0].sku", "reason": reason}
            for sid, reason in bad.items()
        ],
    }


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    log = ActivityLog(url)
    log.record(
        integration="shop__erp",
        flow="orders",
        kind="orders",
        dag_id="shop__erp__orders",
        run_id="manual__ok",
        finished_at=T0,
        summary=summary(7, {}),
    )
    log.record(
        integration="shop__erp",
        flow="orders",
        kind="orders",
        dag_id="shop__erp__orders",
        run_id="scheduled__bad",
        finished_at=T0 + timedelta(hours=1),
        status=FAILED,
        summary=summary(2, {"4711": "no item with SKU <b>NOPE-1</b> in the ERP"}),
    )
    log.record(
        integration="pos__erp",
        flow="stock",
        kind="stock",
        dag_id="pos__erp__stock",
        run_id="manual__stock",
        finished_at=T0 + timedelta(hours=2),
        summary={
            "stock_read": 3,
            "stock_written": 2,
            "stock_unchanged": 1,
            "stock_quarantined": 0,
            "window": None,
            "quarantined": [],
        },
    )
    log.close()
    return url


def client(url: str, *, allowed: set[str] | None = None, signed_in: bool = True) -> TestClient:
    def readable():
        if not signed_in:
            raise HTTPException(401, "Not authenticated")
        return lambda ids: ids if allowed is None else ids & allowed

    app = create_activity_app(
        readable=readable,
        activity=lambda: ActivityLog(url),
        login_url=lambda next_url: f"/auth/login?next={next_url}",
    )
    return TestClient(app)


def rows(page: str) -> list[str]:
    return re.findall(r'<tr class="run" data-run-id="([^"]+)"', page)


def cells(page: str, run_id: str) -> dict[str, str]:
    row = re.search(rf'<tr class="run" data-run-id="{run_id}".*?</tr>', page, re.S)
    assert row is not None
    return dict(re.findall(r'data-col="(\w+)">(\d+)<', row.group(0)))


def test_the_page_lists_each_run_with_what_was_read_written_and_set_aside(url):
    r = client(url).get("/", headers=HTML)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert rows(page) == ["manual__stock", "scheduled__bad", "manual__ok"]
    assert cells(page, "manual__ok") == {
        "read": "8",
        "created": "7",
        "updated": "0",
        "skipped": "1",
        "quarantined": "0",
    }
    assert cells(page, "manual__stock") == {
        "read": "3",
        "created": "0",
        "updated": "2",
        "skipped": "1",
        "quarantined": "0",
    }
    # the quarantined record: id, field and reason, the reason escaped, not markup
    entry = re.search(
        r'<tr class="quarantine" data-run-id="scheduled__bad">.*?</table>', page, re.S
    )
    assert entry is not None
    assert "<code>4711</code>" in entry.group(0) and "lines[0].sku" in entry.group(0)
    assert "no item with SKU &lt;b&gt;NOPE-1&lt;/b&gt; in the ERP" in entry.group(0)
    assert "<b>NOPE-1</b>" not in page
    assert '<code title="DAG shop__erp__orders">scheduled__bad</code>' in page
    assert "2026-03-01 00:00 UTC → 2026-03-02 00:00 UTC" in page


def test_filters_keep_only_matching_runs_and_stay_selected(url):
    c = client(url)
    page = c.get("/", params={"integration": "shop__erp"}).text
    assert rows(page) == ["scheduled__bad", "manual__ok"]
    assert '<option value="shop__erp" selected>' in page
    page = c.get("/", params={"quarantined": "true"}).text
    assert rows(page) == ["scheduled__bad"]
    assert 'name="quarantined" value="true" checked' in page
    assert rows(c.get("/", params={"status": "success", "flow": "orders"}).text) == ["manual__ok"]
    assert rows(c.get("/", params={"since": "2026-03-02T13:30:00+00:00"}).text) == ["manual__stock"]
    empty = c.get("/", params={"integration": "nobody"}).text
    assert rows(empty) == [] and "No runs match these filters." in empty


def test_the_json_endpoint_returns_the_same_runs(url):
    body = client(url).get("/api/runs", params={"quarantined": "true"}).json()
    assert body["filters"]["quarantined"] is True
    [run] = body["runs"]
    assert run["run_id"] == "scheduled__bad" and run["status"] == "failed"
    assert run["created"] == 2 and run["counts"]["customers_created"] == 4
    assert run["quarantined_records"][0]["source_id"] == "4711"
    assert run["finished_at"] == "2026-03-02T13:00:00+00:00"


def test_bad_filter_values_are_refused_with_a_reason(url):
    c = client(url)
    r = c.get("/api/runs", params={"since": "last tuesday"})
    assert r.status_code == 400 and "since" in r.json()["detail"]
    assert c.get("/api/runs", params={"status": "exploded"}).status_code == 422


def test_nobody_signed_in_gets_401_or_is_sent_to_the_login(url):
    c = client(url, signed_in=False)
    api = c.get("/api/runs")
    assert api.status_code == 401 and "runs" not in api.json()
    page = c.get("/", params={"flow": "orders"}, headers=HTML, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    assert "flow=orders" in page.headers["location"]


def test_a_person_sees_only_the_runs_of_dags_they_may_read(url):
    c = client(url, allowed={"pos__erp__stock"})
    page = c.get("/").text
    assert rows(page) == ["manual__stock"]
    assert "shop__erp" not in page  # not in the rows, not in the filter lists
    assert [r["run_id"] for r in c.get("/api/runs").json()["runs"]] == ["manual__stock"]
