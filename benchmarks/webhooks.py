"""``./run bench webhooks``: the webhook path, measured end to end on this machine.

Lightspeed's sandbox, Buckles' sandbox and ``airflow standalone`` with the shopbridge plugin
run locally with the shipped defaults (the pair's YAML, ``max_active_runs=1``, LocalExecutor
at parallelism 4). Two phases:

1. **Latency**: a burst of ``--orders`` (300) orders is created in the shop; the sandbox
   delivers each as a signed webhook to the plugin; the figure per order is from its
   delivery (the sandbox's delivery log) to the moment it exists in Buckles (the hub's
   ``created_at``). Reported: ``latency_p50_s``, ``latency_p95_s`` (target p95 < 60 s),
   ``latency_max_s``, and ``runs`` (how many DAG runs the burst became).
2. **Throughput**: ``--deliveries`` (1,000) signed deliveries posted by 8 concurrent
   senders straight at ``/shopbridge/webhooks/...``; ``deliveries_per_s`` is how many the
   endpoint accepted (signature checked, stored, announced) per second.

Last line: one JSON object with those figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shopbridge.connectors.lightspeed_ecom.webhooks import SIGNATURE_HEADER, signature
from shopbridge_dev.webhook_drill import AUTH, PAIR, live_pair


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _delivered_at(deliveries: dict[str, Any]) -> dict[str, float]:
    """order id -> its first successful delivery (epoch seconds)."""
    out: dict[str, float] = {}
    for d in deliveries["deliveries"]:
        if d.get("status") == 202 and d.get("order_id") is not None:
            ts = datetime.fromisoformat(d["at"]).timestamp()
            key = str(d["order_id"])
            out[key] = min(out.get(key, ts), ts)
    return out


def _numbers(shop: str) -> dict[str, str]:
    """order number -> order id, for every order in the shop."""
    out: dict[str, str] = {}
    with httpx.Client(base_url=shop, auth=AUTH, timeout=30) as client:
        page = 1
        while batch := client.get("/nl/orders.json", params={"limit": 250, "page": page}).json()[
            "orders"
        ]:
            out |= {o["number"]: str(o["id"]) for o in batch}
            page += 1
    return out


def _throughput(url: str, template: dict[str, Any], n: int) -> float:
    bodies = []
    for i in range(n):
        body = json.dumps({"order": {**template, "id": 900_000 + i, "number": f"TP{i}"}}).encode()
        bodies.append((body, signature(body, AUTH[1])))
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=8)) as client:

        def send(item: tuple[bytes, str]) -> int:
            return client.post(
                url,
                content=item[0],
                headers={SIGNATURE_HEADER: item[1], "Content-Type": "application/json"},
            ).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(send, bodies))
        elapsed = time.perf_counter() - started
    accepted = sum(c == 202 for c in codes)
    if accepted != n:
        log(f"throughput: only {accepted} of {n} accepted ({sorted(set(codes))})")
    return accepted / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=1000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="shopbridge-bench-webhooks-") as tmp,
        live_pair(Path(tmp)) as live,
    ):
        log(live.register_webhooks().strip())
        log(f"burst of {args.orders} orders ...")
        created = live.burst(args.orders)
        arrived = live.wait_for_orders(set(created), timeout=900)
        delivered = _delivered_at(live.deliveries())
        ids = _numbers(live.shop)
        latencies = [arrived[ref] - delivered.get(ids[ref], created[ref]) for ref in created]
        hub = [str(o.get("channel_order_id")) for o in live.hub_orders()]
        runs = [r for r in live.runs() if "asset" in str(r.get("run_type"))]
        log(
            f"{len(created)} orders in the hub in {len(runs)} webhook runs; "
            f"doubles: {len(hub) - len(set(hub))}"
        )
        with httpx.Client(base_url=live.shop, timeout=30) as shop:
            order = shop.get("/nl/orders.json", params={"limit": 1}, auth=AUTH).json()
            template = order["orders"][0]
            lines = shop.get(f"/nl/orders/{template['id']}/products.json", auth=AUTH).json()
        template = {**template, "products": {"resource": {"embedded": lines["orderProducts"]}}}
        url = f"{live.airflow.url}/shopbridge/webhooks/{PAIR}/lightspeed_ecom"
        per_s = _throughput(url, template, args.deliveries)
    print(
        json.dumps(
            {
                "deliveries_per_s": round(per_s, 1),
                "latency_p50_s": round(statistics.median(latencies), 2),
                "latency_p95_s": round(_pct(latencies, 0.95), 2),
                "latency_max_s": round(max(latencies), 2),
                "orders": len(created),
                "runs": len(runs),
                "orders_written_twice": len(hub) - len(set(hub)),
            }
        )
    )


if __name__ == "__main__":
    main()
