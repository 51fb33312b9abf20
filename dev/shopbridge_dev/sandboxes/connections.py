"""How an Airflow Connection reaches each vendor sandbox: the demo and the end-to-end tests
wire the same fields, so a pair that runs in one runs in the other.

The credentials are the sandboxes' own defaults (see each connector's ``sandbox.py``); a
real account's Connection differs only in these values, never in shape.
"""

from __future__ import annotations

from typing import Any

#: system -> Connection fields without the address (``conn_type``, login, password, extra)
SANDBOX_CONNECTIONS: dict[str, dict[str, Any]] = {
    "lightspeed_ecom": {
        "conn_type": "lightspeed_ecom",
        "login": "demo-key",
        "password": "demo-secret",
        "extra": {"language": "nl"},
    },
    "exact_globe": {
        "conn_type": "exact_globe",
        "login": "globe",
        "password": "globe",
        "extra": {"server_name": "sandbox", "database_name": "600", "auth": "basic"},
    },
    "fortnox": {
        "conn_type": "fortnox",
        "login": "demo-client-id",
        "password": "demo-client-secret",
        "extra": {"refresh_token": "demo-refresh-token", "currency": "EUR", "stock": "article"},
    },
    "accountview": {
        "conn_type": "accountview",
        "login": "shopbridge",
        "password": "sandbox-secret",
        "extra": {
            "refresh_token": "sandbox-refresh",
            "company_id": "SANDBOX",
            "ean_field": "BAR_CODE",
            "vat_codes": {"21": "2", "9": "1", "0": "0", "19": "5", "20": "6"},
        },
    },
    "ccv_salespos": {
        "conn_type": "ccv_salespos",
        "login": "demo-public",
        "password": "demo-secret",
        "extra": {},
    },
    "lightspeed_retail": {
        "conn_type": "lightspeed_retail",
        "login": "demo-client",
        "password": "demo-secret",
        "extra": {
            "refresh_token": "demo-refresh-token",
            "account_id": "83050",
            "shop_id": 1,
            "register_id": 1,
            "employee_id": 1,
        },
    },
    "buckles": {"conn_type": "buckles", "password": "demo-token", "extra": {}},
}


def connection_fields(system: str, url: str) -> dict[str, Any]:
    """The Connection of ``system``'s sandbox listening at ``url`` (``http://host:port``)."""
    return {**SANDBOX_CONNECTIONS[system], "host": url}
