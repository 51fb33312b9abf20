"""Pure Exact Globe helpers: Globe order -> canonical, and catalogue payloads (STYLE R12)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shopbridge.connectors._kit.addresses import split_street
from shopbridge.connectors.base import ItemWrite
from shopbridge.connectors.exact_globe.catalogue import (
    category_code,
    initial_stock,
    item_body,
    truncate,
    with_ancestors,
)
from shopbridge.connectors.exact_globe.from_globe import (
    order_from_globe,
    order_id,
    server_time,
    totals,
)
from shopbridge.connectors.exact_globe.source import odata_datetime
from shopbridge.errors import RecordError
from shopbridge.models import CustomerKind

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("Kerkstraat 12A", ("Kerkstraat", "12", "A")),
        ("Kerkstraat 12 A", ("Kerkstraat", "12", "A")),
        ("Rue de la Paix 3 bis", ("Rue de la Paix", "3", "bis")),
        ("Bahnhofstraße 5", ("Bahnhofstraße", "5", "")),
        ("Kerkstraat 12-14", ("Kerkstraat", "12", "-14")),
        ("1e Jan Steenstraat 7", ("1e Jan Steenstraat", "7", "")),
        ("12 High Street", ("High Street", "12", "")),
        ("Postbus", ("Postbus", "", "")),
        ("  Dorpsstraat   9  ", ("Dorpsstraat", "9", "")),
    ],
)
def test_split_street(line, want):
    assert split_street(line) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2026-11-16T10:15:00", datetime(2026, 11, 16, 10, 15, tzinfo=AMS)),
        ("2026-07-01T10:00:00", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),  # summer time
        ("2026-11-16", datetime(2026, 11, 16, tzinfo=AMS)),
        ("2026-11-16T10:15:00+00:00", datetime(2026, 11, 16, 10, 15, tzinfo=UTC)),
        ("2026-11-16T10:15:00Z", datetime(2026, 11, 16, 10, 15, tzinfo=UTC)),
        # OData v2 DateTime: the server's wall clock written as UTC ticks
        ("/Date(1794824100000)/", datetime(2026, 11, 16, 10, 15, tzinfo=AMS)),
        # OData v2 DateTimeOffset: an instant, shown at its offset
        ("/Date(1794820500000+0100)/", datetime(2026, 11, 16, 9, 15, tzinfo=UTC)),
    ],
)
def test_server_time(raw, want):
    got = server_time(raw, AMS)
    assert got == want
    assert got.tzinfo is not None


def test_server_time_offset_is_kept():
    got = server_time("/Date(1794820500000+0100)/", AMS)
    assert got.utcoffset() == timedelta(hours=1)
    assert got.tzinfo == timezone(timedelta(hours=1))


def test_odata_datetime_is_server_local_and_truncated():
    start = datetime(2026, 11, 16, 0, 0, 0, 999, tzinfo=UTC)
    assert odata_datetime(start, "Europe/Amsterdam") == "datetime'2026-11-16T01:00:00'"
    assert (
        odata_datetime(datetime(2026, 7, 1, tzinfo=UTC), "Europe/Amsterdam")
        == "datetime'2026-07-01T02:00:00'"
    )
    naive = datetime(2026, 7, 1)  # noqa: DTZ001 - a naive window bound is read as UTC
    assert odata_datetime(naive, "Europe/Amsterdam") == "datetime'2026-07-01T02:00:00'"


@pytest.mark.parametrize(
    ("nets", "incl", "want"),
    [
        ([(Decimal("10.00"), Decimal("0.21"))], False, (Decimal("10.00"), Decimal("12.10"))),
        # VAT per rate, rounded once: 3 x 0.05 at 21 % is 0.0315 -> 0.03, not 3 x 0.01
        ([(Decimal("0.05"), Decimal("0.21"))] * 3, False, (Decimal("0.15"), Decimal("0.18"))),
        (
            [(Decimal("22.50"), Decimal("0.21")), (Decimal("0.99"), Decimal("0.09"))],
            False,
            (Decimal("23.49"), Decimal("28.31")),
        ),
        ([(Decimal("12.10"), Decimal("0.21"))], True, (Decimal("10.00"), Decimal("12.10"))),
        ([(Decimal("10.00"), Decimal("0"))], True, (Decimal("10.00"), Decimal("10.00"))),
    ],
)
def test_totals(nets, incl, want):
    assert totals(nets, vat_included=incl) == want


# -- order_from_globe ------------------------------------------------------------------------

RECORD: dict[str, Any] = {
    "header": {
        "ID": "h1",
        "OrderNumber": "  10001",
        "OrderDebtor": "60001",
        "OrderDate": "2026-11-16",
        "Created": "2026-11-16T10:11:00",
        "Modified": "2026-11-16T10:15:00",
        "Currency": "EUR",
        "PaymentCondition": "14",
        "DeliveryMethod": "AFH",
    },
    "lines": [
        {
            "LineNumber": 1,
            "Itemcode": "MUG-1",
            "Description": "Mug",
            "Quantity": "2",
            "Price": "5.00",
            "VATPercentage": "21",
            "DiscountAmount": "0",
        }
    ],
    "account": {
        "ID": "a1",
        "DebtorCode": "60001",
        "Name": "Bakkerij Jansen",
        "IsPerson": False,
        "Email": "info@bakkerij.nl",
        "Phone": "+31 1",
        "VATNumber": "NL1B01",
        "AddressLine1": "Kerkstraat 12A",
        "PostalCode": "1012 AB",
        "City": "Amsterdam",
        "Country": "nl",
        "contacts": [
            {
                "IsDefault": True,
                "FirstName": "Anna",
                "LastName": "Jansen",
                "Email": "Anna@Bakkerij.nl",
                "Phone": "",
            }
        ],
    },
    "timezone": "Europe/Amsterdam",
}


def record(**changes: Any) -> dict[str, Any]:
    """RECORD with ``changes`` as ``"header.Field": value`` (None deletes)."""
    rec = copy.deepcopy(RECORD)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = rec
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is None and not last.isdigit():
            node.pop(last, None)
        else:
            node[int(last) if last.isdigit() else last] = value
    return rec


def test_company_record():
    order = order_from_globe(RECORD)
    assert (order.ref.system, order.ref.id, order.number, order.status) == (
        "exact_globe",
        "10001",
        "10001",
        "open",
    )
    c = order.customer
    assert (c.kind, c.company_name, c.first_name, c.last_name, c.email, c.phone) == (
        CustomerKind.COMPANY,
        "Bakkerij Jansen",
        "Anna",
        "Jansen",
        "anna@bakkerij.nl",
        "+31 1",
    )
    assert (
        c.billing_address.street,
        c.billing_address.house_number,
        c.billing_address.house_number_ext,
        c.billing_address.country,
    ) == ("Kerkstraat", "12", "A", "NL")
    assert order.shipping_address == c.billing_address
    assert (order.total_excl, order.total_incl) == (Decimal("10.00"), Decimal("12.10"))
    assert order.created_at == datetime(2026, 11, 16, 9, 11, tzinfo=UTC)
    assert (order.payment_method, order.shipping_method) == ("14", "AFH")


def test_person_without_contact_splits_the_account_name():
    order = order_from_globe(
        record(
            **{"account.IsPerson": True, "account.Name": "Anna de Vries", "account.contacts": []}
        )
    )
    c = order.customer
    assert (c.kind, c.first_name, c.last_name, c.email, c.vat_number) == (
        CustomerKind.PERSON,
        "Anna",
        "de Vries",
        "info@bakkerij.nl",
        "",
    )


def test_created_falls_back_to_order_date_and_updated_to_created():
    order = order_from_globe(record(**{"header.Created": None, "header.Modified": None}))
    assert order.created_at == order.updated_at == datetime(2026, 11, 16, tzinfo=AMS)


def test_record_timezone_is_honoured():
    order = order_from_globe(record(timezone="UTC"))
    assert order.updated_at == datetime(2026, 11, 16, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"account.contacts.0.Email": "not-an-email"}, "account.contacts[0].Email"),
        ({"account.Country": "Nederland"}, "account.Country"),
        ({"account.Name": "", "account.contacts": []}, "account.AccountName"),
        ({"account": None}, "header.OrderDebtor"),
        (
            {"header.DeliveryAddressLine1": "Havenweg 1", "header.DeliveryCountry": "Holland"},
            "header.DeliveryCountry",
        ),
        ({"header.Modified": "yesterday"}, "header.Modified"),
        ({"header.Created": None, "header.OrderDate": None}, "header.SalesOrderDate"),
        ({"header.Currency": "euro"}, "header.Currency"),
        ({"header.OrderNumber": " "}, "header.SalesOrderNumber"),
        ({"lines.0.Quantity": "-1"}, "lines[0].Quantity"),
        ({"lines.0.VATPercentage": "121"}, "lines[0].VATPercentage"),
        ({"lines.0.DiscountAmount": "x"}, "lines[0].DiscountAmount"),
        ({"lines.0.Price": "1.5E+20"}, "lines[0].Price"),
        ({"lines": []}, "lines"),
        ({"header": None}, "header"),
        ({"timezone": "Nowhere/Special"}, "timezone"),
    ],
)
def test_bad_record_names_the_globe_field(changes, field):
    rec = record(**{k: v for k, v in changes.items() if k not in ("account", "header")})
    for k in ("account", "header"):
        if k in changes:
            rec[k] = changes[k]
    with pytest.raises(RecordError) as exc:
        order_from_globe(rec)
    assert exc.value.field == field
    assert exc.value.entity == "order"


def test_order_id_is_robust():
    assert order_id(RECORD) == "10001"
    assert order_id({"header": {"OrderNumber": 10002}}) == "10002"
    assert order_id({"header": "junk"}) == "?"
    assert order_id([]) == "?"  # type: ignore[arg-type]


# -- catalogue payloads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "want"),
    [
        (("Clothing",), "CLOTHING"),
        (("Clothing", "T-shirts"), "CLOTHING_T-SHIRTS"),
        (("Clothing", "T-Shirts"), "CLOTHING_T-SHIRTS"),  # a rename in case keeps the code
        (("Café & Thé",), "CAFE-THE"),
        (("Home & Garden", "Kitchen appliances"), None),
    ],
)
def test_category_code(path, want):
    code = category_code(path)
    assert len(code) <= 20
    assert code == category_code(tuple(path))  # deterministic
    if want is not None:
        assert code == want
    else:
        assert code.startswith("HOME-GARDEN_K") and code[-7] == "-"


def test_category_codes_of_long_siblings_differ():
    a = category_code(("Home & Garden", "Kitchen appliances"))
    b = category_code(("Home & Garden", "Kitchen accessories"))
    assert a != b and a[:13] == b[:13]


def test_with_ancestors_parents_first():
    assert with_ancestors([("A", "B", "C"), ("A", "D")]) == [
        ("A",),
        ("A", "B"),
        ("A", "D"),
        ("A", "B", "C"),
    ]


def test_item_body_create_and_update():
    parent = ItemWrite(
        code="P",
        is_parent=True,
        categories=("CAT", "OTHER"),
        fields={
            "Description": "x" * 70,
            "SalesPrice": Decimal("1.50"),
            "IsSalesItem": True,
            "Stock": 5,
        },
    )
    assert item_body(parent, create=True) == {
        "Description": "x" * 60,
        "SalesPrice": "1.50",
        "IsSalesItem": False,
        "ItemCode": "P",
        "IsConfigurable": True,
        "Assortment": "CAT",
    }
    variant = ItemWrite(code="P-1", parent="P", fields={"GTIN": "871"})
    assert item_body(variant, create=True) == {
        "GTIN": "871",
        "ItemCode": "P-1",
        "IsSalesItem": True,
        "ParentItem": "P",
        "IsConfigurable": False,
    }
    assert item_body(variant, create=False) == {"GTIN": "871", "ParentItem": "P"}
    assert item_body(ItemWrite(code="S", fields={"Stock": "3"}), create=False) == {}


def test_initial_stock():
    assert initial_stock(ItemWrite(code="S", fields={"Stock": "3.5"})) == Decimal("3.5")
    assert initial_stock(ItemWrite(code="S", fields={})) is None
    with pytest.raises(RecordError) as exc:
        initial_stock(ItemWrite(code="S", fields={"Stock": "many"}))
    assert (exc.value.source_id, exc.value.field) == ("S", "Stock")


def test_truncate():
    assert truncate("a" * 59 + " b") == "a" * 59
    assert truncate("short") == "short"
    assert truncate(None) is None
