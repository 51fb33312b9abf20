"""Each channel delivers to a local sink what a person on call needs: the integration, the
run, and the records with their reasons (or the failed task and its error line)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

# imported before any test: the HTTP provider it uses imports Airflow core, which sets up
# logging and would otherwise drop caplog's handler in the middle of the first test using it
import shopbridge.airflow.json_notifier  # noqa: F401
from shopbridge.airflow import notify
from shopbridge.config import IntegrationConfig, parse_integration
from tests.notify.sinks import (
    body_text,
    free_port,
    http_sink,
    slack_connection,
    smtp_connection,
    smtp_sink,
    webhook_connection,
)

PAIR = Path(__file__).parents[2] / "include/integrations/lightspeed_ecom__exact_globe.yaml"
RUN = "manual__2026-11-23T10:00:00+00:00"


def config(*channels: dict) -> IntegrationConfig:
    data = yaml.safe_load(PAIR.read_text(encoding="utf-8"))
    return parse_integration(PAIR, {**data, "notify": list(channels)})


def entry(i: int, reason: str = "unknown SKU 'DISC-0001' in Exact Globe") -> dict[str, str]:
    return {
        "entity": "order",
        "source_id": str(1000 + i),
        "field": "lines[1].sku",
        "reason": reason,
    }


def batches(n: int) -> list[dict]:
    """Load results as the report task gets them: the quarantines spread over batches."""
    entries = [entry(i) for i in range(n)]
    return [
        {"orders_created": 3, "quarantined": entries[: n // 2]},
        {"orders_created": 4, "quarantined": entries[n // 2 :]},
    ]


@pytest.fixture(autouse=True)
def own_ledger(tmp_path, monkeypatch):
    """Each test its own ledger database: the once-per-run claims live there, and these
    tests reuse one run id."""
    monkeypatch.setenv("SHOPBRIDGE_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")


@pytest.fixture
def sink():
    with http_sink() as s:
        yield s


@pytest.fixture
def mailbox():
    with smtp_sink() as s:
        yield s


def test_webhook_gets_the_run_and_the_records_as_json_capped(sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url, token="s3cret"))
    cfg = config({"channel": "webhook", "connection": "ops_hook"})
    assert notify.quarantined(cfg, "orders", batches(25), {"run_id": RUN}) == 1
    (req,) = sink.wait(1)
    assert req.path == "/hooks/shopbridge"
    assert req.headers["Authorization"] == "Bearer s3cret"
    body = req.json()
    assert body["event"] == "quarantine"
    assert body["integration"] == "lightspeed_ecom__exact_globe"
    assert body["dag_id"] == "lightspeed_ecom__exact_globe__orders"
    assert body["run_id"] == RUN
    assert body["count"] == 25
    assert [r["source_id"] for r in body["records"]] == [str(1000 + i) for i in range(20)]
    assert body["records"][0] == entry(0)
    assert body["more"] == 5
    assert "and 5 more" in body["text"]
    assert "1019" in body["text"] and "1020" not in body["text"]


def test_slack_message_names_integration_record_and_reason(sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_SLACK", slack_connection(sink.url))
    cfg = config({"channel": "slack", "connection": "ops_slack", "max_records": 3})
    notify.quarantined(
        cfg, "orders", [{"quarantined": [entry(7, "price <0> & gone")]}], {"run_id": RUN}
    )
    (req,) = sink.wait(1)
    assert req.path == "/services/T000/B000/XXXX"
    text = req.json()["text"]
    assert "lightspeed_ecom__exact_globe" in text
    assert "order 1007: lines[1].sku: price &lt;0&gt; &amp; gone" in text
    assert RUN in text


def test_email_reaches_the_recipients_with_records_and_reasons(mailbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_SMTP", smtp_connection(mailbox.port))
    cfg = config(
        {
            "channel": "email",
            "connection": "ops_smtp",
            "to": ["ops@example.com", "shop@example.com"],
        }
    )
    assert notify.quarantined(cfg, "orders", batches(2), {"run_id": RUN}) == 1
    (msg,) = mailbox.messages
    assert mailbox.envelopes == [
        ("shopbridge@example.com", ["ops@example.com", "shop@example.com"])
    ]
    assert msg["Subject"] == (
        "[shopbridge] lightspeed_ecom__exact_globe orders: 2 records quarantined"
    )
    body = body_text(msg)
    assert "Integration: lightspeed_ecom__exact_globe" in body
    assert "order 1001: lines[1].sku: unknown SKU &#x27;DISC-0001&#x27; in Exact Globe" in body


def test_vendor_text_is_sent_as_written_never_run_as_a_template(mailbox, sink, monkeypatch):
    """A reason quotes the vendor's value; as a Jinja template it could read connections."""
    monkeypatch.setenv("AIRFLOW_CONN_OPS_SMTP", smtp_connection(mailbox.port))
    monkeypatch.setenv("AIRFLOW_CONN_OPS_SLACK", slack_connection(sink.url))
    cfg = config(
        {"channel": "email", "connection": "ops_smtp", "to": ["ops@example.com"]},
        {"channel": "slack", "connection": "ops_slack"},
    )
    reason = "bad SKU {{ conn.ops_slack.password }}"
    assert (
        notify.quarantined(cfg, "orders", [{"quarantined": [entry(1, reason)]}], {"run_id": RUN})
        == 2
    )
    assert "{{ conn.ops_slack.password }}" in body_text(mailbox.messages[0])
    text = sink.wait(1)[0].json()["text"]
    assert "{{ conn.ops_slack.password }}" in text
    assert "XXXX" not in text


