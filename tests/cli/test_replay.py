"""``shopbridge replay``: a quarantined order, read again from the webshop after the data
was fixed, lands in the ERP exactly once.

The order with the unknown SKU is quarantined by a real DAG run (``dag.test()``); replaying
it before the article exists keeps it quarantined with the reason; once the article is
added to Exact Globe a replay books it; a second replay finds nothing to do.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing

import pytest

from shopbridge.connectors.base import ItemWrite
from shopbridge.connectors.registry import hook_for
from shopbridge.store.ledger import Ledger
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU, generate
from tests.cli.helpers import PAIR, sandbox, shopbridge, table_rows
from tests.dags.helpers import run_dag, sandbox_pair

pytestmark = pytest.mark.slow

N_ORDERS = 6


@pytest.fixture(scope="module")
def urls(tmp_path_factory, airflow_db):
    with sandbox_pair(tmp_path_factory.mktemp("replay"), n_orders=N_ORDERS) as urls:
        yield urls


@pytest.fixture(scope="module")
def quarantined(urls) -> dict:
    """The run that set the order aside; the order as the webshop has it."""
    state, summary = run_dag({"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat()})
    assert state == "success"
    assert summary["orders_created"] == N_ORDERS - 1
    assert summary["orders_quarantined"] == 1
    return next(
        o
        for o in generate("demo", n_orders=N_ORDERS).orders
        if any(line["product"]["sku"] == UNKNOWN_SKU for line in o["lines"])
    )


def booked(url: str) -> Counter:
    return Counter(o["YourReference"] for o in sandbox(url, "orders"))


def ledger_row(order_id: str):
    with closing(Ledger()) as ledger:
        return ledger.get(PAIR, "order", order_id)


def test_replay_before_the_fix_keeps_it_quarantined_with_its_reason(urls, quarantined):
    oid = str(quarantined["order_id"])
    writes = sandbox(urls["exact_globe"], "stats")["writes"]
    out = shopbridge("replay", PAIR, "--all")
    assert out.returncode == 1, out.stdout + out.stderr
    rows = table_rows(out.stdout)
    assert [(r["RECORD ID"], r["OUTCOME"]) for r in rows] == [(oid, "quarantined")]
    assert UNKNOWN_SKU in rows[0]["DETAIL"]
    assert "0 of 1 left quarantine" in out.stdout
    assert quarantined["number"] not in booked(urls["exact_globe"])
    assert sandbox(urls["exact_globe"], "stats")["writes"] == writes
    row = ledger_row(oid)
    assert row.status == "quarantined"
    assert UNKNOWN_SKU in row.reason


def test_an_unknown_id_is_refused_naming_the_quarantined_ones(quarantined):
    out = shopbridge("replay", PAIR, "--record", "999999")
    assert out.returncode == 2
    assert "no quarantined record with id '999999'" in out.stderr
    assert str(quarantined["order_id"]) in out.stderr


def test_after_the_article_exists_the_order_is_written_once(urls, quarantined):
    oid = str(quarantined["order_id"])
    with closing(hook_for("exact_globe", "shopbridge_exact_globe").get_target()) as globe:
        globe.create_item(ItemWrite(code=UNKNOWN_SKU, fields={"Description": "Discontinued"}))
    out = shopbridge("replay", PAIR, "--record", oid)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = table_rows(out.stdout)
    assert [(r["RECORD ID"], r["OUTCOME"]) for r in rows] == [(oid, "written")]
    orders = booked(urls["exact_globe"])
    assert orders[quarantined["number"]] == 1
    assert sum(orders.values()) == N_ORDERS
    row = ledger_row(oid)
    assert row.status == "done"
    assert rows[0]["DETAIL"] == f"created as {row.target_ref}"
    globe_order = next(
        o
        for o in sandbox(urls["exact_globe"], "orders")
        if o["YourReference"] == quarantined["number"]
    )
    assert UNKNOWN_SKU in {line["Itemcode"] for line in globe_order["lines"]}


def test_replaying_again_writes_nothing(urls, quarantined):
    oid = str(quarantined["order_id"])
    before = (sandbox(urls["exact_globe"], "orders"), sandbox(urls["exact_globe"], "stats"))
    again = shopbridge("replay", PAIR, "--all")
    assert again.returncode == 0, again.stderr
    assert "nothing to replay" in again.stdout
    one = shopbridge("replay", PAIR, "--record", oid)
    assert one.returncode == 2
    assert f"no quarantined record with id '{oid}'" in one.stderr
    assert sandbox(urls["exact_globe"], "orders") == before[0]
    assert sandbox(urls["exact_globe"], "stats")["writes"] == before[1]["writes"]


def test_record_and_all_cannot_be_given_together():
    out = shopbridge("replay", PAIR, "--all", "--record", "1")
    assert out.returncode == 2
    assert "not allowed with argument" in out.stderr
