"""The customers flow: customers created or changed in the source, kept in the target.

Create or update by e-mail: a company debtor with its contact when a company name is
present, else a person debtor; unchanged customers cost no call. The debtor logic is the
orders flow's own (:mod:`shopbridge.flows.debtors`), so an order and the customers flow
never disagree about who a customer is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from shopbridge.config import CustomerSettings, RecordRules
from shopbridge.connectors.base import CustomerSource, Endpoint, OrderTarget
from shopbridge.errors import FatalError, RecordError
from shopbridge.flows.counts import RunCounts, batched, refusal
from shopbridge.flows.debtors import CUSTOMER, debtor_lookup, sync_debtor
from shopbridge.flows.protocol import Extracted, Flow, Handoff, Records, StepContext, register
from shopbridge.flows.records import Filled, complete_customer
from shopbridge.models import Customer
from shopbridge.store.ledger import Ledger

#: ledger entity of a customer record set aside (keyed by the source's id: a bad record
#: may have no usable e-mail)
QUARANTINED = "customer_record"


class Counts(RunCounts):
    ENTITY = CUSTOMER
    PREFIX = "customers"
    #: customers without a country that got the pair's default_country
    SHARED = ("countries_defaulted",)


SUMMARY_KEYS = Counts.summary_keys()


def extract(
    source: CustomerSource, start: datetime, end: datetime, batch_size: int
) -> list[list[dict[str, Any]]]:
    """Raw customer records changed in the window, de-duplicated by id, in batches."""
    return batched(source.iter_customer_records(start, end), source.customer_id, batch_size)


def validate_and_map(
    source: CustomerSource, batch: list[dict[str, Any]], rules: RecordRules | None = None
) -> dict[str, Any]:
    """Canonical customers with the source id they came from; bad records quarantined.

    A customer without a number of its own is known by its id in the source (what the
    orders flow going the same way finds as the order's customer number).
    """
    counts = Counts(read=len(batch))
    customers: list[dict[str, Any]] = []
    filled = Filled()
    for record in batch:
        try:
            customer = source.to_customer(record)
            source_id = source.customer_id(record)
            if not customer.customer_number:
                customer = customer.model_copy(update={"customer_number": source_id})
            customer = complete_customer(customer, rules or RecordRules(), source_id, filled)
        except RecordError as err:
            counts.refuse(err.source_id, err.field, err.reason)
            continue
        customers.append({"source_id": source_id, "customer": customer.model_dump(mode="json")})
    counts.add("countries_defaulted", filled.countries_defaulted)
    return {"customers": customers, "counts": counts.as_dict()}


def lookup(
    target: OrderTarget, ledger: Ledger, integration: str, mapped: dict[str, Any]
) -> dict[str, Any]:
    """The ledger first, then one batched query for the customers it does not know."""
    before = target.counter.calls
    emails = sorted({c["customer"]["email"] for c in mapped["customers"] if c["customer"]["email"]})
    return {
        **mapped,
        "debtors": debtor_lookup(target, ledger, integration, emails),
        "counts": {**mapped["counts"], "api_calls": target.counter.calls - before},
    }


def load(
    target: OrderTarget,
    ledger: Ledger,
    integration: str,
    looked_up: dict[str, Any],
    *,
    run_id: str,
    settings: CustomerSettings | None = None,
) -> dict[str, Any]:
    """Create or update each customer's debtor; a refusal quarantines that customer only."""
    before = target.counter.calls
    counts = Counts.carried(looked_up["counts"])
    for item in looked_up["customers"]:
        customer = Customer.model_validate(item["customer"])
        try:
            _, action = sync_debtor(
                target,
                ledger,
                integration,
                run_id,
                customer,
                looked_up["debtors"].get(customer.email) if customer.email else None,
                settings=settings,
            )
        except (FatalError, RecordError) as err:
            reason = refusal(err)
            ledger.quarantine(
                integration, QUARANTINED, item["source_id"], reason=reason, run_id=run_id
            )
            counts.refuse(
                item["source_id"], err.field if isinstance(err, RecordError) else "(target)", reason
            )
            continue
        counts.add(action)
    counts.api_calls += target.counter.calls - before
    return counts.as_dict()


@register
class CustomersFlow(Flow):
    """Customers from the source as debtors in the target: created, or updated when
    they changed."""

    counts = Counts

    def extract(
        self, ctx: StepContext, source: Endpoint, start: datetime, end: datetime
    ) -> Extracted:
        return Extracted(extract(cast(CustomerSource, source), start, end, ctx.spec.batch_size))

    def validate_and_map(self, ctx: StepContext, source: Endpoint, batch: Records) -> Handoff:
        return validate_and_map(cast(CustomerSource, source), batch, ctx.cfg.rules)

    def lookup(self, ctx: StepContext, mapped: Handoff) -> Handoff:
        return ctx.on_target(lookup, mapped)

    def load(self, ctx: StepContext, looked_up: Handoff) -> Handoff:
        settings = ctx.cfg.customer_settings(ctx.key)
        return ctx.on_target(load, looked_up, run_id=ctx.owner, settings=settings)
