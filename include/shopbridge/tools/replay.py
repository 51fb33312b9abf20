"""``shopbridge replay``: run quarantined records again, after the mapping or data was fixed.

The ledger keeps no payload of a quarantined record (privacy), so each is read again from
the source: from the window it was last read in (:mod:`shopbridge.store.quarantine_log`) up to
now, keeping only the quarantined ids. Each kept record then goes through the tasks' own
steps (:mod:`shopbridge.runtime`: validate_and_map, lookup, load) with the *current* YAML
and mapping, one record a batch, so its outcome can be told apart from the others'.

Load claims every write in the ledger, exactly as a run does: a replayed record is written
once, and a replay of a record that already landed (by an earlier replay, or a scheduled
run after the fix) writes nothing. A record that passes leaves quarantine (its ledger row
becomes ``done``); one still refused stays quarantined with its new reason and window.

Which records: the open entries of the quarantine log, plus the ledger's ``quarantined``
rows it does not know (set aside before windows were remembered; those are looked for in
the flow's ``lookback_hours`` before they were quarantined).
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from shopbridge import runtime
from shopbridge.config import IntegrationConfig
from shopbridge.errors import ShopbridgeError
from shopbridge.flows.protocol import flow_of
from shopbridge.store.ledger import Ledger, Status, records
from shopbridge.store.quarantine_log import QuarantineLog
from shopbridge.tools.dry_run import record_ids

#: ledger entity of a quarantined row -> (flow kind, the run report's entity name)
LEDGER_ENTITIES: dict[str, tuple[str, str]] = {
    "order": ("orders", "order"),
    "customer_record": ("customers", "customer"),
    "product": ("products", "product"),
    "image": ("products", "image"),
    "stock": ("stock", "stock"),
    "shipment": ("shipments", "shipment"),
    "checkout": ("checkouts", "checkout"),
}


class ReplayError(ShopbridgeError):
    """Nothing can be replayed as asked; the message says why."""


@dataclass(frozen=True)
class Quarantined:
    """One record set aside, with where to look for it again."""

    flow: str
    entity: str
    source_ref: str
    reason: str
    #: read again from here (the window it was last read in; else a lookback)
    since: datetime


@dataclass(frozen=True)
class Outcome:
    flow: str
    entity: str
    record_id: str
    #: ``written``, ``already in target``, ``skipped``, ``quarantined``, ``not found``
    outcome: str
    detail: str

    @property
    def resolved(self) -> bool:
        return self.outcome in ("written", "already in target", "skipped")


def quarantined(cfg: IntegrationConfig, *, now: datetime) -> list[Quarantined]:
    """Every record of the integration that is set aside now, oldest first."""
    found: dict[tuple[str, str, str], Quarantined] = {}
    with closing(Ledger()) as ledger:
        for e in QuarantineLog(ledger.engine).open_entries(cfg.id):
            if e.flow not in cfg.flows:
                continue  # the flow was removed from the YAML since
            lookback = timedelta(hours=cfg.flows[e.flow].lookback_hours)
            since = e.window_start or e.recorded_at - lookback
            entity = flow_of(cfg.kind(e.flow)).entity if e.entity == "image" else e.entity
            key = (e.flow, entity, e.source_ref)
            if key not in found or since < found[key].since:
                found[key] = Quarantined(e.flow, entity, e.source_ref, e.reason, since)
        for flow in cfg.flows:
            kinds = {k for k, (kind, _) in LEDGER_ENTITIES.items() if kind == cfg.kind(flow)}
            with ledger.engine.connect() as conn:
                rows = conn.execute(
                    select(records).where(
                        records.c.integration == cfg.scope(flow),
                        records.c.entity.in_(kinds),
                        records.c.status == Status.QUARANTINED.value,
                    )
                )
                for r in rows:
                    entity = flow_of(cfg.kind(flow)).entity
                    if (flow, entity, r.source_ref) in found:
                        continue
                    at = (
                        r.updated_at
                        if r.updated_at.tzinfo
                        else r.updated_at.replace(tzinfo=now.tzinfo)
                    )
                    found[(flow, entity, r.source_ref)] = Quarantined(
                        flow,
                        entity,
                        r.source_ref,
                        r.reason or "",
                        at - timedelta(hours=cfg.flows[flow].lookback_hours),
                    )
    return sorted(found.values(), key=lambda q: (q.since, q.flow, q.source_ref))


def select_records(
    cfg: IntegrationConfig, *, record: str | None, now: datetime
) -> list[Quarantined]:
    """All quarantined records, or the one named; an id not quarantined is an error."""
    todo = quarantined(cfg, now=now)
    if record is None:
        return todo
    chosen = [q for q in todo if q.source_ref == record]
    if not chosen:
        known = ", ".join(sorted({q.source_ref for q in todo})[:20]) or "none"
        raise ReplayError(
            f"{cfg.id}: no quarantined record with id {record!r} (quarantined now: {known})"
        )
    return chosen


def replay(cfg: IntegrationConfig, todo: list[Quarantined], *, now: datetime) -> list[Outcome]:
    """Read each flow's records again and run them through validate, lookup and load."""
    outcomes: list[Outcome] = []
    run_id = f"replay__{now.strftime('%Y%m%dT%H%M%S.%f')}"
    for flow in dict.fromkeys(q.flow for q in todo):
        mine = [q for q in todo if q.flow == flow]
        outcomes += _replay_flow(cfg, flow, mine, now=now, run_id=run_id)
    return outcomes


