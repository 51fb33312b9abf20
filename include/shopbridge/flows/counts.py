"""The one counter type of every flow, and the run's summary of them.

Counters travel between a run's tasks as XCom (plain dicts) and are added up by the
report, so each flow's are flat figures plus the quarantined entries: a subclass of
:class:`RunCounts` naming its entity and its counters. The summary the report
logs, returns and writes to the Activity log is :func:`summarize` of them, one figure per
key, so the two can never disagree. A load records each write's outcome in the ledger and
the counts in one call (:meth:`RunCounts.written`, :meth:`RunCounts.set_aside`), so those
never disagree either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from shopbridge.errors import FatalError, RecordError
from shopbridge.models import QuarantineEntry
from shopbridge.store.ledger import Ledger

#: a run's figures: each summary key's total, ``api_calls``, and ``quarantined`` (entries)
Summary = dict[str, Any]


@dataclass(init=False)
class RunCounts:
    """What a step did, in the run report's terms.

    A flow's counters have short names (``read``, ``unchanged``) and the report prefixes
    them (``orders_read``): the keys the Activity log, the tests and the README read are
    spelled in one place, and a subclass only says which counters its flow keeps.
    """

    #: ``QuarantineEntry.entity`` of this flow's records, and its counters' prefix
    ENTITY: ClassVar[str] = ""
    PREFIX: ClassVar[str] = ""
    #: the flow's own counters, reported as ``<PREFIX>_<name>`` in this order; most flows
    #: create or update a record, or leave an unchanged one alone
    OWN: ClassVar[tuple[str, ...]] = ("read", "created", "updated", "unchanged", "quarantined")
    #: counters about something else (``customers_created`` of the orders flow), reported
    #: under their own name after the flow's own
    SHARED: ClassVar[tuple[str, ...]] = ()

    figures: dict[str, int]
    api_calls: int
    quarantined: list[dict[str, str]]

    def __init__(self, *, api_calls: int = 0, **figures: int) -> None:
        self.figures = dict.fromkeys((*self.OWN, *self.SHARED), 0)
        for name, n in figures.items():
            self.add(name, n)
        self.api_calls = api_calls
        self.quarantined = []

    @classmethod
    def report_key(cls, name: str) -> str:
        """The run report's key of counter ``name``."""
        if name in cls.OWN:
            return f"{cls.PREFIX}_{name}"
        if name in cls.SHARED:
            return name
        raise KeyError(f"{cls.__name__} has no counter {name!r}")

    @classmethod
    def summary_keys(cls) -> tuple[str, ...]:
        """The keys the run report adds up, in its order: every counter, then the calls."""
        return (*(cls.report_key(n) for n in (*cls.OWN, *cls.SHARED)), "api_calls")

    @classmethod
    def carried(cls, data: dict[str, Any]) -> Self:
        """The counts a previous task handed on (its XCom)."""
        names = {cls.report_key(n): n for n in (*cls.OWN, *cls.SHARED)}
        counts = cls(
            **{names[k]: v for k, v in data.items() if k not in ("api_calls", "quarantined")},
            api_calls=data.get("api_calls", 0),
        )
        counts.quarantined = list(data.get("quarantined", []))
        return counts

    def as_dict(self) -> dict[str, Any]:
        """The counts as the next task takes them (JSON-able), under the report's keys."""
        return {
            **{self.report_key(n): v for n, v in self.figures.items()},
            "api_calls": self.api_calls,
            "quarantined": self.quarantined,
        }

    def __getitem__(self, name: str) -> int:
        return self.figures[name]

    def add(self, name: str, n: int = 1) -> None:
        """Count ``n`` more of counter ``name`` (a name the flow does not keep is a bug)."""
        self.report_key(name)
        self.figures[name] += n

    def quarantine(self, entry: QuarantineEntry, *, counted: bool = True) -> None:
        """Report ``entry``; ``counted``: it also counts as one of the flow's records
        quarantined (a refused product image is reported, its product not counted)."""
        if counted:
            self.add("quarantined")
        self.quarantined.append(entry.model_dump())

    def refuse(self, source_id: str, field_name: str, reason: str) -> None:
        """Quarantine one of the flow's own records."""
        self.quarantine(
            QuarantineEntry(
                entity=self.ENTITY, source_id=source_id, field=field_name, reason=reason
            )
        )

    def set_aside(
        self,
        ledger: Ledger,
        scope: str,
        ref: str,
        reason: str,
        *,
        run_id: str,
        source_id: str | None = None,
        field: str = "(target)",
    ) -> None:
        """Quarantine a record the load could not write, in the ledger (as ``ref``) and
        the report (as ``source_id``, by default ``ref``): the ledger makes the next run
        try it again, the report tells someone why."""
        ledger.quarantine(scope, self.ENTITY, ref, reason=reason, run_id=run_id)
        self.refuse(source_id or ref, field, reason)

    def written(
        self,
        ledger: Ledger,
        scope: str,
        ref: str,
        write: Callable[[], str],
        *,
        content_hash: str,
        run_id: str,
    ) -> bool:
        """Write one record (``write`` returns the target's id for it) and keep the
        outcome: done in the ledger with its content, or set aside when the target refused
        it for good (the batch goes on). True when it landed."""
        try:
            target_ref = write()
        except FatalError as err:
            self.set_aside(ledger, scope, ref, refusal(err), run_id=run_id)
            return False
        ledger.done(
            scope, self.ENTITY, ref, target_ref=target_ref, content_hash=content_hash, run_id=run_id
        )
        return True


def refusal(err: FatalError | RecordError) -> str:
    """Why a write was refused, in the target's words, as short as the report keeps it."""
    return (err.reason if isinstance(err, RecordError) else str(err))[:500]


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
