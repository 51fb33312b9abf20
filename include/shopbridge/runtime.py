"""What each task of a flow's DAG does at run time, minus Airflow's context plumbing.

``dag_factory`` hands these functions plain values (the config, the window, the run id);
they look the flow up in the flow registry (``shopbridge.flows.protocol``) by its kind and
call its steps over a :class:`~shopbridge.flows.protocol.StepContext`, which opens the
connectors through their hooks. Nothing here knows one flow from another. Kept apart from
``dag_factory`` so that parsing a DAG file imports none of it.
"""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from shopbridge.config import FlowSpec, IntegrationConfig
from shopbridge.errors import ConfigError

# each flow module registers its Flow when imported
from shopbridge.flows import checkouts, customers, orders, products, shipments, stock  # noqa: F401
from shopbridge.flows.protocol import Handoff, Records, StepContext, flow_of, registered
from shopbridge.store.inbox import Inbox
from shopbridge.store.ledger import Ledger

log = logging.getLogger(__name__)

#: flow kind -> the counters its run report adds up (the demo prints them in this order)
SUMMARY_KEYS: dict[str, tuple[str, ...]] = {f.kind: tuple(f.summary_keys) for f in registered()}


def _parse_when(value: Any, name: str) -> datetime:
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"conf.{name}: not an ISO 8601 date-time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def window(
    cfg: IntegrationConfig,
    flow: str,
    spec: FlowSpec,
    *,
    conf: dict[str, Any],
    interval_start: datetime | None,
    interval_end: datetime | None,
    now: datetime,
) -> tuple[datetime, datetime]:
    """The ``[start, end)`` a run syncs.

    Explicit ``start``/``end`` in the run's conf win; a scheduled or backfill run uses its
    data interval; a manual run without either continues from the last successful
    window's end (or looks back ``lookback_hours``). Every window starts
    ``overlap_minutes`` early; the ledger makes the overlap harmless.
    """
    overlap = timedelta(minutes=spec.overlap_minutes)
    if conf.get("start") or conf.get("end"):
        end = _parse_when(conf["end"], "end") if conf.get("end") else now
        start = (
            _parse_when(conf["start"], "start")
            if conf.get("start")
            else end - timedelta(hours=spec.lookback_hours)
        )
        if start >= end:
            raise ConfigError(
                f"conf.start ({start.isoformat()}) must be before conf.end ({end.isoformat()})"
            )
        return start, end
    if interval_start is not None and interval_end is not None and interval_end > interval_start:
        return interval_start - overlap, interval_end
    with closing(Ledger()) as ledger:
        last = ledger.last_window_end(cfg.id, flow)
    start = last - overlap if last else now - timedelta(hours=spec.lookback_hours)
    return start, now


def extract(
    cfg: IntegrationConfig,
    flow: str,
    spec: FlowSpec,
    start: datetime,
    end: datetime,
    *,
    full_resync: bool = False,
) -> dict[str, Any]:
    ctx = StepContext(cfg, flow, full_resync=full_resync)
    with ctx.source() as source:
        extracted = flow_of(ctx.kind).extract(ctx, source, start, end)
    batches = extracted.batches
    log.info(
        "window %s .. %s: %d records in %d batches (%d already synced, not read)",
        start.isoformat(),
        end.isoformat(),
        sum(map(len, batches)),
        len(batches),
        extracted.skipped_existing,
    )
    return {
        "batches": batches,
        "api_calls": source.counter.calls,
        "window": [start.isoformat(), end.isoformat()],
        "skipped_existing": extracted.skipped_existing,
    }


def extract_inbox(
    cfg: IntegrationConfig, flow: str, spec: FlowSpec, *, run_id: str
) -> dict[str, Any]:
    """The records the webhook receiver stored for this flow, claimed by this run.

    They are the vendor's own records as delivered (signature checked), in the shape the
    source's translator reads, so they cost no API call; :func:`report` erases them once
    the run has loaded them.
    """
    with closing(Inbox()) as inbox:
        rows = inbox.claim(cfg.id, flow, run_id)
    n = spec.batch_size
    log.info("inbox: %d records delivered by webhook", len(rows))
    return {
        "batches": [rows[i : i + n] for i in range(0, len(rows), n)],
        "api_calls": 0,
        "window": None,
        "inbox": len(rows),
    }