def test_failure_names_the_task_batch_and_error_line(sink, mailbox, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url))
    monkeypatch.setenv("AIRFLOW_CONN_OPS_SMTP", smtp_connection(mailbox.port))
    cfg = config(
        {"channel": "webhook", "connection": "ops_hook"},
        {"channel": "email", "connection": "ops_smtp", "to": ["ops@example.com"]},
    )
    (callback,) = notify.failure_callbacks(cfg, "orders")
    ti = SimpleNamespace(task_id="load", map_index=2, log_url="http://airflow/log")
    error = AirflowFailException(
        "AuthError: connection 'shopbridge_exact_globe' was refused\nresponse body: {...}"
    )
    callback({"run_id": RUN, "ti": ti, "exception": error})
    body = sink.wait(1)[0].json()
    assert body["event"] == "failure"
    assert body["integration"] == "lightspeed_ecom__exact_globe"
    assert body["task"] == "load"
    assert body["map_index"] == 2
    assert body["error"] == "AuthError: connection 'shopbridge_exact_globe' was refused"
    assert body["log_url"] == "http://airflow/log"
    (msg,) = mailbox.messages
    assert msg["Subject"] == (
        "[shopbridge] lightspeed_ecom__exact_globe orders: run failed in load"
    )
    assert "Failed task: load (batch 2)" in body_text(msg)


def test_channels_hear_only_their_events(sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url))
    only_failures = config({"channel": "webhook", "connection": "ops_hook", "on": ["failure"]})
    assert notify.quarantined(only_failures, "orders", batches(3), {"run_id": RUN}) == 0
    only_quarantine = config({"channel": "webhook", "connection": "ops_hook", "on": ["quarantine"]})
    assert notify.failure_callbacks(only_quarantine, "orders") == []
    # a run without quarantined records sends nothing either
    both = config({"channel": "webhook", "connection": "ops_hook"})
    assert notify.quarantined(both, "orders", [{"quarantined": []}, {}], {"run_id": RUN}) == 0
    assert sink.requests == []


