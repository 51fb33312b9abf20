"""The shipments flow: a parcel marked shipped on one side shows up, with its track &
trace code, on the same order on the other side.

The order is found through the ledger, never by a vendor id crossing over: an order the
orders flow wrote *this* way (webshop -> hub) is the row ``source_ref -> target_ref`` of
this flow's scope; an order written the *other* way (the hub ships an order the webshop
sent it) is the row whose ``target_ref`` is the shipment's order in the opposite scope.

A shipment shopbridge itself wrote into the source (from the other direction) is
recognised in the opposite scope's ledger and not echoed back. Only parcels marked
shipped travel; a changed tracking code or carrier is sent again, an unchanged one costs
no call.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import partial
from typing import Any, cast

from shopbridge.connectors.base import Endpoint, ShipmentSource, ShipmentTarget
from shopbridge.errors import RecordError
from shopbridge.flows.counts import RunCounts, batched
from shopbridge.flows.orders import ORDER
from shopbridge.flows.protocol import Extracted, Flow, Handoff, Records, StepContext, register
from shopbridge.models import Shipment
from shopbridge.store.ledger import Ledger, Status, unchanged

SHIPMENT = "shipment"


class Counts(RunCounts):
    ENTITY = SHIPMENT
    PREFIX = "shipments"
    OWN = (
        "read",
        "written",
        "unchanged",
        "skipped_not_shipped",
        "skipped_mirrored",
        "quarantined",
    )


SUMMARY_KEYS = Counts.summary_keys()


def extract(
    source: ShipmentSource, start: datetime, end: datetime, batch_size: int
) -> list[list[dict[str, Any]]]:
    """Shipments changed in the window, de-duplicated by id, in batches."""
    return batched(source.iter_shipment_records(start, end), source.shipment_id, batch_size)


def _digest(shipment: Shipment) -> str:
    key = f"{shipment.status}|{shipment.tracking_code}|{shipment.carrier}"
    return hashlib.sha256(key.encode()).hexdigest()


def validate_and_map(source: ShipmentSource, batch: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counts(read=len(batch))
    shipments: list[dict[str, Any]] = []
    for record in batch:
        try:
            shipment = source.to_shipment(record)
        except RecordError as err:
            counts.refuse(err.source_id, err.field, err.reason)
            continue
        if shipment.status != "shipped":
            counts.add("skipped_not_shipped")
            continue
        shipments.append({"shipment": shipment.model_dump(mode="json"), "hash": _digest(shipment)})
    return {"shipments": shipments, "counts": counts.as_dict()}


def lookup(ledger: Ledger, scope: str, opposite: str, mapped: dict[str, Any]) -> dict[str, Any]:
    """Drop echoes and unchanged parcels; find each order's id in the target."""
    counts = Counts.carried(mapped["counts"])
    items = mapped["shipments"]
    ids = [s["shipment"]["ref"]["id"] for s in items]
    echoes = ledger.written_as(opposite, SHIPMENT, ids)
    done = ledger.get_many(scope, SHIPMENT, ids)
    order_ids = [s["shipment"]["order_ref"]["id"] for s in items]
    sent_this_way = {
        ref: row.target_ref
        for ref, row in ledger.get_many(scope, ORDER, order_ids).items()
        if row.status is Status.DONE and row.target_ref
    }
    came_this_way = ledger.sources_of(opposite, ORDER, order_ids)
    todo = []
    for item in items:
        sid, oid = item["shipment"]["ref"]["id"], item["shipment"]["order_ref"]["id"]
        if sid in echoes:
            counts.add("skipped_mirrored")
        elif unchanged(done.get(sid), item["hash"]):
            counts.add("unchanged")
        elif (target_order := sent_this_way.get(oid) or came_this_way.get(oid)) is None:
            counts.refuse(
                sid,
                "order_ref",
                f"order {oid} was not synced by this integration, so its counterpart is unknown",
            )
        else:
            todo.append({**item, "target_order": target_order})
    return {"shipments": todo, "counts": counts.as_dict()}


def load(
    target: ShipmentTarget, ledger: Ledger, scope: str, looked_up: dict[str, Any], *, run_id: str
) -> dict[str, Any]:
    """Apply each parcel (the target matches on tracking code, so a retry adds nothing)."""
    before = target.counter.calls
    counts = Counts.carried(looked_up["counts"])
    for item in looked_up["shipments"]:
        shipment = Shipment.model_validate(item["shipment"])
        apply = partial(target.apply_shipment, item["target_order"], shipment)
        if counts.written(
            ledger, scope, shipment.ref.id, apply, content_hash=item["hash"], run_id=run_id
        ):
            counts.add("written")
    counts.api_calls += target.counter.calls - before
    return counts.as_dict()


@register
class ShipmentsFlow(Flow):
    """Shipments of orders this integration synced, applied to their counterparts."""

    counts = Counts

    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        return Extracted(extract(cast(ShipmentSource, source), start, end, ctx.spec.batch_size))

    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        return validate_and_map(cast(ShipmentSource, source), batch)

    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        return ctx.on_ledger(lookup, ctx.opposite_scope, mapped)

    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        return ctx.on_target(load, looked_up, run_id=ctx.owner)
