"""Buckles' sandbox takes what real Lightspeed data carries, end to end.

Why there is no vendor-shape drift test here: a drift test compares a sandbox response
with a response recorded from the vendor, and Buckles publishes no API, SDK, OpenAPI
document or example payload (tests/contracts/SOURCES.md, section buckles: none found). Our Buckles
API is an ASSUMPTION written down in the connector's docstring; comparing the sandbox with
that assumption would compare it with itself. What can drift, and is held here instead,
is the other side: the real Lightspeed webhook bodies (bare and enveloped), through the
``lightspeed_ecom__buckles`` pair, must be taken by the sandbox and stored as a bookkeeper
expects; and everything the seeded sandbox serves (including what real hubs hold: a
customer without e-mail or address, a product without price or barcode) must translate.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, OrderWrite
from shopbridge.connectors.buckles.client import BucklesClient
from shopbridge.connectors.buckles.source import BucklesSource
from shopbridge.connectors.buckles.target import BucklesTarget
from shopbridge.connectors.lightspeed_ecom.webhooks import delivery_records
from shopbridge.errors import FatalError
from shopbridge.flows.orders import reference
from shopbridge.models import Customer, Order
from shopbridge_dev.sandboxes.buckles.app import GIFT_WRAP, create_app
from tests.contracts.pipeline import map_records
from tests.contracts.shape import recorded
from tests.contracts.test_buckles import DOCUMENTED, EAN, PAIR, SYSTEM, bodies, shop_source


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


def client(app: FastAPI, per_page: int = 100) -> BucklesClient:
    return BucklesClient(
        "http://testserver",
        "demo-token",
        http=TestClient(app),
        counter=CallCounter(),
        policy=RetryPolicy(sleep=lambda _s: None),
        per_page=per_page,
    )


def state(app: FastAPI) -> dict[str, Any]:
    with TestClient(app) as tc:
        return dict(tc.get("/_sandbox/state").json())


def write(app: FastAPI, body: Any) -> dict[str, Any]:
    """Map one webhook body and write it as the load step does; the stored order."""
    _, records = delivery_records(body)
    out = map_records(PAIR, "orders", shop_source(), records)
    assert out["counts"]["quarantined"] == [], out["counts"]
    (raw,) = out["orders"]
    order = Order.model_validate(raw)
    target = BucklesTarget(client(app))
    debtor = target.create_debtor(order.customer)
    oid = target.create_order(
        OrderWrite(
            order,
            debtor_code=debtor,
            reference=reference(order),
            mapped=out["mapped"][order.ref.id],
        )
    )
    with TestClient(app) as tc:
        stored: dict[str, Any] = tc.get(
            f"/api/v1/orders/{oid}", headers={"Authorization": "Bearer demo-token"}
        ).json()["data"]
    return stored


def sells(app: FastAPI, sku: str, barcode: str = "") -> None:
    """The hub sells this product (its own catalogue, or the products flow made it)."""
    client(app).create_product({"sku": sku, "barcode": barcode, "title": sku, "price": "7"})


@pytest.mark.parametrize("form", ["enveloped", "bare"])
def test_the_documented_order_is_stored_as_the_shop_sold_it(app: FastAPI, form: str) -> None:
    sells(app, "anacampseros")
    order = write(app, bodies(DOCUMENTED)[form])
    assert (order["number"], order["channel_order_id"], order["status"]) == (
        "ORD00018",
        "ORD00018",
        "processing",
    )
    assert (order["currency"], order["total"], order["shipping_cost"], order["discount"]) == (
        "USD",
        "50.35",
        "5.95",
        "0",
    )
    assert [
        (x["sku"], x["qty"], x["price"], x["tax_rate"], x["discount"]) for x in order["lines"]
    ] == [("anacampseros", "6", "7", "5", "0")]
    assert order["shipping_address"]["country"] == "CA"
    customer = next(c for c in state(app)["customers"] if c["id"] == order["customer_id"])
    assert (customer["email"], customer["customer_number"]) == ("customer@example.com", "2026523")
    # open: its 6 are reserved against the hub's stock
    row = next(r for r in state(app)["stock"] if r["sku"] == "anacampseros")
    assert row["reserved"] == "6"


def test_an_ean_only_line_lands_on_the_hub_product_with_that_barcode(app: FastAPI) -> None:
    """Derived: the documented line with only an EAN (no sku, no articleCode)."""
    sells(app, "BK-ANA", barcode=EAN)
    body = copy.deepcopy(recorded(SYSTEM, DOCUMENTED))
    body["order"]["products"]["resource"]["embedded"][0].update(articleCode="", ean=EAN)
    (line,) = write(app, body)["lines"]
    assert (line["sku"], line["barcode"], line["qty"]) == ("BK-ANA", EAN, "6")


def test_a_customer_without_email_or_address_is_taken_once(app: FastAPI) -> None:
    """Derived: the recorded customer webhook without its e-mail."""
    body = copy.deepcopy(recorded(SYSTEM, "lightspeed_webhook.customer_created"))
    body["customer"]["email"] = ""
    _, records = delivery_records(body)
    out = map_records(PAIR, "customers", shop_source(), records)
    customer = Customer.model_validate(out["customers"][0]["customer"])
    first = BucklesTarget(client(app)).create_debtor(customer)
    again = BucklesTarget(client(app)).create_debtor(customer)
    assert first == again
    (row,) = [c for c in state(app)["customers"] if c["customer_number"] == "123"]
    assert (row["email"], row["address"]["street"], row["address"]["country"]) == ("", "", "NL")


def test_the_recorded_webhook_orders_without_item_keys_never_reach_the_sandbox(
    app: FastAPI,
) -> None:
    for name in ("lightspeed_webhook.order_created", "lightspeed_webhook.order_shipped"):
        for body in bodies(name).values():
            _, records = delivery_records(body)
            out = map_records(PAIR, "orders", shop_source(), records)
            assert [q["field"] for q in out["counts"]["quarantined"]] == ["lines[0].sku"]
    assert state(app)["orders"] == []


def test_another_currency_and_no_currency(app: FastAPI) -> None:
    sells(app, "anacampseros")
    assert write(app, bodies(DOCUMENTED)["bare"])["currency"] == "USD"
    with pytest.raises(FatalError, match="currency"):
        client(app).create_order(
            {
                "channel": "x",
                "channel_order_id": "1",
                "lines": [{"sku": "anacampseros", "qty": "1"}],
            }
        )


def test_everything_the_seeded_sandbox_serves_translates(app: FastAPI) -> None:
    source = BucklesSource(client(app, per_page=7))
    customers = [source.to_customer(r) for r in client(app).iter_customers()]
    bare = [c for c in customers if not c.email]
    assert [(c.person_name, c.billing_address.country) for c in bare] == [("Jansen", "")]
    levels = {lv.sku: lv for lv in map(source.to_stock, source.iter_stock_records())}
    assert levels[GIFT_WRAP].on_hand == 0 and levels[GIFT_WRAP].ean == ""
    assert any(lv.ean for lv in levels.values())  # stock rows carry the barcode
    (wrap,) = client(app).iter_products(skus=[GIFT_WRAP])
    assert (wrap["price"], wrap["barcode"]) == (None, "")


def test_a_list_that_ends_before_its_total_fails_loudly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        rows = [{"id": 1, "sku": "A"}] if page == 1 else []
        return httpx.Response(
            200, json={"data": rows, "meta": {"page": page, "per_page": 1, "total": 3}}
        )

    c = BucklesClient(
        "http://hub",
        "t",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        policy=RetryPolicy(sleep=lambda _s: None),
        per_page=1,
    )
    with pytest.raises(FatalError, match=r"meta\.total is 3 but the pages held 1"):
        list(c.iter_products())
