"""Apply a pair's mapping to one order: canonical ``Order`` + raw record -> target fields.

Why a separate step from ``translate.py``: the translator makes the vendor's record
canonical (and is the same for every customer); the mapper decides what each target field
gets (and differs per customer). The target connector adds only what it must set itself
(transaction keys, debtor, line numbers) to the :class:`MappedOrder` it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Literal

from shopbridge.errors import RecordError
from shopbridge.mapping import paths, transforms
from shopbridge.mapping.spec import EntityMapping, FieldRule, MappingSpec, ValueMap
from shopbridge.models import Order, Product

Section = Literal["header", "lines"]
Loc = tuple[str | int, ...]


class MappingError(ValueError):
    """A rule that cannot work; ``loc`` is its place under the flow's ``mapping`` key."""

    def __init__(self, loc: Loc, reason: str) -> None:
        super().__init__(f"{'.'.join(str(p) for p in loc)}: {reason}")
        self.loc = loc
        self.reason = reason


def jsonable(value: Any) -> Any:
    """Payload-safe values: Decimals as fixed-point text (``"12.50"``, never a float or
    ``"1E+1"``: a JSON number passes through a float somewhere), dates as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class MappedOrder:
    """One order in the target's field names; every value is JSON-able already."""

    header: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"header": dict(self.header), "lines": [dict(line) for line in self.lines]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MappedOrder:
        return cls(header=dict(data["header"]), lines=[dict(x) for x in data.get("lines", [])])


@dataclass(frozen=True)
class _Rule:
    """A rule checked and compiled once: its sources and its parsed transform chain."""

    section: Section
    target: str
    rule: FieldRule
    origin: str
    chain: tuple[transforms.Transform, ...]

    def value(self, scope: Mapping[str, Any]) -> Any:
        if self.rule.source is None:
            value: Any = self.rule.const
        elif isinstance(self.rule.source, list):
            value = [paths.resolve(p, scope) for p in self.rule.source]
        else:
            value = paths.resolve(self.rule.source, scope)
        for step in self.chain:
            value = step(value)
        return value

    def what(self) -> str:
        """How a reason names the source value: ``order.payment_method`` -> "payment method"."""
        if isinstance(self.rule.source, str):
            last = paths.split(self.rule.source)[1][-1]
            return str(last).replace("_", " ")
        return "value"


def _compile(
    section: Section,
    target: str,
    rule: FieldRule,
    origin: str,
    value_maps: Mapping[str, ValueMap],
    entity: str = "orders",
) -> _Rule:
    loc: Loc = (section, target)
    for i, path in enumerate(rule.sources):
        try:
            paths.check_path(path, allow_line=section == "lines", entity=entity)
        except ValueError as err:
            where = "source" if isinstance(rule.source, str) else f"source[{i}]"
            raise MappingError((*loc, where), str(err)) from None
    chain = []
    for i, text in enumerate(rule.transforms):
        try:
            chain.append(transforms.parse(text, value_maps))
        except ValueError as err:
            raise MappingError((*loc, f"transforms[{i}]"), str(err)) from None
    return _Rule(section, target, rule, origin, tuple(chain))


def _merge(
    defaults: EntityMapping,
    own: EntityMapping,
) -> dict[Section, dict[str, tuple[FieldRule, str]]]:
    """Defaults, minus ``drop``, then the YAML's fields replacing or adding."""
    merged: dict[Section, dict[str, tuple[FieldRule, str]]] = {
        "header": {k: (r, "default") for k, r in defaults.header.items()},
        "lines": {k: (r, "default") for k, r in defaults.lines.items()},
    }
    for i, name in enumerate(own.drop):
        section, _, target = name.rpartition(".")
        sections: tuple[Section, ...] = ("header", "lines")
        hits = [s for s in sections if (not section or s == section) and target in merged[s]]
        if section not in ("", "header", "lines") or not hits:
            known = [f"{s}.{k}" for s in sections for k in merged[s]]
            raise MappingError(
                (f"drop[{i}]",),
                f"{name!r} is not a default field; known: {', '.join(known) or '-'}",
            )
        for s in hits:
            del merged[s][target]
    for k, r in own.header.items():
        merged["header"][k] = (r, "yaml")
    for k, r in own.lines.items():
        merged["lines"][k] = (r, "yaml")
    return merged


