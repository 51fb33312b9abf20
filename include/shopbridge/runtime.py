"""What each task of a flow's DAG does at run time, minus Airflow's context plumbing.

``dag_factory`` hands these functions plain values (the config, the window, the run id);
they build the connectors from Airflow Connections through the hooks and call the pure
flow steps. Kept apart from ``dag_factory`` so that parsing a DAG file imports none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from shopbridge.config import Endpoint, FlowSpec, IntegrationConfig
from shopbridge.connectors.registry import hook_for
from shopbridge.errors import AuthError, ConfigError
from shopbridge.flows import checkouts, customers, orders, products, shipments, stock
from shopbridge.mapping.engine import Mapper
from shopbridge.store.inbox import Inbox
from shopbridge.store.ledger import Ledger

log = logging.getLogger(__name__)


@contextmanager
def _naming(end: Endpoint) -> Iterator[None]:
    """Say which Airflow Connection to fix when a vendor refuses our credentials."""
    try:
        yield
    except AuthError as err:
        raise AuthError(
            f"connection {end.connection_id!r} ({end.system}) was refused: {err}",
            response=err.response,
        ) from err


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


_MAPPERS: dict[tuple[str, str], tuple[IntegrationConfig, Mapper]] = {}


def _mapper(cfg: IntegrationConfig, flow: str) -> Mapper:
    """Built once per process, flow and config: validating every rule is parse-time work."""
    cached = _MAPPERS.get((cfg.id, flow))
    if cached is None or cached[0] != cfg:
        cached = _MAPPERS[(cfg.id, flow)] = (cfg, cfg.mapper(flow))
    return cached[1]


@contextmanager
def _source(cfg: IntegrationConfig, flow: str) -> Iterator[Any]:
    """The system the flow reads from (its direction decides which end that is)."""
    end = cfg.ends(flow)[0]
    with _naming(end), closing(hook_for(end.system, end.connection_id).get_source()) as src:
        yield src


@contextmanager
def _target(cfg: IntegrationConfig, flow: str) -> Iterator[Any]:
    end = cfg.ends(flow)[1]
    with _naming(end), closing(hook_for(end.system, end.connection_id).get_target()) as tgt:
        yield tgt


#: the flow's start when a full resync re-reads everything
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def extract(
    cfg: IntegrationConfig,
    flow: str,
    spec: FlowSpec,
    start: datetime,
    end: datetime,
    *,
    full_resync: bool = False,
) -> dict[str, Any]:
    kind = cfg.kind(flow)
    skipped = 0
    with _source(cfg, flow) as source, closing(Ledger()) as ledger:
        if kind == "stock":
            batches = stock.extract(source, spec.batch_size)
        elif kind == "products":
            batches = products.extract(
                source, EPOCH if full_resync else start, end, spec.batch_size
            )
        elif kind == "customers":
            batches = customers.extract(source, start, end, spec.batch_size)
        elif kind == "shipments":
            batches = shipments.extract(source, start, end, spec.batch_size)
        elif kind == "checkouts":
            batches = checkouts.extract(source, start, end, spec.batch_size)
        elif spec.orders.confirm_in_source or full_resync:
            # a synced order may still owe its confirmation: read them all
            batches = orders.extract(source, start, end, spec.batch_size)
        else:
            synced = orders.AlreadySynced(ledger, cfg.scope(flow))
            batches = orders.extract(source, start, end, spec.batch_size, skip=synced)
            skipped = synced.skipped
    log.info(
        "window %s .. %s: %d records in %d batches (%d already synced, not read)",
        start.isoformat(),
        end.isoformat(),
        sum(map(len, batches)),
        len(batches),
        skipped,
    )
    return {
        "batches": batches,
        "api_calls": source.counter.calls,
        "window": [start.isoformat(), end.isoformat()],
        "skipped_existing": skipped,
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


def validate_and_map(
    cfg: IntegrationConfig, flow: str, spec: FlowSpec, batch: list[dict[str, Any]]
) -> dict[str, Any]:
    # translation makes no request: the source is only asked for its translator
    with _source(cfg, flow) as source:
        return map_batch(cfg, flow, source, batch)


def map_batch(
    cfg: IntegrationConfig, flow: str, source: Any, batch: list[dict[str, Any]]
) -> dict[str, Any]:
    """The validate-and-map step on a source already at hand: what a run does with one
    batch of vendor records under the pair's settings (the contract tests and the
    mapping CLI call it with recorded payloads, so they test what a run would send)."""
    kind, spec = cfg.kind(flow), cfg.flows[flow]
    if kind == "customers":
        return customers.validate_and_map(source, batch, cfg.rules)
    if kind == "stock":
        return stock.validate_and_map(source, batch, spec.stock, cfg.rules)
    if kind == "products":
        return products.validate_and_map(
            source, batch, spec.products, _mapper(cfg, flow), cfg.rules
        )
    if kind == "shipments":
        return shipments.validate_and_map(source, batch)
    if kind == "checkouts":
        return checkouts.validate_and_map(source, batch)
    return orders.validate_and_map(source, batch, spec.orders, _mapper(cfg, flow), cfg.rules)


def lookup(
    cfg: IntegrationConfig,
    flow: str,
    spec: FlowSpec,
    mapped: dict[str, Any],
    *,
    full_resync: bool = False,
) -> dict[str, Any]:
    kind, scope = cfg.kind(flow), cfg.scope(flow)
    if kind in ("shipments", "checkouts"):  # the ledger alone decides: no target call
        with closing(Ledger()) as ledger:
            if kind == "shipments":
                return shipments.lookup(ledger, scope, cfg.opposite_scope(flow), mapped)
            return checkouts.lookup(ledger, scope, mapped)
    with _target(cfg, flow) as target, closing(Ledger()) as ledger:
        if kind == "customers":
            return customers.lookup(target, ledger, scope, mapped)
        if kind == "stock":
            return stock.lookup(target, ledger, scope, mapped, full_resync=full_resync)
        if kind == "products":
            return products.lookup(
                target, ledger, scope, mapped, spec.products, full_resync=full_resync
            )
        return orders.lookup(
            target, ledger, scope, mapped, spec.orders, opposite=cfg.opposite_scope(flow)
        )


def load(
    cfg: IntegrationConfig, flow: str, spec: FlowSpec, looked_up: dict[str, Any], run_id: str
) -> dict[str, Any]:
    kind, scope = cfg.kind(flow), cfg.scope(flow)
    with _target(cfg, flow) as target, closing(Ledger()) as ledger:
        if kind == "customers":
            return customers.load(
                target,
                ledger,
                scope,
                looked_up,
                run_id=run_id,
                settings=cfg.customer_settings(flow),
            )
        if kind == "stock":
            return stock.load(target, ledger, scope, looked_up, run_id=run_id, settings=spec.stock)
        if kind == "shipments":
            return shipments.load(target, ledger, scope, looked_up, run_id=run_id)
        if kind == "checkouts":
            return checkouts.load(target, ledger, scope, looked_up, run_id=run_id)
        if kind == "products":
            # images are downloaded from the source at load time, not carried in XCom
            with _source(cfg, flow) as source:
                return products.load(
                    target,
                    ledger,
                    scope,
                    looked_up,
                    run_id=run_id,
                    settings=spec.products,
                    source=source,
                )
        result = orders.load(
            target,
            ledger,
            scope,
            looked_up,
            run_id=run_id,
            settings=spec.orders,
            customer_settings=cfg.customer_settings(flow),
        )
        if spec.orders.confirm_in_source:
            ids = [o["ref"]["id"] for o in looked_up["orders"]]
            with _source(cfg, flow) as src:
                calls = src.counter.calls
                result["orders_confirmed_in_source"] = orders.confirm_in_source(
                    src, ledger, scope, ids, dict(spec.orders.confirm_in_source), run_id=run_id
                )
                result["api_calls"] += src.counter.calls - calls
        return result


SUMMARY_KEYS = {
    "orders": orders.SUMMARY_KEYS,
    "customers": customers.SUMMARY_KEYS,
    "products": products.SUMMARY_KEYS,
    "stock": stock.SUMMARY_KEYS,
    "shipments": shipments.SUMMARY_KEYS,
    "checkouts": checkouts.SUMMARY_KEYS,
}


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
    summary = orders.summarize(results, extract_calls=api_calls, keys=SUMMARY_KEYS[kind])
    if kind == "orders":  # left out at extract (already synced): still read, still skipped
        summary["orders_read"] += skipped_existing
        summary["orders_skipped_existing"] += skipped_existing
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
