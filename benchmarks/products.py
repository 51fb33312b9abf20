"""``./run bench products``: 5,000 products with 3 variants each through the products flow.

Both sandboxes run as their own processes (as the vendors would), the Lightspeed one
seeded with the ``bench-products`` catalogue (5,000 configurable products, 3 variants and
an image each), the Exact Globe one empty. Each batch of 500 runs in its own Python process
— validate_and_map, lookup and load, as one Airflow worker would run the batch's mapped
tasks — so its peak RSS is that of a batch task. Figures (last line, one JSON object):

- ``products_per_s_map``: translate + map + build items, on one core;
- ``api_writes_second_run``: writes to Exact Globe when the same catalogue runs again
  (target 0: the ledger's content hashes make an unchanged product free);
- ``api_calls_per_unchanged_product``: all API calls of the second run's lookup and load,
  per product (target 0);
- ``peak_rss_mb``: the largest peak RSS of a batch-of-500 process (target < 250 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
PAIR = ROOT / "include" / "integrations" / "lightspeed_ecom__exact_globe.yaml"
FLOW = "products"
BATCH = 500
N_PRODUCTS = 5000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _clients(urls: dict[str, str]) -> tuple[Any, Any]:
    from shopbridge.connectors.exact_globe.client import ExactGlobeClient, make_auth
    from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
    from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
    from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource

    source = LightspeedEcomSource(
        LightspeedEcomClient(
            urls["lightspeed_ecom"], "nl", "demo-key", "demo-secret", max_per_second=5000
        )
    )
    target = ExactGlobeTarget(
        ExactGlobeClient(
            urls["exact_globe"],
            server_name="sandbox",
            database_name="600",
            auth=make_auth("basic", "globe", "globe"),
        )
    )
    return source, target


def batch_task(batch_file: Path, urls: dict[str, str], run_id: str) -> None:
    """One batch as a worker runs it: map, look up, load; prints its counts and timings."""
    from shopbridge.config import load_integration
    from shopbridge.flows import products
    from shopbridge.store.ledger import Ledger

    cfg = load_integration(PAIR)
    spec = cfg.flows[FLOW]
    batch = json.loads(batch_file.read_text())
    source, target = _clients(urls)
    t0 = time.perf_counter()
    mapped = products.validate_and_map(source, batch, spec.products, cfg.mapper(FLOW))
    map_s = time.perf_counter() - t0
    with closing(source), closing(target), closing(Ledger()) as ledger:
        looked = products.lookup(target, ledger, cfg.scope(FLOW), mapped, spec.products)
        result = products.load(
            target,
            ledger,
            cfg.scope(FLOW),
            looked,
            run_id=run_id,
            settings=spec.products,
            source=source,
        )
    print(json.dumps({**result, "map_s": map_s}))


def run(
    batches: list[Path], urls: dict[str, str], run_id: str, env: dict[str, str]
) -> dict[str, Any]:
    """Every batch in its own process; sums and the largest peak RSS."""
    totals: dict[str, Any] = {"map_s": 0.0, "peak_rss_mb": 0.0}
    for n, path in enumerate(batches):
        args = [
            sys.executable,
            __file__,
            "--task",
            str(path),
            "--urls",
            json.dumps(urls),
            "--run-id",
            f"{run_id}#{n}",
        ]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)  # noqa: S603
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"batch {n} failed ({proc.returncode})")
        result = json.loads(out.decode().strip().splitlines()[-1])
        totals["peak_rss_mb"] = max(totals["peak_rss_mb"], usage.ru_maxrss / 1024)
        for key, value in result.items():
            if isinstance(value, int | float):
                totals[key] = totals.get(key, 0) + value
    return totals


def main() -> None:
    from shopbridge.flows import products
    from shopbridge_dev.procs import start_sandbox, stop

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        env = {**os.environ, "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{tmp / 'ledger.sqlite'}"}
        procs = []
        try:
            ls, ls_url = start_sandbox(
                "lightspeed_ecom",
                state_dir=tmp,
                seed="bench-products",
                persist=False,
                options={"rate_limit": "10000000/10000000/10000000", "per_second": "100000"},
            )
            procs.append(ls)
            eg, eg_url = start_sandbox("exact_globe", state_dir=tmp, seed="none", persist=False)
            procs.append(eg)
            urls = {"lightspeed_ecom": ls_url, "exact_globe": eg_url}
            source, _ = _clients(urls)
            log(f"==> extracting the catalogue from {ls_url}")
            t0 = time.perf_counter()
            with closing(source):
                raw = products.extract(
                    source, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC), BATCH
                )
            extract_s = time.perf_counter() - t0
            files = []
            for n, batch in enumerate(raw):
                path = tmp / f"batch-{n}.json"
                path.write_text(json.dumps(batch))
                files.append(path)
            n_products = sum(len(b) for b in raw)
            log(f"==> first run: {n_products} products in {len(files)} batches of {BATCH}")
            first = run(files, urls, "bench-1", env)
            writes = _writes(eg_url)
            log(f"==> second run: {first.get('products_created', 0)} created before")
            second = run(files, urls, "bench-2", env)
            second_writes = _writes(eg_url) - writes
        finally:
            for proc in procs:
                stop(proc)
    figures = {
        "products": n_products,
        "variants_per_product": 3,
        "extract_s": round(extract_s, 1),
        "products_per_s_map": round(first["products_read"] / first["map_s"], 1),
        "products_created": first.get("products_created", 0),
        "products_quarantined": first.get("products_quarantined", 0),
        "items_created": first.get("items_created", 0),
        "images_uploaded": first.get("images_uploaded", 0),
        "api_calls_first_run": first.get("api_calls", 0),
        "api_writes_second_run": second_writes,
        "api_calls_per_unchanged_product": round(second.get("api_calls", 0) / n_products, 3),
        "products_unchanged_second_run": second.get("products_unchanged", 0),
        "peak_rss_mb": round(max(first["peak_rss_mb"], second["peak_rss_mb"]), 1),
    }
    for k, v in figures.items():
        log(f"  {k:<32}{v}")
    print(json.dumps(figures))


def _writes(url: str) -> int:
    import httpx

    return int(httpx.get(f"{url}/_sandbox/stats", timeout=30).json()["writes"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="./run bench products")
    parser.add_argument("--task", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", default="bench", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.task:
        batch_task(args.task, json.loads(args.urls), args.run_id)
    else:
        main()
