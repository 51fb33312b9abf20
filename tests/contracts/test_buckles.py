"""Contract: real Lightspeed eCom webhook bodies through the ``lightspeed_ecom__buckles``
pair into Buckles, asserting what the hub is sent.

Buckles publishes no API, so there is no Buckles recording to serve (SOURCES.md); what is
real here is the *input*: Lightspeed's documented order (6 x 7.35 incl., ``"sku": ""``
with the code in ``articleCode``), and Pipedream's recorded webhook bodies (an order whose
only line has no item key at all, a customer). Each goes the way a run takes it: the
webhook body (enveloped ``{"order": ...}`` or bare) through
:func:`~shopbridge.connectors.lightspeed_ecom.webhooks.delivery_records`, the pair's
validate-and-map (:func:`tests.contracts.pipeline.map_records`, the shipped YAML and its
default mapping), then :class:`BucklesTarget` against an ``httpx.MockTransport`` that
answers as the ASSUMED Buckles API does (package docstring, all [U]). Cases marked
"derived" change one field of a recording in memory, to show a shape real accounts hold
that no public recording has (an EAN-only line, a customer without e-mail).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, OrderWrite
from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.connectors.buckles.target import BucklesTarget
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.connectors.lightspeed_ecom.webhooks import delivery_records
from shopbridge.errors import FatalError
from shopbridge.flows.orders import reference
from shopbridge.models import Customer, Order, Shipment
from tests.contracts.pipeline import map_records
from tests.contracts.shape import recorded, recorded_bytes

SYSTEM = "buckles"
PAIR = "lightspeed_ecom__buckles"
DOCUMENTED = "lightspeed_order.documented"
EAN = "8712345678906"


# --- the Lightspeed side: the pair's translator, the shop's currency from its shop.json ---


def shop_source() -> LightspeedEcomSource:
    """The pair's source translator; the only call it may make is the shop's settings
    (its currency: a Lightspeed order carries none), answered with the documented shop."""
    shop = recorded_bytes(SYSTEM, "lightspeed_shop.documented")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/shop.json"):
            return httpx.Response(200, content=shop, headers={"Content-Type": "application/json"})
        return httpx.Response(404, json={"error": {"code": 404, "message": "not recorded"}})

    client = LightspeedEcomClient(
        "https://api.shoplightspeed.com",
        "us",
        "key",
        "secret",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return LightspeedEcomSource(client)


def bodies(name: str) -> dict[str, Any]:
    """The recorded webhook body, enveloped as recorded and bare (the order object alone)."""
    body = recorded(SYSTEM, name)
    (inner,) = body.values()
    return {"enveloped": body, "bare": inner}


def mapped_orders(body: Any) -> dict[str, Any]:
    entity, records = delivery_records(body)
    assert entity == "order"
    return map_records(PAIR, "orders", shop_source(), records)


def the_order(body: Any) -> tuple[Order, dict[str, Any]]:
    out = mapped_orders(body)
    assert out["counts"]["quarantined"] == [], out["counts"]
    (raw,) = out["orders"]
    order = Order.model_validate(raw)
    fields: dict[str, Any] = out["mapped"][order.ref.id]
    return order, fields


# --- the Buckles side: a MockTransport answering as the assumed API -----------------------


class Hub:
    """What the assumed Buckles API answers, with every request kept for the asserts."""

    def __init__(self, products: list[dict[str, Any]] | None = None) -> None:
        self.products = (
            products
            if products is not None
            else [{"id": 1, "sku": "anacampseros", "barcode": "", "is_parent": False}]
        )
        self.customers: list[dict[str, Any]] = []
        self.sent: list[tuple[str, str, Any]] = []
        #: what POST orders (shipments) answers instead of the created record
        self.order_answer: Any = None
        self.shipment_answer: Any = None

    @staticmethod
    def page(rows: list[dict[str, Any]]) -> httpx.Response:
        return httpx.Response(
            200, json={"data": rows, "meta": {"page": 1, "per_page": 100, "total": len(rows)}}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1/")
        body: Any = json.loads(request.content) if request.content else {}
        self.sent.append((request.method, path, body))
        q = request.url.params
        if request.method == "GET" and path == "products":
            key = "barcode" if "barcode" in q else "sku"
            wanted = set(q[key].split(","))
            return self.page([p for p in self.products if p[key] in wanted])
        if request.method == "GET" and path == "customers":
            key = "email" if "email" in q else "customer_number"
            wanted = set(q[key].split(","))
            return self.page([c for c in self.customers if c.get(key) in wanted])
        if request.method == "POST" and path == "customers":
            number = body.get("customer_number")
            clash = next(
                (c for c in self.customers if number and c.get("customer_number") == number), None
            )
            if clash is not None:
                return httpx.Response(
                    409,
                    json={
                        "error": "a customer with this number exists",
                        "field": "customer_number",
                        "id": clash["id"],
                    },
                )
            row = {"id": 500 + len(self.customers), **body}
            self.customers.append(row)
            return httpx.Response(201, json={"data": row})
        if request.method == "POST" and path == "orders":
            known = {p["sku"] for p in self.products}
            for i, line in enumerate(body["lines"]):
                if line["sku"] not in known:
                    return httpx.Response(
                        422,
                        json={
                            "error": f"no sellable product with SKU {line['sku']!r}",
                            "field": f"lines[{i}].sku",
                        },
                    )
            answer = self.order_answer if self.order_answer is not None else {"id": 9001, **body}
            return httpx.Response(201, json={"data": answer})
        if request.method == "POST" and path.endswith("/shipments"):
            answer = (
                self.shipment_answer
                if self.shipment_answer is not None
                else {"id": 77, "order_id": int(path.split("/")[1]), **body}
            )
            return httpx.Response(201, json={"data": answer})
        return httpx.Response(404, json={"error": f"no route {request.method} {path}"})

    def posted(self, path: str) -> list[Any]:
        return [b for m, p, b in self.sent if m == "POST" and p == path]


def buckles(hub: Hub) -> BucklesTarget:
    client = BucklesClient(
        "https://app.buckles.test",
        "token",
        http=httpx.Client(transport=httpx.MockTransport(hub)),
        counter=CallCounter(),
        policy=RetryPolicy(sleep=lambda _s: None),
    )
    return BucklesTarget(client)


def book(order: Order, mapped: dict[str, Any], hub: Hub) -> dict[str, Any]:
    """Write the order as the load step does; the body Buckles received."""
    target = buckles(hub)
    debtor = target.create_debtor(order.customer)
    assert (
        target.create_order(
            OrderWrite(order, debtor_code=debtor, reference=reference(order), mapped=mapped)
        )
        == "9001"
    )
    (body,) = hub.posted("orders")
    return dict(body)


# --- orders -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["enveloped", "bare"])
def test_documented_order_reaches_the_hub_with_unit_prices_not_line_totals(form: str) -> None:
    order, mapped = the_order(bodies(DOCUMENTED)[form])
    hub = Hub()
    body = book(order, mapped, hub)
    # number, date, customer, currency (the shop's: the order has none), status
    assert (body["number"], body["channel"], body["channel_order_id"]) == (
        "ORD00018",
        "lightspeed_ecom",
        reference(order),
    )
    assert body["ordered_at"] == "2019-08-21T17:15:00Z"
    assert (body["email"], body["customer_id"]) == ("customer@example.com", 500)
    assert body["currency"] == "USD"
    assert body["status"] == "processing"  # processing_awaiting_shipment, paid
    assert (body["payment_status"], body["payment_method"], body["shipping_method"]) == (
        "paid",
        "Pay by invoice",
        "Default Shipping",
    )
    assert body["shipping_address"] == {
        "name": "Jane Doe",
        "company": "",
        "street": "12 Rue Exemple",
        "house_number": "",
        "house_number_ext": "",
        "postcode": "h0h0h0",
        "city": "montreal",
        "country": "CA",
    }
    # the line: 6 x 7.00 excl. (basePriceExcl), not 6 x 42.00 (priceExcl, the line total)
    assert body["lines"] == [
        {
            "sku": "anacampseros",
            "barcode": "",
            "name": "anacampseros",
            "qty": "6",
            "price": "7",
            "tax_rate": "5",
            "discount": "0",
        }
    ]
    # shipping excl., no coupon, and the vendor's own total incl.
    assert (body["shipping_cost"], body["discount"], body["total"]) == ("5.95", "0", "50.35")
    assert body["prices_include_tax"] is False
    # what a bookkeeper adds up: lines + shipping = the shop's totals, excl. and incl.
    line = body["lines"][0]
    excl = Decimal(line["qty"]) * Decimal(line["price"]) + Decimal(body["shipping_cost"])
    assert excl == order.total_excl == Decimal("47.95")
    incl = (
        excl + Decimal(line["qty"]) * Decimal(line["price"]) * Decimal("0.05") + Decimal("0.30")
    )  # the shipment's 5% GST, as Lightspeed rounds it: 6.25 - 5.95
    assert incl == Decimal(body["total"]) == order.total_incl
    # the customer Buckles got first, from the order's embedded customer
    (customer,) = hub.posted("customers")
    assert (
        customer["email"],
        customer["customer_number"],
        customer["first_name"],
        customer["last_name"],
    ) == ("customer@example.com", "2026523", "Jane", "Doe")
    assert customer["address"]["country"] == "CA"


def test_enveloped_and_bare_bodies_give_the_same_order() -> None:
    forms = bodies(DOCUMENTED)
    assert mapped_orders(forms["enveloped"]) == mapped_orders(forms["bare"])


def _documented(**line: Any) -> dict[str, Any]:
    """Derived: the documented order with its line's item keys replaced."""
    body: dict[str, Any] = copy.deepcopy(recorded(SYSTEM, DOCUMENTED))
    body["order"]["products"]["resource"]["embedded"][0].update(line)
    return body


