"""Test-wide setup: an isolated AIRFLOW_HOME per test process, set before Airflow is imported.

Each pytest-xdist worker gets its own home (and so its own SQLite metadata DB and ledger),
so end-to-end tests can run in parallel without sharing state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import PostgresServer, postgres_server

ROOT = Path(__file__).parents[1]
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_HOME = Path(tempfile.mkdtemp(prefix=f"shopbridge-airflow-{_worker}-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "SHOPBRIDGE_LEDGER_URL": f"sqlite:///{_HOME / 'ledger.sqlite'}",
    }
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB in this process's AIRFLOW_HOME (dag.test() needs one)."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run(
        [str(airflow), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
        timeout=300,
    )
    return _HOME


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test process (see ``tests/pg.py``)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh database on that server, as a SQLAlchemy URL."""
    return postgres.create_database()


#: files that each run whole demos (minutes each): started first, see below
HEAVIEST = ("test_demo_pairs.py", "test_demo_command.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The heaviest files first, then every file with slow tests, then the rest.

    pytest-xdist (``--dist loadfile``) hands whole files to its workers in collection
    order; a ten-minute file collected last would run alone at the end while the other
    worker idles. Longest first keeps both cores busy to the end. The sort is stable and
    the same in every worker, as xdist requires.
    """
    slow = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        if item.path.name in HEAVIEST:
            return HEAVIEST.index(item.path.name)
        return len(HEAVIEST) + (0 if item.path in slow else 1)

    items.sort(key=rank)
