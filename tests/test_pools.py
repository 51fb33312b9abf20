"""One Airflow pool per target account: its name, its slots, and that the DAGs use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopbridge.airflow.pools import (
    DEFAULT_SLOTS,
    LEDGER_ONLY_LOOKUPS,
    load_configs,
    slots_from_extra,
    sync,
    target_pool,
    target_pools,
    task_pool,
)
from shopbridge.config import load_integration
from shopbridge.errors import ConfigError

ROOT = Path(__file__).parents[1]
INTEGRATIONS = ROOT / "include" / "integrations"


def test_a_flow_writes_through_the_pool_of_its_target_connection():
    cfg = load_integration(INTEGRATIONS / "lightspeed_ecom__exact_globe.yaml")
    assert target_pool(cfg, "orders") == "shopbridge_exact_globe"
    # orders entered in the ERP go the other way: the webshop's account is the target
    assert target_pool(cfg, "erp_orders") == "shopbridge_lightspeed_ecom"
    assert task_pool(cfg, "orders", "load") == "shopbridge_exact_globe"
    assert task_pool(cfg, "orders", "lookup") == "shopbridge_exact_globe"
    assert task_pool(cfg, "orders", "extract") == "default_pool"


def test_every_dags_target_calls_run_in_its_target_pool():
    """What the scheduler sees: lookup and load of every DAG in the target's pool (a
    ledger-only lookup excepted), everything else in Airflow's default pool, and every
    pool a DAG names is one ``pools sync`` creates."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    configs = {cfg.id: cfg for cfg in load_configs(INTEGRATIONS)}
    synced = target_pools(configs.values())
    used: set[str] = set()
    checked_ledger_only = False
    integration_dags = {d: dag for d, dag in bag.dags.items() if d.rsplit("__", 1)[0] in configs}
    assert len(integration_dags) == sum(len(s.dag_ids) for s in synced.values())
    for dag_id, dag in integration_dags.items():
        cfg = configs[dag_id.rsplit("__", 1)[0]]
        flow = dag_id.rsplit("__", 1)[1]
        target = f"shopbridge_{cfg.ends(flow)[1].system}"
        pools = {t.task_id: t.pool for t in dag.tasks}
        expected_lookup = target
        if cfg.kind(flow) in LEDGER_ONLY_LOOKUPS:
            expected_lookup, checked_ledger_only = "default_pool", True
        assert pools == {
            "extract": "default_pool",
            "validate_and_map": "default_pool",
            "lookup": expected_lookup,
            "load": target,
            "report": "default_pool",
        }, dag_id
        assert dag_id in synced[target].dag_ids
        used |= {p for p in pools.values() if p != "default_pool"}
    assert checked_ledger_only
    assert used == set(synced)


class MemoryStore:
    """Pools and Connection extras in memory: the sync's decisions, without Airflow. The
    real thing (``shopbridge pools sync`` writing Airflow's database, read back with
    ``airflow pools list``) runs in tests/test_compose.py, inside airflow-init's script."""

    def __init__(self, pools: dict[str, int], extras: dict[str, dict]) -> None:
        self.pools_ = dict(pools)
        self.extras = extras
        self.writes: list[tuple[str, int]] = []

    def pools(self) -> dict[str, int]:
        return dict(self.pools_)

    def connection_extra(self, conn_id: str) -> dict:
        return self.extras.get(conn_id, {})

    def set_pool(self, name: str, slots: int, description: str) -> None:
        assert name in description
        self.pools_[name] = slots
        self.writes.append((name, slots))


def test_sync_creates_missing_pools_keeps_hand_made_slots_applies_connection_slots():
    wanted = target_pools(load_configs(INTEGRATIONS))
    names = sorted(wanted)
    kept, asked, new = names[0], names[1], names[2:]
    store = MemoryStore({kept: 4, asked: 1, "someone_elses_pool": 7}, {asked: {"pool_slots": "3"}})
    done = {s.name: (s.slots, s.action) for s in sync(store, wanted)}
    assert done[kept] == (4, "unchanged")
    assert done[asked] == (3, "updated")
    assert all(done[n] == (DEFAULT_SLOTS, "created") for n in new)
    assert store.pools_["someone_elses_pool"] == 7  # never deleted
    # a second sync changes nothing
    store.writes.clear()
    assert {s.action for s in sync(store, wanted)} == {"unchanged"}
    assert store.writes == []


@pytest.mark.parametrize("bad", [0, -1, "two", 1.5, True])
def test_pool_slots_must_be_a_whole_number_of_at_least_one(bad):
    with pytest.raises(ConfigError, match="Connection shopbridge_fortnox: extra pool_slots"):
        slots_from_extra("shopbridge_fortnox", {"pool_slots": bad})
    assert slots_from_extra("shopbridge_fortnox", {}) is None


@pytest.mark.slow
def test_rest_store_against_airflows_own_api(airflow_db, monkeypatch):
    """``RestApi`` (what the local standalone and the demo sync through) against the
    api-server's app in this process: pools created, hand-made slots kept, a Connection's
    ``pool_slots`` applied with a PATCH."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    from shopbridge.airflow.pools import RestApi, sync_config_dir

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    # a generated secret is short enough for PyJWT to warn, and warnings fail the tests
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "pools-test-" * 8)
    client = TestClient(create_app())

    def api(method, path, **kwargs):
        return client.request(method, f"/api/v2{path}", **kwargs)

    wanted = target_pools(load_configs(INTEGRATIONS))
    try:
        first = {s.name: (s.slots, s.action) for s in sync_config_dir(RestApi(api), INTEGRATIONS)}
        assert first == dict.fromkeys(wanted, (1, "created"))
        assert (
            api(
                "PATCH",
                "/pools/shopbridge_buckles",
                json={
                    "name": "shopbridge_buckles",
                    "slots": 5,
                    "description": "by hand",
                    "include_deferred": True,
                },
            ).status_code
            == 200
        )
        assert (
            api(
                "POST",
                "/connections",
                json={
                    "connection_id": "shopbridge_exact_globe",
                    "conn_type": "exact_globe",
                    "extra": '{"pool_slots": 2}',
                },
            ).status_code
            == 201
        )
        again = {s.name: (s.slots, s.action) for s in sync_config_dir(RestApi(api), INTEGRATIONS)}
        assert again["shopbridge_buckles"] == (5, "unchanged")
        assert again["shopbridge_exact_globe"] == (2, "updated")
        rows = {p["name"]: p for p in api("GET", "/pools").json()["pools"]}
        assert rows["shopbridge_exact_globe"]["slots"] == 2
        assert rows["shopbridge_buckles"]["include_deferred"] is True
    finally:  # this process's other tests share the database
        api("DELETE", "/connections/shopbridge_exact_globe")
        for name in wanted:
            api("DELETE", f"/pools/{name}")
