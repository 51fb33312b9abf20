"""Integration files: one YAML per pair, validated by frozen pydantic models at parse time.

Why pydantic and ``extra="forbid"``: a typo in a key (``bach_size``) must fail loudly,
naming the file and the field, instead of silently running with a default. The YAML
names connection ids, never credentials: those live in Airflow Connections.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shopbridge.connectors.registry import HOOKS, ROLES
from shopbridge.errors import ConfigError
from shopbridge.mapping import MappingError, MappingSpec
from shopbridge.mapping.defaults import mapper_for

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
FlowName = Literal["orders", "customers"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Endpoint(Frozen):
    """One side of a pair: which system, and which Airflow Connection holds its account."""

    system: Slug
    conn_id: Slug | None = None

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        if value not in HOOKS:
            raise ValueError(f"unknown system {value!r}; known: {', '.join(sorted(HOOKS))}")
        return value

    @property
    def connection_id(self) -> str:
        return self.conn_id or f"shopbridge_{self.system}"


class ShippingLine(Frozen):
    """Book shipping costs as their own order line on this target article."""

    item_code: Annotated[str, StringConstraints(min_length=1)]
    description: str = "Shipping"


class Discounts(Frozen):
    """How discounts reach the target.

    ``line_discount``: each line carries its discount amount, and an order-level discount
    (a coupon) is spread over the lines by their share of the order. ``lines``: every
    discount becomes its own negative line on ``item_code`` (one per line discount, one per
    tax rate for a coupon), so the target's VAT split stays right either way.
    """

    book_as: Literal["line_discount", "lines"] = "line_discount"
    item_code: str | None = None

    @model_validator(mode="after")
    def _lines_need_an_article(self) -> Discounts:
        if self.book_as == "lines" and not self.item_code:
            raise ValueError("book_as: lines needs the item_code to book discounts on")
        return self


class JournalEntry(Frozen):
    """Where a journal entry per order (a financial mutation) books its amounts.

    The receivable line debits the order total on the customer's debtor; each order line
    credits its revenue account (the mapped line ``GLAccount``, e.g. per country through a
    value map, else ``revenue_account``); the tax is credited per rate on ``vat_account``.
    """

    journal: Annotated[str, StringConstraints(min_length=1)]
    receivable_account: Annotated[str, StringConstraints(min_length=1)]
    revenue_account: Annotated[str, StringConstraints(min_length=1)]
    vat_account: Annotated[str, StringConstraints(min_length=1)]


class OrderSettings(Frozen):
    """How orders are selected and booked; field mapping lives in ``mapping:``."""

    #: order ``status`` values to send; empty sends every status
    statuses: tuple[str, ...] = ()
    #: payment statuses to send (e.g. only ``paid``); empty sends every payment status
    payment_statuses: tuple[str, ...] = ()
    #: book every order on this one debtor instead of finding or creating the customer
    default_debtor: str | None = None
    #: shipping costs as an extra order line on a configured article (none: not sent)
    shipping_line: ShippingLine | None = None
    #: what each order becomes in the target: a sales order, a sales invoice, or a direct
    #: invoice (delivered and invoiced at once)
    order_type: Literal["sales_order", "sales_invoice", "direct_invoice",
                        "journal_entry"] = "sales_order"
    #: the accounts of ``order_type: journal_entry``
    journal_entry: JournalEntry | None = None
    #: how line and order discounts are booked
    discounts: Discounts = Discounts()
    #: send prices (lines and total) including tax instead of excluding it
    prices_include_tax: bool = False
    #: fields written back to the source order once the target booked it, e.g.
    #: ``{customStatusId: 7}`` ("booked in ERP"); empty writes nothing back
    confirm_in_source: dict[str, str | int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _journal_needs_accounts(self) -> OrderSettings:
        if self.order_type == "journal_entry" and self.journal_entry is None:
            raise ValueError("order_type journal_entry needs journal_entry: {journal, "
                             "receivable_account, revenue_account, vat_account}")
        return self

    @field_validator("confirm_in_source")
    @classmethod
    def _only_target_id(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        """Text may name ``{target_id}`` (the target's id of the order), nothing else."""
        for key, text in value.items():
            if isinstance(text, str):
                try:
                    text.format(target_id="")
                except (KeyError, IndexError, ValueError) as err:
                    raise ValueError(f"{key}: only {{target_id}} can be filled in ({err})") \
                        from None
        return value


class FlowSpec(Frozen):
    """How one flow of a pair runs: its schedule, batch size, retries and window."""

    enabled: bool = True
    #: cron expression; every scheduled run syncs the interval since the previous one
    schedule: str = "*/15 * * * *"
    start_date: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    batch_size: Annotated[int, Field(ge=1, le=500)] = 100
    retries: Annotated[int, Field(ge=0, le=20)] = 3
    retry_delay_s: Annotated[float, Field(gt=0)] = 30.0
    #: each window starts this much earlier than the previous one ended (the ledger makes
    #: the overlap harmless; it catches records whose timestamp lags their commit)
    overlap_minutes: Annotated[int, Field(ge=0, le=1440)] = 5
    #: a manual run with no earlier successful window looks back this far
    lookback_hours: Annotated[int, Field(ge=1)] = 24
    #: fail the run (after loading the good records) when more than this share was quarantined
    max_quarantined_fraction: Annotated[float, Field(ge=0, le=1)] = 1.0
    orders: OrderSettings = OrderSettings()

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"not a valid cron expression: {value!r}")
        return value

    @field_validator("start_date")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class IntegrationConfig(Frozen):
    """One pair of systems and the flows that run between them."""

    id: Slug
    description: str = ""
    source: Endpoint
    target: Endpoint
    flows: dict[FlowName, FlowSpec]
    #: field mapping and value maps on top of the pair's defaults (shopbridge.mapping)
    mapping: MappingSpec = MappingSpec()

    @model_validator(mode="after")
    def _roles(self) -> IntegrationConfig:
        expected = f"{self.source.system}__{self.target.system}"
        if self.id != expected:
            raise ValueError(f"id must be {expected!r} (<source>__<target>), got {self.id!r}")
        for flow in self.flows:
            sources, targets = ROLES[flow]
            if self.source.system not in sources:
                raise ValueError(f"{self.source.system} cannot be the source of the {flow} flow")
            if self.target.system not in targets:
                raise ValueError(f"{self.target.system} cannot be the target of the {flow} flow")
        return self

    @model_validator(mode="after")
    def _mapping_builds(self) -> IntegrationConfig:
        """Build every flow's mapper now, so a bad path or transform fails at parse time
        with its place in the file (``mapping.orders.header.X.transforms[1]``)."""
        for flow in self.flows:
            if flow not in MappingSpec.model_fields:  # a flow without a field mapping
                continue
            try:
                mapper_for(self, flow)
            except MappingError as err:
                raise ValidationError.from_exception_data(type(self).__name__, [InitErrorDetails(
                    type=PydanticCustomError("mapping", "{reason}", {"reason": err.reason}),
                    loc=("mapping", flow, *err.loc), input=None)]) from None
        return self

    def dag_id(self, flow: str) -> str:
        return f"{self.source.system}__{self.target.system}__{flow}"


def _describe(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid integration file"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_integration(path: Path, data: Any) -> IntegrationConfig:
    """Validate already-loaded YAML; every problem names ``path`` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return IntegrationConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(path, err)) from None


def load_integration(path: Path) -> IntegrationConfig:
    """Read and validate one integration file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_integration(path, data)
