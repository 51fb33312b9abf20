"""The CCV sandbox serves every recorded resource in the recorded shape: the same keys and
JSON types, ``null`` where CCV sends it (``transaction_id``, an empty address's
``housenumber`` and ``country_code``), relations as ``{"href"}`` links, the collection
envelope, the webhook bodies (``order_number``, not ``ordernumber``) and the error triple.

``NULLABLE`` names the keys CCV sends as ``null`` although the recording happens to hold a
value there: an empty address's ``housenumber`` and ``country_code`` (the recorded order's
own delivery address has both ``null``; the sandbox's walk-in customers have no address at
all), and what the vendor's JSON schema allows to be ``null`` (a product without stock has
``stockenabled``, ``stocktype`` and ``stock`` ``null``; a product's ``description``,
``unit`` and ``brand`` may be ``null``): the sandbox seeds those nulls on purpose.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # starlette's httpx2 hint (see connectors)
    from fastapi.testclient import TestClient

from shopbridge.connectors.ccv_salespos.client import CcvHmacAuth, CcvSalesposClient
from shopbridge.connectors.ccv_salespos.target import CcvSalesposTarget
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from shopbridge_dev.sandboxes.ccv_salespos.app import create_app
from tests.contracts.shape import recorded, shape_diff

SYSTEM = "ccv_salespos"
API = "/api/rest/v1"
PUBLIC, SECRET = "demo-public", "demo-secret"
NULLABLE = (
    "housenumber",
    "country_code",
    "description",
    "unit",
    "stockenabled",
    "stocktype",
    "stock",
    "brand",
)
POS_ORDER = 1001  # a counter sale of the seed: walk-in customer, cashier's user account


def fetch(http: TestClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One signed request, as the connector signs it; the status and the parsed body."""
    content = json.dumps(body).encode() if body is not None else None
    request = http.build_request(
        method,
        f"http://testserver{API}/{path}",
        content=content,
        headers={"Content-Type": "application/json"} if content else None,
    )
    CcvHmacAuth(PUBLIC, SECRET).sign(request)
    resp = http.send(request)
    return resp.status_code, resp.json() if resp.content else None


def get(http: TestClient, path: str) -> Any:
    status, body = fetch(http, "GET", path)
    assert status == 200, body
    return body


def diff(name: str, served: Any) -> list[str]:
    return shape_diff(recorded(SYSTEM, name), served, nullable=NULLABLE)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(seed="demo")


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def created(app: FastAPI) -> dict[str, Any]:
    """An order written the way the target writes it; its answer as CCV gave it."""
    client = CcvSalesposClient("http://testserver", PUBLIC, SECRET, http=TestClient(app))
    target = CcvSalesposTarget(client)
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    line = OrderLine(
        sku="T-S-BLA-9001",
        quantity=Decimal(2),
        unit_price_excl=Decimal("10"),
        unit_price_incl=Decimal("12.10"),
        tax_rate=Decimal("0.21"),
    )
    buyer = Customer(
        kind=CustomerKind.PERSON,
        email="klant@example.nl",
        first_name="Jan",
        last_name="Jansen",
        billing_address=Address(
            street="Dorpsstraat", house_number="3", postcode="1234 AB", city="Utrecht", country="NL"
        ),
    )
    order = Order(
        ref=ExternalRef(system="lightspeed_ecom", id="1"),
        number="ORD1",
        status="processing_awaiting_shipment",
        payment_status="paid",
        created_at=when,
        updated_at=when,
        currency="EUR",
        customer=buyer,
        shipping_address=buyer.billing_address,
        lines=(line,),
        total_excl=Decimal("20"),
        total_incl=Decimal("24.20"),
    )
    return client.create_order(target.order_payload(order, reference="ORD1"))


def test_orders(http: TestClient, created: dict[str, Any]) -> None:
    till = get(http, f"orders/{POS_ORDER}")
    assert diff("order.detail", till) == []
    guest = get(http, f"orders/{created['id']}")
    # an order without a user account: the schema's "id null: no user" (the recording's
    # order has one, with its id as a string): checked apart from the rest
    assert guest["user"] == {"id": None, "discount_percentage": 0, "href": None}
    assert diff("order.detail", {**guest, "user": till["user"]}) == []
    # the till's sales of the demo week (the guest order above is newer: not on this page)
    page = get(http, "orders?min_create_date=2026-01-01T00:00:00Z&orderby=id&start=0&size=5")
    assert len(page["items"]) == 5 and diff("orders.list", page) == []


