"""Buckles as an ``OrderTarget``, ``ProductTarget``, ``ShipmentTarget`` and
``CheckoutTarget``: the webshop's orders, customers, products, shipments and carts go
into the order hub.

* **Orders** are ``POST orders`` with ``channel`` (the source system, or the connection's
  ``channel``) and ``channel_order_id`` = our reference, which is what
  :meth:`BucklesTarget.find_orders` filters on (``?channel_order_id=a,b``, 50 a call).
  ASSUMPTION [U]: Buckles refuses a second order with the same channel and reference
  (409), so a write that died after landing is found, not doubled: on a 409 the target
  looks the reference up and returns the existing id. The order ``status`` comes from the
  mapped fields (the pair's value map from the source status), ``on_hold`` without one.
  An order counts as written only when Buckles' answer confirms it (its id, our
  reference, the lines' SKUs and quantities, the total): else it is refused, not counted.
* **Order lines** name a Buckles product, matched as Buckles' own Lightspeed connector
  matches products [V]: the line's EAN (Buckles' ``barcode``) first, then its item key as
  a SKU, then its article code as a SKU, then its item key as a barcode. Real Lightspeed
  lines often have ``"sku": ""`` with the code in ``articleCode`` or only an EAN.
* **Customers** are matched by e-mail (unique in Buckles when set [U], ``?email=a,b``);
  a customer without e-mail by the channel's ``customer_number`` (unique when set [U]),
  so creating it twice gives one customer. Debtor terms have no place in an order hub
  and are ignored.
* **Products**: Buckles products are flat, one per SKU; a configurable parent is a product
  with ``is_parent`` and its variants name it in ``parent_sku``. Matching is on barcode
  (EAN) first, then SKU, as Buckles' own Lightspeed connector does [V]:
  :meth:`match_items` reports both keys, and :meth:`create_item` adopts (updates) a
  product that already has the item's barcode instead of creating a second one. An
  item's code is its Buckles SKU. Categories are a flat list of name paths joined with
  ``" > "``. Images: none (:meth:`put_image` raises; pairs set ``images: false``).
* **Shipments**: ``POST orders/{id}/shipments`` adds or updates by tracking code.
* **Checkouts**: ``PUT checkouts/{channel_checkout_id}`` (an upsert).

What it reads is cached for the object's lifetime (one task), so a write right after a
lookup costs no extra GET.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from shopbridge.connectors._kit.endpoint import ClientEndpoint
from shopbridge.connectors._kit.writes import (
    IgnoredTerms,
    check_order_type,
    created_id,
    status_of,
    write_each,
)
from shopbridge.connectors.base import (
    DebtorMatch,
    DebtorTerms,
    ImageUpload,
    ItemWrite,
    OrderWrite,
    with_ancestors,
)
from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.connectors.buckles.translate import (
    SYSTEM,
    category_path,
    checkout_payload,
    confirm_order,
    customer_fingerprint,
    customer_payload,
    fingerprint,
    item_payload,
    line_codes,
    order_payload,
    reference_of,
    shipment_payload,
)
from shopbridge.errors import AuthError, FatalError, refused
from shopbridge.models import Checkout, Customer, Order, Shipment

log = logging.getLogger(__name__)

#: the vendor as a person reads it in errors and warnings
VENDOR = "Buckles"
IMAGES_REFUSED = "Buckles takes no images"


_refused = partial(refused, VENDOR)


class BucklesTarget(ClientEndpoint[BucklesClient]):
    """Orders, customers, products, shipments and checkouts of one Buckles account."""

    system = SYSTEM

    def __init__(self, client: BucklesClient, *, channel: str = "") -> None:
        """``channel``: what orders and checkouts are filed under; empty: the source
        system of each record (``lightspeed_ecom``)."""
        super().__init__(client)
        self.channel = channel
        self._orders: dict[str, str] = {}
        #: sku -> product record as last read or written
        self._products: dict[str, dict[str, Any]] = {}
        #: barcode -> sku of the products read by barcode; "" for a barcode none has
        self._barcodes: dict[str, str] = {}
        #: SKUs asked for that Buckles did not have (not asked again in this task)
        self._no_sku: set[str] = set()
        self._ignore_terms = IgnoredTerms(VENDOR)

    # --- orders ------------------------------------------------------------------------

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """Our reference -> Buckles order id (``channel_order_id`` filter, batched)."""
        check_order_type(VENDOR, kind)
        wanted = {r for r in references if r}
        todo = sorted(wanted - set(self._orders))
        if todo:
            for row in self.client.iter_orders(channel_order_ids=todo):
                ref = reference_of(row)
                if ref in wanted and row.get("id") is not None:
                    self._orders.setdefault(ref, str(row["id"]))
        return {r: self._orders[r] for r in wanted if r in self._orders}

    def create_order(self, write: OrderWrite) -> str:
        """``POST orders``; returns Buckles' order id once its answer confirms the order
        (:func:`~.translate.confirm_order`). Each line names the Buckles product matched
        EAN first (:meth:`line_skus`). A 409 (this reference exists) is answered with the
        existing order's id: creating twice gives one order."""
        check_order_type(VENDOR, write.kind)
        order, reference = write.order, write.reference
        payload = order_payload(
            order,
            reference=reference,
            customer_id=write.debtor_code,
            channel=self.channel or order.ref.system,
            mapped=write.mapped,
            skus=self.line_skus(order),
        )
        try:
            created = self.client.create_order(payload)
        except AuthError:
            raise
        except FatalError as err:
            if status_of(err) == 409:
                found = self.find_orders([reference]).get(reference)
                if found is not None:
                    log.info("order %s already in Buckles as %s", reference, found)
                    return found
            raise _refused(err, f"order {reference}") from None
        order_id = confirm_order(payload, created)
        self._orders[reference] = order_id
        return order_id

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """One ``POST`` per order (Buckles has no batch [U]), the lines' products read
        first in batched queries (:func:`~shopbridge.connectors._kit.writes.write_each`)."""
        self._read_codes([c for w in writes for c in line_codes(w.order)])
        return write_each(writes, self.create_order)

    # --- customers ---------------------------------------------------------------------

    def match_numbers(self, numbers: Sequence[str]) -> dict[str, DebtorMatch]:
        """The channel's customer number -> the Buckles customer keeping it
        (``?customer_number=a,b``): how a customer without e-mail is found again."""
        wanted = {n.strip() for n in numbers if n and n.strip()}
        found: dict[str, DebtorMatch] = {}
        if wanted:
            for row in self.client.iter_customers(numbers=sorted(wanted)):
                number = str(row.get("customer_number") or "").strip()
                if number in wanted and row.get("id") is not None:
                    found.setdefault(number, DebtorMatch(str(row["id"]), fingerprint(row)))
        return found

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Lower-cased e-mail -> the customer's id and the fingerprint of its managed
        fields (``?email=a,b``, 50 a call)."""
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        found: dict[str, DebtorMatch] = {}
        if wanted:
            for row in self.client.iter_customers(emails=sorted(wanted)):
                email = str(row.get("email") or "").strip().lower()
                if email in wanted and row.get("id") is not None:
                    found.setdefault(email, DebtorMatch(str(row["id"]), fingerprint(row)))
        return found

    def debtor_fingerprint(self, customer: Customer) -> str:
        """What :meth:`match_debtors` reports once ``customer`` is written."""
        return customer_fingerprint(customer)

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """``POST customers``; an e-mail (or, without one, a customer number) that exists
        (409) returns that customer's id. Counted as created only with an id in the
        answer."""
        self._ignore_terms(terms)
        try:
            created = self.client.create_customer(customer_payload(customer))
        except AuthError:
            raise
        except FatalError as err:
            if status_of(err) == 409:
                match = (
                    self.match_debtors([customer.email]).get(customer.email)
                    if customer.email
                    else self.match_numbers([customer.customer_number]).get(
                        customer.customer_number
                    )
                )
                if match is not None:
                    return match.code
            raise _refused(err, customer.label) from None
        return created_id(VENDOR, created, "id", customer.label)

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """``PATCH customers/{code}`` with the managed fields."""
        self._ignore_terms(terms)
        try:
            self.client.update_customer(code, customer_payload(customer))
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"the update of customer {code}") from None

    # --- products ----------------------------------------------------------------------

    def _remember(self, row: Mapping[str, Any]) -> None:
        sku = str(row.get("sku") or "").strip()
        if sku:
            self._products[sku] = dict(row)
            self._no_sku.discard(sku)

    def _read_skus(self, skus: Sequence[str], *, skip_missing: bool = False) -> None:
        """Read the products of ``skus`` not read yet; ``skip_missing``: nor those a read
        of this task found missing (order lines; a products write asks again)."""
        todo = sorted(
            {s for s in skus if s} - set(self._products) - (self._no_sku if skip_missing else set())
        )
        if todo:
            for row in self.client.iter_products(skus=todo):
                self._remember(row)
            self._no_sku.update(s for s in todo if s not in self._products)

    def _read_barcodes(self, barcodes: Sequence[str]) -> None:
        todo = sorted({b for b in barcodes if b} - set(self._barcodes))
        if todo:
            for row in self.client.iter_products(barcodes=todo):
                self._remember(row)
                barcode = str(row.get("barcode") or "").strip()
                if barcode and row.get("sku") and not row.get("is_parent"):
                    self._barcodes.setdefault(barcode, str(row["sku"]))
            for barcode in todo:
                self._barcodes.setdefault(barcode, "")

    def _read_codes(self, codes: Sequence[tuple[str, str, str]]) -> None:
        """One batched read by barcode and one by SKU for every line's keys."""
        self._read_barcodes([c for ean, sku, _ in codes for c in (ean, sku)])
        self._read_skus([c for _, sku, art in codes for c in (sku, art)], skip_missing=True)

    def _sellable(self, sku: str) -> bool:
        row = self._products.get(sku)
        return row is not None and not row.get("is_parent")

    def _match(self, ean: str, sku: str, article_code: str) -> str | None:
        """The Buckles SKU of one line's item: EAN first, then SKU, article code, and the
        item key as a barcode (``None``: no product)."""
        if ean and self._barcodes.get(ean):
            return self._barcodes[ean]
        for code in (sku, article_code):
            if code and self._sellable(code):
                return code
        return self._barcodes.get(sku) or None

    def line_skus(self, order: Order) -> list[str]:
        """Each line's Buckles SKU (:meth:`_match`); a line no product matches keeps its
        item key, for Buckles to refuse by name."""
        codes = line_codes(order)
        self._read_codes(codes)
        return [self._match(*c) or c[1] for c in codes]

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The item keys Buckles sells: as a product's SKU, or as its barcode (an item key
        that is an EAN). A configurable parent is not an item."""
        self._read_skus(skus)
        found = {s for s in skus if self._sellable(s)}
        rest = [s for s in skus if s not in found]
        if rest:
            self._read_barcodes(rest)
            found |= {s for s in rest if self._barcodes.get(s)}
        return found

    def match_items(self, skus: Sequence[str], eans: Sequence[str]) -> dict[str, str]:
        """``"ean:<barcode>"`` and ``"sku:<sku>"`` -> the product's Buckles SKU, barcodes
        read first. Which key wins for an item is the products flow's ``match_by``."""
        found: dict[str, str] = {}
        wanted_eans = sorted({e for e in eans if e})
        if wanted_eans:
            for row in self.client.iter_products(barcodes=wanted_eans):
                self._remember(row)
                barcode = str(row.get("barcode") or "").strip()
                if barcode in wanted_eans and row.get("sku"):
                    found.setdefault(f"ean:{barcode}", str(row["sku"]))
        self._read_skus(skus)
        for sku in skus:
            if sku in self._products:
                found[f"sku:{sku}"] = sku
        return found

    def _product(self, code: str) -> dict[str, Any]:
        self._read_skus([code])
        row = self._products.get(code)
        if row is None:
            raise FatalError(f"Buckles has no product with SKU {code}")
        return row

    def _by_barcode(self, barcode: str) -> dict[str, Any] | None:
        for row in self.client.iter_products(barcodes=[barcode]):
            if str(row.get("barcode") or "").strip() == barcode:
                self._remember(row)
                return row
        return None

    def create_item(self, item: ItemWrite) -> None:
        """``POST products``; when a product already carries the item's barcode it is
        updated instead (barcode first, as Buckles matches). ``FatalError`` naming the
        item when Buckles refuses it."""
        body = item_payload(item, create=True)
        barcode = str(body.get("barcode") or "").strip()
        existing = self._by_barcode(barcode) if barcode and not item.is_parent else None
        if existing is not None:
            log.info(
                "item %s matches Buckles product %s by barcode %s; updating it",
                item.code,
                existing.get("sku"),
                barcode,
            )
            self.update_item(str(existing["sku"]), item)
            return
        try:
            self._remember(self.client.create_product(body))
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"item {item.code}") from None

    def update_item(self, code: str, item: ItemWrite) -> None:
        """``PATCH products/{id}`` of the product with SKU ``code``, exactly the mapped
        fields (and parent/categories)."""
        body = item_payload(item, create=False)
        if not body:
            return
        try:
            row = self._product(code)
            self._remember(self.client.update_product(row["id"], body))
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"the update of item {code}") from None

    def ensure_categories(self, paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """Every path and ancestor -> its category id; missing ones are created, parents
        first. Buckles' list is flat by name path, so a renamed node is a new category
        (matching ignores case and spacing). One paged read, then only the writes."""
        nodes = with_ancestors(paths)
        if not nodes:
            return {}
        existing = self._categories()
        ids: dict[tuple[str, ...], str] = {}
        for node in nodes:
            key = category_path(node).lower()
            row = existing.get(key)
            if row is None:
                try:
                    row = self.client.create_category(category_path(node))
                except AuthError:
                    raise
                except FatalError as err:
                    if status_of(err) != 409:
                        raise _refused(err, f"category {category_path(node)}") from None
                    existing = self._categories()  # a parallel worker created it
                    row = existing.get(key)
                    if row is None:
                        raise _refused(err, f"category {category_path(node)}") from None
                existing[key] = row
            ids[node] = str(row["id"])
        return ids

    def _categories(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in self.client.iter_categories():
            path = str(row.get("path") or "")
            names = [p.strip() for p in path.split(">")]
            out.setdefault(category_path(names).lower(), row)
        return out

    def put_image(self, code: str, image: ImageUpload) -> None:
        """Buckles keeps no product images: the pair's products settings must have
        ``images: false``."""
        raise FatalError(IMAGES_REFUSED)

    # --- shipments and checkouts ------------------------------------------------------

    def apply_shipment(self, order_id: str, shipment: Shipment) -> str:
        """``POST orders/{order_id}/shipments``; Buckles updates the order's shipment with
        the same tracking code (else the same ``reference``), so applying it twice leaves
        one. ``FatalError`` when the order does not exist (404), is refused, or Buckles'
        answer does not carry the status and tracking code sent."""
        body = shipment_payload(shipment)
        try:
            row = self.client.put_shipment(order_id, body)
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"shipment {shipment.ref.id} of order {order_id}") from None
        got = (row.get("status"), str(row.get("tracking_code") or ""))
        if got != (body["status"], body["tracking_code"]):
            raise FatalError(
                f"shipment {shipment.ref.id} of order {order_id}: Buckles "
                f"answered {got} for {(body['status'], body['tracking_code'])}"
            )
        return str(row["id"])

    def put_checkout(self, checkout: Checkout, existing_id: str | None) -> str:
        """``PUT checkouts/{channel checkout id}``: Buckles keys carts by the channel's id,
        so ``existing_id`` is not needed for the upsert; returns Buckles' id."""
        channel = self.channel or checkout.ref.system
        body = checkout_payload(checkout, channel=channel)
        try:
            row = self.client.put_checkout(checkout.ref.id, body)
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"checkout {checkout.ref.id}") from None
        try:
            same = Decimal(str(row.get("total"))) == Decimal(body["total"])
        except ArithmeticError:
            same = False
        if not same:
            raise FatalError(
                f"checkout {checkout.ref.id}: Buckles answered total "
                f"{row.get('total')!r} for {body['total']}"
            )
        if existing_id is not None and str(row["id"]) != existing_id:
            log.warning(
                "checkout %s: Buckles answered id %s, the ledger had %s",
                checkout.ref.id,
                row["id"],
                existing_id,
            )
        return str(row["id"])
