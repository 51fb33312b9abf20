"""The sandbox's shipments: what an order's parcels look like and how they are marked shipped.

Vendor side (VENDOR_APIS.md §1: ``shipments`` is GET and PUT only, plus ``/products``):

* ``GET /{lang}/shipments.json[?order=ID]``, ``/shipments/count.json`` and
  ``/shipments/{id}.json`` are the app's generic routes (paging, ``since_id``,
  ``*_at_min/max``; ``shipments`` is one of its resources). ``POST shipments.json`` is
  refused like every create the vendor lacks.
* ``GET /{lang}/shipments/{id}/products.json`` -> ``{"shipmentProducts": [...]}``.
* ``PUT /{lang}/shipments/{id}.json {"shipment": {"status", "trackingCode",
  "doNotifyShipped"}}``; other fields are read-only (400), ``status`` is one of
  ``not_shipped``/``shipped``/``cancelled`` (ASSUMPTION [U]: the vendor's values).

A shipment [S]: ``id``, ``number``, ``status``, ``trackingCode``, ``doNotifyShipped``,
``order`` (reference), ``products`` (to-many reference), ``createdAt``/``updatedAt``.

ASSUMPTION [U] (``create_app(shipment_cascades=...)``, on by default): a shipment's status
change moves its order's ``shipmentStatus``: ``shipped`` when every shipment that is not
cancelled is shipped, ``partially_shipped`` when some are, else ``not_shipped``; the
order's ``updatedAt`` moves with it and its shipped lines get ``quantityShipped``.

Every order placed through the checkout flow gets one ``not_shipped`` shipment holding all
its lines (:func:`add_shipment`). Sandbox control, a shipment added by hand in the back
office: ``POST /_sandbox/orders/{id}/shipments {"trackingCode"?: "...", "status"?:
"shipped"}`` (all the order's lines; answers ``{"shipment": {...}}``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Body, FastAPI, Request

from shopbridge_dev.sandboxes._common import CONTROL_PREFIX, JsonState, SandboxControls
from shopbridge_dev.sandboxes.lightspeed_ecom.wire import (
    ApiError,
    bumped,
    many,
    ref,
    render,
    ts,
)

STATUSES = frozenset({"not_shipped", "shipped", "cancelled"})
WRITABLE_FIELDS = frozenset({"status", "trackingCode", "doNotifyShipped"})
#: shipment ids start above this (apart from order ids, so a mix-up shows)
FIRST_ID = 50000

Base = Callable[[Request, str], str]


def _tables(store: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return store.setdefault("shipments", {}), store.setdefault("shipmentProducts", {})


def add_shipment(
    store: dict[str, Any],
    order_id: int | str,
    *,
    status: str = "not_shipped",
    tracking_code: str = "",
    cascade: bool = True,
) -> dict[str, Any]:
    """Add a shipment of all of order ``order_id``'s lines (caller holds the state lock);
    the order's ``shipments`` relation then points at ``shipments?order=ID``."""
    if status not in STATUSES:
        raise ApiError(400, f"shipment status must be one of {', '.join(sorted(STATUSES))}")
    shipments, products = _tables(store)
    order = store["orders"][str(order_id)]
    sid = max((int(k) for k in shipments), default=FIRST_ID) + 1
    now = ts(datetime.now(UTC))
    oid = order["id"]
    record = {
        "id": sid,
        "createdAt": now,
        "updatedAt": now,
        "number": f"SHIP{sid}",
        "status": status,
        "trackingCode": tracking_code,
        "doNotifyShipped": False,
        "order": ref("orders", oid),
        "products": many(f"shipments/{sid}/products"),
    }
    shipments[str(sid)] = record
    products[str(sid)] = [
        {
            "id": i + 1,
            "quantity": line.get("quantityOrdered", 0),
            "articleCode": line.get("articleCode", ""),
            "ean": line.get("ean", ""),
            "sku": line.get("sku", ""),
            "productTitle": line.get("productTitle", ""),
            "variantTitle": line.get("variantTitle", ""),
            "orderProduct": ref(f"orders/{oid}/products", line["id"]),
            "product": line.get("product", False),
            "variant": line.get("variant", False),
        }
        for i, line in enumerate(store["orderProducts"].get(str(oid), []))
    ]
    order["shipments"] = many(f"shipments?order={oid}")
    if cascade:
        cascade_to_order(store, oid)
    return record


