"""The sandboxes of the docker compose cluster, and the Airflow Connections that reach them.

Each sandbox is its own service (``sandbox-<system>``, underscores as hyphens: a host
name has no underscores) listening on :data:`SERVICE_PORT`, as a real vendor would be its
own host. ``airflow-init`` imports the Connections this module prints
(``python -m shopbridge_dev.sandboxes.cluster > FILE; airflow connections import FILE``), so
they carry the same fields as the demo's and the end-to-end tests' (``connections.py``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from shopbridge_dev.sandboxes.connections import connection_fields

#: the port every sandbox service listens on inside the cluster network
SERVICE_PORT = 8000


def service_name(system: str) -> str:
    """The compose service (and host name) of ``system``'s sandbox."""
    return "sandbox-" + system.replace("_", "-")


def connections(systems: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``shopbridge_<system>`` -> its Connection, in ``airflow connections import`` form
    (``extra`` as a JSON string, which that command stores as it is)."""
    out: dict[str, dict[str, Any]] = {}
    for system in systems:
        fields = connection_fields(system, f"http://{service_name(system)}:{SERVICE_PORT}")
        out[f"shopbridge_{system}"] = {**fields, "extra": json.dumps(fields.get("extra", {}))}
    return out


def main() -> None:
    """Print every sandbox's Connection as JSON."""
    from shopbridge_dev.sandboxes.__main__ import SYSTEMS

    json.dump(connections(SYSTEMS), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
