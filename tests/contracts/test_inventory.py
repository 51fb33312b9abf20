"""The recorded payloads as a whole: each one has a source a person can check, and each one
is read by a contract test (a payload nobody asserts grounds nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent
SYSTEMS = (
    "lightspeed_ecom",
    "lightspeed_retail",
    "ccv_salespos",
    "exact_globe",
    "accountview",
    "fortnox",
    "buckles",
)
PAYLOADS = sorted(p for s in SYSTEMS for p in (ROOT / s).glob("*.json"))
TESTS = "\n".join(p.read_text(encoding="utf-8") for p in ROOT.glob("test_*.py"))
SOURCES = (ROOT / "SOURCES.md").read_text(encoding="utf-8")


def test_at_least_80_recorded_payloads_over_the_seven_systems() -> None:
    assert len(PAYLOADS) >= 80
    assert {p.parent.name for p in PAYLOADS} == set(SYSTEMS)


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_payload_has_its_source_listed(path: Path) -> None:
    section = SOURCES.split(f"## {path.parent.name}", 1)
    assert len(section) == 2, f"SOURCES.md has no section ## {path.parent.name}"
    assert re.search(rf"\b{re.escape(path.name)}\b", section[1].split("\n## ", 1)[0]), (
        f"{path.name} is not listed under ## {path.parent.name} in SOURCES.md"
    )


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_payload_is_read_by_a_contract_test(path: Path) -> None:
    stem = path.name.removesuffix(".json")
    # read by name, or by a parametrised name: f"fields.{table}" with "contact" a case
    resource, _, case = stem.partition(".")
    parametrised = f"{resource}.{{" in TESTS and f'"{case}"' in TESTS
    assert path.name in TESTS or f'"{stem}"' in TESTS or parametrised, (
        f"no contract test reads {path.parent.name}/{path.name}"
    )
