"""An Airflow notifier that POSTs one JSON document to a URL held in an Airflow Connection.

For an ops tool that is neither e-mail nor Slack (an incident system, a chat bridge, a
log collector). Shaped like the providers' notifiers (``SlackWebhookNotifier``): a
Connection id in, the message fixed when the notifier is built, ``notify(context)`` sends.

The request goes through the HTTP provider's ``HttpHook``, so the Connection (type
``http``) is spelled exactly as that provider documents it and the UI's HTTP form edits
it: ``host`` is the whole URL (``https://ops.example.com/hooks/shopbridge``) or the host
name with ``schema`` and ``port``; ``extra`` holds extra headers; ``login`` + ``password``
is basic auth, a ``password`` alone goes out as ``Authorization: Bearer <password>`` (what
incident tools ask for). The address and the secret live in the Connection, never the YAML.

Kept in its own module so that importing :mod:`shopbridge.airflow.notify` (which the DAG
factory does at parse time) does not import Airflow's notifier base or the HTTP provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

#: (connect, read) seconds: a sink that hangs must not hold a task for long
TIMEOUT = (3.0, 10.0)


class JsonWebhookNotifier(BaseNotifier):
    """POST ``payload`` as JSON; any answer but 2xx is an error (the caller logs it).

    No ``template_fields``: the payload quotes vendor data (a quarantine reason repeats the
    bad value), and rendering that as a Jinja template could leak whatever the template
    reaches. Nothing is retried: a notification that arrives twice is worse than one logged
    as undelivered next to the run it was about.
    """

    def __init__(self, *, webhook_conn_id: str, payload: dict[str, Any]) -> None:
        super().__init__()
        self.webhook_conn_id = webhook_conn_id
        self.payload = payload

    def notify(self, context: Context) -> None:
        hook = HttpHook(method="POST", http_conn_id=self.webhook_conn_id)
        conn = hook.get_connection(self.webhook_conn_id)
        if not (conn.host or "").strip():
            raise ValueError(
                f"connection {self.webhook_conn_id!r} has no host: put the webhook URL there"
            )
        headers = {"User-Agent": "shopbridge-notify"}
        if conn.password and not conn.login:
            headers["Authorization"] = f"Bearer {conn.password}"
        # the hook's own check would log the answer's body, which may echo the token
        resp = hook.run(
            json=self.payload,
            headers=headers,
            extra_options={"timeout": TIMEOUT, "check_response": False},
        )
        if not resp.ok:
            # the status and path only: the body or query string may echo the token
            url = urlsplit(resp.url)
            raise RuntimeError(
                f"webhook {url.scheme}://{url.netloc}{url.path} answered {resp.status_code}"
            )
