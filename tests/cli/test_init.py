"""``shopbridge init``: credentials tested and stored as Airflow Connections, and the pair's
YAML written from its defaults; once through flags (scripts), once through a terminal.

Both sandboxes run as processes; the Connections land in this test process's Airflow
metadata DB (``AIRFLOW_HOME``), where the tasks would read them.
"""

from __future__ import annotations

import os
import sys

import pexpect
import pytest
import yaml

from shopbridge.config import load_integration
from shopbridge_dev.procs import start_sandbox, stop
from tests.cli.helpers import PAIR, ROOT, shopbridge

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def urls(tmp_path_factory, airflow_db):
    state = tmp_path_factory.mktemp("init")
    procs, urls = [], {}
    try:
        for system in ("lightspeed_ecom", "exact_globe"):
            proc, urls[system] = start_sandbox(system, state_dir=state)
            procs.append(proc)
        yield urls
    finally:
        for proc in procs:
            stop(proc)


#: one Fernet key for the command and this test (unit-test mode draws one per process; a
#: deployment has a fixed key in its configuration)
FERNET_KEY = "jRtvxDuDMxQsY1F0JbE-fT3NAhx-3KZEEXahzACxI3o="


@pytest.fixture
def env(monkeypatch):
    """No AIRFLOW_CONN_* of other tests: what init stores must be what is found."""
    for key in list(os.environ):
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", FERNET_KEY)
    from airflow.models.crypto import get_fernet

    get_fernet.cache_clear()
    before = _conn_ids()
    yield
    _drop_connections(_conn_ids() - before)  # later tests in this process read with their own key
    get_fernet.cache_clear()


def _conn_ids() -> set[str]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return set(session.scalars(select(Connection.conn_id)))


def _drop_connections(conn_ids: set[str]) -> None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(Connection).where(Connection.conn_id.in_(conn_ids)))


def flags(urls: dict[str, str], **override: str) -> list[str]:
    values = {
        "--source-url": urls["lightspeed_ecom"],
        "--source-login": "demo-key",
        "--source-password": "demo-secret",
        "--source-language": "nl",
        "--target-url": urls["exact_globe"],
        "--target-login": "globe",
        "--target-password": "globe",
        "--target-server-name": "sandbox",
        "--target-database-name": "600",
        "--target-auth": "basic",
        **override,
    }
    return [x for kv in values.items() for x in kv]


def stored(conn_id: str):
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        if conn is None:
            return None
        return {
            "type": conn.conn_type,
            "host": conn.host,
            "login": conn.login,
            "password": conn.password,
            "extra": conn.extra_dejson,
        }


def test_flags_store_tested_connections_and_write_the_chosen_flows(urls, env, tmp_path):
    out = tmp_path / f"{PAIR}.yaml"
    done = shopbridge(
        "init",
        "--non-interactive",
        "--pair",
        PAIR,
        "--flows",
        "orders,customers",
        "--out",
        str(out),
        *flags(urls),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lightspeed_ecom: connection 'shopbridge_lightspeed_ecom': OK" in done.stdout
    assert "connected to Exact Globe administration 600" in done.stdout
    cfg = load_integration(out)
    assert list(cfg.flows) == ["orders", "customers"]
    shipped = load_integration(ROOT / "include" / "integrations" / f"{PAIR}.yaml")
    assert cfg.flows["orders"] == shipped.flows["orders"]  # the page's defaults
    assert cfg.source.connection_id == "shopbridge_lightspeed_ecom"
    text = out.read_text()
    assert "demo-secret" not in text
    assert "globe" not in yaml.safe_load(text)["target"].get("password", "")
    assert "# Lightspeed eCom (webshop) -> Exact Globe" in text  # the comments are kept
    assert "erp_orders" not in yaml.safe_load(text)["flows"]
    assert stored("shopbridge_lightspeed_ecom") == {
        "type": "lightspeed_ecom",
        "host": urls["lightspeed_ecom"],
        "login": "demo-key",
        "password": "demo-secret",
        "extra": {"language": "nl"},
    }
    assert stored("shopbridge_exact_globe")["extra"] == {
        "server_name": "sandbox",
        "database_name": "600",
        "auth": "basic",
    }


def test_a_wrong_credential_is_refused_naming_the_system(urls, env, tmp_path):
    out = tmp_path / "refused.yaml"
    done = shopbridge(
        "init",
        "--non-interactive",
        "--pair",
        PAIR,
        "--out",
        str(out),
        *flags(
            urls,
            **{
                "--target-password": "wrong",
                "--target-conn-id": "init_refused_globe",
                "--source-conn-id": "init_refused_shop",
            },
        ),
    )
    assert done.returncode == 2
    assert "exact_globe (target, connection init_refused_globe) failed its test" in done.stderr
    assert "refused the credentials" in done.stderr
    assert not out.exists()
    assert stored("init_refused_globe") is None
    assert stored("init_refused_shop") is None


def test_missing_flags_without_a_terminal_are_named(urls, env, tmp_path):
    done = shopbridge(
        "init",
        "--non-interactive",
        "--pair",
        PAIR,
        "--out",
        str(tmp_path / "x.yaml"),
        "--source-url",
        urls["lightspeed_ecom"],
    )
    assert done.returncode == 2
    assert "missing --source-login" in done.stderr


def test_an_existing_file_is_kept_without_force(urls, env, tmp_path):
    out = tmp_path / "kept.yaml"
    out.write_text("# mine\n")
    done = shopbridge("init", "--non-interactive", "--pair", PAIR, "--out", str(out), *flags(urls))
    assert done.returncode == 2
    assert "exists; give --force" in done.stderr
    assert out.read_text() == "# mine\n"


def test_a_terminal_session_answers_the_prompts(urls, env, tmp_path):
    out = tmp_path / "terminal.yaml"
    child = pexpect.spawn(
        str(os.path.join(os.path.dirname(sys.executable), "shopbridge")),
        ["init", "--out", str(out)],
        cwd=str(ROOT),
        encoding="utf-8",
        env={**os.environ, "SHOPBRIDGE_ROOT": str(ROOT)},
        timeout=120,
    )
    try:
        child.expect(r"pair \[1-\d+ or name\]: ")
        child.sendline(PAIR)
        child.expect(r"flows, comma-separated \[orders,customers,products,stock,erp_orders\]: ")
        child.sendline("orders, products")
        answers = [
            (r"Airflow connection id \[shopbridge_lightspeed_ecom\]: ", ""),
            (r"API address: ", urls["lightspeed_ecom"]),
            (r"API key: ", "demo-key"),
            (r"API secret: ", "demo-secret"),
            (r"extra language \[optional\]: ", ""),
            (r"Airflow connection id \[shopbridge_exact_globe\]: ", "terminal_globe"),
            (r"address: ", urls["exact_globe"]),
            (r"login: ", "globe"),
            (r"password: ", "globe"),
            (r"extra server_name: ", "sandbox"),
            (r"extra database_name: ", "600"),
            (r"extra auth \[optional\]: ", "basic"),
        ]
        for prompt, answer in answers:
            child.expect(prompt)
            child.sendline(answer)
        child.expect("wrote ")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    transcript = child.before or ""
    assert child.exitstatus == 0, transcript
    assert "demo-secret" not in transcript  # secrets are not echoed
    cfg = load_integration(out)
    assert list(cfg.flows) == ["orders", "products"]
    assert cfg.target.connection_id == "terminal_globe"
    assert stored("terminal_globe")["login"] == "globe"
    assert stored("shopbridge_lightspeed_ecom")["password"] == "demo-secret"
