# The image of every Airflow service of docker-compose.yaml (api-server, scheduler,
# dag-processor, triggerer, Celery workers, init). It copies only the shipped package:
# the sandboxes and the demo (dev/, the dev kit) have their own image, dev/Dockerfile.
#
# Like ./run, it installs exactly what uv.lock pins (uv sync --frozen): the image runs
# the versions the tests ran, and a lock out of date with pyproject.toml fails the build
# instead of resolving something new.
FROM python:3.11-slim-bookworm

# curl: the healthchecks of the official compose file (api-server, scheduler)
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

# the uv ./run uses, from the package index
RUN pip install --no-cache-dir uv==0.13.8

# the user of Airflow's official image (AIRFLOW_UID in the compose file)
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home airflow

WORKDIR /opt/shopbridge
ENV UV_PROJECT_ENVIRONMENT=/opt/shopbridge/.venv \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1

# dependencies first (a layer that survives code changes), then the project itself
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11
COPY include ./include
COPY dags ./dags
COPY plugins ./plugins
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3.11

ENV PATH=/opt/shopbridge/.venv/bin:$PATH \
    SHOPBRIDGE_ROOT=/opt/shopbridge \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/shopbridge/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/shopbridge/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# written at run time: task logs, the admin password; the sandboxes' Connections (mounted)
RUN mkdir -p /opt/airflow/logs /opt/airflow/passwords /var/lib/shopbridge-sandboxes \
 && chown -R 50000:0 /opt/airflow /var/lib/shopbridge-sandboxes \
 && chmod -R g+rwX /opt/airflow /var/lib/shopbridge-sandboxes

USER 50000
ENTRYPOINT []
CMD ["airflow", "version"]
