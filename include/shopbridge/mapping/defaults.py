"""Default mappings: what makes a pair work with no ``mapping:`` at all.

The field names are each target vendor's business, so the tables live in the target
connector's ``defaults.py``; the connector registry hands them here as one
:class:`VendorDefaults` per target. What is left here is the generic part: picking a
pair's entity, switching to the incl.-tax rules, and layering the YAML on top. This
module imports nothing above ``mapping`` (no config, no connectors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shopbridge.mapping.engine import Mapper
from shopbridge.mapping.spec import EntityMapping, MappingSpec, ValueMap


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
