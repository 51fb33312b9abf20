"""Lightspeed eCom as an order target: checkouts and customer writes against the sandbox."""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, DebtorMatch, OrderWrite
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource, embed_products
from shopbridge.connectors.lightspeed_ecom.target import (
    LightspeedEcomTarget,
    reference_from_comment,
)
from shopbridge.connectors.lightspeed_ecom.translate import (
    customer_from_lightspeed,
    order_from_lightspeed,
)
from shopbridge.errors import ConfigError, FatalError, RecordError, RetriableError
from shopbridge.flows import orders as orders_flow
from shopbridge.models import (
    Address,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    OrderLine,
)
from shopbridge.store.ledger import Ledger
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes.lightspeed_ecom.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

BASE = "http://testserver"
AUTH = ("demo-key", "demo-secret")
_DEMO = demo_data.generate("demo", n_orders=1)
#: two sellable variants of the demo catalogue and their shop prices
V1, V2 = (p for p in _DEMO.products[:2])
SKU1, SKU2 = V1["sku"], V2["sku"]


def _incl(p: dict[str, Any]) -> Decimal:
    return (p["price_excl"] * Decimal("1.21")).quantize(Decimal("0.01"))


@dataclass
class Setup:
    app: FastAPI
    client: LightspeedEcomClient
    target: LightspeedEcomTarget
    counter: CallCounter
    sleeps: list[float] = field(default_factory=list)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        with TestClient(self.app) as tc:
            resp = tc.request(method, path, **kwargs)
            assert resp.status_code < 400, resp.text
            return resp.json()

    def stats(self) -> dict[str, int]:
        return self.control("GET", "/_sandbox/stats")

    def order_with_lines(self, order_id: str) -> dict[str, Any]:
        return embed_products(self.client.get_order(order_id), self.client.order_products(order_id))


def setup(**options: Any) -> Setup:
    options.setdefault("n_orders", 5)
    app = create_app(seed="demo", per_second=1000, **options)
    counter = CallCounter()
    sleeps: list[float] = []
    client = LightspeedEcomClient(
        BASE,
        "nl",
        "demo-key",
        "demo-secret",
        http=TestClient(app),
        policy=RetryPolicy(sleep=sleeps.append),
        counter=counter,
        max_per_second=100,
    )
    return Setup(app, client, LightspeedEcomTarget(client), counter, sleeps)


def company(email: str = "inkoop@bakkerij-visser.nl", **changes: Any) -> Customer:
    fields: dict[str, Any] = {
        "kind": CustomerKind.COMPANY,
        "email": email,
        "first_name": "Iris",
        "last_name": "Visser",
        "company_name": "Bakkerij Visser",
        "vat_number": "NL123456789B01",
        "phone": "+31 30 123 4567",
        "billing_address": Address(
            street="Kerkstraat",
            house_number="12",
            house_number_ext="A",
            postcode="3511 AB",
            city="Utrecht",
            country="NL",
        ),
    }
    return Customer(**{**fields, **changes})


def erp_order(
    number: str = "GLB-1001",
    *,
    skus: tuple[str, ...] = (SKU1, SKU2),
    customer: Customer | None = None,
    shipping: str = "DHL",
    payment: str = "Invoice",
    quantity: str = "2",
) -> Order:
    prices = {p["sku"]: p for p in _DEMO.products}
    lines = tuple(
        OrderLine(
            sku=sku,
            quantity=Decimal(quantity),
            unit_price_excl=prices[sku]["price_excl"] if sku in prices else Decimal("1"),
            unit_price_incl=_incl(prices[sku]) if sku in prices else Decimal("1.21"),
            tax_rate=Decimal("0.21"),
        )
        for sku in skus
    )
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    return Order(
        currency="EUR",
        ref=ExternalRef(system="exact_globe", id=number),
        number=number,
        status="open",
        created_at=at,
        updated_at=at,
        customer=customer or company(),
        shipping_address=Address(
            street="Magazijnweg",
            house_number="10",
            postcode="3542 AB",
            city="Utrecht",
            country="NL",
        ),
        lines=lines,
        total_excl=sum(ln.net_excl for ln in lines),
        total_incl=sum(ln.net_incl for ln in lines),
        shipping_method=shipping,
        payment_method=payment,
    )


