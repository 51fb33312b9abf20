"""Drill: 429 storms, 5xx bursts and timeouts in every orders target while the DAG runs.

Each orders target's sandbox gets a queue of faults (``POST /_sandbox/faults``) before the
pair's real orders DAG runs through ``dag.test()``, with the ledger on a real PostgreSQL
server: a 429 storm with ``Retry-After``, 5xx bursts and read timeouts on the lookups, 5xx
bursts and timeouts on the creating POST, and the dangerous ones, where the write commits
but the client sees a 500 or times out (``after_commit``). The client's own retries handle
what they may; what they must not retry (a creating POST) fails the task, and Airflow's
task retries, or a re-run of the DAG, take it from there, as they would in production.

What must hold afterwards, compared between the source sandbox, the target sandbox and
the ledger: every source order the settings select is in the target exactly once (counted
by our reference in the target's own state) and done once in the ledger, a quarantined one
is quarantined and not in the target, and the last run's report adds up.

To keep timeouts cheap, the clients' read timeouts are shortened in this process (the
tasks run in it under ``dag.test()``); the sandbox holds the faulty answer longer.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from tests.dags.helpers import run_dag, sandbox_pair

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
#: the clients' read timeout during the drill, and how long a "timeout" fault holds on
CLIENT_TIMEOUT_S = 1.5
HOLD_S = 3.0
#: DAG runs allowed before the drill gives up (each run's tasks also retry on their own)
MAX_RUNS = 4
N_ORDERS = 20


def _refs(rows: list[dict[str, Any]], field: str) -> list[str]:
    return [str(r[field]).strip() for r in rows if str(r.get(field) or "").strip()]


def _get(url: str, path: str, **kw: Any) -> Any:
    resp = httpx.get(f"{url}{path}", timeout=30, **kw)
    resp.raise_for_status()
    return resp.json()


def _ecom_refs(url: str) -> list[str]:
    """Our references in the webshop's orders' comments, every page (the checkout flow
    writes ``shopbridge ref <reference>`` on the comment's first line)."""
    from shopbridge.connectors.lightspeed_ecom.target import reference_from_comment

    out: list[str] = []
    page = 1
    while True:
        rows = _get(
            url,
            "/nl/orders.json",
            params={"page": page, "limit": 250, "fields": "id,comment"},
            auth=("demo-key", "demo-secret"),
        )["orders"]
        out += [ref for r in rows if (ref := reference_from_comment(r.get("comment")))]
        if len(rows) < 250:
            return out
        page += 1


@dataclass(frozen=True)
class Drill:
    """One orders target: the pair and flow that write to it, where its creating writes
    and its lookups go, and how to read back what it holds."""

    pair: str
    flow: str
    #: path fragments of the creating POST and of the lookups the flow makes
    write: str
    read: str
    references: Callable[[str], list[str]]
    window_end: datetime = DEMO_END
    #: Connection extras of the target for the drill
    extra: dict[str, Any] = field(default_factory=dict)


DRILLS: dict[str, Drill] = {
    "exact_globe": Drill(
        "lightspeed_ecom__exact_globe",
        "orders",
        write="$batch",
        read="SalesOrderHeader",
        references=lambda url: _refs(_get(url, "/_sandbox/orders"), "YourReference"),
        # five orders a $batch: enough writes to meet every write fault
        extra={"batch_size": 5},
    ),
    "accountview": Drill(
        "lightspeed_ecom__accountview",
        "orders",
        write="accountviewdata",
        read="accountviewdata",
        references=lambda url: _refs(_get(url, "/_sandbox/sales_orders"), "COMMENT1"),
    ),
    "lightspeed_retail": Drill(
        "fortnox__lightspeed_retail",
        "orders",
        write="/Sale.json",
        read="/Sale.json",
        references=lambda url: _refs(_get(url, "/_sandbox/sales"), "referenceNumber"),
    ),
    "ccv_salespos": Drill(
        "lightspeed_ecom__ccv_salespos",
        "orders",
        write="/orders",
        read="/orders",
        references=lambda url: _refs(_get(url, "/_sandbox/orders"), "reservationnumber"),
    ),
    "buckles": Drill(
        "lightspeed_ecom__buckles",
        "orders",
        write="/orders",
        read="/orders",
        references=lambda url: _refs(_get(url, "/_sandbox/state")["orders"], "channel_order_id"),
    ),
    "lightspeed_ecom": Drill(
        "lightspeed_ecom__exact_globe",
        "erp_orders",
        write="/order.json",
        read="/orders.json",
        references=_ecom_refs,
        window_end=datetime.now(UTC) + timedelta(hours=1),
    ),
}


def faults(d: Drill) -> list[dict[str, Any]]:
    """The mix every target gets. Faults are served in this order to the requests they
    match, so within each kind (any request, lookups, creating writes) the ones every run
    must meet come first; the last two only meet a target that writes often enough
    (one ``$batch`` carries all of Exact Globe's orders)."""
    return [
        # a storm on whatever comes first (lookups, tokens): the vendor says when to return
        {"status": 429, "retry_after": 0.3, "times": 4},
        # lookups: a 5xx burst, then one that never answers in time; both are retried
        {"status": 503, "times": 2, "method": "GET", "path_contains": d.read},
        {"status": 504, "delay_s": HOLD_S, "method": "GET", "path_contains": d.read},
        # the creating write: committed, but the client sees a 500, then a timeout (the
        # dangerous case) ...
        {"status": 500, "after_commit": True, "method": "POST", "path_contains": d.write},
        {
            "status": 504,
            "after_commit": True,
            "delay_s": HOLD_S,
            "method": "POST",
            "path_contains": d.write,
        },
        # ... refused with 5xx twice, nothing committed, then a timeout before writing
        {"status": 502, "times": 2, "method": "POST", "path_contains": d.write},
        {"status": 504, "delay_s": HOLD_S, "method": "POST", "path_contains": d.write},
    ]


#: how many of :func:`faults` (from the start of the list) every target must meet
MUST_MEET = 5


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every target client's read timeout at :data:`CLIENT_TIMEOUT_S` in this process."""
    from shopbridge.connectors._kit.client import JsonClient
    from shopbridge.connectors.accountview import client as av
    from shopbridge.connectors.exact_globe import client as eg
    from shopbridge.connectors.lightspeed_retail import client as lr

    short = httpx.Timeout(CLIENT_TIMEOUT_S, connect=3.0)
    monkeypatch.setattr(JsonClient, "timeout", short)  # Buckles', CCV's, Lightspeed eCom's
    for module in (av, eg, lr):
        monkeypatch.setattr(module, "DEFAULT_TIMEOUT", short)
    monkeypatch.setattr(eg, "BATCH_TIMEOUT", short)


@pytest.fixture
def quick_task_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The YAML's task retries, half a second apart instead of 30 s (the DAGs are parsed in
    this process, by ``dag.test()`` too)."""
    from shopbridge import config
    from shopbridge.airflow import dag_factory

    def load(path: Path) -> Any:
        cfg = config.load_integration(path)
        flows = {k: v.model_copy(update={"retry_delay_s": 0.5}) for k, v in cfg.flows.items()}
        return cfg.model_copy(update={"flows": flows})

    monkeypatch.setattr(dag_factory, "load_integration", load)


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pending ledger claim counts as an attempt that died after 3 s instead of 5 min, so
    a re-run right after a failed run takes the failed run's claims over in seconds."""
    from shopbridge.store.ledger import Ledger

    monkeypatch.setattr(Ledger, "lease", timedelta(seconds=3))


