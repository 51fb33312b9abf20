"""Dotted source paths (``order.shipping_address.city``, ``line.sku``, ``source.memo``).

Roots per entity: for orders ``order.`` is the canonical :class:`~shopbridge.models.Order`
(dumped in python mode, so money stays ``Decimal``) and ``line.`` the current canonical
line (only in ``lines`` rules); for products ``product.`` and ``variant.`` (one item per
variant, in ``lines`` rules); ``source.`` is the raw vendor record, for custom fields the
canonical model does not carry. Canonical paths are checked against the pydantic models when the
YAML is loaded (``order.numbr`` fails at parse time); ``source.`` paths are free-form, as
vendors add fields at will. At run time a missing value is ``None``, never an error: the
rule's transforms (``default``, ``lookup``) decide what a gap means.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from shopbridge.models import Order, OrderLine, Product, Variant

ROOTS: dict[str, type[BaseModel] | None] = {
    "order": Order,
    "line": OrderLine,
    "product": Product,
    "variant": Variant,
    "source": None,
}
#: entity -> (its header root, its per-line root)
ENTITY_ROOTS: dict[str, tuple[str, str]] = {
    "orders": ("order", "line"),
    "products": ("product", "variant"),
}
Segment = str | int
_ROOT = re.compile(r"^([a-z]+)")
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


@lru_cache(maxsize=1024)
def split(path: str) -> tuple[str, tuple[Segment, ...]]:
    """``"order.lines[0].sku"`` -> ``("order", ("lines", 0, "sku"))``; ValueError on bad syntax."""
    m = _ROOT.match(path)
    root = m.group(1) if m else ""
    if root not in ROOTS:
        raise ValueError(
            f"path {path!r} must start with one of "
            f"{', '.join(r + '.' for r in ROOTS)} (for a constant use const:)"
        )
    segments: list[Segment] = []
    pos = len(root)
    while pos < len(path):
        seg = _SEGMENT.match(path, pos)
        if seg is None:
            raise ValueError(f"path {path!r}: bad syntax at {path[pos:]!r}")
        segments.append(seg.group(1) if seg.group(1) is not None else int(seg.group(2)))
        pos = seg.end()
    if not segments:
        raise ValueError(f"path {path!r} names no field under {root}.")
    return root, tuple(segments)


def _unwrap_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def check_path(path: str, *, allow_line: bool, entity: str = "orders") -> None:
    """Validate syntax and root; walk canonical paths through the pydantic model fields."""
    root, segments = split(path)
    head, line = ENTITY_ROOTS[entity]
    if root == line and not allow_line:
        raise ValueError(f"path {path!r}: {line}. paths are only valid in lines rules")
    if root not in (head, line, "source"):
        raise ValueError(f"path {path!r}: {entity} rules take {head}., {line}. or source. paths")
    tp: Any = ROOTS[root]
    if tp is None:
        return
    walked = root
    for seg in segments:
        tp = _unwrap_optional(tp)
        if get_origin(tp) is dict:  # free-form keys (attributes, features)
            return
        if isinstance(seg, int):
            if get_origin(tp) not in (tuple, list):
                raise ValueError(f"path {path!r}: {walked} is not a list")
            tp = get_args(tp)[0]
            walked += f"[{seg}]"
            continue
        if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
            raise ValueError(f"path {path!r}: {walked} has no fields")
        if seg not in tp.model_fields:
            raise ValueError(
                f"path {path!r}: {walked} has no field {seg!r}; known: {', '.join(tp.model_fields)}"
            )
        tp = tp.model_fields[seg].annotation
        walked += f".{seg}"


def resolve(path: str, scope: Mapping[str, Any]) -> Any:
    """The value at ``path`` in ``scope`` (root name -> data), or ``None`` when absent."""
    root, segments = split(path)
    value: Any = scope.get(root)
    for seg in segments:
        if isinstance(seg, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or seg >= len(value):
                return None
            value = value[seg]
        elif isinstance(value, Mapping):
            value = value.get(seg)
        else:
            return None
    return value
