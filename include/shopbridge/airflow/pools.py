"""Airflow pools, one per target account, so that more workers never mean more requests.

Why pools: each vendor client paces itself (token bucket, leaky bucket, ``Retry-After``),
but only inside its own process. Two Celery workers, each pacing a load to the vendor's
limit, together send twice that. Every task that calls a target (``load``, and ``lookup``
unless the flow's lookup answers from the ledger alone) therefore runs in the pool named
for the target's Airflow Connection id (``shopbridge_exact_globe``). With the default of
one slot, one task at a time talks to that account, whatever the number of workers, DAGs
or mapped batches, and the one client's pacing is the account's pacing.

An account that allows more (a higher plan, a limit per API key rather than per account)
gets more slots through its Connection: ``{"pool_slots": 3}`` in the Connection's extra,
applied by the next ``shopbridge pools sync``. Without it, a pool keeps the slots it has,
so a change made under Admin → Pools survives the next sync; a new pool gets one slot.

Airflow's scheduler never starts a task whose pool does not exist, so every place that
runs these DAGs syncs the pools: ``airflow-init`` in ``docker-compose.yaml``, the local
standalone (``shopbridge_dev.local_airflow``) and ``shopbridge pools sync`` by hand.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from shopbridge.config import IntegrationConfig, load_integration
from shopbridge.errors import ConfigError

log = logging.getLogger(__name__)

#: the Connection extra that sets its pool's slots
SLOTS_EXTRA = "pool_slots"
DEFAULT_SLOTS = 1
#: flow kinds whose lookup asks only the ledger, never the target (``runtime.lookup``):
#: their lookups may run in parallel, outside the target's pool
LEDGER_ONLY_LOOKUPS = frozenset({"shipments", "checkouts"})
#: Airflow's own pool (``Pool.DEFAULT_POOL_NAME``, 128 slots): tasks that call no target
DEFAULT_POOL = "default_pool"


def target_pool(cfg: IntegrationConfig, flow: str) -> str:
    """The pool of the account a flow writes to: its target Connection id."""
    return cfg.ends(flow)[1].connection_id


def task_pool(cfg: IntegrationConfig, flow: str, task: str) -> str:
    """The pool ``task`` of the flow's DAG runs in: Airflow's default pool for a task that
    never calls the target."""
    if task == "load" or (task == "lookup" and cfg.kind(flow) not in LEDGER_ONLY_LOOKUPS):
        return target_pool(cfg, flow)
    return DEFAULT_POOL


@dataclass(frozen=True)
class TargetPool:
    """One target account's pool and the DAGs that write through it."""

    name: str
    system: str
    dag_ids: tuple[str, ...]

    @property
    def description(self) -> str:
        return (
            f"shopbridge: lookup/load tasks calling the {self.system} account of "
            f"Connection {self.name}; slots = such tasks running at once"
        )


def target_pools(configs: Iterable[IntegrationConfig]) -> dict[str, TargetPool]:
    """Every pool the enabled flows of these integrations need, by name."""
    found: dict[str, tuple[str, list[str]]] = {}
    for cfg in configs:
        for flow, spec in cfg.flows.items():
            if not spec.enabled:
                continue
            _, dag_ids = found.setdefault(target_pool(cfg, flow), (cfg.ends(flow)[1].system, []))
            dag_ids.append(cfg.dag_id(flow))
    return {
        name: TargetPool(name, system, tuple(sorted(ids)))
        for name, (system, ids) in sorted(found.items())
    }


def load_configs(config_dir: Path) -> list[IntegrationConfig]:
    """Every integration file; a broken one stops the sync (its DAGs would not load
    either, and a pool left out would leave a good DAG's tasks waiting forever)."""
    return [load_integration(path) for path in sorted(config_dir.glob("*.yaml"))]


def slots_from_extra(conn_id: str, extra: Mapping[str, Any]) -> int | None:
    """The slots a Connection asks for, ``None`` when it does not say."""
    value = extra.get(SLOTS_EXTRA)
    if value is None:
        return None
    try:
        slots = int(value)
    except (TypeError, ValueError):
        slots = 0
    if slots < 1 or str(slots) != str(value).strip():
        raise ConfigError(
            f"Connection {conn_id}: extra {SLOTS_EXTRA} must be a whole "
            f"number of at least 1, got {value!r}"
        )
    return slots


