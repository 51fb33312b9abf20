"""AccountView as a :class:`~shopbridge.connectors.base.ProductSource` and
:class:`~shopbridge.connectors.base.StockSource`: articles go to the webshop.

A product record is one article row with its article group embedded,
``{"ARTICLE": {...}, "ART_GRP": {...} | None}``: self-contained and JSON-able (it travels
as an XCom), translated by :func:`~.translate.product_from_article` without I/O. A stock
record is the bare article row (``ART_CODE``, ``QTY_AVAIL`` and the optional fields).

Cost: a window's changed articles are read ``page_size`` at a time with the documented
changed-since filter (``CNG_DATE`` ``DateOnOrAfterDate``, VENDOR_APIS.md §4); the article
groups (a small table) once per run, and only when an article has one. Stock reads every
article each run: a sale lowers ``QTY_AVAIL``, and whether that moves ``CNG_DATE`` is not
documented.

Window edges: ``DateOnOrAfterDate`` may compare dates only, not times [U], and the API has
no documented "before" operator, so the filter asks from the window's start (on the
administration's clock, ``timezone``) and rows outside ``[start, end)`` are dropped here.
An article whose ``CNG_DATE`` cannot be read is kept for translation to quarantine.

Not available: images (AccountView.net serves none, so :meth:`fetch_image` raises
``ConfigError``; set the pair's ``products.images: false``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shopbridge.connectors.accountview.client import AccountViewClient, Filter, fox_datetime
from shopbridge.connectors.accountview.options import SourceOptions
from shopbridge.connectors.accountview.translate import (
    ARTICLE_FIELDS,
    SYSTEM,
    article_id,
    product_from_article,
    stock_from_article,
)
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import ConfigError
from shopbridge.models import Product, StockLevel


def local_filter_time(when: datetime, tz_name: str) -> str:
    """``when`` as a ``T`` filter value on the administration's (naive, local) clock,
    truncated to the second (a naive ``when`` is taken as UTC)."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return fox_datetime(aware.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None, microsecond=0))


def _changed_at(row: dict[str, Any], tz_name: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(row.get("CNG_DATE") or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ZoneInfo(tz_name))


class AccountViewSource:
    """Articles (as simple products) and their stock from one AccountView.net company."""

    system = SYSTEM

    def __init__(self, client: AccountViewClient, options: SourceOptions | None = None) -> None:
        self.client = client
        self.options = options or SourceOptions()
        #: the client's call counter (an attribute: the protocols declare it settable)
        self.counter: CallCounter = client.counter

    def close(self) -> None:
        """Release the client's connection pool."""
        self.client.close()

    @staticmethod
    def _fields(*names: str | None) -> list[str]:
        return list(dict.fromkeys(n for n in names if n))

    def iter_product_records(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """Articles with ``start <= CNG_DATE < end``, each with its article group."""
        since = Filter(
            "CNG_DATE",
            "DateOnOrAfterDate",
            local_filter_time(start, self.options.timezone),
            value_type="T",
        )
        groups: dict[str, dict[str, Any]] | None = None
        o = self.options
        fields = self._fields(*ARTICLE_FIELDS, o.ean_field, o.vat_code_field)
        for row in self.client.read(
            "AK1", "ARTICLE", fields=fields, filters=[since], sort_fields=["ART_CODE"]
        ):
            changed = _changed_at(row, self.options.timezone)
            if changed is not None and not start <= changed < end:
                continue
            code = str(row.get("AG_CODE") or "").strip()
            if code and groups is None:
                groups = {
                    str(g.get("AG_CODE") or ""): g
                    for g in self.client.read(
                        "AG1", "ART_GRP", fields=["AG_CODE", "AG_DESC"], sort_fields=["AG_CODE"]
                    )
                }
            yield {"ARTICLE": row, "ART_GRP": (groups or {}).get(code) if code else None}

    def product_id(self, record: dict[str, Any]) -> str:
        """The article's ``ART_CODE`` (``"?"`` when unreadable)."""
        return article_id(record)

    def to_product(self, record: dict[str, Any]) -> Product:
        """Translate; raises ``RecordError`` naming the AccountView field."""
        return product_from_article(record, self.options)

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        """AccountView.net has no article images: asking for one is a configuration error."""
        raise ConfigError(
            f"AccountView.net serves no article images (asked for {url!r}); "
            "set the products flow's images: false"
        )

    def iter_stock_records(self) -> Iterator[dict[str, Any]]:
        """Every article (all pages, only the stock fields): one record per SKU."""
        fields = self._fields(
            "ART_CODE",
            "QTY_AVAIL",
            self.options.ean_field,
            self.options.reserved_field,
            self.options.stock_flag_field,
        )
        yield from self.client.read("AK1", "ARTICLE", fields=fields, sort_fields=["ART_CODE"])

    def stock_id(self, record: dict[str, Any]) -> str:
        """The article's ``ART_CODE``."""
        return article_id(record)

    def to_stock(self, record: dict[str, Any]) -> StockLevel:
        """Translate; raises ``RecordError`` naming the field (``QTY_AVAIL``)."""
        return stock_from_article(record, self.options)
