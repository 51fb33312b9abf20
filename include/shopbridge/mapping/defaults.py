"""Default mappings: what makes a pair work with no ``mapping:`` at all.

The field names are each target vendor's business, so the tables live in the target
connector's ``defaults.py``; the connector registry hands them here as one
:class:`VendorDefaults` per target. What is left here is the generic part: deriving and
switching to the incl.-tax rules, picking a pair's entity, and layering the YAML on top.
This module imports nothing above ``mapping`` (no config, no connectors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shopbridge.mapping.engine import Mapper
from shopbridge.mapping.spec import EntityMapping, FieldRule, MappingSpec, ValueMap

#: one rule as a connector's ``defaults.py`` writes it: the one-line form a pair's YAML
#: takes (``"order.number | upper"``), or a constant (``True``)
RuleText = str | bool | int | float

#: what an amount's path ends in, excl. tax, and its incl.-tax twin's
_EXCL, _INCL = "_excl", "_incl"


def rules(
    header: Mapping[str, RuleText] | None = None, lines: Mapping[str, RuleText] | None = None
) -> EntityMapping:
    """An entity's default rules, written as a pair's YAML ``mapping:`` writes them, so a
    shipped default reads the same as the override that replaces it (and is checked by
    the same model)."""
    return EntityMapping.model_validate({"header": header or {}, "lines": lines or {}})


def incl_tax(mapping: EntityMapping, *amounts: str, flag: str = "") -> EntityMapping:
    """The rules of ``mapping`` that change when a pair sends prices incl. tax.

    Every target switches the same way: each amount field named (``"AmountDC"``, a line's
    ``"lines.Price"``) reads the incl.-tax twin of the canonical amount it reads
    (``line.unit_price_excl`` -> ``line.unit_price_incl``), and the target's own flag for
    it, if it has one, is set to ``True``. The amounts are named rather than every
    ``_excl`` switched, because a target may take some amounts excl. tax either way.
    """
    header: dict[str, FieldRule] = {}
    lines: dict[str, FieldRule] = {}
    for name in amounts:
        part, _, key = name.rpartition(".")
        rules, switched = (mapping.lines, lines) if part == "lines" else (mapping.header, header)
        rule = rules.get(key) if part in ("", "header", "lines") else None
        if rule is None or not (isinstance(rule.source, str) and rule.source.endswith(_EXCL)):
            raise ValueError(f"{name}: not a default field reading an amount excl. tax")
        twin = rule.source.removesuffix(_EXCL) + _INCL
        switched[key] = FieldRule(source=twin, transforms=rule.transforms)
    if flag:
        header[flag] = FieldRule(const=True)
    return EntityMapping(header=header, lines=lines)


@dataclass(frozen=True)
class VendorDefaults:
    """The default tables one target connector ships (its ``defaults.py``)."""

    #: (source, target, entity) -> the rules a pair's entity starts from
    mappings: Mapping[tuple[str, str, str], EntityMapping] = field(default_factory=dict)
    #: (target, entity) -> the rules that change when prices are sent incl. tax
    incl_tax: Mapping[tuple[str, str], EntityMapping] = field(default_factory=dict)
    #: (source, target) -> the value maps the default rules look up
    value_maps: Mapping[tuple[str, str], Mapping[str, ValueMap]] = field(default_factory=dict)

    def mapping(self, source: str, target: str, entity: str) -> EntityMapping:
        """The shipped mapping of a pair's entity; empty when the pair has none."""
        return self.mappings.get((source, target, entity)) or EntityMapping()

    def effective(
        self, source: str, target: str, entity: str, *, prices_include_tax: bool
    ) -> EntityMapping:
        """The pair's defaults with the incl.-tax rules laid over them when asked."""
        base = self.mapping(source, target, entity)
        incl = self.incl_tax.get((target, entity)) if prices_include_tax else None
        if incl is None:
            return base
        return base.model_copy(
            update={"header": {**base.header, **incl.header}, "lines": {**base.lines, **incl.lines}}
        )


def build_mapper(
    spec: MappingSpec,
    defaults: VendorDefaults,
    source: str,
    target: str,
    entity: str,
    *,
    prices_include_tax: bool = False,
) -> Mapper:
    """The effective mapper of one flow: the target's defaults for the direction the flow
    runs in, with the pair's YAML ``mapping:`` on top (its value maps replace by name)."""
    return Mapper(
        spec,
        defaults.effective(source, target, entity, prices_include_tax=prices_include_tax),
        entity=entity,
        base_value_maps=dict(defaults.value_maps.get((source, target), {})),
    )
