"""What every vendor sandbox shares: fault injection, request stats and persisted state.

Vendor behaviour (routes, envelopes, auth, rate limits) lives in each connector's
``sandbox.py``; this module only adds the test-and-demo controls under ``/_sandbox/``,
which no real vendor has, so they can never be confused with the vendor's own routes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

CONTROL_PREFIX = "/_sandbox"


class Fault(BaseModel):
    """One injected failure, served instead of the next matching request(s)."""

    status: int = Field(500, ge=100, le=599)
    retry_after: float | None = None
    times: int = Field(1, ge=1)
    delay_s: float = Field(0.0, ge=0, le=120)
    path_contains: str = ""
    #: only requests with this method (e.g. "POST"); empty matches every method
    method: str = ""
    body: dict[str, Any] | None = None
    #: serve the real request first (it commits), then answer with the fault instead: a
    #: success hidden behind a timeout or a 5xx, the case that makes blind retries double.
    #: With ``delay_s`` the commit comes first and the delay after it, so a client that
    #: times out meets a write that has already landed
    after_commit: bool = False


@dataclass
class SandboxControls:
    """Shared mutable state of a sandbox process: faults queued and requests seen."""

    faults: deque[Fault] = field(default_factory=deque)
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "requests": 0,
            "rejected_429": 0,
            "rejected_401": 0,
            "faults_served": 0,
            "writes": 0,
        }
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, path: str, method: str = "GET") -> Fault | None:
        with self.lock:
            for f in list(self.faults):
                if f.path_contains in path and f.method.upper() in ("", method.upper()):
                    if f.times <= 1:
                        self.faults.remove(f)
                    else:
                        idx = self.faults.index(f)
                        self.faults[idx] = f.model_copy(update={"times": f.times - 1})
                    self.stats["faults_served"] += 1
                    return f
        return None

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + 1


ErrorBody = Callable[[int, Request], dict[str, Any]]


def install_controls(app: FastAPI, controls: SandboxControls, error_body: ErrorBody) -> None:
    """Add ``/_sandbox/faults`` and ``/_sandbox/stats`` and the middleware that serves faults.

    ``error_body`` renders a fault in the vendor's own error envelope, so clients meet
    injected failures exactly as they would meet real ones.
    """
    router = APIRouter(prefix=CONTROL_PREFIX)

    @router.post("/faults")
    def add_fault(fault: Fault) -> dict[str, int]:
        with controls.lock:
            controls.faults.append(fault)
            return {"queued": len(controls.faults)}

    @router.get("/faults")
    def queued_faults() -> list[dict[str, Any]]:
        """The faults still waiting for a request: a drill checks that its own were met."""
        with controls.lock:
            return [f.model_dump() for f in controls.faults]

    @router.delete("/faults")
    def clear_faults() -> dict[str, int]:
        with controls.lock:
            controls.faults.clear()
        return {"queued": 0}

    @router.get("/stats")
    def stats() -> dict[str, int]:
        with controls.lock:
            return dict(controls.stats)

    app.include_router(router)

    @app.middleware("http")
    async def faults_and_stats(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        controls.count("requests")
        fault = controls.take_fault(path, request.method)
        if fault is None:
            return await call_next(request)
        if fault.status < 400:  # a pure slow-down: serve the real answer late
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            return await call_next(request)
        if fault.after_commit:  # commit first: a delay below then hides a success
            await call_next(request)
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        body = fault.body if fault.body is not None else error_body(fault.status, request)
        return JSONResponse(body, status_code=fault.status, headers=headers)


class JsonState:
    """A sandbox's store, optionally persisted to a JSON file after every write.

    The demo runs twice against sandboxes restarted in between; persisting lets the second
    run meet the records the first one wrote, as it would at a real vendor.
    """

    def __init__(self, path: Path | None, initial: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self.lock = threading.RLock()
        if path is not None and path.exists():
            self.data: dict[str, Any] = json.loads(path.read_text())
        else:
            self.data = initial()
            self.save()

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, default=str))
            tmp.replace(self.path)
