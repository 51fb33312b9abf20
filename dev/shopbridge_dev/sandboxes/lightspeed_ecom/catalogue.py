"""The catalogue half of the Lightspeed eCom sandbox: products, variants, images, categories.

Installed into :func:`.app.create_app` (vendor routes behind its auth and rate limits)
and seeded by :func:`.app.seed_state`; vendor shapes per VENDOR_APIS.md §1:

* ``products`` carry ``variants``, ``images``, ``categories`` and ``attributes`` as to-many
  references (``false`` when empty) and ``brand`` as a reference or ``false``; the generic
  ``/{lang}/{resource}[/{id}|/count].json`` routes serve them, ``variants``, ``categories``,
  ``brands``, ``taxes`` and ``attributes``.
* ``products/{id}/images.json`` -> ``{"productImages": [...]}``, whose ``src``/``thumb``
  are absolute URLs under ``/files/`` on the sandbox itself: a CDN, served without auth and
  without rate limits, answering small deterministic PNGs (404 once a file is gone).
* ``categories/products.json`` (``?category=``/``?product=`` filters, paged) ->
  ``{"categoriesProducts": [{"id", "sortOrder", "category", "product"}]}``.
* ``products/{id}/attributes.json`` -> ``{"productAttributes": [{"id", "attribute",
  "value"}]}``. ASSUMPTION [U]: the attribute reference embeds its ``title`` (the real shape
  of this sub-resource is not documented in our sources).
* ``PUT variants/{id}.json {"variant": {...}}``: stock, prices, codes; bumps ``updatedAt``.
  ASSUMPTION [U]: a variant write does not move its product's ``updatedAt``
  (``variant_write_touches_product=True`` switches that on).
* Variant titles encode the options: ``"Colour: black, Size: M"``; a simple product's one
  variant is ``"Default"``. ASSUMPTION [U]: the exact separator format.

Catalogue writes (Lightspeed as a product and stock target), each counted in the
``writes`` stat and refused in the ``error`` envelope (400 invalid, 404 unknown id):

* ``POST products.json {"product": {...}}`` (``title`` required) -> 201; the product gets
  one default variant (``title: "Default"``, no SKU). ASSUMPTION [U]: the vendor does this
  too; ``product_default_variant=False`` creates products without variants.
  ``PUT products/{id}.json``, ``DELETE products/{id}.json`` (its variants, links and images
  go with it). Writable: :data:`WRITABLE_PRODUCT_FIELDS`; ``isVisible`` and ``visibility``
  follow each other; ``brand`` is a brand id (0 clears it).
* ``POST variants.json {"variant": {"product": <id>, ...}}`` -> 201 (an unknown product is
  404), ``PUT``/``DELETE variants/{id}.json``. ASSUMPTION [U]: a SKU used by another
  variant is refused (400).
* ``POST categories.json {"category": {"title", "parent"?}}`` -> 201 (an unknown parent is
  404), ``PUT categories/{id}.json`` (a rename).
* ``POST categories/products.json {"categoriesProduct": {"category", "product"}}`` -> 201
  (a second link of the same pair is 400), ``DELETE categories/products/{id}.json``.
* ``POST products/{id}/images.json {"productImage": {"attachment": <base64>, "filename",
  "title"?, "sortOrder"?}}`` -> 201 ``{"productImage": {...}}``. ASSUMPTION [U]: the body
  shape. The bytes are stored, and ``GET products/{id}/images.json``, the CDN URL and
  ``/_sandbox/images`` serve them (the content type from the file's magic number, else its
  name). ``DELETE products/{id}/images/{image}.json``.

Controls under ``/_sandbox/`` (no vendor has them): ``POST products`` and ``POST variants``
upsert, ``DELETE images/{id}`` makes a file 404, ``GET images`` lists the served files with
their sha256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import re
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from fastapi import Body, FastAPI, Request, Response

from shopbridge_dev.sandboxes._common import CONTROL_PREFIX, JsonState, SandboxControls
from shopbridge_dev.sandboxes.lightspeed_ecom.wire import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiError,
    bumped,
    int_param,
    many,
    money,
    ref,
    render,
    select,
    ts,
)

#: the sandbox's own "CDN": image files, outside auth and rate limits
FILES_PREFIX = "/files"
#: tables the catalogue adds to the store besides the generic ``RESOURCES``
EXTRA_TABLES = ("categoriesProducts", "productImages", "productAttributes")
WRITABLE_VARIANT_FIELDS = frozenset(
    {
        "stockLevel",
        "stockTracking",
        "stockAlert",
        "stockMinimum",
        "priceExcl",
        "priceIncl",
        "priceCost",
        "oldPriceExcl",
        "oldPriceIncl",
        "sku",
        "ean",
        "articleCode",
        "title",
        "weight",
        "isDefault",
        "sortOrder",
    }
)
_INT_FIELDS = frozenset({"stockLevel", "stockAlert", "stockMinimum", "weight", "sortOrder"})
_MONEY_FIELDS = frozenset({"priceExcl", "priceIncl", "priceCost", "oldPriceExcl", "oldPriceIncl"})
_TEXT_FIELDS = frozenset({"sku", "ean", "articleCode", "title"})
WRITABLE_PRODUCT_FIELDS = frozenset(
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
_PRODUCT_TEXT = frozenset(
    {"title", "fulltitle", "content", "description", "url", "data01", "data02", "data03"}
)
VISIBILITY = ("visible", "hidden", "auto")
WRITABLE_CATEGORY_FIELDS = frozenset(
    {"title", "fulltitle", "description", "content", "isVisible", "sortOrder", "url", "parent"}
)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
STOCK_TRACKING = ("enabled", "disabled", "indicator")
THUMB_SIZE = "50x50x2"
DEFAULT_TAX = {"id": 1, "isDefault": True, "title": "21%", "rate": 0.21}


def options_title(attributes: Mapping[str, str]) -> str:
    """``{"Colour": "black", "Size": "M"}`` -> ``"Colour: black, Size: M"``; none -> Default."""
    return ", ".join(f"{k}: {v}" for k, v in attributes.items()) or "Default"


def png(image_id: int, filename: str, revision: int = 1) -> bytes:
    """A valid 8x8 PNG whose colour and text chunk derive from the image, so two images
    (or two revisions of one) never share bytes, and the same image always has the same."""
    key = f"{image_id}:{filename}:{revision}".encode()
    red, green, blue = hashlib.sha256(key).digest()[:3]
    raw = (b"\x00" + bytes((red, green, blue)) * 8) * 8

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + key)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


class Shop:
    """Catalogue writes over the store, shared by the seed and the controls.

    Keeps id counters and lookup indexes in memory (rebuilt from the store), so seeding the
    5,000-product benchmark stays linear.
    """

    def __init__(self, store: dict[str, Any]) -> None:
        self.store = store
        for table in ("categories", "brands", "taxes", "attributes", *EXTRA_TABLES):
            store.setdefault(table, {})
        if not store["taxes"]:
            store["taxes"]["1"] = dict(DEFAULT_TAX)
        self._categories = {
            (self._parent_id(c), c["title"]): int(c["id"]) for c in store["categories"].values()
        }
        self._brands = {b["title"]: int(b["id"]) for b in store["brands"].values()}
        self._attributes = {a["title"]: int(a["id"]) for a in store["attributes"].values()}
        images = [i for rows in store["productImages"].values() for i in rows]
        attrs = [a for rows in store["productAttributes"].values() for a in rows]
        self._next = {
            "products": self._max(store["products"], 5000),
            "variants": self._max(store["variants"], 9000),
            "categories": self._max(store["categories"], 0),
            "brands": self._max(store["brands"], 0),
            "attributes": self._max(store["attributes"], 0),
            "categoriesProducts": self._max(store["categoriesProducts"], 0),
            "productImages": max((int(i["id"]) for i in images), default=0),
            "productAttributes": max((int(a["id"]) for a in attrs), default=0),
        }
        #: image id -> its record (shared with productImages, so updates show through)
        self.files: dict[str, dict[str, Any]] = {str(i["id"]): i for i in images}
        self._links: dict[str, list[str]] = {}
        for lid, link in store["categoriesProducts"].items():
            self._links.setdefault(str(link["product"]["resource"]["id"]), []).append(lid)
        #: product id -> its variant ids
        self._variants: dict[str, set[str]] = {}
        for vid, variant in store["variants"].items():
            self._variants.setdefault(str(variant["product"]["resource"]["id"]), set()).add(vid)

    @staticmethod
    def _max(table: Mapping[str, Any], floor: int) -> int:
        return max((int(k) for k in table), default=floor)

    @staticmethod
    def _parent_id(category: Mapping[str, Any]) -> int | None:
        parent = category.get("parent")
        return int(parent["resource"]["id"]) if isinstance(parent, dict) else None

    def new_id(self, table: str) -> int:
        self._next[table] += 1
        return self._next[table]

    def claim(self, table: str, wanted: Any) -> int:
        """``wanted`` as an int (and past it for later new ids), or a fresh id."""
        if wanted in (None, False, ""):
            return self.new_id(table)
        value = int(wanted)
        self._next[table] = max(self._next[table], value)
        return value

    # --- relations ---------------------------------------------------------------------

    def ensure_category(self, path: Sequence[str], stamp: str) -> int:
        """The category at ``path`` (root first), creating missing nodes parents first."""
        parent: int | None = None
        for title in path:
            cid = self._categories.get((parent, title))
            if cid is None:
                cid = int(self.add_category(parent, title, stamp)["id"])
            parent = cid
        if parent is None:
            raise ApiError(400, "a category path needs at least one title")
        return parent

    def add_category(
        self, parent: int | None, title: str, stamp: str, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One new category node under ``parent`` (``None``: a root)."""
        cid = self.new_id("categories")
        above = self.store["categories"][str(parent)] if parent is not None else None
        depth = int(above["depth"]) + 1 if above else 1
        url = f"{above['url']}/{_slug(title)}" if above else _slug(title)
        record = {
            "id": cid,
            "createdAt": stamp,
            "updatedAt": stamp,
            "isVisible": True,
            "depth": depth,
            "sortOrder": cid,
            "url": url,
            "title": title,
            "fulltitle": title,
            "description": "",
            "content": "",
            "parent": ref("categories", parent) if parent is not None else False,
            "products": many(f"categories/products?category={cid}"),
            **(extra or {}),
        }
        self.store["categories"][str(cid)] = record
        self._categories.setdefault((parent, title), cid)
        return record

    def update_category(self, cid: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into a category, re-indexing it under a new title."""
        record: dict[str, Any] = self.store["categories"][str(cid)]
        parent = self._parent_id(record)
        if "title" in changes and self._categories.get((parent, record["title"])) == cid:
            del self._categories[(parent, record["title"])]
        record.update(changes, updatedAt=bumped(record.get("updatedAt")))
        self._categories.setdefault((parent, record["title"]), cid)
        return record

    def link(self, pid: int, cid: int, sort_order: Any = None) -> dict[str, Any]:
        """Put product ``pid`` in category ``cid``; a second link of the pair is a 400."""
        links = self.store["categoriesProducts"]
        mine = self._links.setdefault(str(pid), [])
        if any(links[lid]["category"]["resource"]["id"] == cid for lid in mine if lid in links):
            raise ApiError(400, f"product {pid} is already in category {cid}")
        lid = self.new_id("categoriesProducts")
        links[str(lid)] = {
            "id": lid,
            "sortOrder": int(sort_order or len(mine) + 1),
            "category": ref("categories", cid),
            "product": ref("products", pid),
        }
        mine.append(str(lid))
        self.store["products"][str(pid)]["categories"] = many(f"categories/products?product={pid}")
        return dict(links[str(lid)])

    def unlink(self, lid: str) -> None:
        link = self.store["categoriesProducts"].pop(lid)
        pid = str(link["product"]["resource"]["id"])
        mine = [x for x in self._links.get(pid, []) if x != lid]
        self._links[pid] = mine
        product = self.store["products"].get(pid)
        if product is not None and not mine:
            product["categories"] = False

    def add_image(
        self,
        pid: int,
        content: bytes,
        *,
        filename: str,
        content_type: str,
        title: str,
        sort_order: int | None,
        stamp: str,
    ) -> dict[str, Any]:
        """Store an uploaded file as the product's image (after the others unless
        ``sort_order`` is given)."""
        rows = self.store["productImages"].setdefault(str(pid), [])
        iid = self.new_id("productImages")
        row = {
            "id": iid,
            "sortOrder": sort_order if sort_order is not None else len(rows) + 1,
            "createdAt": stamp,
            "updatedAt": stamp,
            "title": title,
            "filename": filename,
            "revision": 1,
            "present": True,
            "contentType": content_type,
            "data": base64.b64encode(content).decode("ascii"),
        }
        rows.append(row)
        self.files[str(iid)] = row
        self.store["products"][str(pid)]["images"] = many(f"products/{pid}/images")
        return row

    def remove_image(self, pid: int, image_id: str) -> None:
        rows = [
            r for r in self.store["productImages"].get(str(pid), []) if str(r["id"]) != image_id
        ]
        self.store["productImages"][str(pid)] = rows
        self.files.pop(image_id, None)
        if not rows:
            self.store["products"][str(pid)]["images"] = False

    def remove_variant(self, vid: str) -> None:
        variant = self.store["variants"].pop(vid)
        pid = str(variant["product"]["resource"]["id"])
        self._variants.get(pid, set()).discard(vid)
        product = self.store["products"].get(pid)
        if product is not None and not self._variants.get(pid):
            product["variants"] = False

    def remove_product(self, pid: str) -> None:
        """A product and everything hanging off it: variants, links, images, features."""
        for vid in list(self._variants.pop(pid, set())):
            self.store["variants"].pop(vid, None)
        for lid in self._links.pop(pid, []):
            self.store["categoriesProducts"].pop(lid, None)
        for row in self.store["productImages"].pop(pid, []):
            self.files.pop(str(row["id"]), None)
        self.store["productAttributes"].pop(pid, None)
        del self.store["products"][pid]

    def ensure_brand(self, title: str, stamp: str) -> int:
        bid = self._brands.get(title)
        if bid is None:
            bid = self.new_id("brands")
            self.store["brands"][str(bid)] = {
                "id": bid,
                "createdAt": stamp,
                "updatedAt": stamp,
                "isVisible": True,
                "title": title,
                "url": _slug(title),
                "content": "",
                "image": False,
            }
            self._brands[title] = bid
        return bid

    def ensure_attribute(self, title: str) -> int:
        aid = self._attributes.get(title)
        if aid is None:
            aid = self.new_id("attributes")
            self.store["attributes"][str(aid)] = {"id": aid, "title": title}
            self._attributes[title] = aid
        return aid

    def set_categories(self, pid: int, paths: Sequence[Sequence[str]], stamp: str) -> None:
        links = self.store["categoriesProducts"]
        for gone in self._links.pop(str(pid), []):
            links.pop(gone, None)
        for n, path in enumerate(paths):
            cid = self.ensure_category(path, stamp)
            lid = self.new_id("categoriesProducts")
            links[str(lid)] = {
                "id": lid,
                "sortOrder": n + 1,
                "category": ref("categories", cid),
                "product": ref("products", pid),
            }
            self._links.setdefault(str(pid), []).append(str(lid))
        self.store["products"][str(pid)]["categories"] = (
            many(f"categories/products?product={pid}") if paths else False
        )

    def set_images(self, pid: int, images: Sequence[Mapping[str, Any]], stamp: str) -> None:
        """Replace the product's images; ``present: false`` keeps the record but no file."""
        old = {str(i["id"]): i for i in self.store["productImages"].get(str(pid), [])}
        rows = []
        for n, given in enumerate(images):
            iid = self.claim("productImages", given.get("id"))
            before = old.pop(str(iid), None) or self.files.get(str(iid))
            filename = str(given.get("filename") or f"image-{iid}.png")
            revision = 1 if before is None else int(before["revision"]) + 1
            row = {
                "id": iid,
                "sortOrder": int(given.get("sortOrder", n + 1)),
                "createdAt": before["createdAt"] if before else stamp,
                "updatedAt": stamp,
                "title": str(given.get("title", "")),
                "filename": filename,
                "revision": revision,
                "present": bool(given.get("present", True)),
            }
            if given.get("src"):
                row["src"] = str(given["src"])
            rows.append(row)
            self.files[str(iid)] = row
        for gone in old:
            self.files.pop(gone, None)
        self.store["productImages"][str(pid)] = rows
        self.store["products"][str(pid)]["images"] = (
            many(f"products/{pid}/images") if rows else False
        )

    def set_features(self, pid: int, features: Mapping[str, Any]) -> None:
        rows = []
        for title, value in features.items():
            aid = self.ensure_attribute(str(title))
            rows.append(
                {
                    "id": self.new_id("productAttributes"),
                    "attribute": {
                        "resource": {
                            "id": aid,
                            "url": f"attributes/{aid}",
                            "embedded": {"id": aid, "title": title},
                        }
                    },
                    "value": str(value),
                }
            )
        self.store["productAttributes"][str(pid)] = rows
        self.store["products"][str(pid)]["attributes"] = (
            many(f"products/{pid}/attributes") if rows else False
        )

    # --- records -----------------------------------------------------------------------

    def put_variant(self, pid: int, given: Mapping[str, Any], n: int, stamp: str) -> dict[str, Any]:
        """Create or merge one variant of ``pid``; ``attributes`` becomes its title."""
        fields = dict(given)
        attributes = fields.pop("attributes", None)
        if isinstance(attributes, Mapping):
            fields["title"] = options_title(attributes)
        vid = self.claim("variants", fields.pop("id", None))
        old = self.store["variants"].get(str(vid))
        base = old or {
            "id": vid,
            "createdAt": stamp,
            "updatedAt": stamp,
            "isDefault": n == 0,
            "sortOrder": n + 1,
            "title": "Default",
            "articleCode": f"ART-{vid}",
            "ean": "",
            "sku": "",
            "priceExcl": 0.0,
            "priceIncl": 0.0,
            "priceCost": 0.0,
            "stockTracking": "enabled",
            "stockLevel": 0,
            "stockAlert": 0,
            "stockMinimum": 0,
            "weight": 0,
            "product": ref("products", pid),
            "tax": ref("taxes", 1),
            "movements": many(f"variants/movements?variant={vid}"),
        }
        record = {**base, **fields, "id": vid, "product": ref("products", pid)}
        if "updatedAt" not in fields and old is not None:
            record["updatedAt"] = bumped(old.get("updatedAt"))
        self.store["variants"][str(vid)] = record
        self._variants.setdefault(str(pid), set()).add(str(vid))
        return record

    def variants_of(self, pid: int) -> list[dict[str, Any]]:
        table = self.store["variants"]
        return sorted(
            (table[v] for v in self._variants.get(str(pid), ()) if v in table),
            key=lambda v: (v.get("sortOrder", 0), v["id"]),
        )

    def set_variants(
        self, pid: int, variants: Sequence[Mapping[str, Any]], stamp: str
    ) -> list[dict[str, Any]]:
        """Make ``variants`` the product's variants: listed ones upserted, others removed."""
        kept = [
            self.put_variant(pid, {"sortOrder": n + 1, "isDefault": n == 0, **v}, n, stamp)
            for n, v in enumerate(variants)
        ]
        ids = {str(v["id"]) for v in kept}
        for vid in self._variants.get(str(pid), set()) - ids:
            self.store["variants"].pop(vid, None)
        self._variants[str(pid)] = ids
        self.store["products"][str(pid)]["variants"] = many(f"variants?product={pid}")
        return kept

    def add_item(self, item: Mapping[str, Any]) -> None:
        """One :mod:`~shopbridge_dev.sandboxes.demo_data` catalogue entry, in vendor shapes."""
        created, stamp = ts(item["created_at"]), ts(item["updated_at"])
        pid: int = item["product_id"]
        title: str = item["title"]
        brand = item["brand"]
        self.store["products"][str(pid)] = {
            "id": pid,
            "createdAt": created,
            "updatedAt": stamp,
            "isVisible": item["visible"],
            "visibility": "visible" if item["visible"] else "hidden",
            "url": _slug(title),
            "title": title,
            "fulltitle": f"{brand} {title}" if brand else title,
            "description": item["short_description"],
            "content": item["description"],
            "brand": ref("brands", self.ensure_brand(brand, created)) if brand else False,
            "supplier": False,
            "variants": False,
            "images": False,
            "categories": False,
            "attributes": False,
        }
        variants = []
        for n, v in enumerate(item["variants"]):
            price: Decimal = v["price_excl"]
            variants.append(
                {
                    "id": v["variant_id"],
                    "createdAt": created,
                    "updatedAt": stamp,
                    "attributes": v["attributes"],
                    "ean": v["ean"],
                    "sku": v["sku"],
                    "priceExcl": money(price),
                    "priceIncl": money(price * Decimal("1.21")),
                    "priceCost": money(price / 2),
                    "stockTracking": "enabled" if v["tracked"] else "disabled",
                    "stockLevel": v["stock"],
                    "stockAlert": 5,
                    "weight": 250,
                    "sortOrder": n + 1,
                }
            )
        self.set_variants(pid, variants, stamp)
        self.set_images(
            pid,
            [
                {"id": i["image_id"], "filename": i["filename"], "title": i["title"]}
                for i in item["images"]
            ],
            created,
        )
        self.set_categories(pid, item["categories"], created)
        self.set_features(pid, item["features"])


