"""The webhook receiver: a FastAPI app the Airflow plugin mounts at ``/shopbridge``.

``POST /shopbridge/webhooks/<integration>/<system>`` takes one vendor delivery:

1. the integration file must exist and have a flow with ``webhooks: true`` reading from
   ``system`` (else 404: nobody listens there);
2. the vendor's signature is checked over the exact bytes (401 when it does not match);
3. the body is parsed by the vendor's connector into records (400 when malformed);
4. the records go into the durable :mod:`~shopbridge.store.inbox`, once per body (an identical
   body again is a redelivery: acknowledged with 200 ``{"duplicate": true}``, nothing stored
   twice; vendors redeliver when they missed our first answer and switch a webhook off after
   repeated non-2xx answers, so a duplicate must never look like a failure);
5. the flows are announced and the vendor gets 202 in milliseconds.

Why an asset event and not a DAG run per delivery: the announcement is an Airflow asset
event on the flow's inbox asset, and the flow's DAG is scheduled on "its cron *or* that
asset" (``AssetOrTimeSchedule``). Airflow's scheduler then does the coalescing: while a
run is busy (``max_active_runs=1``) further events only queue, and the next run claims
every record that arrived meanwhile. A burst of hundreds of deliveries becomes a handful
of runs without a timer of ours; each run shows in the UI as triggered by its asset
events, whose extras list the record ids (ids only, no personal data); the cron schedule
stays as the backstop for deliveries that never come; and the api-server needs no API
token to trigger anything. The announcer below adds a short debounce on top so a burst
makes one event per flow per ``flush_s`` instead of one per delivery.

Nothing here imports Airflow: the plugin passes in how to read a Connection's secret and
how to emit the asset event, and tests pass plain functions.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from shopbridge.config import IntegrationConfig, load_integration
from shopbridge.connectors.registry import WEBHOOKS
from shopbridge.errors import ConfigError
from shopbridge.store.inbox import Inbox, digest

log = logging.getLogger("shopbridge.webhooks")

#: the entity a delivery carries -> the flow kind that syncs it
ENTITY_FLOWS = {
    "order": "orders",
    "customer": "customers",
    "shipment": "shipments",
    "checkout": "checkouts",
}
#: a delivery larger than this is refused from its Content-Length, or once reading passes it
MAX_BODY = 2_000_000

SecretFor = Callable[[str], str]
Announce = Callable[[str, str, list[str]], None]


def webhook_module(system: str) -> ModuleType:
    return importlib.import_module(WEBHOOKS[system])


@dataclass
class Announcer:
    """Collects accepted record ids per flow and announces each flow at most once per
    ``flush_s`` from one background thread, so the request never waits on Airflow's DB."""

    announce: Announce
    flush_s: float = 0.5
    _dirty: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def mark(self, integration: str, flow: str, ids: list[str]) -> None:
        with self._lock:
            self._dirty.setdefault((integration, flow), []).extend(ids)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="shopbridge-announce", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        for (integration, flow), ids in dirty.items():
            try:
                self.announce(integration, flow, ids)
            except Exception:  # the records wait in the inbox; the cron backstop runs them
                log.exception(
                    "could not announce %s/%s (%d records wait in the inbox)",
                    integration,
                    flow,
                    len(ids),
                )

    def _run(self) -> None:
        idle = 0
        while True:
            time.sleep(self.flush_s)
            with self._lock:
                if not self._dirty:
                    idle += 1
                    if idle * self.flush_s > 30:
                        self._thread = None
                        return
                    continue
            idle = 0
            self.flush()


class _Configs:
    """Integration files by id, re-read when a file changes (no api-server restart)."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self._cache: dict[str, tuple[float, IntegrationConfig]] = {}

    def get(self, integration: str) -> IntegrationConfig | None:
        if not integration.replace("_", "").isalnum():
            return None
        path = self.config_dir / f"{integration}.yaml"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self._cache.get(integration)
        if cached is None or cached[0] != mtime:
            try:
                cached = self._cache[integration] = (mtime, load_integration(path))
            except ConfigError as err:
                log.error("webhook for %s: its file does not load: %s", integration, err)
                return None
        return cached[1]


def listening_flows(cfg: IntegrationConfig, system: str, entity: str | None = None) -> list[str]:
    """Flows of ``cfg`` fed by ``system``'s webhooks (for ``entity``, when given)."""
    return [
        flow
        for flow, spec in cfg.flows.items()
        if spec.enabled
        and spec.webhooks
        and cfg.ends(flow)[0].system == system
        and (entity is None or cfg.kind(flow) == ENTITY_FLOWS.get(entity))
    ]


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes ``limit`` (a lying or missing Content-Length
    must not make the api-server buffer an unbounded body)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _declared_too_large(request: Request, limit: int) -> bool | None:
    """Whether the Content-Length header is over ``limit``; None when it is not a number."""
    declared = request.headers.get("content-length")
    if declared is None:
        return False
    try:
        return int(declared) > limit
    except ValueError:
        return None