def test_a_channel_that_fails_is_logged_and_the_others_still_deliver(sink, monkeypatch, caplog):
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOWN_HOOK", webhook_connection(f"http://127.0.0.1:{free_port()}")
    )
    monkeypatch.setenv("AIRFLOW_CONN_DOWN_SMTP", smtp_connection(free_port()))
    monkeypatch.setenv("AIRFLOW_CONN_OPS_SLACK", slack_connection(sink.url))
    cfg = config(
        {"channel": "webhook", "connection": "down_hook"},
        {"channel": "email", "connection": "down_smtp", "to": ["ops@example.com"]},
        {"channel": "webhook", "connection": "no_such_connection"},
        {"channel": "slack", "connection": "ops_slack"},
    )
    with caplog.at_level(logging.ERROR, logger="shopbridge.airflow.notify"):
        assert notify.quarantined(cfg, "orders", batches(1), {"run_id": RUN}) == 1
    assert len(sink.wait(1)) == 1
    failed = [r.getMessage() for r in caplog.records if r.name == "shopbridge.airflow.notify"]
    assert len(failed) == 3
    assert any("'down_hook'" in m and "ConnectionError" in m for m in failed)
    assert any("'down_smtp'" in m for m in failed)
    assert any("'no_such_connection'" in m for m in failed)


def test_a_sink_refusing_the_webhook_is_an_undelivered_notification(sink, monkeypatch, caplog):
    sink.status = 500
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url, token="s3cret"))
    cfg = config({"channel": "webhook", "connection": "ops_hook"})
    with caplog.at_level(logging.ERROR, logger="shopbridge.airflow.notify"):
        assert notify.quarantined(cfg, "orders", batches(1), {"run_id": RUN}) == 0
    (message,) = [r.getMessage() for r in caplog.records if r.name == "shopbridge.airflow.notify"]
    assert "answered 500" in message
    assert "s3cret" not in message


def test_a_retried_report_does_not_send_the_quarantine_notice_again(sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url))
    cfg = config({"channel": "webhook", "connection": "ops_hook"})
    assert notify.quarantined(cfg, "orders", batches(3), {"run_id": RUN}) == 1
    assert notify.quarantined(cfg, "orders", batches(3), {"run_id": RUN}) == 0
    sink.wait(1)
    assert len(sink.requests) == 1
    # the next run's quarantine is its own notice
    assert notify.quarantined(cfg, "orders", batches(3), {"run_id": RUN + "2"}) == 1
    assert [r.json()["run_id"] for r in sink.wait(2)] == [RUN, RUN + "2"]
    assert len(sink.requests) == 2


def test_a_notice_the_channel_refused_is_sent_by_the_retry(sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url))
    cfg = config({"channel": "webhook", "connection": "ops_hook"})
    sink.status = 500
    assert notify.quarantined(cfg, "orders", batches(2), {"run_id": RUN}) == 0
    sink.status = 200
    assert notify.quarantined(cfg, "orders", batches(2), {"run_id": RUN}) == 1
    assert notify.quarantined(cfg, "orders", batches(2), {"run_id": RUN}) == 0
    assert [r.json()["event"] for r in sink.wait(2)] == ["quarantine", "quarantine"]
    assert len(sink.requests) == 2  # the refused one and the retry's; not a third


def test_a_failure_callback_run_twice_for_one_task_sends_one_message(sink, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPS_HOOK", webhook_connection(sink.url))
    cfg = config({"channel": "webhook", "connection": "ops_hook"})
    (callback,) = notify.failure_callbacks(cfg, "orders")
    ti = SimpleNamespace(task_id="load", map_index=2, log_url="http://airflow/log")
    context = {"run_id": RUN, "ti": ti, "exception": RuntimeError("boom")}
    callback(context)
    callback(context)  # e.g. the worker and the DAG processor both ran it
    other = SimpleNamespace(task_id="load", map_index=3, log_url="http://airflow/log")
    callback({**context, "ti": other})  # another batch failing is news
    assert [r.json()["map_index"] for r in sink.wait(2)] == [2, 3]
    assert len(sink.requests) == 2
