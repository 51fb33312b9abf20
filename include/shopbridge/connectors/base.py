"""What the flows need from a source and a target, in canonical terms.

Flows are written against these protocols only, so a new pair adds a connector that
satisfies them and a YAML file; nothing in ``flows/`` changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from shopbridge.errors import FatalError
from shopbridge.models import Checkout, Customer, Order, Product, Shipment, StockLevel


@dataclass
class CallCounter:
    """Counts requests that reached the wire, so a run can report its API cost."""

    calls: int = 0
    retries: int = 0


@runtime_checkable
class Endpoint(Protocol):
    """What every source and target has, whatever flow it serves: the system it talks to,
    the calls it made (the run reports them) and ``close``. A flow narrows it to its own
    role (:class:`OrderSource`, ...) when it takes it."""

    system: str
    counter: CallCounter

    def close(self) -> None:
        """Release the connection pool (tasks open one per step)."""
        ...


class SystemHook(Protocol):
    """What a run needs from a system's Airflow hook (``connectors/<system>/hook.py``,
    a ``VendorHook``): the source and the target built from its Connection."""

    def get_source(self) -> Endpoint:
        """The system as a flow's source; raises ``AuthError`` when refused."""
        ...

    def get_target(self) -> Endpoint:
        """The system as a flow's target."""
        ...

    def test_connection(self) -> tuple[bool, str]:
        """Whether the Connection's account answers, and what to tell the user."""
        ...


@dataclass(frozen=True)
class DebtorMatch:
    """A customer found in the target: its code, and a fingerprint of the fields we manage
    there, so an unchanged customer costs no update (``None``: unknown, always update)."""

    code: str
    fingerprint: str | None = None


@dataclass(frozen=True)
class DebtorTerms:
    """How a debtor is booked in the target, from the pair's customer settings (not from
    the source): its classification, default tax code and revenue account. ``None``
    leaves the target's own value alone."""

    classification: str | None = None
    tax_code: str | None = None
    revenue_account: str | None = None

    def __bool__(self) -> bool:
        return any(
            v is not None for v in (self.classification, self.tax_code, self.revenue_account)
        )


@dataclass(frozen=True)
class OrderWrite:
    """One order to commit: the order, its debtor, our reference and its mapped fields."""

    order: Order
    debtor_code: str
    reference: str
    #: the datamapper's ``{"header": {...}, "lines": [...]}`` in the target's field names;
    #: the target adds only what it must set itself
    mapped: Mapping[str, Any] | None = None
    #: ``sales_order``, ``sales_invoice``, ``direct_invoice`` or ``journal_entry``
    kind: str = "sales_order"
    #: for ``journal_entry``: journal, receivable_account, revenue_account, vat_account
    accounts: Mapping[str, str] | None = None