# --- orders through the checkout -------------------------------------------------------


def test_company_order_through_checkout_arrives_as_an_order_with_its_reference() -> None:
    s = setup()
    code = s.target.create_debtor(company())
    order = erp_order()
    before = s.stats()["writes"]
    oid = s.target.create_order(OrderWrite(order, debtor_code=code, reference="GLB-1001"))
    # create, 2 lines, shipment method, final PUT, order: 6 writes
    assert s.stats()["writes"] - before == 6

    listed = {str(o["id"]): o for o in s.client.iter_list("orders")}
    assert oid in listed
    raw = s.order_with_lines(oid)
    assert reference_from_comment(raw["comment"]) == "GLB-1001"
    assert raw["customer"]["resource"]["id"] == int(code)
    assert (raw["shipmentTitle"], raw["paymentTitle"]) == ("DHL", "Invoice")
    assert (raw["status"], raw["paymentStatus"]) == ("processing_awaiting_shipment", "not_paid")
    lines = raw["products"]["resource"]["embedded"]
    assert [(ln["sku"], ln["quantityOrdered"]) for ln in lines] == [(SKU1, 2), (SKU2, 2)]
    assert {"priceExcl", "priceIncl", "taxRate", "ean", "variant", "product"} <= set(lines[0])

    # the order source reads it like any seeded order
    got = order_from_lightspeed(raw, currency="EUR")  # the shop's
    assert got.customer.kind is CustomerKind.COMPANY
    assert got.customer.company_name == "Bakkerij Visser"
    assert got.customer.billing_address == order.customer.billing_address
    assert got.shipping_address.street == "Magazijnweg"
    assert [ln.sku for ln in got.lines] == [SKU1, SKU2]
    assert got.lines[0].unit_price_incl == _incl(V1)
    assert got.total_incl == sum(ln.net_incl for ln in got.lines) + Decimal("6.95")
    source = LightspeedEcomSource(s.client)
    window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    assert oid in {source.order_id(r) for r in source.iter_order_records(*window)}

    assert s.target.find_orders(["GLB-1001", "GLB-404"]) == {"GLB-1001": oid}


def test_a_guest_order_has_no_customer_reference_and_the_first_methods() -> None:
    s = setup()
    oid = s.target.create_order(
        OrderWrite(erp_order("GLB-7", shipping="", payment=""), debtor_code="", reference="GLB-7")
    )
    raw = s.client.get_order(oid)
    assert raw["customer"] is False
    assert raw["email"] == "inkoop@bakkerij-visser.nl"
    assert (raw["shipmentTitle"], raw["paymentTitle"]) == ("PostNL", "iDEAL")
    assert raw["status"] == "processing_awaiting_payment"


def test_mapped_header_chooses_methods_and_adds_to_the_comment() -> None:
    s = setup()
    mapped = {
        "header": {
            "shipmentMethod": "pick-up",
            "paymentMethod": "banktransfer",
            "comment": "Levering via magazijn",
        },
        "lines": [],
    }
    oid = s.target.create_order(
        OrderWrite(erp_order("GLB-8"), debtor_code="", reference="GLB-8", mapped=mapped)
    )
    raw = s.client.get_order(oid)
    assert (raw["shipmentTitle"], raw["paymentTitle"]) == ("Pick-up", "Bank transfer")
    assert raw["comment"] == "shopbridge ref GLB-8\nLevering via magazijn"
    assert s.target.find_orders(["GLB-8"]) == {"GLB-8": oid}


