"""``shopbridge dry-run``: what one window of a flow would do to the target, touching nothing.

It runs the tasks' own code in this process (:mod:`shopbridge.runtime`: window, extract,
validate_and_map, lookup, with the Connections resolved as tasks resolve them) and stops
before ``load``: every decision ``load`` would take is then read off the lookup's answer
and the ledger, not made. Nothing is written: no target call but reads, no ledger claim,
no window moved, no quarantine row, the webhook inbox not touched (a dry run always reads
a window, never the inbox).

Two things differ from a real run, on purpose:

* orders already synced are read too (a real run leaves them out at extract, unread), so
  each shows up as a skip with the target's id instead of only being counted;
* records come out one row each, by id, never with names or addresses.

Connections whose tokens rotate (Lightspeed Retail) may still store a refreshed token: that
is the vendor's auth state, not sync data, and a real run would need it as well.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from shopbridge import runtime
from shopbridge.config import IntegrationConfig, OrderSettings, load_integration
from shopbridge.connectors.base import OrderTarget
from shopbridge.errors import ConfigError, RecordError
from shopbridge.flows import products as products_flow
from shopbridge.flows.debtors import CUSTOMER, debtor_digest, debtor_key, terms_for
from shopbridge.flows.orders import fixed_debtor
from shopbridge.flows.protocol import StepContext, flow_of
from shopbridge.models import Customer, Order
from shopbridge.store.ledger import Ledger, Status

Action = Literal["create", "update", "skip", "quarantine"]
ACTIONS: tuple[Action, ...] = ("create", "update", "skip", "quarantine")

#: flow kind -> the source's method that names a raw record's id
ID_OF = {
    "orders": "order_id",
    "customers": "customer_id",
    "products": "product_id",
    "stock": "stock_id",
    "shipments": "shipment_id",
    "checkouts": "checkout_id",
}


@dataclass(frozen=True)
class Planned:
    """One row of the plan: a record and what the run would do with it."""

    entity: str
    record_id: str
    action: Action
    detail: str


@dataclass(frozen=True)
class Plan:
    dag_id: str
    window: tuple[datetime, datetime]
    rows: list[Planned]

    def totals(self) -> Counter[str]:
        return Counter(r.action for r in self.rows)


def find_flow(dag_id: str, config_dir: Path) -> tuple[IntegrationConfig, str]:
    """The integration and flow key a DAG id was built from (``<pair>__<flow>``)."""
    known: list[str] = []
    for path in sorted(config_dir.glob("*.yaml")):
        try:
            cfg = load_integration(path)
        except ConfigError:
            continue
        for flow in cfg.flows:
            if cfg.dag_id(flow) == dag_id:
                return cfg, flow
            known.append(cfg.dag_id(flow))
    raise ConfigError(
        f"no flow builds DAG {dag_id!r} in {config_dir}; known: {', '.join(known) or 'none'}"
    )


def plan(
    cfg: IntegrationConfig, flow: str, *, start: str | None, end: str | None, now: datetime
) -> Plan:
    """What a run of ``flow`` for ``start``..``end`` would do (the window rules are the
    tasks': without ``start`` it continues from the last synced window)."""
    spec = cfg.flows[flow]
    kind = cfg.kind(flow)
    conf = {k: v for k, v in (("start", start), ("end", end)) if v}
    since, until = runtime.window(
        cfg, flow, spec, conf=conf, interval_start=None, interval_end=None, now=now
    )
    extracted = runtime.extract(cfg, flow, spec, since, until, full_resync=kind == "orders")
    rows: list[Planned] = []
    batches: list[list[dict[str, Any]]] = extracted["batches"]
    ids = record_ids(cfg, flow, batches)
    for batch, batch_ids in zip(batches, ids, strict=True):
        mapped = runtime.validate_and_map(cfg, flow, spec, batch)
        looked = runtime.lookup(cfg, flow, spec, mapped)
        rows += _classify(_Batch(cfg, flow, batch_ids, mapped, looked))
    return Plan(cfg.dag_id(flow), (since, until), rows)


def record_ids(
    cfg: IntegrationConfig, flow: str, batches: list[list[dict[str, Any]]]
) -> list[list[str]]:
    """Each raw record's id, as the source names it (what the plan's and replay's rows show;
    only the source knows where a vendor keeps it)."""
    with StepContext(cfg, flow).source() as source:
        id_of = getattr(source, ID_OF[cfg.kind(flow)])
        return [[str(id_of(r)) for r in batch] for batch in batches]


@dataclass(frozen=True)
class _Batch:
    """One batch as the plan classifies it: its records' ids as the source names them, and
    what validate_and_map and lookup handed on."""

    cfg: IntegrationConfig
    flow: str
    ids: list[str]
    mapped: dict[str, Any]
    looked: dict[str, Any]


def _quarantined(entity: str, counts: dict[str, Any]) -> list[Planned]:
    return [
        Planned(entity, q["source_id"], "quarantine", f"{q['field']}: {q['reason']}")
        for q in counts["quarantined"]
    ]


def _rest(entity: str, ids: Iterable[str], seen: set[str], detail: str) -> list[Planned]:
    """Records read but accounted for nowhere else: left out before the lookup."""
    return [Planned(entity, i, "skip", detail) for i in ids if i not in seen]


def _classify(b: _Batch) -> list[Planned]:
    kind = b.cfg.kind(b.flow)
    if kind == "orders":
        return _orders(b)
    if kind == "customers":
        return _customers(b)
    entity = flow_of(kind).entity
    rows = _quarantined(entity, b.looked["counts"])
    if kind == "products":
        for p in b.looked["products"]:
            if p.get("images_only"):
                rows.append(
                    Planned(
                        entity, p["source_id"], "update", f"{len(p['images'])} image(s) still owed"
                    )
                )
                continue
            code = products_flow._existing_code(
                p["items"][0], p["eans"], b.looked["existing"], b.cfg.flows[b.flow].products
            )
            rows.append(
                Planned(entity, p["source_id"], "update", f"item {code}")
                if code
                else Planned(
                    entity, p["source_id"], "create", f"{len(p['items'])} item(s), main {p['sku']}"
                )
            )
        unchanged = {p["source_id"] for p in b.mapped["products"]}
    elif kind == "stock":
        rows += [
            Planned(entity, lv["source_id"], "update", f"SKU {lv['sku']} level {lv['quantity']}")
            for lv in b.looked["levels"]
        ]
        unchanged = {lv["source_id"] for lv in b.mapped["levels"]}
    elif kind == "shipments":
        rows += [
            Planned(entity, s["shipment"]["ref"]["id"], "update", f"order {s['target_order']}")
            for s in b.looked["shipments"]
        ]
        unchanged = {s["shipment"]["ref"]["id"] for s in b.mapped["shipments"]}
    else:
        rows += [
            Planned(
                entity,
                c["checkout"]["ref"]["id"],
                "update" if c["existing"] else "create",
                f"as {c['existing']}" if c["existing"] else "",
            )
            for c in b.looked["checkouts"]
        ]
        unchanged = {c["checkout"]["ref"]["id"] for c in b.mapped["checkouts"]}
    seen = {r.record_id for r in rows}
    rows += _rest(entity, sorted(unchanged), seen, "unchanged since it was last written")
    seen |= unchanged
    left_out = {
        "products": "left out by the product filters",
        "shipments": "not marked shipped",
    }.get(kind, "")
    return rows + _rest(entity, b.ids, seen, left_out)


def _orders(b: _Batch) -> list[Planned]:
    """``orders.load``'s decisions, in its order: landed, unknown SKU, found, create."""
    settings = b.cfg.flows[b.flow].orders
    rows = _quarantined("order", b.looked["counts"])
    missing = set(b.looked["missing_skus"])
    scope = b.cfg.scope(b.flow)
    target = b.cfg.ends(b.flow)[1].system
    with closing(Ledger()) as ledger:
        for raw in b.looked["orders"]:
            order = Order.model_validate(raw)
            ref = order.ref.id
            if ref in b.looked["landed"]:
                rows.append(
                    Planned("order", ref, "skip", f"already synced as {b.looked['landed'][ref]}")
                )
                continue
            unknown = [(i, line.sku) for i, line in enumerate(order.lines) if line.sku in missing]
            if unknown:
                i, sku = unknown[0]
                rows.append(
                    Planned(
                        "order",
                        ref,
                        "quarantine",
                        f"lines[{i}].sku: SKU {sku} does not exist in {target}",
                    )
                )
                continue
            if ref in b.looked["existing"]:
                rows.append(
                    Planned(
                        "order",
                        ref,
                        "skip",
                        f"already in the target as {b.looked['existing'][ref]}",
                    )
                )
                continue
            debtor = _debtor(ledger, scope, settings, order, b.looked)
            rows.append(Planned("order", ref, "create", f"{settings.order_type}, {debtor}"))
    kept = {o["ref"]["id"] for o in b.mapped["orders"]}
    rows += _rest(
        "order", sorted(kept), {r.record_id for r in rows}, "came from the target (mirrored back)"
    )
    return rows + _rest(
        "order",
        b.ids,
        {r.record_id for r in rows},
        "its status is not among those the flow sends",
    )


def _debtor(
    ledger: Ledger, scope: str, settings: OrderSettings, order: Order, looked: dict[str, Any]
) -> str:
    """Which debtor the load would book ``order`` on (``orders.load``'s choice)."""
    fixed = fixed_debtor(settings, order.customer)
    if fixed is not None:
        return f"on default debtor {fixed}"
    try:
        key = debtor_key(order.customer)
    except RecordError as err:
        return f"refused: {err.reason}"
    row = ledger.get(scope, CUSTOMER, key)
    if row is not None and row.status is Status.DONE and row.target_ref:
        return f"debtor {row.target_ref}"
    found = looked["debtors"].get(order.customer.email) if order.customer.email else None
    return f"debtor {found['code']}" if found else "with a new debtor"


def _customers(b: _Batch) -> list[Planned]:
    """``debtors.sync_debtor``'s decision per customer: the ledger's hash (customer and
    terms) first, else the target's match and its fingerprint."""
    rows = _quarantined("customer", b.looked["counts"])
    settings = b.cfg.customer_settings(b.flow)
    ctx = StepContext(b.cfg, b.flow)
    with ctx.ledger() as ledger, ctx.target() as opened:
        target = cast(OrderTarget, opened)
        for item in b.looked["customers"]:
            customer = Customer.model_validate(item["customer"])
            sid = item["source_id"]
            try:
                terms = terms_for(customer, settings)
            except RecordError as err:
                rows.append(Planned("customer", sid, "quarantine", f"{err.field}: {err.reason}"))
                continue
            digest = debtor_digest(customer, terms)
            row = ledger.get(b.cfg.scope(b.flow), CUSTOMER, debtor_key(customer))
            found = b.looked["debtors"].get(customer.email) if customer.email else None
            if row is not None and row.status is Status.DONE and row.target_ref:
                rows.append(
                    Planned("customer", sid, "skip", f"unchanged, debtor {row.target_ref}")
                    if row.content_hash == digest
                    else Planned("customer", sid, "update", f"debtor {row.target_ref}")
                )
            elif found is None:
                rows.append(Planned("customer", sid, "create", "new debtor"))
            elif (
                terms
                or found["fingerprint"] is None
                or found["fingerprint"] != target.debtor_fingerprint(customer)
            ):
                rows.append(Planned("customer", sid, "update", f"debtor {found['code']}"))
            else:
                rows.append(Planned("customer", sid, "skip", f"unchanged, debtor {found['code']}"))
    return rows + _rest("customer", b.ids, {r.record_id for r in rows}, "")


def table(result: Plan) -> list[tuple[str, str, str, str]]:
    """The plan as the CLI prints it: a header, one line a record, creates first."""
    order = {a: n for n, a in enumerate(ACTIONS)}
    rows = sorted(result.rows, key=lambda r: (order[r.action], r.entity, r.record_id))
    return [
        ("ENTITY", "RECORD ID", "ACTION", "DETAIL"),
        *((r.entity, r.record_id, r.action, r.detail) for r in rows),
    ]


def totals_line(result: Plan) -> str:
    counts = result.totals()
    return (
        f"totals: {', '.join(f'{counts.get(a, 0)} {a}' for a in ACTIONS)} "
        f"({len(result.rows)} records; window {result.window[0].isoformat()} .. "
        f"{result.window[1].isoformat()}; nothing was written)"
    )
