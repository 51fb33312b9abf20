"""Compare the *shape* of a sandbox response with a payload recorded from the vendor.

A sandbox written from the docs drifts towards what we wish the vendor sent: numbers
where the vendor sends strings, ``""`` where it sends ``null``, a list where it sends one
child as an object. The drift test of each connector serves the same resource from its
sandbox and asks :func:`shape_diff` for every place the two disagree, so a sandbox can
never again be cleaner than the vendor.

Rules (the recording is the reference):

- every key the recording has must be in the sandbox's object (extra keys are allowed:
  a recording is one account's data, a sandbox may serve fields it left empty);
- a value's JSON type must match: string, number (int and float are one type), boolean,
  object, list; ``null`` in the recording matches anything (the vendor sends ``null``
  when a field is empty, the sandbox may send a value), but a sandbox ``null`` where the
  recording has a value is drift unless the key is in ``nullable``;
- lists compare element by element against the recording's first element (a sandbox's
  empty list matches);
- ``one_or_many`` names keys where the vendor sends one child as an object and several
  as a list (Lightspeed Retail's ``SaleLine``, ``ItemShop``): either form matches either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent


def recorded(system: str, name: str) -> Any:
    """A recorded payload, parsed: ``tests/contracts/<system>/<name>`` (``.json`` optional)."""
    path = ROOT / system / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_bytes(system: str, name: str) -> bytes:
    """The recorded body byte for byte, for an ``httpx.MockTransport`` to serve."""
    path = ROOT / system / (name if name.endswith(".json") else f"{name}.json")
    return path.read_bytes()


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def shape_diff(
    recorded: Any,
    served: Any,
    *,
    path: str = "$",
    one_or_many: Iterable[str] = (),
    nullable: Iterable[str] = (),
) -> list[str]:
    """Every place ``served`` differs in shape from ``recorded``, as ``path: reason`` lines."""
    flip, nulls = frozenset(one_or_many), frozenset(nullable)
    out: list[str] = []
    _diff(recorded, served, path, flip, nulls, out)
    return out


def _key(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def _diff(
    rec: Any, got: Any, path: str, flip: frozenset[str], nulls: frozenset[str], out: list[str]
) -> None:
    key = _key(path)
    if key in flip:
        rec = rec[0] if isinstance(rec, list) and rec else rec
        got = got[0] if isinstance(got, list) and got else got
        if isinstance(rec, list) or isinstance(got, list):  # an empty list: nothing to compare
            return
    rk, gk = kind(rec), kind(got)
    if rk == "null":
        return
    if gk == "null":
        if key not in nulls:
            out.append(f"{path}: the vendor sends {rk}, the sandbox null")
        return
    if rk != gk:
        out.append(
            f"{path}: the vendor sends {rk} ({_short(rec)}), the sandbox {gk} ({_short(got)})"
        )
        return
    if rk == "object":
        for k, v in rec.items():
            if k not in got:
                out.append(f"{path}.{k}: missing in the sandbox (the vendor sends {kind(v)})")
            else:
                _diff(v, got[k], f"{path}.{k}", flip, nulls, out)
    elif rk == "list" and rec:
        for i, item in enumerate(got):
            _diff(rec[0], item, f"{path}[{i}]", flip, nulls, out)


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
