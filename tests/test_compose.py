"""docker-compose.yaml and Dockerfile, checked without Docker (there is none here).

The file is read the way ``docker compose`` reads it (``${VAR:-default}`` filled in with
defaults, ``$$`` as a literal ``$``, YAML merge keys), then held to the shape of Airflow's
official compose file and to what shopbridge needs from a cluster. The init script is
also run for real, with bash against a throwaway Airflow home: it must store the sandbox
Connections and the pools the DAGs need, and keep what a person changed when run again.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from shopbridge.airflow.pools import load_configs, target_pools
from shopbridge.connectors.registry import HOOKS
from shopbridge_dev.sandboxes.__main__ import SYSTEMS
from shopbridge_dev.sandboxes.cluster import SERVICE_PORT, connections, service_name
from shopbridge_dev.sandboxes.connections import SANDBOX_CONNECTIONS

ROOT = Path(__file__).parents[1]
COMPOSE = ROOT / "docker-compose.yaml"
BIN = Path(sys.executable).parent
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
)
#: the long-running Airflow services: each waits for a healthy database and broker and
#: for airflow-init to have finished, and has a healthcheck of its own
RUNNING = tuple(s for s in AIRFLOW_SERVICES if s != "airflow-init")
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's variable substitution for the forms the file uses; any other form fails,
    so the file cannot grow syntax this check does not understand."""
    env = env or {}
    text = text.replace("$$", "\0")
    text = _VAR.sub(lambda m: env.get(m["name"], m["default"] or ""), text)
    assert "${" not in text, f"unsupported substitution: {text[text.index('${') :][:40]}"
    return text.replace("\0", "$")


def compose(env: dict[str, str] | None = None) -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(encoding="utf-8"), env))


@pytest.fixture(scope="module")
def services() -> dict:
    return compose()["services"]


def init_script(services: dict) -> str:
    command = services["airflow-init"]["command"]
    assert command[:2] == ["bash", "-c"]
    return command[2]


def test_the_cluster_has_the_services_of_airflows_official_file(services):
    for name in ("postgres", "redis", *AIRFLOW_SERVICES):
        assert name in services, name
    commands = {s: services[s]["command"] for s in RUNNING}
    assert commands == {
        "airflow-apiserver": "airflow api-server",
        "airflow-scheduler": "airflow scheduler",
        "airflow-dag-processor": "airflow dag-processor",
        "airflow-triggerer": "airflow triggerer",
        "airflow-worker": "airflow celery worker",
    }


def test_at_least_two_workers_and_scaling_by_variable(services):
    assert int(services["airflow-worker"]["deploy"]["replicas"]) >= 2
    scaled = compose({"AIRFLOW_WORKERS": "5"})["services"]["airflow-worker"]
    assert int(scaled["deploy"]["replicas"]) == 5


def test_celery_with_redis_and_postgres_and_the_execution_api(services):
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    db = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert (db.scheme, db.hostname, db.path) == ("postgresql+psycopg2", "postgres", "/airflow")
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "airflow"
    broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname) == ("redis", "redis")
    assert str(broker.port) in [str(p) for p in services["redis"]["expose"]]
    assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "postgres"
    api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname == "airflow-apiserver" and api.path == "/execution/"
    published = [p.split(":")[-1] for p in services["airflow-apiserver"]["ports"]]
    assert str(api.port) in published


def test_every_airflow_service_shares_the_common_environment(services):
    """One JWT secret, one database, one executor: a worker with another JWT secret than
    the api-server could run no task at all."""
    common = compose()["x-airflow-common"]["environment"]
    assert common["AIRFLOW__API_AUTH__JWT_SECRET"]
    users = [
        s
        for s, spec in services.items()
        if spec.get("image") == compose()["x-airflow-common"]["image"]
        and not s.startswith("sandbox-")
    ]
    assert set(AIRFLOW_SERVICES) <= set(users)
    for name in users:
        env = services[name]["environment"]
        assert {k: env.get(k) for k in common} == common, name
        assert services[name]["user"] == compose()["x-airflow-common"]["user"]


def test_the_ledger_is_in_the_postgres_service_in_a_database_of_its_own(services):
    url = urlsplit(services["airflow-worker"]["environment"]["SHOPBRIDGE_LEDGER_URL"])
    assert (url.scheme, url.hostname) == ("postgresql+psycopg2", "postgres")
    database = url.path.lstrip("/")
    assert database != "airflow"
    # the postgres service creates that database on first start
    mounts = {m.split(":")[1]: m.split(":")[0] for m in services["postgres"]["volumes"]}
    scripts = [
        ROOT / src for dst, src in mounts.items() if dst.startswith("/docker-entrypoint-initdb.d/")
    ]
    sql = " ".join(p.read_text() for p in scripts)
    assert re.search(rf"CREATE DATABASE {database}\b", sql)


def test_depends_on_and_healthchecks_as_in_the_official_file(services):
    for name in RUNNING:
        deps = services[name]["depends_on"]
        assert deps["postgres"] == {"condition": "service_healthy"}, name
        assert deps["redis"] == {"condition": "service_healthy"}, name
        assert deps["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "always", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"
    }
    assert "airflow-init" not in services["airflow-init"].get("depends_on", {})
    # whatever a service waits to be healthy has a healthcheck
    for name, spec in services.items():
        for dep, cond in spec.get("depends_on", {}).items():
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}"
    assert (
        services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"]
        == "true"
    )


