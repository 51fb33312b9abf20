"""Customers as debtors in the target: one implementation for the orders and customers flows.

Find by e-mail (the ledger first, then one batched target query), create a company debtor
with its contact or a person debtor when missing, update when the details differ, and
leave it alone when they don't. Every write is claimed in the ledger first, so two tasks
meeting the same new customer create one debtor.

A customer without an e-mail (real accounts hold them: walk-in customers, debtors typed
in by hand) cannot be matched in the target, so it is known by the source's customer
number instead: the ledger keeps that number -> debtor mapping (an id, no personal data),
the debtor is created once and reused by every later order of that customer.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any, Literal

from shopbridge.config import CustomerSettings
from shopbridge.connectors.base import DebtorTerms, OrderTarget
from shopbridge.errors import FatalError, RecordError, RetriableError
from shopbridge.models import Customer
from shopbridge.store.ledger import Claim, Ledger, email_key

CUSTOMER = "customer"
Action = Literal["created", "updated", "unchanged"]


def _by_country(
    table: dict[str, str], country: str, what: str, customer: Customer, setting: str
) -> str | None:
    if not table:
        return None
    value = table.get(country, table.get("*"))
    if value is None:
        raise RecordError(
            "customer",
            customer.label,
            "billing_address.country",
            f'no {what} for country {country} (add it, or "*", under customers.{setting})',
        )
    return value


def terms_for(customer: Customer, settings: CustomerSettings | None) -> DebtorTerms:
    """The classification, tax code and revenue account the settings give this customer;
    ``RecordError`` naming the country when a per-country table has no entry for it."""
    if settings is None:
        return DebtorTerms()
    country = customer.billing_address.country
    return DebtorTerms(
        classification=settings.classification.get(customer.kind.value),
        tax_code=_by_country(
            settings.tax_code_by_country, country, "tax code", customer, "tax_code_by_country"
        ),
        revenue_account=_by_country(
            settings.revenue_account_by_country,
            country,
            "revenue account",
            customer,
            "revenue_account_by_country",
        ),
    )


def debtor_key(customer: Customer) -> str:
    """The ledger's key of a customer: its e-mail's hash, else the source's customer
    number; ``RecordError`` naming ``email`` when it has neither (no way to know it again)."""
    if customer.email:
        return email_key(customer.email)
    if customer.customer_number:
        return "number:" + customer.customer_number
    raise RecordError(
        "customer",
        customer.label,
        "email",
        "no e-mail and no customer number to know this customer by; book such "
        "orders on a debtor with orders.customers_without_email: default_debtor",
    )


def debtor_lookup(
    target: OrderTarget, ledger: Ledger, integration: str, emails: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Debtors of customers the ledger does not know yet, in one batched query (JSON-able).
    Customers without an e-mail are not asked for: the target cannot match them."""
    emails = [e for e in emails if e]
    known = ledger.get_many(integration, CUSTOMER, [email_key(e) for e in emails])
    ask = [e for e in emails if email_key(e) not in known]
    return {
        email: {"code": m.code, "fingerprint": m.fingerprint}
        for email, m in (target.match_debtors(ask) if ask else {}).items()
    }


def debtor_digest(customer: Customer, terms: DebtorTerms) -> str:
    """The hash the ledger keeps for a debtor: the customer's, and its terms when a
    per-country table sets any, so changing the table updates each debtor once. The
    customer number is identity, not content (an order may not carry it where the
    customers flow does): it never makes a debtor look changed."""
    digest = customer.model_copy(update={"customer_number": ""}).content_hash()
    if terms:
        digest = hashlib.sha256(f"{digest}|{terms!r}".encode()).hexdigest()
    return digest


def sync_debtor(
    target: OrderTarget,
    ledger: Ledger,
    integration: str,
    owner: str,
    customer: Customer,
    found: dict[str, Any] | None,
    *,
    settings: CustomerSettings | None = None,
    busy_wait_s: float = 30.0,
) -> tuple[str, Action]:
    """The target's debtor code for ``customer`` and what had to be done for it.

    ``found`` is :func:`debtor_lookup`'s entry for the customer (``None``: not in the
    target when it was asked). The ledger's hash covers the customer and its terms, so
    changing a per-country table updates every debtor it touches once. A debtor found in
    the target but unknown to the ledger is updated when terms are configured: the
    target's fingerprint covers contact details only.
    """
    key = debtor_key(customer)
    terms = terms_for(customer, settings)
    digest = debtor_digest(customer, terms)
    deadline = time.monotonic() + busy_wait_s
    while True:
        claim, row = ledger.claim(integration, CUSTOMER, key, owner)
        if claim is not Claim.BUSY:
            break
        if time.monotonic() > deadline:
            raise RetriableError(f"customer {key[:20]}… is being written by another task")
        time.sleep(0.2)
    if claim is Claim.DONE:
        assert row is not None
        assert row.target_ref
        if row.content_hash != digest:
            target.update_debtor(row.target_ref, customer, terms)
            ledger.done(
                integration,
                CUSTOMER,
                key,
                target_ref=row.target_ref,
                content_hash=digest,
                run_id=owner,
            )
            return row.target_ref, "updated"
        return row.target_ref, "unchanged"
    if found is None and claim is Claim.STALE and customer.email:
        match = target.match_debtors([customer.email]).get(customer.email)
        found = {"code": match.code, "fingerprint": match.fingerprint} if match else None
    try:
        action: Action = "unchanged"
        if found is None:
            code = target.create_debtor(customer, terms)
            action = "created"
        else:
            code = found["code"]
            current = found["fingerprint"]
            if terms or current is None or current != target.debtor_fingerprint(customer):
                target.update_debtor(code, customer, terms)
                action = "updated"
    except (FatalError, RecordError):
        ledger.release(integration, CUSTOMER, key)
        raise
    ledger.done(integration, CUSTOMER, key, target_ref=code, content_hash=digest, run_id=owner)
    return code, action
