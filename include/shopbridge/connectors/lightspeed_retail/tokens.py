"""Where Lightspeed Retail's rotating token pair lives: the kit's shared store.

Lightspeed rotates refresh tokens: a refresh returns a new access token *and* a new
refresh token, and the one just used dies (VENDOR_APIS.md §2;
developers.lightspeedhq.com/retail/authentication/refresh-token). The pair therefore lives
in one row of the ledger database that every worker reads and changes only under a lease
and by compare-and-swap (:mod:`shopbridge.connectors._kit.tokens`,
:mod:`shopbridge.store.tokens`). This module names the row.
"""

from __future__ import annotations

from shopbridge.connectors._kit import tokens as kit

SYSTEM = "lightspeed_retail"


def token_key(client_id: str, initial_refresh_token: str) -> str:
    """The store row of one authorization (see :func:`kit.token_key`)."""
    return kit.token_key(SYSTEM, client_id, initial_refresh_token)
