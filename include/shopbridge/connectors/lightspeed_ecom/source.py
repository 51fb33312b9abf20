"""Lightspeed eCom as an order, product and stock source (:mod:`shopbridge.connectors.base`).

The order list does not carry lines, so each order costs one extra
``orders/{id}/products.json`` call. The lines are embedded into the record the way webhook
payloads embed relations (``products.resource.embedded``), so a record is self-contained,
JSON-able (it travels as an XCom) and translates without further I/O.

Products get the same treatment: variants, images, category links (with each category's
parent chain), features and the brand are embedded into the product's own references.
Relations shared by many products (categories, brands, taxes) are read once per run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.translate import (
    SYSTEM,
    checkout_from_lightspeed,
    customer_from_lightspeed,
    order_from_lightspeed,
    product_from_lightspeed,
    record_id,
    shipment_from_lightspeed,
    stock_from_lightspeed,
)
from shopbridge.errors import FatalError
from shopbridge.models import Checkout, Customer, Order, Product, Shipment, StockLevel

log = logging.getLogger(__name__)

#: what a stock record needs of a variant (``fields=`` keeps the full read small)
STOCK_FIELDS = (
    "id",
    "sku",
    "ean",
    "articleCode",
    "stockLevel",
    "stockTracking",
    "updatedAt",
    "product",
)
#: deeper parent chains than this are treated as a loop and left unembedded
MAX_CATEGORY_DEPTH = 20


def embed_products(order: Mapping[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of ``order`` whose ``products`` reference carries ``lines`` as ``embedded``."""
    ref = order.get("products")
    resource = (
        dict(ref["resource"])
        if isinstance(ref, Mapping) and isinstance(ref.get("resource"), Mapping)
        else {}
    )
    return {**order, "products": {"resource": {**resource, "embedded": lines}}}


def ref_id(value: Any) -> str | None:
    """The id of a ``{"resource": {"id": ...}}`` reference; ``None`` for ``false`` or a
    to-many reference (whose id is ``false``)."""
    resource = value.get("resource") if isinstance(value, Mapping) else None
    rid = resource.get("id") if isinstance(resource, Mapping) else None
    return None if rid in (None, False, "") else str(rid)


def with_embedded(ref: Any, data: Any) -> Any:
    """A copy of reference ``ref`` carrying ``data`` as its ``embedded``; an empty relation
    (``false``) or a malformed one is returned as it is, for translation to judge."""
    if not isinstance(ref, Mapping) or not isinstance(ref.get("resource"), Mapping):
        return ref
    return {**ref, "resource": {**ref["resource"], "embedded": data}}


def with_parents(
    category: Mapping[str, Any], categories: Mapping[str, Mapping[str, Any]], depth: int = 0
) -> dict[str, Any]:
    """``category`` whose ``parent`` reference embeds the parent, recursively to the root.
    A parent that is not in ``categories`` stays a bare reference (translation reports it)."""
    parent = category.get("parent")
    pid = ref_id(parent)
    if pid is None or pid not in categories or depth >= MAX_CATEGORY_DEPTH:
        return dict(category)
    return {
        **category,
        "parent": with_embedded(parent, with_parents(categories[pid], categories, depth + 1)),
    }


