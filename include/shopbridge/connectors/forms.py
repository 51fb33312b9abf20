"""What each system's Airflow Connection is made of, for the setup wizard and the UI form.

A sandbox's Connection and a real account's differ only in values, never in shape, so the
shape is product knowledge and lives here, beside the hooks that read it; the sandboxes'
demo values live in the dev kit (``shopbridge_dev.sandboxes.connections``), which a test
holds to these shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConnectionForm:
    """Which standard fields a system's Connection uses and which ``extra`` keys it reads."""

    conn_type: str
    login: bool = True
    password: bool = True
    #: ``extra`` key -> the JSON type the connector reads (values may be numbers or objects)
    extra: dict[str, type] = field(default_factory=dict)


CONNECTION_FORMS: dict[str, ConnectionForm] = {
    "lightspeed_ecom": ConnectionForm("lightspeed_ecom", extra={"language": str}),
    "exact_globe": ConnectionForm(
        "exact_globe", extra={"server_name": str, "database_name": str, "auth": str}
    ),
    "fortnox": ConnectionForm(
        "fortnox", extra={"refresh_token": str, "currency": str, "stock": str}
    ),
    "accountview": ConnectionForm(
        "accountview",
        extra={"refresh_token": str, "company_id": str, "ean_field": str, "vat_codes": dict},
    ),
    "ccv_salespos": ConnectionForm("ccv_salespos"),
    "lightspeed_retail": ConnectionForm(
        "lightspeed_retail",
        extra={
            "refresh_token": str,
            "account_id": str,
            "shop_id": int,
            "register_id": int,
            "employee_id": int,
        },
    ),
    "buckles": ConnectionForm("buckles", login=False),
}
