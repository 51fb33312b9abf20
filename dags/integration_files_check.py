"""Shows invalid integration files as an Airflow DAG import error naming the file and the field.

Kept apart from ``integrations.py`` so a broken file never stops the valid ones loading.
"""

from pathlib import Path

from shopbridge.airflow.dag_factory import raise_config_errors

raise_config_errors(Path(__file__).parents[1] / "include/integrations")
