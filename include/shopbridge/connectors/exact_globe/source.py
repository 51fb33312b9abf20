"""Exact Globe as an :class:`~shopbridge.connectors.base.OrderSource`: sales orders entered
in the ERP (phone orders, the sales desk) go to the webshop.

A record is one ``SalesOrderHeader`` with its ``SalesOrderLine`` rows, its debtor's
``Account`` and that account's default ``Contact`` embedded, plus the connection's time
zone: self-contained and JSON-able (it travels as an XCom), translated by
:func:`~shopbridge.connectors.exact_globe.from_globe.order_from_globe` without I/O.

Cost: the headers of a window are read a page (``page_size``) at a time; for each page,
its lines, accounts and contacts are read in batched ``or`` filters of up to 40 values
(:func:`any_of`), so a page of 100 orders costs a handful of GETs, not 300. Accounts
already read in this iteration are not read again.

Paging: the headers are read ordered by ``SalesOrderNumber`` (``$orderby``: a stable key,
so ``$skip`` walks a fixed order instead of Globe's unstated one) with
``$inlinecount=allpages``, and a ``__count`` that disagrees with the rows read fails the
read loudly (:class:`~shopbridge.connectors._kit.pages.PageMismatch`); the
run retries instead of losing an order in silence. An order modified while the window is
read can still move out of it (its new ``Modified`` puts it in the next window).

Field names are Exact's documented ones (see ``from_globe``): ``SalesOrderNumber``,
``OrderDebtor``, ``SalesOrderLine.SalesOrderNumber``, ``Account.DebtorCode``, ``VAT``;
the older ``OrderNumber`` is read when a row has no ``SalesOrderNumber``. Codes are
filtered as Globe sent them (char columns may be padded) and grouped stripped.

[U] ``Modified`` on ``SalesOrderHeader`` as the change timestamp: Exact's entity
documentation (PU415) lists no ``Created``/``Modified`` on the header at all, so a real
Globe may refuse the window filter; this is the connector's open risk as an order source.
[U] ``$orderby`` and ``$inlinecount``: OData v2 query options, not shown in a Globe
example. [U] ``SalesOrderHeader('<number>')`` as the MERGE key of :meth:`confirm_order`
(the documentation names ``SalesOrderNumber`` the key property; ``ID`` is an integer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.exact_globe.catalogue import wire
from shopbridge.connectors.exact_globe.client import (
    MAX_FILTER_VALUES,
    ExactGlobeClient,
    any_of,
    odata_quote,
)
from shopbridge.connectors.exact_globe.from_globe import (
    DEFAULT_TIMEZONE,
    SYSTEM,
    order_from_globe,
    order_id,
    zone,
)
from shopbridge.errors import ConfigError, RecordError
from shopbridge.models import Order


def _code(value: Any) -> str:
    """Globe pads codes in char columns [U]; compare them stripped."""
    return "" if value is None else str(value).strip()


def odata_datetime(when: datetime, tz_name: str) -> str:
    """``datetime'2026-11-16T01:00:00'``: ``when`` as Globe's naive server-local time.

    Truncated to the second, the same way for a window's start and end, so consecutive
    windows still meet exactly. A naive ``when`` is taken as UTC.
    """
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    local = aware.astimezone(zone(tz_name)).replace(tzinfo=None, microsecond=0)
    return f"datetime'{local.isoformat(timespec='seconds')}'"


def _guids(field: str, values: Iterable[str]) -> list[str]:
    """``any_of`` for guid keys: ``Account eq guid'…' or …``, 40 at a time."""
    unique = [v for v in dict.fromkeys(values) if v]
    return [
        " or ".join(f"{field} eq guid'{v}'" for v in unique[i : i + MAX_FILTER_VALUES])
        for i in range(0, len(unique), MAX_FILTER_VALUES)
    ]


def _number(row: Mapping[str, Any]) -> Any:
    """A header's or line's order number as Globe sent it (documented name first)."""
    value = row.get("SalesOrderNumber")
    return value if value not in (None, "") else row.get("OrderNumber")


def _line_number(line: Mapping[str, Any]) -> int:
    try:
        return int(str(line.get("LineNumber")).strip())
    except ValueError:
        return 0


class ExactGlobeSource:
    """Sales orders changed in a window, each with lines and debtor, from one administration."""

    system = SYSTEM

    def __init__(
        self, client: ExactGlobeClient, *, timezone: str = DEFAULT_TIMEZONE, currency: str = ""
    ) -> None:
        """``timezone``: the Globe server's zone (its timestamps are naive local time);
        ``currency``: the administration's currency for orders naming none (``""``: none)."""
        try:
            zone(timezone)
        except ValueError as exc:
            raise ConfigError(f"Exact Globe timezone: {exc}") from None
        self.client = client
        #: the client's call counter: what this source cost in requests (an attribute,
        #: not a property: the protocols declare a settable ``counter``)
        self.counter: CallCounter = client.counter
        self.timezone = timezone
        self.currency = currency.strip().upper()
        #: order number (stripped) -> as Globe sent it: the key ``confirm_order`` MERGEs
        self._header_keys: dict[str, str] = {}
        #: Globe's VAT table (code -> row), read once when a line names a VAT code
        self._vat: dict[str, dict[str, Any]] | None = None

    def close(self) -> None:
        """Release the client's connection pool."""
        self.client.close()

    def iter_order_records(
        self, start: datetime, end: datetime, *, skip: Callable[[str], bool] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Orders with ``start <= Modified < end`` (server time), lines and debtor embedded.

        Yields page by page, so memory holds one page and its details. An order seen twice
        (a page shifted under us) is yielded once.
        """
        flt = (
            f"Modified ge {odata_datetime(start, self.timezone)} and "
            f"Modified lt {odata_datetime(end, self.timezone)}"
        )
        headers = self.client.query(
            "SalesOrderHeader", filter=flt, orderby=["SalesOrderNumber"], count=True
        )
        seen: set[str] = set()
        accounts: dict[str, dict[str, Any] | None] = {}
        while page := list(islice(headers, self.client.page_size)):
            fresh = []
            for h in page:
                number = _code(_number(h))
                if number and number not in seen:
                    seen.add(number)
                    if skip is not None and skip(number):
                        continue
                    fresh.append(h)
                    self._header_keys[number] = str(_number(h))
            lines = self._lines([_number(h) for h in fresh])
            self._accounts([_code(h.get("OrderDebtor")) for h in fresh], accounts)
            vat = self._vat_table(lines)
            for h in fresh:
                own = lines.get(_code(_number(h)), [])
                codes = {_code(ln.get("VATCode")) for ln in own}
                yield {
                    "header": h,
                    "lines": own,
                    "account": accounts.get(_code(h.get("OrderDebtor"))),
                    "vat": {c: vat[c] for c in sorted(codes) if c in vat},
                    "currency": self.currency,
                    "timezone": self.timezone,
                }

    def _vat_table(self, lines: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
        """Globe's VAT codes (``VAT``: code -> percentage and basis), read once, and only
        when a line names a code instead of carrying its percentage."""
        needed = any(
            ln.get("VATCode") not in (None, "") and "VATPercentage" not in ln
            for rows in lines.values()
            for ln in rows
        )
        if self._vat is None and needed:
            self._vat = {
                _code(r.get("VATCode")): {
                    k: r.get(k) for k in ("VATCode", "Percentage", "Calculationbasis")
                }
                for r in self.client.query(
                    "VAT", select=["VATCode", "Percentage", "Calculationbasis"]
                )
            }
        return self._vat or {}

    def _lines(self, numbers: list[Any]) -> dict[str, list[dict[str, Any]]]:
        """Order number (stripped) -> its ``SalesOrderLine`` rows in line order, batched;
        filtered by the numbers as Globe sent them (padded char values)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for flt in any_of("SalesOrderNumber", [str(n) for n in numbers if n is not None]):
            for row in self.client.query(
                "SalesOrderLine", filter=flt, orderby=["SalesOrderNumber", "LineNumber"]
            ):
                out.setdefault(_code(_number(row)), []).append(row)
        for rows in out.values():
            rows.sort(key=_line_number)
        return out

    def _accounts(self, codes: list[str], cache: dict[str, dict[str, Any] | None]) -> None:
        """Read the ``Account`` of each debtor code not in ``cache`` (batched). Globe's
        Account carries its main contact (``ContactFirstName``, ``ContactEmail``...); an
        account without those fields gets its default ``Contact`` (or its first, when none
        is marked) read and embedded as ``contacts`` [U].

        A code Globe does not know is cached as ``None``: the translation then names the
        header's ``OrderDebtor``. Only the default contact is embedded: a company can have
        dozens, and the record travels as an XCom.
        """
        todo = [c for c in dict.fromkeys(codes) if c and c not in cache]
        found: dict[str, dict[str, Any]] = {}
        for flt in any_of("DebtorCode", todo):
            for row in self.client.query("Account", filter=flt):
                found.setdefault(_code(row.get("DebtorCode")), {**row, "contacts": []})
        by_id = {
            str(a["ID"]): a
            for a in found.values()
            if a.get("ID") and not any(k.startswith("Contact") and k != "contacts" for k in a)
        }
        for flt in _guids("Account", by_id):
            for contact in self.client.query("Contact", filter=flt):
                owner = by_id.get(str(contact.get("Account")))
                if owner is not None:
                    owner["contacts"].append(contact)
        for account in found.values():
            contacts = account["contacts"]
            default = next(
                (c for c in contacts if c.get("IsDefault") in (True, 1, "1")),
                contacts[0] if contacts else None,
            )
            account["contacts"] = [default] if default is not None else []
        for code in todo:
            cache[code] = found.get(code)

    def order_id(self, record: dict[str, Any]) -> str:
        """The header's ``OrderNumber``, readable from a malformed record (``"?"`` if not)."""
        return order_id(record)

    def to_order(self, record: dict[str, Any]) -> Order:
        """Translate; raises ``RecordError`` naming the Globe field when unusable."""
        return order_from_globe(record)

    def confirm_order(self, order_id: str, fields: Mapping[str, Any]) -> None:
        """MERGE ``fields`` onto the order's ``SalesOrderHeader`` (e.g. ``YourReference``
        = the webshop's order id once the webshop booked it).

        The key is the header's ``SalesOrderNumber`` as Globe sent it (the entity's key
        property), from the read that yielded the order, else from one lookup. An order
        Globe no longer has is a ``RecordError``. The MERGE bumps ``Modified``: the
        order shows up in the next window.
        """
        if not fields:
            return
        key = self._header_keys.get(order_id)
        if key is None:
            rows = list(
                self.client.query(
                    "SalesOrderHeader",
                    filter=f"SalesOrderNumber eq {odata_quote(order_id)}",
                    select=["SalesOrderNumber"],
                )
            )
            if not rows:
                raise RecordError(
                    "order",
                    order_id,
                    "SalesOrderNumber",
                    f"sales order {order_id} not found in Exact Globe",
                )
            key = self._header_keys[order_id] = str(_number(rows[0]))
        self.client.merge_key(
            "SalesOrderHeader", odata_quote(key), {k: wire(v) for k, v in fields.items()}
        )
