"""Named transforms a mapping rule chains after its source: ``upper``, ``truncate(40)``...

Each entry of :data:`TRANSFORMS` is a factory: given the argument text and the value maps,
it returns the function, or raises ``ValueError`` (bad argument, unknown map). So every
problem surfaces when the YAML is loaded, and at run time a rule is just a few calls.

``None`` means "no value" and passes through every transform except ``default`` and
``coalesce``: the engine leaves a ``None`` field out of the payload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopbridge.mapping.spec import ValueMap, lookup_key, split_top

Fn = Callable[[Any], Any]
Factory = Callable[[str | None, Mapping[str, ValueMap]], Fn]
_CALL = re.compile(r"^([a-z_]+)\s*(?:\((.*)\))?$", re.DOTALL)
#: "Hoofdstraat 12A" -> ("Hoofdstraat", "12A"); the street part ends in a non-digit
_HOUSE = re.compile(r"^(.*?\D)[\s,]*(\d.*)$")


class MissingMapping(Exception):
    """A value has no entry in a value map whose ``on_missing`` is ``quarantine``."""

    def __init__(self, map_name: str, value: Any) -> None:
        super().__init__(f"{value!r} has no entry in value map {map_name!r}")
        self.map_name = map_name
        self.value = value


@dataclass(frozen=True)
class Transform:
    """A parsed transform: its text (for tables and errors) and the function it runs."""

    text: str
    fn: Fn

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else lookup_key(value)


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value).strip())


def _unquote(arg: str) -> str:
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "'\"":
        return arg[1:-1]
    return arg


def _skip_none(fn: Fn) -> Fn:
    return lambda v: None if v is None else fn(v)


def _no_arg(fn: Fn) -> Factory:
    def make(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
        if arg is not None:
            raise ValueError("takes no argument")
        return _skip_none(fn)

    return make


def _int_arg(fn: Callable[[Any, int], Any]) -> Factory:
    def make(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
        if arg is None or not arg.isdigit():
            raise ValueError(f"needs a whole number argument, got {arg!r}")
        n = int(arg)
        return _skip_none(lambda v: fn(v, n))

    return make


def _split_house(value: Any) -> tuple[str, str]:
    m = _HOUSE.match(_text(value).strip())
    return (m.group(1).strip(" ,"), m.group(2).strip()) if m else (_text(value).strip(), "")


def _percent(value: Any) -> Decimal:
    """A rate (0.21) as a percentage (21): no trailing zeros, never an exponent."""
    pct = (_number(value) * 100).normalize()
    return pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct


def _address_line(value: Any) -> str:
    """A canonical address as one line: ``street number+ext`` (what one-line targets want)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected an address, got {type(value).__name__}")
    number = f"{value.get('house_number') or ''}{value.get('house_number_ext') or ''}"
    return " ".join(p for p in (value.get("street") or "", number) if p)


def _concat(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
    sep = " " if arg is None else _unquote(arg)

    def run(value: Any) -> Any:
        parts = value if isinstance(value, list | tuple) else [value]
        return sep.join(_text(p) for p in parts if p is not None and p != "")

    return run


def _coalesce(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
    if arg is not None:
        raise ValueError("takes no argument")

    def run(value: Any) -> Any:
        parts = value if isinstance(value, list | tuple) else [value]
        return next((p for p in parts if p is not None and p != ""), None)

    return run


def _date_format(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
    if not arg:
        raise ValueError("needs a strftime format, e.g. date_format(%Y-%m-%d)")
    fmt = _unquote(arg)

    def run(value: Any) -> str:
        when = value if isinstance(value, date) else datetime.fromisoformat(_text(value))
        return when.strftime(fmt)

    return _skip_none(run)


def _decimal(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
    if arg is None or not arg.isdigit():
        raise ValueError(f"needs the number of decimal places, got {arg!r}")
    exp = Decimal(1).scaleb(-int(arg))
    return _skip_none(lambda v: _number(v).quantize(exp, rounding=ROUND_HALF_UP))


def _default(arg: str | None, _maps: Mapping[str, ValueMap]) -> Fn:
    if arg is None:
        raise ValueError("needs the value to use, e.g. default('n/a')")
    fallback = _unquote(arg)
    return lambda v: fallback if v is None or v == "" else v


def _lookup(arg: str | None, maps: Mapping[str, ValueMap]) -> Fn:
    name = _unquote(arg or "")
    if name not in maps:
        raise ValueError(f"unknown value map {name!r}; known: {', '.join(sorted(maps)) or '-'}")
    table = maps[name]

    def run(value: Any) -> Any:
        key = lookup_key(value)
        if key in table.values:
            return table.values[key]
        if table.on_missing == "default":
            return table.default
        if table.on_missing == "quarantine":
            raise MissingMapping(name, value)
        return value

    return _skip_none(run)


TRANSFORMS: dict[str, Factory] = {
    "upper": _no_arg(lambda v: _text(v).upper()),
    "lower": _no_arg(lambda v: _text(v).lower()),
    "strip": _no_arg(lambda v: _text(v).strip()),
    "truncate": _int_arg(lambda v, n: _text(v)[:n]),
    "split_house_number": _no_arg(lambda v: _split_house(v)[1]),
    "street_only": _no_arg(lambda v: _split_house(v)[0]),
    "address_line": _no_arg(_address_line),
    "concat": _concat,
    "coalesce": _coalesce,
    "date_format": _date_format,
    "lookup": _lookup,
    "percent": _no_arg(_percent),
    "decimal": _decimal,
    "default": _default,
    "omit_empty": _no_arg(lambda v: None if v == "" else v),
    "text": _no_arg(_text),
}


def parse(spec: str, value_maps: Mapping[str, ValueMap]) -> Transform:
    """``"truncate(40)"`` -> a :class:`Transform`; ``ValueError`` names what is wrong."""
    m = _CALL.match(spec.strip())
    name = m.group(1) if m else spec.strip()
    if m is None or name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; known: {', '.join(sorted(TRANSFORMS))}")
    arg = m.group(2)
    if arg is not None and len(split_top(arg, ",")) > 1:
        raise ValueError(f"{name}: takes one argument, got {arg!r} (quote text with commas)")
    try:
        fn = TRANSFORMS[name](None if arg is None else arg.strip(), value_maps)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return Transform(spec.strip(), fn)