def test_every_sandbox_system_has_a_service_and_a_connection(services):
    assert set(SYSTEMS) == set(HOOKS) == set(SANDBOX_CONNECTIONS)
    imported = connections(SYSTEMS)
    for system in SYSTEMS:
        spec = services[service_name(system)]
        args = shlex.split(spec["command"])
        assert args[:4] == ["python", "-m", "shopbridge_dev.sandboxes", system]
        assert args[args.index("--host") + 1] == "0.0.0.0"
        assert int(args[args.index("--port") + 1]) == SERVICE_PORT
        assert spec["healthcheck"]["test"]
        conn = imported[f"shopbridge_{system}"]
        assert conn["host"] == f"http://{service_name(system)}:{SERVICE_PORT}"
        assert json.loads(conn["extra"]) == SANDBOX_CONNECTIONS[system]["extra"]


def test_init_migrates_imports_the_connections_then_syncs_the_pools(services):
    lines = [ln.strip() for ln in init_script(services).splitlines()]
    order = [
        next(i for i, ln in enumerate(lines) if ln.startswith(cmd))
        for cmd in ("airflow db migrate", "airflow connections import", "shopbridge pools sync")
    ]
    assert order == sorted(order)
    # the file is written by the sandbox image's one-shot service (the Airflow image has no
    # sandbox code), on the volume airflow-init mounts, before airflow-init starts
    init = services["airflow-init"]
    path = init["environment"]["SHOPBRIDGE_SANDBOX_CONNECTIONS"]
    assert lines[order[1]].split()[-1] == '"${SHOPBRIDGE_SANDBOX_CONNECTIONS}"'
    writer = services["sandbox-connections"]
    assert writer["command"][-1] == f"python -m shopbridge_dev.sandboxes.cluster > {path}"
    assert writer["build"]["dockerfile"] == "dev/Dockerfile"
    assert init["depends_on"]["sandbox-connections"]["condition"] == (
        "service_completed_successfully"
    )
    volume = next(v for v in init["volumes"] if v.startswith("sandbox-state:"))
    assert path.startswith(volume.split(":")[1] + "/")


def test_the_image_installs_the_frozen_lock_with_the_uv_of_run():
    docker = (ROOT / "Dockerfile").read_text()
    run = (ROOT / "run").read_text()
    syncs = re.findall(r"^RUN uv sync (.*)$", docker, flags=re.M)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert re.search(r"^COPY .*\buv\.lock\b", docker, flags=re.M)
    assert not re.search(r"uv (lock|add|pip install)|pip install (-e )?\.", docker)
    assert re.findall(r"uv==([\d.]+)", docker) == re.findall(r"uv==([\d.]+)", run)
    image = compose()["x-airflow-common"]
    assert image["build"] == "."


@pytest.mark.slow
def test_init_script_stores_connections_and_pools_and_keeps_changes(tmp_path, services):
    """The init script itself, run twice against a throwaway SQLite Airflow home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    init_env = services["airflow-init"]["environment"]
    env.update(
        {
            "PATH": f"{BIN}:{env['PATH']}",
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "SHOPBRIDGE_ROOT": str(ROOT),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "passwords.json"),
            "_AIRFLOW_WWW_USER_USERNAME": init_env["_AIRFLOW_WWW_USER_USERNAME"],
            "_AIRFLOW_WWW_USER_PASSWORD": init_env["_AIRFLOW_WWW_USER_PASSWORD"],
        }
    )

    def run(*args: str) -> str:
        done = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def pools() -> dict[str, int]:
        rows = json.loads(run("airflow", "pools", "list", "-o", "json"))
        return {r["pool"]: int(r["slots"]) for r in rows}

    conns = tmp_path / "sandbox_connections.json"
    env["SHOPBRIDGE_SANDBOX_CONNECTIONS"] = str(conns)
    conns.write_text(run(sys.executable, "-m", "shopbridge_dev.sandboxes.cluster"))
    run("bash", "-c", init_script(services))
    wanted = target_pools(load_configs(ROOT / "include" / "integrations"))
    assert {name: pools()[name] for name in wanted} == dict.fromkeys(wanted, 1)
    conn = json.loads(run("airflow", "connections", "get", "shopbridge_exact_globe", "-o", "json"))[
        0
    ]
    assert conn["host"] == f"http://{service_name('exact_globe')}:{SERVICE_PORT}"
    assert json.loads((tmp_path / "passwords.json").read_text()) == {
        init_env["_AIRFLOW_WWW_USER_USERNAME"]: init_env["_AIRFLOW_WWW_USER_PASSWORD"]
    }

    # a person widens one pool in the UI, and gives another Connection (this time from
    # the environment, which Airflow reads before its database) 3 slots; init runs again
    run("airflow", "pools", "set", "shopbridge_exact_globe", "2", "raised by hand")
    buckles = {**connections(SYSTEMS)["shopbridge_buckles"]}
    buckles["extra"] = json.dumps({**json.loads(buckles["extra"]), "pool_slots": 3})
    env["AIRFLOW_CONN_SHOPBRIDGE_BUCKLES"] = json.dumps(buckles)
    conns = tmp_path / "sandbox_connections.json"
    env["SHOPBRIDGE_SANDBOX_CONNECTIONS"] = str(conns)
    conns.write_text(run(sys.executable, "-m", "shopbridge_dev.sandboxes.cluster"))
    run("bash", "-c", init_script(services))
    after = pools()
    assert after["shopbridge_exact_globe"] == 2
    assert after["shopbridge_buckles"] == 3
    assert after["shopbridge_lightspeed_ecom"] == 1