def seed_catalogue(state: dict[str, Any], items: Sequence[Mapping[str, Any]]) -> None:
    """Fill ``state``'s catalogue tables from demo catalogue entries."""
    shop = Shop(state)
    for item in items:
        shop.add_item(item)


def image_content(row: Mapping[str, Any]) -> tuple[bytes, str]:
    """An image's bytes and content type: what was uploaded, else the generated PNG."""
    if "data" in row:
        return base64.b64decode(row["data"]), str(row.get("contentType") or "image/png")
    return png(int(row["id"]), row["filename"], row["revision"]), "image/png"


def _sniff(content: bytes, filename: str) -> str:
    """The content type of uploaded bytes: the magic number, else the file name."""
    for magic, kind in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
    ):
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _image_out(row: Mapping[str, Any], root: str) -> dict[str, Any]:
    """An image as the vendor sends it: absolute ``src``/``thumb`` on the CDN."""
    iid, filename = row["id"], row["filename"]
    return {
        "id": iid,
        "sortOrder": row["sortOrder"],
        "createdAt": row["createdAt"],
        "updatedAt": row["updatedAt"],
        "extension": filename.rpartition(".")[2],
        "size": len(image_content(row)[0]),
        "title": row["title"],
        "thumb": f"{root}{FILES_PREFIX}/{iid}/{THUMB_SIZE}/{filename}",
        "src": row.get("src") or f"{root}{FILES_PREFIX}/{iid}/{filename}",
    }


