"""Lightspeed Retail (R-Series) as an ``OrderTarget``, ``ProductTarget`` and ``StockTarget``.

One object serves every flow (the hook hands out "the target" whatever the flow):

* **Customers** are ``Customer`` records with a nested ``Contact`` (e-mail, phone,
  address), matched by e-mail (``Contact.email=IN,[...]``, 100 a query), compared by a
  fingerprint of the fields we manage, created or updated. Debtor *terms* (classification,
  tax code, revenue account) are ERP notions Lightspeed has no field for: accepted and
  ignored.
* **Orders** become completed ``Sale`` records in the connection's shop, register and
  employee: one ``SaleLine`` per order line (``itemID`` found by the SKU as
  ``customSku``), one ``SalePayment`` equal to the sale's total (``paymentTypeID`` from the
  settings' table by the order's payment method, default 1), and our reference in
  ``referenceNumber`` with ``referenceNumberSource`` (``shopbridge``), which is what
  :meth:`find_orders` searches (``referenceNumber=IN,[...]``). One POST per order (the
  API has no batch); never retried blindly. Only the ``sales_order`` order type exists.
  Shipping costs reach the sale only as a line (the orders flow's ``shipping_line``).
* **Products**: a simple product is an ``Item`` (``customSku`` = its SKU); a configurable
  one an ``ItemMatrix`` plus one ``Item`` per variant referencing ``itemMatrixID`` with
  ``ItemAttributes`` ``attribute1..3`` from the mapped fields. Prices go to
  ``Prices.ItemPrice`` (mapped fields ``price``/``msrp``/``onlinePrice``), categories to
  ``Category`` (name + ``parentID``) and the item's ``categoryID``. Images are not
  supported for this integration: :meth:`put_image` raises ``ConfigError``.
* **Stock**: ``PUT Item/{id}`` with ``ItemShops.ItemShop{itemShopID, qoh}`` in the
  connection's shop (or the shop id the level's location names). ``managed`` maps onto
  ``itemType`` ``default``/``non_inventory`` (see :data:`~.translate.UNMANAGED_TYPE`);
  an unmanaged item gets no ``qoh`` write.

What it reads is cached for the object's lifetime (a task: seconds), so a write right
after a lookup costs no extra GET.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from shopbridge.connectors._kit.endpoint import ClientEndpoint
from shopbridge.connectors._kit.writes import (
    check_order_type,
    created_id,
    no_such_debtor,
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
from shopbridge.connectors.lightspeed_retail.client import (
    LightspeedRetailClient,
    LightspeedRetailSettings,
    any_of,
    op,
)
from shopbridge.connectors.lightspeed_retail.translate import (
    MANAGED_TYPE,
    PARENT_SKU_FIELD,
    SYSTEM,
    UNMANAGED_TYPE,
    category_paths,
    customer_body,
    customer_emails,
    fingerprint,
    flag,
    item_body,
    item_confirmation,
    matrix_body,
    number,
    payment_type_for,
    relation,
    sale_body,
    sale_confirmation,
    shop_qoh,
    whole,
)
from shopbridge.errors import (
    AuthError,
    ConfigError,
    FatalError,
    RecordError,
    RetriableError,
    refused,
)
from shopbridge.models import Customer

log = logging.getLogger(__name__)

_ITEM_RELATIONS = ("ItemShops",)
#: the vendor as a person reads it in errors and warnings
VENDOR = "Lightspeed Retail"
IMAGES_REFUSED = "Lightspeed Retail does not take product images through this integration"


_refused = partial(refused, VENDOR)


class LightspeedRetailTarget(ClientEndpoint[LightspeedRetailClient]):
    """Customers, sales, items, matrices, categories and stock of one Lightspeed account."""

    system = SYSTEM

    def __init__(
        self,
        client: LightspeedRetailClient,
        *,
        shop_id: int = 1,
        register_id: int = 1,
        employee_id: int = 1,
        payment_types: Mapping[str, int] | None = None,
        default_payment_type_id: int = 1,
        prices_include_tax: bool | None = None,
        item_attribute_set_id: int = 4,
        reference_source: str = "shopbridge",
    ) -> None:
        """``prices_include_tax=None`` asks the shop's tax category once (the sale's
        prices and payment must be in the shop's own terms)."""
        super().__init__(client)
        self.shop_id = shop_id
        self.register_id = register_id
        self.employee_id = employee_id
        self.payment_types = dict(payment_types or {})
        self.default_payment_type_id = default_payment_type_id
        self.prices_include_tax = prices_include_tax
        self.item_attribute_set_id = item_attribute_set_id
        self.reference_source = reference_source
        #: customSku -> the Item as last read or written (with ItemShops when read)
        self._items: dict[str, dict[str, Any]] = {}
        #: configurable parent SKU -> itemMatrixID
        self._matrices: dict[str, str] = {}
        #: itemMatrixID -> its itemAttributeSetID
        self._matrix_sets: dict[str, str] = {}
        self._tax: tuple[bool, Decimal] | None = None

    @classmethod
    def from_settings(
        cls, settings: LightspeedRetailSettings, client: LightspeedRetailClient
    ) -> LightspeedRetailTarget:
        """The target the settings describe, on ``client``."""
        return cls(
            client,
            shop_id=settings.shop_id,
            register_id=settings.register_id,
            employee_id=settings.employee_id,
            payment_types=settings.payment_types,
            default_payment_type_id=settings.default_payment_type_id,
            prices_include_tax=settings.prices_include_tax,
            item_attribute_set_id=settings.item_attribute_set_id,
            reference_source=settings.reference_source,
        )

    # --- customers -------------------------------------------------------------------

    def match_debtors(self, emails: Sequence[str]) -> dict[str, DebtorMatch]:
        """Lower-cased e-mail -> the customer's id and fingerprint, 100 e-mails a query
        (``load_relations=["Contact"]&Contact.email=IN,[...]`` [V: searching in a loaded
        relation]; ASSUMPTION [U]: ``IN`` works on e-mails and compares them
        case-insensitively, so e-mails are compared again here). When two customers share
        an e-mail the lowest id wins."""
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        found: dict[str, DebtorMatch] = {}
        for values in any_of(sorted(wanted)):
            rows = self.client.query(
                "Customer", {"Contact.email": values}, load_relations=["Contact"]
            )
            for row in sorted(rows, key=lambda r: int(number(r.get("customerID")) or 0)):
                for email in customer_emails(row):
                    if email in wanted and email not in found:
                        found[email] = DebtorMatch(str(row["customerID"]), fingerprint(row))
        return found

    def debtor_fingerprint(self, customer: Customer) -> str:
        """What :meth:`match_debtors` reports once ``customer`` is written."""
        return fingerprint(customer_body(customer))

    def create_debtor(self, customer: Customer, terms: DebtorTerms | None = None) -> str:
        """POST the customer with its contact (not retried); returns its ``customerID``.
        ``terms`` have no Lightspeed field: accepted and ignored."""
        try:
            created = self.client.create("Customer", customer_body(customer))
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, customer.label) from None
        return created_id(VENDOR, created, "customerID", customer.label)

    def update_debtor(
        self, code: str, customer: Customer, terms: DebtorTerms | None = None
    ) -> None:
        """PUT the managed fields and the contact onto customer ``code`` (terms ignored)."""
        try:
            self.client.update("Customer", code, customer_body(customer))
        except AuthError:
            raise
        except FatalError as err:
            if status_of(err) == 404:
                raise no_such_debtor(VENDOR, code, customer) from None
            raise _refused(err, f"the update of customer {code}") from None

    # --- items (shared by orders, products and stock) ----------------------------------

    def _remember(self, row: dict[str, Any]) -> None:
        sku = str(row.get("customSku") or "").strip()
        if sku:
            self._items[sku] = row

    def _read_items(self, field: str, values: Iterable[str]) -> list[dict[str, Any]]:
        """Items whose ``field`` is any of ``values`` (with their ItemShops), cached."""
        rows: list[dict[str, Any]] = []
        for chunk in any_of(values):
            rows.extend(self.client.query("Item", {field: chunk}, load_relations=_ITEM_RELATIONS))
        for row in rows:
            self._remember(row)
        return rows

    def _item(self, code: str, *, entity: str = "product") -> dict[str, Any]:
        """The Item with ``customSku`` ``code`` (cached, else one query); a code from an EAN
        match without a SKU is ``itemID:<id>``. Missing -> ``RecordError``."""
        if code.startswith("itemID:"):
            return self.client.get("Item", code.partition(":")[2], load_relations=_ITEM_RELATIONS)
        if code not in self._items:
            self._read_items("customSku", [code])
        try:
            return self._items[code]
        except KeyError:
            raise RecordError(
                entity, code, "customSku", f"item {code} not found in Lightspeed Retail"
            ) from None

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The SKUs that exist as an Item's ``customSku`` (exact), 100 a query."""
        wanted = {s for s in skus if s}
        self._read_items("customSku", sorted(wanted - set(self._items)))
        return wanted & set(self._items)

    @staticmethod
    def _code(row: Mapping[str, Any]) -> str:
        sku = str(row.get("customSku") or "").strip()
        return sku or f"itemID:{row.get('itemID')}"

    def match_items(self, skus: Sequence[str], eans: Sequence[str]) -> dict[str, str]:
        """``"sku:<sku>"``/``"ean:<ean>"`` -> the item's code, batched.

        SKUs match an Item's ``customSku``; a SKU that matches none is looked up as a
        configurable parent (the :data:`~.translate.PARENT_SKU_FIELD` of a matrix item).
        EANs match ``ean``; the code is that item's ``customSku`` (``itemID:<id>`` when it
        has none). When two items share an EAN the first Lightspeed returns wins.
        """
        found: dict[str, str] = {}
        wanted = {s for s in skus if s}
        for row in self._read_items("customSku", sorted(wanted)):
            sku = str(row.get("customSku") or "").strip()
            if sku in wanted:
                found[f"sku:{sku}"] = sku
        parents = sorted(wanted - {k[4:] for k in found})
        for parent in self._find_matrices(parents):
            found[f"sku:{parent}"] = parent
        wanted_eans = {e for e in eans if e}
        for row in self._read_items("ean", sorted(wanted_eans)):
            ean = str(row.get("ean") or "").strip()
            if ean in wanted_eans:
                found.setdefault(f"ean:{ean}", self._code(row))
        return found

    def _find_matrices(self, parents: Sequence[str]) -> set[str]:
        """Which of ``parents`` name a matrix (through one of its items); cached."""
        todo = [p for p in parents if p and p not in self._matrices]
        for chunk in any_of(todo):
            for row in self.client.query(
                "Item", {PARENT_SKU_FIELD: chunk, "itemMatrixID": op(">", 0)}
            ):
                parent = str(row.get(PARENT_SKU_FIELD) or "").strip()
                if parent in todo and parent not in self._matrices:
                    self._matrices[parent] = str(row["itemMatrixID"])
        return {p for p in parents if p in self._matrices}

    def _matrix_id(self, parent: str) -> str:
        if not self._find_matrices([parent]):
            raise RecordError(
                "product",
                parent,
                "parent",
                f"configurable parent {parent} has no matrix in Lightspeed "
                "Retail (no item carries it as its "
                f"{PARENT_SKU_FIELD})",
            )
        return self._matrices[parent]

    def _matrix_set(self, matrix_id: str) -> str:
        """The matrix's ``itemAttributeSetID`` (its variants' attributes must use it)."""
        if matrix_id not in self._matrix_sets:
            matrix = self.client.get("ItemMatrix", matrix_id)
            self._matrix_sets[matrix_id] = str(
                matrix.get("itemAttributeSetID") or self.item_attribute_set_id
            )
        return self._matrix_sets[matrix_id]

    # --- products --------------------------------------------------------------------

    def create_item(self, item: ItemWrite) -> None:
        """POST an ``ItemMatrix`` (``is_parent``) or an ``Item`` (a variant references its
        parent's matrix); ``FatalError`` naming the item when Lightspeed refuses it."""
        try:
            if item.is_parent:
                created = self.client.create(
                    "ItemMatrix",
                    matrix_body(item, create=True, attribute_set_id=self.item_attribute_set_id),
                )
                new_matrix = str(created.get("itemMatrixID") or "").strip()
                if not new_matrix:
                    raise FatalError(
                        f"Lightspeed answered the matrix of {item.code} without an itemMatrixID"
                    )
                self._matrices[item.code] = new_matrix
                self._matrix_sets[new_matrix] = str(
                    created.get("itemAttributeSetID") or self.item_attribute_set_id
                )
                return
            matrix_id = self._matrix_id(item.parent) if item.parent else None
            body = item_body(
                item,
                create=True,
                shop_id=self.shop_id,
                matrix_id=matrix_id,
                attribute_set_id=self._matrix_set(matrix_id) if matrix_id else None,
            )
            created = self.client.create("Item", body)
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"item {item.code}") from None
        problem = item_confirmation(created, sku=item.code)
        if problem is not None:
            raise FatalError(
                f"item {item.code} not confirmed: {problem}{self._disown_item(created)}"
            )
        self._remember(created)

    def _disown_item(self, created: Mapping[str, Any]) -> str:
        """Archive an item Lightspeed created but did not confirm (so the products flow,
        which finds items by SKU, creates a correct one next time); what happened, for the
        error message."""
        item_id = str(created.get("itemID") or "").strip()
        if not item_id:
            return ""
        try:
            self.client.delete("Item", item_id)
        except AuthError:
            raise
        except FatalError as err:
            return f"; archiving item {item_id} failed too ({err}): archive it in Lightspeed"
        return f"; item {item_id} was archived"

    def update_item(self, code: str, item: ItemWrite) -> None:
        """PUT exactly the mapped fields (and parent/category) onto item or matrix ``code``.

        Fields left out (create-only ones) keep their value in Lightspeed; ``qoh`` is never
        sent on an update.
        """
        try:
            if item.is_parent:
                body = matrix_body(item, create=False, attribute_set_id=self.item_attribute_set_id)
                if body:
                    self.client.update("ItemMatrix", self._matrix_id(code), body)
                return
            record = self._item(code)
            matrix_id = self._matrix_id(item.parent) if item.parent else None
            needs_set = matrix_id is not None and (
                any(k.startswith("attribute") for k in item.fields)
                or str(record.get("itemMatrixID") or "0") != matrix_id
            )
            body = item_body(
                item,
                create=False,
                shop_id=self.shop_id,
                matrix_id=matrix_id,
                attribute_set_id=self._matrix_set(matrix_id) if needs_set and matrix_id else None,
            )
            if body:
                self._remember({**record, **self.client.update("Item", record["itemID"], body)})
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"the update of item {code}") from None

    def ensure_categories(self, paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """Every path and ancestor -> its ``categoryID``; missing nodes are created
        parents first, a node whose name differs only in case or spacing is renamed.

        One paged read of all categories (they are few), then only the writes needed. A
        create refused because a parallel worker created the same node meanwhile is
        accepted after reading the categories again.
        """
        nodes = with_ancestors(paths)
        if not nodes:
            return {}
        existing = self._categories()
        ids: dict[tuple[str, ...], str] = {}
        for node in nodes:
            name = node[-1].strip()
            row = existing.get(tuple(n.strip().lower() for n in node))
            if row is None:
                body = {"name": name, "parentID": ids[node[:-1]] if len(node) > 1 else "0"}
                try:
                    row = self.client.create("Category", body)
                except AuthError:
                    raise
                except FatalError as err:
                    existing = self._categories()
                    row = existing.get(tuple(n.strip().lower() for n in node))
                    if row is None:
                        raise _refused(err, f"category {' > '.join(node)}") from None
            elif str(row.get("name") or "").strip() != name:
                try:
                    self.client.update("Category", row["categoryID"], {"name": name})
                except AuthError:
                    raise
                except FatalError as err:
                    raise _refused(err, f"the rename of category {' > '.join(node)}") from None
            if not str(row.get("categoryID") or "").strip():
                raise FatalError(
                    f"Lightspeed answered category {' > '.join(node)} without a categoryID"
                )
            ids[node] = str(row["categoryID"])
        return ids

    def _categories(self) -> dict[tuple[str, ...], dict[str, Any]]:
        rows = list(self.client.query("Category"))
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for path, row in category_paths(rows).items():
            key = tuple(n.lower() for n in path)
            # names repeat [V]: the oldest category of a path (in any case) is the one
            if key not in out or int(number(row.get("categoryID")) or 0) < int(
                number(out[key].get("categoryID")) or 0
            ):
                out[key] = row
        return out

    def put_image(self, code: str, image: ImageUpload) -> None:
        """Images are not part of this integration: the pair's products settings must
        switch them off (``images: false``)."""
        raise ConfigError(IMAGES_REFUSED)

    # --- stock -----------------------------------------------------------------------

    def _shop_for(self, location: str | None) -> int:
        if location is None or not str(location).strip():
            return self.shop_id
        text = str(location).strip()
        if not text.isdigit():
            raise ConfigError(
                f"stock location {text!r} is not a Lightspeed shopID (the "
                "stock flow's target_location names a shop by its id)"
            )
        return int(text)

    def set_stock(
        self, sku: str, quantity: Decimal, *, managed: bool, location: str | None = None
    ) -> None:
        """Set the item's ``qoh`` in the shop (``location`` names a shopID, else the
        connection's) and whether it tracks stock (``itemType``); each only when it
        differs from what Lightspeed holds, so an unchanged level costs no write.

        The ItemShop is addressed by its ``itemShopID`` when the item has one for the
        shop, else by ``shopID`` (the vendor creates ItemShops as needed [V]). A fraction
        is a ``RecordError``: Lightspeed keeps whole quantities.
        """
        shop = self._shop_for(location)
        record = self._item(sku, entity="stock")
        qty = whole(quantity, entity="stock", source_id=sku, field="quantity")
        body: dict[str, Any] = {}
        item_type = str(record.get("itemType") or MANAGED_TYPE)
        if managed and item_type == UNMANAGED_TYPE:
            body["itemType"] = MANAGED_TYPE
        elif not managed and item_type == MANAGED_TYPE:
            body["itemType"] = UNMANAGED_TYPE
        shops = {str(r.get("shopID")): r for r in relation(record, "ItemShops", "ItemShop")}
        row = shops.get(str(shop))
        if managed and shop_qoh(record, shop, sku=sku) != qty:
            target = (
                {"itemShopID": str(row["itemShopID"])}
                if row and row.get("itemShopID")
                else {"shopID": str(shop)}
            )
            body["ItemShops"] = {"ItemShop": {**target, "qoh": str(qty)}}
        if not body:
            return
        try:
            answer = self.client.update("Item", record["itemID"], body)
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(err, f"the stock of item {sku} in shop {shop}") from None
        if "ItemShops" in body and "ItemShops" in answer:
            # the answer to an Item write carries its ItemShops [V, recorded]: the level
            # counts as written when the shop's row says so
            got = (
                shop_qoh(answer, shop, sku=sku)
                if relation(answer, "ItemShops", "ItemShop")
                else None
            )
            if got != qty:
                raise FatalError(
                    f"the stock of item {sku} in shop {shop} was sent as {qty} "
                    f"but Lightspeed answered qoh {got}"
                )
        log.debug("stock of %s in shop %s: %s", sku, shop, body)
        if "itemType" in body:
            record["itemType"] = body["itemType"]
        if "ItemShops" in body:
            rows = [
                r
                for r in relation(record, "ItemShops", "ItemShop")
                if str(r.get("shopID")) != str(shop)
            ]
            rows.append({**(row or {}), "shopID": str(shop), "qoh": str(qty)})
            record["ItemShops"] = {"ItemShop": rows}

    # --- orders ----------------------------------------------------------------------

    def find_orders(
        self, references: Sequence[str], *, kind: str = "sales_order"
    ) -> dict[str, str]:
        """Our reference -> ``saleID`` of the completed sales we created (voided and
        archived ones included: a sale someone cancelled in the POS is not created again).

        A sale that is not completed does not count: Lightspeed keeps a sale it could not
        complete open, with a ``balance`` [V], and :meth:`create_orders` archives it and
        reports the order; an open sale is not a booked one."""
        check_order_type(VENDOR, kind)
        wanted = set(references)
        found: dict[str, str] = {}
        for chunk in any_of(references):
            for row in self.client.query(
                "Sale",
                {
                    "referenceNumber": chunk,
                    "referenceNumberSource": self.reference_source,
                    "archived": "true",
                },
            ):
                ref = str(row.get("referenceNumber") or "")
                if ref in wanted and row.get("saleID") and flag(row.get("completed")):
                    found.setdefault(ref, str(row["saleID"]))
        return found

    def tax_mode(self) -> tuple[bool, Decimal]:
        """(prices include tax, the shop's tax rate), read once from the shop's
        ``TaxCategory`` unless the settings fix the first. The sale's prices are sent in
        the shop's terms and its payment must equal what Lightspeed totals it to."""
        if self._tax is None:
            inclusive = self.prices_include_tax
            rate = Decimal(0)
            if inclusive is not True:
                shop = self.client.get("Shop", self.shop_id, load_relations=["TaxCategory"])
                category = shop.get("TaxCategory")
                category = category if isinstance(category, Mapping) else {}
                if inclusive is None:
                    inclusive = flag(category.get("isTaxInclusive"))
                rate = sum(
                    (number(category.get(k)) or Decimal(0) for k in ("tax1Rate", "tax2Rate")),
                    Decimal(0),
                )
            self._tax = (bool(inclusive), rate)
        return self._tax

    def _item_ids(self, writes: Sequence[OrderWrite]) -> dict[str, str]:
        skus: set[str] = set()
        for w in writes:
            lines = list((w.mapped or {}).get("lines") or [])
            for i, line in enumerate(w.order.lines):
                sku = lines[i].get("customSku") if i < len(lines) else None
                skus.add(str(sku or line.sku))
        self.find_items(sorted(skus))
        return {
            sku: str(row["itemID"])
            for sku, row in self._items.items()
            if sku in skus and row.get("itemID")
        }

    def create_order(self, write: OrderWrite) -> str:
        """POST one completed sale; returns its ``saleID``.

        ``debtor_code`` is the ``customerID`` (empty: a walk-in sale without customer).
        Never retried: a timeout or 5xx can hide a committed sale, so the error propagates
        and the flow looks the reference up before any second attempt.
        """
        check_order_type(VENDOR, write.kind)
        return self._create(write, item_ids=self._item_ids([write]))

    def _create(self, write: OrderWrite, *, item_ids: Mapping[str, str]) -> str:
        order, debtor_code, reference = write.order, write.debtor_code, write.reference
        if debtor_code and not debtor_code.strip().isdigit():
            raise ConfigError(f"debtor {debtor_code!r} is not a Lightspeed customerID")
        inclusive, rate = self.tax_mode()
        body, total = sale_body(
            order,
            reference=reference,
            reference_source=self.reference_source,
            item_ids=item_ids,
            mapped=write.mapped,
            customer_id=debtor_code.strip() or None,
            shop_id=self.shop_id,
            register_id=self.register_id,
            employee_id=self.employee_id,
            payment_type_id=payment_type_for(
                order, write.mapped, self.payment_types, self.default_payment_type_id
            ),
            tax_inclusive=inclusive,
            tax_rate=rate,
        )
        try:
            created = self.client.create("Sale", body)
        except AuthError:
            raise
        except FatalError as err:
            raise _refused(
                err, f"sale {reference} (source order {order.ref.id}, total {total})"
            ) from None
        sale_id = str(created.get("saleID") or "").strip()
        if not sale_id:
            raise FatalError(
                f"Lightspeed answered sale {reference} (source order "
                f"{order.ref.id}) without a saleID; not counted as created"
            )
        problem = sale_confirmation(created, total=total)
        if problem is not None:
            raise FatalError(
                f"sale {reference} (source order {order.ref.id}, saleID "
                f"{sale_id}) not confirmed: {problem}; not counted as created"
                f"{self._disown_sale(sale_id, created)}"
            )
        log.debug("sale %s created for %s (total %s)", sale_id, reference, total)
        return sale_id

    def _disown_sale(self, sale_id: str, created: Mapping[str, Any]) -> str:
        """Take our reference off a sale Lightspeed did not confirm, so :meth:`find_orders`
        never counts it and a retry or replay books the order again; what happened, for
        the error message.

        An open sale is archived (``DELETE``: the vendor archives a sale that is not
        completed [V, doc]). A completed one cannot be archived [V, doc]: its
        ``referenceNumberSource`` is renamed (ASSUMPTION [U]: a completed sale's reference
        fields can still change) and the person reading the report voids it in the POS.
        """
        completed = flag(created.get("completed"))
        try:
            self.client.update(
                "Sale", sale_id, {"referenceNumberSource": f"{self.reference_source}-unconfirmed"}
            )
            if not completed:
                self.client.delete("Sale", sale_id)
        except AuthError:
            raise
        except (FatalError, RetriableError) as err:
            return (
                f"; taking our reference off sale {sale_id} failed ({err}): void or "
                "archive it in Lightspeed before the order is replayed"
            )
        if completed:
            return f"; void sale {sale_id} in Lightspeed (it was completed)"
        return f"; the open sale {sale_id} was archived"

    def create_orders(self, writes: Sequence[OrderWrite]) -> list[str | FatalError]:
        """One sale per write, in order (the API has no batch); the items of all of them
        are looked up first in batched queries.

        A refused sale (unbalanced, unknown item, ...) is that write's ``FatalError``; a
        ``RecordError`` becomes one too, naming its field. Auth, config and transient
        errors raise and stop the loop: sales already created are found by reference when
        the flow tries again.
        """
        for w in writes:
            check_order_type(VENDOR, w.kind)
        item_ids = self._item_ids(writes) if writes else {}
        return write_each(writes, partial(self._create, item_ids=item_ids))
