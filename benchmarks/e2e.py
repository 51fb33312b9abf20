"""``./run bench e2e``: what Airflow costs on top of the flow, and what parsing 50 pairs costs.

1. **DAG vs loop.** One day of 2,000 orders (the ``bench`` seed: every customer and SKU
   already in Exact Globe) from the Lightspeed eCom sandbox to the Exact Globe sandbox,
   twice, each time with fresh sandboxes (own processes) and a fresh ledger:

   - *dag*: the real ``lightspeed_ecom__exact_globe__orders`` DAG from ``dags/`` run by
     ``dag.test()`` in a temporary, migrated AIRFLOW_HOME (SQLite metadata DB);
   - *loop*: the same ``shopbridge.runtime`` functions the tasks call (extract, then per
     batch validate_and_map → lookup → load, then report) in a plain Python loop.

   Each side runs in a fresh process of its own and first runs an empty hour untimed
   (``WARM_UP``: imports, Airflow's in-process execution API, HTTP pools), over the
   same Connections. Rate limits are *off on both sides*: the Lightspeed sandbox allows
   10^6 requests per window and 10^5 per second, and the client's own per-second cap
   (the Connection's ``max_per_second``) is 100 on both sides, so the ratio measures
   Airflow's overhead, not waiting out a vendor. Both sides must create the same number
   of orders in Globe (checked against the sandbox's own list, and against the report).

   Why ``dag.test()`` for the headline: it runs every task instance one after another in
   this one process, through Airflow's real scheduling checks, execution API and XCom
   (metadata DB), like the loop runs its batches one after another; what it leaves out
   (a process per task, the executor's polling, batches in parallel) goes both ways and
   depends on the machine. ``--standalone`` also runs the DAG under a real
   ``airflow standalone`` (LocalExecutor, parallelism 4), what a deployment does; its
   figure is the run's own start-to-end time in the metadata DB.

2. **Parse.** 50 integration files (copies of the shipped ones, each copy its own flow
   keys and Connections, as another shop's account would be) beside a copy of the
   ``dags/`` files, parsed by Airflow's own ``DagBag`` in a fresh process each time; the
   median of ``--parse-runs`` runs (the DagBag's fill, after ``import airflow``).

Figures go to stderr as they come; the last line of stdout is one JSON object:
``dag_vs_loop_ratio`` (target <= 1.5), ``dag_s``, ``loop_s``, ``orders``,
``orders_created``, ``parse_s_50_yaml`` (target < 2 s), ``dags_parsed`` and, per side,
where the time went.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from shopbridge_dev.procs import start_sandbox, stop
from shopbridge_dev.sandboxes.connections import connection_fields
from shopbridge_dev.sandboxes.demo_data import DEMO_START

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
INTEGRATIONS = ROOT / "include" / "integrations"
PAIR = "lightspeed_ecom__exact_globe"
FLOW = "orders"
DAG_ID = f"{PAIR}__{FLOW}"
SEED = "bench"
#: the bench seed's one day of orders
WINDOW = {"start": DEMO_START.isoformat(), "end": (DEMO_START + timedelta(days=1)).isoformat()}
#: an hour with no orders: each side runs it once first, untimed (Airflow's in-process
#: execution API, the connectors' imports and the pools of HTTP connections warm up)
WARM_UP = {"start": "2020-01-06T00:00:00+00:00", "end": "2020-01-06T01:00:00+00:00"}
#: the client's own per-second cap, the highest its settings allow; the same on both sides
CLIENT_PER_SECOND = 100
#: the sandbox's limits, out of reach of one benchmark run
NO_LIMITS = {"rate_limit": "1000000/1000000/1000000", "per_second": "100000"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the parent: sandboxes, Airflow home, the sides as child processes ------------------


def _airflow_env(home: Path, dags: Path = DAGS) -> dict[str, str]:
    """This benchmark's own Airflow settings; the caller's AIRFLOW_* never leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        {
            "PATH": f"{venv_bin}:{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "SHOPBRIDGE_ROOT": str(ROOT),
        }
    )
    return env


def _migrate(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        check=True,
        capture_output=True,
        env=_airflow_env(home),
        timeout=600,
    )


