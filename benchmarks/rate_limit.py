"""``./run bench rate-limit``: each vendor with a published limit, written to for 60 s.

Each sandbox runs as its own process with the vendor's limit, and the connector's own client
(built by its Airflow hook from a Connection, as a task builds it) writes as fast as it
lets itself. Figures per system (last line, one JSON object keyed by system):

- ``writes_per_s``: achieved writes per second;
- ``bound_per_s``: what the limit allows over the same run;
- ``fraction_of_limit``: the two divided (target >= 0.9);
- ``rejected_429``: 429s the sandbox answered (the client should avoid them);
- ``unhandled_429``: writes that failed with a rate-limit error after the client's own
  retries (target 0).

The limits, and how the bound is computed:

- Fortnox: 25 requests per 5 s sliding window: bound 5 requests/s.
- Lightspeed Retail: a leaky bucket of 90 drips draining 1/s; a write costs 10 drips (and
  a nested relation 0.5 more): bound ``(90 + 1 * T) / cost`` writes in ``T`` seconds.
- Lightspeed eCom: 300 requests per 5 min (also 3,000/h, 12,000/day) in fixed windows.
  A 60-s run would only measure the first window's burst, so its windows are scaled 25x
  shorter (60 per 12 s, 600 per 2 min, 2,400 per 8 min): the same shape, five windows in
  the run; bound ``60 / 12 s`` = 5 requests/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).parents[1]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _sustain(write: Callable[[int], None], seconds: float) -> tuple[int, int, float]:
    """Write until ``seconds`` passed: (writes done, writes refused by a 429, elapsed)."""
    from shopbridge.errors import RetriableError

    done = unhandled = 0
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        n += 1
        try:
            write(n)
        except RetriableError as err:
            if err.response is not None and err.response.status_code == 429:
                unhandled += 1
                continue
            raise
        done += 1
    return done, unhandled, time.monotonic() - t0


def _stats(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/_sandbox/stats", timeout=30).json())


def bench_fortnox(url: str, seconds: float) -> dict[str, Any]:
    from shopbridge.connectors.fortnox.hook import FortnoxHook

    client = FortnoxHook("shopbridge_fortnox").get_client()
    open_orders = [
        o
        for o in httpx.get(f"{url}/_sandbox/orders", timeout=30).json()["orders"]
        if not o.get("Cancelled") and str(o.get("InvoiceReference")) in ("", "0")
    ]
    number = str(open_orders[0]["DocumentNumber"])

    def write(n: int) -> None:
        client.update_order(number, {"YourOrderNumber": f"BENCH-{n}"})

    done, unhandled, elapsed = _sustain(write, seconds)
    client.close()
    return {
        "writes": done,
        "elapsed_s": elapsed,
        "bound_per_s": 25 / 5.0,
        "unhandled_429": unhandled,
    }


def bench_lightspeed_retail(url: str, seconds: float) -> dict[str, Any]:
    from shopbridge.connectors.lightspeed_retail.hook import LightspeedRetailHook

    client = LightspeedRetailHook("shopbridge_lightspeed_retail").get_client()
    item = httpx.get(f"{url}/_sandbox/items", timeout=30).json()[0]
    item_id = item["itemID"]
    cost = client.costs.cost("PUT", "Item", body={"description": "x"})

    def write(n: int) -> None:
        client.update("Item", item_id, {"description": f"Bench item {n}"})

    done, unhandled, elapsed = _sustain(write, seconds)
    client.close()
    return {
        "writes": done,
        "elapsed_s": elapsed,
        "write_cost": cost,
        "bound_per_s": (90 + 1.0 * elapsed) / cost / elapsed,
        "unhandled_429": unhandled,
    }


def bench_lightspeed_ecom(url: str, seconds: float) -> dict[str, Any]:
    from shopbridge.connectors.lightspeed_ecom.hook import LightspeedEcomHook

    client = LightspeedEcomHook("shopbridge_lightspeed_ecom").get_client()

    def write(n: int) -> None:
        client.update_variant(9001, {"stockLevel": 10 + n % 7})

    done, unhandled, elapsed = _sustain(write, seconds)
    client.close()
    return {
        "writes": done,
        "elapsed_s": elapsed,
        "bound_per_s": 60 / 12.0,
        "unhandled_429": unhandled,
    }


#: system -> (sandbox options, the benchmark)
SYSTEMS: dict[str, tuple[dict[str, str], Callable[[str, float], dict[str, Any]]]] = {
    "fortnox": ({}, bench_fortnox),
    "lightspeed_retail": ({}, bench_lightspeed_retail),
    "lightspeed_ecom": (
        {"rate_limit": "60/600/2400", "windows_s": "12/120/480", "n_orders": "10"},
        bench_lightspeed_ecom,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="./run bench rate-limit")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=sorted(SYSTEMS), action="append")
    args = parser.parse_args()
    from shopbridge_dev.procs import start_sandbox, stop
    from shopbridge_dev.sandboxes.connections import connection_fields

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        os.environ["SHOPBRIDGE_LEDGER_URL"] = f"sqlite:///{tmp / 'ledger.sqlite'}"
        os.environ.setdefault("AIRFLOW_HOME", str(tmp / "airflow"))
        for system in args.only or sorted(SYSTEMS):
            options, bench = SYSTEMS[system]
            proc, url = start_sandbox(system, state_dir=tmp, options=options, persist=False)
            os.environ[f"AIRFLOW_CONN_SHOPBRIDGE_{system.upper()}"] = json.dumps(
                connection_fields(system, url)
            )
            try:
                log(f"==> {system}: writing for {args.seconds:.0f} s against {url}")
                figures = bench(url, args.seconds)
                stats = _stats(url)
            finally:
                stop(proc)
            rate = figures["writes"] / figures["elapsed_s"]
            results[system] = {
                "writes": figures["writes"],
                "writes_per_s": round(rate, 3),
                "bound_per_s": round(figures["bound_per_s"], 3),
                "fraction_of_limit": round(rate / figures["bound_per_s"], 3),
                "rejected_429": stats.get("rejected_429", 0),
                "unhandled_429": figures["unhandled_429"],
            }
            log(f"    {results[system]}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
