"""Canonical records -> Exact Globe REST Entity payloads. Pure: no I/O, no clock.

Money, quantities and percentages leave here as plain decimal strings (``"12.50"``, never
a float and never ``"1E+1"``): JSON numbers would pass through a float somewhere between
us and SQL Server.

[U] Field names follow the entity names seen in public proxies (portway's Globe+ plugin:
``Account``, ``SalesOrderHeader``, ``SalesOrderLine``) and the eExact XML tags; the
authoritative list is Exact's "technical reference of business entities", which is not
public. Names not seen anywhere are marked [U] where they are built.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from shopbridge.connectors._kit.addresses import street_line
from shopbridge.models import Customer, CustomerKind, Order

#: Fixed namespace: the same reference always yields the same TransactionKey.
_TX_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://shopbridge.dev/exact_globe/transaction")


def dec(value: Decimal) -> str:
    """A Decimal as a fixed-point string (``Decimal('2E+1')`` -> ``"20"``)."""
    return format(value, "f")


def percent(rate: Decimal) -> str:
    """A canonical rate (``0.21``) as Globe's VAT percentage (``"21"``)."""
    return dec((rate * 100).normalize())


def transaction_key(reference: str, *, revision: str = "") -> str:
    """A deterministic GUID for one order's staged lines (uuid5 of the reference).

    Retried line POSTs then carry the same key and LineNumber, which Globe treats as a
    replacement, not a new line. ``revision`` (e.g. the order's content hash) gives a
    changed order a fresh key, so lines staged by an earlier failed attempt with more
    lines can never be committed into the new one.
    """
    return str(uuid.uuid5(_TX_NAMESPACE, f"{reference}\x1f{revision}" if revision else reference))


def account_from_customer(customer: Customer) -> dict[str, Any]:
    """An ``Account`` of type customer, in Exact's documented REST names (entity
    documentation PU415): ``AccountName``, ``EmailAddress``, ``PhoneNumber``,
    ``VATNumber``, the ``Mailing*`` address ([U] that Mailing is the address a customer's
    debtor card shows), ``CustomerType "C"`` and ``AccountStatus "A"`` ([U] the codes, as
    eExact's ``<Account type="C" status="A">``). A company's name is the company, a
    person's the person; Globe's REST Account has no person flag.
    """
    addr = customer.billing_address
    body: dict[str, Any] = {
        "AccountName": customer.display_name,
        "EmailAddress": customer.email,
        "PhoneNumber": customer.phone,
        "MailingAddress1": street_line(addr),
        "MailingPostcode": addr.postcode,
        "MailingCity": addr.city,
        "MailingCountry": addr.country,
        "AccountStatus": "A",
        "CustomerType": "C",
    }
    if customer.kind is CustomerKind.COMPANY:
        body["VATNumber"] = customer.vat_number
    return body


def contact_from_customer(customer: Customer, account_id: str) -> dict[str, Any]:
    """The ``Contact`` (Globe's contact person) linked to the account's ID guid. [U] names."""
    return {
        "FirstName": customer.first_name,
        "LastName": customer.last_name,
        "Email": customer.email,
        "Phone": customer.phone,
        "Account": account_id,
    }


def order_lines(order: Order, transaction_key: str) -> list[dict[str, Any]]:
    """One ``SalesOrderLine`` per canonical line, numbered from 1, prices excl. VAT.

    [U] ``LineNumber``, ``Description`` and ``VATPercentage``; Globe normally derives VAT
    from the item's VAT code, so the percentage is informative for the reviewer.
    """
    return [
        {
            "TransactionKey": transaction_key,
            "LineNumber": n,
            "Itemcode": line.sku,
            "Description": line.description or line.sku,
            "Quantity": dec(line.quantity),
            "Price": dec(line.unit_price_excl),
            "DiscountAmount": dec(line.discount_excl),
            "VATPercentage": percent(line.tax_rate),
        }
        for n, line in enumerate(order.lines, start=1)
    ]


def order_header(
    order: Order, *, debtor_code: str, reference: str, transaction_key: str
) -> dict[str, Any]:
    """The ``SalesOrderHeader`` that commits the lines staged under ``transaction_key``.

    ``YourReference`` carries our reference: it is how a rerun finds the order again.
    [U] ``OrderDate`` as an ISO date, the ``Delivery*`` names, ``AmountDC`` (total excl.,
    in the order's currency). ``PaymentCondition``/``DeliveryMethod`` are Globe codes; the
    webshop's names are passed as they are and should go through a mapping table when an
    administration's codes differ.
    """
    ship = order.shipping_address
    body: dict[str, Any] = {
        "TransactionKey": transaction_key,
        "OrderDebtor": debtor_code,
        "YourReference": reference,
        "Description": order.number,
        "OrderDate": order.created_at.date().isoformat(),
        "Currency": order.currency,
        "DeliveryAddressLine1": street_line(ship),
        "DeliveryPostalCode": ship.postcode,
        "DeliveryCity": ship.city,
        "DeliveryCountry": ship.country,
        "AmountDC": dec(order.total_excl),
    }
    if order.payment_method:
        body["PaymentCondition"] = order.payment_method
    if order.shipping_method:
        body["DeliveryMethod"] = order.shipping_method
    return body