def unique_sku(store: Mapping[str, Any], sku: Any, *, but: str | None = None) -> None:
    """ASSUMPTION [U]: the shop refuses a SKU another variant already has (400)."""
    if not isinstance(sku, str) or not sku.strip():
        return
    for vid, other in store["variants"].items():
        if vid != but and other.get("sku") == sku:
            raise ApiError(400, f"sku {sku!r} is already used by variant {vid}")


def _check_product_fields(changes: Mapping[str, Any]) -> None:
    if bad := sorted(set(changes) - WRITABLE_PRODUCT_FIELDS):
        raise ApiError(400, f"read-only or unknown product field(s): {', '.join(bad)}")
    for name, value in changes.items():
        if name in _PRODUCT_TEXT and not isinstance(value, str):
            raise ApiError(400, f"{name}: expected text, got {value!r}")
        if name in ("brand", "supplier", "type") and (
            isinstance(value, bool) or not isinstance(value, int)
        ):
            raise ApiError(400, f"{name}: expected an id, got {value!r}")
    if "isVisible" in changes and not isinstance(changes["isVisible"], bool):
        raise ApiError(400, f"isVisible: expected true or false, got {changes['isVisible']!r}")
    if changes.get("visibility", "visible") not in VISIBILITY:
        raise ApiError(400, f"visibility: one of {', '.join(VISIBILITY)}")
    if "title" in changes and not changes["title"].strip():
        raise ApiError(400, "title: must not be empty")


