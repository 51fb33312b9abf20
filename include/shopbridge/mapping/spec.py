"""The ``mapping:`` section of an integration file, as frozen pydantic models (STYLE R10).

These models check the *shape* (one of ``source``/``const``, a value map's default when
it needs one). Whether a path exists or a transform is known needs the pair's defaults and
value maps, so :class:`~shopbridge.mapping.engine.Mapper` checks that when it is built,
which the integration file's validator does at load time.

A rule can be written out or as one line::

    PaymentCondition: {source: order.payment_method, transforms: [lookup(payment_condition)]}
    Description: "order.number | upper | truncate(40)"
    Note: "[source.memo, order.number] | concat(' / ')"
    Warehouse: {const: "1"}
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

_QUOTES = "'\""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def lookup_key(value: Any) -> str:
    """How a value is compared with value-map keys: as text, numbers without noise.

    Why: YAML reads ``0.21:`` as a float and the canonical model holds ``Decimal('0.210')``;
    both must hit the same entry, so numbers become their shortest fixed-point text.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quotes, parentheses and brackets (``concat('|')`` is one part)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in _QUOTES:
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


class ValueMap(_Frozen):
    """A table from source values to target codes, and what a value with no entry means.

    ``on_missing``: ``default`` uses ``default``; ``quarantine`` sets the record aside
    with the value and the map named; ``passthrough`` sends the source value as it is.
    """

    values: dict[str, str] = {}
    default: str | None = None
    on_missing: Literal["default", "quarantine", "passthrough"] = "passthrough"

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {lookup_key(k): lookup_key(v) for k, v in value.items()}
        return value

    @field_validator("default", mode="before")
    @classmethod
    def _default_text(cls, value: Any) -> Any:
        return None if value is None else lookup_key(value)

    @model_validator(mode="after")
    def _default_needed(self) -> ValueMap:
        if self.on_missing == "default" and self.default is None:
            raise ValueError("on_missing: default needs a default value")
        return self


class FieldRule(_Frozen):
    """One target field: from ``source`` (a path or a list of paths) or ``const``, then
    ``transforms`` applied left to right."""

    source: str | list[str] | None = None
    const: str | int | float | bool | None = None
    transforms: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return parse_rule(data)
        if isinstance(data, bool | int | float):
            return {"const": data}
        return data

    @model_validator(mode="after")
    def _one_origin(self) -> FieldRule:
        if (self.source is None) == (self.const is None):
            raise ValueError("set exactly one of source or const")
        if isinstance(self.source, list) and not self.source:
            raise ValueError("source list is empty")
        return self

    @classmethod
    def of(cls, text: str) -> FieldRule:
        """A rule from its one-line form."""
        return cls.model_validate(text)

    @property
    def sources(self) -> tuple[str, ...]:
        if self.source is None:
            return ()
        return (self.source,) if isinstance(self.source, str) else tuple(self.source)

    def text(self) -> str:
        """The one-line form, as ``shopbridge mapping show`` prints it."""
        if self.source is None:
            head = f"const {self.const!r}"
        elif isinstance(self.source, list):
            head = f"[{', '.join(self.source)}]"
        else:
            head = self.source
        return " | ".join((head, *self.transforms))


def parse_rule(text: str) -> dict[str, Any]:
    """``"[a, b] | concat(' ') | upper"`` -> ``{"source": [a, b], "transforms": (...)}``."""
    head, *transforms = split_top(text.strip(), "|")
    source: str | list[str] = head
    if head.startswith("[") and head.endswith("]"):
        source = [p for p in split_top(head[1:-1], ",") if p]
    return {"source": source, "transforms": tuple(transforms)}


class EntityMapping(_Frozen):
    """Target fields of one entity: its ``header`` and per-line ``lines`` fields.

    ``drop`` removes default fields (``"AmountDC"`` or ``"lines.VATPercentage"``).
    """

    header: dict[str, FieldRule] = {}
    lines: dict[str, FieldRule] = {}
    drop: tuple[str, ...] = ()


class MappingSpec(_Frozen):
    """The whole ``mapping:`` section of an integration file."""

    value_maps: dict[str, ValueMap] = {}
    orders: EntityMapping = EntityMapping()
    #: ``header``: fields of every item of a product; ``lines``: per variant item
    products: EntityMapping = EntityMapping()
