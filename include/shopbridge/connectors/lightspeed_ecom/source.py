"""Lightspeed eCom as an :class:`~shopbridge.connectors.base.OrderSource`.

The order list does not carry lines, so each order costs one extra
``orders/{id}/products.json`` call. The lines are embedded into the record the way webhook
payloads embed relations (``products.resource.embedded``), so a record is self-contained,
JSON-able (it travels as an XCom) and translates without further I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from shopbridge._http import CallCounter
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.translate import (
    SYSTEM,
    customer_from_lightspeed,
    order_from_lightspeed,
    order_id,
)
from shopbridge.models import Customer, Order


def embed_products(order: Mapping[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``order`` whose ``products`` reference carries ``lines`` as ``embedded``."""
    ref = order.get("products")
    resource = dict(ref["resource"]) if isinstance(ref, Mapping) and isinstance(
        ref.get("resource"), Mapping) else {}
    return {**order, "products": {"resource": {**resource, "embedded": lines}}}


class LightspeedEcomSource:
    """Orders changed in a window, each with its lines, from one Lightspeed shop."""

    system = SYSTEM

    def __init__(self, client: LightspeedEcomClient) -> None:
        self.client = client
        self.counter: CallCounter = client.counter

    def iter_order_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Orders with ``start <= updatedAt < end``, lines embedded.

        An order whose ``products`` relation is ``false`` (the vendor's empty relation) has
        no lines to fetch; it is yielded with none, and translation quarantines it.
        """
        for order in self.client.iter_orders(start, end):
            has_lines = order.get("products") is not False and "id" in order
            lines = self.client.order_products(order["id"]) if has_lines else []
            yield embed_products(order, lines)

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()

    def order_id(self, record: dict[str, Any]) -> str:
        """The vendor's order id as text."""
        return order_id(record)

    def iter_customer_records(self, start: datetime,
                              end: datetime) -> Iterator[dict[str, Any]]:
        """Customers changed in ``[start, end)``, as the API returns them."""
        yield from self.client.iter_customers(start, end)

    def customer_id(self, record: dict[str, Any]) -> str:
        return order_id(record)

    def to_customer(self, record: dict[str, Any]) -> Customer:
        """Translate; raises ``RecordError`` naming the vendor field."""
        return customer_from_lightspeed(record)

    def confirm_order(self, order_id: str, fields: Mapping[str, Any]) -> None:
        """Write fields back to the webshop's order once the target booked it (e.g. a
        ``customStatusId`` "booked in ERP", or ``status``); Lightspeed allows status fields."""
        self.client.update_order(order_id, fields)

    def to_order(self, record: dict[str, Any]) -> Order:
        """Translate; raises ``RecordError`` naming the vendor field."""
        return order_from_lightspeed(record)
