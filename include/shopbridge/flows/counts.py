"""The one counter type of every flow, and the run's summary of them.

Counters travel between a run's tasks as XCom (plain dicts) and are added up by the
report, so each flow's are a flat dataclass of ints plus the quarantined entries: a
subclass of :class:`RunCounts` naming its entity and its counters. The summary the report
logs, returns and writes to the Activity log is :func:`summarize` of them, one figure per
key, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from shopbridge.models import QuarantineEntry

#: a run's figures: each summary key's total, ``api_calls``, and ``quarantined`` (entries)
Summary = dict[str, Any]


@dataclass
class RunCounts:
    """What a step did, in the run report's terms."""

    #: ``QuarantineEntry.entity`` of this flow's records, and its counters' prefix
    ENTITY: ClassVar[str] = ""
    PREFIX: ClassVar[str] = ""

    api_calls: int = 0
    quarantined: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def carried(cls, data: dict[str, Any]) -> Self:
        """The counts a previous task handed on (its XCom)."""
        return cls(
            **{k: v for k, v in data.items() if k != "quarantined"},
            quarantined=list(data.get("quarantined", [])),
        )

    def as_dict(self) -> dict[str, Any]:
        """The counts as the next task takes them (JSON-able)."""
        return dict(self.__dict__)

    def quarantine(self, entry: QuarantineEntry, *, counted: bool = True) -> None:
        """Report ``entry``; ``counted``: it also counts as one of the flow's records
        quarantined (a refused product image is reported, its product not counted)."""
        if counted:
            key = f"{self.PREFIX}_quarantined"
            setattr(self, key, getattr(self, key) + 1)
        self.quarantined.append(entry.model_dump())

    def refuse(self, source_id: str, field_name: str, reason: str) -> None:
        """Quarantine one of the flow's own records."""
        self.quarantine(
            QuarantineEntry(
                entity=self.ENTITY, source_id=source_id, field=field_name, reason=reason
            )
        )


def summarize(
    results: Iterable[dict[str, Any]], *, extract_calls: int = 0, keys: Iterable[str]
) -> Summary:
    """Add up the per-batch counts into the run's summary."""
    keys = tuple(keys)
    total: Summary = dict.fromkeys(keys, 0)
    total["api_calls"] = extract_calls
    quarantined: list[dict[str, str]] = []
    for r in results:
        for k in keys:
            total[k] += r.get(k, 0)
        quarantined.extend(r.get("quarantined", []))
    total["quarantined"] = quarantined
    return total


def batched(
    records: Iterable[dict[str, Any]], id_of: Callable[[dict[str, Any]], str], size: int
) -> list[list[dict[str, Any]]]:
    """Records de-duplicated by id (a record changed while being paged comes back on a
    later page: the later copy wins), in batches of ``size``."""
    latest = {id_of(r): r for r in records}
    rows = list(latest.values())
    return [rows[i : i + size] for i in range(0, len(rows), size)]
