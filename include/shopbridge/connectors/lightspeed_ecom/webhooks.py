"""Lightspeed eCom webhook signatures: pure functions, no web framework.

A delivery carries ``X-Signature``: the hex ``md5(raw_body + api_secret)`` (VENDOR_APIS.md
§1 [V]). It is not an HMAC; md5 is the vendor's choice, not ours. Verify against the exact
bytes received, before any JSON parsing.
"""

from __future__ import annotations

import hashlib
from secrets import compare_digest

SIGNATURE_HEADER = "X-Signature"


def signature(body: bytes, secret: str) -> str:
    """The ``X-Signature`` Lightspeed sends with ``body``: hex md5 of body + API secret."""
    return hashlib.md5(body + secret.encode(), usedforsecurity=False).hexdigest()


def verify(body: bytes, given: str | None, secret: str) -> bool:
    """Whether ``given`` (the received ``X-Signature``, may be missing) signs ``body``.

    Compared in constant time; hex case and surrounding whitespace are ignored.
    """
    if not given:
        return False
    return compare_digest(given.strip().lower().encode(), signature(body, secret).encode())
