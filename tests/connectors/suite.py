"""The behaviour every connector's client shows against its own sandbox (Singer's
``get_tap_test_class``): transient failures retried as the vendor asks, auth and other 4xx
never retried, and each reported so a person knows what to fix.

A connector's test module builds a :class:`Harness` and calls :func:`connector_suite`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopbridge.connectors.base import CallCounter
from shopbridge.errors import AuthError, FatalError


@dataclass
class Harness:
    app: FastAPI
    #: one cheap read through the client under test
    probe: Callable[[], Any]
    #: the same read with wrong credentials
    probe_bad_auth: Callable[[], Any]
    #: a write the sandbox refuses with a 4xx other than 401/403/429
    rejected_write: Callable[[], Any]
    counter: CallCounter
    #: what the client's retry policy slept, in order
    sleeps: list[float]


def fault(app: FastAPI, **fault: Any) -> None:
    with TestClient(app) as tc:
        assert tc.post("/_sandbox/faults", json=fault).status_code == 200


def connector_suite(make: Callable[[], Harness]) -> type:
    class Suite:
        def test_429_waits_retry_after_then_succeeds(self) -> None:
            h = make()
            fault(h.app, status=429, retry_after=2, times=1)
            h.probe()
            assert h.sleeps == [2.0]
            assert h.counter.calls == 2

        def test_500_and_503_are_retried(self) -> None:
            h = make()
            fault(h.app, status=500, times=1)
            fault(h.app, status=503, times=1)
            h.probe()
            assert len(h.sleeps) == 2
            assert h.counter.calls == 3

        def test_persistent_500_gives_up_with_the_path(self) -> None:
            h = make()
            fault(h.app, status=500, times=50)
            with pytest.raises(Exception, match="500") as exc:
                h.probe()
            assert "Retriable" in type(exc.value).__name__

        def test_401_is_auth_error_and_not_retried(self) -> None:
            h = make()
            with pytest.raises(AuthError, match="401"):
                h.probe_bad_auth()
            assert h.sleeps == []
            assert h.counter.calls == 1

        def test_other_4xx_sent_once(self) -> None:
            h = make()
            with pytest.raises(FatalError) as exc:
                h.rejected_write()
            assert not isinstance(exc.value, AuthError)
            assert h.sleeps == []
            assert h.counter.calls == 1

    return Suite