@pytest.mark.parametrize(
    ("keys", "products", "sku", "checked"),
    [
        # the documented line: "sku": "", the code in articleCode -> the product with that SKU
        ({}, [{"id": 1, "sku": "anacampseros", "barcode": ""}], "anacampseros", True),
        # derived: an EAN too -> the product with that barcode wins over the SKU match
        (
            {"ean": EAN},
            [
                {"id": 1, "sku": "anacampseros", "barcode": ""},
                {"id": 2, "sku": "BK-ANA", "barcode": EAN},
            ],
            "BK-ANA",
            True,
        ),
        # derived: only an EAN (no sku, no articleCode): the item key is the EAN, a barcode
        (
            {"ean": EAN, "articleCode": ""},
            [{"id": 2, "sku": "BK-ANA", "barcode": EAN}],
            "BK-ANA",
            True,
        ),
        # derived: a SKU and an article code; the SKU is the pair's first item key
        (
            {"sku": "ANA-6", "articleCode": "anacampseros"},
            [
                {"id": 1, "sku": "anacampseros", "barcode": ""},
                {"id": 3, "sku": "ANA-6", "barcode": ""},
            ],
            "ANA-6",
            True,
        ),
        # derived: a SKU Buckles does not sell, an article code it does: the target would book
        # it, but the flow's item check asks for the pair's item key (the SKU) and holds the
        # order back (quarantined naming lines[0].sku) -- the pair's item_key decides
        (
            {"sku": "ANA-6"},
            [{"id": 1, "sku": "anacampseros", "barcode": ""}],
            "anacampseros",
            False,
        ),
        # derived: an EAN Buckles does not know, the item key (SKU) it does
        (
            {"sku": "ANA-6", "ean": EAN},
            [{"id": 3, "sku": "ANA-6", "barcode": "8700000000000"}],
            "ANA-6",
            True,
        ),
    ],
)
def test_each_line_names_the_hub_product_ean_first(
    keys: dict[str, Any], products: list[dict[str, Any]], sku: str, checked: bool
) -> None:
    order, mapped = the_order(_documented(**keys))
    hub = Hub([{**p, "is_parent": False} for p in products])
    (line,) = book(order, mapped, hub)["lines"]
    assert (line["sku"], line["barcode"], line["qty"], line["price"]) == (
        sku,
        keys.get("ean", ""),
        "6",
        "7",
    )
    key = order.lines[0].sku  # the pair's item_key rule, resolved by the flow
    assert buckles(hub).find_items([key]) == ({key} if checked else set())


