"""Whether a debtor in a back office still holds what a sync would write to it.

A sync compares a hash of the fields it manages before deciding a debtor needs an update.
Back offices pad their char columns and keep an e-mail in whatever case it was typed, so
the values are compared trimmed and the e-mail lower-cased; else every run would find
every debtor changed and rewrite it. AccountView and Exact Globe compare the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any


def fingerprint(row: Mapping[str, Any], managed: Sequence[str], *, email: str) -> str:
    """Hash of the ``managed`` fields of a debtor ``row`` (as read back, or as it would be
    written), ``email`` naming its e-mail field."""
    values = []
    for name in managed:
        value = row.get(name)
        text = "" if value is None else str(value).strip()
        values.append(text.lower() if name == email else text)
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()
