"""Lightspeed Retail's pure parts: vendor shapes, payloads, the cost model and pacing, the
filter grammar. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.connectors.base import ItemWrite
from shopbridge.connectors.lightspeed_retail.client import any_of, op, stamp
from shopbridge.connectors.lightspeed_retail.ratelimit import (
    BucketState,
    CostModel,
    Pacer,
    nested_entities,
)
from shopbridge.connectors.lightspeed_retail.translate import (
    as_list,
    category_paths,
    customer_body,
    fingerprint,
    flag,
    item_body,
    matrix_body,
    payment_type_for,
    relation,
    sale_body,
    wire,
)
from shopbridge.errors import ConfigError, RecordError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("", []),
        (None, []),
        (False, []),
        ({"a": "1"}, [{"a": "1"}]),
        ([{"a": "1"}, {"a": "2"}], [{"a": "1"}, {"a": "2"}]),
        ([{"a": "1"}, "junk"], [{"a": "1"}]),
    ],
)
def test_as_list_absorbs_the_object_vs_array_quirk(raw: Any, want: list[Any]) -> None:
    assert as_list(raw) == want


def test_relation_and_flags() -> None:
    record = {"ItemShops": {"ItemShop": {"shopID": "1"}}, "Empty": "", "archived": "false"}
    assert relation(record, "ItemShops", "ItemShop") == [{"shopID": "1"}]
    assert relation(record, "Empty", "X") == [] == relation(record, "Missing", "X")
    assert (flag("true"), flag("false"), flag("1"), flag(True), flag(None)) == (
        True,
        False,
        True,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+1"), "10"),
        (True, "true"),
        (3, "3"),
        (0.1, "0.1"),
        ("x", "x"),
        (datetime(2026, 1, 2, tzinfo=UTC), "2026-01-02T00:00:00+00:00"),
    ],
)
def test_wire_values_are_strings(value: Any, want: str) -> None:
    assert wire(value) == want


def test_filter_values_carry_their_operator() -> None:
    start = datetime(2026, 11, 16, 6, 0, 0, 999, tzinfo=UTC)
    assert op("><", start, start) == "><,2026-11-16T06:00:00Z,2026-11-16T06:00:00Z"
    assert op(">", 0) == ">,0"
    assert any_of(["a", "b", "", "a", 'q"uote']) == ['IN,["a", "b", "q\\"uote"]']
    assert any_of([]) == []
    with pytest.raises(ConfigError, match="timezone"):
        stamp(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value is the point


# --- customers ---------------------------------------------------------------------------


def _company() -> Customer:
    return Customer(
        kind=CustomerKind.COMPANY,
        email="Inkoop@Bakkerij.NL",
        first_name="Anna",
        last_name="de Vries",
        company_name="Bakkerij",
        vat_number="NL1B01",
        phone="+31 20 1",
        billing_address=Address(
            street="Kerkstraat",
            house_number="12",
            house_number_ext="A",
            postcode="1012 AB",
            city="Amsterdam",
            country="NL",
        ),
    )


def test_customer_body_nests_the_contact() -> None:
    body = customer_body(_company())
    assert body["company"] == "Bakkerij" and body["vatNumber"] == "NL1B01"
    contact = body["Contact"]
    assert contact["Emails"] == {
        "ContactEmail": {"address": "inkoop@bakkerij.nl", "useType": "Primary"}
    }
    assert contact["Phones"] == {"ContactPhone": {"number": "+31 20 1", "useType": "Work"}}
    assert contact["Addresses"]["ContactAddress"]["address1"] == "Kerkstraat 12A"
    person = _company().model_copy(update={"kind": CustomerKind.PERSON, "phone": ""})
    assert (
        customer_body(person)["company"] == "" and customer_body(person)["Contact"]["Phones"] == ""
    )


def test_fingerprint_is_the_same_for_what_we_write_and_what_we_read() -> None:
    written = customer_body(_company())
    read = {
        "customerID": "7",
        "firstName": "Anna ",
        "lastName": "de Vries",
        "company": "Bakkerij",
        "vatNumber": "NL1B01",
        "timeStamp": "x",
        "Contact": {
            "Emails": {
                "ContactEmail": [
                    {"address": "other@x.nl", "useType": "Secondary"},
                    {"address": "INKOOP@bakkerij.nl", "useType": "Primary"},
                ]
            },
            "Phones": {"ContactPhone": {"number": "+31 20 1", "useType": "Home"}},
            "Addresses": {
                "ContactAddress": {
                    "address1": "Kerkstraat 12A",
                    "zip": "1012 AB",
                    "city": "Amsterdam",
                    "countryCode": "nl",
                }
            },
            "Websites": "",
        },
    }
    assert fingerprint(written) == fingerprint(read)
    read["Contact"]["Phones"] = ""
    assert fingerprint(written) != fingerprint(read)


# --- sales -------------------------------------------------------------------------------


def _order(*lines: tuple[str, str, str, int, str], payment: str = "iDEAL") -> Order:
    lines = lines or (("A", "1", "1.21", 1, "0"),)
    ols = tuple(
        OrderLine(
            sku=sku,
            quantity=Decimal(qty),
            unit_price_excl=Decimal(excl),
            unit_price_incl=Decimal(incl),
            tax_rate=Decimal("0.21"),
            discount_excl=Decimal(disc),
            discount_incl=Decimal(disc),
        )
        for sku, excl, incl, qty, disc in lines
    )
    cust = _company()
    when = datetime(2026, 11, 17, tzinfo=UTC)
    return Order(
        currency="EUR",
        ref=ExternalRef(system="fortnox", id="9"),
        number="FN-9",
        status="x",
        created_at=when,
        updated_at=when,
        customer=cust,
        shipping_address=cust.billing_address,
        lines=ols,
        total_excl=Decimal(0),
        total_incl=Decimal(0),
        payment_method=payment,
    )


BASE_KW: dict[str, Any] = {
    "reference": "FN-9",
    "reference_source": "shopbridge",
    "item_ids": {"A": "11", "B": "12"},
    "mapped": None,
    "customer_id": "5",
    "shop_id": 1,
    "register_id": 2,
    "employee_id": 3,
    "payment_type_id": 1,
}


def test_sale_body_in_a_tax_inclusive_shop() -> None:
    order = _order(("A", "8.26", "10.00", 2, "0"), ("B", "4.13", "5.00", 1, "1.00"))
    body, total = sale_body(order, **BASE_KW, tax_inclusive=True, tax_rate=Decimal("0.21"))
    assert total == Decimal("24.00")
    assert body["SalePayments"] == {"SalePayment": {"amount": "24.00", "paymentTypeID": "1"}}
    assert body["SaleLines"]["SaleLine"] == [
        {"itemID": "11", "unitQuantity": "2", "unitPrice": "10.00", "discountAmount": "0"},
        {"itemID": "12", "unitQuantity": "1", "unitPrice": "5.00", "discountAmount": "1.00"},
    ]
    assert {
        k: body[k]
        for k in (
            "employeeID",
            "registerID",
            "shopID",
            "customerID",
            "completed",
            "referenceNumber",
            "referenceNumberSource",
        )
    } == {
        "employeeID": "3",
        "registerID": "2",
        "shopID": "1",
        "customerID": "5",
        "completed": "true",
        "referenceNumber": "FN-9",
        "referenceNumberSource": "shopbridge",
    }


def test_sale_body_in_a_shop_that_adds_tax() -> None:
    order = _order(("A", "8.26", "10.00", 3, "0"))
    body, total = sale_body(
        order, **{**BASE_KW, "customer_id": None}, tax_inclusive=False, tax_rate=Decimal("0.21")
    )
    assert body["SaleLines"]["SaleLine"][0]["unitPrice"] == "8.26"
    assert total == (Decimal("24.78") * Decimal("1.21")).quantize(Decimal("0.01"))
    assert "customerID" not in body


def test_sale_body_takes_mapped_fields_but_keeps_its_own() -> None:
    order = _order(("A", "8.26", "10.00", 1, "0"))
    mapped = {
        "header": {"referenceNumber": "NO", "completed": False, "shipToID": 4},
        "lines": [{"customSku": "B", "unitPrice": "3", "note": "x"}],
    }
    body, total = sale_body(
        order, **{**BASE_KW, "mapped": mapped}, tax_inclusive=True, tax_rate=Decimal(0)
    )
    assert (body["referenceNumber"], body["completed"], body["shipToID"]) == ("FN-9", "true", "4")
    assert body["SaleLines"]["SaleLine"] == [
        {"note": "x", "itemID": "12", "unitQuantity": "1", "unitPrice": "3", "discountAmount": "0"}
    ]
    assert total == 3


@pytest.mark.parametrize(
    ("mapped", "field"),
    [
        ({"lines": [{"customSku": "Z"}]}, "lines[0].sku"),
        ({"lines": [{"unitQuantity": "0.5"}]}, "lines[0].quantity"),
        ({"lines": [{"unitPrice": "cheap"}]}, "lines[0].unitPrice"),
        ({"lines": [{}, {}]}, "lines"),
    ],
)
def test_sale_body_names_the_bad_field(mapped: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        sale_body(
            _order(("A", "1", "1.21", 1, "0")),
            **{**BASE_KW, "mapped": mapped},
            tax_inclusive=True,
            tax_rate=Decimal(0),
        )
    assert exc.value.field == field


def test_payment_type_resolution() -> None:
    table = {"iDEAL": 4, "*": 2}
    assert payment_type_for(_order(payment="ideal"), None, table, 1) == 4
    assert payment_type_for(_order(payment="PayPal"), None, table, 1) == 2
    assert payment_type_for(_order(payment="PayPal"), None, {}, 1) == 1
    assert payment_type_for(_order(), {"header": {"paymentTypeID": "7"}}, table, 1) == 7
    with pytest.raises(RecordError):
        payment_type_for(_order(), {"header": {"paymentTypeID": "cash"}}, table, 1)


# --- items -------------------------------------------------------------------------------


def test_item_body_of_a_simple_item() -> None:
    item = ItemWrite(
        code="SKU-1",
        categories=("7",),
        fields={
            "description": "Pen",
            "ean": "8712345678906",
            "price": Decimal("2.50"),
            "onlinePrice": "2.25",
            "qoh": 4,
            "tax": True,
            "defaultCost": None,
        },
    )
    body = item_body(item, create=True, shop_id=2)
    assert body == {
        "description": "Pen",
        "ean": "8712345678906",
        "tax": "true",
        "customSku": "SKU-1",
        "Prices": {
            "ItemPrice": [
                {"amount": "2.50", "useType": "Default"},
                {"amount": "2.25", "useType": "Online"},
            ]
        },
        "categoryID": "7",
        "ItemShops": {"ItemShop": {"shopID": "2", "qoh": "4"}},
    }
    update = item_body(item, create=False, shop_id=2)
    assert "ItemShops" not in update and "customSku" not in update


def test_item_body_of_a_variant_and_of_its_matrix() -> None:
    variant = ItemWrite(
        code="TEE-M",
        parent="TEE",
        fields={
            "description": "Tee M",
            "attribute1": "Green",
            "attribute2": "M",
            "manufacturerSku": "mapped-but-overridden",
            "categoryID": "3",
        },
    )
    body = item_body(variant, create=True, shop_id=1, matrix_id="9", attribute_set_id="4")
    assert (body["itemMatrixID"], body["manufacturerSku"], body["categoryID"]) == ("9", "TEE", "3")
    assert body["ItemAttributes"] == {
        "attribute1": "Green",
        "attribute2": "M",
        "itemAttributeSetID": "4",
    }
    parent = ItemWrite(
        code="TEE",
        is_parent=True,
        categories=("5",),
        fields={"description": "Tee", "customSku": "x", "ean": "1", "price": "20", "qoh": 3},
    )
    assert matrix_body(parent, create=True, attribute_set_id=4) == {
        "description": "Tee",
        "itemAttributeSetID": "4",
        "Prices": {"ItemPrice": [{"amount": "20", "useType": "Default"}]},
        "categoryID": "5",
    }
    assert "itemAttributeSetID" not in matrix_body(parent, create=False, attribute_set_id=4)


def test_category_paths_follow_parent_ids_not_names() -> None:
    rows = [
        {"categoryID": "1", "name": "Home", "parentID": "0"},
        {"categoryID": "2", "name": "Pots/Pans", "parentID": "1"},
        {"categoryID": "3", "name": "Loop", "parentID": "3"},
    ]
    paths = category_paths(rows)
    assert set(paths) == {("Home",), ("Home", "Pots/Pans"), ("Loop",)}


# --- the bucket --------------------------------------------------------------------------


def test_nested_entities_count_members_not_wrappers() -> None:
    assert nested_entities({"name": "x"}) == 0
    assert nested_entities({"ItemShops": {"ItemShop": {"qoh": 1}}}) == 1
    assert (
        nested_entities({"Contact": {"Emails": {"ContactEmail": {"address": "a"}}, "Phones": ""}})
        == 2
    )
    assert nested_entities({"Prices": {"ItemPrice": [{"a": 1}, {"a": 2}]}}) == 2


def test_bucket_headers_parse() -> None:
    state = BucketState.from_headers(
        {
            "X-LS-API-Bucket-Level": "92.57/90",
            "X-LS-API-Burst-Level": "18/20",
            "X-LS-API-Drip-Rate": "1.5",
        },
        seen_at=10.0,
    )
    assert state is not None
    assert (state.level, state.size, state.drip_rate, state.burst_used, state.burst_limit) == (
        92.57,
        90,
        1.5,
        18,
        20,
    )
    assert state.level_at(12.0) == pytest.approx(89.57)
    assert BucketState.from_headers({}, 0) is None
    assert BucketState.from_headers({"X-LS-API-Bucket-Level": "x"}, 0) is None


def test_pacer_waits_until_the_request_fits() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer(clock=lambda: now[0], sleep=sleep)
    pacer.observe(
        {
            "X-LS-API-Bucket-Level": "85/90",
            "X-LS-API-Drip-Rate": "1",
            "X-LS-API-Burst-Level": "1/20",
        }
    )
    assert pacer.needed(10) == pytest.approx(5)
    assert pacer.wait_for(10, max_wait=30) == 0.0
    assert slept == [pytest.approx(5)] and pacer.state.level == pytest.approx(90)
    assert pacer.wait_for(100, max_wait=30) == pytest.approx(100)  # too long: not slept
    assert len(slept) == 1


def test_cost_model_relations_and_writes() -> None:
    costs = CostModel(write=8, entity_writes={"Sale": 2}, relation=0.25)
    assert costs.cost("GET", "Item", params={"load_relations": "all"}) == 1.25
    assert costs.cost("DELETE", "Item") == 8
    assert costs.cost("PUT", "Sale", body={"SaleLines": {"SaleLine": {"a": 1}}}) == 2.5
    assert costs.sustained_rate("POST", "Sale") == 0.5


# --- the sandbox's filter grammar ----------------------------------------------------------


def test_sandbox_filter_grammar() -> None:
    from shopbridge_dev.sandboxes.lightspeed_retail.app import ApiError, _compare, parse_filter

    assert parse_filter(">=,5") == (">=", ["5"])
    assert parse_filter('IN,[1,"a"]') == ("IN", ["1", "a"])
    assert parse_filter("IN,1,2") == ("IN", ["1", "2"])
    assert parse_filter("><,a,b") == ("><", ["a", "b"])
    assert parse_filter("plain,value") == ("=", ["plain,value"])
    assert parse_filter("!~,") == ("!~", [""])
    with pytest.raises(ApiError):
        parse_filter("IN," + str(list(range(101))))
    assert _compare("qoh", "10", ">", ["9"])  # numbers compare as numbers
    assert _compare("customSku", "ABC-1", "=", ["abc-1"])  # text case-insensitively
    assert _compare("customSku", "ABC-1", "~", ["abc%"])
    assert _compare(
        "timeStamp",
        "2026-11-16T06:00:00+00:00",
        "><",
        ["2026-11-16T01:00:00-0400", "2026-11-16T06:00:00Z"],
    )
    assert not _compare("timeStamp", "not a time", ">", ["2026-01-01"])


# --- default mappings ----------------------------------------------------------------------


def test_default_mappings_compile_and_map() -> None:
    from shopbridge.connectors.lightspeed_retail.defaults import DEFAULTS
    from shopbridge.mapping.engine import Mapper
    from shopbridge.mapping.spec import MappingSpec
    from shopbridge.models import Product, Variant

    orders = Mapper(MappingSpec(), DEFAULTS.mappings[("fortnox", "lightspeed_retail", "orders")])
    mapped = orders.map_order(_order(("A", "8.26", "10.00", 2, "0")), {}).as_dict()
    assert mapped == {"header": {}, "lines": [{"customSku": "A", "unitQuantity": "2"}]}
    products = Mapper(
        MappingSpec(),
        DEFAULTS.mappings[("fortnox", "lightspeed_retail", "products")],
        entity="products",
    )
    product = Product(
        ref=ExternalRef(system="fortnox", id="P1"),
        sku="P1",
        title="Mug",
        updated_at=datetime(2026, 11, 16, tzinfo=UTC),
        variants=(
            Variant(
                sku="P1",
                ean="8712345678906",
                price_excl=Decimal("8.26"),
                price_incl=Decimal("10.00"),
                quantity=Decimal(5),
            ),
        ),
    )
    got = products.map_product(product, {"PurchasePrice": 3.5}).as_dict()
    assert got["header"] == {"description": "Mug"}
    assert got["lines"] == [
        {
            "description": "Mug",
            "customSku": "P1",
            "ean": "8712345678906",
            "price": "8.26",
            "defaultCost": "3.5",
            "qoh": "5",
        }
    ]
    assert products.map_product(product, {}).as_dict()["lines"][0].get("defaultCost") is None
    assert set(DEFAULTS.incl_tax) == {("lightspeed_retail", "products")}