class PoolStore(Protocol):
    """Where pools and Connections live: Airflow's database, or its REST API."""

    def pools(self) -> dict[str, int]:
        """Existing pools: name -> slots."""
        ...

    def connection_extra(self, conn_id: str) -> dict[str, Any]:
        """The Connection's extra; ``{}`` when there is no such Connection (yet)."""
        ...

    def set_pool(self, name: str, slots: int, description: str) -> None:
        """Create the pool, or set its slots and description."""
        ...


@dataclass(frozen=True)
class Synced:
    name: str
    slots: int
    action: Literal["created", "updated", "unchanged"]


def sync(store: PoolStore, pools: Mapping[str, TargetPool]) -> list[Synced]:
    """Create the missing pools and apply the slots Connections ask for; never delete a
    pool (a DAG removed from the YAML may still have runs that need it)."""
    existing = store.pools()
    done: list[Synced] = []
    for name, pool in pools.items():
        wanted = slots_from_extra(name, store.connection_extra(name))
        if name in existing and wanted in (None, existing[name]):
            done.append(Synced(name, existing[name], "unchanged"))
            continue
        slots = wanted or DEFAULT_SLOTS
        store.set_pool(name, slots, pool.description)
        done.append(Synced(name, slots, "updated" if name in existing else "created"))
        log.debug("pool %s: %s slot(s)", name, slots)
    return done


class AirflowDb:
    """Airflow's own API client (what ``airflow pools set`` calls) and its secrets chain
    (what ``airflow connections get`` reads: environment, secrets backend, database), in
    this process. Needs this process to carry the installation's Airflow configuration
    (``AIRFLOW_HOME`` or ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``), as ``airflow`` would."""

    def __init__(self) -> None:
        import os

        # reading a Connection outside a task: from the secrets chain, as a server does
        os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
        from airflow.api.client import get_current_api_client

        # untyped in Airflow; it is what ``airflow pools list/set`` call
        self._client: Any = get_current_api_client()

    def pools(self) -> dict[str, int]:
        return {str(p[0]): int(p[1]) for p in self._client.get_pools()}

    def connection_extra(self, conn_id: str) -> dict[str, Any]:
        from airflow.models.connection import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            return {}
        return dict(conn.extra_dejson)

    def set_pool(self, name: str, slots: int, description: str) -> None:
        self._client.create_pool(
            name=name, slots=slots, description=description, include_deferred=False
        )


@dataclass
class RestApi:
    """An api-server's REST API (``/api/v2/pools``, ``/api/v2/connections``): for an
    Airflow already running, where another ``airflow`` process would cost seconds.
    ``call(method, path, **kwargs)`` sends an authenticated request below ``/api/v2``."""

    call: Callable[..., Any]
    #: existing pool -> its include_deferred, which a PATCH must repeat
    _known: dict[str, bool] = field(default_factory=dict)

    def pools(self) -> dict[str, int]:
        found: dict[str, int] = {}
        while True:  # pages of at most [api] maximum_page_limit
            r = self.call("GET", "/pools", params={"offset": len(found), "limit": 100})
            r.raise_for_status()
            page = r.json()
            for pool in page.get("pools", []):
                found[str(pool["name"])] = int(pool["slots"])
                self._known[str(pool["name"])] = bool(pool.get("include_deferred"))
            if not page.get("pools") or len(found) >= int(page.get("total_entries", 0)):
                break
        return found

    def connection_extra(self, conn_id: str) -> dict[str, Any]:
        r = self.call("GET", f"/connections/{conn_id}")
        if r.status_code == 404:
            return {}
        r.raise_for_status()
        extra = r.json().get("extra") or "{}"
        return dict(json.loads(extra)) if isinstance(extra, str) else dict(extra)

    def set_pool(self, name: str, slots: int, description: str) -> None:
        # the API wants the whole pool, on PATCH too
        body = {
            "name": name,
            "slots": slots,
            "description": description,
            "include_deferred": self._known.get(name, False),
        }
        if name in self._known:
            r = self.call("PATCH", f"/pools/{name}", json=body)
        else:
            r = self.call("POST", "/pools", json=body)
        r.raise_for_status()
        self._known.setdefault(name, False)


def sync_config_dir(store: PoolStore, config_dir: Path) -> list[Synced]:
    """:func:`sync` for every integration file in ``config_dir``."""
    return sync(store, target_pools(load_configs(config_dir)))
