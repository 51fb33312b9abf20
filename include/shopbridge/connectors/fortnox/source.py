"""Fortnox as an order, product and stock source (:mod:`shopbridge.connectors.base`).

One object, :class:`FortnoxSource`, is the ``OrderSource``, ``ProductSource`` and
``StockSource`` the flows ask the hook for.

Cost, in API calls (each paced to 25 per 5 s, see :mod:`.client`), for a window with ``N``
changed orders of ``C`` distinct customers, ``P`` changed articles, ``A`` articles in all,
page size ``L``:

* orders: ``2 + N // L`` list pages (the "changed since end" read, then the window) +
  ``N`` order details (rows are only on the single GET) + ``C`` customers (cached for the
  source's life, i.e. one task);
* products: ``2 + P // L`` + ``P`` article details (``Active``/``StockGoods`` are not on
  list rows [U]);
* stock, article mode: ``A // L + 1`` pages, plus one detail per article whose list row
  lacks ``StockGoods`` (the SDK's list subset does [U]: then ``A`` more); warehouse mode:
  ``rows // L + 1`` pages of balances.

At 25 requests per 5 s, 1,000 articles without ``StockGoods`` on the list take about
200 s; warehouse mode reads the same stock in a handful of calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.fortnox.client import DEFAULT_CURRENCY, FortnoxClient, StockMode
from shopbridge.connectors.fortnox.translate import (
    BALANCES_KEY,
    CHANGED_BEFORE_KEY,
    CUSTOMER_KEY,
    STOCK_POINT_KEY,
    SYSTEM,
    TIMEZONE_KEY,
    order_from_fortnox,
    order_id,
    product_from_fortnox,
    product_id,
    stock_from_fortnox,
    stock_id,
)
from shopbridge.errors import ConfigError, FatalError, RecordError, RetriableError
from shopbridge.models import Order, Product, StockLevel

log = logging.getLogger(__name__)


def _not_found(err: FatalError) -> bool:
    return err.response is not None and err.response.status_code == 404


def _key(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _same(answered: Any, sent: Any) -> bool:
    """Whether Fortnox's answer holds the value sent (``7`` and ``"7"``, ``1.5`` and
    ``"1.50"`` are the same: Fortnox types some numbers as strings [V])."""
    if _key(answered) == _key(sent):
        return True
    try:
        return Decimal(_key(answered)) == Decimal(_key(sent))
    except InvalidOperation:
        return False


def _details(
    rows: Iterable[Mapping[str, Any]],
    key: str,
    read: Callable[[str], dict[str, Any]],
    what: str,
    skip: Callable[[str], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """The full object behind each list row (list rows are a subset of its fields), read by
    its number in ``key``. A row without a number, or one deleted between the list and its
    read, is skipped with a warning: there is nothing to sync."""
    for row in rows:
        number = _key(row.get(key))
        if not number:
            log.warning("%s list row without %s skipped", what, key)
            continue
        if skip is not None and skip(number):
            continue
        try:
            detail = read(number)
        except FatalError as err:
            if not _not_found(err):
                raise
            log.warning("%s %s vanished between list and read; skipped", what, number)
            continue
        yield detail


class FortnoxSource:
    """Orders (rows and customer embedded), articles as products, and stock from one tenant."""

    system = SYSTEM

    def __init__(
        self,
        client: FortnoxClient,
        *,
        stock: StockMode = "article",
        stock_point: str | None = None,
        currency: str = DEFAULT_CURRENCY,
    ) -> None:
        """``stock``/``stock_point``: where levels come from (see :class:`FortnoxSettings`);
        ``currency``: the currency of article prices."""
        if stock not in ("article", "warehouse"):
            raise ConfigError(f"Fortnox stock mode must be 'article' or 'warehouse', got {stock!r}")
        if stock_point and stock != "warehouse":
            raise ConfigError("Fortnox stock_point needs stock mode 'warehouse'")
        self.client = client
        #: the client's call counter (an attribute: the protocols declare a settable one)
        self.counter: CallCounter = client.counter
        self.stock = stock
        self.stock_point = stock_point or None
        self.currency = currency
        #: CustomerNumber -> customer (``None``: Fortnox has none), for this source's life
        self._customers: dict[str, dict[str, Any] | None] = {}

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()

    # --- orders --------------------------------------------------------------------------

    def _customer(self, number: str) -> dict[str, Any] | None:
        if number not in self._customers:
            try:
                self._customers[number] = self.client.get_customer(number) if number else None
            except FatalError as err:
                if not _not_found(err):
                    raise
                self._customers[number] = None
        return self._customers[number]

    def iter_order_records(
        self, start: datetime, end: datetime, *, skip: Callable[[str], bool] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Orders changed in ``[start, end)`` (to the minute), each as its full ``Order``
        with its customer, zone and read time embedded (see :mod:`.translate`).

        An order deleted between the list and its detail read is skipped: it no longer
        exists to be synced. A customer Fortnox no longer has is embedded as ``None``, for
        translation to quarantine the order.
        """
        changed_before = end.isoformat()
        subsets = self.client.iter_orders(start, end)
        for order in _details(subsets, "DocumentNumber", self.client.get_order, "order", skip):
            yield {
                **order,
                CUSTOMER_KEY: self._customer(_key(order.get("CustomerNumber"))),
                TIMEZONE_KEY: self.client.timezone,
                CHANGED_BEFORE_KEY: changed_before,
            }

    def order_id(self, record: dict[str, Any]) -> str:
        """The order's ``DocumentNumber``."""
        return order_id(record)

    def to_order(self, record: dict[str, Any]) -> Order:
        """Translate; raises ``RecordError`` naming the Fortnox field."""
        return order_from_fortnox(record)

    def confirm_order(self, order_id: str, fields: Mapping[str, Any]) -> None:
        """``PUT /3/orders/{n}`` with ``fields``, e.g. ``YourOrderNumber`` or
        ``ExternalInvoiceReference1`` = the target's id of the order.

        Read-only fields (``Cancelled``, the totals) are refused by Fortnox (a
        ``FatalError``); an order Fortnox no longer has is a ``RecordError``. The write
        counts as done only when Fortnox's answer, the whole order, holds every field as
        sent; else a ``RetriableError`` names the field (the PUT is safe to repeat). The PUT
        counts as a change: the order shows up in the next window (the ledger skips it).
        """
        if not fields:
            return
        try:
            answer = self.client.update_order(order_id, fields)
        except FatalError as err:
            if _not_found(err):
                raise RecordError(
                    "order", order_id, "DocumentNumber", f"order {order_id} not found in Fortnox"
                ) from None
            raise
        # done only when Fortnox's answer (the whole order [V: order.update]) holds it
        number = _key(answer.get("DocumentNumber"))
        if number != order_id:
            raise RetriableError(
                f"PUT /3/orders/{order_id}: Fortnox answered order "
                f"{number or '(none)'}; the write is not confirmed"
            )
        for key, sent in fields.items():
            if not _same(answer.get(key), sent):
                raise RetriableError(
                    f"PUT /3/orders/{order_id}: Fortnox answered {key}="
                    f"{str(answer.get(key))[:60]!r} after being sent {str(sent)[:60]!r}; "
                    "the write is not confirmed"
                )

    # --- products ------------------------------------------------------------------------

    def iter_product_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Articles changed in ``[start, end)``, each the full ``Article`` (the list rows
        lack ``Active`` and ``StockGoods`` [U]) with its read time embedded."""
        changed_before = end.isoformat()
        subsets = self.client.iter_articles(start, end)
        for article in _details(subsets, "ArticleNumber", self.client.get_article, "article"):
            yield {**article, CHANGED_BEFORE_KEY: changed_before}

    def product_id(self, record: dict[str, Any]) -> str:
        """The article's ``ArticleNumber``."""
        return product_id(record)

    def to_product(self, record: dict[str, Any]) -> Product:
        """Translate one article into a simple product (``RecordError`` naming the field)."""
        return product_from_fortnox(record, currency=self.currency)

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        """Fortnox articles have no images, so no product record ever names one."""
        raise ConfigError(
            f"Fortnox articles have no images (asked for {url[:100]!r}); "
            "turn images off for this flow"
        )

    # --- stock ---------------------------------------------------------------------------

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        """One record per stock article (``StockGoods``), read in full every run.

        Article mode: the article list; a row without ``StockGoods`` (the SDK's subset
        [U]) costs one detail read to learn it. Warehouse mode: every balance row, grouped
        per ``itemId`` (ASSUMPTION [U]: Fortnox reports a row, possibly 0, for each stock
        article at each stock point it was ever stocked at; an article without any row is
        not reported and keeps its level in the target).
        """
        if self.stock == "warehouse":
            yield from self._warehouse_records()
            return
        for row in self.client.iter_articles():
            if "StockGoods" not in row:
                number = _key(row.get("ArticleNumber"))
                try:
                    row = self.client.get_article(number) if number else row
                except FatalError as err:
                    if not _not_found(err):
                        raise
                    continue
            if row.get("StockGoods") in (True, "true", "True"):
                yield row

    def _warehouse_records(self) -> Iterator[dict[str, Any]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in self.client.iter_stock_balances():
            item = next((_key(v) for k, v in row.items() if k.lower() == "itemid"), "")
            grouped.setdefault(item, []).append(row)
        for item, rows in grouped.items():
            yield {"ItemId": item, BALANCES_KEY: rows, STOCK_POINT_KEY: self.stock_point}

    def stock_id(self, record: dict[str, Any]) -> str:
        """``ArticleNumber`` (article mode) or ``ItemId`` (warehouse mode)."""
        return stock_id(record)

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        """Translate; raises ``RecordError`` naming the field (a negative level)."""
        return stock_from_fortnox(record)
