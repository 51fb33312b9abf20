"""The orders DAG of a pair whose file has a ``notify:`` section, run with ``dag.test()``
against both sandboxes: the demo shop's unknown-SKU order reaches the webhook sink as a
quarantine notification, and a run refused by the ERP reaches the mailbox as a failure.

The DAG is built from the shipped pair file plus a ``notify:`` section (the shipped files
notify nobody); ``dag.test()`` runs its tasks, callbacks included, in this process.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from shopbridge.config import IntegrationConfig, parse_integration
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU, generate
from tests.dags.helpers import sandbox_pair
from tests.notify.sinks import (
    body_text,
    free_port,
    http_sink,
    smtp_connection,
    smtp_sink,
    webhook_connection,
)

pytestmark = pytest.mark.slow

PAIR = Path(__file__).parents[2] / "include/integrations/lightspeed_ecom__exact_globe.yaml"
INTEGRATION = "lightspeed_ecom__exact_globe"
N_ORDERS = 12
WEEK = {"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat()}
NOTIFY = [
    {"channel": "webhook", "connection": "ops_hook", "on": ["quarantine"]},
    {"channel": "email", "connection": "ops_smtp", "to": ["ops@example.com"], "on": ["failure"]},
    # a channel whose sink is down: logged, and the run's own result stands
    {"channel": "webhook", "connection": "down_hook"},
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, airflow_db):
    with (
        sandbox_pair(tmp_path_factory.mktemp("sandboxes"), n_orders=N_ORDERS) as urls,
        http_sink() as hook,
        smtp_sink() as mailbox,
    ):
        env = {
            "AIRFLOW_CONN_OPS_HOOK": webhook_connection(hook.url),
            "AIRFLOW_CONN_OPS_SMTP": smtp_connection(mailbox.port),
            "AIRFLOW_CONN_DOWN_HOOK": webhook_connection(f"http://127.0.0.1:{free_port()}"),
        }
        os.environ.update(env)
        try:
            yield {"urls": urls, "hook": hook, "mailbox": mailbox}
        finally:
            for key in env:
                os.environ.pop(key, None)


def config() -> IntegrationConfig:
    data = yaml.safe_load(PAIR.read_text(encoding="utf-8"))
    return parse_integration(PAIR, {**data, "notify": NOTIFY})


def run(cfg: IntegrationConfig) -> tuple[str, str]:
    from shopbridge.airflow.dag_factory import build_flow_dag

    dag = build_flow_dag(cfg, "orders", cfg.flows["orders"])
    dr = dag.test(run_conf=WEEK, logical_date=datetime.now(UTC))
    return str(dr.state), str(dr.run_id)


def test_the_unknown_sku_order_is_notified_with_its_reason(world):
    data = generate("demo", n_orders=N_ORDERS)
    (bad,) = [
        o for o in data.orders if any(line["product"]["sku"] == UNKNOWN_SKU for line in o["lines"])
    ]
    state, run_id = run(config())
    assert state == "success"  # the dead channel changed nothing
    (req,) = world["hook"].requests
    body = req.json()
    assert body["event"] == "quarantine"
    assert body["integration"] == INTEGRATION
    assert body["dag_id"] == f"{INTEGRATION}__orders"
    assert body["run_id"] == run_id
    assert body["count"] == 1
    (record,) = body["records"]
    assert record["entity"] == "order"
    assert record["source_id"] == str(bad["order_id"])
    assert record["field"].endswith(".sku")
    assert UNKNOWN_SKU in record["reason"]
    assert f"order {bad['order_id']}" in body["text"]
    # nothing failed, so the failure mailbox stayed empty
    assert world["mailbox"].messages == []


def test_a_run_the_erp_refuses_is_mailed_naming_the_task_and_error(world, monkeypatch):
    wrong = json.loads(os.environ["AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE"])
    wrong["password"] = "not-the-password"
    monkeypatch.setenv("AIRFLOW_CONN_SHOPBRIDGE_EXACT_GLOBE", json.dumps(wrong))
    hook_before = len(world["hook"].requests)
    state, run_id = run(config())
    assert state == "failed"
    (msg,) = world["mailbox"].messages  # one batch, one failed task, one message
    assert msg["To"] == "ops@example.com"
    assert msg["Subject"] == f"[shopbridge] {INTEGRATION} orders: run failed in lookup"
    body = body_text(msg)
    assert f"Integration: {INTEGRATION}" in body
    assert f"Run: {run_id}" in body
    assert "Failed task: lookup (batch 0)" in body
    assert (
        "AuthError: connection &#x27;shopbridge_exact_globe&#x27; (exact_globe) was refused" in body
    )
    # the quarantine webhook hears nothing of failures (on: [quarantine])
    assert len(world["hook"].requests) == hook_before
