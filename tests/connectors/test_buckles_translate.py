"""Buckles translation: pure, table-tested; a bad record names the Buckles field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.connectors.base import ItemWrite
from shopbridge.connectors.buckles.translate import (
    checkout_payload,
    customer_fingerprint,
    customer_from_buckles,
    customer_payload,
    fingerprint,
    item_payload,
    order_payload,
    product_payload,
    shipment_from_buckles,
    shipment_payload,
    stock_from_buckles,
)
from shopbridge.errors import FatalError, RecordError
from shopbridge.models import (
    Address,
    Checkout,
    CheckoutLine,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    OrderLine,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
    Variant,
)

WHEN = datetime(2026, 11, 17, 9, tzinfo=UTC)
ADDRESS = {
    "street": "Kerkstraat",
    "house_number": "12",
    "house_number_ext": "A",
    "postcode": "1012 AB",
    "city": "Amsterdam",
    "country": "NL",
}
CUSTOMER = {
    "id": 7,
    "email": "Anna@Example.NL",
    "first_name": "Anna",
    "last_name": "de Vries",
    "company": "Bakkerij de Vries",
    "vat_number": "NL1B01",
    "phone": "+31 20 1",
    "address": ADDRESS,
    "updated_at": "2026-11-17T09:00:00Z",
}
SHIPMENT = {
    "id": 3,
    "order_id": 12,
    "status": "shipped",
    "carrier": "PostNL",
    "tracking_code": "3SABC",
    "shipped_at": "2026-11-17T10:00:00Z",
    "updated_at": "2026-11-17T10:00:01Z",
    "lines": [{"sku": "A", "qty": "2"}],
}


def test_customer_from_buckles_company_and_person() -> None:
    c = customer_from_buckles(CUSTOMER)
    assert c.kind is CustomerKind.COMPANY and c.company_name == "Bakkerij de Vries"
    assert c.email == "anna@example.nl"
    assert c.billing_address.house_number_ext == "A"
    p = customer_from_buckles({**CUSTOMER, "company": "", "vat_number": ""})
    assert p.kind is CustomerKind.PERSON and p.person_name == "Anna de Vries"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": False}, "email"),
        ({"address": "Kerkstraat 12"}, "address"),
        ({"address": {**ADDRESS, "country": "Netherlands"}}, "address.country"),
        ({"address": {**ADDRESS, "city": 12.5, "street": ["x"]}}, "address.street"),
        ({"phone": ["+31"]}, "phone"),
        ({"company": "", "first_name": "", "last_name": ""}, "first_name"),
    ],
)
def test_bad_customer_names_the_buckles_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as err:
        customer_from_buckles({**CUSTOMER, **change})
    assert err.value.entity == "customer" and err.value.source_id == "7"
    assert err.value.field == field


def test_customer_as_a_marketplace_holds_it_no_email_number_or_address() -> None:
    bare = {
        "id": 8,
        "email": "",
        "customer_number": "",
        "first_name": "",
        "last_name": "Jansen",
        "company": "",
        "vat_number": "",
        "phone": "",
        "address": {},
    }
    c = customer_from_buckles(bare)
    assert (c.email, c.customer_number, c.person_name) == ("", "8", "Jansen")
    assert c.billing_address == Address()
    assert customer_from_buckles({**bare, "address": None}).billing_address == Address()
    assert customer_from_buckles(
        {**bare, "address": {"city": "Delft", "country": "nl"}}
    ).billing_address == Address(city="Delft", country="NL")
    with pytest.raises(RecordError) as err:
        customer_from_buckles({**bare, "id": None})
    assert (err.value.source_id, err.value.field) == ("?", "id")


def test_customer_not_an_object() -> None:
    with pytest.raises(RecordError, match="not a JSON object"):
        customer_from_buckles([])  # type: ignore[arg-type]


def test_fingerprint_of_payload_equals_that_of_the_record_written_from_it() -> None:
    customer = customer_from_buckles(CUSTOMER)
    stored = {"id": 9, "updated_at": "x", **customer_payload(customer)}
    assert fingerprint(stored) == customer_fingerprint(customer)
    changed = {**stored, "phone": "+31 20 2"}
    assert fingerprint(changed) != customer_fingerprint(customer)


def test_stock_rows() -> None:
    assert stock_from_buckles({"sku": "A", "on_hand": "5", "reserved": 2}) == StockLevel(
        sku="A", on_hand=Decimal(5), reserved=Decimal(2)
    )
    assert stock_from_buckles({"sku": "A", "on_hand": 0}).reserved == 0


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"sku": "A", "on_hand": "-1"}, "on_hand"),
        ({"sku": "A", "on_hand": "lots"}, "on_hand"),
        ({"sku": "A"}, "on_hand"),
        ({"sku": "A", "on_hand": 1, "reserved": -2}, "reserved"),
        ({"sku": "", "on_hand": 1}, "sku"),
    ],
)
def test_bad_stock_row_names_the_field(row: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as err:
        stock_from_buckles(row)
    assert (err.value.entity, err.value.field) == ("stock", field)


def test_shipment_from_buckles() -> None:
    s = shipment_from_buckles(SHIPMENT)
    assert s.ref == ExternalRef(system="buckles", id="3")
    assert s.order_ref == ExternalRef(system="buckles", id="12")
    assert s.status == "shipped" and s.tracking_code == "3SABC"
    assert s.lines == (ShipmentLine(sku="A", quantity=Decimal(2)),)
    pending = shipment_from_buckles({**SHIPMENT, "status": "pending", "shipped_at": None})
    assert pending.status == "not_shipped" and pending.shipped_at is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"order_id": None}, "order_id"),
        ({"updated_at": "yesterday"}, "updated_at"),
        ({"lines": [{"sku": "A", "qty": 0}]}, "lines[0].qty"),
        ({"lines": [{"sku": "A"}]}, "lines[0].qty"),
        ({"lines": "A"}, "lines"),
    ],
)
def test_bad_shipment_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as err:
        shipment_from_buckles({**SHIPMENT, **change})
    assert (err.value.entity, err.value.field) == ("shipment", field)


def _order(**kw: Any) -> Order:
    customer = Customer(
        kind=CustomerKind.PERSON,
        email="a@example.nl",
        first_name="A",
        billing_address=Address(**ADDRESS),
    )
    line = OrderLine(
        sku="A",
        description="Mug",
        quantity=Decimal(2),
        unit_price_excl=Decimal("10.00"),
        unit_price_incl=Decimal("12.10"),
        tax_rate=Decimal("0.21"),
        discount_excl=Decimal("1.5"),
    )
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id="1"),
        number="ORD1",
        status="processing_awaiting_shipment",
        created_at=WHEN,
        updated_at=WHEN,
        customer=customer,
        shipping_address=customer.billing_address,
        lines=(line,),
        total_excl=Decimal("18.50"),
        total_incl=Decimal("22.39"),
        **{"currency": "EUR", **kw},
    )


def test_order_payload_defaults_target_fields_and_mapped_overrides() -> None:
    body = order_payload(_order(), reference="R1", customer_id="5", channel="webshop")
    assert body["status"] == "on_hold"
    assert (body["channel"], body["channel_order_id"], body["customer_id"]) == ("webshop", "R1", 5)
    assert body["lines"] == [
        {
            "sku": "A",
            "barcode": "",
            "name": "Mug",
            "qty": "2",
            "price": "10.00",
            "tax_rate": "21",
            "discount": "1.5",
        }
    ]
    mapped = {
        "header": {"status": "processing", "channel_order_id": "evil"},
        "lines": [{"price": "12.10", "sku": "OTHER"}],
    }
    body = order_payload(
        _order(), reference="R1", customer_id="5", channel="webshop", mapped=mapped
    )
    assert body["status"] == "processing"
    assert body["channel_order_id"] == "R1"
    assert body["lines"][0]["sku"] == "A" and body["lines"][0]["price"] == "12.10"


def test_order_payload_refuses_an_unknown_status_and_wrong_line_count() -> None:
    with pytest.raises(FatalError, match="status 'completed_shipped' is not a Buckles"):
        order_payload(
            _order(),
            reference="R1",
            customer_id="5",
            channel="c",
            mapped={"header": {"status": "completed_shipped"}},
        )
    with pytest.raises(FatalError, match="2 mapped lines for 1"):
        order_payload(
            _order(),
            reference="R1",
            customer_id="5",
            channel="c",
            mapped={"header": {}, "lines": [{}, {}]},
        )


def test_product_payload_is_flat_with_parent() -> None:
    common = {
        "ref": ExternalRef(system="lightspeed_ecom", id="1"),
        "title": "Shirt",
        "updated_at": WHEN,
    }
    simple = Product(
        sku="S",
        ean="871",
        variants=(
            Variant(sku="S", ean="871", price_excl=Decimal("5"), price_incl=Decimal("6.05")),
        ),
        **common,
    )
    assert [(p["sku"], p["barcode"], p.get("parent_sku")) for p in product_payload(simple)] == [
        ("S", "871", None)
    ]
    conf = Product(
        sku="P",
        variants=tuple(
            Variant(
                sku=f"P-{s}",
                ean=f"87{i}",
                title=s,
                price_excl=Decimal("5"),
                price_incl=Decimal("6.05"),
                attributes={"Size": s},
            )
            for i, s in enumerate("SM")
        ),
        **common,
    )
    rows = product_payload(conf)
    assert rows[0] == {
        "sku": "P",
        "barcode": "",
        "title": "Shirt",
        "is_parent": True,
        "description": "",
        "brand": "",
        "tax_rate": "21",
    }
    assert [(r["sku"], r["parent_sku"], r["title"]) for r in rows[1:]] == [
        ("P-S", "P", "Shirt S"),
        ("P-M", "P", "Shirt M"),
    ]


def test_item_payload_sorts_fields_into_columns_and_attributes() -> None:
    item = ItemWrite(
        code="V1",
        parent="P",
        categories=("3", "4"),
        fields={"title": "T", "price": "5.00", "colour": "red", "sku": "ignored"},
    )
    assert item_payload(item, create=True) == {
        "title": "T",
        "price": "5.00",
        "attributes": {"colour": "red"},
        "sku": "V1",
        "parent_sku": "P",
        "category_ids": [3, 4],
    }
    assert "sku" not in item_payload(item, create=False)
    assert "category_ids" not in item_payload(ItemWrite(code="X", fields={}), create=False)


def test_shipment_and_checkout_payloads() -> None:
    shipment = Shipment(
        ref=ExternalRef(system="lightspeed_ecom", id="s1"),
        order_ref=ExternalRef(system="lightspeed_ecom", id="1"),
        status="not_shipped",
        updated_at=WHEN,
        lines=(ShipmentLine(sku="A", quantity=Decimal(1)),),
    )
    assert shipment_payload(shipment) == {
        "status": "pending",
        "carrier": "",
        "tracking_code": "",
        "reference": "lightspeed_ecom:s1",
        "lines": [{"sku": "A", "qty": "1"}],
    }
    checkout = Checkout(
        ref=ExternalRef(system="lightspeed_ecom", id="c1"),
        created_at=WHEN,
        updated_at=WHEN,
        email="A@x.nl",
        total_incl=Decimal("12.10"),
        lines=(CheckoutLine(sku="A", quantity=Decimal(1), unit_price_incl=Decimal("12.10")),),
        order_ref=ExternalRef(system="lightspeed_ecom", id="1"),
    )
    body = checkout_payload(checkout, channel="lightspeed_ecom")
    assert body["email"] == "a@x.nl" and body["channel_order_id"] == "1"
    assert body["lines"] == [{"sku": "A", "name": "A", "qty": "1", "price_incl": "12.10"}]
    assert body["updated_at"] == "2026-11-17T09:00:00Z"
