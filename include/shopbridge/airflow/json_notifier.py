"""An Airflow notifier that POSTs one JSON document to a URL held in an Airflow Connection.

For an ops tool that is neither e-mail nor Slack (an incident system, a chat bridge, a
log collector). Shaped like the providers' notifiers (``SlackWebhookNotifier``): a
Connection id in, the message fixed when the notifier is built, ``notify(context)`` sends.

The Connection (type ``http``) holds the address and the secret, never the YAML:
``host`` is the whole URL (``https://ops.example.com/hooks/shopbridge``) or the host name
with ``schema`` (``http``/``https``, default https), ``port`` and ``extra.endpoint`` (the
path) as the HTTP provider spells them; a ``password`` goes out as ``Authorization:
Bearer <password>``; ``extra.headers`` adds headers.

Kept in its own module so that importing :mod:`shopbridge.airflow.notify` (which the DAG factory
does at parse time) does not import Airflow's notifier base or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from airflow.sdk import BaseNotifier, Connection

if TYPE_CHECKING:
    from airflow.sdk import Context

#: a sink that hangs must not hold a task (or the DAG processor) for long
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def webhook_url(conn: Connection) -> str:
    """The URL a Connection points at; see the module docstring for the two spellings."""
    host = (conn.host or "").strip()
    if not host:
        raise ValueError(f"connection {conn.conn_id!r} has no host: put the webhook URL there")
    if "://" in host:
        return host
    extra = conn.extra_dejson
    port = f":{conn.port}" if conn.port else ""
    path = str(extra.get("endpoint", "")).lstrip("/")
    return f"{conn.schema or 'https'}://{host}{port}/{path}"


class JsonWebhookNotifier(BaseNotifier):
    """POST ``payload`` as JSON; any answer but 2xx is an error (the caller logs it).

    No ``template_fields``: the payload quotes vendor data (a quarantine reason repeats the
    bad value), and rendering that as a Jinja template could leak whatever the template
    reaches. Nothing is retried: a notification that arrives twice is worse than one logged
    as undelivered next to the run it was about.
    """

    def __init__(
        self, *, webhook_conn_id: str, payload: dict[str, Any], http: httpx.Client | None = None
    ) -> None:
        super().__init__()
        self.webhook_conn_id = webhook_conn_id
        self.payload = payload
        self._http = http

    def notify(self, context: Context) -> None:
        conn = Connection.get(self.webhook_conn_id)
        headers = {"User-Agent": "shopbridge-notify"}
        headers.update(
            {str(k): str(v) for k, v in (conn.extra_dejson.get("headers") or {}).items()}
        )
        if conn.password:
            headers["Authorization"] = f"Bearer {conn.password}"
        http = self._http or httpx.Client(timeout=TIMEOUT)
        try:
            resp = http.post(webhook_url(conn), json=self.payload, headers=headers)
        finally:
            if self._http is None:
                http.close()
        if not resp.is_success:
            # the status and path only: the body or query string may echo the token
            raise RuntimeError(
                f"webhook {resp.request.url.copy_with(query=None)} answered {resp.status_code}"
            )