@pytest.fixture
def drill_env(
    request: Any,
    tmp_path: Path,
    airflow_db: Any,
    pg_url: str,
    short_timeouts: None,
    quick_task_retries: None,
    short_lease: None,
) -> Iterator[tuple[str, Drill, Any, dict[str, str]]]:
    from shopbridge.config import load_integration
    from shopbridge_dev.demo import SANDBOX_OPTIONS
    from shopbridge_dev.sandboxes.connections import connection_fields

    target: str = request.param
    d = DRILLS[target]
    cfg = load_integration(ROOT / "include" / "integrations" / f"{d.pair}.yaml")
    systems = (cfg.source.system, cfg.target.system)
    options = {
        **SANDBOX_OPTIONS,
        "lightspeed_ecom": {**SANDBOX_OPTIONS["lightspeed_ecom"], "n_orders": str(N_ORDERS)},
    }
    with sandbox_pair(tmp_path, n_orders=N_ORDERS, systems=systems, options=options) as urls:
        os.environ["SHOPBRIDGE_LEDGER_URL"] = pg_url  # sandbox_pair restores it on exit
        if d.extra:
            fields = connection_fields(target, urls[target])
            os.environ[f"AIRFLOW_CONN_SHOPBRIDGE_{target.upper()}"] = json.dumps(
                {**fields, "extra": {**fields["extra"], **d.extra}}
            )
        yield target, d, cfg, urls


def _source_records(cfg: Any, flow: str, start: datetime, end: datetime) -> list[dict]:
    from shopbridge.connectors.registry import hook_for

    end_ = cfg.ends(flow)[0]
    with closing(hook_for(end_.system, end_.connection_id).get_source()) as source:
        return list(source.iter_order_records(start, end))


