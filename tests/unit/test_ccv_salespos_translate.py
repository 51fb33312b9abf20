"""CCV SalesPOS translation: pure, table-tested (STYLE R12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.connectors.ccv_salespos.client import dumps
from shopbridge.connectors.ccv_salespos.translate import (
    ItemRef,
    category_paths,
    customer_payload,
    order_payload,
    percent,
    product_from_ccv,
    stock_from_ccv,
    stock_id,
    stock_records,
    wire,
)
from shopbridge.errors import FatalError, RecordError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine


def product(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "productnumber": "MUG-1",
        "eannumber": "871",
        "name": "Mug",
        "price": 10,
        "discount": 0,
        "vatrate": 21,
        "stockenabled": True,
        "stocktype": "product",
        "stock": 4,
        "modifydate": "2026-11-17T10:00:00Z",
        "attributecombinations": [],
        "categories": [],
        "_context": {"prices_include_tax": False, "currency": "EUR"},
    }
    return base | kw


def combo(cid: int, sku: str, colour: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "sku_number": sku,
        "ean_number": "",
        "stock": 3,
        "netto_extra_price": 0,
        "active": True,
        "combination": [{"attribute": {"name": "Colour"}, "attribute_value": {"name": colour}}],
    } | kw


# --- products ----------------------------------------------------------------------------


def test_simple_product() -> None:
    p = product_from_ccv(
        product(
            brand={"name": "Klei"},
            is_visible=False,
            categories=[
                {"id": "2", "path": ["Home", "Kitchen"]},
                {"id": "3", "path": ["Home", "Kitchen"]},
            ],
        )
    )
    # CCV products have no SKU field: productnumber is the article code
    assert (p.sku, p.article_code, p.ean, p.title, p.brand, p.visible) == (
        "",
        "MUG-1",
        "871",
        "Mug",
        "Klei",
        False,
    )
    [v] = p.variants
    assert (v.sku, v.article_code, v.price_excl, v.price_incl, v.quantity) == (
        "",
        "MUG-1",
        Decimal(10),
        Decimal("12.10"),
        Decimal(4),
    )
    assert not p.configurable and p.tax_rate == Decimal("0.21")
    assert [c.path for c in p.categories] == [("Home", "Kitchen")]
    assert p.updated_at == datetime(2026, 11, 17, 10, tzinfo=UTC)
    assert p.ref == ExternalRef(system="ccv_salespos", id="1")


def test_configurable_product_from_active_combinations() -> None:
    p = product_from_ccv(
        product(
            productnumber="",
            price=20,
            discount=2,
            stocktype="attributecombination",
            attributecombinations=[
                combo(11, "MUG-RED", "red", netto_extra_price=1.5),
                combo(12, "MUG-OFF", "blue", active=False),
                combo(13, "MUG-GRN", "green", stock=-1),
            ],
            _context={"prices_include_tax": True, "currency": "GBP"},
        )
    )
    assert p.sku == "P-1" and p.currency == "GBP" and p.configurable
    red, green = p.variants
    assert (red.sku, red.attributes, red.title) == ("MUG-RED", {"Colour": "red"}, "red")
    assert red.price_incl == Decimal("19.5") and red.price_excl == Decimal("16.12")
    assert red.quantity == Decimal(3)
    assert green.quantity is None  # negative stock is the stock flow's to report


def test_shared_stock_and_unmanaged_stock() -> None:
    shared = product_from_ccv(product(stock=9, attributecombinations=[combo(11, "A", "red")]))
    assert shared.variants[0].quantity == Decimal(9)
    unmanaged = product_from_ccv(product(stockenabled=False))
    assert unmanaged.variants[0].quantity is None


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"name": ""}, "name", "missing or empty"),
        ({"productnumber": None, "eannumber": ""}, "productnumber", "no item key"),
        ({"_context": None}, "_context", "shop's settings"),
        (
            {"_context": {"prices_include_tax": True, "currency": ""}},
            "_context.currency",
            "missing or empty",
        ),
        ({"price": "ten"}, "price", "not a number"),
        ({"vatrate": 121}, "vatrate", "percentage"),
        ({"vatrate": None, "taxtariff": "luxury"}, "taxtariff", "unknown tax tariff"),
        ({"modifydate": "yesterday"}, "modifydate", "ISO 8601"),
        ({"stockenabled": "maybe"}, "stockenabled", "true or false"),
        ({"brand": 5}, "brand", "expected an object"),
        ({"attributecombinations": {"href": "x"}}, "attributecombinations", "not expanded"),
        (
            {"attributecombinations": [combo(1, "A", "red", active=False)]},
            "attributecombinations",
            "every combination is inactive",
        ),
        (
            {"attributecombinations": [combo(1, "", "red")]},
            "attributecombinations[0].sku_number",
            "no item key",
        ),
        (
            {"attributecombinations": [combo(1, "A", "red", combination=[])]},
            "attributecombinations[0].combination",
            "without attribute values",
        ),
        (
            {"attributecombinations": [combo(1, "A", "red", combination=[{"attribute": {}}])]},
            "attributecombinations[0].combination[0].attribute.name",
            "missing or empty",
        ),
        ({"categories": [{"id": 1, "path": []}]}, "categories[0].path", "names, root first"),
        ({"price": 5, "discount": 6}, "price", "is negative"),
    ],
)
def test_bad_products_name_the_vendor_field(
    change: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(RecordError) as err:
        product_from_ccv(product(**change))
    assert (err.value.entity, err.value.source_id, err.value.field) == ("product", "1", field)
    assert reason in err.value.reason


def test_tax_tariff_when_no_vatrate_and_naive_dates_are_utc() -> None:
    p = product_from_ccv(product(vatrate=None, taxtariff="Low A", modifydate="2026-11-17 10:00:00"))
    assert p.tax_rate == Decimal("0.09")
    assert p.updated_at == datetime(2026, 11, 17, 10, tzinfo=UTC)


def test_not_an_object() -> None:
    with pytest.raises(RecordError, match="not a JSON object"):
        product_from_ccv([])  # type: ignore[arg-type]


def test_category_paths_walk_parents_and_drop_broken_chains() -> None:
    cats = [
        {"id": 1, "name": "Home", "parentcategory": None},
        {"id": 2, "name": "Kitchen", "parentcategory": {"id": 1}},
        {"id": 3, "name": "Orphan", "parentcategory": {"id": 99}},
        {"id": 4, "name": "Loop", "parentcategory": {"id": 5}},
        {"id": 5, "name": "Pool", "parentcategory": {"id": 4}},
    ]
    assert category_paths(cats) == {"1": ["Home"], "2": ["Home", "Kitchen"]}


# --- stock -------------------------------------------------------------------------------


def test_stock_records_and_levels() -> None:
    simple = list(stock_records(product(stocklocation="Winkel")))
    assert [stock_id(r) for r in simple] == ["product/1"]
    level = stock_from_ccv(simple[0])
    assert (
        level.sku,
        level.article_code,
        level.ean,
        level.on_hand,
        level.managed,
        level.locations,
    ) == ("", "MUG-1", "871", Decimal(4), True, {"Winkel": Decimal(4)})
    multi = list(
        stock_records(
            product(
                stocktype="attributecombination",
                attributecombinations=[
                    combo(11, "A", "red", stock=2),
                    combo(12, "B", "blue", stock=5),
                ],
            )
        )
    )
    assert [stock_id(r) for r in multi] == ["attributecombination/11", "attributecombination/12"]
    assert [stock_from_ccv(r).on_hand for r in multi] == [Decimal(2), Decimal(5)]
    unmanaged = stock_from_ccv(
        {
            "product": {"id": 1, "productnumber": "X", "stockenabled": False},
            "attributecombination": None,
        }
    )
    assert (unmanaged.on_hand, unmanaged.managed) == (Decimal(0), False)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (
            {"product": {"id": 1, "productnumber": "X", "stockenabled": True, "stock": -1}},
            "product.stock",
        ),
        ({"product": {"id": 1, "productnumber": "X", "stockenabled": True}}, "product.stock"),
        ({"product": {"id": 1, "stockenabled": True, "stock": 1}}, "product.productnumber"),
        (
            {
                "product": {"id": 1, "stocktype": "x", "stockenabled": True},
                "attributecombination": {"id": 2, "sku_number": "A", "stock": "many"},
            },
            "attributecombination.stock",
        ),
        ({"product": {"id": 1}, "attributecombination": "x"}, "product.attributecombination"),
        ({"nothing": 1}, "product"),
    ],
)
def test_bad_stock_names_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as err:
        stock_from_ccv(record)
    assert (err.value.entity, err.value.field) == ("stock", field)
    assert stock_id("nope") == "?"


# --- orders --------------------------------------------------------------------------------


def _order(discount: Decimal = Decimal(0)) -> Order:
    addr = Address(
        street="Rue de la Paix", house_number="bis", postcode="69001", city="Lyon", country="FR"
    )
    cust = Customer(
        kind=CustomerKind.PERSON, email="jules@example.fr", first_name="Jules", billing_address=addr
    )
    when = datetime(2026, 11, 17, tzinfo=UTC)
    line = OrderLine(
        sku="A",
        quantity=Decimal("1.5"),
        unit_price_excl=Decimal("10.005"),
        unit_price_incl=Decimal("12"),
        tax_rate=Decimal("0.055"),
    )
    return Order(
        currency="EUR",
        ref=ExternalRef(system="s", id="1"),
        number="ORD1",
        status="x",
        created_at=when,
        updated_at=when,
        customer=cust,
        shipping_address=addr,
        lines=(line,),
        total_excl=Decimal(15),
        total_incl=Decimal(18),
        discount_excl=discount,
        discount_incl=discount,
    )


def test_order_payload_from_the_canonical_order() -> None:
    body = order_payload(
        _order(Decimal("2.5")), reference="ORD1", items={"A": ItemRef(5, "A-PARENT", 55)}
    )
    assert body["reservationnumber"] == "ORD1"
    assert body["extra_costs"] == Decimal("-2.5")
    assert body["total_shipping"] == 0 and body["paid"] is False
    [row] = body["orderrows"]
    assert row == {
        "product_name": "A",
        "count": Decimal("1.5"),
        "price": Decimal("10.005"),
        "discount": Decimal(0),
        "tax": Decimal("5.5"),
        "product_id": 5,
        "attribute_combination_id": 55,
    }
    cust = body["customer"]
    assert cust["customertype"] == "b2c" and "btw" not in cust
    assert cust["billingaddress"]["housenumber"] is None
    assert cust["billingaddress"]["street"] == "Rue de la Paix bis"
    sent = json.loads(dumps(body))
    assert sent["orderrows"][0]["price"] == 10.005 and sent["orderrows"][0]["tax"] == 5.5


def test_mapped_fields_override_but_not_our_own() -> None:
    mapped = {
        "header": {
            "status": "4",
            "reservationnumber": "theirs",
            "total_shipping": "4.95",
            "customer": {"email": "x@y.z"},
        },
        "lines": [{"price": "9.50", "count": "2", "product_id": "999", "memo": "gift"}],
    }
    body = order_payload(
        _order(),
        reference="ORD1",
        items={"A": ItemRef(5, "A")},
        mapped=mapped,
        reference_field="transaction_id",
    )
    assert body["status"] == 4 and body["total_shipping"] == Decimal("4.95")
    assert body["transaction_id"] == "ORD1" and body["reservationnumber"] == "theirs"
    assert body["customer"] == {"email": "x@y.z"}
    [row] = body["orderrows"]
    assert (row["price"], row["count"], row["product_id"], row["memo"]) == (
        Decimal("9.50"),
        Decimal(2),
        5,
        "gift",
    )
    assert "attribute_combination_id" not in row


def test_order_payload_refuses_unknown_skus_and_misaligned_lines() -> None:
    with pytest.raises(FatalError, match=r"lines\[0\]\.sku A does not exist in CCV"):
        order_payload(_order(), reference="ORD1", items={})
    with pytest.raises(FatalError, match="2 mapped lines for 1 order lines"):
        order_payload(
            _order(),
            reference="ORD1",
            items={"A": ItemRef(5, "A")},
            mapped={"header": {}, "lines": [{}, {}]},
        )


def test_customer_payload_company_and_house_numbers() -> None:
    addr = Address(
        street="Kerkstraat",
        house_number="12-14",
        house_number_ext="A",
        postcode="1012 AB",
        city="Amsterdam",
        country="NL",
    )
    cust = Customer(
        kind=CustomerKind.COMPANY,
        email="b@example.nl",
        company_name="B.V.",
        last_name="Bakker",
        vat_number="NL1B01",
        billing_address=addr,
    )
    body = customer_payload(cust)
    assert (body["customertype"], body["btw"]) == ("b2b", "NL1B01")
    # CCV's delivery address takes a full name only [S: Personalinfo input schema]
    delivery = dict(body["deliveryaddress"])
    assert delivery.pop("full_name") == "Bakker"
    assert {**delivery, "first_name": "", "last_name": "Bakker"} == body["billingaddress"]
    billing = body["billingaddress"]
    assert (
        billing["street"],
        billing["housenumber"],
        billing["housenumber_suffix"],
        billing["company"],
        billing["country_code"],
    ) == ("Kerkstraat", 12, "-14 A", "B.V.", "NL")


def test_wire_and_percent() -> None:
    assert wire("price", "12.50") == Decimal("12.50")
    assert wire("status", "7") == 7 and wire("status", "7.5") == Decimal("7.5")
    assert wire("price", "n/a") == "n/a" and wire("memo", "12") == "12"
    assert percent(Decimal("0.21")) == Decimal(21) and percent(Decimal("0.055")) == Decimal("5.5")
    assert dumps({"a": Decimal("2E+1"), "b": Decimal("0.10")}) == b'{"a":20,"b":0.1}'
