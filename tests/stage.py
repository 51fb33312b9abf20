"""One live Airflow per test process, shared by every test that needs a real scheduler,
api-server and plugin: the pair demos, the activity view in a browser, the live webhooks.

Why shared: each ``airflow standalone`` boot costs a minute or more of the machine's two
cores (migrating its database, starting five processes); one per test module made up a
third of the suite. The stage starts on first use and stops when the test process ends.

Why the tests still do not meet: the stage runs its own copy of the shipped pair files in
which every Connection is named per pair (``<pair>__<system>``), and each pair gets
sandboxes of its own, so two pairs never share a shop. Tests of one pair (the Buckles
pair's demo and the live webhooks) share its sandboxes and assert only what they changed.
Every DAG starts paused; a test unpauses what it runs and pauses it again when done
(:meth:`Stage.paused`), so no schedule of one test runs under another; and but for the
activity view's pair, whose scheduled run it lists, the flows run yearly, so unpausing a
DAG starts nothing the test did not trigger (the demo's flows: half the runs).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shopbridge.config import IntegrationConfig, load_integration
from shopbridge_dev.local_airflow import LocalAirflow
from shopbridge_dev.procs import leftovers, start_sandbox, stop

ROOT = Path(__file__).parents[1]
#: the pair whose schedules stay as shipped: the activity view lists the run its schedule
#: starts on unpausing; every other flow on the stage runs once a year (the next run due
#: in a later year), so unpausing a DAG starts only what its test triggers
SCHEDULED = "lightspeed_ecom__exact_globe"
YEARLY = "0 0 1 1 *"

#: Airflow's DAG discovery skips a file that says neither "airflow" nor "dag"
DAG_FILE = '''"""One Airflow DAG per flow of the stage's copy of the integrations."""
from pathlib import Path

from shopbridge.airflow.dag_factory import register_integrations

