"""The AccountView sandbox serves every recorded resource in the recorded shape: the same
keys, JSON types (quantities as text, an empty timestamp as ``""``), one row as an object,
the table-keyed envelope and the error triple."""

from __future__ import annotations

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

from shopbridge.connectors.accountview.client import AccountViewClient
from shopbridge.connectors.accountview.target import AccountViewTarget
from shopbridge.connectors.base import OrderWrite
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from shopbridge_dev.sandboxes.accountview.app import create_app
from tests.contracts.shape import recorded, shape_diff

SYSTEM = "accountview"
API = "/api/v3"


def _token(http: TestClient) -> dict[str, str]:
    token = http.post(
        f"{API}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "sandbox-refresh",
            "client_id": "shopbridge",
            "client_secret": "sandbox-secret",
        },
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}", "x-company": "SANDBOX"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    app = create_app(seed="demo")
    _book(app)
    return app


@pytest.fixture(scope="module")
def http(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        client.headers.update(_token(client))
        yield client


def _book(app: FastAPI) -> None:
    """One sales order and one sales-journal page, written the way the connector writes."""
    av = AccountViewClient(
        "http://testserver",
        client_id="shopbridge",
        client_secret="sandbox-secret",
        refresh_token="sandbox-refresh",
        company_id="SANDBOX",
        http=TestClient(app),
    )
    target = AccountViewTarget(av)
    articles = TestClient(app).get("/_sandbox/articles").json()
    code = next(a["ART_CODE"] for a in articles if a.get("PX_SELL"))
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    line = OrderLine(
        sku=code,
        quantity=Decimal(1),
        unit_price_excl=Decimal("10"),
        unit_price_incl=Decimal("12.10"),
        tax_rate=Decimal("0.21"),
    )
    order = Order(
        ref=ExternalRef(system="lightspeed_ecom", id="1"),
        number="ORD1",
        status="paid",
        created_at=when,
        updated_at=when,
        currency="EUR",
        customer=Customer(kind=CustomerKind.PERSON, first_name="K."),
        shipping_address=Address(),
        lines=(line,),
        total_excl=Decimal("10"),
        total_incl=Decimal("12.10"),
    )
    results = target.create_orders(
        [
            OrderWrite(order, "59999", "SB-1", None),
            OrderWrite(order, "59999", "SB-2", None, kind="sales_invoice"),
        ]
    )
    assert all(isinstance(r, str) for r in results), results


def get(http: TestClient, business_object: str, **params: Any) -> Any:
    resp = http.get(
        f"{API}/accountviewdata",
        params={"BusinessObject": business_object, "PageSize": 1000, **params},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def one(field: str, value: str) -> dict[str, str]:
    return {
        "FilterControlSource1": field,
        "FilterOperator1": "Equal",
        "FilterValueType1": "C",
        "FilterValue1": value,
        "FilterIsListOfValues1": "false",
    }


#: table keys: one row comes as an object, several as a list (VENDOR_APIS.md §4)
TABLES = ("CONTACT", "ARTICLE", "ART_GRP", "SO_HDR", "DJ_PAGE")
#: keys the recordings themselves show both as a value and as null
NULLABLE = ("PX_SELL", "ErrorNumbers")


def drift(name: str, served: Any) -> list[str]:
    return shape_diff(recorded(SYSTEM, name), served, one_or_many=TABLES, nullable=NULLABLE)


def test_debtors(http: TestClient) -> None:
    many = get(http, "AR1")
    assert isinstance(many["CONTACT"], list) and len(many["CONTACT"]) > 2
    assert drift("contacts.list", many) == []
    # the seed holds debtors as real accounts do: no e-mail, no address, no country
    bare = [c for c in many["CONTACT"] if not c["MAIL_BUS"] and not c["CNT_CODE"]]
    assert bare and bare[0]["ADDRESS1"] == "" and bare[0]["CNG_DATE"] == ""
    single = get(http, "AR1", **one("SUB_NR", "59999"))
    assert isinstance(single["CONTACT"], dict)
    assert drift("contact.single", single) == []
    assert drift("contacts.empty", get(http, "AR1", **one("SUB_NR", "00000"))) == []


def test_articles(http: TestClient) -> None:
    many = get(http, "AK1")
    assert drift("articles.list", many) == []
    rows = many["ARTICLE"]
    assert all(isinstance(a["QTY_AVAIL"], str) for a in rows)
    assert any(a["PX_SELL"] is None for a in rows)  # a price left empty
    assert any(a["QTY_AVAIL"] == "" for a in rows) and any(a["CNG_DATE"] == "" for a in rows)
    code = rows[0]["ART_CODE"]
    assert drift("article.single", get(http, "AK1", **one("ART_CODE", code))) == []
    assert drift("articles.empty", get(http, "AK1", **one("ART_CODE", "NOPE"))) == []
    assert drift("article_groups.list", get(http, "AG1")) == []


def test_booked_documents(http: TestClient) -> None:
    assert drift("sales_orders.list", get(http, "SO1", **one("COMMENT1", "SB-1"))) == []
    assert drift("journal_pages.list", get(http, "DJ2", **one("INV_NR", "SB-2"))) == []


@pytest.mark.parametrize("table", ["contact", "dj_page", "dj_line"])
def test_data_dictionary(http: TestClient, table: str) -> None:
    resp = http.get(
        f"{API}/accountviewsystemdata",
        params={
            "BusinessObject": "FLD",
            "FilterControlSource1": "DBF_NAME",
            "FilterOperator1": "Contains",
            "FilterValueType1": "C",
            "FilterValue1": table.upper(),
        },
    )
    assert resp.status_code == 200, resp.text
    served = resp.json()["DCT_FLD"]
    # the recording kept the rows without their {"DCT_FLD": ...} envelope (SOURCES.md)
    assert shape_diff(recorded(SYSTEM, f"fields.{table}"), served) == []
    if table == "contact":
        mand = {r["FIELD_NAME"] for r in served if r["INP_MAND"]}
        assert mand == {"SUB_NR", "ACCT_NAME", "SRC_CODE"}


def test_companies_and_token(http: TestClient) -> None:
    assert drift("companies.list", http.get(f"{API}/companies").json()) == []
    token = http.post(
        f"{API}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "sandbox-refresh",
            "client_id": "shopbridge",
            "client_secret": "sandbox-secret",
        },
    ).json()
    assert drift("token.ok", token) == []


def test_errors(http: TestClient) -> None:
    bad = http.get(f"{API}/accountviewdata", params={"BusinessObject": "XX1"})
    assert bad.status_code == 400
    for name in ("error.400", "error.blank"):
        assert drift(name, bad.json()) == []
    in_200 = create_app(seed=None, error_status=200)
    with TestClient(in_200) as client:
        client.headers.update(_token(client))
        resp = client.get(f"{API}/accountviewdata", params={"BusinessObject": "XX1"})
    assert resp.status_code == 200
    assert drift("error.200", resp.json()) == []
