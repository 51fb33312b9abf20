"""Local places for notifications to land: an HTTP sink (Slack webhook, JSON webhook) and an
SMTP sink (aiosmtpd), each recording what arrived, and the Airflow Connections that point
at them (as AIRFLOW_CONN_* variables, the way a deployment would set them)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200

    def wait(self, n: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first ``n`` requests (Slack's client posts from the caller's thread, so
        this only guards against a slow server thread)."""
        done = threading.Event()
        for _ in range(int(timeout * 20)):
            if len(self.requests) >= n:
                break
            done.wait(0.05)
        return self.requests[:n]


@contextmanager
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sink.requests.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(sink.status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if sink.status < 300 else b"no")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpSink:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    port = free_port()
    sink = SmtpSink(port=port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def free_port() -> int:
    """A port nothing listens on (for a sink that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html", "plain"))
    assert part is not None
    return str(part.get_content())


def smtp_connection(port: int, from_email: str = "shopbridge@example.com") -> str:
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {
                "disable_ssl": True,
                "disable_tls": True,
                "from_email": from_email,
                "timeout": 5,
                "retry_limit": 1,
            },
        }
    )


def slack_connection(url: str) -> str:
    return json.dumps(
        {"conn_type": "slackwebhook", "host": f"{url}/services", "password": "T000/B000/XXXX"}
    )


def webhook_connection(url: str, token: str = "") -> str:
    fields: dict[str, Any] = {"conn_type": "http", "host": f"{url}/hooks/shopbridge"}
    if token:
        fields["password"] = token
    return json.dumps(fields)