def test_a_shop_price_that_differs_is_used_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    s = setup()
    order = erp_order("GLB-9", skus=(SKU1,))
    cheaper = order.model_copy(
        update={"lines": (order.lines[0].model_copy(update={"unit_price_incl": Decimal("0.99")}),)}
    )
    with caplog.at_level(logging.WARNING):
        oid = s.target.create_order(OrderWrite(cheaper, debtor_code="", reference="GLB-9"))
    assert "the shop's price is used" in caplog.text
    # the order line's unit price (basePriceIncl; priceIncl is the line total) [V]
    assert Decimal(str(s.client.order_products(oid)[0]["basePriceIncl"])) == _incl(V1)


def test_unknown_sku_is_a_record_error_naming_the_line_and_writes_nothing() -> None:
    s = setup()
    before = s.stats()["writes"]
    with pytest.raises(RecordError) as exc:
        s.target.create_order(
            OrderWrite(erp_order(skus=(SKU1, "NOPE-1")), debtor_code="", reference="GLB-1001")
        )
    assert exc.value.field == "lines[1].sku"
    assert "NOPE-1" in exc.value.reason
    assert s.stats()["writes"] == before


def test_a_variant_the_shop_refuses_names_the_line() -> None:
    s = setup()
    s.target._variants()["GONE-1"] = "424242"  # deleted since the variants were read
    with pytest.raises(RecordError) as exc:
        s.target.create_order(
            OrderWrite(erp_order(skus=(SKU1, "GONE-1")), debtor_code="", reference="GLB-2")
        )
    assert exc.value.field == "lines[1].sku"
    assert "400" in exc.value.reason


def test_fractional_quantity_is_a_record_error() -> None:
    s = setup()
    with pytest.raises(RecordError) as exc:
        s.target.create_order(
            OrderWrite(erp_order(quantity="1.5"), debtor_code="", reference="GLB-3")
        )
    assert exc.value.field == "lines[0].quantity"


def test_validation_failure_is_fatal_and_names_the_order() -> None:
    s = setup()
    s.control("PUT", "/_sandbox/checkout_methods", json={"payment": []})
    s.target.find_items([SKU1])  # the variants page, read once per target
    before = s.counter.calls
    with pytest.raises(FatalError, match="GLB-1001") as exc:
        s.target.create_order(OrderWrite(erp_order(), debtor_code="", reference="GLB-1001"))
    assert "no payment method chosen" in str(exc.value)
    assert not isinstance(exc.value, RetriableError)
    # checkout, 2 lines, shipment methods, PUT, payment methods, PUT, validate: no order.json
    assert s.counter.calls - before == 1 + 2 + 1 + 1 + 1 + 1 + 1
    assert s.target.find_orders(["GLB-1001"]) == {}


def test_5xx_after_the_order_committed_propagates_and_the_order_is_found() -> None:
    s = setup()
    s.control(
        "POST",
        "/_sandbox/faults",
        json={
            "status": 503,
            "path_contains": "/order.json",
            "method": "POST",
            "after_commit": True,
        },
    )
    with pytest.raises(RetriableError):
        s.target.create_order(OrderWrite(erp_order(), debtor_code="", reference="GLB-1001"))
    assert s.counter.retries == 0 and s.sleeps == []  # the committing POST is never retried
    found = s.target.find_orders(["GLB-1001"])
    assert list(found) == ["GLB-1001"]
    refs = [reference_from_comment(o.get("comment")) for o in s.client.iter_list("orders")]
    assert refs.count("GLB-1001") == 1


def test_find_orders_looks_back_lookup_days_and_costs_pages() -> None:
    s = setup(n_orders=3)
    oid = s.target.create_order(OrderWrite(erp_order(), debtor_code="", reference="GLB-1001"))
    before = s.counter.calls
    assert s.target.find_orders([]) == {}
    assert s.counter.calls == before
    assert s.target.find_orders(["GLB-1001"]) == {"GLB-1001": oid}
    assert s.counter.calls == before + 1  # one page of id,comment
    later = LightspeedEcomTarget(
        s.client, lookup_days=30, now=lambda: datetime.now(UTC) + timedelta(days=45)
    )
    assert later.find_orders(["GLB-1001"]) == {}


