"""Drift: every Exact Globe payload of ``tests/contracts/exact_globe`` against what the
sandbox serves for the same request. Keys and JSON types must agree (``shape_diff``); a
key the example shows as ``null`` in any row may be ``null`` in the sandbox too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopbridge_dev.sandboxes.exact_globe.app import PREFIX, create_app
from tests.contracts.shape import recorded, shape_diff

SYSTEM = "exact_globe"
HEADERS = {"ServerName": "sandbox", "DatabaseName": "600"}


@pytest.fixture(scope="module")
def tc() -> Any:
    with TestClient(create_app(seed="demo")) as client:
        client.auth = ("globe", "globe")
        yield client


def nullable(payload: Any) -> set[str]:
    """Keys some row of the example sends as null: the vendor's empty value."""
    rows = payload["d"]["results"] if "results" in payload.get("d", {}) else [payload["d"]]
    return {k for r in rows for k, v in r.items() if v is None}


def get(tc: Any, path: str, **params: Any) -> Any:
    resp = tc.get(f"{PREFIX}/{path}", params=params, headers=HEADERS)
    assert resp.status_code == 200, resp.text
    return resp.json()


def post(tc: Any, path: str, body: dict[str, Any], status: int = 201) -> Any:
    resp = tc.post(f"{PREFIX}/{path}", json=body, headers=HEADERS)
    assert resp.status_code == status, resp.text
    return resp.json()


@pytest.mark.parametrize(
    ("name", "entity", "params"),
    [
        ("salesorderheader.list", "SalesOrderHeader", {"$orderby": "SalesOrderNumber"}),
        ("salesorderline.list", "SalesOrderLine", {"$orderby": "SalesOrderNumber,LineNumber"}),
        ("account.list", "Account", {}),
        ("vat.list", "VAT", {}),
        (
            "items.list",
            "Items",
            {
                "$select": "Assortment,AssortmentCode,CreatedDate,GTIN,"
                "IsSalesItem,IsStockItem,ItemCode,ModifiedDate,SalesCurrency,"
                "SalesPrice,SalesVATCode,Status"
            },
        ),
    ],
)
def test_lists_match_the_examples(tc, name, entity, params):
    want = recorded(SYSTEM, name)
    got = get(tc, entity, **params)
    assert got["d"]["results"], f"the sandbox serves no {entity}"
    want["d"].pop("__next", None)  # a page link: compared by the paging test below
    assert shape_diff(want, got, nullable=nullable(want)) == []


def test_server_driven_paging_sends_next_and_count_like_the_example():
    app = create_app(seed="demo", max_page_size=2)
    with TestClient(app) as tc:
        tc.auth = ("globe", "globe")
        got = get(
            tc,
            "SalesOrderHeader",
            **{"$top": 100, "$orderby": "SalesOrderNumber", "$inlinecount": "allpages"},
        )
    want = recorded(SYSTEM, "salesorderheader.list")
    assert shape_diff(want, got, nullable=nullable(want)) == []
    assert len(got["d"]["results"]) == 2 and int(got["d"]["__count"]) == 5


def test_write_answers_match_the_examples(tc):
    item = get(tc, "Items", **{"$top": 1})["d"]["results"][0]["ItemCode"]
    debtor = get(tc, "Account", **{"$top": 1})["d"]["results"][0]["DebtorCode"].strip()
    key = "0c6f1a52-5d1e-5b4f-9c55-2f1f0e7a1001"
    line = post(
        tc,
        "SalesOrderLine",
        {
            "TransactionKey": key,
            "LineNumber": 1,
            "Itemcode": item,
            "Quantity": "10",
            "Price": "4.95",
            "VATPercentage": "9",
            "DiscountAmount": "0",
        },
    )
    want = recorded(SYSTEM, "salesorderline.create")
    lines = nullable(recorded(SYSTEM, "salesorderline.list"))
    assert shape_diff(want, line, nullable=nullable(want) | lines) == []
    header = post(
        tc,
        "SalesOrderHeader",
        {
            "TransactionKey": key,
            "OrderDebtor": debtor,
            "YourReference": "shopbridge ref 1001",
            "SalesOrderDate": "2026-11-17",
            "CurrencyCode": "EUR",
        },
    )
    want = recorded(SYSTEM, "salesorderheader.create")
    headers = nullable(recorded(SYSTEM, "salesorderheader.list"))  # e.g. no delivery address
    assert shape_diff(want, header, nullable=nullable(want) | headers) == []
    assert header["d"]["TotalAmountExcludingVAT"] == 49.5  # Globe's read-only totals
    account = post(
        tc,
        "Account",
        {
            "AccountName": "Fietsen Voorbeeld VOF",
            "EmailAddress": "info@example.com",
            "VATNumber": "NL000099998B57",
            "MailingCountry": "NL",
        },
    )
    want = recorded(SYSTEM, "account.create")
    accounts = nullable(recorded(SYSTEM, "account.list"))
    assert shape_diff(want, account, nullable=nullable(want) | accounts) == []


@pytest.mark.parametrize(
    ("name", "request_"),
    [
        (
            "error.400",
            ("POST", "SalesOrderHeader", {"OrderDebtor": "60093", "TransactionKey": "x"}),
        ),
        ("error.404", ("GET", "SalesOrderHeader('99999999')", None)),
    ],
)
def test_error_bodies_match_the_examples(tc, name, request_):
    method, path, payload = request_
    resp = tc.request(
        method,
        f"{PREFIX}/{path}",
        headers=HEADERS,
        content=None if payload is None else json.dumps(payload),
    )
    assert resp.status_code == int(name.split(".")[1])
    want = recorded(SYSTEM, name)
    want["error"].pop("innererror", None)  # WCF adds it only with verbose errors on
    assert shape_diff(want, resp.json()) == []
