"""CCV SalesPOS as an order target against the in-process sandbox."""

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
from shopbridge.connectors.base import CallCounter, DebtorTerms, OrderWrite
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient
from shopbridge.connectors.ccv_salespos.defaults import DEFAULTS
from shopbridge.connectors.ccv_salespos.target import CcvSalesposTarget
from shopbridge.errors import ConfigError, FatalError, RetriableError
from shopbridge.mapping.engine import Mapper
from shopbridge.mapping.spec import EntityMapping, MappingSpec
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from shopbridge_dev.sandboxes.ccv_salespos.app import create_app

BASE = "http://testserver"
SIMPLE, VARIANT = "MUG-BLA-9006", "T-S-BLA-9001"  # a product, and a T-shirt combination
N_POS_ORDERS = 12


def target_for(
    app: FastAPI, *, page_size: int = 100, sleeps: list[float] | None = None, **kw: Any
) -> CcvSalesposTarget:
    sleeps = sleeps if sleeps is not None else []
    client = CcvSalesposClient(
        BASE,
        "demo-public",
        "demo-secret",
        http=TestClient(app),
        policy=RetryPolicy(sleep=sleeps.append),
        counter=CallCounter(),
        page_size=page_size,
    )
    return CcvSalesposTarget(client, **kw)


