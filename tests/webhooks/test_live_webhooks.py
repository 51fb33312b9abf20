"""The whole webhook path for real: the Lightspeed sandbox delivers signed webhooks to
the shared live Airflow (``tests/stage.py``; the shopbridge plugin in its api-server), the
scheduler turns them into runs of the orders DAG, and the orders land in the Buckles
sandbox.

The Buckles pair's demo (``tests/test_demo_pairs.py``) runs on the same sandboxes, before
or after these tests: they start from the shop's webhooks removed and count only the
orders they placed themselves.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shopbridge.connectors.lightspeed_ecom.webhooks import SIGNATURE_HEADER, signature
from shopbridge_dev.webhook_drill import AUTH, ORDERS_DAG, PAIR, LivePair
from tests.stage import Stage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(stage: Stage) -> Iterator[LivePair]:
    # the demo's raised Lightspeed budget (the stage's default): test 4's backstop re-reads
    # 300 orders, a call each for their lines, which the real 300-per-5-minutes would
    # stretch to 5 minutes
    with stage.paused(PAIR) as pair:
        shop = pair.urls["lightspeed_ecom"]
        for hook in httpx.get(f"{shop}/nl/webhooks.json", auth=AUTH, timeout=10).json()["webhooks"]:
            httpx.delete(
                f"{shop}/nl/webhooks/{hook['id']}.json", auth=AUTH, timeout=10
            ).raise_for_status()
        stage.airflow.wait_for_dag(ORDERS_DAG)
        stage.airflow.unpause(ORDERS_DAG)
        yield LivePair(
            shop=shop,
            hub=pair.urls["buckles"],
            airflow=stage.airflow,
            env=pair.env,
            root=stage.root,
        )


def receiver(live: LivePair) -> str:
    return f"{live.airflow.url}/shopbridge/webhooks/{PAIR}/lightspeed_ecom"


def wh_numbers(live: LivePair) -> Counter[str]:
    return Counter(
        o["channel_order_id"]
        for o in live.hub_orders()
        if str(o["channel_order_id"]).startswith("WH")
    )


def test_1_register_creates_the_webhooks_once(live: LivePair) -> None:
    first = live.register_webhooks()
    assert "orders: registered webhook" in first and "customers: registered" in first
    assert "shipments: registered" in first
    again = live.register_webhooks()
    assert "registered webhook" not in again and again.count("already registered") == 3
    hooks = httpx.get(f"{live.shop}/nl/webhooks.json", auth=AUTH, timeout=10).json()
    assert {h["address"] for h in hooks["webhooks"]} == {receiver(live)}


def test_2_forged_and_malformed_deliveries_are_refused(live: LivePair) -> None:
    body = b'{"order": {"id": 424242, "number": "FORGED"}}'
    forged = httpx.post(
        receiver(live),
        content=body,
        timeout=10,
        headers={SIGNATURE_HEADER: signature(body, "not-the-secret")},
    )
    assert forged.status_code == 401
    unsigned = httpx.post(receiver(live), content=body, timeout=10)
    assert unsigned.status_code == 401
    junk = b"{not json"
    malformed = httpx.post(
        receiver(live),
        content=junk,
        timeout=10,
        headers={SIGNATURE_HEADER: signature(junk, AUTH[1])},
    )
    assert malformed.status_code == 400
    log = (live.airflow.home / "standalone.log").read_text(errors="replace")
    assert "FORGED" not in log  # refusals are logged without the body


def test_3_a_burst_of_300_becomes_a_few_runs_and_300_orders_none_twice(live: LivePair) -> None:
    before = wh_numbers(live)
    started = datetime.now(UTC)
    created = live.burst(300)
    live.wait_for_orders(set(created), timeout=600)
    deliveries = live.deliveries()["deliveries"]
    assert sum(d.get("status") == 202 for d in deliveries) >= 300
    numbers = wh_numbers(live)
    assert set(numbers) - set(before) == set(created) and max(numbers.values()) == 1
    runs = [
        r
        for r in live.runs()
        if r["run_type"] == "asset_triggered"
        and r["queued_at"] >= started.isoformat().replace("+00:00", "Z")
    ]
    assert 1 <= len(runs) <= 30, len(runs)  # coalesced: far fewer runs than deliveries
    for r in runs:  # a late event may have started one more run: let it finish
        assert live.airflow.wait_for_run(ORDERS_DAG, r["dag_run_id"], timeout=300) == "success"
    reports = [live.airflow.xcom(ORDERS_DAG, r["dag_run_id"], "report") for r in runs]
    # the webhook runs loaded what was delivered, without reading the shop again
    assert sum(r.get("webhook_records", 0) for r in reports) >= 300, reports
    assert all(r["window"] is None for r in reports), reports  # no window re-read


def test_4_a_redelivery_and_the_backstop_window_write_nothing_twice(live: LivePair) -> None:
    before = wh_numbers(live)
    shop = httpx.get(
        f"{live.shop}/nl/orders.json", params={"limit": 250, "page": 2}, auth=AUTH, timeout=10
    ).json()["orders"]
    order_id = next(o["id"] for o in shop if o["number"] in before)
    resent = httpx.post(f"{live.shop}/_sandbox/deliver", json={"order_id": order_id}, timeout=10)
    assert resent.status_code == 200, resent.text
    now = datetime.now(UTC)
    run_id = live.airflow.trigger(
        ORDERS_DAG, {"start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()}
    )
    assert live.airflow.wait_for_run(ORDERS_DAG, run_id, timeout=300) == "success"
    report = live.airflow.xcom(ORDERS_DAG, run_id, "report")
    assert report["orders_created"] == 0, report
    assert report["orders_skipped_existing"] >= 300, report
    time.sleep(5)  # let a run started by the redelivery finish too
    assert wh_numbers(live) == before
