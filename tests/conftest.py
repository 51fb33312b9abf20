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
from typing import TYPE_CHECKING

import pytest

from tests.pg import PostgresServer, postgres_server

if TYPE_CHECKING:
    from tests.stage import Stage

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
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """The live Airflow this test process shares (``tests/stage.py``): started by the
    first test that asks for it, stopped with everything it started at the session's end."""
    from tests.stage import running_stage

    with running_stage(tmp_path_factory.mktemp("stage")) as shared:
        yield shared


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test process (see ``tests/pg.py``)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh database on that server, as a SQLAlchemy URL."""
    return postgres.create_database()


#: pytest-xdist's work units that take longest, longest first (``--durations`` on two
#: cores): the two groups of tests on a live Airflow (``tests/stage.py``; the first unit
#: goes to the first worker, the second to the other), then whole files
HEAVIEST = (
    "stage_a",
    "stage_b",
    "tests/test_demo_command.py",
    "tests/drills/test_target_faults.py",
    "tests/drills/test_outage_backfill.py",
    "tests/drills/test_parallel_executor.py",
    "tests/drills/test_worker_kill.py",
    "tests/dags/test_e2e_buckles.py",
)


def _unit(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    return item.path.relative_to(ROOT).as_posix()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whole files as pytest-xdist's units of work, the shared-Airflow tests as one unit,
    and the units longest first.

    ``--dist loadgroup`` keeps the tests of one ``xdist_group`` on one worker: the tests
    marked ``xdist_group("stage_a")`` share that worker's live Airflow, those marked
    ``stage_b`` the other worker's, and every other file
    is made a group of its own here (its module fixtures and ordered tests stay together,
    as with ``--dist loadfile``). This runs before pytest-xdist's own hook, which reads
    the marks.

    The workers take units in collection order (``--no-loadscope-reorder``): a long unit
    collected last would run alone at the end while the other worker idles, so the
    longest go first, then every file with slow tests, then the rest. The sort is stable
    and the same in every worker, as xdist requires.
    """
    slow: set[str] = set()
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(_unit(item)))
        if item.get_closest_marker("slow"):
            slow.add(_unit(item))

    def rank(item: pytest.Item) -> int:
        unit = _unit(item)
        if unit in HEAVIEST:
            return HEAVIEST.index(unit)
        return len(HEAVIEST) + (0 if unit in slow else 1)

    items.sort(key=rank)
