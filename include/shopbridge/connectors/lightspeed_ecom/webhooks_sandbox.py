"""The sandbox's webhooks: registration routes and signed deliveries of order events.

Vendor routes (behind the app's auth and rate limits, like every vendor route):

* ``GET/POST /{lang}/webhooks.json``, ``GET /{lang}/webhooks/count.json``,
  ``GET/PUT/DELETE /{lang}/webhooks/{id}.json`` with the envelope
  ``{"webhook": {isActive, itemGroup, itemAction, language, format, address}}``.
  ``itemGroup`` is one of orders/customers/products/variants/shipments, ``itemAction`` one
  of created/updated/deleted/* (and ``shipped`` for orders); anything else is a 400 in the
  vendor's error envelope.

Deliveries: when an order is created or changed through the sandbox (``POST
/_sandbox/orders``, ``PUT /{lang}/orders/{id}.json``, ``POST .../checkouts/{id}/order.json``)
every active webhook on ``orders`` whose action matches gets ``POST address`` with body
``{"order": {...}}`` (the order as GET renders it, links in the webhook's language) and
``X-Signature`` = :func:`.webhooks.signature` of the exact body with the API secret.
A single background thread sends them from a queue (requests never wait), with a short
timeout and no retries; every attempt is recorded.

Controls: ``GET /_sandbox/deliveries`` → ``{"pending": N, "deliveries": [{webhook_id,
order_id, action, status | error, at}]}``; ``DELETE`` clears the log; ``POST
/_sandbox/deliver {"order_id": N, "action"?: "updated"}`` re-sends the current order (to
every active order webhook when no action is given): duplicate deliveries on demand.

ASSUMPTION [U]: only order events are delivered; ``shipped`` fires when an order's
``shipmentStatus`` becomes ``shipped``. Changes are found by comparing the orders before
and after a write request, so two concurrent order writes may both report each other's
change (a duplicate delivery, which receivers must tolerate anyway).
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

from shopbridge.connectors.lightspeed_ecom.sandbox import ApiError, _bumped, _render, _ts
from shopbridge.connectors.lightspeed_ecom.webhooks import SIGNATURE_HEADER, signature
from shopbridge.sandbox._common import CONTROL_PREFIX, JsonState

log = logging.getLogger(__name__)

ITEM_GROUPS = frozenset({"orders", "customers", "products", "variants", "shipments"})
ITEM_ACTIONS = frozenset({"created", "updated", "deleted", "*", "shipped"})
FORMATS = frozenset({"json"})
WEBHOOK_FIELDS = frozenset({"isActive", "itemGroup", "itemAction", "language", "format",
                            "address"})
#: seconds a delivery may take before it is recorded as failed
DELIVERY_TIMEOUT_S = 2.0
#: attempts kept for ``GET /_sandbox/deliveries``
MAX_LOGGED = 1000
#: write requests that may create or change orders
_ORDER_WRITES = (
    ("POST", re.compile(rf"^{CONTROL_PREFIX}/orders$")),
    ("PUT", re.compile(r"^/[^/]+/orders/[^/]+\.json$")),
    ("POST", re.compile(r"^/[^/]+/checkouts/[^/]+/order\.json$")),
)

Base = Callable[[Request, str], str]
_Snapshot = dict[str, tuple[dict[str, Any], Any, Any]]


@dataclass(frozen=True)
class _Delivery:
    webhook_id: int
    order_id: Any
    action: str
    address: str
    body: bytes
    headers: dict[str, str]


class Deliverer:
    """One lazily started worker thread sending queued deliveries; it exits when idle."""

    def __init__(self, timeout_s: float = DELIVERY_TIMEOUT_S, idle_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self.idle_s = idle_s
        self.queue: queue.Queue[_Delivery] = queue.Queue()
        self.log: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED)
        self.pending = 0
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def submit(self, delivery: _Delivery) -> None:
        with self.lock:
            self.pending += 1
            self.queue.put(delivery)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="ls-webhooks",
                                               daemon=True)
                self.thread.start()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"pending": self.pending, "deliveries": list(self.log)}

    def clear(self) -> None:
        with self.lock:
            self.log.clear()

    def _run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self.lock:
                    if self.queue.empty():
                        self.thread = None
                        return
                continue
            outcome = self._send(item)
            with self.lock:
                self.log.append({"webhook_id": item.webhook_id, "order_id": item.order_id,
                                 "action": item.action, **outcome,
                                 "at": datetime.now(UTC).isoformat()})
                self.pending -= 1

    def _send(self, item: _Delivery) -> dict[str, Any]:
        """One attempt, never raising: ``{"status": N}`` or ``{"error": text}``."""
        req = urllib.request.Request(item.address, data=item.body, headers=item.headers,  # noqa: S310 (address is checked to be http(s))
                                     method="POST")
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
        raise ApiError(400, f"webhook.itemAction must be one of "
                            f"{', '.join(sorted(ITEM_ACTIONS))}")
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


def _matches(hook: dict[str, Any], actions: set[str] | None) -> bool:
    """An active order webhook for one of ``actions`` (``None``: any action)."""
    if not hook.get("isActive") or hook.get("itemGroup") != "orders":
        return False
    return actions is None or hook.get("itemAction") in actions | {"*"}


def install_webhooks(app: FastAPI, *, store: dict[str, Any], state: JsonState, secret: str,
                     base: Base) -> Deliverer:
    """Register the webhook routes, the delivery controls and the order-change watcher.

    Call it before the app's generic ``/{lang}/{resource}...`` routes (they would answer
    these paths first) and before the app's auth middleware (so it wraps this one).
    """
    store.setdefault("webhooks", {})
    deliverer = Deliverer()

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
    def list_webhooks() -> dict[str, Any]:
        with state.lock:
            hooks = sorted(store["webhooks"].values(), key=lambda h: int(h["id"]))
            return {"webhooks": [dict(h) for h in hooks]}

    @app.post("/{lang}/webhooks.json", status_code=201)
    def create_webhook(lang: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        hook = _validated(body.get("webhook"), None, lang)
        with state.lock:
            wid = max((int(k) for k in store["webhooks"]), default=0) + 1
            now = _ts(datetime.now(UTC))
            hook = {"id": wid, "createdAt": now, "updatedAt": now, **hook}
            store["webhooks"][str(wid)] = hook
            state.save()
            return {"webhook": dict(hook)}

    @app.get("/{lang}/webhooks/{item}.json")
    def get_webhook(item: str) -> dict[str, Any]:
        with state.lock:
            return {"webhook": dict(one(item))}

    @app.put("/{lang}/webhooks/{item}.json")
    def update_webhook(lang: str, item: str,
                       body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        with state.lock:
            current = one(item)
            fields = {k: v for k, v in current.items() if k in WEBHOOK_FIELDS}
            hook = _validated(body.get("webhook"), fields, lang)
            current.update(hook)
            current["updatedAt"] = _bumped(current.get("updatedAt"))
            state.save()
            return {"webhook": dict(current)}

    @app.delete("/{lang}/webhooks/{item}.json")
    def delete_webhook(item: str) -> dict[str, Any]:
        with state.lock:
            one(item)
            del store["webhooks"][item]
            state.save()
        return {}

    def deliver(request: Request, order_id: str, actions: set[str] | None) -> int:
        """Queue the current order for every matching webhook; how many were queued."""
        with state.lock:
            order = store["orders"].get(order_id)
            hooks = [dict(h) for h in store["webhooks"].values() if _matches(h, actions)]
            if order is None or not hooks:
                return 0
            bodies = {h["language"]: json.dumps(
                {"order": _render(order, base(request, h["language"]))}).encode()
                for h in hooks}
        action = ",".join(sorted(actions)) if actions else "resend"
        for h in sorted(hooks, key=lambda h: int(h["id"])):
            body = bodies[h["language"]]
            deliverer.submit(_Delivery(
                webhook_id=int(h["id"]), order_id=order.get("id"), action=action,
                address=h["address"], body=body,
                headers={"Content-Type": "application/json",
                         SIGNATURE_HEADER: signature(body, secret)}))
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
        oid, action = str(body.get("order_id")), body.get("action")
        if action is not None and action not in ITEM_ACTIONS:
            raise ApiError(400, f"action must be one of {', '.join(sorted(ITEM_ACTIONS))}")
        with state.lock:
            if oid not in store["orders"]:
                raise ApiError(404, f"order {oid} not found")
        return {"queued": deliver(request, oid, None if action is None else {action})}

    def snapshot() -> _Snapshot:
        with state.lock:
            return {k: (o, o.get("updatedAt"), o.get("shipmentStatus"))
                    for k, o in store["orders"].items()}

    @app.middleware("http")
    async def order_events(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Around order writes: deliver every order the request created or changed."""
        path = request.url.path
        if not any(request.method == m and rx.match(path) for m, rx in _ORDER_WRITES):
            return await call_next(request)
        before = snapshot()
        response = await call_next(request)
        if response.status_code >= 300:
            return response
        for oid, (order, updated, shipment) in snapshot().items():
            old = before.get(oid)
            if old is None:
                actions = {"created"}
            elif old[0] is not order or old[1] != updated or old[2] != shipment:
                actions = {"updated"}
            else:
                continue
            if shipment == "shipped" and (old is None or old[2] != "shipped"):
                actions.add("shipped")
            deliver(request, oid, actions)
        return response

    return deliverer
