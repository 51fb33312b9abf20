"""Buckles as a source: stock in full, customers and shipments by ``updated_at`` window."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from shopbridge.errors import RecordError
from shopbridge.models import (
    Address,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    OrderLine,
)
from shopbridge_dev.sandboxes.buckles.app import create_app
from shopbridge_dev.sandboxes.demo_data import DEMO_START

BASE = "http://testserver"
SIMPLE = "MUG-BLA-9006"


class Now:
    """The sandbox's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.value = DEMO_START + timedelta(days=1)

    def __call__(self) -> datetime:
        return self.value


def client_for(app: FastAPI, per_page: int = 100) -> BucklesClient:
    return BucklesClient(
        BASE,
        "demo-token",
        http=TestClient(app),
        counter=CallCounter(),
        policy=RetryPolicy(sleep=lambda _s: None),
        per_page=per_page,
    )


def control(app: FastAPI, method: str, path: str, body: Any = None) -> Any:
    with TestClient(app) as tc:
        resp = tc.request(method, f"/_sandbox/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def app(now: Now) -> FastAPI:
    return create_app(seed="demo", now=now)


def _order(skus: dict[str, int]) -> Order:
    c = Customer(
        kind=CustomerKind.PERSON,
        email="a@example.nl",
        first_name="A",
        billing_address=Address(street="S", city="C", country="NL"),
    )
    lines = tuple(
        OrderLine(
            sku=s,
            quantity=Decimal(q),
            unit_price_excl=Decimal(1),
            unit_price_incl=Decimal("1.21"),
            tax_rate=Decimal("0.21"),
        )
        for s, q in skus.items()
    )
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id="1"),
        number="1",
        status="x",
        created_at=DEMO_START,
        updated_at=DEMO_START,
        customer=c,
        shipping_address=c.billing_address,
        lines=lines,
        total_excl=Decimal(1),
        total_incl=Decimal("1.21"),
        currency="EUR",
    )


def test_stock_read_in_full_with_reservations_and_outside_changes(app: FastAPI) -> None:
    source = BucklesSource(client_for(app, per_page=10))
    before = {r["sku"]: r for r in source.iter_stock_records()}
    assert len(before) == len(control(app, "GET", "state")["stock"]) > 10
    level = source.to_stock(before[SIMPLE])
    on_hand = level.on_hand
    assert level.reserved == 0 and level.managed is True
    assert source.stock_id(before[SIMPLE]) == SIMPLE

    target = BucklesTarget(client_for(app))
    debtor = target.create_debtor(_order({SIMPLE: 1}).customer)
    oid = target.create_order(OrderWrite(_order({SIMPLE: 2}), debtor_code=debtor, reference="R1"))
    control(app, "POST", "stock", {"sku": SIMPLE, "on_hand": str(on_hand + 5)})
    rows = {r["sku"]: r for r in source.iter_stock_records()}
    assert source.to_stock(rows[SIMPLE]).on_hand == on_hand + 5
    assert source.to_stock(rows[SIMPLE]).reserved == 2

    control(app, "POST", f"orders/{oid}/ship", {"carrier": "PostNL", "tracking_code": "T1"})
    rows = {r["sku"]: r for r in source.iter_stock_records()}
    assert (source.to_stock(rows[SIMPLE]).on_hand, source.to_stock(rows[SIMPLE]).reserved) == (
        on_hand + 3,
        Decimal(0),
    )


def test_negative_stock_is_a_record_error(app: FastAPI) -> None:
    control(app, "POST", "stock", {"sku": SIMPLE, "on_hand": "-2"})
    source = BucklesSource(client_for(app))
    row = next(r for r in source.iter_stock_records() if r["sku"] == SIMPLE)
    with pytest.raises(RecordError, match="on_hand"):
        source.to_stock(row)


def test_customer_windows_meet_without_gap_or_overlap(app: FastAPI, now: Now) -> None:
    source = BucklesSource(client_for(app))
    seeded = control(app, "GET", "state")["customers"]
    t0 = now.value
    assert list(source.iter_customer_records(t0, t0 + timedelta(hours=1))) == []
    first, second = seeded[0]["id"], seeded[1]["id"]
    control(app, "PATCH", f"customers/{first}", {"phone": "+31 6 1"})
    now.value = t0 + timedelta(hours=1)  # exactly the boundary
    control(app, "PATCH", f"customers/{second}", {"first_name": "Changed"})
    w1 = list(source.iter_customer_records(t0, t0 + timedelta(hours=1)))
    w2 = list(source.iter_customer_records(t0 + timedelta(hours=1), t0 + timedelta(hours=2)))
    assert [source.customer_id(r) for r in w1] == [str(first)]
    assert [source.customer_id(r) for r in w2] == [str(second)]
    assert source.to_customer(w1[0]).phone == "+31 6 1"
    assert source.to_customer(w2[0]).first_name == "Changed"
    every = list(
        source.iter_customer_records(DEMO_START - timedelta(days=60), t0 + timedelta(days=1))
    )
    assert len(every) == len(seeded)


def test_bad_customer_in_window_names_the_field(app: FastAPI, now: Now) -> None:
    first = control(app, "GET", "state")["customers"][0]["id"]
    control(
        app,
        "PATCH",
        f"customers/{first}",
        {"address": {"street": "S", "city": "C", "country": "Holland"}},
    )
    source = BucklesSource(client_for(app))
    (row,) = source.iter_customer_records(now.value, now.value + timedelta(seconds=1))
    with pytest.raises(RecordError) as err:
        source.to_customer(row)
    assert err.value.field == "address.country"


def test_shipments_window_and_order_ref(app: FastAPI, now: Now) -> None:
    target = BucklesTarget(client_for(app))
    debtor = target.create_debtor(_order({SIMPLE: 1}).customer)
    oid = target.create_order(OrderWrite(_order({SIMPLE: 1}), debtor_code=debtor, reference="R1"))
    source = BucklesSource(client_for(app))
    t0 = now.value
    assert list(source.iter_shipment_records(t0, t0 + timedelta(hours=1))) == []
    now.value = t0 + timedelta(minutes=5)
    control(app, "POST", f"orders/{oid}/ship", {"carrier": "DHL", "tracking_code": "JVGL1"})
    (row,) = source.iter_shipment_records(t0, t0 + timedelta(hours=1))
    s = source.to_shipment(row)
    assert s.order_ref == ExternalRef(system="buckles", id=oid)
    assert (s.status, s.carrier, s.tracking_code) == ("shipped", "DHL", "JVGL1")
    assert s.updated_at == now.value.astimezone(UTC)
    assert [(x.sku, x.quantity) for x in s.lines] == [(SIMPLE, Decimal(1))]
    assert source.shipment_id(row) == s.ref.id
    assert (
        list(source.iter_shipment_records(t0 + timedelta(minutes=6), t0 + timedelta(hours=1))) == []
    )
    order = control(app, "GET", "state")["orders"][0]
    # Buckles has no shipped status: a shipped order is completed
    assert order["status"] == "completed" and order["updated_at"] == "2026-11-17T00:05:00Z"
