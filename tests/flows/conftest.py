"""Both sandboxes in-process (TestClient), and the orders flow's steps in a plain loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopbridge.config import OrderSettings, load_integration
from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, make_auth
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.flows import orders
from shopbridge.flows.counts import summarize
from shopbridge.mapping.engine import Mapper
from shopbridge.store.ledger import Ledger
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from shopbridge_dev.sandboxes.exact_globe import app as eg_sandbox
from shopbridge_dev.sandboxes.lightspeed_ecom import app as ls_sandbox

P = "lightspeed_ecom__exact_globe"
SHIPPED = load_integration(Path(__file__).parents[2] / "include/integrations" / f"{P}.yaml")
N = 40
NO_SLEEP = RetryPolicy(sleep=lambda _s: None)


@pytest.fixture
def env(tmp_path):
    ls_app = ls_sandbox.create_app(
        seed="demo", n_orders=N, rate_limit="10000/10000/10000", per_second=10000
    )
    eg_app = eg_sandbox.create_app(seed="demo")
    ls_http, eg_http = TestClient(ls_app), TestClient(eg_app)
    source = LightspeedEcomSource(
        LightspeedEcomClient(
            "http://testserver", "nl", "demo-key", "demo-secret", http=ls_http, policy=NO_SLEEP
        )
    )

    def target(write_mode: str = "batch") -> ExactGlobeTarget:
        return ExactGlobeTarget(
            ExactGlobeClient(
                "http://testserver",
                server_name="sandbox",
                database_name="600",
                auth=make_auth("basic", "globe", "globe"),
                http=eg_http,
                policy=NO_SLEEP,
                write_mode=write_mode,
            )
        )  # type: ignore[arg-type]

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield {"source": source, "target": target, "ledger": ledger, "eg": eg_http, "ls": ls_http}
    ls_http.close()
    eg_http.close()
    ledger.close()


def mapped_batches(
    env: dict[str, Any],
    batch_size: int = 10,
    settings: OrderSettings | None = None,
    mapper: Mapper | None = None,
) -> list[dict[str, Any]]:
    raw = orders.extract(env["source"], DEMO_START, DEMO_END, batch_size)
    mapper = mapper or SHIPPED.mapper("orders")
    return [orders.validate_and_map(env["source"], b, settings, mapper, SHIPPED.rules) for b in raw]


def run_flow(
    env: dict[str, Any],
    run_id: str = "r1",
    settings: OrderSettings | None = None,
    mapper: Mapper | None = None,
) -> dict[str, Any]:
    results = []
    for mapped in mapped_batches(env, settings=settings, mapper=mapper):
        target = env["target"]()
        looked = orders.lookup(target, env["ledger"], P, mapped, settings)
        result = orders.load(target, env["ledger"], P, looked, run_id=run_id, settings=settings)
        if settings and settings.confirm_in_source:
            result["orders_confirmed_in_source"] = orders.confirm_in_source(
                env["source"],
                env["ledger"],
                P,
                [o["ref"]["id"] for o in looked["orders"]],
                dict(settings.confirm_in_source),
                run_id=run_id,
            )
        results.append(result)
    return summarize(results, keys=orders.SUMMARY_KEYS)


def globe_orders(env: dict[str, Any]) -> list[dict[str, Any]]:
    return env["eg"].get("/_sandbox/orders").json()
