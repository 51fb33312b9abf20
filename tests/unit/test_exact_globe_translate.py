"""Canonical -> Exact Globe payloads: pure, table-like checks (STYLE R12)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shopbridge.connectors.exact_globe.client import any_of, odata_quote
from shopbridge.connectors.exact_globe.translate import (
    account_from_customer,
    contact_from_customer,
    order_header,
    order_lines,
    percent,
    transaction_key,
)
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine

ADDR = Address(
    street="Kerkstraat",
    house_number="12",
    house_number_ext="A",
    postcode="1012 AB",
    city="Amsterdam",
    country="NL",
)
COMPANY = Customer(
    kind=CustomerKind.COMPANY,
    email="Anna@Example.nl",
    first_name="Anna",
    last_name="de Vries",
    company_name="Bakkerij de Vries",
    vat_number="NL123456789B01",
    phone="+31 20 1234567",
    billing_address=ADDR,
)
PERSON = Customer(
    kind=CustomerKind.PERSON,
    email="bram@example.be",
    first_name="Bram",
    last_name="Peeters",
    billing_address=Address(
        street="Rue de la Paix", house_number="3", postcode="9000", city="Gent", country="BE"
    ),
)


def make_order() -> Order:
    when = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id="30001"),
        number="ORD30001",
        status="processing",
        created_at=when,
        updated_at=when,
        currency="EUR",
        customer=COMPANY,
        shipping_address=ADDR,
        lines=(
            OrderLine(
                sku="MUG-BLA-9001",
                description="Mug black",
                quantity=Decimal("2"),
                unit_price_excl=Decimal("12.50"),
                unit_price_incl=Decimal("15.125"),
                tax_rate=Decimal("0.21"),
            ),
            OrderLine(
                sku="CAP-WHI-9002",
                quantity=Decimal("1"),
                unit_price_excl=Decimal("20"),
                unit_price_incl=Decimal("24"),
                tax_rate=Decimal("0.20"),
            ),
        ),
        total_excl=Decimal("45.00"),
        total_incl=Decimal("54.25"),
        shipping_method="PostNL",
        payment_method="iDEAL",
    )


def test_company_account():
    assert account_from_customer(COMPANY) == {  # Exact's documented Account names
        "AccountName": "Bakkerij de Vries",
        "EmailAddress": "anna@example.nl",
        "PhoneNumber": "+31 20 1234567",
        "MailingAddress1": "Kerkstraat 12A",
        "MailingPostcode": "1012 AB",
        "MailingCity": "Amsterdam",
        "MailingCountry": "NL",
        "AccountStatus": "A",
        "CustomerType": "C",
        "VATNumber": "NL123456789B01",
    }


def test_person_account_and_contact():
    body = account_from_customer(PERSON)
    assert body["AccountName"] == "Bram Peeters"
    assert "IsPerson" not in body  # Globe's REST Account has no person flag
    assert "VATNumber" not in body
    assert body["MailingAddress1"] == "Rue de la Paix 3"
    assert contact_from_customer(PERSON, "guid-1") == {
        "FirstName": "Bram",
        "LastName": "Peeters",
        "Email": "bram@example.be",
        "Phone": "",
        "Account": "guid-1",
    }


def test_order_lines_money_as_strings():
    lines = order_lines(make_order(), "tk")
    assert lines == [
        {
            "TransactionKey": "tk",
            "LineNumber": 1,
            "Itemcode": "MUG-BLA-9001",
            "Description": "Mug black",
            "Quantity": "2",
            "Price": "12.50",
            "DiscountAmount": "0",
            "VATPercentage": "21",
        },
        {
            "TransactionKey": "tk",
            "LineNumber": 2,
            "Itemcode": "CAP-WHI-9002",
            "Description": "CAP-WHI-9002",
            "Quantity": "1",
            "Price": "20",
            "DiscountAmount": "0",
            "VATPercentage": "20",
        },
    ]
    assert all(
        isinstance(v, str)
        for ln in lines
        for k, v in ln.items()
        if k in ("Quantity", "Price", "VATPercentage")
    )


def test_order_header():
    head = order_header(
        make_order(), debtor_code="60001", reference="ls-30001", transaction_key="tk"
    )
    assert head == {
        "TransactionKey": "tk",
        "OrderDebtor": "60001",
        "YourReference": "ls-30001",
        "Description": "ORD30001",
        "OrderDate": "2026-11-17",
        "Currency": "EUR",
        "DeliveryAddressLine1": "Kerkstraat 12A",
        "DeliveryPostalCode": "1012 AB",
        "DeliveryCity": "Amsterdam",
        "DeliveryCountry": "NL",
        "AmountDC": "45.00",
        "PaymentCondition": "iDEAL",
        "DeliveryMethod": "PostNL",
    }


@pytest.mark.parametrize(
    ("rate", "want"), [("0.21", "21"), ("0.20", "20"), ("0.055", "5.5"), ("0", "0")]
)
def test_percent_never_exponent(rate, want):
    assert percent(Decimal(rate)) == want


def test_transaction_key_deterministic_guid():
    a = transaction_key("ls-1")
    assert a == transaction_key("ls-1")
    assert a != transaction_key("ls-2")
    assert transaction_key("ls-1", revision="x") not in (a, transaction_key("ls-1", revision="y"))
    assert len(a) == 36 and a.count("-") == 4


@pytest.mark.parametrize(
    ("raw", "want"), [("abc", "'abc'"), ("O'Brien", "'O''Brien'"), ("''", "''''''"), ("", "''")]
)
def test_odata_quote(raw, want):
    assert odata_quote(raw) == want


def test_any_of_chunks_at_40_and_dedupes():
    values = [f"s{i}" for i in range(95)] + ["s1", ""]
    chunks = any_of("ItemCode", values)
    assert [c.count(" eq ") for c in chunks] == [40, 40, 15]
    assert chunks[0].startswith("ItemCode eq 's0' or ItemCode eq 's1' or ")
    assert any_of("X", []) == []
    assert any_of("Name", ["O'Brien"]) == ["Name eq 'O''Brien'"]
