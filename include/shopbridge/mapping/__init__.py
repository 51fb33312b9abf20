"""The datamapper: canonical records -> a target's payload fields, per pair and entity.

Why a mapper and not more ``if`` chains in ``translate.py``: what a target field gets
(a source path, a constant, a value-map lookup) differs per customer, so it is data in the
pair's YAML (``mapping:``) on top of a default mapping shipped in code
(:mod:`shopbridge.mapping.defaults`). Every rule is checked when the YAML is loaded, so a
typo fails at DAG parse time naming the file and the field, never in the middle of a run.
"""

from __future__ import annotations

from shopbridge.mapping.engine import MappedOrder, Mapper, MappingError
from shopbridge.mapping.spec import EntityMapping, FieldRule, MappingSpec, ValueMap

__all__ = [
    "EntityMapping",
    "FieldRule",
    "MappedOrder",
    "Mapper",
    "MappingError",
    "MappingSpec",
    "ValueMap",
]
