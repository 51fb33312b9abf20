"""The kit's order-write loop: which errors are one order's result and which stop the run;
and how a target reports an order type, a create answered without an id, an unknown
debtor and debtor terms it has no field for."""

from __future__ import annotations

import logging

import httpx
import pytest

from shopbridge.connectors._kit.writes import (
    IgnoredTerms,
    check_order_type,
    created_id,
    no_such_debtor,
    status_of,
    write_each,
)
from shopbridge.connectors.base import DebtorTerms, OrderWrite
from shopbridge.errors import AuthError, ConfigError, FatalError, RecordError, RetriableError
from shopbridge.models import Order
from tests.unit.test_exact_globe_translate import COMPANY, make_order


def _writes(*references: str) -> list[OrderWrite]:
    order: Order = make_order()
    return [OrderWrite(order, "D1", ref) for ref in references]


def test_a_refused_order_is_its_result_and_the_batch_goes_on() -> None:
    sent: list[str] = []

    def create(w: OrderWrite) -> str:
        sent.append(w.reference)
        if w.reference == "B":
            raise FatalError("B refused")
        if w.reference == "C":
            raise RecordError("order", "30001", "lines[0].sku", "no such SKU")
        return f"id-{w.reference}"

    first, refused, bad, last = write_each(_writes("A", "B", "C", "D"), create)
    assert (first, last) == ("id-A", "id-D") and sent == ["A", "B", "C", "D"]
    assert isinstance(refused, FatalError) and str(refused) == "B refused"
    assert isinstance(bad, FatalError) and "lines[0].sku: no such SKU" in str(bad)


@pytest.mark.parametrize(
    "error", [AuthError("401"), RetriableError("503"), ConfigError("no such order type")]
)
def test_auth_transient_and_config_errors_stop_the_loop(error: Exception) -> None:
    sent: list[str] = []

    def create(w: OrderWrite) -> str:
        sent.append(w.reference)
        raise error

    with pytest.raises(type(error)):
        write_each(_writes("A", "B"), create)
    assert sent == ["A"]


def test_order_types_status_ids_and_debtors() -> None:
    check_order_type("Buckles", "sales_order")
    with pytest.raises(
        ConfigError, match="'sales_invoice' is not supported by Buckles; known: sales_order"
    ):
        check_order_type("Buckles", "sales_invoice")
    check_order_type("AccountView", "direct_invoice", {"sales_order": 1, "direct_invoice": 2})
    response = httpx.Response(409, request=httpx.Request("POST", "https://x/orders"))
    assert status_of(FatalError("exists", response=response)) == 409
    assert status_of(FatalError("no answer")) is None
    assert created_id("Buckles", {"id": 7}, "id", "customer a") == "7"
    for answer in ({"id": None}, {"id": ""}, {"id": False}, {}, [], None):
        with pytest.raises(FatalError, match="Buckles answered the create of customer a without"):
            created_id("Buckles", answer, "id", "customer a")
    err = no_such_debtor("Exact Globe", "60093", COMPANY)
    assert (err.entity, err.field) == ("customer", "debtor_code")
    assert err.reason == "debtor 60093 not found in Exact Globe"


def test_ignored_terms_are_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    ignore = IgnoredTerms("CCV SalesPOS")
    with caplog.at_level(logging.WARNING):
        ignore(None)
        ignore(DebtorTerms())
        assert caplog.records == []
        ignore(DebtorTerms(tax_code="VAT21"))
        ignore(DebtorTerms(classification="W"))
    [record] = caplog.records
    assert record.getMessage().startswith("CCV SalesPOS has no debtor terms")