@contextmanager
def _sandboxes(state: Path, n_orders: int) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Fresh sandboxes as their own processes (in-memory stores: a persisted one would
    rewrite its JSON file after every write), their Connections as AIRFLOW_CONN_* and a
    fresh ledger: (environment for the side, the sandboxes' URLs)."""
    state.mkdir(parents=True, exist_ok=True)
    ls, ls_url = start_sandbox(
        "lightspeed_ecom",
        state_dir=state,
        seed=SEED,
        persist=False,
        options={"n_orders": str(n_orders), **NO_LIMITS},
    )
    try:
        eg, eg_url = start_sandbox("exact_globe", state_dir=state, seed=SEED, persist=False)
    except BaseException:
        stop(ls)
        raise
    ls_conn = connection_fields("lightspeed_ecom", ls_url)
    ls_conn["extra"] = {**ls_conn["extra"], "max_per_second": CLIENT_PER_SECOND}
    env = {
        "AIRFLOW_CONN_SHOPBRIDGE_LIGHTSPEED_ECOM": json.dumps(ls_conn),
        "AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE": json.dumps(connection_fields("exact_globe", eg_url)),
        "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{state / 'ledger.sqlite'}",
    }
    try:
        yield env, {"lightspeed_ecom": ls_url, "exact_globe": eg_url}
    finally:
        stop(eg)
        stop(ls)


def _child(side: str, env: dict[str, str], logfile: Path, *extra: str) -> dict[str, Any]:
    """Run ``side`` in a fresh process; its last stdout line is its JSON result."""
    with logfile.open("w") as err:
        out = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--side", side, *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=3600,
            check=False,
        )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = logfile.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"the {side} side exited with {out.returncode}:\n{tail}")
    return dict(json.loads(lines[-1]))


def _globe_orders(url: str) -> list[dict[str, Any]]:
    """What a user would see in Globe: the documents the sync committed."""
    return list(httpx.get(f"{url}/_sandbox/orders", timeout=60).json())


def _run_side(side: str, tmp: Path, home: Path, n_orders: int) -> dict[str, Any]:
    with _sandboxes(tmp / side, n_orders) as (env, urls):
        result = _child(side, _airflow_env(home) | env, tmp / side / "side.log")
        orders = _globe_orders(urls["exact_globe"])
    refs = {o.get("YourReference") for o in orders}
    result["target_orders"] = len(orders)
    result["target_distinct_refs"] = len(refs)
    log(
        f"  {side}: {result['seconds']:.1f} s, {result['summary'].get('orders_created')} "
        f"created, {len(orders)} orders in Globe ({len(refs)} distinct references)"
    )
    return result


def _run_standalone(tmp: Path, n_orders: int) -> dict[str, Any]:
    """The same DAG under ``airflow standalone``; the run's start-to-end in its own record."""
    from shopbridge_dev.local_airflow import LocalAirflow

    with _sandboxes(tmp / "standalone", n_orders) as (env, urls):
        airflow = LocalAirflow(home=tmp / "standalone-home", dags_folder=DAGS, extra_env=env)
        airflow.start()
        try:
            airflow.wait_for_dag(DAG_ID)
            started = time.monotonic()
            run_id = airflow.trigger(DAG_ID, WINDOW)
            airflow.unpause(DAG_ID)
            state = _wait(airflow, run_id)
            wall = time.monotonic() - started
            run = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()
            summary = airflow.xcom(DAG_ID, run_id, "report") if state == "success" else {}
            tis = airflow.task_instances(DAG_ID, run_id)
        finally:
            airflow.stop()
        orders = _globe_orders(urls["exact_globe"])
    seconds = (
        datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
    ).total_seconds()
    log(
        f"  standalone: {state}, {seconds:.1f} s (run start to end; {wall:.1f} s from "
        f"trigger), {len(orders)} orders in Globe"
    )
    return {
        "state": state,
        "seconds": seconds,
        "wall_s": wall,
        "summary": summary,
        "target_orders": len(orders),
        "tasks": _task_times((ti["task_id"], ti.get("duration") or 0.0) for ti in tis),
    }