def cascade_to_order(store: dict[str, Any], order_id: int | str) -> None:
    """Bring the order's ``shipmentStatus`` (and its lines' ``quantityShipped``) in line
    with its shipments; ``updatedAt`` moves only when something changed."""
    order = store["orders"].get(str(order_id))
    if order is None:
        return
    shipments, products = _tables(store)
    mine = [
        s
        for s in shipments.values()
        if s["order"]["resource"]["id"] == order["id"] and s["status"] != "cancelled"
    ]
    shipped = [s for s in mine if s["status"] == "shipped"]
    if mine and len(shipped) == len(mine):
        status = "shipped"
    elif shipped:
        status = "partially_shipped"
    else:
        status = "not_shipped"
    sent: dict[str, int] = {}
    for s in shipped:
        for row in products.get(str(s["id"]), []):
            ref = row["orderProduct"]["resource"]["id"]
            sent[str(ref)] = sent.get(str(ref), 0) + int(row.get("quantity") or 0)
    changed = order.get("shipmentStatus") != status
    order["shipmentStatus"] = status
    for line in store["orderProducts"].get(str(order["id"]), []):
        qty = min(sent.get(str(line["id"]), 0), int(line.get("quantityOrdered") or 0))
        if mine and line.get("quantityShipped") != qty:
            line["quantityShipped"] = qty
            changed = True
    if changed:
        order["updatedAt"] = bumped(order.get("updatedAt"))


def install_shipments(
    app: FastAPI,
    *,
    store: dict[str, Any],
    state: JsonState,
    controls: SandboxControls,
    base: Base,
    cascade: bool = True,
) -> None:
    """Register the shipment write and sub-resource routes and the hand-made-shipment
    control; before the app's generic routes (they would answer these paths first)."""
    _tables(store)

    def one(sid: str) -> dict[str, Any]:
        found: dict[str, Any] | None = store["shipments"].get(sid)
        if found is None:
            raise ApiError(404, f"shipment {sid} not found")
        return found

    @app.get("/{lang}/shipments/{sid}/products.json")
    def shipment_products(lang: str, sid: str, request: Request) -> dict[str, Any]:
        with state.lock:
            one(sid)
            rows = store["shipmentProducts"].get(sid, [])
            return {"shipmentProducts": render(rows, base(request, lang))}

    @app.put("/{lang}/shipments/{sid}.json")
    def update_shipment(
        lang: str,
        sid: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        fields = body.get("shipment")
        if not isinstance(fields, dict):
            raise ApiError(400, 'body must be {"shipment": {...}}')
        if bad := sorted(set(fields) - WRITABLE_FIELDS):
            raise ApiError(400, f"read-only shipment field(s): {', '.join(bad)}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ApiError(400, f"shipment status must be one of {', '.join(sorted(STATUSES))}")
        if "trackingCode" in fields and not isinstance(fields["trackingCode"], str):
            raise ApiError(400, "shipment trackingCode must be text")
        with state.lock:
            record = one(sid)
            if any(record.get(k) != v for k, v in fields.items()):
                record.update(fields)
                record["updatedAt"] = bumped(record.get("updatedAt"))
                if cascade:
                    cascade_to_order(store, record["order"]["resource"]["id"])
                state.save()
            controls.count("writes")
            return {"shipment": render(record, base(request, lang))}

    @app.post(f"{CONTROL_PREFIX}/orders/{{oid}}/shipments", status_code=201)
    def hand_made_shipment(
        oid: str,
        body: dict[str, Any] = Body(default={}),  # noqa: B008
    ) -> dict[str, Any]:
        """A shipment added by hand in the Lightspeed back office."""
        if bad := sorted(set(body) - {"trackingCode", "status"}):
            raise ApiError(400, f"unknown field(s): {', '.join(bad)}")
        code = body.get("trackingCode", "")
        if not isinstance(code, str):
            raise ApiError(400, "trackingCode must be text")
        with state.lock:
            if oid not in store["orders"]:
                raise ApiError(404, f"order {oid} not found")
            record = add_shipment(
                store,
                oid,
                status=str(body.get("status", "shipped")),
                tracking_code=code,
                cascade=cascade,
            )
            state.save()
            return {"shipment": dict(record)}