def _replay_flow(
    cfg: IntegrationConfig, flow: str, todo: list[Quarantined], *, now: datetime, run_id: str
) -> list[Outcome]:
    spec = cfg.flows[flow]
    since = min(q.since for q in todo)
    extracted = runtime.extract(cfg, flow, spec, since, now)
    batches: list[list[dict[str, Any]]] = extracted["batches"]
    wanted = {q.source_ref for q in todo}
    raw: dict[str, dict[str, Any]] = {}
    for batch, ids in zip(batches, record_ids(cfg, flow, batches), strict=True):
        raw |= {i: r for i, r in zip(ids, batch, strict=True) if i in wanted}
    source = cfg.ends(flow)[0].system
    outcomes: list[Outcome] = []
    with closing(Ledger()) as ledger:
        log = QuarantineLog(ledger.engine)
        for q in todo:
            if q.source_ref not in raw:
                outcomes.append(
                    Outcome(
                        flow,
                        q.entity,
                        q.source_ref,
                        "not found",
                        f"not among the {source} records changed since "
                        f"{since.isoformat()}; still quarantined",
                    )
                )
                continue
            result = _run_one(cfg, flow, raw[q.source_ref], f"{run_id}#{q.source_ref}")
            outcome = _outcome(cfg, flow, ledger, q, result)
            if outcome.resolved:
                for entity in {q.entity, "image"}:
                    log.resolve(cfg.id, flow, entity, q.source_ref)
            else:
                log.remember(
                    cfg.id,
                    flow,
                    [e for e in result["quarantined"] if e["source_id"] == q.source_ref],
                    (since, now),
                    now=now,
                )
            outcomes.append(outcome)
    return outcomes


def _run_one(
    cfg: IntegrationConfig, flow: str, record: dict[str, Any], owner: str
) -> dict[str, Any]:
    spec = cfg.flows[flow]
    mapped = runtime.validate_and_map(cfg, flow, spec, [record])
    looked_up = runtime.lookup(cfg, flow, spec, mapped)
    return runtime.load(cfg, flow, spec, looked_up, run_id=owner)


def _outcome(
    cfg: IntegrationConfig, flow: str, ledger: Ledger, q: Quarantined, result: dict[str, Any]
) -> Outcome:
    """What happened to the one record of ``result`` (a load's counts for one record)."""
    prefix = cfg.kind(flow)
    refused = [
        e
        for e in result["quarantined"]
        if e["source_id"] == q.source_ref and e["entity"] != "image"
    ]
    if refused:
        return Outcome(
            flow,
            q.entity,
            q.source_ref,
            "quarantined",
            "; ".join(f"{e['field']}: {e['reason']}" for e in refused),
        )
    done = {
        k.removeprefix(f"{prefix}_"): v
        for k, v in result.items()
        if k.startswith(f"{prefix}_")
        and isinstance(v, int)
        and v
        and k not in (f"{prefix}_read", f"{prefix}_quarantined")
    }
    written = [k for k in ("created", "updated", "written") if done.get(k)]
    if written:
        row = ledger.get(cfg.scope(flow), q.entity, q.source_ref) if prefix == "orders" else None
        where = f" as {row.target_ref}" if row is not None and row.target_ref else ""
        return Outcome(flow, q.entity, q.source_ref, "written", f"{written[0]}{where}")
    if done.get("skipped_existing") or done.get("unchanged"):
        row = ledger.get(cfg.scope(flow), q.entity, q.source_ref) if prefix == "orders" else None
        where = f" as {row.target_ref}" if row is not None and row.target_ref else ""
        return Outcome(flow, q.entity, q.source_ref, "already in target", f"nothing written{where}")
    why = ", ".join(k.replace("_", " ") for k in done) or "left out by the flow's settings"
    return Outcome(flow, q.entity, q.source_ref, "skipped", why)