def _check_variant_fields(changes: Mapping[str, Any]) -> None:
    if bad := sorted(set(changes) - WRITABLE_VARIANT_FIELDS):
        raise ApiError(400, f"read-only or unknown variant field(s): {', '.join(bad)}")
    for name, value in changes.items():
        if name in _INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApiError(400, f"{name}: expected an integer, got {value!r}")
        if name in _MONEY_FIELDS and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise ApiError(400, f"{name}: expected a number, got {value!r}")
        if name in _TEXT_FIELDS and not isinstance(value, str):
            raise ApiError(400, f"{name}: expected text, got {value!r}")
    if changes.get("stockTracking", "enabled") not in STOCK_TRACKING:
        raise ApiError(400, f"stockTracking: one of {', '.join(STOCK_TRACKING)}")


def install_catalogue(
    app: FastAPI,
    *,
    store: dict[str, Any],
    state: JsonState,
    controls: SandboxControls,
    base: Callable[[Request, str], str],
    variant_write_touches_product: bool = False,
    product_default_variant: bool = True,
) -> None:
    """Register the catalogue routes; call before the generic ``/{lang}/{resource}`` ones."""
    shop = Shop(store)

    def _root(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _page(rows: list[dict[str, Any]], q: Mapping[str, str]) -> list[dict[str, Any]]:
        page = int_param(q.get("page"), "page", 1)
        limit = min(MAX_LIMIT, int_param(q.get("limit"), "limit", DEFAULT_LIMIT))
        if page < 1 or limit < 1:
            raise ApiError(400, "page and limit must be positive")
        return rows[(page - 1) * limit : page * limit]

    def _product(item: str) -> dict[str, Any]:
        product: dict[str, Any] | None = store["products"].get(item)
        if product is None:
            raise ApiError(404, f"product {item} not found")
        return product

    def _links(q: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = list(store["categoriesProducts"].values())
        for relation in ("category", "product"):
            if relation in q:
                wanted = int_param(q[relation], relation, 0)
                rows = [r for r in rows if r[relation]["resource"]["id"] == wanted]
        return select(rows, "categoriesProducts", dict(q))

    @app.get("/{lang}/categories/products/count.json")
    def count_category_links(request: Request) -> dict[str, int]:
        with state.lock:
            return {"count": len(_links(request.query_params))}

    @app.get("/{lang}/categories/products.json")
    def category_links(lang: str, request: Request) -> dict[str, Any]:
        with state.lock:
            rows = _page(_links(request.query_params), request.query_params)
            return {"categoriesProducts": render(rows, base(request, lang))}

    @app.get("/{lang}/products/{item}/images.json")
    def product_images(item: str, request: Request) -> dict[str, Any]:
        with state.lock:
            _product(item)
            rows = sorted(
                store["productImages"].get(item, []), key=lambda r: (r["sortOrder"], r["id"])
            )
            root = _root(request)
            return {
                "productImages": [_image_out(r, root) for r in _page(rows, request.query_params)]
            }

    @app.get("/{lang}/products/{item}/attributes.json")
    def product_attributes(lang: str, item: str, request: Request) -> dict[str, Any]:
        with state.lock:
            _product(item)
            rows = _page(list(store["productAttributes"].get(item, [])), request.query_params)
            return {"productAttributes": render(rows, base(request, lang))}

    @app.put("/{lang}/variants/{item}.json")
    def update_variant(
        lang: str,
        item: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = body.get("variant")
        if not isinstance(changes, dict):
            raise ApiError(400, 'body must be {"variant": {...}}')
        _check_variant_fields(changes)
        with state.lock:
            variant = store["variants"].get(item)
            if variant is None:
                raise ApiError(404, f"variant {item} not found")
            unique_sku(store, changes.get("sku"), but=item)
            variant.update(changes)
            variant["updatedAt"] = bumped(variant.get("updatedAt"))
            if variant_write_touches_product:
                product = store["products"].get(str(variant["product"]["resource"]["id"]))
                if product is not None:
                    product["updatedAt"] = bumped(product.get("updatedAt"))
            state.save()
        controls.count("writes")
        return {"variant": render(variant, base(request, lang))}

    def _file(image_id: str, filename: str) -> Response:
        with state.lock:
            row = shop.files.get(image_id)
            if row is None or not row["present"] or row["filename"] != filename:
                return Response(b"Not Found", status_code=404, media_type="text/plain")
            content, media_type = image_content(row)
        return Response(
            content, media_type=media_type, headers={"Cache-Control": "public, max-age=31536000"}
        )

    @app.get(f"{FILES_PREFIX}/{{image_id}}/{{filename}}")
    def image_file(image_id: str, filename: str) -> Response:
        """The CDN. ASSUMPTION: every file is served as PNG whatever its extension."""
        return _file(image_id, filename)

    @app.get(f"{FILES_PREFIX}/{{image_id}}/{{size}}/{{filename}}")
    def image_thumb(image_id: str, size: str, filename: str) -> Response:
        """Thumbnails (``50x50x2``) answer the same bytes: the sandbox does not resize."""
        return _file(image_id, filename)

    install_catalogue_writes(
        app,
        shop=shop,
        state=state,
        controls=controls,
        base=base,
        product_default_variant=product_default_variant,
    )

    # --- controls ----------------------------------------------------------------------

    @app.post(f"{CONTROL_PREFIX}/products")
    def upsert_product(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Insert or merge a product (bare or ``{"product": ...}``), bumping ``updatedAt``.

        Besides vendor fields it takes, each replacing what the product had:
        ``variants`` (a list of variant fields; ``attributes: {"Colour": ..}`` sets the
        title; listed ids are merged, unlisted variants deleted), ``images``
        (``[{"id"?, "filename", "title"?, "sortOrder"?, "present"?: false, "src"?}]``),
        ``categories`` (paths: ``[["Clothing", "Shirts"]]``, created when missing),
        ``attributes`` (features: ``{"Country of origin": "PT"}``) and ``brand``
        (a title or ``false``). An explicit ``updatedAt`` wins over the bump.
        """
        given = dict(body.get("product", body))
        relations = {
            k: given.pop(k)
            for k in ("variants", "images", "categories", "attributes", "brand")
            if k in given
        }
        with state.lock:
            pid = shop.claim("products", given.pop("id", None))
            old = store["products"].get(str(pid))
            stamp = bumped(old.get("updatedAt") if old else None)
            title = str(given.get("title") or (old or {}).get("title") or f"Product {pid}")
            base_record = old or {
                "id": pid,
                "createdAt": stamp,
                "isVisible": True,
                "visibility": "visible",
                "url": _slug(title),
                "title": title,
                "fulltitle": title,
                "description": "",
                "content": "",
                "brand": False,
                "supplier": False,
                "variants": False,
                "images": False,
                "categories": False,
                "attributes": False,
            }
            product = {**base_record, "updatedAt": stamp, **given, "id": pid}
            store["products"][str(pid)] = product
            if "brand" in relations:
                brand = relations["brand"]
                product["brand"] = (
                    ref("brands", shop.ensure_brand(str(brand), stamp)) if brand else False
                )
            variants = (
                shop.set_variants(pid, relations["variants"], stamp)
                if "variants" in relations
                else None
            )
            if "images" in relations:
                shop.set_images(pid, relations["images"], stamp)
            if "categories" in relations:
                shop.set_categories(pid, relations["categories"], stamp)
            if "attributes" in relations:
                shop.set_features(pid, relations["attributes"])
            state.save()
            images = store["productImages"].get(str(pid), [])
            return {
                "product": product,
                "images": images,
                "variants": variants if variants is not None else shop.variants_of(pid),
            }

    @app.post(f"{CONTROL_PREFIX}/variants")
    def upsert_variant(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Patch a variant by ``id``, or create one for ``product`` (an id); bumps
        ``updatedAt`` unless given. Any field goes (no vendor validation): tests use it
        to plant bad data such as a negative ``stockLevel`` or an empty ``sku``."""
        given = dict(body.get("variant", body))
        with state.lock:
            old = store["variants"].get(str(given.get("id")))
            if old is not None:
                pid = int(old["product"]["resource"]["id"])
            else:
                ref = given.pop("product", None)
                pid = int(ref["resource"]["id"] if isinstance(ref, dict) else ref or 0)
                if str(pid) not in store["products"]:
                    raise ApiError(400, "a new variant needs an existing 'product' id")
            given.pop("product", None)
            n = len(shop.variants_of(pid))
            stamp = bumped(old.get("updatedAt") if old else None)
            variant = shop.put_variant(pid, given, n, stamp)
            store["products"][str(pid)]["variants"] = many(f"variants?product={pid}")
            state.save()
            return {"variant": variant}

    @app.delete(f"{CONTROL_PREFIX}/images/{{image_id}}")
    def delete_image_file(image_id: str) -> dict[str, Any]:
        """Lose an image's file at the CDN: the product still lists it, its URL 404s."""
        with state.lock:
            row = shop.files.get(image_id)
            if row is None:
                raise ApiError(404, f"image {image_id} not found")
            row["present"] = False
            state.save()
            return {"image": row}

    @app.get(f"{CONTROL_PREFIX}/images")
    def list_image_files() -> dict[str, Any]:
        """Every file the CDN serves: ``{"images": [{"id", "product", "path",
        "contentType", "size", "sha256"}]}``."""
        with state.lock:
            out = []
            for pid, rows in store["productImages"].items():
                for row in rows:
                    if not row["present"]:
                        continue
                    content, media_type = image_content(row)
                    out.append(
                        {
                            "id": row["id"],
                            "product": int(pid),
                            "path": f"{FILES_PREFIX}/{row['id']}/{row['filename']}",
                            "contentType": media_type,
                            "size": len(content),
                            "sha256": hashlib.sha256(content).hexdigest(),
                        }
                    )
            return {"images": sorted(out, key=lambda r: r["id"])}


def _envelope(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    fields = body.get(key)
    if not isinstance(fields, dict):
        raise ApiError(400, f'body must be {{"{key}": {{...}}}}')
    return dict(fields)


def _int_id(value: Any, name: str) -> int:
    """An id given as a number (or a reference object, as reads return it)."""
    if isinstance(value, dict):
        value = value.get("resource", {}).get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ApiError(400, f"{name}: expected an id, got {value!r}")
    return int(value)


def install_catalogue_writes(
    app: FastAPI,
    *,
    shop: Shop,
    state: JsonState,
    controls: SandboxControls,
    base: Callable[[Request, str], str],
    product_default_variant: bool = True,
) -> None:
    """The vendor's catalogue writes (see the module docstring): products, variants,
    categories, category links and product images."""
    store = shop.store

    def _product(item: str | int, status: int = 404) -> dict[str, Any]:
        product: dict[str, Any] | None = store["products"].get(str(item))
        if product is None:
            raise ApiError(status, f"product {item} not found")
        return product

    def _done(request: Request, lang: str, key: str, record: Any) -> dict[str, Any]:
        state.save()
        controls.count("writes")
        return {key: render(record, base(request, lang))}

    def _apply_product(product: dict[str, Any], changes: dict[str, Any], stamp: str) -> None:
        if "brand" in changes:
            brand = changes.pop("brand")
            if brand and str(brand) not in store["brands"]:
                raise ApiError(404, f"brand {brand} not found")
            product["brand"] = ref("brands", brand) if brand else False
        for relation, resource in (("supplier", "suppliers"), ("type", "types")):
            if relation in changes:
                rid = changes.pop(relation)
                product[relation] = ref(resource, rid) if rid else False
        if "isVisible" in changes and "visibility" not in changes:
            changes["visibility"] = "visible" if changes["isVisible"] else "hidden"
        elif "visibility" in changes and "isVisible" not in changes:
            changes["isVisible"] = changes["visibility"] != "hidden"
        product.update(changes)
        product["updatedAt"] = stamp

    # --- products ----------------------------------------------------------------------

    @app.post("/{lang}/products.json", status_code=201)
    def create_product(
        lang: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "product")
        _check_product_fields(changes)
        if not str(changes.get("title") or "").strip():
            raise ApiError(400, "title is required")
        with state.lock:
            pid = shop.new_id("products")
            stamp = bumped(None)
            product: dict[str, Any] = {
                "id": pid,
                "createdAt": stamp,
                "updatedAt": stamp,
                "isVisible": True,
                "visibility": "visible",
                "url": _slug(changes["title"]),
                "title": changes["title"],
                "fulltitle": changes["title"],
                "description": "",
                "content": "",
                "data01": "",
                "data02": "",
                "data03": "",
                "brand": False,
                "supplier": False,
                "variants": False,
                "images": False,
                "categories": False,
                "attributes": False,
            }
            store["products"][str(pid)] = product
            _apply_product(product, changes, stamp)
            if product_default_variant:
                shop.put_variant(pid, {"isDefault": True, "sortOrder": 1}, 0, stamp)
                product["variants"] = many(f"variants?product={pid}")
            return _done(request, lang, "product", product)

    @app.put("/{lang}/products/{item}.json")
    def update_product(
        lang: str,
        item: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "product")
        _check_product_fields(changes)
        with state.lock:
            product = _product(item)
            _apply_product(product, changes, bumped(product.get("updatedAt")))
            return _done(request, lang, "product", product)

    @app.delete("/{lang}/products/{item}.json", status_code=204)
    def delete_product(item: str) -> Response:
        with state.lock:
            _product(item)
            shop.remove_product(item)
            state.save()
        controls.count("writes")
        return Response(status_code=204)

    # --- variants ----------------------------------------------------------------------

    @app.post("/{lang}/variants.json", status_code=201)
    def create_variant(
        lang: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "variant")
        pid = _int_id(changes.pop("product", None), "product")
        _check_variant_fields(changes)
        with state.lock:
            product = _product(pid)
            unique_sku(store, changes.get("sku"))
            siblings = shop.variants_of(pid)
            stamp = bumped(None)
            defaults = {"isDefault": not siblings, "sortOrder": len(siblings) + 1}
            variant = shop.put_variant(pid, {**defaults, **changes}, len(siblings), stamp)
            product["variants"] = many(f"variants?product={pid}")
            return _done(request, lang, "variant", variant)

    @app.delete("/{lang}/variants/{item}.json", status_code=204)
    def delete_variant(item: str) -> Response:
        with state.lock:
            if item not in store["variants"]:
                raise ApiError(404, f"variant {item} not found")
            shop.remove_variant(item)
            state.save()
        controls.count("writes")
        return Response(status_code=204)

    # --- categories --------------------------------------------------------------------

    @app.post("/{lang}/categories.json", status_code=201)
    def create_category(
        lang: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "category")
        _check_category_fields(changes)
        title = str(changes.pop("title", "") or "").strip()
        if not title:
            raise ApiError(400, "title is required")
        parent = changes.pop("parent", None)
        with state.lock:
            parent_id = _int_id(parent, "parent") if parent not in (None, False, 0) else None
            if parent_id is not None and str(parent_id) not in store["categories"]:
                raise ApiError(404, f"category {parent_id} not found")
            category = shop.add_category(parent_id, title, bumped(None), changes)
            return _done(request, lang, "category", category)

    @app.put("/{lang}/categories/{item}.json")
    def update_category(
        lang: str,
        item: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "category")
        _check_category_fields(changes)
        if "parent" in changes:
            raise ApiError(400, "parent: a category cannot be moved in this sandbox")
        with state.lock:
            if item not in store["categories"]:
                raise ApiError(404, f"category {item} not found")
            category = shop.update_category(int(item), changes)
            return _done(request, lang, "category", category)

    @app.post("/{lang}/categories/products.json", status_code=201)
    def link_category(
        lang: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "categoriesProduct")
        if bad := sorted(set(changes) - {"category", "product", "sortOrder"}):
            raise ApiError(400, f"unknown categoriesProduct field(s): {', '.join(bad)}")
        cid = _int_id(changes.get("category"), "category")
        pid = _int_id(changes.get("product"), "product")
        with state.lock:
            if str(cid) not in store["categories"]:
                raise ApiError(404, f"category {cid} not found")
            _product(pid)
            link = shop.link(pid, cid, changes.get("sortOrder"))
            return _done(request, lang, "categoriesProduct", link)

    @app.delete("/{lang}/categories/products/{item}.json", status_code=204)
    def unlink_category(item: str) -> Response:
        with state.lock:
            if item not in store["categoriesProducts"]:
                raise ApiError(404, f"categoriesProduct {item} not found")
            shop.unlink(item)
            state.save()
        controls.count("writes")
        return Response(status_code=204)

    # --- images ------------------------------------------------------------------------

    @app.post("/{lang}/products/{item}/images.json", status_code=201)
    def create_image(
        item: str,
        request: Request,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        changes = _envelope(body, "productImage")
        if bad := sorted(set(changes) - {"attachment", "filename", "title", "sortOrder"}):
            raise ApiError(400, f"unknown productImage field(s): {', '.join(bad)}")
        try:
            content = base64.b64decode(str(changes.get("attachment") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "attachment: expected base64-encoded file content") from None
        if not content:
            raise ApiError(400, "attachment is required")
        filename = _UNSAFE_NAME.sub("-", str(changes.get("filename") or "")).strip("-.")
        if not filename:
            raise ApiError(400, "filename is required")
        sort = changes.get("sortOrder")
        if sort is not None and (isinstance(sort, bool) or not isinstance(sort, int)):
            raise ApiError(400, f"sortOrder: expected an integer, got {sort!r}")
        with state.lock:
            _product(item)
            row = shop.add_image(
                int(item),
                content,
                filename=filename,
                content_type=_sniff(content, filename),
                title=str(changes.get("title") or ""),
                sort_order=sort,
                stamp=bumped(None),
            )
            state.save()
            controls.count("writes")
            return {"productImage": _image_out(row, str(request.base_url).rstrip("/"))}

    @app.delete("/{lang}/products/{item}/images/{image}.json", status_code=204)
    def delete_image(item: str, image: str) -> Response:
        with state.lock:
            _product(item)
            if not any(str(r["id"]) == image for r in store["productImages"].get(item, [])):
                raise ApiError(404, f"image {image} of product {item} not found")
            shop.remove_image(int(item), image)
            state.save()
        controls.count("writes")
        return Response(status_code=204)


def _check_category_fields(changes: Mapping[str, Any]) -> None:
    if bad := sorted(set(changes) - WRITABLE_CATEGORY_FIELDS):
        raise ApiError(400, f"read-only or unknown category field(s): {', '.join(bad)}")
    for name in ("title", "fulltitle", "description", "content", "url"):
        if name in changes and not isinstance(changes[name], str):
            raise ApiError(400, f"{name}: expected text, got {changes[name]!r}")
    if "title" in changes and not changes["title"].strip():
        raise ApiError(400, "title: must not be empty")
