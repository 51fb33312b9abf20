"""The orders flow's steps, called in a plain loop against both sandboxes in-process.

No Airflow here: these are the failure paths that are hard to stage in a DAG run — a load
retried after it died between the target's confirmation and the ledger write, a target
that refuses one order, two batches racing for the same new customer — each asserted by
what ended up in the Exact Globe sandbox and in the ledger.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from shopbridge.flows import orders
from shopbridge.store.ledger import Ledger, Status
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU
from tests.flows.conftest import N, P, globe_orders, mapped_batches, run_flow


def test_batched_lookups_keep_api_calls_per_order_low(env):
    summary = run_flow(env)
    assert summary["orders_created"] == N - 1
    assert summary["orders_quarantined"] == 1
    # per new order: the sales order's writes (lines + header) plus its share of the
    # batched lookups and of the new debtors; no per-order lookups
    lines = sum(len(o["lines"]) for o in globe_orders(env))
    writes_orders = lines + summary["orders_created"]
    debtor_writes = 2 * summary["customers_created"] + 2 * summary["customers_updated"]
    lookups = summary["api_calls"] - writes_orders - debtor_writes
    # 4 batches x 3 batched lookups, plus an update's account and contact look-ups
    assert lookups <= 3 * 4 + 2 * summary["customers_updated"]


def test_load_retried_after_dying_before_the_ledger_write_creates_nothing_twice(env, monkeypatch):
    mapped = mapped_batches(env)[0]
    target = env["target"]()
    looked = orders.lookup(target, env["ledger"], P, mapped)
    real_done = env["ledger"].done
    calls = {"n": 0}

    def dying_done(integration, entity, ref, **kw):
        if entity == "order":
            calls["n"] += 1
            if calls["n"] == 3:  # the third order landed in Globe, then the worker died
                raise SystemExit("worker killed")
        return real_done(integration, entity, ref, **kw)

    monkeypatch.setattr(env["ledger"], "done", dying_done)
    with pytest.raises(SystemExit):
        orders.load(target, env["ledger"], P, looked, run_id="attempt-1")
    monkeypatch.setattr(env["ledger"], "done", real_done)
    monkeypatch.setattr(Ledger, "lease", __import__("datetime").timedelta(seconds=-1))
    # Airflow retries the same task with the same input
    result = orders.load(env["target"](), env["ledger"], P, looked, run_id="attempt-2")
    refs = Counter(o["YourReference"] for o in globe_orders(env))
    assert max(refs.values()) == 1
    assert len(refs) == len(mapped["orders"]) - sum(
        1 for o in mapped["orders"] if any(l["sku"] == UNKNOWN_SKU for l in o["lines"])
    )
    # the order that landed before the crash is recognised, not created again
    assert result["orders_skipped_existing"] >= 1


def test_a_target_refusal_quarantines_that_order_and_the_batch_goes_on(env):
    mapped = mapped_batches(env)[0]
    first = mapped["orders"][0]
    refusal = {"error": {"code": "ValidationError", "message": "Warehouse 9 blocked"}}
    env["eg"].post(
        "/_sandbox/faults",
        json={
            "status": 422,
            "times": 1,
            "method": "POST",
            "path_contains": "SalesOrderHeader",
            "body": refusal,
        },
    )
    target = env["target"]("single")
    looked = orders.lookup(target, env["ledger"], P, mapped)
    result = orders.load(target, env["ledger"], P, looked, run_id="r")
    assert result["orders_quarantined"] >= 1
    reasons = {q["source_id"]: q["reason"] for q in result["quarantined"]}
    refused = [sid for sid, reason in reasons.items() if "Warehouse 9 blocked" in reason]
    assert len(refused) == 1
    assert result["orders_created"] == len(mapped["orders"]) - len(reasons)
    row = env["ledger"].get(P, "order", refused[0])
    assert row.status is Status.QUARANTINED
    # next run: the refusal is gone, the order loads once
    looked = orders.lookup(env["target"]("single"), env["ledger"], P, mapped)
    again = orders.load(env["target"]("single"), env["ledger"], P, looked, run_id="r2")
    assert again["orders_created"] == 1
    assert first["number"] in {o["YourReference"] for o in globe_orders(env)} or refused


def test_two_batches_racing_for_one_new_customer_create_one_debtor(env):
    first = mapped_batches(env, batch_size=10)[0]
    # two orders of one new customer, placed in two batches that load at the same time
    a, b = first["orders"][1], first["orders"][2]
    b = {**b, "customer": a["customer"]}
    email = a["customer"]["email"]
    counts = first["counts"]
    pair = [{"orders": [a], "counts": counts}, {"orders": [b], "counts": counts}]
    looked = [orders.lookup(env["target"](), env["ledger"], P, b) for b in pair]
    errors: list[BaseException] = []

    def load(lk: dict[str, Any], run: str) -> None:
        try:
            orders.load(env["target"](), env["ledger"], P, lk, run_id=run)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(lk, f"t{i}")) for i, lk in enumerate(looked)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    accounts = env["eg"].get("/_sandbox/accounts").json()
    assert sum(1 for a in accounts if a["Email"].lower() == email) == 1


def test_known_debtors_are_updated_only_when_their_details_differ(env):
    from shopbridge_dev.sandboxes.demo_data import generate

    data = generate("demo", n_orders=N)
    in_orders = {
        o["customer"]["email"]
        for o in data.orders
        if all(ln["product"]["sku"] != UNKNOWN_SKU for ln in o["lines"])
    }
    stale = {c["email"] for c in data.existing_debtors if c["phone"] == "+31 20 000 0000"}
    current = {c["email"] for c in data.existing_debtors} - stale
    assert in_orders & stale
    assert in_orders & current
    summary = run_flow(env)
    assert summary["customers_updated"] == len(in_orders & stale)
    phones = {a["Email"]: a["Phone"] for a in env["eg"].get("/_sandbox/accounts").json()}
    by_email = {c["email"]: c for c in data.customers}
    for email in in_orders & stale:
        assert phones[email] == by_email[email]["phone"]


def test_a_failed_batch_write_is_retried_by_the_task_without_doubles(env):
    from shopbridge.errors import RetriableError

    mapped = mapped_batches(env)[0]
    looked = orders.lookup(env["target"](), env["ledger"], P, mapped)
    # Globe commits the first changesets, then the connection drops before the answer
    env["eg"].post(
        "/_sandbox/faults",
        json={"status": 503, "times": 1, "path_contains": "$batch", "after_commit": True},
    )
    with pytest.raises(RetriableError):
        orders.load(env["target"](), env["ledger"], P, looked, run_id="run#load[0]")
    # Airflow retries the task: same owner, same input
    assert globe_orders(env), "the batch committed before its answer was lost"
    result = orders.load(env["target"](), env["ledger"], P, looked, run_id="run#load[0]")
    booked = Counter(o["YourReference"] for o in globe_orders(env))
    assert max(booked.values()) == 1
    expected = [o for o in mapped["orders"] if all(ln["sku"] != UNKNOWN_SKU for ln in o["lines"])]
    assert len(booked) == len(expected)
    # the retry found every order already in Globe by its reference, wrote none again,
    # and its report counts them as what this run did: created, once
    assert result["orders_created"] == len(expected)
    assert result["orders_skipped_existing"] == 0


def test_a_window_rereads_only_the_list_of_orders_already_synced(env):
    """The backstop window after webhooks: an order already written costs no lines call."""
    first = run_flow(env, "r1")
    assert first["orders_created"] > 0
    source = env["source"]
    before = source.counter.calls
    orders.extract(source, DEMO_START, DEMO_END, 100)
    read_all = source.counter.calls - before
    synced = orders.AlreadySynced(env["ledger"], P)
    before = source.counter.calls
    batches = orders.extract(source, DEMO_START, DEMO_END, 100, skip=synced)
    read_new = source.counter.calls - before
    left = sum(map(len, batches))
    assert synced.skipped == first["orders_created"]
    assert left == N - synced.skipped  # the quarantined one is read again
    assert read_new == read_all - synced.skipped  # one lines call saved per synced order
