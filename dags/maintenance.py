"""The daily retention purge: logs, activity and Airflow records past the retention."""

from shopbridge.airflow.maintenance import build_maintenance_dag

maintenance = build_maintenance_dag()
