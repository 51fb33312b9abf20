"""The stock flow: the level the target should show for every SKU, written when it changed.

Stock is read in full each run (a level changes without the product's timestamp moving,
and a missed change would be wrong until the next one); the ledger keeps a hash of the
level and managed flag last written per SKU, so only changed levels cost a write. A full
resync (``full_resync`` in the run's conf) writes every level again, for after someone
corrected stock by hand in the target.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from shopbridge.config import RecordRules, StockSettings
from shopbridge.connectors.base import Endpoint, StockSource, StockTarget
from shopbridge.errors import FatalError, RecordError
from shopbridge.flows.counts import RunCounts, batched, refusal
from shopbridge.flows.protocol import Extracted, Flow, Handoff, Records, StepContext, register
from shopbridge.flows.records import complete_stock
from shopbridge.models import StockLevel
from shopbridge.store.ledger import Ledger, unchanged

STOCK = "stock"


class Counts(RunCounts):
    ENTITY = STOCK
    PREFIX = "stock"
    OWN = ("read", "written", "unchanged", "quarantined")


SUMMARY_KEYS = Counts.summary_keys()


def extract(source: StockSource, batch_size: int) -> list[list[dict[str, Any]]]:
    """Every stock record, de-duplicated by id, in bounded batches."""
    return batched(source.iter_stock_records(), source.stock_id, batch_size)


def level(stock: StockLevel, settings: StockSettings, source_id: str) -> Decimal:
    """The quantity to send, by the calculation setting, less the safety buffer.

    Never below zero: a shop cannot sell a negative quantity, and a reservation larger
    than the stock on hand means "nothing left", not a debt.
    """
    if settings.calculation == "on_hand":
        qty = stock.on_hand
    elif settings.calculation == "location":
        assert settings.location is not None
        if settings.location not in stock.locations:
            raise RecordError(
                "stock",
                source_id,
                f"locations.{settings.location}",
                f"no stock reported for location {settings.location!r} "
                f"(known: {', '.join(sorted(stock.locations)) or 'none'})",
            )
        qty = stock.locations[settings.location]
    else:
        qty = stock.on_hand - stock.reserved
    return max(Decimal(0), qty - settings.safety_buffer)


def managed(stock: StockLevel, settings: StockSettings) -> bool:
    return {"always": True, "never": False}.get(settings.managed, stock.managed)


def validate_and_map(
    source: StockSource,
    batch: list[dict[str, Any]],
    settings: StockSettings,
    rules: RecordRules | None = None,
) -> dict[str, Any]:
    """The level and managed flag per item; a bad record is quarantined alone. The item
    is the key the pair's ``item_key`` rule picks (as for order lines and products)."""
    counts = Counts(read=len(batch))
    levels: list[dict[str, Any]] = []
    for record in batch:
        source_id = source.stock_id(record)
        try:
            stock = complete_stock(source.to_stock(record), rules or RecordRules(), source_id)
            quantity = level(stock, settings, source_id)
        except RecordError as err:
            counts.refuse(err.source_id, err.field, err.reason)
            continue
        flag = managed(stock, settings)
        digest = hashlib.sha256(f"{quantity}|{flag}|{settings.target_location}".encode())
        levels.append(
            {
                "source_id": source_id,
                "sku": stock.sku,
                "quantity": str(quantity),
                "managed": flag,
                "hash": digest.hexdigest(),
            }
        )
    return {"levels": levels, "counts": counts.as_dict()}


def lookup(
    target: StockTarget,
    ledger: Ledger,
    integration: str,
    mapped: dict[str, Any],
    *,
    full_resync: bool = False,
) -> dict[str, Any]:
    """Unchanged levels (ledger) drop out; the rest are checked to exist in one query."""
    before = target.counter.calls
    counts = Counts.carried(mapped["counts"])
    rows = ledger.get_many(integration, STOCK, [lv["sku"] for lv in mapped["levels"]])
    todo = []
    for lv in mapped["levels"]:
        if not full_resync and unchanged(rows.get(lv["sku"]), lv["hash"]):
            counts.add("unchanged")
        else:
            todo.append(lv)
    known = target.find_items(sorted({lv["sku"] for lv in todo})) if todo else set()
    levels = []
    for lv in todo:
        if lv["sku"] in known:
            levels.append(lv)
            continue
        counts.refuse(lv["source_id"], "sku", f"SKU {lv['sku']} does not exist in {target.system}")
    counts.api_calls += target.counter.calls - before
    return {"levels": levels, "counts": counts.as_dict()}


def load(
    target: StockTarget,
    ledger: Ledger,
    integration: str,
    looked_up: dict[str, Any],
    *,
    run_id: str,
    settings: StockSettings,
) -> dict[str, Any]:
    """Write each level (an absolute value, so a retried write is harmless)."""
    before = target.counter.calls
    counts = Counts.carried(looked_up["counts"])
    for lv in looked_up["levels"]:
        try:
            target.set_stock(
                lv["sku"],
                Decimal(lv["quantity"]),
                managed=lv["managed"],
                location=settings.target_location,
            )
        except (FatalError, RecordError) as err:
            counts.set_aside(
                ledger,
                integration,
                lv["sku"],
                refusal(err),
                run_id=run_id,
                source_id=lv["source_id"],
            )
            continue
        ledger.done(
            integration,
            STOCK,
            lv["sku"],
            target_ref=lv["sku"],
            content_hash=lv["hash"],
            run_id=run_id,
        )
        counts.add("written")
    counts.api_calls += target.counter.calls - before
    return counts.as_dict()


@register
class StockFlow(Flow):
    """The source's stock levels set in the target, when they changed. Reads every
    level on each run: stock has no "changed since"."""

    counts = Counts

    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        return Extracted(extract(cast(StockSource, source), ctx.spec.batch_size))

    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        return validate_and_map(cast(StockSource, source), batch, ctx.spec.stock, ctx.cfg.rules)

    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        return ctx.on_target(lookup, mapped, full_resync=ctx.full_resync)

    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        return ctx.on_target(load, looked_up, run_id=ctx.owner, settings=ctx.spec.stock)
