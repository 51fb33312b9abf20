"""The products flow: products created or changed in the source, kept in the target.

As the product pages describe it: an item is matched by SKU (or by EAN/GTIN when the SKU
finds nothing, as a setting); a simple product is one item, a configurable product a
parent item plus one item per variant, its attributes (size, colour) mapped to target
fields; features are extra information fields; categories are created or renamed; images
are downloaded from the source and uploaded to the target unless their bytes are
unchanged. Fields marked create-only (the "update" checkbox switched off) are sent when
an item is created and never again, so data enriched in the target survives.

What makes a second run cost nothing: the ledger keeps a hash of everything a product
would write (the mapped fields, not the source record, so a change in a field we don't
send is no change); an unchanged product costs no call at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

from shopbridge.config import ProductSettings, RecordRules
from shopbridge.connectors.base import (
    Endpoint,
    ImageUpload,
    ItemWrite,
    ProductSource,
    ProductTarget,
)
from shopbridge.errors import FatalError, RecordError
from shopbridge.flows.counts import RunCounts, batched, refusal
from shopbridge.flows.protocol import Extracted, Flow, Handoff, Records, StepContext, register
from shopbridge.flows.records import complete_product
from shopbridge.mapping.engine import Mapper
from shopbridge.models import Product, QuarantineEntry
from shopbridge.store.ledger import Ledger, Status, unchanged

log = logging.getLogger(__name__)

PRODUCT = "product"
IMAGE = "image"


class Counts(RunCounts):
    ENTITY = PRODUCT
    PREFIX = "products"
    OWN = ("read", "created", "updated", "unchanged", "skipped_filtered", "quarantined")
    #: a product is one item or more (a parent and its variants), with its images
    SHARED = ("items_created", "items_updated", "images_uploaded", "images_unchanged")


SUMMARY_KEYS = Counts.summary_keys()


# --- extract ---------------------------------------------------------------------------


def extract(
    source: ProductSource, start: datetime, end: datetime, batch_size: int
) -> list[list[dict[str, Any]]]:
    """Raw products changed in the window, de-duplicated by id, in bounded batches."""
    return batched(source.iter_product_records(start, end), source.product_id, batch_size)


# --- validate and map ------------------------------------------------------------------


def _selected(product: Product, settings: ProductSettings) -> bool:
    """The custom filters: visibility, brand, category (a path or any path under it)."""
    if settings.only_visible and not product.visible:
        return False
    if settings.brands and product.brand not in settings.brands:
        return False
    if settings.categories_filter:
        paths = {"/".join(c.path[: n + 1]) for c in product.categories for n in range(len(c.path))}
        if not paths & set(settings.categories_filter):
            return False
    return True


def _named_fields(
    product: Product, names: dict[str, str], values: dict[str, str], where: str, *, required: bool
) -> dict[str, str]:
    """Attribute or feature values under their mapped target fields."""
    out: dict[str, str] = {}
    for name, value in values.items():
        target_field = names.get(name)
        if target_field is None:
            if required:
                raise RecordError(
                    "product",
                    product.ref.id,
                    f"{where}.{name}",
                    f"attribute {name!r} has no mapping (add it under products.attributes: "
                    f"{{{name}: <target field>}})",
                )
            continue
        out[target_field] = value
    return out


def items_for(
    product: Product, mapped: dict[str, Any], settings: ProductSettings
) -> list[ItemWrite]:
    """The target items of one product, parent first; ``RecordError`` names the field."""
    header = {
        **mapped["header"],
        **_named_fields(product, settings.features, product.features, "features", required=False),
    }
    if not product.configurable:
        # a simple product's own fields win over its single variant's (its title, not
        # "title + variant title")
        return [ItemWrite(code=product.variants[0].sku, fields={**mapped["lines"][0], **header})]
    skus = [v.sku for v in product.variants]
    if product.sku in skus or len(set(skus)) != len(skus):
        dup = next(s for s in skus if s == product.sku or skus.count(s) > 1)
        raise RecordError(
            "product",
            product.ref.id,
            f"variants[{skus.index(dup)}].sku",
            f"SKU {dup} is used twice in this product",
        )
    items = [ItemWrite(code=product.sku, fields=header, is_parent=True)]
    for i, (variant, line) in enumerate(zip(product.variants, mapped["lines"], strict=True)):
        attrs = _named_fields(
            product,
            settings.attributes,
            variant.attributes,
            f"variants[{i}].attributes",
            required=True,
        )
        items.append(
            ItemWrite(code=variant.sku, fields={**header, **line, **attrs}, parent=product.sku)
        )
    return items


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _as_json(item: ItemWrite) -> dict[str, Any]:
    return {
        "code": item.code,
        "fields": dict(item.fields),
        "parent": item.parent,
        "is_parent": item.is_parent,
    }


def validate_and_map(
    source: ProductSource,
    batch: list[dict[str, Any]],
    settings: ProductSettings,
    mapper: Mapper | None,
    rules: RecordRules | None = None,
) -> dict[str, Any]:
    """Canonical products turned into target items; a bad record is quarantined alone.
    Each item's code is the key the pair's ``item_key`` rule picks (as for order lines)."""
    counts = Counts(read=len(batch))
    products: list[dict[str, Any]] = []
    for record in batch:
        try:
            product = complete_product(source.to_product(record), rules or RecordRules())
            if not _selected(product, settings):
                counts.add("skipped_filtered")
                continue
            mapped = (
                mapper.map_product(product, record).as_dict()
                if mapper
                else {"header": {}, "lines": [{} for _ in product.variants]}
            )
            items = items_for(product, mapped, settings)
        except RecordError as err:
            counts.refuse(err.source_id, err.field, err.reason)
            continue
        categories = [list(c.path) for c in product.categories] if settings.categories else []
        images = (
            [{"url": i.url, "position": i.position, "filename": i.filename} for i in product.images]
            if settings.images
            else []
        )
        # an image's host may move (a CDN, a restarted sandbox) without the image changing:
        # the hash takes its path; a new upload gets a new path, and the bytes are
        # compared again whenever the product is written
        payload = {
            "items": [_as_json(i) for i in items],
            "categories": categories,
            "images": [urlsplit(i.url).path for i in product.images if settings.images],
        }
        products.append(
            {
                "source_id": product.ref.id,
                "sku": product.sku,
                "items": payload["items"],
                "eans": {v.sku: v.ean for v in product.variants if v.ean},
                "categories": categories,
                "images": images,
                "hash": _digest(payload),
            }
        )
    return {"products": products, "counts": counts.as_dict()}


# --- lookup ----------------------------------------------------------------------------


def _image_key(source_id: str, position: int) -> str:
    return f"{source_id}#{position}"


def lookup(
    target: ProductTarget,
    ledger: Ledger,
    integration: str,
    mapped: dict[str, Any],
    settings: ProductSettings,
    *,
    full_resync: bool = False,
) -> dict[str, Any]:
    """The ledger first: an unchanged product is done (unless an image is still owed);
    then one batched query for the items of the rest."""
    before = target.counter.calls
    counts = Counts.carried(mapped["counts"])
    rows = ledger.get_many(integration, PRODUCT, [p["source_id"] for p in mapped["products"]])
    todo: list[dict[str, Any]] = []
    pending_images: list[dict[str, Any]] = []
    for product in mapped["products"]:
        if not full_resync and unchanged(rows.get(product["source_id"]), product["hash"]):
            pending_images.append(product)
        else:
            todo.append(product)
    # an unchanged product whose image could not be transferred last time retries it alone
    keys = [_image_key(p["source_id"], i["position"]) for p in pending_images for i in p["images"]]
    image_rows = ledger.get_many(integration, IMAGE, keys) if keys else {}
    images_only = []
    for product in pending_images:
        owed = [
            i
            for i in product["images"]
            if (r := image_rows.get(_image_key(product["source_id"], i["position"]))) is None
            or r.status is not Status.DONE
        ]
        if owed:
            images_only.append({**product, "images": owed, "images_only": True})
        else:
            counts.add("unchanged")
    skus = sorted({i["code"] for p in todo for i in p["items"]})
    eans = (
        sorted({e for p in todo for e in p["eans"].values()}) if settings.match_by != "sku" else []
    )
    existing = target.match_items(skus, eans) if skus else {}
    counts.api_calls += target.counter.calls - before
    return {"products": todo + images_only, "existing": existing, "counts": counts.as_dict()}


# --- load ------------------------------------------------------------------------------


def _existing_code(
    item: dict[str, Any], eans: dict[str, str], existing: dict[str, str], settings: ProductSettings
) -> str | None:
    by_sku = existing.get(f"sku:{item['code']}")
    ean = eans.get(item["code"]) if settings.match_by != "sku" else None
    by_ean = existing.get(f"ean:{ean}") if ean else None
    if settings.match_by == "ean_then_sku":
        return by_ean or by_sku
    return by_sku or by_ean


@dataclass
class _Loader:
    source: ProductSource | None
    target: ProductTarget
    ledger: Ledger
    integration: str
    run_id: str
    settings: ProductSettings
    counts: Counts
    categories: dict[tuple[str, ...], str] = field(default_factory=dict)

    def write_items(self, product: dict[str, Any], existing: dict[str, str]) -> str:
        """Create or update every item of the product; "created" when its main item is new."""
        action = "updated"
        codes = tuple(
            self.categories[tuple(p)] for p in product["categories"] if tuple(p) in self.categories
        )
        for n, raw in enumerate(product["items"]):
            code = _existing_code(raw, product["eans"], existing, self.settings)
            item = ItemWrite(
                code=raw["code"],
                fields=raw["fields"],
                parent=raw["parent"],
                is_parent=raw["is_parent"],
                categories=codes,
            )
            if code is None:
                try:
                    self.target.create_item(item)
                except FatalError:
                    # a retried load whose earlier attempt created it before dying: update
                    code = self.target.match_items([item.code], []).get(f"sku:{item.code}")
                    if code is None:
                        raise
                else:
                    self.counts.add("items_created")
                    action = "created" if n == 0 else action
            if code is not None:
                kept = {k: v for k, v in item.fields.items() if k not in self.settings.create_only}
                self.target.update_item(
                    code,
                    ItemWrite(
                        code=code,
                        fields=kept,
                        parent=item.parent,
                        is_parent=item.is_parent,
                        categories=codes,
                    ),
                )
                self.counts.add("items_updated")
        return action

    def transfer_images(self, product: dict[str, Any], code: str) -> None:
        """Download each image, upload it when its bytes changed; a broken one is
        reported (the product itself stays written) and retried on the next run."""
        if self.source is None:
            return
        keys = [_image_key(product["source_id"], i["position"]) for i in product["images"]]
        known = self.ledger.get_many(self.integration, IMAGE, keys)
        for n, image in enumerate(product["images"]):
            key = keys[n]
            try:
                content, content_type = self.source.fetch_image(image["url"])
            except FatalError as err:
                reason = f"image {image['url']} could not be downloaded: {err}"[:500]
                self.ledger.quarantine(
                    self.integration, IMAGE, key, reason=reason, run_id=self.run_id
                )
                self.counts.quarantine(
                    QuarantineEntry(
                        entity="image",
                        source_id=product["source_id"],
                        field=f"images[{image['position']}].url",
                        reason=reason,
                    ),
                    counted=False,
                )
                continue
            digest = hashlib.sha256(content).hexdigest()
            if unchanged(known.get(key), digest):
                self.counts.add("images_unchanged")
                continue
            name = image["filename"] or image["url"].rsplit("/", 1)[-1]
            self.target.put_image(
                code,
                ImageUpload(
                    filename=name,
                    content=content,
                    content_type=content_type,
                    position=image["position"],
                    content_hash=digest,
                ),
            )
            self.ledger.done(
                self.integration,
                IMAGE,
                key,
                target_ref=code,
                content_hash=digest,
                run_id=self.run_id,
            )
            self.counts.add("images_uploaded")


def load(
    target: ProductTarget,
    ledger: Ledger,
    integration: str,
    looked_up: dict[str, Any],
    *,
    run_id: str,
    settings: ProductSettings,
    source: ProductSource | None = None,
) -> dict[str, Any]:
    """Categories first (once per batch), then each product's items and images."""
    before = target.counter.calls
    source_before = source.counter.calls if source else 0
    counts = Counts.carried(looked_up["counts"])
    loader = _Loader(source, target, ledger, integration, run_id, settings, counts)
    paths = sorted(
        {
            tuple(p)
            for prod in looked_up["products"]
            if not prod.get("images_only")
            for p in prod["categories"]
        }
    )
    if paths:
        loader.categories = target.ensure_categories(paths)
    existing: dict[str, str] = looked_up["existing"]
    for product in looked_up["products"]:
        main = product["items"][0]
        main_code = _existing_code(main, product["eans"], existing, settings) or main["code"]
        if not product.get("images_only"):
            try:
                action = loader.write_items(product, existing)
            except (FatalError, RecordError) as err:
                counts.set_aside(
                    ledger, integration, product["source_id"], refusal(err), run_id=run_id
                )
                continue
            ledger.done(
                integration,
                PRODUCT,
                product["source_id"],
                target_ref=main_code,
                content_hash=product["hash"],
                run_id=run_id,
            )
            counts.add(action)
        else:
            counts.add("unchanged")
        loader.transfer_images(product, main_code)
    counts.api_calls += target.counter.calls - before
    counts.api_calls += (source.counter.calls - source_before) if source else 0
    return counts.as_dict()


#: where a full resync starts reading: the whole catalogue
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@register
class ProductsFlow(Flow):
    """The source's catalogue as items in the target: created, updated when changed,
    with their images (downloaded from the source at load, never carried in XCom)."""

    counts = Counts

    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        since = EPOCH if ctx.full_resync else start
        return Extracted(extract(cast(ProductSource, source), since, end, ctx.spec.batch_size))

    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        return validate_and_map(
            cast(ProductSource, source), batch, ctx.spec.products, ctx.mapper, ctx.cfg.rules
        )

    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        return ctx.on_target(lookup, mapped, ctx.spec.products, full_resync=ctx.full_resync)

    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        with ctx.target() as target, ctx.ledger() as ledger, ctx.source() as source:
            return load(
                cast(ProductTarget, target),
                ledger,
                ctx.scope,
                looked_up,
                run_id=ctx.owner,
                settings=ctx.spec.products,
                source=cast(ProductSource, source),
            )
