"""The checkouts flow: carts started in the webshop, copied to the hub every 15 minutes so
it can follow up abandoned ones.

"Every 15 minutes" is the collection interval (the flow's schedule), not the webshop's
rule for when a cart counts as abandoned: every checkout changed in the window travels,
and the hub sees it again when it changes (more lines, an e-mail given, ordered). The
ledger keeps each checkout's hash and the hub's id, so an unchanged cart costs no call and
a changed one replaces the copy instead of adding a second.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, cast

from shopbridge.connectors.base import CheckoutSource, CheckoutTarget, Endpoint
from shopbridge.errors import RecordError
from shopbridge.flows.counts import RunCounts, batched
from shopbridge.flows.protocol import Extracted, Flow, Handoff, Records, StepContext, register
from shopbridge.models import Checkout
from shopbridge.store.ledger import Ledger, unchanged

CHECKOUT = "checkout"


class Counts(RunCounts):
    ENTITY = CHECKOUT
    PREFIX = "checkouts"


SUMMARY_KEYS = Counts.summary_keys()


def extract(
    source: CheckoutSource, start: datetime, end: datetime, batch_size: int
) -> list[list[dict[str, Any]]]:
    return batched(source.iter_checkout_records(start, end), source.checkout_id, batch_size)


def validate_and_map(source: CheckoutSource, batch: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counts(read=len(batch))
    out: list[dict[str, Any]] = []
    for record in batch:
        try:
            checkout = source.to_checkout(record)
        except RecordError as err:
            counts.refuse(err.source_id, err.field, err.reason)
            continue
        out.append({"checkout": checkout.model_dump(mode="json"), "hash": checkout.content_hash()})
    return {"checkouts": out, "counts": counts.as_dict()}


def lookup(ledger: Ledger, scope: str, mapped: dict[str, Any]) -> dict[str, Any]:
    """Unchanged checkouts drop out; the rest carry the hub's id when there is one."""
    counts = Counts.carried(mapped["counts"])
    items = mapped["checkouts"]
    rows = ledger.get_many(scope, CHECKOUT, [c["checkout"]["ref"]["id"] for c in items])
    todo = []
    for item in items:
        row = rows.get(item["checkout"]["ref"]["id"])
        if unchanged(row, item["hash"]):
            counts.add("unchanged")
            continue
        todo.append({**item, "existing": row.target_ref if row is not None else None})
    return {"checkouts": todo, "counts": counts.as_dict()}


def load(
    target: CheckoutTarget, ledger: Ledger, scope: str, looked_up: dict[str, Any], *, run_id: str
) -> dict[str, Any]:
    before = target.counter.calls
    counts = Counts.carried(looked_up["counts"])
    for item in looked_up["checkouts"]:
        checkout = Checkout.model_validate(item["checkout"])
        put = partial(target.put_checkout, checkout, item["existing"])
        if counts.written(
            ledger, scope, checkout.ref.id, put, content_hash=item["hash"], run_id=run_id
        ):
            counts.add("updated" if item["existing"] else "created")
    counts.api_calls += target.counter.calls - before
    return counts.as_dict()


@register
class CheckoutsFlow(Flow):
    """Checkouts (carts) copied into the target, replaced when they changed."""

    counts = Counts

    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        return Extracted(extract(cast(CheckoutSource, source), start, end, ctx.spec.batch_size))

    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        return validate_and_map(cast(CheckoutSource, source), batch)

    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        return ctx.on_ledger(lookup, mapped)

    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        return ctx.on_target(load, looked_up, run_id=ctx.owner)
