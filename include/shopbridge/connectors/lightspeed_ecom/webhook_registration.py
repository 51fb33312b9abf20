"""Registering shopbridge's receiver at Lightspeed eCom (``POST /webhooks.json``).

One webhook per item group a flow needs, action ``*`` (created, updated, deleted and, for
orders, shipped), JSON, in the Connection's language. Registration is idempotent: an
active webhook for the same group and address is kept (an inactive one is left as the
shop owner switched it, and a new active one is added).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from typing import Any

#: flow kind -> the Lightspeed item group whose events feed it
ITEM_GROUPS = {"orders": "orders", "customers": "customers", "shipments": "shipments"}


def register(hook: Any, address: str, kinds: Iterable[str]) -> list[str]:
    """Create the missing webhooks; one line per item group saying what was done."""
    groups = sorted({ITEM_GROUPS[k] for k in kinds if k in ITEM_GROUPS})
    lines: list[str] = []
    with closing(hook.get_client()) as client:
        existing = [w for w in client.list_webhooks() if w.get("address") == address]
        for group in groups:
            mine = [
                w
                for w in existing
                if w.get("itemGroup") == group and w.get("itemAction") in ("*", "created")
            ]
            if any(w.get("isActive") for w in mine):
                lines.append(f"{group}: already registered (webhook {mine[0]['id']})")
                continue
            fields: dict[str, Any] = {
                "isActive": True,
                "itemGroup": group,
                "itemAction": "*",
                "language": client.language,
                "format": "json",
                "address": address,
            }
            created = client.create_webhook(fields)
            lines.append(f"{group}: registered webhook {created['id']} -> {address}")
    return lines
