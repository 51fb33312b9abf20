"""Lightspeed eCom as a :class:`~shopbridge.connectors.base.ProductTarget` and
:class:`~shopbridge.connectors.base.StockTarget`: products, variants, categories, images
and stock written into one shop.

:class:`~shopbridge.connectors.lightspeed_ecom.target.LightspeedEcomTarget` extends
:class:`LightspeedEcomCatalogue` with customers and orders, so the hook's one target serves
every flow.

How items map onto Lightspeed (VENDOR_APIS.md §1):

* A **simple item** is a product with one variant: ``POST products.json``, then the
  product's default variant is filled in (``PUT variants/{id}``: SKU, EAN, prices, initial
  stock). ASSUMPTION [U]: the shop gives every new product a default variant without a
  SKU; when it has none, the variant is created (``POST variants.json``) instead.
* A **configurable parent** (``is_parent``) is the product only. Its first variant item
  takes over the default variant (so the product shows no empty extra variant); the others
  are ``POST variants.json {"variant": {"product": <id>, ...}}``.
* A **variant item**'s title is built from its option fields, ``"Colour: black, Size: M"``
  (the format this connector's source reads back, :func:`.translate.options_from_title`).
* **Item codes.** A variant is known by its ``sku``. A product has no SKU field, so every
  product created here keeps its item code (the parent SKU of a configurable product, the
  SKU of a simple one) in a free product text field, ``data01`` by default
  (``item_code_field``; ASSUMPTION [U]: ``data01``-``data03`` exist and are writable, as a
  third-party SDK has them). :meth:`LightspeedEcomCatalogue.match_items` finds parents by
  it, and also a simple product whose variant never got its SKU (a create that died
  half-way), so a retry repairs that product instead of creating a second one. A variant
  found only by EAN whose shop SKU is empty gets the code ``variant:<id>``.

Field names in ``ItemWrite.fields`` are Lightspeed's (:data:`PRODUCT_FIELDS`,
:data:`VARIANT_FIELDS`); this module only adds the item code, the SKU when the mapping has
none, the parent's product id and the variant title. On a variant item the product fields
are the parent's and are not written again; any other field is an option (the attribute
mapping's target field, e.g. ``attributes: {Colour: Colour}``). On a product or simple
item an unknown field is a :class:`RecordError` naming it: Lightspeed would drop or refuse
it, and a silently lost mapping is worse than a quarantined product.

``stockLevel`` is sent on create only: the canonical variant's quantity is "sent on create;
the stock flow owns it after" (``models.Variant.quantity``), so :meth:`update_item` leaves
it out even when the datamapper passes it.

Numbers go out as JSON numbers (the API's own types): money as given (a JSON number is a
float somewhere, as the vendor's own API returns it); whole-number fields
(:data:`WHOLE_FIELDS`) rounded down, so a fractional ERP quantity never promises stock
that is not there.

Costs: the shop's variants are read once per target (``fields=`` a few, 250 a page), the
item codes of its products once more when a code is not a variant SKU, the category tree
once; a new simple product costs 3 requests plus one per category link, a configurable one
``2 + variants`` plus its links. Every write stays under the rate limits through the
client's pacing (see :mod:`.client`).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from functools import partial
from typing import Any

from shopbridge.connectors._kit.endpoint import ClientEndpoint
from shopbridge.connectors._kit.writes import created_id, status_of
from shopbridge.connectors.base import ImageUpload, ItemWrite, with_ancestors
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.translate import SYSTEM
from shopbridge.errors import ConfigError, FatalError, RecordError, refused

log = logging.getLogger(__name__)

#: the vendor as a person reads it in errors and warnings
VENDOR = "Lightspeed eCom"

#: product fields a mapping may fill (the product input of the vendor and a third-party SDK)
PRODUCT_FIELDS = frozenset(
    {
        "title",
        "fulltitle",
        "content",
        "description",
        "url",
        "isVisible",
        "visibility",
        "data01",
        "data02",
        "data03",
        "brand",
        "supplier",
        "type",
    }
)
#: variant fields a mapping may fill
VARIANT_FIELDS = frozenset(
    {
        "sku",
        "ean",
        "articleCode",
        "priceExcl",
        "priceIncl",
        "priceCost",
        "oldPriceExcl",
        "oldPriceIncl",
        "stockLevel",
        "stockTracking",
        "stockAlert",
        "stockMinimum",
        "weight",
        "isDefault",
        "sortOrder",
    }
)
MONEY_FIELDS = frozenset({"priceExcl", "priceIncl", "priceCost", "oldPriceExcl", "oldPriceIncl"})
WHOLE_FIELDS = frozenset({"stockLevel", "stockAlert", "stockMinimum", "weight", "sortOrder"})
FLAG_FIELDS = frozenset({"isVisible", "isDefault"})
#: references a product write takes as ids
ID_FIELDS = frozenset({"brand", "supplier", "type"})
#: left out of updates: the stock flow owns the level once the item exists
CREATE_ONLY = frozenset({"stockLevel"})
ITEM_CODE_FIELDS = ("data01", "data02", "data03")
DEFAULT_ITEM_CODE_FIELD = "data01"
#: the code of a variant matched by EAN that has no SKU in the shop
VARIANT_CODE = "variant:"
#: what the whole-shop variant read asks for (``stockLevel``/``stockTracking`` let
#: :meth:`LightspeedEcomCatalogue.set_stock` skip unchanged levels)
VARIANT_LOOKUP = ("id", "sku", "ean", "product", "stockLevel", "stockTracking")
TRACKING = {True: "enabled", False: "disabled"}


def options_title(options: Mapping[str, Any]) -> str:
    """``{"Colour": "black", "Size": "M"}`` -> ``"Colour: black, Size: M"``."""
    return ", ".join(f"{name}: {value}" for name, value in options.items())


def _ref_id(value: Any) -> str | None:
    """The id in a ``{"resource": {"id": ..}}`` reference (``None`` for ``false``)."""
    resource = value.get("resource") if isinstance(value, Mapping) else None
    rid = resource.get("id") if isinstance(resource, Mapping) else None
    return None if rid in (None, False, "") else str(rid)


_refused = partial(refused, VENDOR)


def _norm(title: str) -> str:
    return " ".join(title.casefold().split())


def _decimal(value: Any, code: str, name: str, entity: str = "product") -> Decimal:
    if isinstance(value, bool):
        raise RecordError(entity, code, name, f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(entity, code, name, f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise RecordError(entity, code, name, f"expected a finite number, got {value!r}")
    return number


def whole(value: Any, code: str, name: str, entity: str = "product") -> int:
    """A whole-number field, rounded down (``2.7`` units in stock are 2 to sell)."""
    return int(_decimal(value, code, name, entity).to_integral_value(ROUND_FLOOR))


def _flag(value: Any, code: str, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", ""):
        return False
    raise RecordError("product", code, name, f"expected true or false, got {value!r}")


def wire(name: str, value: Any, code: str) -> Any:
    """One mapped value as the API takes it (the datamapper sends Decimals as text)."""
    if name in MONEY_FIELDS:
        return float(_decimal(value, code, name))
    if name in WHOLE_FIELDS:
        return whole(value, code, name)
    if name in FLAG_FIELDS:
        return _flag(value, code, name)
    if name in ID_FIELDS:
        text = str(value).strip()
        if not text.isdigit():
            raise RecordError(
                "product", code, name, f"expected a Lightspeed {name} id, got {value!r}"
            )
        return int(text)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Bodies:
    """An item's fields split by where they go: the product, the variant, the options."""

    product: dict[str, Any] = field(default_factory=dict)
    variant: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def split_fields(item: ItemWrite, *, create: bool) -> Bodies:
    """``item.fields`` as product and variant bodies (see the module docstring).

    A variant item's product fields are dropped (its parent owns them) and its options
    become the variant ``title``; a parent's variant fields are dropped (its variants
    carry them); an unknown field of a product or simple item is a ``RecordError``.
    """
    bodies = Bodies()
    for name, value in item.fields.items():
        if not create and name in CREATE_ONLY:
            continue
        if name in PRODUCT_FIELDS:
            bodies.product[name] = wire(name, value, item.code)
        elif name in VARIANT_FIELDS:
            bodies.variant[name] = wire(name, value, item.code)
        elif item.parent is not None:
            bodies.options[name] = "" if value is None else str(value)
        else:
            raise RecordError(
                "product",
                item.code,
                name,
                f"{name!r} is not a Lightspeed product or variant field (map it to one of "
                f"{', '.join(sorted(PRODUCT_FIELDS | VARIANT_FIELDS))}, or drop it)",
            )
    if item.parent is not None:
        bodies.product.clear()
        if bodies.options:
            bodies.variant["title"] = options_title(bodies.options)
    if item.is_parent:
        bodies.variant.clear()
    return bodies


