r"""Lightspeed eCom webhook deliveries: pure functions, no web framework.

A delivery carries ``X-Signature``: the hex ``md5(raw_body + api_secret)`` (VENDOR_APIS.md
§1 [V]). It is not an HMAC; md5 is the vendor's choice, not ours. Verify against the exact
bytes received, before any JSON parsing.

Its body has the envelope of a GET (``{"order": {...}}``) with the relations embedded
(``products.resource.embedded``, a list for to-many) [V: recorded deliveries in
``tests/contracts/lightspeed_ecom/webhook.*.json``]. A relay (an integration platform, a
queue) may forward the bare object instead (``{"id": ..., "number": ..., "products":
{...}}``, no envelope) [U], so both are accepted: a bare body's entity is told from the
keys only that entity has (:func:`bare_entity`). :func:`delivery_records` turns either
into what the source's ``to_order`` / ``to_customer`` / ``to_shipment`` take. Bodies
escape ``/`` as ``\/`` [V]; ``json.loads`` reads that as ``/``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from secrets import compare_digest
from typing import Any

SIGNATURE_HEADER = "X-Signature"

#: the entities a delivery may carry (Lightspeed's names are the canonical ones)
ENTITIES = frozenset({"order", "customer", "shipment", "product", "variant"})
#: envelope key (singular, and the plural a list would use) -> canonical entity name
ENVELOPES: dict[str, str] = {key: e for e in ENTITIES for key in (e, f"{e}s")}


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


def record_id(entity: str, record: Any) -> str:
    """The vendor id of a delivered ``entity`` record as text (what the ledger keys on).

    ``ValueError`` for an unknown entity, a record that is not an object, or a missing id.
    """
    if entity not in ENTITIES:
        raise ValueError(
            f"unknown Lightspeed entity {entity!r}; expected one of {', '.join(sorted(ENTITIES))}"
        )
    if not isinstance(record, Mapping):
        raise ValueError(f"{entity} record is not a JSON object: {type(record).__name__}")
    rid = record.get("id")
    if rid in (None, False, "") or isinstance(rid, bool) or not isinstance(rid, int | str):
        raise ValueError(f"{entity} record has no id")
    return str(rid)


def _unkeyed(value: Any) -> Any:
    """An embedded to-many relation sent as an object keyed by id -> its rows as a list
    (in id order); anything else as it is."""
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(v, Mapping) for v in value.values())
        and all(str(k).isdigit() for k in value)
    ):
        return [value[k] for k in sorted(value, key=lambda k: int(str(k)))]
    return value


def _normalised(entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as the source hands it to translation.

    An order's lines must be a list in ``products.resource.embedded`` (``to_order``
    reads them there, as :func:`~.source.embed_products` puts them); a shipment's
    embedded lines likewise. Only the shape is fixed here: an order delivered without
    embedded lines is passed on and translation quarantines it, naming ``lines``.
    """
    out = dict(record)
    if entity in ("order", "shipment"):
        ref = out.get("products")
        resource = ref.get("resource") if isinstance(ref, Mapping) else None
        if isinstance(ref, Mapping) and isinstance(resource, Mapping) and "embedded" in resource:
            embedded = _unkeyed(resource["embedded"])
            out["products"] = {**ref, "resource": {**resource, "embedded": embedded}}
    return out


def bare_entity(body: Mapping[str, Any]) -> str | None:
    """The entity of a bare (unenveloped) record, told from keys only it has; ``None``
    when the body is no record we know.

    An order has ``number`` and ``paymentStatus``; a shipment ``trackingCode`` and an
    ``order`` reference; a product ``fulltitle`` or ``visibility`` with ``variants``; a
    variant ``stockTracking``/``stockLevel`` with a ``product`` reference; a customer
    ``email`` and ``addressBillingName`` without a ``number`` (an order has both) [V keys].
    """
    if "id" not in body:
        return None
    if "number" in body and "paymentStatus" in body:
        return "order"
    if "trackingCode" in body and "order" in body:
        return "shipment"
    if "variants" in body and ("fulltitle" in body or "visibility" in body):
        return "product"
    if "product" in body and ("stockTracking" in body or "stockLevel" in body):
        return "variant"
    if "email" in body and "addressBillingName" in body and "number" not in body:
        return "customer"
    return None


def delivery_records(body: Any) -> tuple[str, list[dict[str, Any]]]:
    """A parsed delivery body -> ``(entity, records)``.

    ``entity`` is ``order``, ``customer``, ``shipment``, ``product`` or ``variant``; the
    records are in the shape the source's ``to_<entity>`` accepts. A delivery carries one
    record under the singular key (``{"order": {...}}``); a plural list
    (``{"orders": [...]}``) and a bare record (the order object itself, see
    :func:`bare_entity`) are accepted too. Keys besides the one envelope key are ignored.

    ``ValueError`` with the reason for a malformed body: not an object, no (or more than
    one) known envelope key, a record that is not an object or has no id.
    """
    if not isinstance(body, Mapping):
        raise ValueError(f"webhook body is not a JSON object: {type(body).__name__}")
    keys = [k for k in body if k in ENVELOPES]
    bare = bare_entity(body)
    if bare is not None and (not keys or "id" in body):
        # a bare record: its own relations (an order's "products", a customer's "orders")
        # are envelope keys too, so the record's "id" decides
        record_id(bare, body)
        return bare, [_normalised(bare, body)]
    if not keys:
        found = ", ".join(sorted(map(str, body))) or "none"
        raise ValueError(
            f"webhook body has no known envelope key (expected one of "
            f"{', '.join(sorted(ENVELOPES))}; found {found})"
        )
    if len(keys) > 1:
        raise ValueError(f"webhook body has more than one envelope key: {', '.join(keys)}")
    key = keys[0]
    entity = ENVELOPES[key]
    value = body[key]
    if key == entity:
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"webhook body {key!r} is not a list")
    records: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = key if key == entity else f"{key}[{i}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"webhook body {where} is not a JSON object: {type(item).__name__}")
        try:
            record_id(entity, item)
        except ValueError:
            raise ValueError(f"webhook body {where} has no id") from None
        records.append(_normalised(entity, item))
    return entity, records