class OrderSource(Protocol):
    """A system orders are read from (a webshop or till)."""

    system: str
    counter: CallCounter

    def iter_order_records(
        self, start: datetime, end: datetime, *, skip: Callable[[str], bool] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Raw, JSON-able vendor records changed in ``[start, end)``, lines included.

        ``skip(order_id)`` true: the order is already synced, so it is left out *before*
        its lines or details are read (a backstop window re-lists what the webhooks
        already brought; under a tight rate limit only the list pages may cost calls).
        """
        ...

    def order_id(self, record: dict[str, Any]) -> str:
        """The source's id of a raw record, readable even when the rest is malformed."""
        ...

    def to_order(self, record: dict[str, Any]) -> Order:
        """Translate; raises ``RecordError`` naming the field when the record is unusable."""
        ...

    def confirm_order(self, order_id: str, fields: Mapping[str, Any]) -> None:
        """Write ``fields`` back to the source order after the target confirmed it."""
        ...

    def close(self) -> None:
        """Release the connection pool (tasks open one per run)."""
        ...


class OrderTarget(Protocol):
    """A system orders are written to (an ERP or accounting package)."""

    system: str
    counter: CallCounter

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """Existing documents of ``kind`` by our reference -> the target's id (batched)."""
        ...

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Existing customers by lower-cased e-mail (batched lookups)."""
        ...

    def debtor_fingerprint(self, customer: Customer) -> str | None:
        """The fingerprint ``match_debtors`` would report once ``customer`` is written
        (its contact details; terms are tracked by the ledger)."""
        ...

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The subset of ``skus`` that exist as items in the target."""
        ...

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """Create a company debtor with its contact, or a person debtor; return its code."""
        ...

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """Bring an existing debtor (and its contact) in line with ``customer``."""
        ...

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """Commit orders in as few requests as the target allows; never retried blindly
        (a timeout can hide a success).

        One result per write, in order: the target's id, or the ``FatalError`` that refused
        that one order. A failure of the whole request (transport, 429, 5xx) raises.
        """
        ...

    def close(self) -> None:
        """Release the connection pool (tasks open one per run)."""
        ...


# --- products and stock ------------------------------------------------------------------


@dataclass(frozen=True)
class ItemWrite:
    """One item to create or update in the target, in the target's field names.

    A simple product is one item; a configurable product is a parent item plus one item
    per variant (``parent`` names the parent's code). ``fields`` were mapped by the
    datamapper; on an update, fields marked create-only are already left out.
    """

    code: str
    fields: Mapping[str, Any]
    #: the configurable parent's code, for a variant item
    parent: str | None = None
    #: this item is the parent of a configurable product (not sold itself)
    is_parent: bool = False
    #: the target's category codes (from :meth:`ProductTarget.ensure_categories`)
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageUpload:
    """Image bytes downloaded from the source, for one item of the target."""

    filename: str
    content: bytes
    content_type: str
    position: int
    #: sha256 of ``content``; the target may store it, the ledger compares it
    content_hash: str


class ProductSource(Protocol):
    """A system products are read from."""

    system: str
    counter: CallCounter

    def iter_product_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Raw products changed in ``[start, end)``, self-contained and JSON-able: their
        variants, image list, categories and features embedded (they travel as XComs)."""
        ...

    def product_id(self, record: dict[str, Any]) -> str:
        """The source's id of a raw record, readable even when the rest is malformed."""
        ...

    def to_product(self, record: dict[str, Any]) -> Product:
        """Translate; raises ``RecordError`` naming the vendor field when unusable."""
        ...

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        """The image's bytes and content type; ``FatalError`` (404) when the URL is gone."""
        ...

    def close(self) -> None: ...


class StockSource(Protocol):
    """A system stock levels are read from."""

    system: str
    counter: CallCounter

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        """Every stock record (one per SKU), raw and JSON-able: stock is read in full each
        run because a level can change without the product's timestamp moving."""
        ...

    def stock_id(self, record: dict[str, Any]) -> str:
        """The source's id of a raw stock record (for quarantine reports)."""
        ...

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        """Translate; raises ``RecordError`` naming the vendor field (e.g. a negative level)."""
        ...

    def close(self) -> None: ...


def with_ancestors(paths: Iterable[Sequence[str]]) -> list[tuple[str, ...]]:
    """Every category path and each of its ancestors, once, parents before children: the
    order in which :meth:`ProductTarget.ensure_categories` must create them."""
    nodes = {tuple(p[:n]) for p in paths for n in range(1, len(p) + 1)}
    return sorted(nodes, key=lambda p: (len(p), p))


class ProductTarget(Protocol):
    """A system products are written to."""

    system: str
    counter: CallCounter

    def match_items(self, skus: Sequence[str], eans: Sequence[str]) -> dict[str, str]:
        """Existing items, batched: ``"sku:<sku>"`` / ``"ean:<ean>"`` -> the item's code."""
        ...

    def ensure_categories(self, paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """Create missing category nodes (parents first), rename changed ones; every path
        (and each of its ancestors) -> the target's category code."""
        ...

    def create_item(self, item: ItemWrite) -> None:
        """Create one item; ``FatalError`` when the target refuses it."""
        ...

    def update_item(self, code: str, item: ItemWrite) -> None:
        """Update the item ``code`` with exactly ``item.fields`` (and its parent/categories)."""
        ...

    def put_image(self, code: str, image: ImageUpload) -> None:
        """Store ``image`` on item ``code`` at its position, replacing the one there."""
        ...

    def close(self) -> None: ...


class StockTarget(Protocol):
    """A system stock levels are written to."""

    system: str
    counter: CallCounter

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The subset of ``skus`` that exist as items in the target."""
        ...

    def set_stock(
        self, sku: str, quantity: Decimal, *, managed: bool, location: str | None = None
    ) -> None:
        """Set the item's stock level (in ``location``, else its default) and whether the
        target manages stock for it."""
        ...

    def close(self) -> None: ...


class CustomerSource(Protocol):
    """A system customers are read from (changed within a window)."""

    system: str
    counter: CallCounter

    def iter_customer_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Raw customers with ``start <= updated < end``, JSON-able."""
        ...

    def customer_id(self, record: dict[str, Any]) -> str: ...

    def to_customer(self, record: dict[str, Any]) -> Customer:
        """Translate; raises ``RecordError`` naming the vendor field."""
        ...

    def close(self) -> None: ...


class ShipmentSource(Protocol):
    """A system shipments are read from."""

    system: str
    counter: CallCounter

    def iter_shipment_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Raw shipments with ``start <= updated < end``, JSON-able."""
        ...

    def shipment_id(self, record: dict[str, Any]) -> str: ...

    def to_shipment(self, record: dict[str, Any]) -> Shipment:
        """Translate; raises ``RecordError`` naming the vendor field."""
        ...

    def close(self) -> None: ...


class ShipmentTarget(Protocol):
    """A system whose orders are marked shipped."""

    system: str
    counter: CallCounter

    def apply_shipment(self, order_id: str, shipment: Shipment) -> str:
        """Record ``shipment`` (status, track & trace, carrier) on the target's order
        ``order_id``; return the target's shipment id. Idempotent: a shipment already
        there with the same tracking code is updated, not added twice. ``FatalError`` when
        the order does not exist or the target refuses it."""
        ...

    def close(self) -> None: ...


class CheckoutSource(Protocol):
    """A system checkouts (carts) are read from."""

    system: str
    counter: CallCounter

    def iter_checkout_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Raw checkouts with ``start <= updated < end``, JSON-able."""
        ...

    def checkout_id(self, record: dict[str, Any]) -> str: ...

    def to_checkout(self, record: dict[str, Any]) -> Checkout:
        """Translate; raises ``RecordError`` naming the vendor field."""
        ...

    def close(self) -> None: ...


class CheckoutTarget(Protocol):
    """A system checkouts are copied into."""

    system: str
    counter: CallCounter

    def put_checkout(self, checkout: Checkout, existing_id: str | None) -> str:
        """Create the checkout (``existing_id`` None) or replace the one with that id;
        return the target's id. ``FatalError`` when the target refuses it."""
        ...

    def close(self) -> None: ...
