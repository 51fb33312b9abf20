"""Exact Globe as a :class:`~shopbridge.connectors.base.ProductTarget` and
:class:`~shopbridge.connectors.base.StockTarget`: items, item categories, images and stock.

Entities and fields. ``Items`` with ``ItemCode``, ``Description``, ``Assortment``,
``IsSalesItem``, ``IsStockItem``, ``GTIN`` are seen in Exact's examples and the eExact
XSD [S/V]; everything else is an ASSUMPTION [U] until checked against Exact's "technical
reference of business entities":

* ``Items`` [U]: ``LongDescription``, ``ShortDescription``, ``SalesPrice``,
  ``SalesPriceIncludesVAT``, ``Currency``, ``ParentItem`` (a variant's configurable
  parent), ``IsConfigurable`` (that parent; not a sales item itself), ``Brand``,
  ``FreeTextField_01`` .. ``FreeTextField_10``. The datamapper fills ``ItemWrite.fields``
  in these names; this module adds ``ItemCode``, ``ParentItem``, ``IsConfigurable`` and
  ``Assortment`` (the item's category code) itself.
* ``ItemCategory`` {ID, Code, Description, ParentCode, Level} [U]: Globe's item groups /
  assortments as a tree.
* ``ItemImage`` {ID, ItemCode, Position, FileName, ContentType, Data (base64),
  ContentHash} [U].
* ``ItemWarehouse`` {ID, ItemCode, Warehouse, Stock} [U] (the XSD's
  ``ItemWarehouses/ItemWarehouse/Warehouse code/Stock``). The warehouse is the stock
  level's location, else the connection's ``default_warehouse`` (``"1"``).

What it decides:

* Lookups are batched ``or`` filters (:func:`any_of`), and what they read is cached on the
  instance (code -> ``ID`` guid and ``IsStockItem``), so an update or a stock write right
  after ``match_items``/``find_items`` costs no extra GET. A flow opens one target per
  task, so the cache lives for seconds, which is also how stale it can be.
* A field named ``Stock`` in ``ItemWrite.fields`` is not an ``Items`` column: on create it
  becomes the item's ``ItemWarehouse`` row in the default warehouse (the initial
  quantity); on update it is dropped (the stock flow owns stock after the create).
* ``Description`` is cut to 60 characters: Globe's column is ``char(60)`` and SQL Server
  refuses a longer insert instead of cutting it [U].
* Category codes are derived from the path (:func:`category_code`), so re-runs and
  parallel workers agree on them without reading each other's results.
* Creates are not retried (no idempotency key; a replay after a lost answer would be
  refused as a duplicate and hide the success); MERGE is.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from shopbridge.connectors._kit.endpoint import ClientEndpoint
from shopbridge.connectors.base import ImageUpload, ItemWrite, with_ancestors
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, any_of, odata_quote
from shopbridge.errors import FatalError, RecordError, refused

log = logging.getLogger(__name__)

#: Globe's ``Items.Description`` width [U]: char(60).
DESCRIPTION_MAX = 60
#: Globe's width for item group / category codes [U].
CATEGORY_CODE_MAX = 20
#: Hex digits of the hash that keeps a shortened category code unique.
_HASH_LEN = 6
DEFAULT_WAREHOUSE = "1"
#: ``ItemWrite.fields`` key that carries the initial stock of a new item (not a column).
STOCK_FIELD = "Stock"
_ITEM_LOOKUP = ("ID", "ItemCode", "GTIN", "IsStockItem")
_NON_CODE = re.compile(r"[^A-Z0-9]+")


def _code(value: Any) -> str:
    """Globe pads codes in char columns [U]; compare them stripped."""
    return "" if value is None else str(value).strip()


def wire(value: Any) -> Any:
    """A payload value Globe gets as the JSON it expects: Decimals as fixed-point text
    (a JSON number passes through a float somewhere), dates as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def truncate(text: Any, limit: int = DESCRIPTION_MAX) -> Any:
    """``text`` cut to ``limit`` characters (trailing blanks dropped); non-text unchanged."""
    if isinstance(text, str) and len(text) > limit:
        return text[:limit].rstrip()
    return text


def _slug(segment: str) -> str:
    """Upper-case ASCII letters and digits, other runs of characters as one ``-``."""
    ascii_text = unicodedata.normalize("NFKD", segment).encode("ascii", "ignore").decode()
    return _NON_CODE.sub("-", ascii_text.upper()).strip("-")