class Mapper:
    """The effective mapping of one flow: built (and fully checked) once, used per record.

    ``base_value_maps`` are the pair's default maps (empty passthrough tables the default
    rules look up); the YAML's ``value_maps`` replace them by name.
    """

    def __init__(
        self,
        spec: MappingSpec,
        defaults: EntityMapping,
        *,
        entity: str = "orders",
        base_value_maps: Mapping[str, ValueMap] | None = None,
    ) -> None:
        self.spec = spec
        self.entity = entity
        self.value_maps: dict[str, ValueMap] = {**(base_value_maps or {}), **spec.value_maps}
        own = getattr(spec, entity, None)
        if not isinstance(own, EntityMapping):
            raise MappingError((entity,), "no mapping section for this entity")
        merged = _merge(defaults, own)
        if entity not in paths.ENTITY_ROOTS:
            raise MappingError((entity,), "no field mapping for this entity")
        self.header_rules = tuple(
            _compile("header", k, r, o, self.value_maps, entity)
            for k, (r, o) in merged["header"].items()
        )
        self.line_rules = tuple(
            _compile("lines", k, r, o, self.value_maps, entity)
            for k, (r, o) in merged["lines"].items()
        )

    def table(self) -> list[tuple[str, str, str, str]]:
        """(section, target field, rule as text, origin "default"/"yaml") per field."""
        return [
            (r.section, r.target, r.rule.text(), r.origin)
            for r in (*self.header_rules, *self.line_rules)
        ]

    def map_order(self, order: Order, raw: Mapping[str, Any]) -> MappedOrder:
        """Map one order; a field that cannot be filled raises :class:`RecordError`."""
        dumped = order.model_dump(mode="python")
        scope: dict[str, Any] = {"order": dumped, "source": raw}
        header = self._fields(self.header_rules, scope, order.ref.id, "header")
        lines = [
            self._fields(self.line_rules, {**scope, "line": line}, order.ref.id, f"lines[{i}]")
            for i, line in enumerate(dumped["lines"])
        ]
        return MappedOrder(header=header, lines=lines)

    def map_product(self, product: Product, raw: Mapping[str, Any]) -> MappedOrder:
        """Map one product: ``header`` = the product's item fields, ``lines`` = one set of
        item fields per variant (the same shape as an order, so the same rules apply)."""
        dumped = product.model_dump(mode="python")
        scope: dict[str, Any] = {"product": dumped, "source": raw}
        header = self._fields(self.header_rules, scope, product.ref.id, "header", "product")
        lines = [
            self._fields(
                self.line_rules,
                {**scope, "variant": v},
                product.ref.id,
                f"variants[{i}]",
                "product",
            )
            for i, v in enumerate(dumped["variants"])
        ]
        return MappedOrder(header=header, lines=lines)

    @staticmethod
    def _fields(
        rules: tuple[_Rule, ...],
        scope: Mapping[str, Any],
        source_id: str,
        where: str,
        entity: str = "order",
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for rule in rules:
            try:
                value = rule.value(scope)
            except transforms.MissingMapping as miss:
                raise RecordError(
                    entity,
                    source_id,
                    f"{where}.{rule.target}",
                    f"{rule.what()} {miss.value!r} has no entry in value map {miss.map_name!r}",
                ) from None
            except (ValueError, TypeError, ArithmeticError, InvalidOperation) as err:
                raise RecordError(
                    entity, source_id, f"{where}.{rule.target}", f"{rule.rule.text()}: {err}"
                ) from None
            if value is not None:
                out[rule.target] = jsonable(value)
        return out
