"""``./run bench orders``: one day of 2,000 orders through the orders flow.

Both sandboxes run in-process (Starlette's TestClient), seeded with the ``bench`` profile:
2,000 orders in one day, 30 % from repeat customers, up to 10 SKUs each, every customer
and product already known to Exact Globe. The flow's own step functions run over
batches, as the DAG's mapped tasks would. Figures (last line, one JSON object):

- ``orders_per_s_map``: validate + map throughput on one core (translate, settings, mapping);
- ``api_calls_per_new_order``: lookup + load calls per created order;
- ``naive_api_calls_per_order``: what one lookup per order, per customer and per SKU,
  then the writes, would cost;
- ``second_run_writes``: writes to Exact Globe when the same window runs again (target 0).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from fastapi.testclient import TestClient  # noqa: E402

from shopbridge.config import load_integration  # noqa: E402
from shopbridge.connectors._kit.http import RetryPolicy  # noqa: E402
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, make_auth  # noqa: E402
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget  # noqa: E402
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient  # noqa: E402
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource  # noqa: E402
from shopbridge.flows import orders  # noqa: E402
from shopbridge.store.ledger import Ledger  # noqa: E402
from shopbridge_dev.sandboxes.demo_data import DEMO_START, generate  # noqa: E402
from shopbridge_dev.sandboxes.exact_globe import app as eg_sandbox  # noqa: E402
from shopbridge_dev.sandboxes.lightspeed_ecom import app as ls_sandbox  # noqa: E402

ROOT = Path(__file__).parents[1]
PAIR = ROOT / "include" / "integrations" / "lightspeed_ecom__exact_globe.yaml"
INTEGRATION = "lightspeed_ecom__exact_globe"
BATCH = 100


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(
    ledger: Ledger,
    source: LightspeedEcomSource,
    make_target: Any,
    eg: TestClient,
    settings: Any,
    mapper: Any,
    run_id: str,
) -> dict[str, Any]:
    start, end = DEMO_START, DEMO_START + timedelta(days=1)
    raw = orders.extract(source, start, end, BATCH)
    t0 = time.perf_counter()
    mapped = [orders.validate_and_map(source, batch, settings, mapper) for batch in raw]
    map_s = time.perf_counter() - t0
    writes_before = eg.get("/_sandbox/stats").json()["writes"]
    load_calls = 0
    results = []
    for m in mapped:
        target = make_target()
        looked = orders.lookup(target, ledger, INTEGRATION, m, settings)
        results.append(
            orders.load(target, ledger, INTEGRATION, looked, run_id=run_id, settings=settings)
        )
        load_calls += target.counter.calls
    summary = orders.summarize(results)
    summary.update(
        map_s=map_s,
        load_calls=load_calls,
        writes=eg.get("/_sandbox/stats").json()["writes"] - writes_before,
    )
    return summary


def main() -> None:
    cfg = load_integration(PAIR)
    settings, mapper = cfg.flows["orders"].orders, cfg.mapper("orders")
    data = generate("bench")
    no_sleep = RetryPolicy(sleep=lambda _s: None)
    ls_app = ls_sandbox.create_app(
        seed="bench",
        n_orders=len(data.orders),
        rate_limit="1000000/1000000/1000000",
        per_second=100000,
    )
    eg_app = eg_sandbox.create_app(seed="bench")
    with TestClient(ls_app) as ls, TestClient(eg_app) as eg, tempfile.TemporaryDirectory() as tmp:
        source = LightspeedEcomSource(
            LightspeedEcomClient(
                "http://testserver",
                "nl",
                "demo-key",
                "demo-secret",
                http=ls,
                policy=no_sleep,
                max_per_second=100,
            )
        )

        def make_target() -> ExactGlobeTarget:
            return ExactGlobeTarget(
                ExactGlobeClient(
                    "http://testserver",
                    server_name="sandbox",
                    database_name="600",
                    auth=make_auth("basic", "globe", "globe"),
                    http=eg,
                    policy=no_sleep,
                )
            )

        ledger = Ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite'}")
        log(f"==> first run over {len(data.orders)} orders")
        first = run(ledger, source, make_target, eg, settings, mapper, "bench-1")
        log(f"==> second run over the same window: {first['orders_created']} created before")
        second = run(ledger, source, make_target, eg, settings, mapper, "bench-2")
        ledger.close()

    created = max(first["orders_created"], 1)
    lines = sum(len(o["lines"]) for o in data.orders)
    n = len(data.orders)
    # naive: per order one order lookup, one customer lookup, one lookup per SKU, then
    # one write per line and one for the header
    naive = (n + n + lines + lines + n) / n
    figures = {
        "orders": n,
        "orders_created": first["orders_created"],
        "orders_quarantined": first["orders_quarantined"],
        "orders_per_s_map": round(first["orders_read"] / first["map_s"], 1),
        "api_calls_per_new_order": round(first["load_calls"] / created, 3),
        "naive_api_calls_per_order": round(naive, 3),
        "avg_lines_per_order": round(lines / n, 2),
        "second_run_writes": second["writes"],
        "second_run_created": second["orders_created"],
    }
    for k, v in figures.items():
        log(f"  {k:<28}{v}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
