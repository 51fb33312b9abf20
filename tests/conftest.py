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
from typing import TYPE_CHECKING, Any

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


_STAGE = pytest.StashKey["Stage"]()


@pytest.fixture(scope="session")
def stage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stage]:
    """The live Airflow this test process shares (``tests/stage.py``): started by the
    first test that asks for it, stopped after the last (:func:`pytest_runtest_teardown`)."""
    from tests.stage import running_stage

    with running_stage(tmp_path_factory.mktemp("stage")) as shared:
        request.config.stash[_STAGE] = shared
        yield shared


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the stage once the next test does not need it: the tests on it run together
    (:func:`pytest_collection_modifyitems`), and an idle Airflow with its sandboxes took a
    sixth of a core for the rest of the session."""
    shared = item.config.stash.get(_STAGE, None)
    if shared is None or shared.closed or "stage" not in getattr(item, "fixturenames", ()):
        return
    if nextitem is None or "stage" not in getattr(nextitem, "fixturenames", ()):
        shared.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test process (see ``tests/pg.py``)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh database on that server, as a SQLAlchemy URL."""
    return postgres.create_database()


#: the tests on a live Airflow (``tests/stage.py``) as two units of work, one per worker,
#: about even (``file[param]`` or ``file`` -> unit); every other file is a unit of its own
STAGE_UNITS = {
    "tests/test_demo_pairs.py[lightspeed_ecom__buckles]": "stage_a",
    "tests/webhooks/test_live_webhooks.py": "stage_a",
    "tests/test_demo_pairs.py": "stage_b",
    "tests/activity/test_activity_browser.py": "stage_b",
}
#: the units that take longest, longest first (``--durations`` on two cores): the first
#: goes to one worker, the second to the other, then each takes the next as it is free
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


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its stage's, or its file's."""
    path = nodeid.split("::", 1)[0]
    param = nodeid.rsplit("[", 1)[1].removesuffix("]") if nodeid.endswith("]") else ""
    return STAGE_UNITS.get(f"{path}[{param}]") or STAGE_UNITS.get(path) or path


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Whole units of work (:func:`unit_of`) to each worker, in collection order.

    A file's tests stay on one worker (its module fixtures and ordered tests together, as
    with ``--dist loadfile``), and each stage's tests share that worker's live Airflow.
    (pytest-xdist's own ``--dist loadgroup`` cannot do this under pytest 9: it renames
    ``item._nodeid``, which pytest no longer reads.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return ByUnit(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The units longest first, then every unit with slow tests, then the rest.

    The workers take units in collection order (``--no-loadscope-reorder``): a long unit
    collected last would run alone at the end while the other worker idles. The sort is
    stable and the same in every worker, as xdist requires.
    """
    slow = {unit_of(item.nodeid) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        unit = unit_of(item.nodeid)
        if unit in HEAVIEST:
            return HEAVIEST.index(unit)
        return len(HEAVIEST) + (0 if unit in slow else 1)

    items.sort(key=rank)
