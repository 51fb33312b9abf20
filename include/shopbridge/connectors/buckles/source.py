"""Buckles as a ``StockSource``, ``CustomerSource`` and ``ShipmentSource``.

* **Stock** is read in full each run (``GET stock``, one call per 100 SKUs): a level can
  change (a sale in another channel, a goods receipt) without any timestamp the flow
  could window on. ``reserved`` is Buckles' open order quantity [U].
* **Customers** and **shipments** are windowed on Buckles' ``updated_at`` with
  ``updated_since`` (inclusive) and ``updated_before`` (exclusive) [U], so consecutive
  windows neither miss nor repeat a record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.connectors.buckles.translate import (
    SYSTEM,
    customer_from_buckles,
    record_id,
    shipment_from_buckles,
    stock_from_buckles,
    stock_id,
)
from shopbridge.models import Customer, Shipment, StockLevel


class BucklesSource:
    """Stock, customers and shipments of one Buckles account."""

    system = SYSTEM

    def __init__(self, client: BucklesClient) -> None:
        self.client = client
        #: the client's call counter (an attribute: the protocols declare a settable one)
        self.counter: CallCounter = client.counter

    def close(self) -> None:
        """Release the client's connection pool."""
        self.client.close()

    # --- stock -------------------------------------------------------------------------

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        """Every stock row (one per SKU), as Buckles sends it."""
        yield from self.client.iter_stock()

    def stock_id(self, record: dict[str, Any]) -> str:
        """The row's SKU."""
        return stock_id(record)

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        """Translate; ``RecordError`` names the field (``on_hand``)."""
        return stock_from_buckles(record)

    # --- customers ---------------------------------------------------------------------

    def iter_customer_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Customers with ``start <= updated_at < end``."""
        yield from self.client.iter_customers(updated_since=start, updated_before=end)

    def customer_id(self, record: dict[str, Any]) -> str:
        """Buckles' customer id."""
        return record_id(record)

    def to_customer(self, record: dict[str, Any]) -> Customer:
        """Translate; ``RecordError`` names the field (``address.country``)."""
        return customer_from_buckles(record)

    # --- shipments ---------------------------------------------------------------------

    def iter_shipment_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Shipments with ``start <= updated_at < end``."""
        yield from self.client.iter_shipments(updated_since=start, updated_before=end)

    def shipment_id(self, record: dict[str, Any]) -> str:
        """Buckles' shipment id."""
        return record_id(record)

    def to_shipment(self, record: dict[str, Any]) -> Shipment:
        """Translate; ``order_ref`` is ``ExternalRef("buckles", <Buckles order id>)``."""
        return shipment_from_buckles(record)
