"""Buckles as a target against the in-process sandbox: what the sandbox holds afterwards."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, ImageUpload, ItemWrite, OrderWrite
from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.connectors.buckles.defaults import DEFAULTS
from shopbridge.connectors.buckles.target import BucklesTarget
from shopbridge.errors import FatalError
from shopbridge.mapping.engine import Mapper
from shopbridge.mapping.spec import MappingSpec
from shopbridge.models import (
    Address,
    Checkout,
    CheckoutLine,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    OrderLine,
    Shipment,
    ShipmentLine,
)
from shopbridge_dev.sandboxes.buckles.app import create_app

BASE = "http://testserver"
WHEN = datetime(2026, 11, 17, 9, tzinfo=UTC)
SIMPLE, VARIANT = "MUG-BLA-9006", "T-S-BLA-9001"


def target_for(app: FastAPI, **kw: Any) -> BucklesTarget:
    client = BucklesClient(
        BASE,
        "demo-token",
        http=TestClient(app),
        counter=CallCounter(),
        policy=RetryPolicy(sleep=lambda _s: None),
        per_page=kw.pop("per_page", 100),
    )
    return BucklesTarget(client, **kw)


def state(app: FastAPI) -> dict[str, Any]:
    with TestClient(app) as tc:
        return dict(tc.get("/_sandbox/state").json())


def control(app: FastAPI, method: str, path: str, body: Any = None) -> Any:
    with TestClient(app) as tc:
        resp = tc.request(method, f"/_sandbox/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


def customer(email: str = "anna@example.nl", phone: str = "+31 20 1") -> Customer:
    return Customer(
        kind=CustomerKind.COMPANY,
        email=email,
        first_name="Anna",
        last_name="de Vries",
        company_name="Bakkerij",
        phone=phone,
        billing_address=Address(
            street="Kerkstraat",
            house_number="12",
            postcode="1012 AB",
            city="Amsterdam",
            country="NL",
        ),
    )


def order(
    number: str = "ORD1",
    skus: tuple[str, ...] = (SIMPLE, VARIANT),
    status: str = "processing_awaiting_shipment",
) -> Order:
    lines = tuple(
        OrderLine(
            sku=s,
            description=f"Item {s}",
            quantity=Decimal(n + 1),
            unit_price_excl=Decimal("10.00"),
            unit_price_incl=Decimal("12.10"),
            tax_rate=Decimal("0.21"),
        )
        for n, s in enumerate(skus)
    )
    c = customer()
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id=number),
        number=number,
        status=status,
        created_at=WHEN,
        updated_at=WHEN,
        customer=c,
        shipping_address=c.billing_address,
        lines=lines,
        total_excl=Decimal("30.00"),
        total_incl=Decimal("36.30"),
        currency="EUR",
    )


def mapper(**spec: Any) -> Mapper:
    return Mapper(
        MappingSpec.model_validate(spec),
        DEFAULTS.mappings[("lightspeed_ecom", "buckles", "orders")],
        base_value_maps=DEFAULTS.value_maps[("lightspeed_ecom", "buckles")],
    )


# --- orders and customers --------------------------------------------------------------


def test_create_order_twice_gives_one_order(app: FastAPI) -> None:
    target = target_for(app)
    code = target.create_debtor(customer())
    first = target.create_order(OrderWrite(order(), debtor_code=code, reference="LS-1"))
    again = target_for(app).create_order(OrderWrite(order(), debtor_code=code, reference="LS-1"))
    assert again == first
    orders = state(app)["orders"]
    assert len(orders) == 1
    o = orders[0]
    assert (o["channel"], o["channel_order_id"], o["customer_id"], o["status"]) == (
        "lightspeed_ecom",
        "LS-1",
        int(code),
        "on_hold",
    )
    assert [(x["sku"], x["qty"]) for x in o["lines"]] == [(SIMPLE, "1"), (VARIANT, "2")]
    assert target_for(app).find_orders(["LS-1", "LS-2"]) == {"LS-1": first}


def test_status_comes_from_the_mapped_fields_through_the_value_map(app: FastAPI) -> None:
    target = target_for(app)
    code = target.create_debtor(customer())
    m = mapper()
    cases = {
        "processing_awaiting_shipment": "processing",
        "processing_awaiting_payment": "pending_payment",
        "completed_shipped": "completed",
        "cancelled": "cancelled",
        "something_new": "on_hold",
    }
    for n, (ls_status, _) in enumerate(cases.items()):
        o = order(number=f"ORD{n}", status=ls_status)
        mapped = m.map_order(o, {}).as_dict()
        target.create_order(OrderWrite(o, debtor_code=code, reference=f"R{n}", mapped=mapped))
    got = {x["channel_order_id"]: x["status"] for x in state(app)["orders"]}
    assert got == {f"R{n}": want for n, want in enumerate(cases.values())}


def test_yaml_value_map_replaces_the_default_one(app: FastAPI) -> None:
    m = mapper(
        value_maps={
            "buckles_status": {
                "values": {"processing_awaiting_payment": "on_hold"},
                "on_missing": "quarantine",
            }
        }
    )
    mapped = m.map_order(order(status="processing_awaiting_payment"), {}).as_dict()
    assert mapped["header"]["status"] == "on_hold"
    assert mapped["lines"][0] == {
        "name": f"Item {SIMPLE}",
        "qty": "1",
        "price": "10.00",
        "tax_rate": "21",
        "discount": "0",
    }


def test_incl_tax_defaults_send_incl_prices(app: FastAPI) -> None:
    base = DEFAULTS.mappings[("lightspeed_ecom", "buckles", "orders")]
    incl = DEFAULTS.incl_tax[("buckles", "orders")]
    merged = base.model_copy(
        update={"header": {**base.header, **incl.header}, "lines": {**base.lines, **incl.lines}}
    )
    m = Mapper(
        MappingSpec(), merged, base_value_maps=DEFAULTS.value_maps[("lightspeed_ecom", "buckles")]
    )
    mapped = m.map_order(order(), {}).as_dict()
    target = target_for(app)
    target.create_order(
        OrderWrite(
            order(), debtor_code=target.create_debtor(customer()), reference="INCL", mapped=mapped
        )
    )
    o = state(app)["orders"][0]
    assert o["prices_include_tax"] is True and o["lines"][0]["price"] == "12.10"


def test_create_orders_reports_a_refused_order_and_goes_on(app: FastAPI) -> None:
    target = target_for(app)
    code = target.create_debtor(customer())
    results = target.create_orders(
        [
            OrderWrite(order=order("A"), debtor_code=code, reference="A"),
            OrderWrite(order=order("B", skus=("NO-SUCH-SKU",)), debtor_code=code, reference="B"),
            OrderWrite(order=order("C"), debtor_code=code, reference="C"),
        ]
    )
    assert isinstance(results[0], str) and isinstance(results[2], str)
    assert isinstance(results[1], FatalError)
    assert "order B" in str(results[1]) and "lines[0].sku" in str(results[1])
    assert [o["channel_order_id"] for o in state(app)["orders"]] == ["A", "C"]


def test_lines_of_a_batch_are_matched_in_two_reads_ean_first(app: FastAPI) -> None:
    """Lightspeed lines as real shops send them: an article code or an EAN, no SKU."""
    seeded = next(p for p in state(app)["products"] if p["barcode"] and not p["is_parent"])
    target = target_for(app)
    code = target.create_debtor(customer())
    keyed = {
        "A": OrderLine(
            article_code=SIMPLE,
            sku=SIMPLE,
            quantity=Decimal(1),
            unit_price_excl=Decimal(1),
            unit_price_incl=Decimal("1.21"),
            tax_rate=Decimal("0.21"),
        ),
        "B": OrderLine(
            sku=seeded["barcode"],
            ean=seeded["barcode"],
            quantity=Decimal(2),
            unit_price_excl=Decimal(1),
            unit_price_incl=Decimal("1.21"),
            tax_rate=Decimal("0.21"),
        ),
    }
    writes = [
        OrderWrite(
            order=order(n).model_copy(update={"lines": (line,)}), debtor_code=code, reference=n
        )
        for n, line in keyed.items()
    ]
    before = target.counter.calls
    results = target.create_orders(writes)
    assert all(isinstance(r, str) for r in results), results
    assert target.counter.calls - before == 2 + len(writes)  # by barcode, by SKU, the POSTs
    lines = {o["channel_order_id"]: o["lines"][0] for o in state(app)["orders"]}
    assert (lines["A"]["sku"], lines["A"]["barcode"]) == (SIMPLE, "")
    assert (lines["B"]["sku"], lines["B"]["barcode"]) == (seeded["sku"], seeded["barcode"])
    assert target.find_items([SIMPLE, seeded["barcode"], "NOPE"]) == {SIMPLE, seeded["barcode"]}


def test_customer_without_email_matched_by_its_number(app: FastAPI) -> None:
    nameless = Customer(kind=CustomerKind.PERSON, last_name="Jansen", customer_number="LS-77")
    code = target_for(app).create_debtor(nameless)
    assert target_for(app).create_debtor(nameless) == code  # 409 on the number
    found = target_for(app).match_numbers(["LS-77", "LS-78"])
    assert set(found) == {"LS-77"} and found["LS-77"].code == code
    assert found["LS-77"].fingerprint == target_for(app).debtor_fingerprint(nameless)
    rows = [c for c in state(app)["customers"] if c["customer_number"] == "LS-77"]
    assert [(c["email"], c["address"]) for c in rows] == [
        (
            "",
            {
                "street": "",
                "house_number": "",
                "house_number_ext": "",
                "postcode": "",
                "city": "",
                "country": "",
            },
        )
    ]


def test_debtors_matched_by_email_with_fingerprint(app: FastAPI) -> None:
    target = target_for(app)
    seeded = state(app)["customers"][0]
    code = target.create_debtor(customer())
    assert target.create_debtor(customer()) == code  # 409 -> the existing one
    found = target.match_debtors(["ANNA@example.nl", seeded["email"], "nobody@x.nl"])
    assert set(found) == {"anna@example.nl", seeded["email"]}
    assert found["anna@example.nl"].code == code
    assert found["anna@example.nl"].fingerprint == target.debtor_fingerprint(customer())
    newer = customer(phone="+31 20 9")
    assert found["anna@example.nl"].fingerprint != target.debtor_fingerprint(newer)
    target.update_debtor(code, newer)
    assert target.match_debtors(["anna@example.nl"])[
        "anna@example.nl"
    ].fingerprint == target.debtor_fingerprint(newer)
    assert [c["email"] for c in state(app)["customers"]].count("anna@example.nl") == 1


def test_find_items_skips_parents(app: FastAPI) -> None:
    assert target_for(app).find_items([SIMPLE, VARIANT, "P-5001", "NOPE"]) == {SIMPLE, VARIANT}


# --- products ------------------------------------------------------------------------


def test_match_items_reads_barcodes_first_and_create_adopts_by_barcode(app: FastAPI) -> None:
    seeded = next(p for p in state(app)["products"] if p["sku"] == SIMPLE)
    target = target_for(app)
    found = target.match_items(["NEW-SKU", VARIANT], [seeded["barcode"], "000"])
    assert found == {f"ean:{seeded['barcode']}": SIMPLE, f"sku:{VARIANT}": VARIANT}
    before = len(state(app)["products"])
    target.create_item(
        ItemWrite(
            code="NEW-SKU",
            fields={"title": "Mug renamed", "barcode": seeded["barcode"], "price": "7.50"},
        )
    )
    products = state(app)["products"]
    assert len(products) == before  # no second product with that barcode
    mug = next(p for p in products if p["barcode"] == seeded["barcode"])
    assert (mug["sku"], mug["title"], mug["price"]) == (SIMPLE, "Mug renamed", "7.50")


def test_create_configurable_product_and_categories(app: FastAPI) -> None:
    target = target_for(app)
    ids = target.ensure_categories([("Garden", "Tools"), ("Garden",), ("Clothing", "Shirts")])
    assert set(ids) == {("Garden",), ("Garden", "Tools"), ("Clothing",), ("Clothing", "Shirts")}
    again = target_for(app).ensure_categories([("garden ", "TOOLS")])
    assert again == {("garden ",): ids[("Garden",)], ("garden ", "TOOLS"): ids[("Garden", "Tools")]}
    paths = [c["path"] for c in state(app)["categories"]]
    assert paths.count("Garden > Tools") == 1 and paths.count("Garden") == 1
    cats = (ids[("Garden", "Tools")],)
    target.create_item(ItemWrite(code="SPADE", fields={"title": "Spade"}, is_parent=True))
    target.create_item(
        ItemWrite(
            code="SPADE-S",
            parent="SPADE",
            categories=cats,
            fields={"title": "Spade S", "price": "20", "barcode": "8711", "Size": "S"},
        )
    )
    target.update_item(
        "SPADE-S", ItemWrite(code="SPADE-S", parent="SPADE", fields={"price": "22.50"})
    )
    rows = {p["sku"]: p for p in state(app)["products"]}
    assert rows["SPADE"]["is_parent"] is True
    s = rows["SPADE-S"]
    assert (s["parent_sku"], s["price"], s["attributes"], s["category_ids"]) == (
        "SPADE",
        "22.50",
        {"Size": "S"},
        [int(cats[0])],
    )
    assert target.match_items(["SPADE", "SPADE-S"], []) == {
        "sku:SPADE": "SPADE",
        "sku:SPADE-S": "SPADE-S",
    }
    with pytest.raises(FatalError, match=r"item X-1.*parent_sku"):
        target.create_item(ItemWrite(code="X-1", parent="NOPE", fields={"title": "X"}))


def test_put_image_is_refused(app: FastAPI) -> None:
    with pytest.raises(FatalError, match="Buckles takes no images"):
        target_for(app).put_image(
            SIMPLE,
            ImageUpload(
                filename="a.png",
                content=b"x",
                content_type="image/png",
                position=0,
                content_hash="h",
            ),
        )


# --- shipments and checkouts -------------------------------------------------------


def _shipment(code: str = "3SABC", status: str = "shipped", carrier: str = "PostNL") -> Shipment:
    return Shipment(
        ref=ExternalRef(system="lightspeed_ecom", id="s1"),
        order_ref=ExternalRef(system="lightspeed_ecom", id="ORD1"),
        status=status,
        tracking_code=code,
        carrier=carrier,
        shipped_at=WHEN,
        updated_at=WHEN,
        lines=(ShipmentLine(sku=SIMPLE, quantity=Decimal(1)),),
    )


def test_shipment_applied_twice_is_one_shipment(app: FastAPI) -> None:
    target = target_for(app)
    oid = target.create_order(
        OrderWrite(order(), debtor_code=target.create_debtor(customer()), reference="LS-1")
    )
    first = target.apply_shipment(oid, _shipment(carrier="PostNL"))
    second = target.apply_shipment(oid, _shipment(carrier="DHL"))
    other = target.apply_shipment(oid, _shipment(code="3SXYZ"))
    assert first == second != other
    shipments = state(app)["shipments"]
    assert [(s["tracking_code"], s["carrier"]) for s in shipments] == [
        ("3SABC", "DHL"),
        ("3SXYZ", "PostNL"),
    ]
    assert state(app)["orders"][0]["status"] == "completed"
    with pytest.raises(FatalError, match=r"order 999.*404"):
        target.apply_shipment("999", _shipment())


def test_pending_shipment_without_code_matched_by_reference(app: FastAPI) -> None:
    target = target_for(app)
    oid = target.create_order(
        OrderWrite(order(), debtor_code=target.create_debtor(customer()), reference="LS-1")
    )
    a = target.apply_shipment(oid, _shipment(code="", status="not_shipped"))
    b = target.apply_shipment(oid, _shipment(code="", status="not_shipped"))
    assert a == b and len(state(app)["shipments"]) == 1
    assert state(app)["orders"][0]["status"] == "on_hold"


def test_put_checkout_upserts_by_channel_checkout_id(app: FastAPI) -> None:
    target = target_for(app)

    def cart(qty: int) -> Checkout:
        return Checkout(
            ref=ExternalRef(system="lightspeed_ecom", id="c-1"),
            created_at=WHEN,
            updated_at=WHEN,
            email="a@x.nl",
            total_incl=Decimal("12.10") * qty,
            lines=(
                CheckoutLine(sku=SIMPLE, quantity=Decimal(qty), unit_price_incl=Decimal("12.10")),
            ),
        )

    first = target.put_checkout(cart(1), None)
    assert target.put_checkout(cart(3), first) == first
    rows = state(app)["checkouts"]
    assert len(rows) == 1
    assert (rows[0]["channel_checkout_id"], rows[0]["lines"][0]["qty"], rows[0]["total"]) == (
        "c-1",
        "3",
        "36.30",
    )


def test_default_product_mapping_writes_through_the_products_flow_shape(app: FastAPI) -> None:
    from shopbridge.config import ProductSettings
    from shopbridge.flows.products import items_for
    from shopbridge.models import Product, Variant

    product = Product(
        ref=ExternalRef(system="lightspeed_ecom", id="77"),
        sku="RAKE",
        title="Rake",
        brand="",
        tax_rate=Decimal("0.09"),
        updated_at=WHEN,
        variants=tuple(
            Variant(
                sku=f"RAKE-{s}",
                ean=f"871{n}",
                title=s,
                price_excl=Decimal("9.95"),
                price_incl=Decimal("10.85"),
                attributes={"Size": s},
            )
            for n, s in enumerate("SL")
        ),
    )
    m = Mapper(
        MappingSpec(),
        DEFAULTS.mappings[("lightspeed_ecom", "buckles", "products")],
        entity="products",
    )
    items = items_for(
        product, m.map_product(product, {}).as_dict(), ProductSettings(attributes={"Size": "size"})
    )
    target = target_for(app)
    for item in items:
        target.create_item(item)
    rows = {p["sku"]: p for p in state(app)["products"]}
    assert rows["RAKE"]["is_parent"] is True and rows["RAKE"]["tax_rate"] == "9"
    large = rows["RAKE-L"]
    assert (
        large["title"],
        large["barcode"],
        large["price"],
        large["parent_sku"],
        large["attributes"],
    ) == ("Rake L", "8711", "9.95", "RAKE", {"size": "L"})
    assert target.find_items(["RAKE", "RAKE-S", "RAKE-L"]) == {"RAKE-S", "RAKE-L"}
