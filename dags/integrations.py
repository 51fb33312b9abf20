"""One Airflow DAG per flow per integration file in ``include/integrations/``."""

from pathlib import Path

from shopbridge.airflow.dag_factory import register_integrations

register_integrations(globals(), config_dir=Path(__file__).parents[1] / "include/integrations")
