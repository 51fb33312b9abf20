"""An order another attempt still holds a claim on is not reported as synced.

The case the fault drill (``tests/drills/test_target_faults.py``) met: a run whose load
failed for good leaves its claims pending; re-run at once, the new run met them within
the ledger's lease and counted them as "skipped, existing" although nothing had written
them, reported success and moved the window past them. Now the load writes the rest and
then fails retriably, so Airflow retries it until the claim is done or stale.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from shopbridge.errors import RetriableError
from shopbridge.flows import orders
from shopbridge.store.ledger import Ledger, Status
from shopbridge_dev.sandboxes.demo_data import UNKNOWN_SKU
from tests.flows.conftest import P, globe_orders, mapped_batches


def test_a_claim_of_a_failed_run_fails_the_load_retriably_until_it_is_stale(env, monkeypatch):
    mapped = mapped_batches(env)[0]
    order = next(o for o in mapped["orders"] if all(l["sku"] != UNKNOWN_SKU for l in o["lines"]))
    held = order["ref"]["id"]
    # the failed run's attempt claimed this order and died before writing it
    env["ledger"].claim(P, "order", held, "failed-run#load[0]")
    looked = orders.lookup(env["target"](), env["ledger"], P, mapped)

    with pytest.raises(RetriableError, match=held):
        orders.load(env["target"](), env["ledger"], P, looked, run_id="re-run#load[0]")
    # the rest of the batch was written; the held one is neither written nor "done"
    landed = Counter(o["YourReference"] for o in globe_orders(env))
    assert order["number"] not in landed
    assert env["ledger"].get(P, "order", held).status is Status.PENDING
    assert landed and max(landed.values()) == 1

    # once the claim is stale, the task's retry writes it, and counts the rest once
    monkeypatch.setattr(Ledger, "lease", timedelta(seconds=-1))
    result = orders.load(env["target"](), env["ledger"], P, looked, run_id="re-run#load[0]")
    landed_after = Counter(o["YourReference"] for o in globe_orders(env))
    assert landed_after[order["number"]] == 1
    assert max(landed_after.values()) == 1
    assert env["ledger"].get(P, "order", held).status is Status.DONE
    assert result["orders_created"] == len(landed_after)
