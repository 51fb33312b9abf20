"""The kit's refresh-token grant: where the client's credentials go, how an answer reads,
and which failures are whose (the vendors' own refusals are tested with their clients)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from shopbridge.connectors._kit.grants import RefreshGrant, oauth_error
from shopbridge.connectors._kit.tokens import token_key
from shopbridge.errors import AuthError, FatalError, RetriableError

URL = "https://auth.test/token"


class FormGrant(RefreshGrant):
    vendor = "Vendor"
    system = "vendor"


class BasicGrant(FormGrant):
    client_auth = "basic"
    default_ttl_s = 60.0


def answer(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("POST", URL)
    if body is None:
        return httpx.Response(status, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.read().decode())


def test_client_credentials_go_in_the_form_or_basic_auth() -> None:
    sent = FormGrant(URL, "cid", "s3cret").request("r0")
    assert form_of(sent) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["r0"],
        "client_id": ["cid"],
        "client_secret": ["s3cret"],
    }
    assert "Authorization" not in sent.headers
    basic = BasicGrant(URL, "cid", "s3cret").request("r0")
    assert form_of(basic) == {"grant_type": ["refresh_token"], "refresh_token": ["r0"]}
    assert basic.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:s3cret").decode()


def test_repr_and_key_name_the_client_never_the_secret() -> None:
    grant = FormGrant(URL, "cid", "s3cret")
    assert "s3cret" not in repr(grant) and "cid" in repr(grant)
    assert grant.key("r0") == token_key("vendor", "cid", "r0")


def test_an_answer_gives_the_pair_keeping_the_refresh_token_it_does_not_replace() -> None:
    grant = BasicGrant(URL, "cid", "s")
    rotated = grant.parse(answer(200, {"access_token": "a1", "refresh_token": "r1"}), "r0", 100.0)
    assert (rotated.access_token, rotated.refresh_token, rotated.expires_at) == ("a1", "r1", 160.0)
    kept = grant.parse(answer(200, {"access_token": "a1", "expires_in": "bad"}), "r0", 100.0)
    assert (kept.refresh_token, kept.expires_at) == ("r0", 160.0)
    with pytest.raises(FatalError, match="without an access_token"):
        grant.parse(answer(200, {"access_token": ""}), "r0", 100.0)


def test_429_and_5xx_are_retried_and_an_unclaimed_refusal_is_fatal() -> None:
    grant = FormGrant(URL, "cid", "s")
    with pytest.raises(RetriableError) as retried:
        grant.parse(answer(429, headers={"Retry-After": "7"}), "r0", 0.0)
    assert retried.value.retry_after == 7.0
    with pytest.raises(RetriableError, match="Vendor token endpoint"):
        grant.parse(answer(503), "r0", 0.0)
    with pytest.raises(FatalError) as refused:
        grant.parse(answer(400, {"error": "invalid_grant"}), "r0", 0.0)
    assert not isinstance(refused.value, AuthError)


def test_oauth_error_reads_the_rfc_body_and_nothing_else() -> None:
    described = answer(400, {"error": "invalid_client", "error_description": "bad secret"})
    assert oauth_error(described) == ("invalid_client", "bad secret")
    assert oauth_error(answer(400, ["not", "an", "object"])) == ("", "")
    assert oauth_error(answer(400)) == ("", "")
