"""The development kit: vendor sandboxes, the demo, a local Airflow and drill helpers.

Never shipped to an Airflow worker (the Dockerfile copies only ``include/shopbridge``)."""
