"""What runs inside Airflow: the DAG factory, pools, notifiers, the webhook receiver, the
activity view and the maintenance jobs. The only part of shopbridge that imports Airflow."""
