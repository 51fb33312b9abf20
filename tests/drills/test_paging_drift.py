"""Drill: the source changes while a window is being paged, and windows meet at a crowd.

The webshop (Lightspeed eCom, pages of 10 here) keeps changing while the orders DAG of
``lightspeed_ecom__exact_globe`` reads a window ``A``; the sandbox's ``/_sandbox/page_drift``
control makes the changes land between two pages:

* (b) an order already read on page 1 is edited: its ``updatedAt`` moves past ``A``'s end,
  so it leaves the filtered list (with page offsets, the order after it was skipped);
* (a) an order below the page boundary is stamped into the window: it enters the list,
  so with page offsets a record came back on two pages;
* (c) a crowd of orders shares one timestamp, exactly ``A``'s end (they belong to the next
  window), and another crowd sits exactly on the next window's start (inside the overlap:
  read by both windows).

Then window ``B`` runs, starting ``overlap_minutes`` before ``A``'s end as a scheduled run
would. Afterwards every order the settings select is in Exact Globe exactly once, and
done once in the ledger (PostgreSQL): none lost, none written twice.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopbridge_dev.sandboxes.connections import connection_fields
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.dags.helpers import run_dag, sandbox_pair
from tests.drills.test_target_faults import _expected, _source_records

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
PAIR = "lightspeed_ecom__exact_globe"
AUTH = ("demo-key", "demo-secret")
N_ORDERS = 40
PAGE = 10


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@pytest.fixture
def shop(tmp_path: Path, airflow_db: Any, pg_url: str) -> Any:
    with sandbox_pair(
        tmp_path,
        n_orders=N_ORDERS,
        options={"lightspeed_ecom": {"n_orders": str(N_ORDERS), "rate_limit": "3000/30000/120000"}},
    ) as urls:
        os.environ["SHOPBRIDGE_LEDGER_URL"] = pg_url  # sandbox_pair restores both on exit
        fields = connection_fields("lightspeed_ecom", urls["lightspeed_ecom"])
        os.environ["AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM"] = json.dumps(
            {**fields, "extra": {**fields["extra"], "page_size": PAGE}}
        )
        yield urls


def _orders(url: str) -> list[dict[str, Any]]:
    rows = httpx.get(f"{url}/nl/orders.json", params={"limit": 250}, auth=AUTH, timeout=30).json()[
        "orders"
    ]
    return sorted(rows, key=lambda o: int(o["id"]))


def _set(url: str, oid: int, when: datetime) -> None:
    httpx.post(
        f"{url}/_sandbox/orders", json={"order": {"id": oid, "updatedAt": _stamp(when)}}, timeout=30
    ).raise_for_status()


def test_orders_changed_while_paged_and_crowds_at_the_boundary_arrive_once(shop: Any) -> None:
    from shopbridge.config import load_integration
    from shopbridge.store.ledger import Ledger, Status

    cfg = load_integration(ROOT / "include" / "integrations" / f"{PAIR}.yaml")
    overlap = timedelta(minutes=cfg.flows["orders"].overlap_minutes)
    ls, globe = shop["lightspeed_ecom"], shop["exact_globe"]
    orders = _orders(ls)
    assert len(orders) == N_ORDERS
    ids = [int(o["id"]) for o in orders]
    # A = [DEMO_START, mid): the first 26 orders by id (and so by time), three pages
    mid = datetime.fromisoformat(orders[26]["updatedAt"]).astimezone(UTC).replace(microsecond=0)
    mid += timedelta(minutes=1)
    a_start, b_start = DEMO_START, mid - overlap
    # (c) crowds: six orders exactly at A's end, four exactly at B's start (in both windows)
    at_end, at_overlap = ids[30:36], ids[20:24]
    for oid in at_end:
        _set(ls, oid, mid)
    for oid in at_overlap:
        _set(ls, oid, b_start)
    # (a) an order stamped before both windows for now; it enters A while A is paged
    entering = ids[2]
    _set(ls, entering, DEMO_START - timedelta(days=1))
    in_a = [
        int(o["id"]) for o in _orders(ls) if a_start <= datetime.fromisoformat(o["updatedAt"]) < mid
    ]
    assert len(in_a) > 2 * PAGE, "window A must span three pages"
    # (b) the fifth order of page 1 moves past A's end once page 1 was served; (a) the
    # entering one comes into A (within the overlap) once page 2 was served
    leaving = in_a[4]
    for after, oid, when in (
        (1, leaving, mid + timedelta(minutes=2)),
        (2, entering, mid - timedelta(minutes=1)),
    ):
        httpx.post(
            f"{ls}/_sandbox/page_drift",
            timeout=30,
            json={
                "resource": "orders",
                "after_pages": after,
                "changes": {str(oid): {"updatedAt": _stamp(when)}},
            },
        ).raise_for_status()

    state_a, report_a = run_dag(
        {"start": a_start.isoformat(), "end": mid.isoformat()}, dag_id=cfg.dag_id("orders")
    )
    assert state_a == "success", report_a
    # the drift happened while A was read: both orders carry their new stamps
    now = {int(o["id"]): o["updatedAt"] for o in _orders(ls)}
    assert datetime.fromisoformat(now[leaving]) > mid
    assert b_start <= datetime.fromisoformat(now[entering]) < mid
    state_b, report_b = run_dag(
        {"start": b_start.isoformat(), "end": DEMO_END.isoformat()}, dag_id=cfg.dag_id("orders")
    )
    assert state_b == "success", report_b

    records = _source_records(cfg, "orders", DEMO_START, DEMO_END)
    assert len(records) == N_ORDERS  # every order is inside A or B, whatever its stamp
    load, bad, _ = _expected(cfg, "orders", records)
    for oid in (leaving, entering, *at_end, *at_overlap):
        assert str(oid) in load or str(oid) in bad, oid
    in_globe = Counter(
        o["YourReference"] for o in httpx.get(f"{globe}/_sandbox/orders", timeout=30).json()
    )
    assert not {r: n for r, n in in_globe.items() if n > 1}, "written twice"
    with closing(Ledger()) as ledger:
        rows = ledger.get_many(cfg.scope("orders"), "order", list(load))
    lost = {
        sid: ref
        for sid, ref in load.items()
        if in_globe[ref] != 1 and not (sid in rows and rows[sid].status is Status.QUARANTINED)
    }
    assert not lost, f"lost: {lost}"
    assert all(rows[sid].status is Status.DONE for sid, ref in load.items() if in_globe[ref])
    # the crowd on A's end came with B, the one on B's start with A (and B skipped it)
    quarantined = {q["source_id"] for r in (report_a, report_b) for q in r["quarantined"]}
    assert report_a["orders_created"] + report_b["orders_created"] == len(
        [s for s in load if s not in quarantined]
    )
    assert report_b["orders_skipped_existing"] >= len(
        [o for o in at_overlap if str(o) in load and str(o) not in quarantined]
    )