@dataclass
class _Variant:
    """What a target remembers of one shop variant."""

    id: str
    product: str
    sku: str
    ean: str
    level: int | None
    tracking: str | None


@dataclass
class _Tree:
    """The shop's categories: (parent id, title) -> id, exactly and loosely (case and
    spacing folded, to recognise a renamed node)."""

    exact: dict[tuple[str | None, str], str] = field(default_factory=dict)
    loose: dict[tuple[str | None, str], str] = field(default_factory=dict)

    def add(self, parent: str | None, title: str, cid: str) -> None:
        self.exact.setdefault((parent, title), cid)
        self.loose.setdefault((parent, _norm(title)), cid)


class LightspeedEcomCatalogue(ClientEndpoint[LightspeedEcomClient]):
    """Products, variants, categories, images and stock of one Lightspeed shop."""

    system = SYSTEM

    def __init__(
        self, client: LightspeedEcomClient, *, item_code_field: str = DEFAULT_ITEM_CODE_FIELD
    ) -> None:
        """``item_code_field``: the product text field that keeps our item code
        (``extra.item_code_field`` of the connection; ``data01``)."""
        if item_code_field not in ITEM_CODE_FIELDS:
            raise ConfigError(
                f"item_code_field must be one of {', '.join(ITEM_CODE_FIELDS)},"
                f" got {item_code_field!r}"
            )
        super().__init__(client)
        self.item_code_field = item_code_field
        #: SKU -> variant id, read once per target (the API cannot filter by SKU)
        self._sku_ids: dict[str, str] = {}
        self._variants_read = False
        #: variant id -> what we know of it
        self._rows: dict[str, _Variant] = {}
        #: EAN -> variant id (the first the shop lists)
        self._eans: dict[str, str] = {}
        #: item code -> product id (``item_code_field``), read when first needed
        self._codes: dict[str, str] = {}
        self._codes_read = False
        #: product id -> its variant without a SKU (``None``: it has none left)
        self._free: dict[str, str | None] = {}
        #: product id -> the category ids it is linked to
        self._links: dict[str, set[str]] = {}
        self._tree: _Tree | None = None
        self._location_warned = False
        #: configurable parents announced by ``create_item`` but not created yet: a parent
        #: becomes a product only with its first new variant, or adopts the product its
        #: existing variants already live in (no empty duplicate product in the shop)
        self._pending: dict[str, ItemWrite] = {}

    # --- lookups ---------------------------------------------------------------------

    def _remember(self, row: Mapping[str, Any], product: str | None = None) -> _Variant | None:
        """Index one variant as the API returned it (a list row or a write's answer)."""
        if row.get("id") in (None, False, ""):
            return None
        vid = str(row["id"])
        before = self._rows.get(vid)
        pid = _ref_id(row.get("product")) or product or (before.product if before else "")
        sku = str(row.get("sku") or "").strip() if "sku" in row else (before.sku if before else "")
        ean = str(row.get("ean") or "").strip() if "ean" in row else (before.ean if before else "")
        level_raw = row.get("stockLevel", before.level if before else None)
        level = (
            level_raw if isinstance(level_raw, int) and not isinstance(level_raw, bool) else None
        )
        tracking = row.get("stockTracking", before.tracking if before else None)
        variant = _Variant(
            vid, pid, sku, ean, level, str(tracking) if tracking is not None else None
        )
        if (
            before is not None
            and before.sku
            and before.sku != sku
            and self._sku_ids.get(before.sku) == vid
        ):
            del self._sku_ids[before.sku]
        self._rows[vid] = variant
        if sku:
            self._sku_ids.setdefault(sku, vid)
        if ean:
            self._eans.setdefault(ean, vid)
        return variant

    def _variants(self) -> dict[str, str]:
        """SKU -> variant id for the whole shop: ``ceil(variants / 250)`` GETs, once per
        target (a task's lifetime), because the API cannot filter variants by SKU."""
        if not self._variants_read:
            for row in self.client.iter_variants(fields=VARIANT_LOOKUP):
                self._remember(row)
            self._variants_read = True
        return self._sku_ids

    def _item_codes(self) -> dict[str, str]:
        """Item code -> product id, from every product's ``item_code_field``: one paged
        read (``fields=id,<field>``) per target, only once a code is not a variant SKU."""
        if not self._codes_read:
            params = {"fields": f"id,{self.item_code_field}"}
            for row in self.client.iter_list("products", params):
                code = str(row.get(self.item_code_field) or "").strip()
                if code and row.get("id") not in (None, False, ""):
                    self._codes.setdefault(code, str(row["id"]))
            self._codes_read = True
        return self._codes

    def _code_of(self, vid: str) -> str:
        row = self._rows.get(vid)
        return row.sku if row is not None and row.sku else f"{VARIANT_CODE}{vid}"

    def _find(self, code: str, *, parent: bool = False) -> tuple[str, str | None] | None:
        """``(product id, variant id)`` of an item code; the variant is ``None`` for a
        configurable parent (or a product whose variant has no SKU yet). What this target
        wrote or read already answers without a request; the shop-wide reads happen only
        for a code it has not met."""
        if not parent:
            if code.startswith(VARIANT_CODE):
                vid = code[len(VARIANT_CODE) :]
                if vid not in self._rows:
                    self._variants()
            else:
                vid = self._sku_ids.get(code) or self._variants().get(code, "")
            row = self._rows.get(vid)
            if row is not None and row.product:
                return row.product, vid
        pid = self._codes.get(code) or self._item_codes().get(code)
        return (pid, None) if pid is not None else None

    def _located(
        self, code: str, *, entity: str = "product", parent: bool = False
    ) -> tuple[str, str | None]:
        found = self._find(code, parent=parent)
        if found is None:
            raise RecordError(
                entity,
                code,
                "code",
                f"item {code} not found in Lightspeed "
                f"(no variant SKU and no product {self.item_code_field})",
            )
        return found

    def find_items(self, skus: Sequence[str]) -> set[str]:
        """The SKUs that exist as a variant's ``sku`` (exact match)."""
        return set(skus) & set(self._variants())

    def match_items(self, skus: Sequence[str], eans: Sequence[str]) -> dict[str, str]:
        """``"sku:<sku>"``/``"ean:<ean>"`` -> the item's code.

        A SKU matches a variant's ``sku``, else a product's item code (a configurable
        parent, or a simple product whose variant lost its SKU); an EAN matches a variant's
        ``ean`` and answers that variant's SKU. The product read happens only when some
        SKU is not a variant's. When two variants share an EAN the first listed wins.
        """
        ids = self._variants()
        found: dict[str, str] = {}
        unmatched = []
        for sku in dict.fromkeys(s for s in skus if s):
            if sku in ids:
                found[f"sku:{sku}"] = sku
            else:
                unmatched.append(sku)
        if unmatched:
            codes = self._item_codes()
            found.update({f"sku:{sku}": sku for sku in unmatched if sku in codes})
        for ean in dict.fromkeys(e for e in eans if e):
            vid = self._eans.get(ean)
            if vid is not None:
                found[f"ean:{ean}"] = self._code_of(vid)
        return found

    # --- items -----------------------------------------------------------------------

    def _free_variant(self, pid: str) -> str | None:
        """The product's variant without a SKU (its default one, left by the create), read
        once per product and target; taken by the first variant written to it."""
        if pid not in self._free:
            rows = list(self.client.iter_variants(pid, fields=(*VARIANT_LOOKUP, "isDefault")))
            for row in rows:
                self._remember(row, product=pid)
            free = sorted(
                (r for r in rows if not str(r.get("sku") or "").strip()),
                key=lambda r: (not r.get("isDefault"), str(r.get("id"))),
            )
            self._free[pid] = str(free[0]["id"]) if free else None
        return self._free[pid]

    def _fill_variant(self, pid: str, code: str, body: dict[str, Any]) -> None:
        """Write ``body`` into the product's free variant, or create a variant with it."""
        free = self._free_variant(pid)
        try:
            if free is not None:
                row = self.client.update_variant(free, body)
                self._free[pid] = None
            else:
                row = self.client.create_variant({"product": int(pid), **body})
        except FatalError as err:
            raise _refused(err, f"variant {code}") from None
        self._remember(row, product=pid)

    def create_item(self, item: ItemWrite) -> None:
        """Create a product (with its variant), a configurable parent, or one variant.

        A configurable parent is only noted here: it becomes a product with its first new
        variant, or adopts the product its existing variants live in (``update_item``).

        ``FatalError`` (naming the code) when the shop refuses; a variant whose parent is
        not in the shop is a ``RecordError`` on ``parent``.
        """
        bodies = split_fields(item, create=True)
        if item.is_parent and item.parent is None:
            self._pending[item.code] = item
            return
        if item.parent is not None:
            if item.parent in self._pending:
                self._create_product(self._pending.pop(item.parent))
            found = self._find(item.parent, parent=True)
            if found is None:
                raise RecordError(
                    "product", item.code, "parent", f"parent {item.parent} not found in Lightspeed"
                )
            self._fill_variant(found[0], item.code, {"sku": item.code, **bodies.variant})
            return
        pid = self._create_product(item)
        if not item.is_parent:
            self._fill_variant(pid, item.code, {"sku": item.code, **bodies.variant})

    def _create_product(self, item: ItemWrite) -> str:
        """POST the product of ``item`` (keeping its code), link its categories."""
        product = {**split_fields(item, create=True).product, self.item_code_field: item.code}
        try:
            created = self.client.create_product(product)
        except FatalError as err:
            raise _refused(err, f"product {item.code}") from None
        pid = created_id(VENDOR, created, "id", f"product {item.code}")
        self._codes[item.code] = pid
        self._links[pid] = set()
        self._link(pid, item)
        return pid

    def _adopt(self, parent: str, pid: str) -> None:
        """A pending parent whose variants already live in product ``pid`` becomes that
        product: it takes the parent's fields and code instead of a new, empty product."""
        item = self._pending.pop(parent)
        body = {**split_fields(item, create=True).product, self.item_code_field: parent}
        try:
            self.client.update_product(pid, body)
        except FatalError as err:
            raise _refused(err, f"product {parent}") from None
        self._codes[parent] = pid
        self._link(pid, item)

    def update_item(self, code: str, item: ItemWrite) -> None:
        """PUT exactly ``item.fields`` (less ``stockLevel``) onto the product and/or the
        variant of ``code``, and link the product to ``item.categories`` it lacks.

        A variant cannot move to another product (the API has no such write): ``parent``
        only serves to find it. An item missing from the shop is a ``RecordError``.
        """
        bodies = split_fields(item, create=False)
        pid, vid = self._located(code, parent=item.is_parent)
        if item.parent is not None and item.parent in self._pending:
            self._adopt(item.parent, pid)
        if bodies.product:
            try:
                self.client.update_product(pid, bodies.product)
            except FatalError as err:
                raise _refused(err, f"the update of product {code}") from None
        if bodies.variant:
            if vid is None:  # a product whose create died before its variant got the SKU
                fill = {} if code.startswith(VARIANT_CODE) else {"sku": code}
                self._fill_variant(pid, code, {**fill, **bodies.variant})
            else:
                try:
                    row = self.client.update_variant(vid, bodies.variant)
                except FatalError as err:
                    raise _refused(err, f"the update of variant {code}") from None
                self._remember(row, product=pid)
        if item.parent is None:
            self._link(pid, item)

    # --- categories ------------------------------------------------------------------

    def _category_tree(self) -> _Tree:
        if self._tree is None:
            tree = _Tree()
            for row in self.client.iter_categories():
                if row.get("id") in (None, False, ""):
                    continue
                tree.add(_ref_id(row.get("parent")), str(row.get("title") or ""), str(row["id"]))
            self._tree = tree
        return self._tree

    def ensure_categories(self, paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
        """Every path and ancestor -> its category id; missing nodes are created parents
        first (``POST categories.json`` with ``parent``).

        A node is found under its parent by its exact title, else by its title with case
        and spacing folded: that is a rename ("T-shirts" -> "T-Shirts") and its title is
        PUT. One paged read of the tree per target; an unchanged tree costs that read.
        """
        nodes = with_ancestors(paths)
        if not nodes:
            return {}
        tree = self._category_tree()
        out: dict[tuple[str, ...], str] = {}
        for node in nodes:
            parent = out[node[:-1]] if len(node) > 1 else None
            title = node[-1]
            cid = tree.exact.get((parent, title))
            if cid is None:
                cid = tree.loose.get((parent, _norm(title)))
                if cid is not None:
                    self._rename_category(cid, title, node)
                else:
                    cid = self._create_category(parent, title, node)
                tree.exact[(parent, title)] = cid
                tree.loose[(parent, _norm(title))] = cid
            out[node] = cid
        return out

    def _create_category(self, parent: str | None, title: str, node: tuple[str, ...]) -> str:
        body: dict[str, Any] = {"title": title}
        if parent is not None:
            body["parent"] = int(parent)
        try:
            created = self.client.create_category(body)
        except FatalError as err:
            raise _refused(err, f"category {' > '.join(node)}") from None
        return created_id(VENDOR, created, "id", f"category {' > '.join(node)}")

    def _rename_category(self, cid: str, title: str, node: tuple[str, ...]) -> None:
        try:
            self.client.update_category(cid, {"title": title})
        except FatalError as err:
            raise _refused(err, f"the rename of category {' > '.join(node)}") from None

    def _link(self, pid: str, item: ItemWrite) -> None:
        """Put the product in each of ``item.categories`` it is not in yet. Links the shop
        has beyond those stay: a shop often files a product in more places than the ERP."""
        wanted = [c for c in dict.fromkeys(item.categories) if c]
        if not wanted:
            return
        have = self._links.get(pid)
        if have is None:
            have = {
                cid
                for link in self.client.iter_category_links(pid)
                if (cid := _ref_id(link.get("category"))) is not None
            }
            self._links[pid] = have
        for cid in wanted:
            if cid in have:
                continue
            try:
                self.client.link_category(pid, cid)
            except FatalError as err:
                raise _refused(err, f"the link of {item.code} to category {cid}") from None
            have.add(cid)

    # --- images ----------------------------------------------------------------------

    def put_image(self, code: str, image: ImageUpload) -> None:
        """Upload ``image`` to the product of item ``code`` at ``sortOrder = position + 1``
        and delete the image(s) that held that place before.

        The new image goes up first, so a failure never leaves the product without its
        picture; a retry after a lost answer deletes the extra copy it finds at that place.
        ASSUMPTION [U]: the upload body (see :meth:`.client.LightspeedEcomClient
        .create_product_image`); a filename without an extension gets one from the content
        type, since the shop derives the file type from the name.
        """
        if code in self._pending:  # pictures of a parent whose variants come later
            self._create_product(self._pending.pop(code))
        pid, _ = self._located(code, entity="image")
        sort = int(image.position) + 1
        old = [r for r in self.client.product_images(pid) if r.get("sortOrder") == sort]
        filename = image.filename or f"{code}-{sort}"
        if "." not in filename:
            filename += mimetypes.guess_extension(image.content_type) or ""
        try:
            created = self.client.create_product_image(
                pid, image.content, filename=filename, sort_order=sort
            )
        except FatalError as err:
            raise _refused(err, f"image {image.position} of {code}") from None
        for row in old:
            if str(row.get("id")) == str(created.get("id")):
                continue
            try:
                self.client.delete_product_image(pid, row["id"])
            except FatalError as err:
                if status_of(err) != 404:
                    raise _refused(
                        err, f"the removal of the old image {image.position} of {code}"
                    ) from None

    # --- stock -----------------------------------------------------------------------

    def set_stock(
        self, sku: str, quantity: Decimal, *, managed: bool, location: str | None = None
    ) -> None:
        """``PUT variants/{id}.json {"variant": {"stockLevel", "stockTracking"}}``, with
        only what differs from the shop (as read with the variants), so an unchanged
        level costs nothing.

        ``managed`` is ``stockTracking`` ``enabled``/``disabled``. The level is rounded
        down to a whole number. ``location`` is ignored: Lightspeed eCom keeps one stock
        level per variant. An unknown SKU (or a variant deleted since the read) is a
        ``RecordError``.
        """
        if location and not self._location_warned:
            log.warning(
                "Lightspeed eCom keeps one stock level per variant; stock location %r is ignored",
                location,
            )
            self._location_warned = True
        vid = self._variants().get(sku)
        if vid is None:
            raise RecordError("stock", sku, "sku", f"SKU {sku} is not a variant in Lightspeed")
        level = whole(quantity, sku, "quantity", entity="stock")
        row = self._rows.get(vid)
        body: dict[str, Any] = {}
        if row is None or row.level != level:
            body["stockLevel"] = level
        if row is None or row.tracking != TRACKING[managed]:
            body["stockTracking"] = TRACKING[managed]
        if not body:
            return
        try:
            updated = self.client.update_variant(vid, body)
        except FatalError as err:
            if status_of(err) == 404:
                raise RecordError(
                    "stock", sku, "sku", f"variant {vid} ({sku}) no longer exists in Lightspeed"
                ) from None
            raise _refused(err, f"the stock of {sku}") from None
        self._remember({**body, **updated, "id": vid})
