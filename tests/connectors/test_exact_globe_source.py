"""Exact Globe as an order source (ERP-entered orders -> webshop), against the sandbox."""

from __future__ import annotations

import importlib
import json
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # starlette wants httpx2; see test_exact_globe
    from fastapi.testclient import TestClient

from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.exact_globe.source import ExactGlobeSource
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.errors import ConfigError, RecordError
from shopbridge.models import CustomerKind
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START
from shopbridge_dev.sandboxes.exact_globe.app import PHONE_ORDERS, create_app

from .test_exact_globe import DEMO, KNOWN, client_for

#: what the lead registers in ``registry.TRANSLATORS["exact_globe"]``
TRANSLATOR = "shopbridge.connectors.exact_globe.from_globe:order_from_globe"


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


def source_for(
    app: FastAPI, *, page_size: int = 100, counter: CallCounter | None = None
) -> ExactGlobeSource:
    return ExactGlobeSource(client_for(app, page_size=page_size, counter=counter))


def add_order(app: FastAPI, **body: Any) -> dict[str, Any]:
    with TestClient(app) as tc:
        resp = tc.post("/_sandbox/sales_orders", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def erp_orders(app: FastAPI) -> dict[str, dict[str, Any]]:
    with TestClient(app) as tc:
        return {o["OrderNumber"]: o for o in tc.get("/_sandbox/sales_orders").json()}


def line(sku: str = KNOWN[0], **kw: Any) -> dict[str, Any]:
    return {
        "Itemcode": sku,
        "Description": sku,
        "Quantity": "1",
        "Price": "10.00",
        "VATPercentage": "21",
        "DiscountAmount": "0",
        **kw,
    }


def debtor(n: int) -> dict[str, Any]:
    return DEMO.existing_debtors[n]


def code_of(app: FastAPI, n: int) -> str:
    target = ExactGlobeTarget(client_for(app))
    return target.find_debtors([debtor(n)["email"]])[debtor(n)["email"]]


def requests_of(source: ExactGlobeSource) -> list[tuple[str, dict[str, str]]]:
    """(path, query) of every request the source's client sends from now on."""
    seen: list[tuple[str, dict[str, str]]] = []
    source.client._http.event_hooks["request"].append(
        lambda req: seen.append((req.url.path, dict(req.url.params)))
    )
    return seen


def window(source: ExactGlobeSource) -> list[dict[str, Any]]:
    return list(source.iter_order_records(DEMO_START, DEMO_END))


# -- reading ---------------------------------------------------------------------------------


def test_window_pages_across_pages(app):
    code = code_of(app, 0)
    for minutes in range(6):  # 6 more inside the window: 11 in all
        add_order(
            app,
            header={"OrderDebtor": code, "Modified": f"2026-11-21T12:0{minutes}:00"},
            lines=[line()],
        )
    source = source_for(app, page_size=4)
    seen = requests_of(source)
    records = window(source)
    assert len(records) == PHONE_ORDERS + 6
    assert len({r["header"]["SalesOrderNumber"].strip() for r in records}) == len(records)
    pages = [(q["$top"], q["$skip"]) for path, q in seen if path.endswith("/SalesOrderHeader")]
    assert pages == [("4", "0"), ("4", "4"), ("4", "8")]
    flt = next(q["$filter"] for path, q in seen if path.endswith("/SalesOrderHeader"))
    assert flt == (
        "Modified ge datetime'2026-11-16T01:00:00' and Modified lt datetime'2026-11-23T01:00:00'"
    )


def test_window_bounds_are_server_local_time(app):
    """DEMO_START is 00:00 UTC = 01:00 in Amsterdam, where Globe's clock runs."""
    code = code_of(app, 0)
    edges = {
        "before": "2026-11-16T00:59:59",
        "at_start": "2026-11-16T01:00:00",
        "last": "2026-11-23T00:59:59",
        "at_end": "2026-11-23T01:00:00",
    }
    made = {
        k: add_order(app, header={"OrderDebtor": code, "Modified": v}, lines=[line()])[
            "OrderNumber"
        ]
        for k, v in edges.items()
    }
    got = {r["header"]["SalesOrderNumber"].strip() for r in window(source_for(app))}
    assert made["at_start"] in got and made["last"] in got
    assert made["before"] not in got and made["at_end"] not in got


def test_imported_orders_and_erp_orders_are_listed_apart(app):
    assert len(erp_orders(app)) == PHONE_ORDERS
    with TestClient(app) as tc:
        assert tc.get("/_sandbox/orders").json() == []  # nothing imported through the API


def test_lines_and_account_embedded(app):
    records = {r["header"]["SalesOrderNumber"].strip(): r for r in window(source_for(app))}
    seeded = erp_orders(app)
    for number, rec in records.items():
        assert [ln["LineNumber"] for ln in rec["lines"]] == [
            ln["LineNumber"] for ln in seeded[number]["lines"]
        ]
        assert rec["account"]["DebtorCode"].strip() == rec["header"]["OrderDebtor"]
        assert rec["account"]["DebtorCode"].startswith(" ")  # padded, as Globe's char codes
        assert rec["timezone"] == "Europe/Amsterdam"
        json.dumps(rec)  # travels as an XCom
    companies = [r for r in records.values() if r["account"]["VATNumber"]]
    persons = [r for r in records.values() if not r["account"]["VATNumber"]]
    assert companies and persons
    for r in companies:  # Globe's Account carries its main contact: no Contact reads
        assert r["account"]["ContactFirstName"] and r["account"]["contacts"] == []
    assert all(r["account"]["ContactFirstName"] is None for r in persons)


def test_unknown_debtor_is_embedded_as_none_and_named(app):
    add_order(
        app, header={"OrderDebtor": "77777", "Modified": "2026-11-20T12:00:00"}, lines=[line()]
    )
    source = source_for(app)
    [rec] = [r for r in window(source) if r["header"]["OrderDebtor"] == "77777"]
    assert rec["account"] is None
    with pytest.raises(RecordError) as exc:
        source.to_order(rec)
    assert exc.value.field == "header.OrderDebtor" and "77777" in exc.value.reason


def test_api_calls_are_bounded_per_batch(app):
    codes = [code_of(app, n) for n in range(len(DEMO.existing_debtors))]
    for n in range(60):
        add_order(
            app,
            header={"OrderDebtor": codes[n % len(codes)], "Modified": "2026-11-21T10:00:00"},
            lines=[line(KNOWN[n % 5]), line(KNOWN[(n + 1) % 5])],
        )
    counter = CallCounter()
    records = window(source_for(app, counter=counter))
    assert len(records) == PHONE_ORDERS + 60
    # one page of headers; lines of 65 orders in 2 filters, each at most 80 rows + 1 page;
    # 12 debtors' accounts in one filter, their contacts in one
    assert counter.calls <= 1 + 2 * 2 + 1 + 1
    assert counter.calls < len(records) / 5


def test_each_debtor_is_read_once_per_iteration(app):
    code = code_of(app, 1)
    for minutes in range(8):
        add_order(
            app,
            header={"OrderDebtor": code, "Modified": f"2026-11-21T11:0{minutes}:00"},
            lines=[line()],
        )
    counter = CallCounter()
    records = window(source_for(app, page_size=3, counter=counter))
    pages = -(-len(records) // 3)
    debtors = {r["header"]["OrderDebtor"] for r in records}
    # per page: the headers and their lines; accounts/contacts only for debtors not seen
    assert counter.calls <= pages * 2 + 1 + 2 * len(debtors)


# -- translating -----------------------------------------------------------------------------


def test_company_order(app):
    n = next(i for i in range(PHONE_ORDERS) if debtor(i)["is_company"])
    d = debtor(n)
    code = code_of(app, n)
    made = add_order(
        app,
        header={
            "OrderDebtor": code,
            "Created": "2026-11-18T09:58:00",
            "Modified": "2026-11-18T10:00:00",
            "OrderDate": "2026-11-18",
            "PaymentCondition": "30",
            "DeliveryMethod": "POST",
            "DeliveryAddressLine1": "Havenstraat 3 bis",
            "DeliveryPostalCode": "3011 AB",
            "DeliveryCity": "Rotterdam",
        },
        lines=[
            line(KNOWN[0], Quantity="2", Price="12.50", DiscountAmount="2.50"),
            line(KNOWN[1], Quantity="1", Price="0.99", VATPercentage="9"),
        ],
    )
    source = source_for(app)
    [rec] = [
        r for r in window(source) if r["header"]["SalesOrderNumber"].strip() == made["OrderNumber"]
    ]
    order = source.to_order(rec)
    assert (order.ref.system, order.ref.id, order.number, order.status) == (
        "exact_globe",
        made["OrderNumber"],
        made["OrderNumber"],
        "open",
    )
    c = order.customer
    assert (c.kind, c.company_name, c.first_name, c.last_name, c.email) == (
        CustomerKind.COMPANY,
        d["company_name"],
        d["first_name"],
        d["last_name"],
        d["email"],
    )
    assert c.vat_number == d["vat_number"]
    assert (c.billing_address.city, c.billing_address.country) == (d["city"], d["country"])
    assert (c.billing_address.street, c.billing_address.house_number) == (d["street"], d["number"])
    ship = order.shipping_address
    assert (ship.street, ship.house_number, ship.house_number_ext, ship.city, ship.country) == (
        "Havenstraat",
        "3",
        "bis",
        "Rotterdam",
        "",
    )  # none given: the flow's default
    first, second = order.lines
    assert (first.sku, first.quantity, first.unit_price_excl, first.unit_price_incl) == (
        KNOWN[0],
        2,
        Decimal("12.50"),
        Decimal("15.125"),
    )
    assert (first.tax_rate, first.discount_excl, first.discount_incl) == (
        Decimal("0.21"),
        Decimal("2.50"),
        Decimal("3.025"),
    )
    assert second.tax_rate == Decimal("0.09")
    # 22.50 at 21 % (VAT 4.725 -> 4.73) + 0.99 at 9 % (VAT 0.0891 -> 0.09)
    assert (order.total_excl, order.total_incl) == (Decimal("23.49"), Decimal("28.31"))
    assert (order.payment_method, order.shipping_method) == ("30", "POST")
    assert order.created_at == datetime(2026, 11, 18, 8, 58, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    assert order.created_at.utcoffset() == timedelta(hours=1)  # kept in server time


def test_person_order_prices_incl_vat(app):
    n = next(i for i in range(PHONE_ORDERS) if not debtor(i)["is_company"])
    d = debtor(n)
    made = add_order(
        app,
        header={
            "OrderDebtor": code_of(app, n),
            "Modified": "2026-11-19T15:00:00",
            "Status": "Approved",
        },
        lines=[line(KNOWN[2], Quantity="3", Price="12.10", VATPercentage=None, VATCode="3")],
    )  # Globe's inclusive VAT code
    source = source_for(app)
    [rec] = [
        r for r in window(source) if r["header"]["SalesOrderNumber"].strip() == made["OrderNumber"]
    ]
    order = source.to_order(rec)
    c = order.customer
    assert (c.kind, c.first_name, c.last_name, c.email, c.company_name) == (
        CustomerKind.PERSON,
        d["first_name"],
        d["last_name"],
        d["email"],
        "",
    )
    assert order.shipping_address == c.billing_address  # no Delivery* fields
    [ln] = order.lines
    assert (ln.unit_price_incl, ln.unit_price_excl) == (Decimal("12.10"), Decimal("10.00"))
    assert (order.total_incl, order.total_excl) == (Decimal("36.30"), Decimal("30.00"))
    assert order.status == "Approved"


def test_every_seeded_phone_order_translates(app):
    source = source_for(app)
    orders = [source.to_order(r) for r in window(source)]
    assert len(orders) == PHONE_ORDERS
    assert all(DEMO_START <= o.updated_at < DEMO_END for o in orders)
    assert {o.customer.kind for o in orders} == {CustomerKind.COMPANY, CustomerKind.PERSON}


def test_registered_translator_is_the_sources(app):
    module, _, func = TRANSLATOR.partition(":")
    translate = getattr(importlib.import_module(module), func)
    source = source_for(app)
    rec = window(source)[0]
    assert translate(rec) == source.to_order(rec)


def test_debtor_without_email_is_matched_by_its_number(app):
    made = add_order(
        app,
        account={
            "Name": "Zonder Mail BV",
            "IsPerson": False,
            "Email": "",
            "AddressLine1": "Dorpsstraat 1",
            "PostalCode": "1234 AB",
            "City": "Zwolle",
            "Country": "NL",
        },
        header={"Modified": "2026-11-20T09:00:00"},
        lines=[line()],
    )
    source = source_for(app)
    [rec] = [
        r for r in window(source) if r["header"]["SalesOrderNumber"].strip() == made["OrderNumber"]
    ]
    assert rec["account"]["EmailAddress"] is None  # Globe sends null for empty text
    customer = source.to_order(rec).customer
    assert (customer.email, customer.customer_number, customer.company_name) == (
        "",
        made["header"]["OrderDebtor"] if "header" in made else made["OrderDebtor"],
        "Zonder Mail BV",
    )


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([line(), line(Quantity="0")], "lines[1].Quantity"),
        ([line(), line(), line(Price="abc")], "lines[2].Price"),
        ([line(VATPercentage=None)], "lines[0].VATCode"),
        ([line(VATPercentage="7")], "lines[0].VATCode"),  # a rate Globe has no code for
        ([line(Itemcode="")], "lines[0].Itemcode"),
        ([], "lines"),
    ],
)
def test_bad_lines_name_the_globe_field(app, lines, field):
    made = add_order(
        app, header={"OrderDebtor": code_of(app, 0), "Modified": "2026-11-20T09:00:00"}, lines=lines
    )
    source = source_for(app)
    [rec] = [
        r for r in window(source) if r["header"]["SalesOrderNumber"].strip() == made["OrderNumber"]
    ]
    with pytest.raises(RecordError) as exc:
        source.to_order(rec)
    assert exc.value.field == field


def test_order_id_of_malformed_records():
    source = ExactGlobeSource.__new__(ExactGlobeSource)
    assert source.order_id({"header": {"OrderNumber": "  10042"}}) == "10042"
    assert source.order_id({"header": None}) == "?"
    assert source.order_id({}) == "?"


# -- confirming ------------------------------------------------------------------------------


def test_confirm_order_merges_the_header_and_bumps_modified(app):
    counter = CallCounter()
    source = source_for(app, counter=counter)
    rec = window(source)[0]
    number = rec["header"]["SalesOrderNumber"].strip()
    calls = counter.calls
    source.confirm_order(number, {"YourReference": "ORD30999"})
    assert counter.calls == calls + 1  # the guid came from the read: the MERGE only
    got = erp_orders(app)[number]
    assert got["YourReference"] == "ORD30999"
    assert got["Modified"] != rec["header"]["Modified"]  # bumped to the sandbox's clock
    assert len(got["lines"]) == len(rec["lines"])

    fresh = source_for(app, counter=(c2 := CallCounter()))
    fresh.confirm_order(number, {"Description": "in webshop"})
    assert c2.calls == 2  # lookup by SalesOrderNumber, then MERGE
    assert erp_orders(app)[number]["Description"] == "in webshop"


def test_confirm_unknown_order_is_a_record_error(app):
    with pytest.raises(RecordError) as exc:
        source_for(app).confirm_order("99999", {"YourReference": "x"})
    assert exc.value.field == "SalesOrderNumber"


# -- hook ------------------------------------------------------------------------------------


def test_hook_source_uses_the_connection_timezone(monkeypatch, app):
    from airflow.sdk import Connection

    from shopbridge.connectors.exact_globe import hook as hook_mod
    from shopbridge.connectors.exact_globe.client import ExactGlobeClient

    def conn(**extra: Any) -> Connection:
        return Connection(
            conn_id="globe",
            conn_type="exact_globe",
            host="127.0.0.1",
            port=1,
            login="globe",
            password="globe",
            extra=json.dumps(
                {"server_name": "sandbox", "database_name": "600", "auth": "basic", **extra}
            ),
        )

    real = ExactGlobeClient.from_settings.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        hook_mod.ExactGlobeClient,
        "from_settings",
        classmethod(lambda cls, s, **kw: real(cls, s, http=TestClient(app), **kw)),
    )
    h = hook_mod.ExactGlobeHook("globe")
    monkeypatch.setattr(h, "get_connection", lambda _id: conn(timezone="UTC"))
    source = h.get_source()
    assert source.system == "exact_globe" and source.timezone == "UTC"
    # in UTC the seeded 10:15 local stamps read an hour later, still inside the week
    assert len(list(source.iter_order_records(DEMO_START, DEMO_END))) == PHONE_ORDERS
    monkeypatch.setattr(h, "get_connection", lambda _id: conn(timezone="Mars/Olympus"))
    with pytest.raises(ConfigError, match=r"'globe': extra.timezone.*Mars/Olympus"):
        h.get_source()
