"""``./run demo``: the first pair end to end on a local Airflow 3, against both sandboxes.

Steps, each printed as it happens: validate the integration file, start the Lightspeed
eCom and Exact Globe sandboxes (seeded with a demo shop, state kept in ``.demo/`` so a
second run meets what the first one wrote), test both connections, start
``airflow standalone`` with ``AIRFLOW_HOME=.airflow``, store the Airflow Connections,
trigger each flow's DAG in turn (products first, so the items orders need exist; orders
for the demo week), wait for each, and print every run's summary and the UI address with
its login. Without ``--once`` Airflow keeps running until Ctrl-C.

Every expected failure ends in one line saying what is wrong and where (exit 2), never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shopbridge.config import IntegrationConfig, load_integration
from shopbridge.errors import ConfigError, ShopbridgeError
from shopbridge.runtime import SUMMARY_KEYS
from shopbridge_dev.local_airflow import LocalAirflow
from shopbridge_dev.sandboxes.connections import connection_fields
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START

DEFAULT_PAIR = "lightspeed_ecom__exact_globe"
SUMMARY_ORDER = (
    "orders_read",
    "orders_created",
    "orders_skipped_existing",
    "orders_skipped_status",
    "orders_quarantined",
    "countries_defaulted",
    "customers_created",
    "customers_updated",
    "api_calls",
)
#: the order flows run in: the catalogue before the orders that need its items
KIND_ORDER = ("products", "customers", "orders", "stock", "shipments", "checkouts")
#: how far back the catalogue, customer and stock windows reach: a demo shop's catalogue
#: and customer base were made months before its week of orders
LOOKBACK = timedelta(days=365)

#: sandbox options of the demo: five flows run back to back against one Lightspeed eCom key,
#: ~700 requests in two minutes, and the vendor's 300 per 5 minutes would have the demo
#: wait out the window; the budget is raised tenfold here (connector tests and
#: ``./run bench rate-limit`` keep the real limits and check the clients pace themselves)
SANDBOX_OPTIONS: dict[str, dict[str, str]] = {
    # and its 20 a second fivefold: an orders window reads each order's lines, one call each
    "lightspeed_ecom": {"rate_limit": "3000/30000/120000", "per_second": "100"},
    # Lightspeed Retail drains 1 drip a second and a write costs 10: a demo catalogue would
    # take ten minutes; the bucket drains 50 a second here (the client reads the drip rate
    # from the response headers and paces itself to it)
    "lightspeed_retail": {"drip_rate": "50"},
    # CCV allows 120 requests a minute per resource: the demo's 240 orders, one POST each,
    # spread over parallel load tasks that each pace only themselves, met 429s and waited
    # a minute; tenfold here, and the client paces to it (DEMO_EXTRA)
    "ccv_salespos": {"limit_per_resource": "1200", "limit_total": "6000"},
}
#: Connection extras that match the raised limits above (the client paces to its extra)
DEMO_EXTRA: dict[str, dict[str, Any]] = {
    "ccv_salespos": {"rate_limit_per_resource": 1200, "rate_limit_total": 6000},
    # AccountView documents no limit and the client keeps to a polite 10 a second: the
    # demo's customers took half a minute; its sandbox sets no limit at all
    "accountview": {"max_per_second": 100},
    "lightspeed_ecom": {"max_per_second": 100},
}


def demo_connection_fields(system: str, url: str) -> dict[str, Any]:
    """The Connection of a sandbox started with :data:`SANDBOX_OPTIONS`."""
    fields = connection_fields(system, url)
    return {**fields, "extra": {**fields["extra"], **DEMO_EXTRA.get(system, {})}}


class DemoError(ShopbridgeError):
    """A demo step failed; the message says which and why."""


def step(msg: str) -> None:
    print(f"==> {msg}", file=sys.stderr, flush=True)


def _root() -> Path:
    return Path(os.environ.get("SHOPBRIDGE_ROOT") or Path.cwd()).resolve()


def _connection_fields(system: str, url: str) -> dict[str, Any]:
    """The Airflow REST API takes host and port apart."""
    host, _, port = url.removeprefix("http://").partition(":")
    return {**demo_connection_fields(system, url), "host": f"http://{host}", "port": int(port)}


def _test_connections(cfg: IntegrationConfig, urls: dict[str, str]) -> None:
    """Test each connection in-process, the way the UI's "Test" button would."""
    from shopbridge.connectors.registry import hook_for

    for end in (cfg.source, cfg.target):
        fields = _connection_fields(end.system, urls[end.system])
        os.environ[f"AIRFLOW_CONN_{end.connection_id.upper()}"] = json.dumps(fields)
        ok, msg = hook_for(end.system, end.connection_id).test_connection()
        if not ok:
            raise DemoError(f"connection {end.connection_id} ({end.system}): {msg}")
        step(f"connection {end.connection_id}: {msg}")


