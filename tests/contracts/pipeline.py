"""Recorded payloads through the same steps a run takes, under a shipped pair's YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopbridge.config import IntegrationConfig, load_integration
from shopbridge.runtime import map_batch

PAIRS = Path(__file__).resolve().parents[2] / "include" / "integrations"


def pair(name: str) -> IntegrationConfig:
    """A shipped pair's config (``include/integrations/<name>.yaml``), as a run loads it."""
    return load_integration(PAIRS / f"{name}.yaml")


def map_records(
    pair_name: str, flow: str, source: Any, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """validate_and_map of ``records`` for the pair's flow (its default settings and
    mapping), with ``source`` as the translator: what the run hands to lookup."""
    return map_batch(pair(pair_name), flow, source, records)