def test_a_line_no_hub_product_matches_is_refused_with_buckles_message() -> None:
    order, mapped = the_order(_documented())
    hub = Hub([])
    target = buckles(hub)
    assert target.find_items(["anacampseros"]) == set()  # the flow quarantines it first
    with pytest.raises(
        FatalError,
        match=r"order ORD00018.*lines\[0\]\.sku: no sellable "
        r"product with SKU 'anacampseros'",
    ):
        target.create_order(OrderWrite(order, debtor_code="5", reference="ORD00018", mapped=mapped))


@pytest.mark.parametrize(
    "name", ["lightspeed_webhook.order_created", "lightspeed_webhook.order_shipped"]
)
@pytest.mark.parametrize("form", ["enveloped", "bare"])
def test_recorded_webhook_order_without_any_item_key_never_reaches_the_hub(
    name: str, form: str
) -> None:
    out = mapped_orders(bodies(name)[form])
    assert out["orders"] == []
    (entry,) = out["counts"]["quarantined"]
    assert (entry["entity"], entry["source_id"], entry["field"]) == ("order", "123", "lines[0].sku")
    assert out["counts"]["orders_quarantined"] == 1


@pytest.mark.parametrize(
    ("status", "buckles_status"),
    [
        ("processing_awaiting_shipment", "processing"),
        ("processing_awaiting_payment", "pending_payment"),
        ("processing_awaiting_pickup", "processing"),
        ("on_hold", "on_hold"),
        ("completed_shipped", "completed"),
        ("completed_picked_up", "completed"),
        ("cancelled", "cancelled"),
        ("some_custom_status", "on_hold"),
    ],
)
def test_lightspeed_status_becomes_the_buckles_status(status: str, buckles_status: str) -> None:
    """Derived: the recorded shipped webhook (its one line given the article code it lacks)
    and the documented order, each with ``status`` set."""
    for source in ("lightspeed_webhook.order_shipped", DOCUMENTED):
        body = copy.deepcopy(recorded(SYSTEM, source))
        body["order"]["status"] = status
        body["order"]["products"]["resource"]["embedded"][0]["articleCode"] = "anacampseros"
        order, mapped = the_order(body)
        assert book(order, mapped, Hub())["status"] == buckles_status


