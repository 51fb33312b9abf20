"""CCV SalesPOS as an :class:`~shopbridge.connectors.base.OrderTarget`: webshop orders go
into the till's order book with ``POST orders`` and their ``orderrows``.

**Customers are embedded, not debtors (decision).** A CCV order carries its customer
(e-mail, type, addresses) itself. CCV's ``users`` are webshop accounts: the vendor SDK
offers GET and PATCH on them but no create, and no filter by e-mail (a lookup would page
through every account on every batch). So :meth:`CcvSalesposTarget.match_debtors` finds
nobody, :meth:`create_debtor` writes nothing and returns the e-mail as the "debtor code",
:meth:`update_debtor` writes nothing; each order embeds its customer as the order has it
(its billing and shipping address at the time of the order, which is what a receipt
should show anyway). Debtor terms (classification, tax code, revenue account) have no
place in CCV and are ignored.

**Our reference** goes into the order's ``reservationnumber`` (configurable:
``reference_field``). Why not ``ordernumber``: CCV assigns it. Why not ``transaction_id``
by default: CCV documents it as the payment provider's id, overwritten by each payment,
and it is not among ``POST orders``' fields [S]; ``reservationnumber`` is a free text
field of ``POST orders`` that CCV keeps and returns (ASSUMPTION [U]: it may show on the
invoice, where the webshop's order number is not out of place). Neither can be filtered
on: CCV's order filters are ``ordernumber``, ``status``, ``is_paid``, create dates,
``is_completed`` and ``paymethod_id``. So :meth:`CcvSalesposTarget.find_orders` pages the
orders created in the last ``lookup_days`` (``min_create_date``) and reads the field:
``ceil(orders created in that window / page_size)`` GETs the first time a target instance
is asked, then only the orders created since its previous look (results are cached on the
instance, which a flow opens per task). The flow asks its ledger first and calls this only
for orders the ledger does not know (a lost ledger) or whose write died mid-way, so the
scan is the exception. An order created longer ago than ``lookup_days`` and missing from
the ledger is not found and would be created again.

**Items.** CCV resolves an order row's product by ``product_id`` (the row's
``product_number`` is only a label [S]), so item keys are resolved to ids from the
catalogue: one paged read of ``products?expand=attributecombinations`` per target instance
(``ceil(P / page_size)`` GETs), shared by :meth:`find_items` and the order writes. The
line's key (the pair's ``item_key`` rule already picked it on the webshop's side) is
looked up among every key CCV keeps for a sellable item, in this order: a combination's
``sku_number``; a combination's ``product_number`` or a simple product's
``productnumber``; a combination's ``ean_number`` or a simple product's ``eannumber``. A
key that two items share at the same rank is ambiguous and matches neither (the order is
then set aside naming the SKU, rather than booked on a guess). A product with
combinations is not itself an item.

**Confirmation.** Orders are written one ``POST`` each (CCV has no batch endpoint); a
``POST`` is retried only on ``429`` (CCV refused it before doing anything). An order
counts as created only when CCV's answer confirms it: an ``id`` (an answer without one,
which the vendor SDK says happens, raises :class:`RetriableError` so the flow looks the
reference up before sending again), an ``ordernumber``, our reference back in
``reference_field``, and a ``total_price`` equal to what the rows sent make
(:func:`~.translate.expected_total`, within a cent per row). A created order that fails
these is refused with CCV's id and both amounts, so a person checks it in CCV's back
office; sending it again would double it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from shopbridge.connectors._kit.endpoint import ClientEndpoint
from shopbridge.connectors._kit.writes import IgnoredTerms, check_order_type, write_each
from shopbridge.connectors.base import DebtorMatch, DebtorTerms, OrderWrite
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient
from shopbridge.connectors.ccv_salespos.translate import (
    SYSTEM,
    ItemRef,
    customer_fingerprint,
    expanded,
    expected_total,
    order_payload,
    reference_of,
)
from shopbridge.errors import ConfigError, FatalError, refused
from shopbridge.models import Customer, Order

log = logging.getLogger(__name__)

#: the vendor as a person reads it in errors and warnings
VENDOR = "CCV SalesPOS"
DEFAULT_LOOKUP_DAYS = 30
#: a later look starts this much before the previous one began: an order created while
#: the previous scan was paging may not have been on its pages
_RESCAN_OVERLAP = timedelta(minutes=10)
_CENT = Decimal("0.01")


def _utcnow() -> datetime:
    return datetime.now(UTC)


#: a key two items share at the same rank (dropped from the catalogue)
_AMBIGUOUS = ItemRef(-1, "")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CcvSalesposTarget(ClientEndpoint[CcvSalesposClient]):
    """Writes canonical orders, customers embedded, into one CCV shop."""

    system = SYSTEM

    def __init__(
        self,
        client: CcvSalesposClient,
        *,
        reference_field: str = "reservationnumber",
        lookup_days: int = DEFAULT_LOOKUP_DAYS,
        utcnow: Callable[[], datetime] = _utcnow,
    ) -> None:
        """``utcnow`` bounds the reference lookup (tests pass a fixed clock)."""
        if reference_field not in ("reservationnumber", "transaction_id"):
            raise ConfigError(
                f"reference_field {reference_field!r}: use reservationnumber or transaction_id"
            )
        super().__init__(client)
        self.reference_field = reference_field
        self.lookup_days = lookup_days
        self._utcnow = utcnow
        #: our reference -> CCV order id, from scans and from our own writes
        self._orders: dict[str, str] = {}
        #: when the last scan began (the next one starts a little before it)
        self._scanned_from: datetime | None = None
        #: SKU -> product/combination ids; ``None`` until the catalogue is read
        self._items: dict[str, ItemRef] | None = None
        self._ignore_terms = IgnoredTerms(VENDOR)

    # --- orders ------------------------------------------------------------------------

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """Our reference -> CCV order id, for the orders created in the last
        ``lookup_days`` (see the module doc for the cost)."""
        check_order_type(VENDOR, kind)
        wanted = {r for r in references if r}
        if wanted - set(self._orders):
            began = self._utcnow()
            since = (
                began - timedelta(days=self.lookup_days)
                if self._scanned_from is None
                else self._scanned_from - _RESCAN_OVERLAP
            )
            for order in self.client.iter_orders(min_create_date=since):
                ref = reference_of(order, self.reference_field)
                if ref is not None and order.get("id") is not None:
                    self._orders.setdefault(ref, str(order["id"]))
            self._scanned_from = began
        return {r: self._orders[r] for r in wanted if r in self._orders}

    def _catalogue(self) -> dict[str, ItemRef]:
        """Item key -> ids of every sellable item, read once per instance (module doc)."""
        if self._items is None:
            ranks: list[dict[str, ItemRef | None]] = [{}, {}, {}]

            def add(rank: int, key: Any, ref: ItemRef) -> None:
                code = str(key or "").strip()
                if not code:
                    return
                seen = ranks[rank].get(code, ref)
                ranks[rank][code] = ref if seen == ref else None  # None: ambiguous

            for product in self.client.iter_products(expand=("attributecombinations",)):
                pid = _int(product.get("id"))
                if pid is None:
                    continue
                number = str(product.get("productnumber") or "").strip()
                rows = expanded(product, "attributecombinations")
                if rows is None:
                    rows = list(self.client.iter_attributecombinations(pid))
                for row in rows:
                    cid = _int(row.get("id")) if isinstance(row, Mapping) else None
                    if cid is None or not isinstance(row, Mapping):
                        continue
                    ref = ItemRef(pid, number, cid)
                    add(0, row.get("sku_number"), ref)
                    add(1, row.get("product_number"), ref)
                    add(2, row.get("ean_number"), ref)
                if not rows:
                    ref = ItemRef(pid, number)
                    add(1, number, ref)
                    add(2, product.get("eannumber"), ref)
            items: dict[str, ItemRef] = {}
            for rank in ranks:
                for code, found in rank.items():
                    if code in items:
                        continue
                    if found is None:
                        log.warning(
                            "CCV item key %s belongs to several items; orders naming "
                            "it are refused",
                            code,
                        )
                        items[code] = _AMBIGUOUS
                    else:
                        items[code] = found
            self._items = {k: v for k, v in items.items() if v is not _AMBIGUOUS}
        return self._items

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The keys that name exactly one sellable item in CCV (see the module doc)."""
        catalogue = self._catalogue()
        return {s for s in skus if s in catalogue}

    def order_payload(
        self, order: Order, *, reference: str, mapped: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``POST orders`` body (see :func:`~.translate.order_payload`)."""
        return order_payload(
            order,
            reference=reference,
            items=self._catalogue(),
            mapped=mapped,
            reference_field=self.reference_field,
        )

    def create_order(self, write: OrderWrite) -> str:
        """``POST orders``; returns CCV's order id once its answer confirms the order
        (see the module doc). Never retried blindly: after a timeout or an answer without
        an id the flow looks the reference up before trying again."""
        check_order_type(VENDOR, write.kind)
        reference = write.reference
        payload = self.order_payload(write.order, reference=reference, mapped=write.mapped)
        try:
            created = self.client.create_order(payload)
        except FatalError as err:
            raise refused("CCV", err, f"order {reference}") from None
        order_id = str(created["id"])
        self._orders[reference] = order_id
        self.confirm(created, payload, reference)
        return order_id

    def confirm(
        self, created: Mapping[str, Any], payload: Mapping[str, Any], reference: str
    ) -> None:
        """Raise :class:`FatalError` unless CCV's answer to ``POST orders`` is the order
        as sent: an ``ordernumber``, our reference, the ``total_price`` the rows make."""
        oid = created.get("id")
        what = f"CCV created order {oid} for {reference}"
        if created.get("ordernumber") in (None, ""):
            raise FatalError(f"{what} but its answer has no ordernumber; check it in CCV")
        echoed = reference_of(created, self.reference_field)
        if echoed != reference:
            raise FatalError(
                f"{what} but its {self.reference_field} is {echoed!r}, not "
                f"{reference!r}; check it in CCV (it cannot be found again)"
            )
        want = expected_total(payload)
        got_raw = created.get("total_price")
        try:
            got = Decimal(repr(got_raw) if isinstance(got_raw, float) else str(got_raw))
        except InvalidOperation:
            got = None
        if isinstance(got_raw, bool) or got is None or not got.is_finite():
            raise FatalError(f"{what} but its total_price is {got_raw!r}; check it in CCV")
        rows = len(payload.get("orderrows") or [])
        if abs(got - want) > _CENT * (rows + 1):
            raise FatalError(
                f"{what} with total_price {got} where the rows sent make "
                f"{want} (difference {(got - want).quantize(_CENT)}); check "
                "it in CCV"
            )

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """One ``POST`` per order, in order (CCV has no batch endpoint): a refused order is
        its ``FatalError``; a failure of the request itself (transport, 5xx, a 429 that
        outlasts the retries) raises, and the flow looks the references up before trying
        again."""
        return write_each(writes, self.create_order)

    # --- customers (embedded in each order) --------------------------------------------

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Nobody: CCV orders embed their customer (see the module doc). No request."""
        return {}

    def debtor_fingerprint(self, customer: Customer) -> str:
        """Hash of what an order embeds of the customer."""
        return customer_fingerprint(customer)

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """No request: the customer travels inside each order. Returns what the ledger
        keeps as this customer's code in CCV: the e-mail, else the source's customer
        number, else ``"-"`` (a customer known by neither: each order embeds it anyway)."""
        self._ignore_terms(terms)
        return customer.email or customer.customer_number or "-"

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """No request: the next order embeds the customer's new details."""
        self._ignore_terms(terms)
