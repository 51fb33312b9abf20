"""What the targets share when they write: which order types they book, the loop of the
targets that send one request per order, and how an answer that confirms nothing, an
unknown debtor or debtor terms without a field are reported.

Why one loop for the orders: which errors belong to one order and which stop the run is a
decision of the orders flow, not of a vendor. A refusal of one order (a ``FatalError``, or
a ``RecordError`` naming its field) is that order's result, so the batch goes on and the
order is set aside with the vendor's words. An ``AuthError`` stops the loop: every later
order would be refused the same way, and it is the connection a person must fix, not the
orders. Transport errors, 429s and 5xx (``RetriableError``) and a wrong setting
(``ConfigError``) raise too: a write may have landed, so the flow looks the references up
before trying again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from shopbridge.connectors.base import DebtorTerms, OrderWrite
from shopbridge.errors import AuthError, ConfigError, FatalError, RecordError
from shopbridge.models import Customer

log = logging.getLogger(__name__)

#: the order types of a target that books sales orders only
SALES_ORDERS = ("sales_order",)


def check_order_type(vendor: str, kind: str, known: Collection[str] = SALES_ORDERS) -> None:
    """Refuse an order type (the pair's ``orders.order_type``) the target cannot book:
    a setting to fix, before anything is written."""
    if kind not in known:
        raise ConfigError(
            f"order type {kind!r} is not supported by {vendor}; known: {', '.join(known)}"
        )


def write_each(
    writes: Sequence[OrderWrite], create: Callable[[OrderWrite], str]
) -> list[str | FatalError]:
    """``create`` each write in order: its id, or the ``FatalError`` that refused it."""
    results: list[str | FatalError] = []
    for write in writes:
        try:
            results.append(create(write))
        except AuthError:
            raise
        except FatalError as err:
            results.append(err)
        except RecordError as err:
            results.append(FatalError(str(err)))
    return results


def status_of(err: FatalError) -> int | None:
    """The HTTP status of the answer that refused a write (``None``: no answer), for the
    targets that treat a 404 or 409 as something other than a refusal."""
    return err.response.status_code if err.response is not None else None


def created_id(vendor: str, answer: Any, field: str, what: str) -> str:
    """The id in ``vendor``'s answer to the create of ``what``. Without one the write is
    not counted as done (``FatalError``): what cannot be named cannot be found again."""
    value = answer.get(field) if isinstance(answer, Mapping) else None
    if value in (None, False, ""):
        raise FatalError(f"{vendor} answered the create of {what} without an id")
    return str(value)


def no_such_debtor(vendor: str, code: str, customer: Customer) -> RecordError:
    """The debtor an update names is gone from the target: the customer is set aside
    naming its debtor code, for a person to look at, rather than an update creating one."""
    return RecordError(
        "customer", customer.label, "debtor_code", f"debtor {code} not found in {vendor}"
    )


class IgnoredTerms:
    """Debtor terms (classification, tax code, revenue account) for a target that has no
    field for them: accepted, and warned about once per target (a task), not per customer."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self._warned = False

    def __call__(self, terms: DebtorTerms | None) -> None:
        if terms and not self._warned:
            self._warned = True
            log.warning(
                "%s has no debtor terms; classification/tax code/revenue account settings "
                "are ignored",
                self.vendor,
            )
