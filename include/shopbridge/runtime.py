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
from shopbridge.flows import customers, orders
from shopbridge.ledger import Ledger
from shopbridge.mapping.defaults import mapper_for
from shopbridge.mapping.engine import Mapper

log = logging.getLogger(__name__)


@contextmanager
def _naming(end: Endpoint) -> Iterator[None]:
    """Say which Airflow Connection to fix when a vendor refuses our credentials."""
    try:
        yield
    except AuthError as err:
        raise AuthError(f"connection {end.connection_id!r} ({end.system}) was refused: {err}",
                        response=err.response) from err


def _parse_when(value: Any, name: str) -> datetime:
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"conf.{name}: not an ISO 8601 date-time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def window(cfg: IntegrationConfig, flow: str, spec: FlowSpec, *, conf: dict[str, Any],
           interval_start: datetime | None, interval_end: datetime | None,
           now: datetime) -> tuple[datetime, datetime]:
    """The ``[start, end)`` a run syncs.

    Explicit ``start``/``end`` in the run's conf win; a scheduled or backfill run uses its
    data interval; a manual run without either continues from the last successful
    window's end (or looks back ``lookback_hours``). Every window starts
    ``overlap_minutes`` early; the ledger makes the overlap harmless.
    """
    overlap = timedelta(minutes=spec.overlap_minutes)
    if conf.get("start") or conf.get("end"):
        end = _parse_when(conf["end"], "end") if conf.get("end") else now
        start = (_parse_when(conf["start"], "start") if conf.get("start")
                 else end - timedelta(hours=spec.lookback_hours))
        if start >= end:
            raise ConfigError(f"conf.start ({start.isoformat()}) must be before conf.end "
                              f"({end.isoformat()})")
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
        cached = _MAPPERS[(cfg.id, flow)] = (cfg, mapper_for(cfg, flow))
    return cached[1]


def extract(cfg: IntegrationConfig, flow: str, spec: FlowSpec, start: datetime,
            end: datetime) -> dict[str, Any]:
    step = customers.extract if flow == "customers" else orders.extract
    with (_naming(cfg.source),
          closing(hook_for(cfg.source.system, cfg.source.connection_id).get_source()) as source):
        batches = step(source, start, end, spec.batch_size)
    log.info("window %s .. %s: %d records in %d batches", start.isoformat(), end.isoformat(),
             sum(map(len, batches)), len(batches))
    return {"batches": batches, "api_calls": source.counter.calls,
            "window": [start.isoformat(), end.isoformat()]}


def validate_and_map(cfg: IntegrationConfig, flow: str, spec: FlowSpec,
                     batch: list[dict[str, Any]]) -> dict[str, Any]:
    # translation makes no request: the source is only asked for its translator
    with closing(hook_for(cfg.source.system, cfg.source.connection_id).get_source()) as source:
        if flow == "customers":
            return customers.validate_and_map(source, batch)
        return orders.validate_and_map(source, batch, spec.orders, _mapper(cfg, flow))


def lookup(cfg: IntegrationConfig, flow: str, spec: FlowSpec,
           mapped: dict[str, Any]) -> dict[str, Any]:
    with (_naming(cfg.target),
          closing(hook_for(cfg.target.system, cfg.target.connection_id).get_target()) as target,
          closing(Ledger()) as ledger):
        if flow == "customers":
            return customers.lookup(target, ledger, cfg.id, mapped)
        return orders.lookup(target, ledger, cfg.id, mapped, spec.orders)


def load(cfg: IntegrationConfig, flow: str, spec: FlowSpec, looked_up: dict[str, Any],
         run_id: str) -> dict[str, Any]:
    with (_naming(cfg.target),
          closing(hook_for(cfg.target.system, cfg.target.connection_id).get_target()) as target,
          closing(Ledger()) as ledger):
        if flow == "customers":
            return customers.load(target, ledger, cfg.id, looked_up, run_id=run_id)
        result = orders.load(target, ledger, cfg.id, looked_up, run_id=run_id,
                             settings=spec.orders)
        if spec.orders.confirm_in_source:
            ids = [o["ref"]["id"] for o in looked_up["orders"]]
            with (_naming(cfg.source), closing(
                    hook_for(cfg.source.system, cfg.source.connection_id).get_source()) as src):
                calls = src.counter.calls
                result["orders_confirmed_in_source"] = orders.confirm_in_source(
                    src, ledger, cfg.id, ids, dict(spec.orders.confirm_in_source),
                    run_id=run_id)
                result["api_calls"] += src.counter.calls - calls
        return result


def report(cfg: IntegrationConfig, flow: str, spec: FlowSpec, *, api_calls: int,
           window: list[str], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the batches, remember the window, and decide whether the run failed."""
    keys = customers.SUMMARY_KEYS if flow == "customers" else orders.SUMMARY_KEYS
    summary = orders.summarize(results, extract_calls=api_calls, keys=keys)
    summary["window"] = window
    with closing(Ledger()) as ledger:
        ledger.record_window_end(cfg.id, flow, datetime.fromisoformat(window[1]))
    for q in summary["quarantined"]:
        log.warning("quarantined %s %s: %s: %s", q["entity"], q["source_id"], q["field"],
                    q["reason"])
    log.info("summary: %s", {k: v for k, v in summary.items() if k != "quarantined"})
    read, bad = summary[f"{flow}_read"], summary[f"{flow}_quarantined"]
    if read and bad / read > spec.max_quarantined_fraction:
        raise ConfigError(
            f"{bad} of {read} {flow} quarantined, above "
            f"max_quarantined_fraction={spec.max_quarantined_fraction}: check the mapping")
    return summary
