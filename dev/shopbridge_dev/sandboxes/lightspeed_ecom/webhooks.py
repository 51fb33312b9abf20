"""The sandbox's webhooks: registration routes and signed deliveries of record events.

Vendor routes (behind the app's auth and rate limits, like every vendor route):

* ``GET/POST /{lang}/webhooks.json`` (the list pages with ``page``/``limit``),
  ``GET /{lang}/webhooks/count.json``, ``GET/PUT/DELETE /{lang}/webhooks/{id}.json`` with
  the envelope ``{"webhook": {isActive, itemGroup, itemAction, language, format,
  address}}``. ``itemGroup`` is one of orders/customers/products/variants/shipments,
  ``itemAction`` one of created/updated/deleted/* (and ``shipped`` for orders); anything
  else is a 400 in the vendor's error envelope.

Deliveries: every write request (any POST/PUT/PATCH/DELETE, vendor route or ``/_sandbox``
control, while an active webhook exists) is watched; each order, customer, shipment,
product or variant it created, changed or deleted is delivered to every active webhook on
its group whose action matches: ``POST address`` with the record in the GET envelope
(``{"order": {...}}``, links in the webhook's language) and ``X-Signature`` =
:func:`.webhooks.signature` of the exact body with the API secret. As the vendor does for
webhook payloads (VENDOR_APIS.md §1 [V]), relations are embedded in their reference: an
order's lines (``products.resource.embedded``, a list of orderProducts), its customer
(``customer.resource.embedded``) and shipments; a shipment's lines. Orders also fire
``shipped`` when their ``shipmentStatus`` becomes ``shipped`` (a shipment marked shipped
cascades to it, see :mod:`.shipment`). A deleted record is delivered as it was.

A small pool of sender threads (``workers``, 4 by default, started on demand and gone
when idle) sends them from a queue (requests never wait), with a short timeout and no
retries; every attempt is recorded. Deliveries may arrive out of order, as at the vendor.

Controls: ``GET /_sandbox/deliveries`` -> ``{"pending": N, "deliveries": [{webhook_id,
item_group, item_id, order_id (orders only), action, status | error, at}]}`` (``pending``
counts queued and in-flight deliveries; ``0`` means every one is in the log); ``DELETE``
clears the log; ``POST /_sandbox/deliver {"order_id": N, "action"?: "updated"}`` or
``{"item_group": "shipments", "id": N, "action"?}`` re-sends the current record (to every
active webhook on its group when no action is given): duplicate deliveries on demand.

ASSUMPTION [U]: changes are found by comparing the watched tables before and after a write
request, so two concurrent writes may both report each other's change (a duplicate
delivery, which receivers must tolerate anyway). A ``*`` webhook gets one delivery per
record and request, whose ``action`` lists every action that matched
(``shipped,updated``).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import Body, FastAPI, Request, Response

from shopbridge.connectors.lightspeed_ecom.webhooks import SIGNATURE_HEADER, signature
from shopbridge_dev.sandboxes._common import CONTROL_PREFIX, JsonState
from shopbridge_dev.sandboxes.lightspeed_ecom.vendor_shapes import pad
from shopbridge_dev.sandboxes.lightspeed_ecom.wire import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiError,
    bumped,
    int_param,
    render,
    ts,
)

log = logging.getLogger(__name__)

ITEM_GROUPS = frozenset({"orders", "customers", "products", "variants", "shipments"})
ITEM_ACTIONS = frozenset({"created", "updated", "deleted", "*", "shipped"})
FORMATS = frozenset({"json"})
WEBHOOK_FIELDS = frozenset({"isActive", "itemGroup", "itemAction", "language", "format", "address"})
#: item group -> the envelope key of its records (the store's table is the group)
ENVELOPES = {
    "orders": "order",
    "customers": "customer",
    "shipments": "shipment",
    "products": "product",
    "variants": "variant",
}
#: seconds a delivery may take before it is recorded as failed
DELIVERY_TIMEOUT_S = 2.0
#: sender threads at most (a burst queues; it is never dropped)
DELIVERY_WORKERS = 4
#: attempts kept for ``GET /_sandbox/deliveries``
MAX_LOGGED = 5000
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: controls that change no record (not watched)
_UNWATCHED = re.compile(rf"^{CONTROL_PREFIX}/(deliver|deliveries|faults|stats|checkout_methods)$")

Base = Callable[[Request, str], str]
#: group -> id -> (record, updatedAt, status that matters)
_Snapshot = dict[str, dict[str, tuple[dict[str, Any], Any, Any]]]


@dataclass(frozen=True)
class _Delivery:
    webhook_id: int
    item_group: str
    item_id: Any
    action: str
    address: str
    body: bytes
    headers: dict[str, str]


class Deliverer:
    """Up to ``workers`` sender threads draining one queue; started as work arrives and
    exiting after ``idle_s`` without any. ``pending`` counts deliveries queued or being
    sent: it drops only once the attempt is in the log."""

    def __init__(
        self,
        timeout_s: float = DELIVERY_TIMEOUT_S,
        idle_s: float = 5.0,
        workers: int = DELIVERY_WORKERS,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.timeout_s = timeout_s
        self.idle_s = idle_s
        self.workers = workers
        self.queue: queue.Queue[_Delivery] = queue.Queue()
        self.log: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED)
        self.pending = 0
        self.lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, delivery: _Delivery) -> None:
        with self.lock:
            self.pending += 1
            self.queue.put(delivery)
            # a new sender only when the waiting ones cannot take everything queued
            if self._threads < self.workers and self.queue.qsize() > self._idle:
                self._threads += 1
                threading.Thread(
                    target=self._run, name=f"ls-webhooks-{self._threads}", daemon=True
                ).start()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"pending": self.pending, "deliveries": list(self.log)}

    def clear(self) -> None:
        with self.lock:
            self.log.clear()

    def _run(self) -> None:
        while True:
            with self.lock:
                self._idle += 1
            try:
                item = self.queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self.lock:
                    self._idle -= 1
                    if self.queue.empty():  # submit() holds the lock to queue: no race
                        self._threads -= 1
                        return
                continue
            with self.lock:
                self._idle -= 1
            outcome = self._send(item)
            entry = {
                "webhook_id": item.webhook_id,
                "item_group": item.item_group,
                "item_id": item.item_id,
            }
            if item.item_group == "orders":
                entry["order_id"] = item.item_id
            with self.lock:
                self.log.append(
                    {**entry, "action": item.action, **outcome, "at": datetime.now(UTC).isoformat()}
                )
                self.pending -= 1

    def _send(self, item: _Delivery) -> dict[str, Any]:
        """One attempt, never raising: ``{"status": N}`` or ``{"error": text}``."""
        # the address is checked to be http(s)
        req = urllib.request.Request(  # noqa: S310
            item.address,
            data=item.body,
            headers=item.headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                return {"status": resp.status}
        except urllib.error.HTTPError as exc:
            exc.close()
            return {"status": exc.code}
        except Exception as exc:  # noqa: BLE001 (any failure is recorded, never retried)
            log.info("webhook %s delivery to %s failed: %s", item.webhook_id, item.address, exc)
            return {"error": f"{type(exc).__name__}: {exc}"}


def _validated(fields: Any, current: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """The webhook after applying ``fields`` (all of them on create), or a 400."""
    if not isinstance(fields, dict):
        raise ApiError(400, 'body must be {"webhook": {...}}')
    if bad := sorted(set(fields) - WEBHOOK_FIELDS):
        raise ApiError(400, f"unknown webhook field(s): {', '.join(bad)}")
    hook = {"isActive": True, "language": lang, "format": "json"} if current is None else {}
    hook |= (current or {}) | fields
    for name in ("itemGroup", "itemAction", "address"):
        if name not in hook:
            raise ApiError(400, f"webhook.{name} is required")
    if not isinstance(hook["isActive"], bool):
        raise ApiError(400, "webhook.isActive must be true or false")
    if hook["itemGroup"] not in ITEM_GROUPS:
        raise ApiError(400, f"webhook.itemGroup must be one of {', '.join(sorted(ITEM_GROUPS))}")
    if hook["itemAction"] not in ITEM_ACTIONS:
        raise ApiError(400, f"webhook.itemAction must be one of {', '.join(sorted(ITEM_ACTIONS))}")
    if hook["itemAction"] == "shipped" and hook["itemGroup"] != "orders":
        raise ApiError(400, "webhook.itemAction 'shipped' exists only for orders")
    if hook["format"] not in FORMATS:
        raise ApiError(400, "webhook.format must be 'json'")
    if not isinstance(hook["language"], str) or not re.fullmatch(r"[a-z]{2}", hook["language"]):
        raise ApiError(400, "webhook.language must be a two-letter language code")
    address = hook["address"]
    parts = urlsplit(address) if isinstance(address, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(400, "webhook.address must be an http(s) URL")
    return hook


#: how the API shows a webhook's language (``{id, code, locale, title}`` [V, live])
_LANGUAGES = {
    "nl": (1, "nl_NL", "Nederlands"),
    "en": (3, "en_GB", "English"),
    "de": (4, "de_DE", "Deutsch"),
    "fr": (5, "fr_FR", "Français"),
    "us": (18, "en_US", "English (US)"),
}


def shown(hook: dict[str, Any]) -> dict[str, Any]:
    """A stored webhook as the API shows it: ``language`` as an object (stored as a code,
    which the deliveries use)."""
    code = hook.get("language")
    if not isinstance(code, str):
        return dict(hook)
    lid, locale, title = _LANGUAGES.get(code, (0, code, code))
    return {**hook, "language": {"id": lid, "code": code, "locale": locale, "title": title}}


def _matches(hook: dict[str, Any], group: str, actions: set[str] | None) -> bool:
    """An active webhook on ``group`` for one of ``actions`` (``None``: any action)."""
    if not hook.get("isActive") or hook.get("itemGroup") != group:
        return False
    return actions is None or hook.get("itemAction") in actions | {"*"}


def _embed(ref: Any, data: Any) -> Any:
    """Reference ``ref`` carrying ``data`` as ``embedded``; ``false`` stays ``false``."""
    if not isinstance(ref, dict) or not isinstance(ref.get("resource"), dict):
        return ref
    return {**ref, "resource": {**ref["resource"], "embedded": data}}


def _ref_id(ref: Any) -> str | None:
    resource = ref.get("resource") if isinstance(ref, dict) else None
    rid = resource.get("id") if isinstance(resource, dict) else None
    return None if rid in (None, False, "") else str(rid)


def payload(
    store: dict[str, Any], group: str, record: dict[str, Any], link_base: str
) -> dict[str, Any]:
    """The delivery body of ``record``: its GET envelope with the relations embedded
    (caller holds the state lock)."""
    out: dict[str, Any] = render(pad(group, record), link_base)
    rid = str(record.get("id"))
    if group == "orders":
        lines = [pad("orderProducts", ln) for ln in store.get("orderProducts", {}).get(rid, [])]
        if out.get("products") is False and lines:
            out["products"] = {"resource": {"id": False, "url": f"orders/{rid}/products"}}
        if "products" in out:
            out["products"] = _embed(out["products"], render(lines, link_base))
        customer = store["customers"].get(_ref_id(record.get("customer")) or "")
        if customer is not None:
            out["customer"] = _embed(
                out.get("customer"), render(pad("customers", customer), link_base)
            )
        if isinstance(out.get("shipments"), dict):
            shipments = sorted(
                (s for s in store.get("shipments", {}).values() if _ref_id(s.get("order")) == rid),
                key=lambda s: int(s["id"]),
            )
            out["shipments"] = _embed(
                out["shipments"], render([pad("shipments", s) for s in shipments], link_base)
            )
    elif group == "shipments":
        lines = store.get("shipmentProducts", {}).get(rid, [])
        out["products"] = _embed(out.get("products"), render(lines, link_base))
    return {ENVELOPES[group]: out}


def install_webhooks(
    app: FastAPI,
    *,
    store: dict[str, Any],
    state: JsonState,
    secret: str,
    base: Base,
    workers: int = DELIVERY_WORKERS,
) -> Deliverer:
    """Register the webhook routes, the delivery controls and the change watcher.

    Call it before the app's generic ``/{lang}/{resource}...`` routes (they would answer
    these paths first) and before the app's auth middleware (so it wraps this one).
    """
    store.setdefault("webhooks", {})
    deliverer = Deliverer(workers=workers)

    def one(item: str) -> dict[str, Any]:
        hook: dict[str, Any] | None = store["webhooks"].get(item)
        if hook is None:
            raise ApiError(404, f"webhook {item} not found")
        return hook

    @app.get("/{lang}/webhooks/count.json")
    def count_webhooks() -> dict[str, int]:
        with state.lock:
            return {"count": len(store["webhooks"])}

    @app.get("/{lang}/webhooks.json")
    def list_webhooks(request: Request) -> dict[str, Any]:
        q = request.query_params
        page = int_param(q.get("page"), "page", 1)
        limit = min(MAX_LIMIT, int_param(q.get("limit"), "limit", DEFAULT_LIMIT))
        if page < 1 or limit < 1:
            raise ApiError(400, "page and limit must be positive")
        with state.lock:
            hooks = sorted(store["webhooks"].values(), key=lambda h: int(h["id"]))
            return {"webhooks": [shown(h) for h in hooks[(page - 1) * limit : page * limit]]}

    @app.post("/{lang}/webhooks.json", status_code=201)
    def create_webhook(lang: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        hook = _validated(body.get("webhook"), None, lang)
        with state.lock:
            wid = max((int(k) for k in store["webhooks"]), default=0) + 1
            now = ts(datetime.now(UTC))
            hook = {"id": wid, "createdAt": now, "updatedAt": now, **hook}
            store["webhooks"][str(wid)] = hook
            state.save()
            return {"webhook": shown(hook)}

    @app.get("/{lang}/webhooks/{item}.json")
    def get_webhook(item: str) -> dict[str, Any]:
        with state.lock:
            return {"webhook": shown(one(item))}

    @app.put("/{lang}/webhooks/{item}.json")
    def update_webhook(lang: str, item: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        with state.lock:
            current = one(item)
            fields = {k: v for k, v in current.items() if k in WEBHOOK_FIELDS}
            hook = _validated(body.get("webhook"), fields, lang)
            current.update(hook)
            current["updatedAt"] = bumped(current.get("updatedAt"))
            state.save()
            return {"webhook": shown(current)}

    @app.delete("/{lang}/webhooks/{item}.json")
    def delete_webhook(item: str) -> dict[str, Any]:
        with state.lock:
            one(item)
            del store["webhooks"][item]
            state.save()
        return {}

    def deliver(
        request: Request,
        group: str,
        rid: str,
        actions: set[str] | None,
        gone: dict[str, Any] | None = None,
    ) -> int:
        """Queue record ``rid`` of ``group`` (or ``gone``, a deleted one) for every
        matching webhook; how many were queued."""
        with state.lock:
            record = gone if gone is not None else store.get(group, {}).get(rid)
            hooks = [dict(h) for h in store["webhooks"].values() if _matches(h, group, actions)]
            if record is None or not hooks:
                return 0
            # the vendor escapes "/" as "\/" [V: recorded deliveries]
            bodies = {
                h["language"]: json.dumps(
                    payload(store, group, record, base(request, h["language"]))
                )
                .replace("/", "\\/")
                .encode()
                for h in hooks
            }
        action = ",".join(sorted(actions)) if actions else "resend"
        for h in sorted(hooks, key=lambda h: int(h["id"])):
            body = bodies[h["language"]]
            deliverer.submit(
                _Delivery(
                    webhook_id=int(h["id"]),
                    item_group=group,
                    item_id=record.get("id"),
                    action=action,
                    address=h["address"],
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: signature(body, secret),
                    },
                )
            )
        return len(hooks)

    @app.get(f"{CONTROL_PREFIX}/deliveries")
    def deliveries() -> dict[str, Any]:
        return deliverer.snapshot()

    @app.delete(f"{CONTROL_PREFIX}/deliveries")
    def clear_deliveries() -> dict[str, Any]:
        deliverer.clear()
        return {"deliveries": []}

    @app.post(f"{CONTROL_PREFIX}/deliver")
    def redeliver(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, int]:  # noqa: B008
        group = str(body.get("item_group", "orders"))
        rid = str(body.get("id", body.get("order_id")))
        action = body.get("action")
        if group not in ITEM_GROUPS:
            raise ApiError(400, f"item_group must be one of {', '.join(sorted(ITEM_GROUPS))}")
        if action is not None and action not in ITEM_ACTIONS:
            raise ApiError(400, f"action must be one of {', '.join(sorted(ITEM_ACTIONS))}")
        with state.lock:
            if rid not in store.get(group, {}):
                raise ApiError(404, f"{ENVELOPES[group]} {rid} not found")
        return {"queued": deliver(request, group, rid, None if action is None else {action})}

    def watching() -> bool:
        with state.lock:
            return any(h.get("isActive") for h in store["webhooks"].values())

    def snapshot() -> _Snapshot:
        with state.lock:
            out: _Snapshot = {}
            for group in ENVELOPES:
                status = "shipmentStatus" if group == "orders" else "status"
                out[group] = {
                    k: (r, r.get("updatedAt"), r.get(status))
                    for k, r in store.get(group, {}).items()
                }
            return out

    @app.middleware("http")
    async def record_events(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Around write requests: deliver every record the request created, changed or
        deleted (only while some webhook is active: otherwise nothing could be sent)."""
        if (
            request.method not in _WRITE_METHODS
            or _UNWATCHED.match(request.url.path)
            or not watching()
        ):
            return await call_next(request)
        before = snapshot()
        response = await call_next(request)
        if response.status_code >= 300:
            return response
        after = snapshot()
        for group in ENVELOPES:
            old_rows, new_rows = before[group], after[group]
            for rid, (record, updated, status) in new_rows.items():
                old = old_rows.get(rid)
                if old is None:
                    actions = {"created"}
                elif old[0] is not record or old[1] != updated or old[2] != status:
                    actions = {"updated"}
                else:
                    continue
                if (
                    group == "orders"
                    and status == "shipped"
                    and (old is None or old[2] != "shipped")
                ):
                    actions.add("shipped")
                deliver(request, group, rid, actions)
            for rid, (record, _, _) in old_rows.items():
                if rid not in new_rows:
                    deliver(request, group, rid, {"deleted"}, gone=record)
        return response

    return deliverer
