"""Typed reads of a vendor record where every failure names the vendor's field.

Each connector's translator reads text, numbers and flags out of raw JSON and must turn a
wrong value into a :class:`~shopbridge.errors.RecordError` naming the record and the field
(``lines[2].Quantity``), not a crash. The rules are the same for every vendor, so they live
here once; a connector subclasses :class:`FieldReader` for its own quirks (its timestamps,
its spelling of true and false).

Quirks a vendor really has are options a subclass switches on, never looser rules for all:
``FALSE_IS_EMPTY`` (Lightspeed sends ``false`` for an empty value or reference),
``LONE_OBJECT`` (what an object where a list of objects belongs means) and ``NAIVE_ZONE``
(the zone of a timestamp without an offset, where the vendor documents one). Numbers sent
as strings (``"12.50"``) and ``null`` next to ``""`` are read the same way for every
vendor, since every vendor does it somewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal, TypedDict, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from shopbridge.errors import RecordError

T = TypeVar("T")


#: :meth:`FieldReader.objects` reads the record's own field unless given a value
_RAW: Any = object()

#: a number with more integer digits than this is refused as absurd (the canonical models
#: keep 14 digits of which 4 decimals)
MAX_DIGITS = 10


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` when unknown (or no zone name at all: a long
    string fails in the filesystem lookup with ``OSError``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name[:60]!r}") from exc


class ItemKeyFields(TypedDict):
    """A record's item keys under the canonical models' names, to pass on as
    ``Variant(**keys, ...)``."""

    sku: str
    article_code: str
    ean: str


def key_text(value: Any) -> str:
    """A record's key (text or a number) as stripped text, ``""`` for anything else: an id
    must be readable from a malformed record too, to name it in the error."""
    if value is None or isinstance(value, bool | Mapping | list):
        return ""
    return str(value).strip()


class FieldReader:
    """One part of a raw record (``raw``), its record's id, and the path prefix that makes a
    field's name complete (``"lines[2]."``)."""

    #: the spellings a flag field may use, lower-cased
    TRUE: frozenset[str] = frozenset({"true", "1"})
    FALSE: frozenset[str] = frozenset({"false", "0"})
    #: whether ``false`` reads as an empty value (text "", a number missing): a vendor that
    #: sends ``false`` for "not set" (Lightspeed eCom); else ``false`` in a text or number
    #: field is an error
    FALSE_IS_EMPTY: ClassVar[bool] = False
    #: what an object where a list of objects belongs means: an error, the one row of the
    #: list (a vendor that answers a lone row unwrapped), or rows keyed by their id
    #: (Lightspeed eCom embeds some to-many relations as ``{"123": {...}, ...}``)
    LONE_OBJECT: ClassVar[Literal["refuse", "row", "keyed"]] = "refuse"
    #: the zone of an ISO timestamp sent without an offset (CCV and Buckles document UTC);
    #: ``None``: such a timestamp is an error, its instant would be a guess
    NAIVE_ZONE: ClassVar[tzinfo | None] = None

    def __init__(
        self, raw: Mapping[str, Any], entity: str, source_id: str, prefix: str = ""
    ) -> None:
        self.raw = raw
        self.entity = entity
        self.source_id = source_id
        self.prefix = prefix

    def fail(self, key: str, reason: str) -> RecordError:
        return RecordError(self.entity, self.source_id, f"{self.prefix}{key}", reason)

    def _empty(self, value: Any) -> bool:
        """``None`` or "" (and ``false`` where the vendor means "not set" by it)."""
        return value is None or value == "" or (value is False and self.FALSE_IS_EMPTY)

    def has(self, key: str) -> bool:
        """Whether ``key`` holds a value (not absent or empty)."""
        return not self._empty(self.raw.get(key))

    def text(self, key: str, *, required: bool = False) -> str:
        """Text, trimmed; ``None`` reads as ""; a number (a numeric code) as its text."""
        value = self.raw.get(key)
        if self._empty(value):
            value = ""
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {type(value).__name__}")
        if required and not value.strip():
            raise self.fail(key, "missing or empty")
        return value.strip()

    def decimal(self, key: str, *, default: Decimal | None = None) -> Decimal:
        """A finite number; missing or "" is ``default`` (or an error without one)."""
        value = self.raw.get(key)
        if self._empty(value):
            if default is not None:
                return default
            raise self.fail(key, "missing")
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise self.fail(key, f"expected a number, got {type(value).__name__}")
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise self.fail(key, f"not a number: {value!r}") from None
        if not number.is_finite():
            raise self.fail(key, f"not a finite number: {value!r}")
        if number.adjusted() >= MAX_DIGITS:  # no price or quantity has 13 digits
            raise self.fail(key, f"out of range: {value!r}")
        return number

    def percentage(self, key: str, *, default: Decimal | None = None) -> Decimal:
        """A percentage (21 for 21 %); outside 0..100 is an error."""
        pct = self.decimal(key, default=default)
        if not 0 <= pct <= 100:
            raise self.fail(key, f"not a percentage: {pct}")
        return pct

    def rate(self, key: str) -> Decimal:
        """A VAT percentage (21) as the canonical rate, a fraction (0.21)."""
        return (self.percentage(key) / 100).normalize()

    def flag(self, key: str, *, default: bool = False) -> bool:
        """A boolean in any of the vendor's spellings; missing or "" is ``default``."""
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise self.fail(key, f"expected true or false, got {value!r}")

    def timestamp(self, key: str, *, zone: tzinfo | None = None) -> datetime:
        """A required ISO 8601 timestamp; one without an offset is in ``zone`` (a
        connection's setting), else in :attr:`NAIVE_ZONE`, else an error."""
        return self._instant(key, self.text(key, required=True), zone)

    def timestamp_or_none(self, key: str, *, zone: tzinfo | None = None) -> datetime | None:
        """:meth:`timestamp` for a field that may be empty (``None`` then)."""
        text = self.text(key)
        return self._instant(key, text, zone) if text else None

    def _instant(self, key: str, text: str, zone: tzinfo | None) -> datetime:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(key, f"not an ISO 8601 timestamp: {text!r}") from None
        if parsed.tzinfo is not None:
            return parsed
        zone = zone or self.NAIVE_ZONE
        if zone is None:
            raise self.fail(key, f"timestamp has no UTC offset: {text!r}")
        return parsed.replace(tzinfo=zone)

    def item_keys(self, sku: str, article_code: str, ean: str) -> ItemKeyFields:
        """The SKU, article code and EAN from the vendor fields named (``""``: the vendor
        has no such field), each kept in its own place (the pair's ``item_key`` rule picks
        one later). None set is an error naming the first field: the item could never be
        matched in the other system."""
        keys = ItemKeyFields(
            sku=self.text(sku) if sku else "",
            article_code=self.text(article_code) if article_code else "",
            ean=self.text(ean) if ean else "",
        )
        if not any(keys.values()):
            named = list(dict.fromkeys(k for k in (sku, article_code, ean) if k))
            listed = " and ".join(filter(None, (", ".join(named[:-1]), named[-1])))
            are = {1: "is", 2: "are both"}.get(len(named), "are all")
            raise self.fail(named[0], f"no item key: {listed} {are} empty")
        return keys

    def objects(self, key: str, value: Any = _RAW) -> list[Mapping[str, Any]]:
        """The objects of the list at ``key`` (or ``value``, found there by the caller: an
        embedded relation); empty reads as none. Each must be an object (``key[i]``
        names one that is not); an object for the whole list reads by ``LONE_OBJECT``."""
        if value is _RAW:
            value = self.raw.get(key)
        if self._empty(value):
            return []
        if isinstance(value, Mapping) and self.LONE_OBJECT != "refuse":
            value = list(value.values()) if self.LONE_OBJECT == "keyed" else [value]
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__}")
        for i, row in enumerate(value):
            if not isinstance(row, Mapping):
                raise self.fail(f"{key}[{i}]", f"expected an object, got {type(row).__name__}")
        return value

    def build(self, make: Callable[[], T], names: Mapping[str, str], whole: str | None = None) -> T:
        """Run a model constructor; its first validation error becomes a RecordError on the
        vendor field it came from (``names``: canonical field -> vendor field).

        With ``whole`` (the field naming the record as a whole, for a model-level error),
        the error's nested path is kept too: ``lines[2].sku``.
        """
        try:
            return make()
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = first["loc"]
            if whole is None:
                key = names.get(str(loc[0]), str(loc[0])) if loc else names.get("", "")
            elif not loc:
                key = whole
            else:
                key = names.get(str(loc[0]), str(loc[0])) + "".join(
                    f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:]
                )
            raise self.fail(key, first["msg"].removeprefix("Value error, ")) from None