register_integrations(globals(), config_dir=Path(__file__).parents[1] / "include/integrations")
'''


@dataclass(frozen=True)
class StagePair:
    """One pair on the stage: its configuration (with the stage's Connection names), its
    sandboxes (system -> URL) and its Connections as ``AIRFLOW_CONN_*`` variables, for a
    CLI or a ``dag.test()`` in the test process."""

    cfg: IntegrationConfig
    urls: dict[str, str]
    env: dict[str, str]


@dataclass
class Stage:
    base: Path
    airflow: LocalAirflow
    #: the options each pair's sandboxes were started with: a second test asking for other
    #: ones would meet data it does not expect
    _options: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    _pairs: dict[str, StagePair] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: stopped: the last test of this process that needs it is done (tests/conftest.py)
    closed: bool = False

    @property
    def root(self) -> Path:
        """The folder laid out like the repository (``dags/``, ``include/integrations/``)."""
        return self.base

    @property
    def ledger_url(self) -> str:
        return f"sqlite:///{self.base / 'ledger.sqlite'}"

    def pair(self, name: str, options: dict[str, dict[str, str]] | None = None) -> StagePair:
        """The pair's sandboxes (started on first use, with the demo's ``options`` unless
        given) and its Connections stored in the stage's Airflow."""
        from shopbridge_dev.demo import SANDBOX_OPTIONS, demo_connection_fields

        if self.closed:
            raise RuntimeError(
                "the stage was stopped after the tests that ran before this one; "
                "tests/conftest.py sorts every test on it to run together"
            )
        wanted = {**SANDBOX_OPTIONS, **(options or {})}
        if name in self._pairs:
            if self._options[name] != wanted:
                raise RuntimeError(
                    f"{name} already runs on the stage with sandbox options "
                    f"{self._options[name]}, not {wanted}"
                )
            return self._pairs[name]
        cfg = load_integration(self.base / "include" / "integrations" / f"{name}.yaml")
        urls: dict[str, str] = {}
        env: dict[str, str] = {}
        for end in (cfg.source, cfg.target):
            proc, urls[end.system] = start_sandbox(
                end.system,
                state_dir=self.base / "sandboxes" / name,
                options=wanted.get(end.system),
                persist=False,
            )
            self._procs.append(proc)
            fields = demo_connection_fields(end.system, urls[end.system])
            env[f"AIRFLOW_CONN_{end.connection_id.upper()}"] = json.dumps(fields)
            host, _, port = urls[end.system].removeprefix("http://").partition(":")
            self.airflow.put_connection(
                end.connection_id, **{**fields, "host": f"http://{host}", "port": int(port)}
            )
        self._options[name] = wanted
        self._pairs[name] = StagePair(cfg=cfg, urls=urls, env=env)
        return self._pairs[name]

    @contextmanager
    def paused(
        self, name: str, options: dict[str, dict[str, str]] | None = None
    ) -> Iterator[StagePair]:
        """The pair, with every DAG of it paused again afterwards (whatever the test
        unpaused) and its runs finished, so nothing of it runs under the next test."""
        pair = self.pair(name, options)
        try:
            yield pair
        finally:
            dag_ids = [pair.cfg.dag_id(flow) for flow in pair.cfg.flows]
            # finish first, then pause: a paused DAG's queued runs never start and its
            # running ones get no new tasks, so waiting after the pause could wait forever
            self.settle(dag_ids, strict=False)
            for dag_id in dag_ids:
                self.airflow.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
            self.stop_leftovers(dag_ids)

    def busy(self, dag_ids: list[str]) -> list[tuple[str, str]]:
        """(dag id, run id) of every queued or running run of these DAGs."""
        return [
            (dag_id, run["dag_run_id"])
            for dag_id in dag_ids
            for run in self.airflow.runs(dag_id)
            if run.get("state") in ("queued", "running")
        ]

    def settle(self, dag_ids: list[str], timeout: float = 300, *, strict: bool = True) -> None:
        """Wait until no run of these DAGs is queued or running (``strict``: else raise)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.busy(dag_ids):
                return
            time.sleep(1)
        if strict:
            raise RuntimeError(f"runs of {dag_ids} still busy after {timeout:.0f}s")

    def stop_leftovers(self, dag_ids: list[str]) -> None:
        """Fail what a schedule or an asset event started after the test's own runs ended
        (the DAGs are paused now: those runs would never finish and never matter)."""
        for dag_id, run_id in self.busy(dag_ids):
            self.airflow.api(
                "PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"}
            ).raise_for_status()
        self.settle(dag_ids, timeout=120)

    def close(self) -> None:
        """Stop everything the stage started (again: a no-op)."""
        if self.closed:
            return
        self.closed = True
        self.airflow.stop()
        for proc in self._procs:
            stop(proc)
        left = leftovers(self.airflow.home)
        if left:
            raise RuntimeError(f"processes of the stage's Airflow still running: {left}")


def write_tree(base: Path) -> None:
    """``base`` laid out like the repository: every shipped pair file with its Connections
    named per pair (and yearly schedules but for :data:`SCHEDULED`), a DAG file
    registering them, and the plugin folder."""
    configs = base / "include" / "integrations"
    configs.mkdir(parents=True)
    for path in sorted((ROOT / "include" / "integrations").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for role in ("source", "target"):
            data[role]["conn_id"] = f"{data['id']}__{data[role]['system']}"
        if data["id"] != SCHEDULED:
            for flow in data["flows"].values():
                flow["schedule"] = YEARLY
        (configs / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    (base / "dags").mkdir()
    (base / "dags" / "shopbridge_stage.py").write_text(DAG_FILE)
    (base / "plugins").symlink_to(ROOT / "plugins", target_is_directory=True)


@contextmanager
def running_stage(base: Path) -> Iterator[Stage]:
    write_tree(base)
    airflow = LocalAirflow(
        home=base / "airflow",
        dags_folder=base / "dags",
        parallelism=4,
        extra_env={
            "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{base / 'ledger.sqlite'}",
            "SHOPBRIDGE_INTEGRATIONS_DIR": str(base / "include" / "integrations"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # the stage's DAG files never change once it runs: parsed at start, not again
            # every ten seconds for the rest of the session
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3600",
        },
    )
    stage = Stage(base=base, airflow=airflow)
    try:
        airflow.start()
        yield stage
    finally:
        stage.close()
