"""Flow step functions: pure functions of (settings, batch, connectors, ledger).

They never import Airflow, so they run in unit tests, benchmarks and a plain loop alike;
``dag_factory`` wraps them in tasks.
"""
