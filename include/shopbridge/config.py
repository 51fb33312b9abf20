"""Integration files: one YAML per pair, validated by frozen pydantic models at parse time.

Why pydantic and ``extra="forbid"``: a typo in a key (``bach_size``) must fail loudly,
naming the file and the field, instead of silently running with a default. The YAML
names connection ids, never credentials: those live in Airflow Connections.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
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

from shopbridge.connectors.registry import (
    HOOKS,
    IMAGE_SOURCES,
    IMAGE_TARGETS,
    ORDER_TYPES,
    ROLES,
    WEBHOOK_FLOWS,
    WEBHOOKS,
    defaults_for,
)
from shopbridge.errors import ConfigError
from shopbridge.mapping import Mapper, MappingError, MappingSpec
from shopbridge.mapping.defaults import build_mapper

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]
FlowName = Literal["orders", "customers", "products", "stock", "shipments", "checkouts"]
FLOW_NAMES: tuple[str, ...] = ("orders", "customers", "products", "stock", "shipments", "checkouts")
#: which way a flow runs between the file's ``source`` and ``target`` systems
Direction = Literal["source_to_target", "target_to_source"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def needs(needed: str, *, when: tuple[str, str], message: str) -> Any:
    """A model check that ``needed`` is set when ``when`` (setting, value) holds, else
    ``message``.

    Several settings choose a way of booking that only works with one more setting (an
    article to book discount lines on, a debtor to fall back to); the file must say both,
    and fails when loaded rather than on the first record that needs the missing one.
    """

    setting, value = when

    def check(model: Any) -> Any:
        if getattr(model, setting) == value and not getattr(model, needed):
            raise ValueError(message)
        return model

    return model_validator(mode="after")(check)


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

    _lines_need_an_article = needs(
        "item_code",
        when=("book_as", "lines"),
        message="book_as: lines needs the item_code to book discounts on",
    )


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
    #: fees charged on the order (payment costs, an administration fee) as an extra order
    #: line on a configured article (none: not sent, like shipping)
    fee_line: ShippingLine | None = None
    #: what each order becomes in the target: a sales order, a sales invoice, or a direct
    #: invoice (delivered and invoiced at once)
    order_type: Literal["sales_order", "sales_invoice", "direct_invoice", "journal_entry"] = (
        "sales_order"
    )
    #: the accounts of ``order_type: journal_entry``
    journal_entry: JournalEntry | None = None
    _journal_needs_accounts = needs(
        "journal_entry",
        when=("order_type", "journal_entry"),
        message="order_type journal_entry needs journal_entry: {journal, "
        "receivable_account, revenue_account, vat_account}",
    )
    #: how line and order discounts are booked
    discounts: Discounts = Discounts()
    #: send prices (lines and total) including tax instead of excluding it
    prices_include_tax: bool = False
    #: a customer without an e-mail: matched by the source's customer number (kept in the
    #: ledger as an id mapping; created once, then reused), or booked on
    #: ``default_debtor`` (which must then be set)
    customers_without_email: Literal["customer_number", "default_debtor"] = "customer_number"
    _fallback_debtor = needs(
        "default_debtor",
        when=("customers_without_email", "default_debtor"),
        message="customers_without_email: default_debtor needs default_debtor: "
        "<the target's debtor code>",
    )
    #: largest difference (per currency unit) accepted between the order's total and its
    #: lines + shipping + fees - discounts; beyond it the order is quarantined naming both
    total_tolerance: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.02")
    #: fields written back to the source order once the target booked it, e.g.
    #: ``{customStatusId: 7}`` ("booked in ERP"); empty writes nothing back
    confirm_in_source: dict[str, str | int] = Field(default_factory=dict)

    @field_validator("confirm_in_source")
    @classmethod
    def _only_target_id(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        """Text may name ``{target_id}`` (the target's id of the order), nothing else."""
        for key, text in value.items():
            if isinstance(text, str):
                try:
                    text.format(target_id="")
                except (KeyError, IndexError, ValueError) as err:
                    raise ValueError(
                        f"{key}: only {{target_id}} can be filled in ({err})"
                    ) from None
        return value


class CustomerSettings(Frozen):
    """How customers are booked as debtors, for the customers flow and the orders flow
    going the same way (they share one debtor logic; the orders flow takes these settings
    from the customers flow of its direction).

    Per-country tables take ISO-2 country codes and ``"*"`` for every other country; a
    customer from a country with no entry (and no ``"*"``) is quarantined naming it.
    """

    #: debtor classification by kind, e.g. ``{company: B2B, person: B2C}``
    classification: dict[Literal["company", "person"], str] = Field(default_factory=dict)
    #: the debtor's default tax code per country of its billing address
    tax_code_by_country: dict[str, str] = Field(default_factory=dict)
    #: the debtor's revenue account per country of its billing address
    revenue_account_by_country: dict[str, str] = Field(default_factory=dict)

    @field_validator("tax_code_by_country", "revenue_account_by_country")
    @classmethod
    def _countries(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if k != "*" and not (len(k) == 2 and k.isalpha() and k.isupper())]
        if bad:
            raise ValueError(f'not ISO-2 country codes (or "*"): {", ".join(bad)}')
        return value


class ProductSettings(Frozen):
    """Which products go across and how; field mapping lives in ``mapping.products``."""

    #: how an existing target item is found: by SKU, by SKU then EAN/GTIN, or by the
    #: barcode first (an order hub that scans barcodes) then SKU
    match_by: Literal["sku", "sku_then_ean", "ean_then_sku"] = "sku"
    #: send prices incl. tax instead of excl.
    prices_include_tax: bool = False
    #: the update checkbox: target fields sent when an item is created and never
    #: overwritten afterwards, so data enriched in the target survives
    create_only: tuple[str, ...] = ()
    #: option name in the source (``Colour``) -> target field; every attribute a variant
    #: has needs one (a configurable product is built from them)
    attributes: dict[str, str] = Field(default_factory=dict)
    #: feature name (``Country of origin``) -> target field; unlisted features stay behind
    features: dict[str, str] = Field(default_factory=dict)
    #: create and update the category tree, and put items in their category
    categories: bool = True
    #: transfer product images (skipped when their content hash is unchanged)
    images: bool = True
    #: filters: only visible products; only these brands; only products in (or under)
    #: these categories, written as paths ("Clothing" or "Clothing/Shirts")
    only_visible: bool = False
    brands: tuple[str, ...] = ()
    categories_filter: tuple[str, ...] = ()


class StockSettings(Frozen):
    """How the level sent to the target is computed from what the source reports."""

    #: ``available_minus_reserved``: on hand minus open sales reservations (default);
    #: ``on_hand``: physical stock; ``location``: on hand in one warehouse/location
    calculation: Literal["available_minus_reserved", "on_hand", "location"] = (
        "available_minus_reserved"
    )
    #: the source's warehouse/location for ``calculation: location``
    location: str | None = None
    _location_named = needs(
        "location",
        when=("calculation", "location"),
        message="calculation: location needs location: <warehouse code>",
    )
    #: kept back from every level (never below 0), e.g. for shop-floor breakage
    safety_buffer: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    #: the target's "managed stock" flag: as the source has it, or always on or off
    managed: Literal["source", "always", "never"] = "source"
    #: the target's warehouse to write (default: the target connection's own default)
    target_location: str | None = None


class FlowSpec(Frozen):
    """How one flow of a pair runs: its schedule, batch size, retries and window.

    A flow's key names it (and its DAG); ``flow`` says what kind it is when the key is not
    one of the kinds, e.g. ``erp_orders: {flow: orders, direction: target_to_source}``
    for orders going the other way.
    """

    enabled: bool = True
    flow: FlowName | None = None
    direction: Direction = "source_to_target"
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
    #: also run as soon as the source's webhooks deliver records (``shopbridge webhooks
    #: register``); the schedule stays as the backstop for deliveries that never come
    webhooks: bool = False
    orders: OrderSettings = OrderSettings()
    customers: CustomerSettings = CustomerSettings()
    products: ProductSettings = ProductSettings()
    stock: StockSettings = StockSettings()

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


#: what a notification channel can be told about: a run that failed, records quarantined
NotifyEvent = Literal["failure", "quarantine"]
#: an Airflow Connection id: a name, never a URL (a URL could carry a secret into the YAML)
ConnId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$")]
EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class NotifyChannel(Frozen):
    """One place failed runs and quarantined records are reported to (``airflow/notify.py``).

    The address and any credential live in the Airflow Connection named by ``connection``
    (an SMTP, Slack webhook or HTTP connection), so the YAML names who hears, never how to
    reach them with which secret.
    """

    channel: Literal["email", "slack", "webhook"]
    connection: ConnId
    #: e-mail only: the recipients
    to: tuple[EmailAddress, ...] = ()
    #: e-mail only: the sender (default: the SMTP Connection's ``from_email`` extra)
    from_email: EmailAddress | None = None
    on: tuple[NotifyEvent, ...] = ("failure", "quarantine")
    #: the most records one quarantine message lists; the rest are counted ("and N more")
    max_records: Annotated[int, Field(ge=1, le=200)] = 20

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        """YAML 1.1 (PyYAML) reads an unquoted ``on:`` key as the boolean ``True``."""
        if isinstance(data, dict) and True in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @field_validator("to", "on", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("on")
    @classmethod
    def _some_event(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one of failure, quarantine (or leave on: out)")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _recipients(self) -> NotifyChannel:
        if self.channel == "email" and not self.to:
            raise ValueError("channel email needs to: [address, ...]")
        if self.channel != "email" and (self.to or self.from_email):
            raise ValueError(
                f"to and from_email are for channel email; a {self.channel} "
                "channel's destination is its connection"
            )
        return self


ItemKeyName = Literal["sku", "article_code", "ean"]


class IntegrationConfig(Frozen):
    """One pair of systems and the flows that run between them."""

    id: Slug
    description: str = ""
    source: Endpoint
    target: Endpoint
    #: the shop's home country: given to a customer or address the source holds without
    #: one (reported per run as ``countries_defaulted``); unset, such a record is
    #: quarantined naming the field
    default_country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    #: which of a vendor's item keys identifies an item in the target, the first one a
    #: record has: one rule for the orders, products and stock flows of the pair, so an
    #: order never points at an item the products flow would have created under another key
    item_key: Annotated[tuple[ItemKeyName, ...], Field(min_length=1)] = (
        "sku",
        "article_code",
        "ean",
    )
    flows: dict[Slug, FlowSpec]
    #: field mapping and value maps on top of the pair's defaults (shopbridge.mapping)
    mapping: MappingSpec = MappingSpec()
    #: who hears about failed runs and quarantined records (``shopbridge.airflow.notify``)
    notify: tuple[NotifyChannel, ...] = ()

    @model_validator(mode="after")
    def _roles(self) -> IntegrationConfig:
        expected = f"{self.source.system}__{self.target.system}"
        if self.id != expected:
            raise ValueError(f"id must be {expected!r} (<source>__<target>), got {self.id!r}")
        for key, spec in self.flows.items():
            if spec.flow is None and key not in FLOW_NAMES:
                raise ValueError(
                    f"flows.{key}: not a flow ({', '.join(FLOW_NAMES)}); "
                    f"name its kind with flow: <kind>"
                )
            flow = self.kind(key)
            reads, writes = self.ends(key)
            sources, targets = ROLES[flow]
            if reads.system not in sources:
                raise ValueError(
                    f"flows.{key}: {reads.system} cannot be the source of the {flow} flow"
                )
            if writes.system not in targets:
                raise ValueError(
                    f"flows.{key}: {writes.system} cannot be the target of the {flow} flow"
                )
            if flow == "orders" and spec.orders.order_type not in ORDER_TYPES.get(
                writes.system, frozenset({"sales_order"})
            ):
                raise ValueError(
                    f"flows.{key}.orders.order_type: {writes.system} cannot book "
                    f"{spec.orders.order_type}; it takes "
                    f"{', '.join(sorted(ORDER_TYPES.get(writes.system, {'sales_order'})))}"
                )
            if spec.webhooks and (
                reads.system not in WEBHOOKS or flow not in WEBHOOK_FLOWS.get(reads.system, ())
            ):
                raise ValueError(
                    f"flows.{key}.webhooks: {reads.system} sends no webhooks for {flow} "
                    "through this integration; set webhooks: false (the schedule still runs)"
                )
            if flow == "products" and spec.products.images:
                lacking = [
                    f"{reads.system} has no product images to give"
                    if reads.system not in IMAGE_SOURCES
                    else "",
                    f"{writes.system} takes no product images through this integration"
                    if writes.system not in IMAGE_TARGETS
                    else "",
                ]
                if any(lacking):
                    raise ValueError(
                        f"flows.{key}.products.images: "
                        f"{'; '.join(w for w in lacking if w)}: set images: false"
                    )
        return self

    @model_validator(mode="after")
    def _mapping_builds(self) -> IntegrationConfig:
        """Build every flow's mapper now, so a bad path or transform fails at parse time
        with its place in the file (``mapping.orders.header.X.transforms[1]``)."""
        for key in self.flows:
            flow = self.kind(key)
            if flow not in MappingSpec.model_fields:  # a flow without a field mapping
                continue
            try:
                self.mapper(key)
            except MappingError as err:
                raise ValidationError.from_exception_data(
                    type(self).__name__,
                    [
                        InitErrorDetails(
                            type=PydanticCustomError("mapping", "{reason}", {"reason": err.reason}),
                            loc=("mapping", flow, *err.loc),
                            input=None,
                        )
                    ],
                ) from None
        return self

    def mapper(self, key: str) -> Mapper:
        """The effective mapper of one flow: its target's shipped defaults for the way the
        flow runs (incl.-tax rules when the flow sends prices incl. tax), the YAML on top."""
        reads, writes = self.ends(key)
        kind, spec = self.kind(key), self.flows[key]
        incl_tax = (
            spec.orders.prices_include_tax if kind == "orders" else spec.products.prices_include_tax
        )
        return build_mapper(
            self.mapping,
            defaults_for(writes.system),
            reads.system,
            writes.system,
            kind,
            prices_include_tax=incl_tax,
        )

    def kind(self, key: str) -> FlowName:
        """What the flow under ``key`` is: its ``flow:`` setting, else the key itself."""
        spec = self.flows[key]
        kind = spec.flow or key
        assert kind in FLOW_NAMES, kind
        return kind  # type: ignore[return-value]

    def ends(self, key: str) -> tuple[Endpoint, Endpoint]:
        """(the system the flow reads from, the system it writes to)."""
        if self.flows[key].direction == "target_to_source":
            return self.target, self.source
        return self.source, self.target

    def scope(self, key: str) -> str:
        """The ledger's namespace of a flow: ``<from>__<to>``. Flows going the same way
        share it (the orders and customers flows agree on who a customer is); the two
        directions never do (an order id on one side is not one on the other)."""
        reads, writes = self.ends(key)
        return f"{reads.system}__{writes.system}"

    def opposite_scope(self, key: str) -> str:
        reads, writes = self.ends(key)
        return f"{writes.system}__{reads.system}"

    def customer_settings(self, key: str) -> CustomerSettings:
        """The customer settings a flow books debtors with: those of the customers flow
        going the same way when the pair has one, else the flow's own."""
        for other, spec in self.flows.items():
            if self.kind(other) == "customers" and self.scope(other) == self.scope(key):
                return spec.customers
        return self.flows[key].customers

    def dag_id(self, flow: str) -> str:
        return f"{self.id}__{flow}"

    @property
    def rules(self) -> RecordRules:
        """The pair-wide rules every flow applies to a translated record."""
        return RecordRules(default_country=self.default_country, item_key=self.item_key)


class RecordRules(Frozen):
    """What a pair fills in or decides for every record, whatever its flow: the country a
    record without one gets, and which item key identifies an item (see
    :class:`IntegrationConfig`)."""

    default_country: str | None = None
    item_key: tuple[ItemKeyName, ...] = ("sku", "article_code", "ean")


def inbox_asset_name(integration: str, flow: str) -> str:
    """The Airflow asset a webhook-fed flow's DAG is scheduled on besides its cron: the
    receiver emits an event on it when deliveries for the flow wait in the inbox."""
    return f"shopbridge_inbox__{integration}__{flow}"


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
        # libyaml's safe loader (PyYAML's wheels bundle it): the pure-Python one was a
        # third of a 50-file DAG parse (``./run bench e2e``)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_integration(path, data)