def _print_summary(
    summary: dict[str, Any], *, dag_id: str, run_id: str, keys: tuple[str, ...] = SUMMARY_ORDER
) -> None:
    print(f"\nRun {run_id} of {dag_id}, window {' .. '.join(summary.get('window', []))}")
    for key in keys:
        print(f"  {key:<26}{summary.get(key, 0):>8}")
    for q in summary.get("quarantined", []):
        print(f"  quarantined {q['entity']} {q['source_id']}: {q['field']}: {q['reason']}")


def run(args: argparse.Namespace) -> int:
    from shopbridge_dev.procs import start_sandbox, stop

    root = _root()
    path = root / "include" / "integrations" / f"{args.pair}.yaml"
    step(f"checking {path.relative_to(root)}")
    if not path.exists():
        raise DemoError(f"no integration file {path}")
    cfg = load_integration(path)
    # SHOPBRIDGE_DEMO_DIR lets tests keep their demo state apart from a developer's
    base = Path(os.environ.get("SHOPBRIDGE_DEMO_DIR") or root)
    state_dir, home = base / ".demo", base / ".airflow"
    state_dir.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    # one ledger for this process (the connection tests) and Airflow's workers: it also
    # keeps rotating OAuth tokens (Lightspeed Retail), and a token refreshed by the
    # connection test must be the one the workers continue from
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault(
        "SHOPBRIDGE_LEDGER_URL", f"sqlite:///{home.resolve() / 'shopbridge_ledger.sqlite'}"
    )
    airflow = LocalAirflow(home=home, dags_folder=root / "dags")
    try:
        urls: dict[str, str] = {}
        for end in (cfg.source, cfg.target):
            step(f"starting the {end.system} sandbox (state in {state_dir})")
            proc, urls[end.system] = start_sandbox(
                end.system, state_dir=state_dir, options=SANDBOX_OPTIONS.get(end.system)
            )
            procs.append(proc)
            step(f"{end.system} sandbox at {urls[end.system]}")
        step("testing connections")
        _test_connections(cfg, urls)
        step(
            f"starting airflow standalone (AIRFLOW_HOME={home}, "
            f"port {airflow.port}); first start migrates the database"
        )
        airflow.start()
        out = present(airflow, cfg, urls, root)
        if not args.once:
            print("Airflow keeps running; press Ctrl-C to stop.", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            try:
                while airflow.proc is not None and airflow.proc.poll() is None:
                    time.sleep(1)
            except KeyboardInterrupt:
                print("\nstopping", file=sys.stderr)
        if args.json:
            print(json.dumps(out))
        return 0
    finally:
        step("stopping airflow and the sandboxes")
        airflow.stop()
        for proc in procs:
            stop(proc)


def present(
    airflow: LocalAirflow, cfg: IntegrationConfig, urls: dict[str, str], root: Path
) -> dict[str, Any]:
    """What the demo shows once the sandboxes and Airflow are up: the Connections stored,
    the pools, each flow's run and summary, the webhooks (for the webhook pair) and the UI
    address. Returns the summary ``--json`` prints.

    Apart from :func:`run` so the tests can show every further pair on one shared Airflow
    (``tests/stage.py``) instead of starting one per pair.
    """
    since = datetime.now(UTC)
    for end in (cfg.source, cfg.target):
        airflow.put_connection(
            end.connection_id, **_connection_fields(end.system, urls[end.system])
        )
    step(
        "connections stored in Airflow: "
        + ", ".join(e.connection_id for e in (cfg.source, cfg.target))
    )
    _show_pools(airflow, root)
    flows = _demo_flows(cfg)
    runs = {flow: _run_flow(airflow, cfg, flow, since) for flow in flows}
    webhook = _show_webhooks(airflow, cfg, urls, root)
    print(f"\nAirflow UI: {airflow.url}  (login: admin / {airflow.password()})")
    for flow in flows:
        print(f"  DAG: {airflow.url}/dags/{runs[flow]['dag_id']}")
    main_flow = runs.get("orders") or next(iter(runs.values()))
    out = {k: main_flow.get(k, 0) for k in SUMMARY_ORDER}
    out |= {
        "dag_id": main_flow["dag_id"],
        "run_id": main_flow["run_id"],
        "state": main_flow["state"],
        "quarantined": main_flow.get("quarantined", []),
        "ui": airflow.url,
        "flows": runs,
    }
    if webhook:
        out["webhook"] = webhook
    return out


def _show_pools(airflow: Any, root: Path) -> None:
    """Sync the target accounts' pools again now that the Connections exist (one may ask
    for more slots) and say which there are: lookups and loads wait for a slot there."""
    from shopbridge.airflow import pools

    synced = pools.sync_config_dir(pools.RestApi(airflow.api), root / "include" / "integrations")
    step(
        "pools, one per target account (Admin → Pools): "
        + ", ".join(f"{p.name}={p.slots}" for p in synced)
    )


def _show_webhooks(
    airflow: Any, cfg: IntegrationConfig, urls: dict[str, str], root: Path
) -> dict[str, Any] | None:
    """For the webhook pair: register the webhooks, place three orders in the shop, and
    show them reach the hub through the plugin and an asset-triggered run."""
    from shopbridge_dev import webhook_drill

    if cfg.id != webhook_drill.PAIR:
        return None
    shop = cfg.source
    live = webhook_drill.LivePair(
        shop=urls["lightspeed_ecom"],
        hub=urls["buckles"],
        airflow=airflow,
        # `webhooks register` reads the shop's Connection from its environment
        env={
            f"AIRFLOW_CONN_{shop.connection_id.upper()}": json.dumps(
                demo_connection_fields(shop.system, urls[shop.system])
            )
        },
        root=root,
    )
    for line in live.register_webhooks().splitlines():
        if "webhook" in line:
            step(line.strip())
    started = time.time()
    created = live.burst(3)
    step(f"placed orders {', '.join(created)} in the shop; waiting for their webhooks")
    arrived = live.wait_for_orders(set(created), timeout=300)
    runs = [r["dag_run_id"] for r in live.runs() if r.get("run_type") == "asset_triggered"]
    seconds = round(max(arrived.values()) - started, 1)
    print(
        f"\nWebhooks: {len(created)} new orders reached buckles {seconds}s after they were "
        f"placed, in run(s) {', '.join(runs[-3:])}"
    )
    return {"orders": sorted(created), "seconds": seconds, "runs": runs}


def _demo_flows(cfg: IntegrationConfig) -> list[str]:
    """The enabled flows, the catalogue first, a kind's reverse direction after it."""
    enabled = [k for k, spec in cfg.flows.items() if spec.enabled]
    return sorted(
        enabled,
        key=lambda k: (KIND_ORDER.index(cfg.kind(k)), cfg.flows[k].direction != "source_to_target"),
    )


def _combine(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one flow as one summary: counts added, each refusal listed once."""
    total: dict[str, Any] = {}
    seen: set[tuple[str, ...]] = set()
    quarantined: list[dict[str, str]] = []
    for summary in summaries:
        for key, value in summary.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
        for q in summary.get("quarantined", []):
            if (k := (q["entity"], q["source_id"], q["field"])) not in seen:
                seen.add(k)
                quarantined.append(q)
    total["quarantined"] = quarantined
    total["window"] = summaries[-1].get("window", []) if summaries else []
    return total


def _run_flow(airflow: Any, cfg: IntegrationConfig, flow: str, since: datetime) -> dict[str, Any]:
    """Trigger one flow's DAG for the demo window, wait, print and return its summary.

    Unpausing a DAG also lets its schedule start the latest interval's run, which may run
    before the demo's own (for stock, whose reads ignore the window, it does the writing):
    the summary covers every run of the DAG this demo started, so nothing it did is hidden.
    """
    dag_id = cfg.dag_id(flow)
    kind = cfg.kind(flow)
    step(f"waiting for DAG {dag_id} to be parsed")
    airflow.wait_for_dag(dag_id)
    if kind == "orders":
        conf = {"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat()}
    else:
        # the catalogue, customers and stock of a demo shop were made before and up to now
        conf = {
            "start": (DEMO_START - LOOKBACK).isoformat(),
            "end": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    run_id = airflow.trigger(dag_id, conf)
    airflow.unpause(dag_id)
    step(f"triggered {run_id} for {conf['start']} .. {conf['end']}; waiting")
    state = airflow.wait_for_run(dag_id, run_id)
    ours = [
        r
        for r in airflow.runs(dag_id)
        if r.get("run_type") == "scheduled"
        and r.get("queued_at")
        and datetime.fromisoformat(r["queued_at"]) >= since
    ]
    run_ids = [r["dag_run_id"] for r in ours] + [run_id]
    states = {
        rid: (state if rid == run_id else airflow.wait_for_run(dag_id, rid)) for rid in run_ids
    }
    for rid, st in states.items():
        if st != "success":
            problems = airflow.failures(dag_id, rid) or ["(no failed task found)"]
            raise DemoError(f"run {rid} of {dag_id} {st}:\n  " + "\n  ".join(problems))
    summary = _combine([airflow.xcom(dag_id, rid, "report") for rid in run_ids])
    keys = SUMMARY_ORDER if kind == "orders" else tuple(SUMMARY_KEYS[kind])
    label = run_id if len(run_ids) == 1 else f"{run_id} (+ scheduled {', '.join(run_ids[:-1])})"
    _print_summary(summary, dag_id=dag_id, run_id=label, keys=keys)
    return {**summary, "dag_id": dag_id, "run_id": run_id, "runs": run_ids, "state": state}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./run demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--once", action="store_true", help="stop everything and exit after the summary"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object on the last line"
    )
    parser.add_argument("--pair", default=DEFAULT_PAIR, help="integration file to run")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ConfigError, DemoError) as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 2
    except ShopbridgeError as err:
        print(f"demo failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