def _wait(airflow: Any, run_id: str, timeout: float = 3600) -> str:
    """The run's final state; a slow answer from a busy API server is asked again (on
    2 cores with other work the scheduler and workers can starve it past httpx's 30 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json().get("state")
        except httpx.TimeoutException:
            continue
        if state in ("success", "failed"):
            return str(state)
        time.sleep(2)
    raise RuntimeError(f"run {run_id} did not finish in {timeout:.0f} s")


def _task_times(rows: Any) -> dict[str, dict[str, float]]:
    """task id -> how many instances ran and their summed duration (profiling aid)."""
    out: dict[str, dict[str, float]] = {}
    for task_id, duration in rows:
        entry = out.setdefault(task_id, {"n": 0, "sum_s": 0.0})
        entry["n"] += 1
        entry["sum_s"] = round(entry["sum_s"] + float(duration), 2)
    return out


def _copies(target: Path, n: int) -> int:
    """``n`` integration files made from the shipped ones, round robin. Each copy keys its
    flows ``<key>_cNN`` (``flow:`` names the kind, so the DAG ids differ) and names its
    own Connections: the file's ``id`` must stay ``<source>__<target>``, so a copy is the
    same pair for another shop, as a platform hosting 50 shops would have it."""
    target.mkdir(parents=True, exist_ok=True)
    shipped = sorted(INTEGRATIONS.glob("*.yaml"))
    for i in range(n):
        src = shipped[i % len(shipped)]
        data = yaml.safe_load(src.read_text(encoding="utf-8"))
        tag = f"c{i:02d}"
        for end in ("source", "target"):
            data[end]["conn_id"] = f"shopbridge_{data[end]['system']}_{tag}"
        data["flows"] = {
            f"{key}_{tag}": {"flow": key, **spec} if "flow" not in spec else spec
            for key, spec in data["flows"].items()
        }
        (target / f"{src.stem}__{tag}.yaml").write_text(
            yaml.safe_dump(data, sort_keys=False), encoding="utf-8"
        )
    return n


def _parse(tmp: Path, home: Path, n_files: int, runs: int) -> dict[str, Any]:
    """The DAG files of ``dags/`` copied beside ``include/integrations`` with the copies:
    they find their folder relative to themselves (``Path(__file__).parents[1]``)."""
    root = tmp / "parse"
    dags = root / "dags"
    dags.mkdir(parents=True)
    for f in DAGS.glob("*.py"):
        shutil.copy2(f, dags / f.name)
    _copies(root / "include" / "integrations", n_files)
    results = [
        _child("parse", _airflow_env(home, dags), tmp / f"parse-{i}.log", str(dags))
        for i in range(runs)
    ]
    for r in results:
        if r["import_errors"]:
            raise RuntimeError(f"parsing the copies failed: {r['import_errors']}")
    seconds = [r["seconds"] for r in results]
    log(
        f"  parse of {n_files} files: {', '.join(f'{s:.2f}' for s in seconds)} s; "
        f"{results[0]['dags']} DAGs"
    )
    return {
        "median_s": statistics.median(seconds),
        "runs_s": seconds,
        "dags": results[0]["dags"],
        "files": n_files,
        "slowest_files": results[0]["slowest_files"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--yaml-files", type=int, default=50)
    parser.add_argument("--parse-runs", type=int, default=5)
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="also run the DAG under airflow standalone (LocalExecutor)",
    )
    parser.add_argument("--side", choices=("dag", "loop", "parse"), help=argparse.SUPPRESS)
    parser.add_argument("side_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(SIDES[args.side](*args.side_args)))
        return

    with tempfile.TemporaryDirectory(prefix="shopbridge-bench-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "airflow"
        log("==> airflow db migrate (temporary AIRFLOW_HOME)")
        _migrate(home)
        log(f"==> {args.orders} orders, {PAIR}, rate limits off on both sides")
        loop = _run_side("loop", tmp, home, args.orders)
        dag = _run_side("dag", tmp, home, args.orders)
        standalone = _run_standalone(tmp, args.orders) if args.standalone else None
        log(f"==> DagBag over dags/ with {args.yaml_files} integration files")
        parse = _parse(tmp, home, args.yaml_files, args.parse_runs)

    counts = {
        loop["target_orders"],
        dag["target_orders"],
        loop["summary"].get("orders_created"),
        dag["summary"].get("orders_created"),
    }
    if dag["state"] != "success" or len(counts) != 1:
        raise SystemExit(
            f"the sides disagree: dag {dag['state']}, created/in Globe: loop "
            f"{loop['summary'].get('orders_created')}/{loop['target_orders']}, "
            f"dag {dag['summary'].get('orders_created')}/{dag['target_orders']}"
        )
    figures: dict[str, Any] = {
        "dag_vs_loop_ratio": round(dag["seconds"] / loop["seconds"], 3),
        "dag_s": round(dag["seconds"], 2),
        "loop_s": round(loop["seconds"], 2),
        # the side's own process only (not the sandboxes'): less at the mercy of other load
        "dag_vs_loop_cpu_ratio": round(dag["cpu_s"] / loop["cpu_s"], 3),
        "dag_cpu_s": round(dag["cpu_s"], 2),
        "loop_cpu_s": round(loop["cpu_s"], 2),
        "load_avg_5min": [round(loop["load_avg"], 1), round(dag["load_avg"], 1)],
        "orders": args.orders,
        "orders_created": dag["summary"]["orders_created"],
        "batches": loop["batches"],
        "parse_s_50_yaml" if args.yaml_files == 50 else "parse_s": round(parse["median_s"], 3),
        "dags_parsed": parse["dags"],
        "parse_runs_s": [round(s, 3) for s in parse["runs_s"]],
        "rate_limits": f"off on both sides (client cap {CLIENT_PER_SECOND}/s on both)",
        "loop_steps_s": loop["steps_s"],
        "xcom_bytes": loop["xcom_bytes"],
        "dag_tasks": dag["tasks"],
        "dag_parse_in_run_s": dag["parse_s"],
    }
    if standalone is not None:
        figures |= {
            "standalone_s": round(standalone["seconds"], 2),
            "standalone_vs_loop_ratio": round(standalone["seconds"] / loop["seconds"], 3),
            "standalone_orders_created": standalone["target_orders"],
            "standalone_tasks": standalone["tasks"],
        }
    for k, v in figures.items():
        log(f"  {k:<26}{v}")
    print(json.dumps(figures))


# --- the sides, each in its own process ----------------------------------------------------


def _dag_side() -> dict[str, Any]:
    """``dag.test()`` of the real DAG; timed from the call to its return."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    started = time.perf_counter()
    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[DAG_ID]
    parse_s = time.perf_counter() - started
    dag.test(run_conf=WARM_UP, logical_date=datetime.now(UTC))
    started, cpu = time.perf_counter(), time.process_time()
    dr = dag.test(run_conf=WINDOW, logical_date=datetime.now(UTC))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                run_id=dr.run_id, key="return_value", dag_ids=DAG_ID, task_ids="report"
            )
        ).first()
        summary = XComModel.deserialize_value(row) if row is not None else {}
    tis = dr.get_task_instances()
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "load_avg": os.getloadavg()[1],
        "state": str(dr.state),
        "parse_s": round(parse_s, 2),
        "summary": _short(summary),
        "tasks": _task_times((ti.task_id, ti.duration or 0.0) for ti in tis),
    }