def category_code(path: Sequence[str]) -> str:
    """Globe's category code for ``path``: deterministic, at most 20 characters.

    The upper-case slug of every segment, joined by ``_`` (``("Clothing", "T-shirts")`` ->
    ``CLOTHING_T-SHIRTS``); ``_`` never occurs inside a segment's slug, so different trees
    cannot meet. A longer slug keeps its first 13 characters plus ``-`` and 6 hex digits
    of the full slug's SHA-1. The hash is over the slug, not the text, so renaming a
    category in case or punctuation only ("T-shirts" -> "T-Shirts") keeps its code and
    becomes a Description update. [U] Which characters Globe allows in a code.
    """
    slug = "_".join(_slug(s) or "X" for s in path)
    if len(slug) <= CATEGORY_CODE_MAX:
        return slug
    digest = hashlib.sha1(slug.encode(), usedforsecurity=False).hexdigest()[:_HASH_LEN]
    head = slug[: CATEGORY_CODE_MAX - _HASH_LEN - 1].rstrip("-_")
    return f"{head}-{digest.upper()}"


def item_body(item: ItemWrite, *, create: bool) -> dict[str, Any]:
    """The ``Items`` payload of ``item``: its mapped fields plus what only we can set.

    ``ItemCode`` (create only: it is the key), ``ParentItem`` for a variant,
    ``IsConfigurable`` for a configurable parent, ``Assortment`` from the first category
    unless the mapping sets it (assortment information from the YAML wins).
    A parent is never a sales item itself (its variants are), whatever the mapping says;
    a new item is a sales item unless the mapping says otherwise. ``Stock`` is left out
    (see :func:`initial_stock`).
    """
    body = {k: wire(v) for k, v in item.fields.items() if k != STOCK_FIELD}
    if "Description" in body:
        body["Description"] = truncate(body["Description"])
    if create:
        body["ItemCode"] = item.code
        body.setdefault("IsSalesItem", True)
    if item.parent:
        body["ParentItem"] = item.parent
    if item.is_parent:
        body["IsConfigurable"] = True
        body["IsSalesItem"] = False
    elif create:
        body["IsConfigurable"] = False
    if item.categories:
        body.setdefault("Assortment", item.categories[0])
    return body


def initial_stock(item: ItemWrite) -> Decimal | None:
    """The quantity ``fields["Stock"]`` asks a new item to start with; ``None`` if absent."""
    raw = item.fields.get(STOCK_FIELD)
    if raw is None or raw == "":
        return None
    try:
        qty = Decimal(str(raw))
    except InvalidOperation:
        raise RecordError(
            "product", item.code, STOCK_FIELD, f"initial stock is not a number: {raw!r}"
        ) from None
    if not qty.is_finite():
        raise RecordError("product", item.code, STOCK_FIELD, f"not a finite number: {raw!r}")
    return qty


_refused = partial(refused, "Exact Globe")


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