def test_other_order_types_are_a_config_error() -> None:
    s = setup()
    with pytest.raises(ConfigError, match="not supported by Lightspeed eCom; known: sales_order"):
        s.target.find_orders(["X"], kind="sales_invoice")
    with pytest.raises(ConfigError, match="not supported by Lightspeed eCom; known: sales_order"):
        s.target.create_orders([OrderWrite(erp_order(), "", "GLB-1", kind="journal_entry")])
    assert s.stats()["writes"] == 0


def test_create_orders_returns_one_result_per_write() -> None:
    s = setup()
    writes = [
        OrderWrite(erp_order("GLB-1"), "", "GLB-1"),
        OrderWrite(erp_order("GLB-2", skus=("NOPE-2",)), "", "GLB-2"),
        OrderWrite(erp_order("GLB-3"), "", "GLB-3"),
    ]
    first, refused, third = s.target.create_orders(writes)
    assert isinstance(first, str) and isinstance(third, str) and first != third
    assert isinstance(refused, FatalError) and "lines[0].sku" in str(refused)
    assert s.target.find_orders(["GLB-1", "GLB-2", "GLB-3"]) == {"GLB-1": first, "GLB-3": third}


def test_find_items_reads_variants_once() -> None:
    s = setup()
    assert s.target.find_items([SKU1, "NOPE"]) == {SKU1}
    calls = s.counter.calls
    assert s.target.find_items([SKU2, demo_data.UNKNOWN_SKU]) == {SKU2, demo_data.UNKNOWN_SKU}
    assert s.counter.calls == calls


# --- customers -------------------------------------------------------------------------


def test_customer_create_match_update_round_trip() -> None:
    s = setup()
    customer = company()
    assert s.target.match_debtors([customer.email]) == {}
    code = s.target.create_debtor(customer)
    match = s.target.match_debtors(["InKoop@Bakkerij-Visser.NL"])
    assert match == {customer.email: DebtorMatch(code, s.target.debtor_fingerprint(customer))}

    moved = company(
        phone="+31 30 765 4321",
        billing_address=Address(
            street="Oudegracht", house_number="1", postcode="3511 AA", city="Utrecht", country="NL"
        ),
    )
    assert s.target.debtor_fingerprint(moved) != match[customer.email].fingerprint
    s.target.update_debtor(code, moved)
    again = s.target.match_debtors([customer.email])[customer.email]
    assert again == DebtorMatch(code, s.target.debtor_fingerprint(moved))
    record = s.client.customers_by_email(customer.email)[0]
    assert record["addressBillingStreet"] == "Oudegracht"
    assert record["addressShippingStreet"] == "Kerkstraat"  # the shop's own after creation
    assert record["addressBillingCountry"]["code"] == "nl"


def test_an_unchanged_seeded_customer_has_an_equal_fingerprint() -> None:
    s = setup()
    records = s.client.iter_list("customers")
    for record in list(records)[:20]:
        customer = customer_from_lightspeed(record)
        if not customer.email:  # nothing to match by: such a customer is known by number
            continue
        match = s.target.match_debtors([customer.email])[customer.email]
        assert match.code == str(record["id"])
        assert match.fingerprint == s.target.debtor_fingerprint(customer)


def test_a_person_customer_round_trips() -> None:
    s = setup()
    person = Customer(
        kind=CustomerKind.PERSON,
        email="sem@example.be",
        first_name="Sem",
        last_name="Peeters",
        billing_address=Address(
            street="Stationsweg", house_number="4", postcode="9000", city="Gent", country="BE"
        ),
    )
    code = s.target.create_debtor(person)
    assert s.target.match_debtors([person.email])[person.email].fingerprint == (
        s.target.debtor_fingerprint(person)
    )
    oid = s.target.create_order(
        OrderWrite(erp_order("GLB-P", customer=person), debtor_code=code, reference="GLB-P")
    )
    got = order_from_lightspeed(s.order_with_lines(oid), currency="EUR")
    assert got.customer.kind is CustomerKind.PERSON
    assert got.customer.billing_address.country == "BE"


