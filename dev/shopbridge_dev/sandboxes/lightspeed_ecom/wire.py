"""What every route of the local Lightspeed eCom shares: the vendor's wire formats (times in
the shop's zone, money, references, the error envelope) and how a list request is read and
filtered. Its own module so the route modules (app, catalogue, checkout, shipment,
webhooks) import it instead of each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from http import HTTPStatus
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

#: ASSUMPTION [U]: timestamps are rendered in the shop's zone; the demo shop is in CET.
SHOP_TZ = timezone(timedelta(hours=1))


MAX_LIMIT = 250


DEFAULT_LIMIT = 50


#: relation filters the API supports (``orders?customer=ID``, ``variants?product=ID``,
#: ``shipments?order=ID``)
RELATION_FILTERS = {"orders": "customer", "variants": "product", "shipments": "order"}


#: exact, case-insensitive text filters (ASSUMPTION [U]: ``customers?email=``)
TEXT_FILTERS = {"customers": ("email",)}


COUNTRIES = {
    "NL": ("nld", "Netherlands"),
    "BE": ("bel", "Belgium"),
    "DE": ("deu", "Germany"),
    "FR": ("fra", "France"),
    "GB": ("gbr", "United Kingdom"),
}


CENT = Decimal("0.01")


class ApiError(HTTPException):
    """Rendered in the vendor's error envelope by the app's exception handler."""


def error_body(status: int, request: Request, message: str | None = None) -> dict[str, Any]:
    """``{"error": {"code", "method", "request", "message"}}`` as the vendor sends it."""
    return {
        "error": {
            "code": status,
            "method": request.method,
            "request": request.url.path,
            "message": message or HTTPStatus(status).phrase,
        }
    }


def ts(dt: datetime) -> str:
    return dt.astimezone(SHOP_TZ).isoformat()


def money(value: Decimal) -> float:
    """JSON number with cents, as the API sends money (clients must not trust floats)."""
    return float(value.quantize(CENT, ROUND_HALF_UP))


def ref(resource: str, rid: int) -> dict[str, Any]:
    return {"resource": {"id": rid, "url": f"{resource}/{rid}"}}


def many(url: str) -> dict[str, Any]:
    """A to-many relation: the reference has no id, only the filtered list's url."""
    return {"resource": {"id": False, "url": url}}


def when(value: str, name: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` (ASSUMPTION [U]: UTC); ISO 8601 is accepted as well."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name}: expected YYYY-MM-DD HH:MM:SS, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def int_param(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"{name}: expected an integer, got {value!r}") from None


def select(records: list[dict[str, Any]], resource: str, q: dict[str, str]) -> list[dict[str, Any]]:
    """Apply ``since_id``, relation and ``*_at_min/max`` (inclusive) filters, sorted by id."""
    out = sorted(records, key=lambda r: int(r.get("id", 0)))
    since_id = int_param(q.get("since_id"), "since_id", 0)
    out = [r for r in out if int(r.get("id", 0)) > since_id]
    relation = RELATION_FILTERS.get(resource)
    if relation and relation in q:
        wanted = int_param(q[relation], relation, 0)
        out = [
            r
            for r in out
            if isinstance(r.get(relation), dict) and r[relation]["resource"].get("id") == wanted
        ]
    for name in TEXT_FILTERS.get(resource, ()):
        if name in q:
            out = [r for r in out if str(r.get(name) or "").lower() == q[name].lower()]
    for field in ("created", "updated"):
        lo, hi = q.get(f"{field}_at_min"), q.get(f"{field}_at_max")
        if lo is None and hi is None:
            continue
        lo_t = when(lo, f"{field}_at_min") if lo else None
        hi_t = when(hi, f"{field}_at_max") if hi else None
        kept = []
        for r in out:
            try:
                at = datetime.fromisoformat(str(r.get(f"{field}At")))
            except ValueError:
                continue
            if at.tzinfo and (lo_t is None or at >= lo_t) and (hi_t is None or at <= hi_t):
                kept.append(r)
        out = kept
    return out


def render(value: Any, base: str) -> Any:
    """Deep copy, adding each reference's absolute ``link``."""
    if isinstance(value, list):
        return [render(v, base) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: render(v, base) for k, v in value.items()}
    res = out.get("resource")
    if isinstance(res, dict) and "url" in res and "link" not in res:
        path, _, query = str(res["url"]).partition("?")
        res["link"] = f"{base}{path}.json" + (f"?{query}" if query else "")
    return out


def bumped(previous: Any) -> str:
    """Now, but always later than the previous ``updatedAt`` so a change is never missed."""
    now = datetime.now(UTC)
    try:
        before = datetime.fromisoformat(str(previous))
    except ValueError:
        before = None
    if before is not None and before.tzinfo and before >= now:
        now = before + timedelta(seconds=1)
    return ts(now)
