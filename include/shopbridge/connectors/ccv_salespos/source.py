"""CCV SalesPOS as a :class:`~shopbridge.connectors.base.ProductSource` and
:class:`~shopbridge.connectors.base.StockSource`.

Products. CCV documents no modified-since filter for products, so a window reads the
whole catalogue (``GET products?expand=attributecombinations,producttocategories``, one
call per ``page_size`` products) and keeps those whose ``modifydate`` falls in
``[start, end)``. The category tree is read once (one call per page of categories), only
when a product in the window is linked to a category, and each link is embedded as the
category's path, so a record translates without further I/O. Cost per run:
``ceil(P / page_size)`` + ``ceil(C / page_size)``; 0 extra calls per product unless the
server ignores ``expand`` (then one call per product per relation).

ASSUMPTION [U]: editing a combination (its price, SKU) moves the product's ``modifydate``;
if CCV does not, such a change waits for the next edit of the product. Stock does not
depend on it: it is read in full every run.

Images are not supported for this pair: :meth:`CcvSalesposSource.fetch_image` raises
:class:`ConfigError` and products are translated without images.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient
from shopbridge.connectors.ccv_salespos.translate import (
    SYSTEM,
    category_paths,
    expanded,
    product_from_ccv,
    product_id,
    stock_from_ccv,
    stock_id,
    stock_records,
)
from shopbridge.errors import ConfigError
from shopbridge.models import Product, StockLevel

log = logging.getLogger(__name__)

#: relations a product record needs, asked for in the list call itself
PRODUCT_EXPAND = ("attributecombinations", "producttocategories")


def in_window(product: Mapping[str, Any], start: datetime, end: datetime) -> bool:
    """``start <= modifydate < end``; an unreadable date is kept for translation to report.
    A date without an offset is UTC (CCV documents its dates as UTC)."""
    try:
        when = datetime.fromisoformat(str(product["modifydate"]))
    except (KeyError, ValueError):
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return start <= when < end


class CcvSalesposSource:
    """Products (with combinations and category paths) and stock from one CCV shop."""

    system = SYSTEM

    def __init__(
        self,
        client: CcvSalesposClient,
        *,
        prices_include_tax: bool | None = None,
        currency: str | None = None,
    ) -> None:
        """``prices_include_tax``: overrides the shop's ``prices_include_vat`` setting;
        ``currency``: used when the shop's ``currency`` setting is empty. ``None`` (the
        defaults): the shop's settings decide (see :meth:`shop_context`)."""
        self.client = client
        #: the client's call counter (an attribute: the protocols declare a settable one)
        self.counter: CallCounter = client.counter
        self.prices_include_tax = prices_include_tax
        self.currency = currency
        self._paths: dict[str, list[str]] | None = None
        self._context: dict[str, Any] | None = None

    def shop_context(self) -> dict[str, Any]:
        """The shop's ``currency`` and whether its prices include VAT, read once per
        instance: ``GET webshops`` (the first webshop this key reaches [U] for a multishop)
        and ``GET webshops/{id}/settings`` [S], 2 calls. The connection's values fill what
        the shop leaves empty (``currency``) or override it (``prices_include_tax``); with
        neither, a :class:`ConfigError` names the setting: products are never priced in a
        guessed currency or VAT basis."""
        if self._context is None:
            settings: Mapping[str, Any] = {}
            shops = self.client.webshops(size=1)
            if shops and isinstance(shops[0], Mapping) and shops[0].get("id") is not None:
                settings = self.client.webshop_settings(shops[0]["id"])
            currency = str(settings.get("currency") or self.currency or "").strip().upper()
            if not currency:
                raise ConfigError(
                    "the CCV shop has no currency setting (GET webshops/{id}/"
                    "settings); set 'currency' on the connection"
                )
            incl = self.prices_include_tax
            if incl is None:
                incl = settings.get("prices_include_vat")
            if not isinstance(incl, bool):
                raise ConfigError(
                    "the CCV shop's prices_include_vat setting is empty; set "
                    "'prices_include_tax' on the connection"
                )
            self._context = {"prices_include_tax": incl, "currency": currency}
        return self._context

    def close(self) -> None:
        """Release the client's connection pool."""
        self.client.close()

    # --- products ----------------------------------------------------------------------

    def _combinations(self, product: Mapping[str, Any]) -> list[Any]:
        rows = expanded(product, "attributecombinations")
        if rows is None and "id" in product:
            rows = list(self.client.iter_attributecombinations(product["id"]))
        return rows or []

    def _links(self, product: Mapping[str, Any]) -> list[Any]:
        rows = expanded(product, "producttocategories")
        if rows is None and "id" in product:
            rows = list(self.client.iter_producttocategories(product["id"]))
        return rows or []

    def _category_paths(self) -> dict[str, list[str]]:
        if self._paths is None:
            self._paths = category_paths(list(self.client.iter_categories()))
        return self._paths

    def iter_product_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Products with ``start <= modifydate < end``, self-contained (see module doc)."""
        for product in self.client.iter_products(expand=PRODUCT_EXPAND):
            if not in_window(product, start, end):
                continue
            record = dict(product)
            record["attributecombinations"] = self._combinations(product)
            linked: list[dict[str, Any]] = []
            for link in self._links(product):
                cid = str(link.get("category_id")) if isinstance(link, Mapping) else "?"
                path = self._category_paths().get(cid)
                if path is None:  # deleted between the reads, or a broken parent chain
                    log.warning(
                        "product %s: category %s not found; skipped", product.get("id"), cid
                    )
                    continue
                linked.append({"id": cid, "path": path})
            record["categories"] = linked
            record["_context"] = dict(self.shop_context())
            yield record

    def product_id(self, record: dict[str, Any]) -> str:
        """The product's id as text."""
        return product_id(record)

    def to_product(self, record: dict[str, Any]) -> Product:
        """Translate; raises ``RecordError`` naming the vendor field."""
        return product_from_ccv(record)

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        """Not supported for this pair: configure the products flow with ``images: false``."""
        raise ConfigError(
            "CCV SalesPOS product images are not supported as a source; "
            "turn images off for this products flow"
        )

    # --- stock -------------------------------------------------------------------------

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        """One record per sellable SKU (a simple product, or each combination), read in
        full every run: a sale at the till lowers ``stock`` without a documented change
        timestamp. Costs ``ceil(P / page_size)`` calls."""
        for product in self.client.iter_products(expand=("attributecombinations",)):
            yield from stock_records(
                {**product, "attributecombinations": self._combinations(product)}
            )

    def stock_id(self, record: dict[str, Any]) -> str:
        """``product/{id}`` or ``attributecombination/{id}``."""
        return stock_id(record)

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        """Translate; raises ``RecordError`` naming the vendor field (``product.stock``)."""
        return stock_from_ccv(record)