def test_update_of_a_missing_customer_is_a_record_error() -> None:
    s = setup()
    with pytest.raises(RecordError) as exc:
        s.target.update_debtor("999999", company())
    assert exc.value.field == "debtor_code"


def test_a_duplicate_e_mail_is_refused_by_the_shop() -> None:
    s = setup()
    s.target.create_debtor(company())
    with pytest.raises(FatalError, match="already exists"):
        s.target.create_debtor(company())


# --- the sandbox's checkout routes -----------------------------------------------------


def test_sandbox_checkout_routes_follow_the_vendor() -> None:
    s = setup()
    with TestClient(s.app) as tc:
        assert tc.post("/nl/checkouts.json", json={"checkout": {}}).status_code == 401
        co = tc.post(
            "/nl/checkouts.json",
            auth=AUTH,
            json={"checkout": {"mode": "guest", "customer": {"email": "a@b.nl", "lastname": "B"}}},
        )
        assert co.status_code == 201
        body = co.json()
        assert "checkout" not in body and body["orderId"] is None  # bare, not enveloped
        cid = body["id"]
        url = f"/nl/checkouts/{cid}"
        assert tc.get(f"{url}.json", auth=AUTH).json()["id"] == cid
        bad = tc.post(f"{url}/products.json", auth=AUTH, json={"variantId": 1, "quantity": 1})
        assert bad.status_code == 400
        assert set(bad.json()["error"]) == {"code", "method", "request", "message"}
        line = tc.post(
            f"{url}/products.json", auth=AUTH, json={"variantId": V1["variant_id"], "quantity": 1}
        ).json()
        assert (line["sku"], line["quantity"]) == (SKU1, 1)
        again = tc.post(
            f"{url}/products.json", auth=AUTH, json={"variantId": V1["variant_id"], "quantity": 2}
        ).json()
        assert again["quantity"] == 3 and again["id"] == line["id"]
        assert tc.get(f"{url}/payment_methods.json", auth=AUTH).json() == []
        ships = tc.get(f"{url}/shipment_methods.json", auth=AUTH).json()
        assert [m["title"] for m in ships] == ["PostNL", "DHL", "Pick-up"]
        check = tc.get(f"{url}/validate.json", auth=AUTH).json()
        assert check["validated"] is False
        assert "no shipment method chosen" in check["errors"]
        assert "the terms and conditions were not accepted" in check["errors"]
        early = tc.post(f"{url}/order.json", auth=AUTH)
        assert early.status_code == 400 and "not valid" in early.json()["error"]["message"]
        assert (
            tc.put(
                f"{url}.json", auth=AUTH, json={"checkout": {"paymentMethod": "ideal"}}
            ).status_code
            == 400
        )
        for malformed in (
            {"billingAddress": "Kerkstraat 1"},
            {"billingAddress": {"street": "x"}},
            {"customer": 5},
            {"shipmentMethod": "core|0|0"},
            {"status": "x"},
        ):
            resp = tc.put(f"{url}.json", auth=AUTH, json={"checkout": malformed})
            assert resp.status_code == 400, (malformed, resp.text)
        addr = {
            "name": "B",
            "address1": "Kerkstraat",
            "number": "1",
            "zipcode": "1012 AB",
            "city": "Amsterdam",
            "country": "nl",
        }
        # one PUT may choose both methods: the shipment method is applied first
        put = tc.put(
            f"{url}.json",
            auth=AUTH,
            json={
                "checkout": {
                    "paymentMethod": {"id": "ideal"},
                    "shipmentMethod": ships[0]["id"],
                    "billingAddress": addr,
                    "shippingAddress": addr,
                    "terms": True,
                }
            },
        )
        pays = tc.get(f"{url}/payment_methods.json", auth=AUTH).json()
        assert "Invoice" in [m["title"] for m in pays]
        assert put.status_code == 200 and put.json()["paymentMethod"]["title"] == "iDEAL"
        assert tc.get(f"{url}/validate.json", auth=AUTH).json() == {"validated": True, "errors": []}
        placed = tc.post(f"{url}/order.json", auth=AUTH)
        assert placed.status_code == 201
        oid = placed.json()["orderId"]
        assert tc.post(f"{url}/order.json", auth=AUTH).status_code == 400  # only once
        order = tc.get(f"/nl/orders/{oid}.json", auth=AUTH).json()["order"]
        assert order["addressBillingCountry"] == {
            "id": 150,
            "code": "nl",
            "code3": "nld",
            "title": "Netherlands",
        }
        assert order["products"]["resource"]["link"].endswith(f"/nl/orders/{oid}/products.json")
        assert tc.post("/nl/orders.json", auth=AUTH, json={"order": {}}).status_code == 405
        json.dumps(order)