def _refuse(status: int, reason: str, integration: str, system: str) -> JSONResponse:
    # never the body: it carries names, e-mails and addresses
    log.warning("webhook %s/%s refused (%d): %s", integration, system, status, reason)
    return JSONResponse({"error": reason}, status_code=status)


class _Secrets:
    """Connection secrets, read at most once a minute per connection: a delivery must not
    cost a secrets-backend lookup, and a rotated secret still takes effect within
    ``ttl_s``."""

    def __init__(self, secret_for: SecretFor, ttl_s: float = 60.0) -> None:
        self.secret_for = secret_for
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, str]] = {}

    def get(self, conn_id: str) -> str:
        now = time.monotonic()
        cached = self._cache.get(conn_id)
        if cached is None or now - cached[0] > self.ttl_s:
            cached = self._cache[conn_id] = (now, self.secret_for(conn_id))
        return cached[1]


def create_receiver(
    *,
    config_dir: Path,
    secret_for: SecretFor,
    announce: Announce,
    inbox: Inbox | None = None,
    flush_s: float = 0.5,
) -> FastAPI:
    """The app; its handler is async only to read the raw body, and does its blocking
    work (secrets, the inbox's database) in the thread pool, off the event loop."""
    configs = _Configs(config_dir)
    secrets = _Secrets(secret_for)
    announcer = Announcer(announce, flush_s=flush_s)
    app = FastAPI(title="shopbridge webhooks")
    app.state.announcer = announcer
    state: dict[str, Inbox] = {}

    def _inbox() -> Inbox:
        if "inbox" not in state:
            state["inbox"] = inbox or Inbox()
        return state["inbox"]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True}

    @app.post("/webhooks/{integration}/{system}", status_code=202)
    async def receive(integration: str, system: str, request: Request) -> JSONResponse:
        cfg = configs.get(integration)
        if cfg is None:
            return _refuse(404, f"no integration {integration!r}", integration, system)
        if system not in WEBHOOKS or not listening_flows(cfg, system):
            return _refuse(
                404, f"no flow of {integration} takes webhooks from {system}", integration, system
            )
        too_large = _declared_too_large(request, MAX_BODY)
        if too_large is None:
            return _refuse(400, "Content-Length is not a number", integration, system)
        body = None if too_large else await _read_capped(request, MAX_BODY)
        if body is None:
            return _refuse(413, f"body over {MAX_BODY} bytes", integration, system)
        vendor = webhook_module(system)
        end = cfg.source if cfg.source.system == system else cfg.target
        try:
            secret = await run_in_threadpool(secrets.get, end.connection_id)
        except Exception as err:  # noqa: BLE001 (a missing Connection must not leak a trace)
            log.error(
                "webhook %s/%s: connection %r unreadable: %s",
                integration,
                system,
                end.connection_id,
                err,
            )
            return JSONResponse({"error": "receiver not configured"}, status_code=503)
        if not vendor.verify(body, request.headers.get(vendor.SIGNATURE_HEADER), secret):
            return _refuse(
                401, f"{vendor.SIGNATURE_HEADER} missing or does not match", integration, system
            )
        try:
            entity, records = vendor.delivery_records(json.loads(body))
            ids = [vendor.record_id(entity, r) for r in records]
        except (ValueError, TypeError, KeyError) as err:
            return _refuse(400, f"malformed delivery: {err}", integration, system)
        flows = listening_flows(cfg, system, entity)
        if not flows:
            log.info(
                "webhook %s/%s: %s %s ignored (no flow takes them)",
                integration,
                system,
                entity,
                ids,
            )
            return JSONResponse({"accepted": 0, "ignored": entity}, status_code=202)
        stored = await run_in_threadpool(
            _inbox().accept,
            integration,
            system,
            digest(body),
            flows,
            list(zip(ids, records, strict=True)),
        )
        if stored.replay:
            log.info(
                "webhook %s/%s: redelivery of a body already received (%s %s): acknowledged",
                integration,
                system,
                entity,
                ids,
            )
            return JSONResponse({"accepted": 0, "duplicate": True}, status_code=200)
        for flow in flows:
            announcer.mark(integration, flow, ids)
        log.info("webhook %s/%s: %s %s waiting for %s", integration, system, entity, ids, flows)
        return JSONResponse(
            {"accepted": len(ids), "entity": entity, "flows": flows}, status_code=202
        )

    return app