def test_the_recorded_webhook_orders_total_and_prices_of_zero_are_sent_as_zero() -> None:
    """The Pipedream order (status completed_shipped) is a free order: every amount 0."""
    body = copy.deepcopy(recorded(SYSTEM, "lightspeed_webhook.order_shipped"))
    body["order"]["products"]["resource"]["embedded"][0]["articleCode"] = "anacampseros"
    order, mapped = the_order(body)
    sent = book(order, mapped, Hub())
    assert (sent["number"], sent["currency"], sent["email"]) == (
        "ORD00002",
        "USD",
        "customer@email.com",
    )
    assert (sent["total"], sent["shipping_cost"], sent["discount"]) == ("0", "0", "0")
    assert [(Decimal(x["qty"]), Decimal(x["price"]), x["tax_rate"]) for x in sent["lines"]] == [
        (Decimal(1), Decimal(0), "0")
    ]
    assert sent["shipping_address"]["country"] == "US"
    assert sent["shipping_address"]["street"] == ""  # recorded empty: sent empty


def test_false_mapped_from_the_source_is_sent_as_empty_text() -> None:
    """Lightspeed's empty is ``false`` (``addressShippingCompany``, ``referralId``); a
    mapping that reads one into a Buckles text field sends ""."""
    order, mapped = the_order(bodies(DOCUMENTED)["enveloped"])
    raw = recorded(SYSTEM, DOCUMENTED)["order"]
    assert raw["addressShippingCompany"] is False
    mapped = {
        **mapped,
        "header": {
            **mapped["header"],
            "shipping_method": raw["addressShippingCompany"],
            "payment_method": raw["referralId"],
        },
    }
    sent = book(order, mapped, Hub())
    assert (sent["shipping_method"], sent["payment_method"]) == ("", "")


def test_an_answer_that_does_not_confirm_the_order_is_not_counted() -> None:
    order, mapped = the_order(bodies(DOCUMENTED)["enveloped"])
    hub = Hub()
    target = buckles(hub)
    for answer, why in [
        (
            {
                "id": 9001,
                "channel_order_id": "ORD00018",
                "total": "44.10",
                "lines": [{"sku": "anacampseros", "qty": "6"}],
            },
            "total '44.10'",
        ),
        ({"id": 9001, "channel_order_id": "ORD00018", "total": "50.35", "lines": []}, "0 lines"),
        (
            {
                "id": 9001,
                "channel_order_id": "OTHER",
                "total": "50.35",
                "lines": [{"sku": "anacampseros", "qty": "6"}],
            },
            "reference",
        ),
    ]:
        hub.order_answer = answer
        with pytest.raises(FatalError, match=why):
            target.create_order(
                OrderWrite(order, debtor_code="5", reference="ORD00018", mapped=mapped)
            )
    hub.order_answer = {"channel_order_id": "ORD00018"}
    with pytest.raises(FatalError, match="no record with an id"):
        target.create_order(OrderWrite(order, debtor_code="5", reference="ORD00018", mapped=mapped))