def _expected(
    cfg: Any, flow: str, records: list[dict]
) -> tuple[dict[str, str], set[str], set[str]]:
    """What a fault-free run would do with each record, by the flow's own rules:
    (source id -> reference of those to load, ids quarantined on translation, ids the
    status settings leave out)."""
    from shopbridge.errors import RecordError
    from shopbridge.flows.orders import reference
    from shopbridge.flows.prepare import prepare
    from shopbridge.tools.tryout import offline_source

    # the demo shop's currency (Lightspeed orders carry none; a run reads the shop's)
    to_order = offline_source(cfg.ends(flow)[0].system, currency="EUR").to_order
    mapper = cfg.mapper(flow)
    load: dict[str, str] = {}
    bad: set[str] = set()
    left_out: set[str] = set()
    for record in records:
        try:
            prepared = prepare(to_order, record, cfg.flows[flow].orders, mapper, cfg.rules)
        except RecordError as err:
            bad.add(err.source_id)
            continue
        if prepared is None:
            left_out.add(to_order(record).ref.id)
            continue
        order = prepared[0]
        load[order.ref.id] = reference(order)
    return load, bad, left_out


#: how a transient failure shows in an error text: it must never be a quarantine reason
TRANSIENT = re.compile(r"-> (429|5\d\d)\b|Timeout|timed out", re.IGNORECASE)


@pytest.mark.parametrize("drill_env", sorted(DRILLS), indirect=True)
def test_faults_in_the_target_lose_nothing_and_write_nothing_twice(drill_env: Any) -> None:
    from shopbridge.store.ledger import Ledger, Status

    target, d, cfg, urls = drill_env
    url = urls[target]
    window = {"start": DEMO_START.isoformat(), "end": d.window_end.isoformat()}
    for fault in faults(d):
        httpx.post(f"{url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()

    runs: list[tuple[str, dict]] = []
    while len(runs) < MAX_RUNS:
        runs.append(run_dag(window, dag_id=cfg.dag_id(d.flow)))
        if runs[-1][0] == "success":
            break
    state, summary = runs[-1]
    stats = httpx.get(f"{url}/_sandbox/stats", timeout=10).json()
    print(f"\n{target}: {len(runs)} run(s) ({[s for s, _ in runs]}), stats {stats}")
    assert state == "success", (target, [s for s, _ in runs])
    # the drill tested what it says: the storm, the lookup faults and both committed-but-
    # failed writes were served (what is left queued is from the optional tail)
    left = httpx.get(f"{url}/_sandbox/faults", timeout=10).json()
    assert len(left) <= len(faults(d)) - MUST_MEET, left
    assert all(f["method"] == "POST" and not f["after_commit"] for f in left), left
    assert stats["faults_served"] >= sum(f.get("times", 1) for f in faults(d)[:MUST_MEET])

    records = _source_records(cfg, d.flow, DEMO_START, d.window_end)
    load, bad, left_out = _expected(cfg, d.flow, records)
    assert load, "the drill needs orders to load"
    in_target = Counter(d.references(url))
    scope = cfg.scope(d.flow)
    with closing(Ledger()) as ledger:
        rows = ledger.get_many(scope, "order", [*load, *bad, *left_out])

    # 0 written twice: no reference more than once in the target
    twice = {ref: n for ref, n in in_target.items() if n > 1}
    assert not twice, (target, twice)
    # 0 lost: each order to load is in the target once, done once in the ledger, under
    # its own target id; or set aside for a reason that is not a transient failure
    done = {sid: row for sid, row in rows.items() if row.status is Status.DONE}
    for sid, ref in load.items():
        row = rows.get(sid)
        assert row is not None, (target, sid, "no ledger row: lost")
        if row.status is Status.QUARANTINED:
            assert in_target[ref] == 0, (target, sid, "quarantined but in the target")
            assert not TRANSIENT.search(row.reason or ""), (target, sid, row.reason)
        else:
            assert row.status is Status.DONE and row.target_ref, (target, sid, row)
            assert in_target[ref] == 1, (target, sid, ref, in_target[ref])
    assert len({row.target_ref for row in done.values()}) == len(done)
    # nothing the settings leave out, or that cannot be translated, reached the target
    assert not set(in_target) - set(load.values()), set(in_target) - set(load.values())
    # the last run's report adds up, and agrees with the ledger
    quarantined = {q["source_id"] for q in summary["quarantined"]}
    assert bad <= quarantined, (bad, quarantined)
    assert summary["orders_read"] == len(records), summary
    assert summary["orders_read"] == (
        summary["orders_created"]
        + summary["orders_skipped_existing"]
        + summary["orders_skipped_status"]
        + summary["orders_skipped_mirrored"]
        + summary["orders_quarantined"]
    ), summary
    assert summary["orders_skipped_status"] == len(left_out), summary
    assert summary["orders_created"] + summary["orders_skipped_existing"] == len(done), (
        summary,
        len(done),
    )
    assert len(done) + summary["orders_quarantined"] - len(bad) == len(load), summary
    print(json.dumps({k: v for k, v in summary.items() if k != "quarantined"}))
