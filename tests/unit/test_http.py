from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from shopbridge.connectors._kit.http import (
    RetryPolicy,
    classify,
    parse_retry_after,
    send,
)
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import AuthError, FatalError, RetriableError


def resp(status: int, headers: dict[str, str] | None = None, body: str = "") -> httpx.Response:
    return httpx.Response(
        status,
        headers=headers,
        text=body,
        request=httpx.Request("GET", "https://x.test/nl/orders.json?secret=s"),
    )


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after(resp(429, {"Retry-After": "7"})) == 7.0
    when = datetime.now(UTC) + timedelta(seconds=30)
    dated = resp(429, {"Retry-After": format_datetime(when, usegmt=True)})
    assert 25 < parse_retry_after(dated) <= 30
    assert parse_retry_after(resp(429, {"Retry-After": "soon"})) is None
    assert parse_retry_after(resp(429)) is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, RetriableError),
        (500, RetriableError),
        (503, RetriableError),
        (401, AuthError),
        (403, AuthError),
        (404, FatalError),
        (422, FatalError),
    ],
)
def test_classify(status, error):
    with pytest.raises(error) as exc:
        classify(resp(status, body='{"error": "nope"}'))
    assert "secret" not in str(exc.value)  # the query string is never in a message
    assert str(status) in str(exc.value)


def test_classify_passes_success():
    classify(resp(200))


def _client(responses):
    calls = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_timeouts_and_5xx_are_retried_then_succeed():
    sleeps: list[float] = []
    http = _client(
        [
            httpx.ReadTimeout("slow"),
            httpx.Response(502),
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(200),
        ]
    )
    counter = CallCounter()
    r = send(
        http,
        http.build_request("GET", "https://x.test/a"),
        policy=RetryPolicy(sleep=sleeps.append),
        counter=counter,
    )
    assert r.status_code == 200
    assert counter.calls == 4
    assert sleeps[2] == 3.0


def test_retry_after_clamped_to_max_wait():
    sleeps: list[float] = []
    http = _client([httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)])
    send(
        http,
        http.build_request("GET", "https://x.test/a"),
        policy=RetryPolicy(sleep=sleeps.append, max_wait=20),
        counter=CallCounter(),
    )
    assert sleeps == [20]


def test_no_retry_for_creating_post():
    http = _client([httpx.ReadTimeout("slow"), httpx.Response(201)])
    counter = CallCounter()
    with pytest.raises(RetriableError, match="ReadTimeout"):
        send(
            http,
            http.build_request("POST", "https://x.test/a"),
            policy=RetryPolicy(sleep=lambda _: None),
            counter=counter,
            retry=False,
        )
    assert counter.calls == 1


def test_gives_up_after_attempts():
    http = _client([httpx.Response(500)] * 3)
    counter = CallCounter()
    with pytest.raises(RetriableError):
        send(
            http,
            http.build_request("GET", "https://x.test/a"),
            policy=RetryPolicy(attempts=3, sleep=lambda _: None),
            counter=counter,
        )
    assert counter.calls == 3
