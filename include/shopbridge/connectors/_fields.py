"""Typed reads of a vendor record where every failure names the vendor's field.

Each connector's translator reads text, numbers and flags out of raw JSON and must turn a
wrong value into a :class:`~shopbridge.errors.RecordError` naming the record and the field
(``lines[2].Quantity``), not a crash. The rules are the same for every vendor, so they live
here once; a connector subclasses :class:`FieldReader` for its own quirks (its timestamps,
its spelling of true and false).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from shopbridge.errors import RecordError

T = TypeVar("T")


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


class FieldReader:
    """One part of a raw record (``raw``), its record's id, and the path prefix that makes a
    field's name complete (``"lines[2]."``)."""

    #: the spellings a flag field may use, lower-cased
    TRUE: frozenset[str] = frozenset({"true", "1"})
    FALSE: frozenset[str] = frozenset({"false", "0"})

    def __init__(
        self, raw: Mapping[str, Any], entity: str, source_id: str, prefix: str = ""
    ) -> None:
        self.raw = raw
        self.entity = entity
        self.source_id = source_id
        self.prefix = prefix

    def fail(self, key: str, reason: str) -> RecordError:
        return RecordError(self.entity, self.source_id, f"{self.prefix}{key}", reason)

    def text(self, key: str, *, required: bool = False) -> str:
        """Text, trimmed; ``None`` reads as ""; a number (a numeric code) as its text."""
        value = self.raw.get(key)
        if value is None:
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
        if value is None or value == "":
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