def validate_and_map(cfg: IntegrationConfig, flow: str, spec: FlowSpec, batch: Records) -> Handoff:
    ctx = StepContext(cfg, flow)
    # translation makes no request: the source is only asked for its translator
    with ctx.source() as source:
        return flow_of(ctx.kind).validate_and_map(ctx, source, batch)


def map_batch(cfg: IntegrationConfig, flow: str, source: Any, batch: Records) -> Handoff:
    """The validate-and-map step on a source already at hand: what a run does with one
    batch of vendor records under the pair's settings (the contract tests and the
    mapping CLI call it with recorded payloads, so they test what a run would send)."""
    ctx = StepContext(cfg, flow)
    return flow_of(ctx.kind).validate_and_map(ctx, source, batch)


def lookup(
    cfg: IntegrationConfig,
    flow: str,
    spec: FlowSpec,
    mapped: Handoff,
    *,
    full_resync: bool = False,
) -> Handoff:
    ctx = StepContext(cfg, flow, full_resync=full_resync)
    return flow_of(ctx.kind).lookup(ctx, mapped)


def load(
    cfg: IntegrationConfig, flow: str, spec: FlowSpec, looked_up: Handoff, run_id: str
) -> Handoff:
    ctx = StepContext(cfg, flow, run_id=run_id)
    return flow_of(ctx.kind).load(ctx, looked_up)


def report(
    cfg: IntegrationConfig,
    flow: str,
    spec: FlowSpec,
    *,
    api_calls: int,
    window: list[str] | None,
    results: list[dict[str, Any]],
    inbox_run: str | None = None,
    skipped_existing: int = 0,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Sum the batches, remember the window, and decide whether the run failed.

    A webhook run (``inbox_run``: its run id) has no window: it must not move the
    backstop's "synced up to" mark. It erases the inbox records it loaded instead.
    """
    kind = cfg.kind(flow)
    summary = flow_of(kind).summarize(
        results, extract_calls=api_calls, skipped_existing=skipped_existing
    )
    summary["window"] = window
    if window is not None:
        with closing(Ledger()) as ledger:
            ledger.record_window_end(cfg.id, flow, datetime.fromisoformat(window[1]))
    if inbox_run is not None:
        with closing(Inbox()) as inbox:
            summary["webhook_records"] = inbox.finish(cfg.id, flow, inbox_run)
    if summary["quarantined"]:  # where each was read, so `shopbridge replay` can re-read it
        from shopbridge.store.quarantine_log import QuarantineLog

        with closing(Ledger()) as ledger:
            QuarantineLog(ledger.engine).remember(
                cfg.id,
                flow,
                summary["quarantined"],
                (datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1]))
                if window is not None
                else None,
            )
    for q in summary["quarantined"]:
        log.warning(
            "quarantined %s %s: %s: %s", q["entity"], q["source_id"], q["field"], q["reason"]
        )
    log.info("summary: %s", {k: v for k, v in summary.items() if k != "quarantined"})
    read, bad = summary[f"{kind}_read"], summary[f"{kind}_quarantined"]
    failed = bool(read and bad / read > spec.max_quarantined_fraction)
    if run_id is not None:  # the activity view's row, also (above all) for a failing run
        from shopbridge.store.activity import FAILED, SUCCESS, ActivityLog

        with closing(ActivityLog()) as activity:
            activity.record(
                integration=cfg.id,
                flow=flow,
                kind=kind,
                dag_id=cfg.dag_id(flow),
                run_id=run_id,
                summary=summary,
                status=FAILED if failed else SUCCESS,
            )
    if failed:
        raise ConfigError(
            f"{bad} of {read} {kind} quarantined, above "
            f"max_quarantined_fraction={spec.max_quarantined_fraction}: check the mapping"
        )
    return summary
