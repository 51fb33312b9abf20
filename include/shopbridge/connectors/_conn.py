"""Reading an Airflow Connection the same way for every vendor: its address, and its
fields and ``extra`` as a connector's validated settings."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shopbridge.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


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


def settings_from(model: type[M], conn: Any, conn_id: str, **fields: Any) -> M:
    """``model`` built from ``fields`` (taken from the Connection's own fields) and the
    Connection's ``extra``; every refusal is a ``ConfigError`` naming the connection and
    the field (``extra.page_size``), so the person fixing it knows where to look."""
    extra = conn.extra_dejson or {}
    if not isinstance(extra, dict):
        raise ConfigError(f"connection {conn_id!r}: extra must be a JSON object")
    try:
        return model(**fields, **extra)
    except ValidationError as exc:

        def where(loc: tuple[Any, ...]) -> str:
            path = ".".join(map(str, loc))
            return f"extra.{path}" if loc and loc[0] in extra else path

        raise ConfigError(
            "\n".join(
                f"connection {conn_id!r}: {where(e['loc'])}: {e['msg']}" for e in exc.errors()
            )
        ) from None
    except TypeError as exc:  # a non-string key in extra, or a field given twice
        raise ConfigError(f"connection {conn_id!r}: extra: {exc}") from None
