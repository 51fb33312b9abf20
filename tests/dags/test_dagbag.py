"""DAG integrity: every file in dags/ imports, ids match the YAML files, the graph is right,
and the folder parses fast (Airflow's own import does not count)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
DAGS = ROOT / "dags"


def dagbag(folder: Path = DAGS):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


def test_every_dag_file_imports_without_error():
    bag = dagbag()
    assert bag.import_errors == {}


def test_dag_ids_follow_the_yaml_files():
    expected = set()
    for path in (ROOT / "include" / "integrations").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for flow, spec in data["flows"].items():
            if (spec or {}).get("enabled", True):
                expected.add(f"{data['source']['system']}__{data['target']['system']}__{flow}")
    expected.add("shopbridge_maintenance")  # dags/maintenance.py: the retention purge
    assert set(dagbag().dag_ids) == expected


def test_orders_task_graph():
    dag = dagbag().dags["lightspeed_ecom__exact_globe__orders"]
    graph = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert graph == {
        "extract": ["validate_and_map"],
        "validate_and_map": ["lookup"],
        "lookup": ["load"],
        "load": ["report"],
        "report": [],
    }
    assert dag.timetable.expression == "*/15 * * * *"
    assert dag.default_args["retries"] == 3
    assert dag.default_args["retry_exponential_backoff"] == 2.0
    assert "lightspeed_ecom__exact_globe.yaml" in dag.doc_md


def test_a_task_parses_only_its_own_dag(monkeypatch):
    """What Airflow's task runner sets while it looks for the task's DAG."""
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "lightspeed_ecom__exact_globe__orders")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "load")
    bag = dagbag()
    assert bag.import_errors == {}
    # the maintenance DAG's own file is not generated: it stays
    assert set(bag.dag_ids) == {"lightspeed_ecom__exact_globe__orders", "shopbridge_maintenance"}


def test_folder_parses_in_under_a_second_of_cpu_once_airflow_is_imported():
    # a fresh interpreter, so nothing of shopbridge is imported yet; CPU time, not the
    # clock, so a busy machine cannot fail it (`./run bench e2e` times 50 files on the clock)
    code = textwrap.dedent(f"""
        import time
        from airflow.dag_processing.dagbag import DagBag
        t = time.process_time()
        bag = DagBag(dag_folder={str(DAGS)!r})
        print("RESULT", time.process_time() - t, len(bag.dags), len(bag.import_errors))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    ).stdout
    out = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    seconds, n_dags, n_errors = float(out[0]), int(out[1]), int(out[2])
    assert n_errors == 0
    assert n_dags >= 1
    assert seconds < 1.0, f"parsing dags/ took {seconds:.2f}s of CPU"


def test_a_broken_yaml_is_an_import_error_naming_file_and_field_and_others_still_load(tmp_path):
    cfgs = tmp_path / "include" / "integrations"
    cfgs.mkdir(parents=True)
    good = (ROOT / "include/integrations/lightspeed_ecom__exact_globe.yaml").read_text()
    (cfgs / "lightspeed_ecom__exact_globe.yaml").write_text(good)
    (cfgs / "typo.yaml").write_text(good.replace("batch_size", "bach_size"))
    dags = tmp_path / "dags"
    dags.mkdir()
    for f in DAGS.glob("*.py"):
        (dags / f.name).write_text(f.read_text())
    bag = dagbag(dags)
    assert "lightspeed_ecom__exact_globe__orders" in bag.dag_ids
    errors = "\n".join(bag.import_errors.values())
    assert "typo.yaml" in errors
    assert "flows.orders.bach_size" in errors
    assert list(bag.import_errors) == [str(dags / "integration_files_check.py")]


def test_layers_pure_modules_do_not_import_airflow():
    code = (
        "import sys, shopbridge.flows.orders, shopbridge.config, shopbridge.store.ledger, "
        "shopbridge.connectors.lightspeed_ecom.client, "
        "shopbridge.connectors.exact_globe.client;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "[]"
