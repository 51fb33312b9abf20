"""Reading an Airflow Connection's address the same way for every vendor."""

from __future__ import annotations

from typing import Any


def base_url(conn: Any, *, default_scheme: str = "https") -> str:
    """``host`` may carry its scheme (``http://127.0.0.1``) or take it from ``schema``."""
    host = (conn.host or "").rstrip("/")
    if not host:
        return ""
    if "://" not in host:
        host = f"{conn.schema or default_scheme}://{host}"
    if conn.port:
        host = f"{host}:{conn.port}"
    return host
