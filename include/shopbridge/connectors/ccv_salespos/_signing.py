"""CCV's ``x-hash`` request and response signatures (VENDOR_APIS.md §6, the vendor SDK's
``BaseEndpoint::getHash``/``validateResponse``), shared by the client and the sandbox.

Why one module: the signature is only useful when both sides rebuild the signed string
byte for byte the same way, so there is exactly one function that builds it.

The signed string is ``public|METHOD|uri|body|x-date``:

* ``uri`` is the path plus query *as sent on the wire* (``/api/rest/v1/orders?start=0&
  size=25``), so a client must sign the URL its HTTP library actually sends, never a
  re-encoded copy of it;
* ``body`` is the exact bytes sent (``""`` without a body); serialise JSON once and send
  those bytes;
* ``x-date`` is UTC ISO 8601 with an offset (``2024-05-01T10:00:00+00:00``, PHP's ``c``).

A response is signed the same way over the *request's* method and uri, the response body
and the response's own ``x-date``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

#: header names as the vendor SDK sends them (HTTP header names are case-insensitive)
PUBLIC_HEADER = "x-public"
DATE_HEADER = "x-date"
HASH_HEADER = "x-hash"


def signed_string(public: str, method: str, uri: str, body: bytes | str, date: str) -> bytes:
    """``public|METHOD|uri|body|x-date`` as bytes (the body is never re-encoded)."""
    raw = body.encode() if isinstance(body, str) else body
    return b"|".join((public.encode(), method.upper().encode(), uri.encode(), raw, date.encode()))


def sign(secret: str, public: str, method: str, uri: str, body: bytes | str, date: str) -> str:
    """Hex HMAC-SHA512 of :func:`signed_string`, keyed with ``secret``."""
    return hmac.new(
        secret.encode(), signed_string(public, method, uri, body, date), hashlib.sha512
    ).hexdigest()


def matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing signature never matches."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def stamp(when: datetime) -> str:
    """An aware instant as ``x-date``: UTC, seconds, ``+00:00`` (PHP ``date('c')``)."""
    if when.tzinfo is None:
        raise ValueError(f"x-date needs an aware datetime, got {when!r}")
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_stamp(value: str) -> datetime:
    """An ``x-date`` back to an aware datetime; ``ValueError`` when it is not ISO 8601
    with an offset (a date without one cannot be compared with the server's clock)."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"x-date {value!r} has no UTC offset")
    return parsed
