"""What the newer flows share: their per-batch counters and their windowed extract.

Counters travel between a run's tasks as XCom (plain dicts) and are added up by the
report, so each flow's are a flat dataclass of ints plus the quarantined entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from shopbridge.models import QuarantineEntry


@dataclass
class RunCounts:
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

    def quarantine(self, source_id: str, field_name: str, reason: str) -> None:
        key = f"{self.PREFIX}_quarantined"
        setattr(self, key, getattr(self, key) + 1)
        self.quarantined.append(
            QuarantineEntry(
                entity=self.ENTITY, source_id=source_id, field=field_name, reason=reason
            ).model_dump()
        )


def batched(
    records: Iterable[dict[str, Any]], id_of: Callable[[dict[str, Any]], str], size: int
) -> list[list[dict[str, Any]]]:
    """Records de-duplicated by id (a record changed while being paged comes back on a
    later page: the later copy wins), in batches of ``size``."""
    latest = {id_of(r): r for r in records}
    rows = list(latest.values())
    return [rows[i : i + size] for i in range(0, len(rows), size)]