def control(app: FastAPI, method: str, path: str, body: Any = None) -> Any:
    with TestClient(app) as tc:
        resp = tc.request(method, f"/_sandbox/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()


def customer(kind: CustomerKind = CustomerKind.COMPANY, **kw: str) -> Customer:
    addr = Address(
        street="Kerkstraat",
        house_number="12",
        house_number_ext="A",
        postcode="1012 AB",
        city="Amsterdam",
        country="NL",
    )
    fields = {"first_name": "Anna", "last_name": "de Vries", "phone": "+31 20 1"}
    if kind is CustomerKind.COMPANY:
        fields |= {"company_name": "Bakkerij de Vries", "vat_number": "NL123456789B01"}
    return Customer(kind=kind, email="anna@example.nl", billing_address=addr, **(fields | kw))


def order(number: str = "ORD30001", skus: tuple[str, ...] = (SIMPLE, VARIANT)) -> Order:
    lines = tuple(
        OrderLine(
            sku=s,
            description=f"Item {s}",
            quantity=Decimal(n + 1),
            unit_price_excl=Decimal("10.00"),
            unit_price_incl=Decimal("12.10"),
            tax_rate=Decimal("0.21"),
            discount_excl=Decimal("1.00") if n == 0 else Decimal(0),
            discount_incl=Decimal("1.21") if n == 0 else Decimal(0),
        )
        for n, s in enumerate(skus)
    )
    excl = sum((ln.net_excl for ln in lines), Decimal(0))
    incl = sum((ln.net_incl for ln in lines), Decimal(0))
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    ship = Address(
        street="Magazijnweg", house_number="10-14", postcode="3542 AB", city="Utrecht", country="NL"
    )
    return Order(
        currency="EUR",
        ref=ExternalRef(system="lightspeed_ecom", id=number.removeprefix("ORD")),
        number=number,
        status="processing_awaiting_shipment",
        payment_status="paid",
        created_at=when,
        updated_at=when,
        customer=customer(),
        shipping_address=ship,
        lines=lines,
        total_excl=excl,
        total_incl=incl,
    )


def write(o: Order, mapped: dict[str, Any] | None = None) -> OrderWrite:
    return OrderWrite(o, o.customer.email, o.number, mapped)


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo", n_pos_orders=N_POS_ORDERS)


def test_find_items_knows_products_and_combinations_not_parents(app: FastAPI) -> None:
    target = target_for(app, page_size=4)
    asked = [SIMPLE, VARIANT, "T-S-WHI-L-9904", "TSH-5001", "DISC-0001", ""]
    assert target.find_items(asked) == {SIMPLE, VARIANT, "T-S-WHI-L-9904"}
    calls = target.counter.calls
    assert calls == 4  # 15 products, 4 a page, combinations expanded in the same calls
    target.find_items([SIMPLE])
    assert target.counter.calls == calls  # the catalogue is read once per target


def test_orders_created_with_rows_and_found_by_reference(app: FastAPI) -> None:
    target = target_for(app)
    assert target.find_items([SIMPLE, VARIANT]) == {SIMPLE, VARIANT}
    [order_id] = target.create_orders([write(order())])
    assert isinstance(order_id, str)
    created = control(app, "GET", "orders")[-1]
    assert str(created["id"]) == order_id
    assert created["reservationnumber"] == "ORD30001"
    assert created["paid"] is True and created["status"] == 1
    rows = created["orderrows"]
    assert [(r["product_id"], r["attribute_combination_id"]) for r in rows] == [
        (5003, None),
        (5001, 9001),
    ]
    assert [r["sub_sku_number"] for r in rows] == ["", VARIANT]
    assert rows[0]["product_number"] == SIMPLE
    assert [(r["count"], r["price"], r["discount"], r["tax"]) for r in rows] == [
        (1.0, 10.0, 1.0, 21.0),
        (2.0, 10.0, 0.0, 21.0),
    ]
    assert created["total_orderrow_price"] == 29.0
    assert created["total_price"] == 35.09  # 29.00 + 21 % VAT
    cust = created["customer"]
    assert (cust["email"], cust["customertype"], cust["btw"]) == (
        "anna@example.nl",
        "b2b",
        "NL123456789B01",
    )
    assert cust["billingaddress"]["housenumber"] == 12
    assert cust["billingaddress"]["housenumber_suffix"] == "A"
    assert cust["deliveryaddress"]["housenumber"] == 10
    assert cust["deliveryaddress"]["housenumber_suffix"] == "-14"
    assert cust["deliveryaddress"]["city"] == "Utrecht"

    fresh = target_for(app, page_size=5)
    assert fresh.find_orders(["ORD30001", "ORD-NEVER"]) == {"ORD30001": order_id}
    assert fresh.counter.calls == 3  # 13 orders in the last 30 days, 5 a page
    assert fresh.find_orders(["ORD30001"]) == {"ORD30001": order_id}
    assert fresh.counter.calls == 3  # known now: no call


def test_find_orders_looks_again_only_at_newer_orders(app: FastAPI) -> None:
    finder = target_for(app, page_size=5)
    assert finder.find_orders(["ORD1"]) == {}
    target_for(app).create_orders([write(order("ORD1", (SIMPLE,)))])
    before = finder.counter.calls
    assert set(finder.find_orders(["ORD1"])) == {"ORD1"}
    assert finder.counter.calls - before == 1  # only the orders since the last look


def test_find_orders_honours_the_lookup_window(app: FastAPI) -> None:
    target_for(app).create_orders([write(order("ORD2", (SIMPLE,)))])
    future = target_for(app, lookup_days=1, utcnow=lambda: datetime(2100, 1, 1, tzinfo=UTC))
    assert future.find_orders(["ORD2"]) == {}


def test_mapped_default_fields_and_prices_incl_tax(app: FastAPI) -> None:
    o = order("ORD30002")
    key = ("lightspeed_ecom", "ccv_salespos", "orders")
    mapped = Mapper(MappingSpec(), DEFAULTS.mappings[key]).map_order(o, {}).as_dict()
    assert mapped["lines"][0]["price"] == "10.00"  # XCom-safe text; the target sends numbers
    incl = DEFAULTS.mappings[key].model_copy(
        update={
            "header": {
                **DEFAULTS.mappings[key].header,
                **DEFAULTS.incl_tax[("ccv_salespos", "orders")].header,
            },
            "lines": {
                **DEFAULTS.mappings[key].lines,
                **DEFAULTS.incl_tax[("ccv_salespos", "orders")].lines,
            },
        }
    )
    spec = MappingSpec(orders=EntityMapping(header={"status": "order.number | default('2')"}))
    mapped_incl = Mapper(spec, incl).map_order(o.model_copy(update={"number": "3"}), {}).as_dict()
    target = target_for(app)
    results = target.create_orders(
        [write(o, mapped), write(o.model_copy(update={"number": "ORD30003"}), mapped_incl)]
    )
    assert all(isinstance(r, str) for r in results), results
    excl_order, incl_order = control(app, "GET", "orders")[-2:]
    assert excl_order["total_price"] == 35.09
    assert [r["product_name"] for r in excl_order["orderrows"]] == [
        f"Item {SIMPLE}",
        f"Item {VARIANT}",
    ]
    assert incl_order["order_row_taxes_included"] is True
    assert incl_order["status"] == 3
    assert [r["price"] for r in incl_order["orderrows"]] == [12.1, 12.1]
    assert incl_order["total_price"] == 35.09  # 1 x 12.10 - 1.21 + 2 x 12.10


def test_unknown_sku_and_refused_order_are_per_order_errors(app: FastAPI) -> None:
    target = target_for(app)
    bad_sku = order("ORD-A", (SIMPLE, "DISC-0001"))
    bad_field = write(order("ORD-B", (SIMPLE,)), {"header": {"colour": "red"}, "lines": [{}]})
    results = target.create_orders([write(bad_sku), bad_field, write(order("ORD-C"))])
    assert isinstance(results[0], FatalError)
    assert "lines[1].sku DISC-0001 does not exist in CCV" in str(results[0])
    assert isinstance(results[1], FatalError)
    assert "CCV refused order ORD-B" in str(results[1]) and "colour" in str(results[1])
    assert isinstance(results[2], str)
    assert [o["reservationnumber"] for o in control(app, "GET", "orders")][-1] == "ORD-C"


def test_post_is_retried_on_429_only(app: FastAPI) -> None:
    sleeps: list[float] = []
    target = target_for(app, sleeps=sleeps)
    target.find_items([SIMPLE])
    control(
        app,
        "POST",
        "faults",
        {"status": 429, "retry_after": 1, "path_contains": "/orders", "method": "POST"},
    )
    assert isinstance(target.create_orders([write(order("ORD-429", (SIMPLE,)))])[0], str)
    assert sleeps == [1.0]
    refs = [o["reservationnumber"] for o in control(app, "GET", "orders")]
    assert refs.count("ORD-429") == 1

    control(
        app,
        "POST",
        "faults",
        {"status": 503, "path_contains": "/orders", "method": "POST", "after_commit": True},
    )
    calls = target.counter.calls
    with pytest.raises(RetriableError, match="503"):
        target.create_orders([write(order("ORD-503", (SIMPLE,)))])
    assert target.counter.calls - calls == 1  # a 5xx may hide a success: not sent again
    assert set(target_for(app).find_orders(["ORD-503"])) == {"ORD-503"}


def test_customers_are_embedded_not_debtors(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    target = target_for(app)
    c = customer()
    assert target.match_debtors([c.email]) == {}
    assert target.create_debtor(c, DebtorTerms(classification="W")) == c.email
    target.update_debtor(c.email, c)
    assert target.counter.calls == 0
    assert "no debtor terms" in caplog.text
    person = customer(CustomerKind.PERSON)
    assert target.debtor_fingerprint(c) == target.debtor_fingerprint(customer())
    assert target.debtor_fingerprint(c) != target.debtor_fingerprint(person)


def test_other_order_kinds_are_a_config_error(app: FastAPI) -> None:
    target = target_for(app)
    with pytest.raises(ConfigError, match="order type 'sales_invoice' is not supported"):
        target.find_orders(["x"], kind="sales_invoice")
    with pytest.raises(ConfigError, match="reference_field"):
        target_for(app, reference_field="memo")


def test_reference_in_transaction_id_when_the_shop_accepts_it() -> None:
    refusing = create_app(seed="demo")
    [err] = target_for(refusing, reference_field="transaction_id").create_orders(
        [write(order("ORD-T", (SIMPLE,)))]
    )
    assert isinstance(err, FatalError) and "transaction_id" in str(err)
    accepting = create_app(seed="demo", transaction_id_writable=True)
    [order_id] = target_for(accepting, reference_field="transaction_id").create_orders(
        [write(order("ORD-T", (SIMPLE,)))]
    )
    found = target_for(accepting, reference_field="transaction_id").find_orders(["ORD-T"])
    assert found == {"ORD-T": order_id}


def test_store_id_from_the_mapping_when_the_shop_needs_one() -> None:
    app = create_app(seed="demo", require_webshop_id=True)
    target = target_for(app)
    [refused, ok, unknown] = target.create_orders(
        [
            write(order("ORD-W1", (SIMPLE,))),
            write(order("ORD-W2", (SIMPLE,)), {"header": {"webshop_id": 1}, "lines": [{}]}),
            write(order("ORD-W3", (SIMPLE,)), {"header": {"webshop_id": 7}, "lines": [{}]}),
        ]
    )
    assert isinstance(refused, FatalError) and "webshop_id: required" in str(refused)
    assert isinstance(ok, str)
    assert isinstance(unknown, FatalError) and "webshop 7 not found" in str(unknown)
    assert control(app, "GET", "orders")[-1]["webshop_id"] == 1
