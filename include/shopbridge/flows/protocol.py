"""The flow protocol: what every flow is to the runtime and the DAG factory.

A flow (orders, customers, ...) is five typed steps over a :class:`StepContext`:
extract → validate_and_map → lookup → load, then the run's summary. Each flow module
defines its :class:`Flow` and registers it (:func:`register`); ``shopbridge.runtime``
looks the flow up by the file's ``flow:`` kind and calls the steps, so neither it nor
``airflow/dag_factory.py`` ever branches on what the flow is. Batches between steps stay
JSON-able dicts: they travel as XComs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, ParamSpec, TypeVar

from shopbridge.errors import AuthError, ConfigError
from shopbridge.flows.counts import RunCounts, Summary, summarize
from shopbridge.store.ledger import Ledger

if TYPE_CHECKING:
    from shopbridge.config import Endpoint as End
    from shopbridge.config import FlowSpec, IntegrationConfig
    from shopbridge.connectors.base import Endpoint
    from shopbridge.mapping.engine import Mapper

#: vendor records as read (one batch)
Records = list[dict[str, Any]]
#: what one step hands the next: JSON-able (an XCom), always with its ``counts``
Handoff = dict[str, Any]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Extracted:
    """What a flow's extract read: its batches, and the orders it left unread because the
    ledger has them as synced (still counted as read and skipped by the report)."""

    batches: list[Records]
    skipped_existing: int = 0


_MAPPERS: dict[tuple[str, str], tuple[IntegrationConfig, Mapper]] = {}


@contextmanager
def _naming(end: End) -> Iterator[None]:
    """Say which Airflow Connection to fix when a vendor refuses our credentials."""
    try:
        yield
    except AuthError as err:
        raise AuthError(
            f"connection {end.connection_id!r} ({end.system}) was refused: {err}",
            response=err.response,
        ) from err


@dataclass(frozen=True)
class StepContext:
    """One step of one flow (``key``) of one integration file: its settings, its two ends
    (opened on demand through their hooks, closed after use), its ledger and mapper."""

    cfg: IntegrationConfig
    key: str
    #: the ledger's claim owner of a load (the run's batch, the same on each retry)
    run_id: str | None = None
    #: write every record again (products: read the whole catalogue)
    full_resync: bool = False
    _ends: tuple[End, End] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ends", self.cfg.ends(self.key))

    @property
    def spec(self) -> FlowSpec:
        return self.cfg.flows[self.key]

    @property
    def kind(self) -> str:
        return self.cfg.kind(self.key)

    @property
    def scope(self) -> str:
        return self.cfg.scope(self.key)

    @property
    def opposite_scope(self) -> str:
        return self.cfg.opposite_scope(self.key)

    @property
    def owner(self) -> str:
        """Who claims the ledger's rows in a load: the run's batch (``run_id``)."""
        if not self.run_id:
            raise ValueError(f"{self.cfg.dag_id(self.key)}: a load needs the run's id")
        return self.run_id

    @property
    def mapper(self) -> Mapper:
        """Built once per process, flow and config: validating every rule is parse-time
        work, not a task's."""
        cached = _MAPPERS.get((self.cfg.id, self.key))
        if cached is None or cached[0] != self.cfg:
            cached = _MAPPERS[(self.cfg.id, self.key)] = (self.cfg, self.cfg.mapper(self.key))
        return cached[1]

    @contextmanager
    def source(self) -> Iterator[Endpoint]:
        """The system the flow reads from (its direction decides which end that is)."""
        with self._open(self._ends[0], target=False) as end:
            yield end

    @contextmanager
    def target(self) -> Iterator[Endpoint]:
        """The system the flow writes to."""
        with self._open(self._ends[1], target=True) as end:
            yield end

    @contextmanager
    def _open(self, end: End, *, target: bool) -> Iterator[Endpoint]:
        from shopbridge.connectors.registry import hook_for

        with _naming(end):
            hook = hook_for(end.system, end.connection_id)
            with closing(hook.get_target() if target else hook.get_source()) as opened:
                yield opened

    @contextmanager
    def ledger(self) -> Iterator[Ledger]:
        with closing(Ledger()) as ledger:
            yield ledger

    def on_ledger(
        self, step: Callable[Concatenate[Ledger, str, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``step(ledger, scope, ...)``: a step the ledger alone decides (no target call)."""
        with self.ledger() as ledger:
            return step(ledger, self.scope, *args, **kwargs)

    def on_target(
        self,
        step: Callable[Concatenate[Any, Ledger, str, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """``step(target, ledger, scope, ...)`` with the target open: a lookup or a load.
        The target goes in as the role the step names (``OrderTarget``, ...), unchecked:
        the config refuses a system in a role it cannot play (see :class:`Flow`)."""
        with self.target() as target, self.ledger() as ledger:
            return step(target, ledger, self.scope, *args, **kwargs)


class Flow(ABC):
    """One kind of flow, as the runtime and the DAG factory see it: four steps over a
    :class:`StepContext`, and the run's summary of what the batches counted.

    A step takes the ends as plain :class:`Endpoint` s and casts them to the role it
    uses them in (``OrderSource``, ``StockTarget``, ...) without checking again: the
    config refuses a system in a role the registry does not give it
    (``connectors.registry.ROLES``), and each hook proves its source and target against
    those protocols statically."""

    #: its counters, which name the rest: their prefix is the ``flow:`` kind it implements
    #: (``orders_read``), their entity what one of its records is called (``order``)
    counts: ClassVar[type[RunCounts]]
    kind: str
    entity: str
    #: the counters its run report adds up, in the report's order
    summary_keys: tuple[str, ...]

    def __init__(self) -> None:
        self.kind = self.counts.PREFIX
        self.entity = self.counts.ENTITY
        self.summary_keys = self.counts.summary_keys()

    @abstractmethod
    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        """The source's records changed in ``[start, end)``, de-duplicated, in batches."""

    @abstractmethod
    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        """Translate and map one batch; a bad record is quarantined, not fatal. Makes no
        request: the source is only asked for its translator."""

    @abstractmethod
    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        """What the target (or the ledger alone) already has of the batch."""

    @abstractmethod
    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        """Write what is missing or changed; returns the batch's counts."""

    def summarize(
        self, results: Iterable[Handoff], *, extract_calls: int, skipped_existing: int = 0
    ) -> Summary:
        """The run's figures: every batch's counts added up. Records left unread at
        extract because the ledger has them are still read, and skipped."""
        summary = summarize(results, extract_calls=extract_calls, keys=self.summary_keys)
        if skipped_existing:
            summary[f"{self.kind}_read"] += skipped_existing
            summary[f"{self.kind}_skipped_existing"] += skipped_existing
        return summary


_FLOWS: dict[str, Flow] = {}

F = TypeVar("F", bound=Flow)


def register(cls: type[F]) -> type[F]:
    """Class decorator: make (an instance of) ``cls`` the flow the runtime runs for its
    kind; each flow module registers its own."""
    flow = cls()
    _FLOWS[flow.kind] = flow
    return cls


def flow_of(kind: str) -> Flow:
    """The registered flow of ``kind``."""
    try:
        return _FLOWS[kind]
    except KeyError:
        raise ConfigError(f"no flow of kind {kind!r}; known: {', '.join(sorted(_FLOWS))}") from None


def registered() -> list[Flow]:
    """Every registered flow, in registration order."""
    return list(_FLOWS.values())