def _loop_side() -> dict[str, Any]:
    """The tasks' runtime calls in a loop; timed from extract to report."""
    from shopbridge import runtime
    from shopbridge.config import load_integration

    cfg = load_integration(INTEGRATIONS / f"{PAIR}.yaml")
    spec = cfg.flows[FLOW]
    run_id = f"bench_loop_{datetime.now(UTC):%Y%m%dT%H%M%S}"
    steps = dict.fromkeys(("extract", "validate_and_map", "lookup", "load", "report"), 0.0)
    size = dict.fromkeys(("extract", "validate_and_map", "lookup", "load"), 0)
    warm_start, warm_end = runtime.window(
        cfg, FLOW, spec, conf=WARM_UP, interval_start=None, interval_end=None, now=datetime.now(UTC)
    )
    for batch in runtime.extract(cfg, FLOW, spec, warm_start, warm_end)["batches"]:
        runtime.validate_and_map(cfg, FLOW, spec, batch)
    kept: list[tuple[str, Any]] = []  # sized after the clock stops
    started, cpu = time.perf_counter(), time.process_time()
    t = time.perf_counter()
    start, end = runtime.window(
        cfg, FLOW, spec, conf=WINDOW, interval_start=None, interval_end=None, now=datetime.now(UTC)
    )
    extracted = runtime.extract(cfg, FLOW, spec, start, end)
    steps["extract"] += time.perf_counter() - t
    results = []
    for i, batch in enumerate(extracted["batches"]):
        t = time.perf_counter()
        mapped = runtime.validate_and_map(cfg, FLOW, spec, batch)
        steps["validate_and_map"] += time.perf_counter() - t
        t = time.perf_counter()
        looked = runtime.lookup(cfg, FLOW, spec, mapped)
        steps["lookup"] += time.perf_counter() - t
        t = time.perf_counter()
        results.append(runtime.load(cfg, FLOW, spec, looked, run_id=f"{run_id}#load[{i}]"))
        steps["load"] += time.perf_counter() - t
        kept += [
            ("extract", batch),
            ("validate_and_map", mapped),
            ("lookup", looked),
            ("load", results[-1]),
        ]
    t = time.perf_counter()
    summary = runtime.report(
        cfg,
        FLOW,
        spec,
        api_calls=extracted["api_calls"],
        window=extracted["window"],
        results=results,
        skipped_existing=extracted.get("skipped_existing", 0),
        run_id=run_id,
    )
    steps["report"] += time.perf_counter() - t
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    for key, value in kept:
        size[key] += len(json.dumps(value, default=str))
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "load_avg": os.getloadavg()[1],
        "summary": _short(summary),
        "batches": len(extracted["batches"]),
        "steps_s": {k: round(v, 2) for k, v in steps.items()},
        "xcom_bytes": size,
    }


def _parse_side(dags: str) -> dict[str, Any]:
    """One DagBag fill over ``dags`` in this fresh process, after Airflow's own import."""
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=dags)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "dags": len(bag.dags),
        "import_errors": bag.import_errors,
        "slowest_files": {
            Path(s.file).name: round(s.duration.total_seconds(), 3) for s in bag.dagbag_stats[:3]
        },
    }


def _short(summary: dict[str, Any]) -> dict[str, Any]:
    """The report without the per-record quarantine list (ids and reasons only anyway)."""
    return {k: v for k, v in summary.items() if k != "quarantined"}


SIDES: dict[str, Any] = {"dag": _dag_side, "loop": _loop_side, "parse": _parse_side}


if __name__ == "__main__":
    main()
