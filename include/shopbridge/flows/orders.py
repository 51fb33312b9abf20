"""The orders flow: extract → validate_and_map → lookup → load → report.

As the product pages describe it: skip an order that already exists in the target; find
the customer by e-mail, create it if missing (a company debtor with its contact when a
company name is present, else a person debtor) or update it if it changed; check every
product exists (a missing SKU quarantines that order, the rest of the batch goes on);
then commit the order.

Batches travel between steps as JSON-able dicts (they are Airflow XComs). API cost is
kept low by batching lookups (one filtered query per batch for orders, debtors and
items) and by the ledger, which answers "already done" without any call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from shopbridge.config import CustomerSettings, OrderSettings, RecordRules
from shopbridge.connectors.base import Endpoint, OrderSource, OrderTarget, OrderWrite
from shopbridge.errors import FatalError, RecordError, RetriableError
from shopbridge.flows.counts import RunCounts, batched, refusal
from shopbridge.flows.debtors import debtor_lookup, sync_debtor
from shopbridge.flows.prepare import prepare
from shopbridge.flows.protocol import Extracted, Flow, Handoff, Records, StepContext, register
from shopbridge.flows.records import Filled
from shopbridge.mapping.engine import Mapper
from shopbridge.models import Customer, Order
from shopbridge.store.ledger import Claim, Ledger, Status

log = logging.getLogger(__name__)

ORDER = "order"


class Counts(RunCounts):
    ENTITY = ORDER
    PREFIX = "orders"
    #: ``skipped_mirrored``: orders shopbridge itself created in this source from the
    #: other system (the flow going the other way): sending them back would double them
    OWN = (
        "read",
        "created",
        "skipped_existing",
        "skipped_status",
        "skipped_mirrored",
        "quarantined",
        "confirmed_in_source",
    )
    #: customers or addresses without a country that got the pair's default_country, and
    #: the debtors the orders' customers became
    SHARED = ("countries_defaulted", "customers_created", "customers_updated")


def reference(order: Order) -> str:
    """What identifies our order in the target (the ERP's "your reference" field)."""
    return order.number


# --- extract ---------------------------------------------------------------------------


def extract(
    source: OrderSource,
    start: datetime,
    end: datetime,
    batch_size: int,
    *,
    skip: Callable[[str], bool] | None = None,
) -> list[list[dict[str, Any]]]:
    """Raw source records changed in the window, de-duplicated by id, in bounded batches.

    A record changed while being paged can come back on two pages; the later copy wins.
    ``skip`` (see :class:`AlreadySynced`) leaves out orders that already landed.
    """
    records = (
        source.iter_order_records(start, end)
        if skip is None
        else source.iter_order_records(start, end, skip=skip)
    )
    return batched(records, source.order_id, batch_size)


class AlreadySynced:
    """``skip`` for :func:`extract`: an order the ledger has as written in this scope is
    never written again (orders are created once, not updated), so a window that re-lists
    it need not read its lines. Counts what it skipped, for the run's report."""

    def __init__(self, ledger: Ledger, integration: str) -> None:
        self.ledger = ledger
        self.integration = integration
        self.skipped = 0

    def __call__(self, order_id: str) -> bool:
        row = self.ledger.get(self.integration, ORDER, order_id)
        if row is not None and row.status is Status.DONE:
            self.skipped += 1
            return True
        return False


# --- validate and map ------------------------------------------------------------------


def validate_and_map(
    source: OrderSource,
    batch: list[dict[str, Any]],
    settings: OrderSettings | None = None,
    mapper: Mapper | None = None,
    rules: RecordRules | None = None,
) -> dict[str, Any]:
    """Translate each raw record to a canonical order; a bad record is quarantined, not fatal.

    Orders outside the chosen statuses are counted and left alone (not quarantined: a
    later run picks them up when their status changes and their ``updatedAt`` moves).
    """
    settings = settings or OrderSettings()
    counts = Counts(read=len(batch))
    orders: list[dict[str, Any]] = []
    mapped: dict[str, dict[str, Any]] = {}
    filled = Filled()
    for record in batch:
        try:
            prepared = prepare(source.to_order, record, settings, mapper, rules, filled)
        except RecordError as err:
            counts.refuse(err.source_id, err.field, err.reason)
            continue
        if prepared is None:
            counts.add("skipped_status")
            continue
        order, fields = prepared
        if fields is not None:
            mapped[order.ref.id] = fields
        orders.append(order.model_dump(mode="json"))
    counts.add("countries_defaulted", filled.countries_defaulted)
    return {"orders": orders, "mapped": mapped, "counts": counts.as_dict()}


# --- lookup ----------------------------------------------------------------------------


def lookup(
    target: OrderTarget,
    ledger: Ledger,
    integration: str,
    mapped: dict[str, Any],
    settings: OrderSettings | None = None,
    *,
    opposite: str | None = None,
) -> dict[str, Any]:
    """Ask the ledger first, then the target in one batched query per kind of record.

    ``opposite`` is the ledger scope of the orders flow going the other way: an order it
    created in our source is left alone, so orders never ping-pong between the systems.
    """
    before = target.counter.calls
    orders = [Order.model_validate(o) for o in mapped["orders"]]
    counts = dict(mapped["counts"])
    if opposite:
        echoes = ledger.written_as(opposite, ORDER, [o.ref.id for o in orders])
        orders = [o for o in orders if o.ref.id not in echoes]
        counts["orders_skipped_mirrored"] = counts.get("orders_skipped_mirrored", 0) + len(echoes)
    done = ledger.get_many(integration, ORDER, [o.ref.id for o in orders])
    landed = {ref for ref, row in done.items() if row.target_ref}
    unknown = [o for o in orders if o.ref.id not in landed]
    kind = settings.order_type if settings else "sales_order"
    existing = (
        target.find_orders(sorted({reference(o) for o in unknown}), kind=kind) if unknown else {}
    )
    todo = [o for o in unknown if reference(o) not in existing]
    emails = sorted(
        {
            o.customer.email
            for o in todo
            if o.customer.email and (settings is None or fixed_debtor(settings, o.customer) is None)
        }
    )
    debtors = debtor_lookup(target, ledger, integration, emails)
    skus = sorted({line.sku for o in todo for line in o.lines})
    items = target.find_items(skus) if skus else set()
    return {
        "orders": [o.model_dump(mode="json") for o in orders],
        "mapped": mapped.get("mapped", {}),
        "landed": {o.ref.id: done[o.ref.id].target_ref for o in orders if o.ref.id in landed},
        "existing": {o.ref.id: existing[reference(o)] for o in unknown if reference(o) in existing},
        "debtors": debtors,
        "missing_skus": sorted(set(skus) - items),
        "counts": {**counts, "api_calls": target.counter.calls - before},
    }


# --- load ------------------------------------------------------------------------------


def fixed_debtor(settings: OrderSettings, customer: Customer) -> str | None:
    """The debtor the settings book this customer's orders on whoever it is, else ``None``
    (its own debtor is found or created): a ``default_debtor`` alone takes every order;
    with ``customers_without_email: default_debtor`` only those of customers without an
    e-mail. The load, the lookup before it and the dry run all ask this."""
    if settings.customers_without_email == "default_debtor" and customer.email:
        return None
    return settings.default_debtor


@dataclass
class _Loader:
    target: OrderTarget
    ledger: Ledger
    integration: str
    run_id: str
    debtors: dict[str, dict[str, Any]]
    counts: Counts
    #: the order settings (:func:`fixed_debtor` decides which orders skip the customer)
    settings: OrderSettings | None = None
    #: the order-type setting: what the target creates
    kind: str = "sales_order"
    accounts: dict[str, str] | None = None
    #: how debtors are booked (shared with the customers flow going the same way)
    customer_settings: CustomerSettings | None = None
    busy_wait_s: float = 30.0
    #: orders another attempt holds a live claim on: not written by this one, not synced
    busy: list[str] = field(default_factory=list)

    def debtor_for(self, customer: Customer) -> str:
        """The target's debtor for this customer (shared with the customers flow)."""
        code, action = sync_debtor(
            self.target,
            self.ledger,
            self.integration,
            self.run_id,
            customer,
            self.debtors.get(customer.email) if customer.email else None,
            settings=self.customer_settings,
            busy_wait_s=self.busy_wait_s,
        )
        if action in ("created", "updated"):
            self.counts.add(f"customers_{action}")
        return code

    def _booked(self, order: Order, target_ref: str) -> None:
        """The order is in the target as ``target_ref``: the ledger's row says so."""
        self.ledger.done(
            self.integration,
            ORDER,
            order.ref.id,
            target_ref=target_ref,
            content_hash=order.content_hash(),
            run_id=self.run_id,
        )

    def _refused(self, order: Order, err: FatalError | RecordError) -> None:
        """The target refused this order (or its customer) for a reason a retry won't fix:
        set it aside with the target's words; the batch goes on."""
        field = f"customer.{err.field}" if isinstance(err, RecordError) else "(target)"
        self.counts.set_aside(
            self.ledger,
            self.integration,
            order.ref.id,
            refusal(err),
            run_id=self.run_id,
            field=field,
        )

    def claim_orders(self, candidates: list[tuple[Order, str | None]]) -> list[Order]:
        """Claim each order in the ledger; return those this task must create.

        An order whose earlier attempt died mid-write (a stale claim) is looked up again,
        all of them in one batched query, before anything is created twice.
        """
        todo: list[Order] = []
        stale: list[Order] = []
        #: stale claims of this very task: an order found for one was created by this run
        ours: set[str] = set()
        existing: dict[str, str] = {}
        for order, found in candidates:
            claim, row = self.ledger.claim(self.integration, ORDER, order.ref.id, self.run_id)
            if claim is Claim.DONE and row is not None and row.run_id == self.run_id:
                # this batch's own earlier attempt created it before failing: the run's
                # report counts it as created, as it was, once
                self.counts.add("created")
                continue
            if claim is Claim.BUSY:
                self.busy.append(order.ref.id)
                continue
            if claim is Claim.DONE:
                self.counts.add("skipped_existing")
                continue
            if found is not None:
                existing[order.ref.id] = found
            elif claim is Claim.STALE:
                stale.append(order)
                if row is not None and row.run_id == self.run_id:
                    ours.add(order.ref.id)
            todo.append(order)
        if stale:
            landed = self.target.find_orders([reference(o) for o in stale], kind=self.kind)
            existing |= {o.ref.id: landed[reference(o)] for o in stale if reference(o) in landed}
        out: list[Order] = []
        for order in todo:
            if order.ref.id in existing:
                self._booked(order, existing[order.ref.id])
                if order.ref.id in ours:
                    self.counts.add("created")
                else:
                    self.counts.add("skipped_existing")
            else:
                out.append(order)
        return out

    def create(self, orders: list[Order], mapped: dict[str, dict[str, Any]]) -> None:
        """Resolve each order's debtor, then commit the orders in as few calls as the
        target allows (one ``$batch`` per chunk for Exact Globe)."""
        writes: list[OrderWrite] = []
        for order in orders:
            try:
                fixed = (
                    fixed_debtor(self.settings, order.customer)
                    if self.settings is not None
                    else None
                )
                debtor = fixed or self.debtor_for(order.customer)
            except (FatalError, RecordError) as err:
                self._refused(order, err)
                continue
            writes.append(
                OrderWrite(
                    order,
                    debtor,
                    reference(order),
                    mapped.get(order.ref.id),
                    kind=self.kind,
                    accounts=self.accounts,
                )
            )
        for write, result in zip(writes, self.target.create_orders(writes), strict=True):
            if isinstance(result, FatalError):
                self._refused(write.order, result)
                continue
            self._booked(write.order, result)
            self.counts.add("created")


def load(
    target: OrderTarget,
    ledger: Ledger,
    integration: str,
    looked_up: dict[str, Any],
    *,
    run_id: str,
    settings: OrderSettings | None = None,
    customer_settings: CustomerSettings | None = None,
) -> dict[str, Any]:
    """Write what is new; every write is preceded by a ledger claim, so retries are safe."""
    before = target.counter.calls
    counts = Counts.carried(looked_up["counts"])
    loader = _Loader(
        target,
        ledger,
        integration,
        run_id,
        looked_up["debtors"],
        counts,
        settings=settings,
        kind=settings.order_type if settings else "sales_order",
        accounts=(
            settings.journal_entry.model_dump() if settings and settings.journal_entry else None
        ),
        customer_settings=customer_settings,
    )
    missing = set(looked_up["missing_skus"])
    orders = sorted(
        (Order.model_validate(o) for o in looked_up["orders"]), key=lambda o: o.updated_at
    )
    candidates: list[tuple[Order, str | None]] = []
    for order in orders:
        ref = order.ref.id
        if ref in looked_up["landed"]:
            counts.add("skipped_existing")
            continue
        unknown = [(i, line.sku) for i, line in enumerate(order.lines) if line.sku in missing]
        if unknown:
            i, sku = unknown[0]
            reason = f"SKU {sku} does not exist in {target.system}" + (
                f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            )
            counts.set_aside(
                ledger, integration, ref, reason, run_id=run_id, field=f"lines[{i}].sku"
            )
            continue
        candidates.append((order, looked_up["existing"].get(ref)))
    loader.create(loader.claim_orders(candidates), looked_up.get("mapped", {}))
    if loader.busy:
        # a claim within its lease: another attempt may be writing it, or one that failed
        # (a re-run right after a failed run) holds it. Either way it is not synced, and a
        # run reporting success would move the window past it: retry until the claim is
        # done or stale (what this attempt created counts on the retry, see claim_orders)
        raise RetriableError(
            f"{len(loader.busy)} order(s) claimed by another attempt within the ledger's "
            f"lease: {', '.join(loader.busy[:5])}; retrying"
        )
    counts.api_calls += target.counter.calls - before
    return counts.as_dict()


# --- confirm in the source -------------------------------------------------------------

CONFIRMED = "order_confirmed"


def confirm_in_source(
    source: OrderSource,
    ledger: Ledger,
    integration: str,
    order_ids: Iterable[str],
    fields: dict[str, Any],
    *,
    run_id: str,
) -> int:
    """Write ``fields`` back to every booked order of the batch not confirmed yet.

    Text values may name the target's id of the order, ``{target_id}``: that is how the
    ERP's order number lands in a webshop field (a custom field the other way round).
    Tracked in the ledger apart from the order itself, so a task that died between the
    target's confirmation and the write-back still confirms on its retry (the PUT is
    idempotent; the ledger only saves calls).
    """
    ids = list(order_ids)
    booked = {
        ref: row.target_ref or ""
        for ref, row in ledger.get_many(integration, ORDER, ids).items()
        if row.status is Status.DONE
    }
    done = ledger.get_many(integration, CONFIRMED, ids)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    n = 0
    for ref in ids:
        if ref not in booked or (ref in done and done[ref].content_hash == digest):
            continue
        source.confirm_order(
            ref,
            {
                k: v.format(target_id=booked[ref]) if isinstance(v, str) else v
                for k, v in fields.items()
            },
        )
        ledger.done(integration, CONFIRMED, ref, target_ref=ref, content_hash=digest, run_id=run_id)
        n += 1
    return n


# --- report ----------------------------------------------------------------------------

SUMMARY_KEYS = Counts.summary_keys()


@register
class OrdersFlow(Flow):
    """Orders from the source booked in the target, with their customers; optionally
    confirmed back in the source once booked (``orders.confirm_in_source``)."""

    counts = Counts

    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        src, size = cast(OrderSource, source), ctx.spec.batch_size
        if ctx.spec.orders.confirm_in_source or ctx.full_resync:
            # a synced order may still owe its confirmation: read them all
            return Extracted(extract(src, start, end, size))
        with ctx.ledger() as ledger:
            synced = AlreadySynced(ledger, ctx.scope)
            return Extracted(extract(src, start, end, size, skip=synced), synced.skipped)

    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        return validate_and_map(
            cast(OrderSource, source), batch, ctx.spec.orders, ctx.mapper, ctx.cfg.rules
        )

    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        return ctx.on_target(lookup, mapped, ctx.spec.orders, opposite=ctx.opposite_scope)

    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        settings = ctx.spec.orders
        with ctx.target() as target, ctx.ledger() as ledger:
            result = load(
                cast(OrderTarget, target),
                ledger,
                ctx.scope,
                looked_up,
                run_id=ctx.owner,
                settings=settings,
                customer_settings=ctx.cfg.customer_settings(ctx.key),
            )
            if settings.confirm_in_source:
                ids = [o["ref"]["id"] for o in looked_up["orders"]]
                with ctx.source() as end:
                    src = cast(OrderSource, end)
                    calls = src.counter.calls
                    result["orders_confirmed_in_source"] = confirm_in_source(
                        src,
                        ledger,
                        ctx.scope,
                        ids,
                        dict(settings.confirm_in_source),
                        run_id=ctx.owner,
                    )
                    result["api_calls"] += src.counter.calls - calls
        return result