class ExactGlobeCatalogue(ClientEndpoint[ExactGlobeClient]):
    """Items, categories, images and stock of one Globe administration.

    :class:`~shopbridge.connectors.exact_globe.target.ExactGlobeTarget` extends this with
    debtors and orders, so the hook's one target serves every flow.
    """

    system = "exact_globe"

    def __init__(
        self, client: ExactGlobeClient, *, default_warehouse: str = DEFAULT_WAREHOUSE
    ) -> None:
        """``default_warehouse``: the Globe warehouse code stock goes to when the level
        names no location (the connection's ``extra.default_warehouse``)."""
        super().__init__(client)
        self.default_warehouse = default_warehouse
        #: item code -> its ``ID`` guid (MERGE key)
        self._item_ids: dict[str, str] = {}
        #: item code -> ``IsStockItem`` as Globe last told us
        self._stock_item: dict[str, bool] = {}
        #: (item code, warehouse) -> (``ItemWarehouse.ID``, Stock)
        self._stock_rows: dict[tuple[str, str], tuple[str, Decimal | None]] = {}
        #: item codes whose stock rows are in ``_stock_rows`` (all warehouses)
        self._stock_read: set[str] = set()
        #: the SKUs of the last ``find_items``: what a stock flow is about to set
        self._pending: list[str] = []

    # -- items -------------------------------------------------------------------------------

    def _remember(self, row: Mapping[str, Any]) -> str:
        code = _code(row.get("ItemCode"))
        if row.get("ID"):
            self._item_ids[code] = str(row["ID"])
        if "IsStockItem" in row:
            self._stock_item[code] = _flag(row.get("IsStockItem"))
        return code

    def _read_items(self, field: str, values: Iterable[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for flt in any_of(field, values):
            rows.extend(self.client.query("Items", filter=flt, select=list(_ITEM_LOOKUP)))
        for row in rows:
            self._remember(row)
        return rows

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The SKUs that exist as ``Items.ItemCode`` (exact match), in batched lookups.

        Also remembers each item's guid and ``IsStockItem`` and the SKUs asked about, so a
        stock flow's ``set_stock`` calls that follow cost no item reads and read the
        stock rows of all these SKUs in one batched go.
        """
        self._pending = list(dict.fromkeys(s for s in skus if s))
        found = {self._remember(r) for r in self._read_items("ItemCode", skus)}
        return found & set(skus)

    def match_items(self, skus: Sequence[str], eans: Sequence[str]) -> dict[str, str]:
        """``"sku:<sku>"``/``"ean:<ean>"`` -> ``ItemCode`` of existing items, batched.

        SKUs match ``ItemCode``, EANs match ``GTIN`` (both exactly, after stripping
        Globe's padding). When two items share a GTIN the first Globe returns wins.
        """
        found: dict[str, str] = {}
        wanted_skus, wanted_eans = set(skus), {e for e in eans if e}
        for row in self._read_items("ItemCode", skus):
            code = _code(row.get("ItemCode"))
            if code in wanted_skus:
                found[f"sku:{code}"] = code
        for row in self._read_items("GTIN", sorted(wanted_eans)):
            gtin = _code(row.get("GTIN"))
            if gtin in wanted_eans:
                found.setdefault(f"ean:{gtin}", _code(row.get("ItemCode")))
        return found

    def _item_id(self, code: str, *, entity: str = "product") -> str:
        """The guid of item ``code``: cached, else one lookup. Missing -> RecordError."""
        if code not in self._item_ids:
            self._read_items("ItemCode", [code])
        try:
            return self._item_ids[code]
        except KeyError:
            raise RecordError(
                entity, code, "ItemCode", f"item {code} not found in Exact Globe"
            ) from None

    def create_item(self, item: ItemWrite) -> None:
        """POST the ``Items`` row, then its initial stock row (``fields["Stock"]``).

        A refusal (unknown parent, duplicate code, ...) is a ``FatalError`` naming the
        item code and carrying Globe's message.
        """
        body = item_body(item, create=True)
        qty = initial_stock(item)
        try:
            created = self.client.create("Items", body, retry=False)
        except FatalError as err:
            raise _refused(err, f"item {item.code}") from None
        self._remember({**body, **created, "ItemCode": item.code})
        self._stock_read.add(item.code)  # a new item has no stock rows but this one
        if qty is not None:
            self._create_stock_row(item.code, self.default_warehouse, qty)

    def update_item(self, code: str, item: ItemWrite) -> None:
        """MERGE exactly ``item.fields`` (and parent/configurable/category) onto ``code``.

        Fields left out of ``item.fields`` (create-only ones) keep their value in Globe.
        """
        body = item_body(item, create=False)
        if not body:
            return
        key = self._item_id(code)
        try:
            self.client.merge("Items", key, body)
        except FatalError as err:
            raise _refused(err, f"the update of item {code}") from None
        if "IsStockItem" in body:
            self._stock_item[code] = _flag(body["IsStockItem"])

    # -- categories --------------------------------------------------------------------------

    def ensure_categories(self, paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """Every path and ancestor -> its ``ItemCategory.Code``; missing nodes are created
        parents first, nodes whose text changed get their ``Description`` MERGEd.

        One paged read of the whole ``ItemCategory`` table (categories are few; a filter
        by code would cost one query per 40 nodes and miss nothing more), then only the
        writes that are needed: an unchanged tree costs that read alone. A create refused
        because another worker created the same code meanwhile is accepted after reading
        it back. Two different paths with the same code are a ``FatalError`` (rename one).
        """
        nodes = with_ancestors(paths)
        if not nodes:
            return {}
        codes: dict[tuple[str, ...], str] = {}
        owner: dict[str, tuple[str, ...]] = {}
        for node in nodes:
            code = category_code(node)
            clash = owner.setdefault(code, node)
            if clash != node:
                raise FatalError(
                    f"categories {' > '.join(clash)!r} and {' > '.join(node)!r} "
                    f"both map to Exact Globe code {code}; rename one"
                )
            codes[node] = code
        existing = {
            _code(r.get("Code")): r
            for r in self.client.query(
                "ItemCategory", select=["ID", "Code", "Description", "ParentCode", "Level"]
            )
        }
        for node in nodes:
            code, name = codes[node], truncate(node[-1])
            row = existing.get(code)
            if row is None:
                body = {
                    "Code": code,
                    "Description": name,
                    "Level": len(node),
                    "ParentCode": codes[node[:-1]] if len(node) > 1 else "",
                }
                existing[code] = self._create_category(node, body)
            elif str(row.get("Description") or "").strip() != name:
                try:
                    self.client.merge("ItemCategory", str(row["ID"]), {"Description": name})
                except FatalError as err:
                    raise _refused(err, f"the rename of category {code}") from None
        return codes

    def _create_category(self, node: tuple[str, ...], body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.client.create("ItemCategory", body, retry=False)
        except FatalError as err:
            rows = list(
                self.client.query("ItemCategory", filter=f"Code eq {odata_quote(body['Code'])}")
            )
            if rows:  # created by a parallel worker meanwhile: same path, same code
                return rows[0]
            raise _refused(err, f"category {body['Code']} ({' > '.join(node)})") from None

    # -- images ------------------------------------------------------------------------------

    def put_image(self, code: str, image: ImageUpload) -> None:
        """Store ``image`` as item ``code``'s ``ItemImage`` at ``image.position``.

        The row at (ItemCode, Position) is MERGEd when it exists, created otherwise; when
        its ``ContentHash`` already equals the image's, nothing is written.
        """
        flt = f"ItemCode eq {odata_quote(code)} and Position eq {int(image.position)}"
        rows = list(self.client.query("ItemImage", filter=flt, select=["ID", "ContentHash"]))
        body = {
            "ItemCode": code,
            "Position": int(image.position),
            "FileName": image.filename,
            "ContentType": image.content_type,
            "Data": base64.b64encode(image.content).decode("ascii"),
            "ContentHash": image.content_hash,
        }
        try:
            if not rows:
                self.client.create("ItemImage", body, retry=False)
            elif rows[0].get("ContentHash") != image.content_hash:
                self.client.merge(
                    "ItemImage",
                    str(rows[0]["ID"]),
                    {k: v for k, v in body.items() if k != "ItemCode"},
                )
        except FatalError as err:
            raise _refused(err, f"image {image.position} of item {code}") from None

    # -- stock -------------------------------------------------------------------------------

    def _read_stock_rows(self, codes: Sequence[str]) -> None:
        """Cache the ``ItemWarehouse`` rows of ``codes`` (every warehouse), batched."""
        todo = [c for c in dict.fromkeys(codes) if c and c not in self._stock_read]
        for flt in any_of("ItemCode", todo):
            for row in self.client.query(
                "ItemWarehouse", filter=flt, select=["ID", "ItemCode", "Warehouse", "Stock"]
            ):
                try:
                    level: Decimal | None = Decimal(str(row.get("Stock")).strip())
                except InvalidOperation:
                    level = None
                self._stock_rows[(_code(row.get("ItemCode")), _code(row.get("Warehouse")))] = (
                    str(row["ID"]),
                    level,
                )
        self._stock_read.update(todo)

    def _create_stock_row(self, code: str, warehouse: str, quantity: Decimal) -> None:
        body = {"ItemCode": code, "Warehouse": warehouse, "Stock": wire(quantity)}
        try:
            created = self.client.create("ItemWarehouse", body, retry=False)
        except FatalError as err:
            raise _refused(err, f"stock of item {code} in warehouse {warehouse}") from None
        self._stock_rows[(code, warehouse)] = (str(created.get("ID", "")), quantity)

    def set_stock(
        self, sku: str, quantity: Decimal, *, managed: bool, location: str | None = None
    ) -> None:
        """Set ``sku``'s ``ItemWarehouse.Stock`` in ``location`` (else the default
        warehouse) and ``Items.IsStockItem`` to ``managed``.

        Each is written only when it differs from what Globe holds (read in batches for
        the SKUs of the preceding ``find_items``, else for this one SKU), so an unchanged
        level costs no request. A missing stock row is created. An unknown SKU is a
        ``RecordError`` (quarantined, the batch goes on).
        """
        warehouse = (location or self.default_warehouse).strip()
        key = self._item_id(sku, entity="stock")
        if self._stock_item.get(sku) != managed:
            try:
                self.client.merge("Items", key, {"IsStockItem": managed})
            except FatalError as err:
                raise _refused(err, f"IsStockItem of item {sku}") from None
            self._stock_item[sku] = managed
        if sku not in self._stock_read:
            self._read_stock_rows([sku, *(s for s in self._pending if s in self._item_ids)])
        row = self._stock_rows.get((sku, warehouse))
        if row is None:
            self._create_stock_row(sku, warehouse, quantity)
            return
        row_id, level = row
        if level is not None and level == quantity:
            return
        try:
            self.client.merge("ItemWarehouse", row_id, {"Stock": wire(quantity)})
        except FatalError as err:
            raise _refused(err, f"stock of item {sku} in warehouse {warehouse}") from None
        self._stock_rows[(sku, warehouse)] = (row_id, quantity)
        log.debug("stock of %s in warehouse %s set to %s", sku, warehouse, quantity)
