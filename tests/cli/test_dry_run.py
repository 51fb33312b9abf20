"""``shopbridge dry-run``: what a window would do, printed per record, with nothing written.

Against both sandboxes as processes: first on an empty target (creates, and the order with
the unknown SKU as a quarantine), then after the window really ran (everything a skip with
its target id). Each time the target's records, its write counter and every ledger table
are compared before and after.
"""

from __future__ import annotations

import csv
import json
import os
from contextlib import closing

import pytest

from shopbridge import runtime
from shopbridge.config import load_integration
from shopbridge.store.ledger import Ledger
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU, generate
from tests.cli.helpers import PAIR, ROOT, ledger_state, sandbox, shopbridge, table_rows
from tests.dags.helpers import sandbox_pair

pytestmark = pytest.mark.slow

N_ORDERS = 6
DAG_ID = f"{PAIR}__orders"
WINDOW = ("--start", DEMO_START.isoformat(), "--end", DEMO_END.isoformat())


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    with sandbox_pair(tmp_path_factory.mktemp("dry_run"), n_orders=N_ORDERS) as urls:
        yield urls


def target_state(url: str) -> tuple:
    return (
        sandbox(url, "stats")["writes"],
        sandbox(url, "orders"),
        sandbox(url, "accounts"),
        sandbox(url, "items"),
    )


def dry_run(*args: str):
    out = shopbridge("dry-run", DAG_ID, *args)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ENTITY  RECORD ID  ACTION"), out.stdout + out.stderr
    return out.stdout, table_rows(out.stdout)


def orders():
    data = generate("demo", n_orders=N_ORDERS)
    bad = next(
        o for o in data.orders if any(line["product"]["sku"] == UNKNOWN_SKU for line in o["lines"])
    )
    return data, str(bad["order_id"])


def test_a_fresh_window_would_create_every_order_but_the_unknown_sku(urls):
    data, bad = orders()
    before, ledger_before = target_state(urls["exact_globe"]), ledger_state()
    stdout, rows = dry_run(*WINDOW)
    assert target_state(urls["exact_globe"]) == before
    assert ledger_state() == ledger_before
    by_id = {r["RECORD ID"]: r for r in rows}
    assert set(by_id) == {str(o["order_id"]) for o in data.orders}
    assert by_id[bad]["ACTION"] == "quarantine"
    assert by_id[bad]["DETAIL"].startswith("lines[")
    assert UNKNOWN_SKU in by_id[bad]["DETAIL"]
    assert {r["ACTION"] for i, r in by_id.items() if i != bad} == {"create"}
    assert all(r["ENTITY"] == "order" for r in rows)
    assert "totals: 5 create, 0 update, 0 skip, 1 quarantine" in stdout
    # ids only: no customer's name or e-mail address in what it prints
    for o in data.orders:
        assert not o["customer"]["email"] or o["customer"]["email"] not in stdout
        assert o["customer"]["last_name"] not in stdout


def test_the_plan_saved_as_csv_holds_the_printed_rows_and_the_window(urls, tmp_path):
    out_file = tmp_path / "plan.csv"
    before = target_state(urls["exact_globe"])
    stdout, rows = dry_run(*WINDOW, "--csv", str(out_file))
    assert target_state(urls["exact_globe"]) == before
    with out_file.open(newline="", encoding="utf-8") as fh:
        saved = list(csv.DictReader(fh))
    assert f"plan written to {out_file} ({len(rows)} rows)" in stdout
    assert [(r["entity"], r["record_id"], r["action"], r["detail"]) for r in saved] == [
        (r["ENTITY"], r["RECORD ID"], r["ACTION"], r["DETAIL"]) for r in rows
    ]
    assert {r["dag_id"] for r in saved} == {DAG_ID}
    assert {(r["window_start"][:19], r["window_end"][:19]) for r in saved} == {
        (WINDOW[1][:19], WINDOW[3][:19])
    }


def test_after_the_window_ran_everything_is_a_skip_and_still_nothing_is_written(urls):
    cfg = load_integration(ROOT / "include" / "integrations" / f"{PAIR}.yaml")
    spec = cfg.flows["orders"]
    extracted = runtime.extract(cfg, "orders", spec, DEMO_START, DEMO_END)
    results = [
        runtime.load(
            cfg,
            "orders",
            spec,
            runtime.lookup(cfg, "orders", spec, runtime.validate_and_map(cfg, "orders", spec, b)),
            run_id=f"test#load[{i}]",
        )
        for i, b in enumerate(extracted["batches"])
    ]
    runtime.report(cfg, "orders", spec, api_calls=0, window=extracted["window"], results=results)
    assert len(sandbox(urls["exact_globe"], "orders")) == N_ORDERS - 1
    _, bad = orders()
    before, ledger_before = target_state(urls["exact_globe"]), ledger_state()
    with closing(Ledger()) as ledger:
        synced = {
            ref: row.target_ref
            for ref, row in ledger.get_many(
                PAIR, "order", [str(30001 + i) for i in range(N_ORDERS)]
            ).items()
            if row.target_ref
        }
    stdout, rows = dry_run()  # no window given: from where the last run ended, like a task
    assert target_state(urls["exact_globe"]) == before
    assert ledger_state() == ledger_before
    assert rows == [], stdout  # nothing changed since that window ended
    stdout, rows = dry_run(*WINDOW)
    assert target_state(urls["exact_globe"]) == before
    assert ledger_state() == ledger_before
    by_id = {r["RECORD ID"]: r for r in rows}
    assert by_id.pop(bad)["ACTION"] == "quarantine"
    assert {i: r["ACTION"] for i, r in by_id.items()} == dict.fromkeys(synced, "skip")
    assert all(r["DETAIL"] == f"already synced as {synced[i]}" for i, r in by_id.items())
    assert "totals: 0 create, 0 update, 5 skip, 1 quarantine" in stdout


def test_unknown_dag_id_names_the_known_ones():
    out = shopbridge("dry-run", "nope__orders")
    assert out.returncode == 2
    assert "no flow builds DAG 'nope__orders'" in out.stderr
    assert DAG_ID in out.stderr


def test_a_refused_credential_names_the_connection(urls):
    bad = json.loads(os.environ["AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE"])
    bad["password"] = "wrong"
    writes = sandbox(urls["exact_globe"], "stats")["writes"]
    out = shopbridge(
        "dry-run", DAG_ID, *WINDOW, env={"AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE": json.dumps(bad)}
    )
    assert out.returncode == 2
    assert "shopbridge_exact_globe" in out.stderr
    assert "Traceback" not in out.stderr
    assert sandbox(urls["exact_globe"], "stats")["writes"] == writes
