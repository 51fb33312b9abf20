"""An ``airflow standalone`` on this machine, and the few REST calls the demo and the live
drills (``tests/drills``) need.

Why REST and not the CLI: each ``airflow ...`` command pays Airflow's import (seconds);
the API server is already up, and what the demo does through it is what a person does
in the UI (connections, unpause, trigger, watch, read the report's XCom). :meth:`cli` is
for what a person does with the CLI itself (``airflow backfill create``).

By default it is the embedded setup: SQLite and the LocalExecutor standalone picks. The
drills set ``database_url`` (PostgreSQL), ``executor`` and ``parallelism`` to run the
production parts on this machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shopbridge_dev.procs import free_port, spawn, stop, wait_until

TERMINAL = {"success", "failed"}


@dataclass
class LocalAirflow:
    home: Path
    dags_folder: Path
    port: int = field(default_factory=free_port)
    parallelism: int = 4
    #: Airflow's metadata database (``postgresql+psycopg2://...``); None: SQLite in ``home``
    database_url: str | None = None
    #: ``[core] executor``; None: what standalone picks (the LocalExecutor)
    executor: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    log_ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    proc: subprocess.Popen[bytes] | None = None
    _token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        # a caller's own Airflow settings (a test process's unit-test mode, its home, its
        # connections) must not leak into this instance: it is configured below alone
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "PATH": f"{venv_bin}:{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                # the webhook receiver (plugins/shopbridge_plugin.py) beside the DAG folder
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.dags_folder.parent / "plugins"),
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
                # the log servers' fixed defaults (8793/8794) would clash with another instance
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_ports[1]),
            }
        )
        if self.database_url is not None:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self.database_url
        if self.executor is not None:
            env["AIRFLOW__CORE__EXECUTOR"] = self.executor
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``airflow <args>`` against this instance (its home, database and settings), as a
        person types it; raises with the command's output when it fails."""
        out = subprocess.run(  # noqa: S603
            ["airflow", *args],  # noqa: S607
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.home,
        )
        if out.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} exited with {out.returncode}:\n"
                f"{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
            )
        return out

    def start(self) -> None:
        """Start standalone (migrates the DB on first use) and wait for its health check."""
        self.home.mkdir(parents=True, exist_ok=True)
        if shutil.which("airflow", path=self.env()["PATH"]) is None:
            raise RuntimeError("the airflow command is not in the virtual environment")
        log = self.home / "standalone.log"
        self.proc = spawn(["airflow", "standalone"], log=log, env=self.env())
        wait_until(
            lambda: httpx.get(f"{self.url}/api/v2/monitor/health", timeout=3).status_code == 200,
            timeout=400,  # a first start migrates the database: minutes on a busy machine
            what="airflow standalone",
            proc=self.proc,
            log=log,
        )
        wait_until(
            lambda: self.password() is not None,
            timeout=60,
            what="the admin password file",
            proc=self.proc,
            log=log,
        )
        # the target accounts' pools: the scheduler starts no task whose pool is missing
        from shopbridge.airflow import pools

        pools.sync_config_dir(
            pools.RestApi(self.api), self.dags_folder.parent / "include" / "integrations"
        )
        # the maintenance DAG's `airflow db clean` step needs the metadata DB's URL handed
        # to it on purpose (shopbridge.airflow.retention); this instance knows it
        from shopbridge.airflow.retention import DB_CONNECTION

        self.put_connection(
            DB_CONNECTION,
            conn_type="generic",
            password=self.database_url or f"sqlite:///{self.home / 'airflow.db'}",
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, grace=20)

    def password(self) -> str | None:
        path = self.home / "simple_auth_manager_passwords.json.generated"
        if not path.exists():
            return None
        try:
            return str(json.loads(path.read_text())["admin"])
        except (ValueError, KeyError):
            return None

    # --- REST ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            r = httpx.post(
                f"{self.url}/auth/token",
                timeout=10,
                json={"username": "admin", "password": self.password()},
            )
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def api(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={**self._headers(), **(headers or {})},
            timeout=30,
            **kwargs,
        )

    def put_connection(self, conn_id: str, **fields: Any) -> None:
        """Create or replace an Airflow Connection (visible under Admin → Connections)."""
        body = {"connection_id": conn_id, **fields}
        if isinstance(body.get("extra"), dict):
            body["extra"] = json.dumps(body["extra"])
        r = self.api("POST", "/connections", json=body)
        if r.status_code == 409:
            r = self.api("PATCH", f"/connections/{conn_id}", json=body)
        r.raise_for_status()

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        wait_until(
            lambda: self.api("GET", f"/dags/{dag_id}").status_code == 200,
            timeout=timeout,
            what=f"DAG {dag_id} to be parsed",
            proc=self.proc,
            log=self.home / "standalone.log",
        )

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/importErrors").json().get("import_errors", []))

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def trigger(
        self,
        dag_id: str,
        conf: dict[str, Any],
        *,
        interval: tuple[datetime, datetime] | None = None,
    ) -> str:
        """A manual run; with ``interval`` it is the run the scheduler would have made for
        that data interval (its logical date is the interval's start, as the interval
        timetables have it), so a backfill over that date finds it."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf}
        if interval is not None:
            start, end = (when.isoformat() for when in interval)
            body |= {"logical_date": start, "data_interval_start": start, "data_interval_end": end}
        r = self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)
        r.raise_for_status()
        return str(r.json()["dag_run_id"])

    def task_instances(
        self, dag_id: str = "~", run_id: str = "~", **params: Any
    ) -> list[dict[str, Any]]:
        """Task instances of a run (``~``: of every run, of every DAG), filtered by the
        REST API's query ``params`` (e.g. ``state="running"``)."""
        r = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
            params={"limit": 1000, **params},
        )
        r.raise_for_status()
        return list(r.json().get("task_instances", []))

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs (id, type, state, queued_at), oldest first."""
        r = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})
        r.raise_for_status()
        return sorted(r.json().get("dag_runs", []), key=lambda run: run.get("queued_at") or "")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json().get("state")
            if state in TERMINAL:
                return str(state)
            time.sleep(2)
        raise RuntimeError(f"run {run_id} of {dag_id} did not finish in {timeout:.0f}s")

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        r = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": True},
        )
        r.raise_for_status()
        value = r.json()["value"]
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def failures(self, dag_id: str, run_id: str) -> list[str]:
        """One line per failed task: its id and the error its log ends with."""
        tis = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        out: list[str] = []
        for ti in tis.get("task_instances", []):
            if ti.get("state") not in ("failed", "upstream_failed"):
                continue
            label = ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")
            if ti["state"] == "upstream_failed":
                continue
            out.append(f"{label}: {self._error_line(dag_id, run_id, ti)}")
        return out

    def _error_line(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> str:
        r = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
            f"/logs/{max(1, ti.get('try_number') or 1)}",
            params={"map_index": ti.get("map_index", -1), "full_content": True},
            headers={"Accept": "application/json"},
        )
        text = r.text
        try:
            content = r.json().get("content", [])
            lines = [c.get("event", "") if isinstance(c, dict) else str(c) for c in content]
        except ValueError:
            lines = text.splitlines()
        for line in reversed(lines):
            if any(w in line for w in ("Error", "Exception", "error:")):
                return line.strip()[:500]
        return "failed (see its log in the UI)"