class LightspeedEcomSource:
    """Orders (with lines), customers, products (with their relations), stock, shipments
    and checkouts from one Lightspeed shop."""

    system = SYSTEM

    def __init__(self, client: LightspeedEcomClient, *, currency: str | None = None) -> None:
        self.client = client
        self.counter: CallCounter = client.counter
        #: the shop's currency: given, or read once from ``shop.json`` when a record needs it
        self._currency = currency.strip().upper() if currency else None

    def shop_currency(self) -> str:
        """The shop's currency (``GET /{lang}/shop.json`` -> ``currency.shortcode`` [V]),
        read once per source object and cached: Lightspeed orders, products and checkouts
        carry none of their own, and a silent "EUR" would book a GBP shop's orders wrong.

        ``FatalError`` when the shop answers without a currency code.
        """
        if self._currency is None:
            shop = self.client.get_shop()
            currency = shop.get("currency")
            code = currency.get("shortcode") if isinstance(currency, Mapping) else currency
            if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{3}", code.strip()):
                raise FatalError(f"GET shop.json: no currency.shortcode (got {currency!r})")
            self._currency = code.strip().upper()
        return self._currency

    def _currency_for(self, record: Mapping[str, Any]) -> str | None:
        """The shop's currency, unless the record carries its own (then no call is made)."""
        own = record.get("currency") if isinstance(record, Mapping) else None
        return None if own not in (None, False, "") else self.shop_currency()

    def iter_order_records(
        self, start: datetime, end: datetime, *, skip: Callable[[str], bool] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Orders with ``start <= updatedAt < end``, lines embedded (a call per order, so
        ``skip`` saves one per order already synced).

        An order whose ``products`` relation is ``false`` (the vendor's empty relation) has
        no lines to fetch; it is yielded with none, and translation quarantines it.
        """
        for order in self.client.iter_orders(start, end):
            if skip is not None and "id" in order and skip(str(order["id"])):
                continue
            has_lines = order.get("products") is not False and "id" in order
            lines = self.client.order_products(order["id"]) if has_lines else []
            yield embed_products(order, lines)

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()

    def order_id(self, record: dict[str, Any]) -> str:
        """The vendor's order id as text."""
        return record_id(record)

    def iter_customer_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Customers changed in ``[start, end)``, as the API returns them."""
        yield from self.client.iter_customers(start, end)

    def customer_id(self, record: dict[str, Any]) -> str:
        return record_id(record)

    def to_customer(self, record: dict[str, Any]) -> Customer:
        """Translate; raises ``RecordError`` naming the vendor field."""
        return customer_from_lightspeed(record)

    def confirm_order(self, order_id: str, fields: Mapping[str, Any]) -> None:
        """Write fields back to the webshop's order once the target booked it (e.g. a
        ``customStatusId`` "booked in ERP", or ``status``); Lightspeed allows status fields."""
        self.client.update_order(order_id, fields)

    def to_order(self, record: dict[str, Any]) -> Order:
        """Translate; raises ``RecordError`` naming the vendor field."""
        return order_from_lightspeed(record, currency=self._currency_for(record))

    # --- products and stock ------------------------------------------------------------

    def iter_product_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Products with ``start <= updatedAt < end``, relations embedded::

            {...product..., "variants":   {"resource": {..., "embedded": [variant, ...]}},
                            "images":     {"resource": {..., "embedded": [productImage]}},
                            "categories": {"resource": {..., "embedded": [category, ...]}},
                            "attributes": {"resource": {..., "embedded": [productAttribute]}},
                            "brand":      {"resource": {..., "embedded": brand}}}

        A relation the vendor sends as ``false`` stays ``false``. Each variant's ``tax``
        embeds the tax; each category's ``parent`` embeds the parent, up to the root.

        Calls, for ``P`` changed products, page size ``L`` and ``V`` variants, ``K``
        category links, ``C`` categories, ``B`` brands, ``T`` taxes in the shop:
        ``P // L + 1`` (products) + per relation ``P`` if ``P <= 2`` else
        ``1 + min(P, V // L + 1)`` (variants) and the same with ``K`` (links) +
        ``C // L + 1`` + ``B // L + 1`` + ``T // L + 1`` (each only when referenced) +
        ``2 P`` (images and features: the vendor has no bulk route for them; skipped for a
        product whose relation is ``false``). Nothing beyond the product page when the
        window is empty.
        """
        products = [p for p in self.client.iter_products(start, end) if isinstance(p, Mapping)]
        if not products:
            return

        def related(key: str) -> list[str]:
            return [str(p["id"]) for p in products if p.get(key) is not False and "id" in p]

        variants = self.client.variants_by_product(related("variants"))
        links = self.client.category_links_by_product(related("categories"))
        categories = (
            {str(c.get("id")): c for c in self.client.iter_categories()}
            if any(links.values())
            else {}
        )
        brands = (
            {str(b.get("id")): b for b in self.client.iter_brands()}
            if any(ref_id(p.get("brand")) for p in products)
            else {}
        )
        taxes = (
            {str(t.get("id")): t for t in self.client.iter_taxes()}
            if any(ref_id(v.get("tax")) for rows in variants.values() for v in rows)
            else {}
        )
        for product in products:
            pid = str(product.get("id"))
            record = dict(product)
            record["variants"] = with_embedded(
                product.get("variants"),
                [
                    {**v, "tax": with_embedded(v["tax"], taxes[tid])}
                    if (tid := ref_id(v.get("tax"))) in taxes
                    else v
                    for v in variants.get(pid, [])
                ],
            )
            linked = []
            for link in links.get(pid, []):
                cid = ref_id(link.get("category"))
                if cid in categories:
                    linked.append(with_parents(categories[cid], categories))
                else:  # deleted between the two reads: the next run sees the new links
                    log.warning("product %s: linked category %s not found; skipped", pid, cid)
            record["categories"] = with_embedded(product.get("categories"), linked)
            bid = ref_id(product.get("brand"))
            if bid in brands:
                record["brand"] = with_embedded(product.get("brand"), brands[bid])
            if product.get("images") is not False and "id" in product:
                record["images"] = with_embedded(
                    product.get("images"), self.client.product_images(pid)
                )
            if product.get("attributes") is not False and "id" in product:
                record["attributes"] = with_embedded(
                    product.get("attributes"), self.client.product_attributes(pid)
                )
            yield record

    def product_id(self, record: dict[str, Any]) -> str:
        """The vendor's product id as text."""
        return record_id(record)

    def to_product(self, record: dict[str, Any]) -> Product:
        """Translate; raises ``RecordError`` naming the vendor field (``variants[1].sku``)."""
        return product_from_lightspeed(record, currency=self.shop_currency())

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        """The image's bytes and content type from the CDN; ``FatalError`` when gone."""
        return self.client.fetch_file(url)

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        """Every variant (all pages, only :data:`STOCK_FIELDS`): one stock record per SKU.

        Read in full each run: a sale lowers ``stockLevel``, and whether that moves the
        variant's ``updatedAt`` is not documented. Costs ``V // L + 1`` calls.
        """
        yield from self.client.iter_variants(fields=STOCK_FIELDS)

    def stock_id(self, record: dict[str, Any]) -> str:
        """The variant id as text."""
        return record_id(record)

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        """Translate; raises ``RecordError`` naming the vendor field (``stockLevel``)."""
        return stock_from_lightspeed(record)

    # --- shipments and checkouts -------------------------------------------------------

    def iter_shipment_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Shipments with ``start <= updatedAt < end``, as the API lists them (their lines
        are only referenced; a webhook delivery embeds them). ``L`` a page: ``S // L + 1``
        calls."""
        yield from self.client.iter_shipments(start, end)

    def shipment_id(self, record: dict[str, Any]) -> str:
        """The vendor's shipment id as text."""
        return record_id(record)

    def to_shipment(self, record: dict[str, Any]) -> Shipment:
        """Translate; raises ``RecordError`` naming the vendor field (``order``, ``status``)."""
        return shipment_from_lightspeed(record)

    def iter_checkout_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Checkouts with ``start <= updatedAt < end``: open (abandoned) carts and those
        that became orders, their lines included as the API returns them."""
        yield from self.client.iter_checkouts(start, end)

    def checkout_id(self, record: dict[str, Any]) -> str:
        """The vendor's checkout id as text."""
        return record_id(record)

    def to_checkout(self, record: dict[str, Any]) -> Checkout:
        """Translate; raises ``RecordError`` naming the vendor field (``products[0].sku``)."""
        return checkout_from_lightspeed(record, currency=self._currency_for(record))