def test_the_walk_in_customer_is_as_empty_as_ccv_shows_it(http: TestClient) -> None:
    customer = get(http, f"orders/{POS_ORDER}")["customer"]
    assert customer["email"] == ""
    assert customer["billingaddress"]["country_code"] is None
    assert customer["billingaddress"]["housenumber"] is None
    assert "first_name" not in customer["deliveryaddress"]


def test_order_rows(http: TestClient, created: dict[str, Any]) -> None:
    for oid in (POS_ORDER, created["id"]):
        page = get(http, f"orders/{oid}/orderrows")
        assert diff("orderrows.list", page) == []
        assert diff("orderrow.item", page["items"][0]) == []


def test_the_post_answer(created: dict[str, Any]) -> None:
    assert created["user"]["id"] is None  # a guest order (see test_orders)
    assert (
        diff(
            "order.created", {**created, "user": {"id": "1", "discount_percentage": 0, "href": "x"}}
        )
        == []
    )
    assert created["reservationnumber"] == "ORD1"


def test_products_and_their_relations(http: TestClient) -> None:
    expand = "expand=attributecombinations,producttocategories&orderby=id"
    assert diff("products.list", get(http, f"products?{expand}&start=0&size=2")) == []
    assert diff("products.list.page2", get(http, f"products?{expand}&start=2&size=2")) == []
    # the recorded pages' first products have no brand; the T-shirt's is the second one's
    tshirt = get(http, f"products?{expand}&start=0&size=1")["items"][0]
    assert shape_diff(recorded(SYSTEM, "products.list")["items"][1]["brand"], tshirt["brand"]) == []
    combos = get(http, "products/5001/attributecombinations")
    assert diff("attributecombinations.list", combos) == []
    assert diff("producttocategories.list", get(http, "products/5001/producttocategories")) == []
    assert diff("categories.list", get(http, "categories?orderby=id")) == []
    assert diff("webshops.list", get(http, "webshops")) == []
    assert diff("webshop.settings", get(http, "webshops/1/settings")) == []


def test_webhook_bodies(app: FastAPI, http: TestClient) -> None:
    status, _ = fetch(
        http,
        "PATCH",
        f"orders/{POS_ORDER}",
        {"status": 5, "track_and_trace_code": "3SABC1234567", "track_and_trace_carrier": "PostNL"},
    )
    assert status == 204
    for kind, name in [
        ("status_changed", "webhook.order_status_changed"),
        ("track_and_trace", "webhook.order_track_and_trace"),
        ("is_paid", "webhook.order_is_paid"),
    ]:
        body = http.get(f"/_sandbox/webhooks/{kind}/{POS_ORDER}").json()
        assert diff(name, body) == []
        assert "ordernumber" not in body and body["order_number"] > 0
    changed = http.get(f"/_sandbox/webhooks/status_changed/{POS_ORDER}").json()
    assert (changed["previous_status"], changed["status"]) == (7, 5)


def test_error_bodies(http: TestClient) -> None:
    status, body = fetch(http, "GET", "nonsense")
    assert status == 404 and diff("error.404", body) == []
    status, body = fetch(http, "DELETE", f"orders/{POS_ORDER}")
    assert status == 405 and diff("error.405", body) == []
    big = create_app(seed=None, max_payload_bytes=10)
    with TestClient(big) as client:
        status, body = fetch(client, "POST", "orders", {"orderrows": []})
    assert (status, body["code"]) == (500, "500.80") and diff("error.500_80", body) == []
    limited = create_app(seed=None, limit_per_resource=1, limit_total=100)
    with TestClient(limited) as client:
        fetch(client, "GET", "webshops")
        status, body = fetch(client, "GET", "webshops")
    assert (status, body["code"]) == (429, "429.10") and diff("error.429", body) == []
    total = create_app(seed=None, limit_per_resource=100, limit_total=1)
    with TestClient(total) as client:
        fetch(client, "GET", "webshops")
        status, body = fetch(client, "GET", "categories")
    assert (status, body["code"]) == (429, "429.11") and diff("error.429_total", body) == []