def test_sandbox_customer_email_filter_is_exact_and_case_insensitive() -> None:
    s = setup()
    with TestClient(s.app) as tc:
        first = tc.get("/nl/customers.json", params={"limit": 1}, auth=AUTH).json()
        email = first["customers"][0]["email"]
        hits = tc.get("/nl/customers.json", params={"email": email.upper()}, auth=AUTH).json()
        assert [c["email"] for c in hits["customers"]] == [email]
        assert (
            tc.get("/nl/customers.json", params={"email": email[:-1]}, auth=AUTH).json()[
                "customers"
            ]
            == []
        )
        assert tc.get("/nl/customers/count.json", params={"email": email}, auth=AUTH).json() == {
            "count": 1
        }
        bad = tc.post("/nl/customers.json", auth=AUTH, json={"customer": {"mail": "x@y.nl"}})
        assert bad.status_code == 400


# --- the orders flow with Lightspeed as its target --------------------------------------


def test_orders_flow_retried_after_a_lost_answer_creates_nothing_twice(tmp_path: Any) -> None:
    s = setup()
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    integration = "exact_globe__lightspeed_ecom"
    batch = [erp_order("GLB-1"), erp_order("GLB-2", customer=company("b@bakkerij.nl"))]
    counts = orders_flow.Counts(read=len(batch)).as_dict()
    mapped = {"orders": [o.model_dump(mode="json") for o in batch], "mapped": {}, "counts": counts}
    looked = orders_flow.lookup(s.target, ledger, integration, mapped)
    assert looked["missing_skus"] == [] and looked["existing"] == {}
    s.control(
        "POST",
        "/_sandbox/faults",
        json={
            "status": 503,
            "path_contains": "/order.json",
            "method": "POST",
            "after_commit": True,
        },
    )
    with pytest.raises(RetriableError):
        orders_flow.load(s.target, ledger, integration, looked, run_id="run#load[0]")
    # Airflow retries the task: same owner, same input, a fresh target
    target = LightspeedEcomTarget(s.client)
    result = orders_flow.load(target, ledger, integration, looked, run_id="run#load[0]")
    # the order whose answer was lost counts as created by this run (it was), once
    assert (result["orders_created"], result["orders_skipped_existing"]) == (2, 0)
    refs = Counter(reference_from_comment(o.get("comment")) for o in s.client.iter_list("orders"))
    assert refs["GLB-1"] == refs["GLB-2"] == 1
    ledger.close()


def test_hook_builds_the_target_with_its_lookup_window(monkeypatch: pytest.MonkeyPatch) -> None:
    from shopbridge.connectors.lightspeed_ecom.hook import LightspeedEcomHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_LS_TARGET",
        json.dumps(
            {
                "conn_type": "lightspeed_ecom",
                "host": BASE,
                "login": "demo-key",
                "password": "demo-secret",
                "extra": {"order_lookup_days": 7},
            }
        ),
    )
    app = create_app(seed="demo", n_orders=3)
    target = LightspeedEcomHook("ls_target").get_target(http=TestClient(app))
    assert target.system == "lightspeed_ecom" and target.lookup_days == 7
    assert target.find_items([SKU1]) == {SKU1}
    assert target.counter.calls == 1
    target.close()