# --- customers --------------------------------------------------------------------------


def mapped_customers(body: Any) -> list[Customer]:
    entity, records = delivery_records(body)
    assert entity == "customer"
    out = map_records(PAIR, "customers", shop_source(), records)
    assert out["counts"]["quarantined"] == []
    return [Customer.model_validate(c["customer"]) for c in out["customers"]]


@pytest.mark.parametrize("form", ["enveloped", "bare"])
def test_recorded_customer_webhook_reaches_the_hub(form: str) -> None:
    (customer,) = mapped_customers(bodies("lightspeed_webhook.customer_created")[form])
    hub = Hub()
    assert buckles(hub).create_debtor(customer) == "500"
    (sent,) = hub.posted("customers")
    # "gender": false, "birthDate": false, empty street and city: an address of a country only
    assert sent == {
        "email": "customer@email.com",
        "customer_number": "123",
        "first_name": "John",
        "last_name": "Doe",
        "company": "",
        "vat_number": "",
        "phone": "",
        "address": {
            "street": "",
            "house_number": "",
            "house_number_ext": "",
            "postcode": "",
            "city": "",
            "country": "NL",
        },
    }


def test_customer_without_email_is_created_once_and_found_by_its_number() -> None:
    """Derived: the recorded customer with ``"email": ""``."""
    body = copy.deepcopy(recorded(SYSTEM, "lightspeed_webhook.customer_created"))
    body["customer"]["email"] = ""
    (customer,) = mapped_customers(body)
    assert (customer.email, customer.customer_number) == ("", "123")
    hub = Hub()
    first = buckles(hub).create_debtor(customer)
    again = buckles(hub).create_debtor(customer)  # a retried load: 409 on the number
    assert first == again == "500" and len(hub.customers) == 1
    assert hub.posted("customers")[0]["email"] == ""
    assert ("GET", "customers") in [(m, p) for m, p, _ in hub.sent]


def test_order_of_a_customer_without_email_reaches_the_hub() -> None:
    """Derived: the documented order with the e-mail left empty (order and customer)."""
    body = copy.deepcopy(recorded(SYSTEM, DOCUMENTED))
    body["order"]["email"] = ""
    body["order"]["customer"]["resource"]["embedded"]["email"] = ""
    order, mapped = the_order(body)
    assert (order.customer.email, order.customer.customer_number) == ("", "2026523")
    hub = Hub()
    sent = book(order, mapped, hub)
    assert (sent["email"], sent["customer_id"], sent["total"]) == ("", 500, "50.35")
    assert hub.posted("customers")[0]["customer_number"] == "2026523"


# --- shipments --------------------------------------------------------------------------


def test_a_shipment_made_by_hand_in_the_shop_reaches_the_hub_order() -> None:
    """The documented shipment (``shipped`` without a tracking code) with its documented
    line (``"sku": ""``, the code in ``articleCode``) embedded as a webhook delivers it."""
    body = recorded(SYSTEM, "lightspeed_shipment.documented")
    line = recorded(SYSTEM, "lightspeed_shipment_product.documented")["shipmentProduct"]
    body["shipment"]["products"]["resource"]["embedded"] = [line]
    entity, records = delivery_records(body)
    assert entity == "shipment"
    out = map_records(PAIR, "shop_shipments", shop_source(), records)
    (row,) = out["shipments"]
    shipment = Shipment.model_validate(row["shipment"])
    hub = Hub()
    target = buckles(hub)
    assert target.apply_shipment("9001", shipment) == "77"
    (sent,) = hub.posted("orders/9001/shipments")
    assert sent == {
        "status": "shipped",
        "carrier": "",
        "tracking_code": "",
        "reference": "lightspeed_ecom:4981236",
        "lines": [{"sku": "pyrex-box", "qty": "6"}],
    }
    hub.shipment_answer = {"id": 77, "status": "pending", "tracking_code": ""}
    with pytest.raises(FatalError, match="answered"):
        target.apply_shipment("9001", shipment)
