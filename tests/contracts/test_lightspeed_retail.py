"""Lightspeed Retail (R-Series) contract: recorded answers of the vendor's API (and the
vendor's own doc examples, ``*.doc.json``) served byte for byte through the real client,
auth and target, asserting what the connector makes of them.

Lightspeed Retail is an orders, products and stock *target* (``fortnox__lightspeed_retail``):
what a bookkeeper checks here is what the target believes Lightspeed did. A sale counts as
booked only when the answer says it is completed at the total that was sent; an item as
created only when it comes back with an ``itemID`` and the SKU sent; a stock level only when
the shop's ItemShop row says so; lists are read to the end in both envelopes, and a count
that disagrees with the rows read stops the run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.tokens import InMemoryRefreshTokenStore as InMemoryTokenStore
from shopbridge.connectors.base import ItemWrite, OrderWrite
from shopbridge.connectors.lightspeed_retail.auth import RotatingTokenAuth
from shopbridge.connectors.lightspeed_retail.client import LightspeedRetailClient
from shopbridge.connectors.lightspeed_retail.target import LightspeedRetailTarget
from shopbridge.connectors.lightspeed_retail.translate import (
    item_confirmation,
    sale_confirmation,
    shop_qoh,
)
from shopbridge.errors import AuthError, FatalError, RecordError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from tests.contracts.shape import recorded, recorded_bytes

SYSTEM = "lightspeed_retail"
BASE = "https://api.lightspeedapp.com"
ACCOUNT = "120645"  # the recorded account
API = f"/API/V3/Account/{ACCOUNT}"

#: (method, path pattern, status, recorded file)
Rule = tuple[str, str, int, str]


@dataclass
class Vendor:
    """Lightspeed as the recordings show it: each request answered by the first rule that
    matches its method and path (a rule with a query part also needs those parameters)."""

    rules: list[Rule]
    seen: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path == "/auth/oauth/token":
            return self.answer(200, "token.refresh.doc")
        for method, pattern, status, name in self.rules:
            path, _, query = pattern.partition("?")
            wanted = dict(p.split("=", 1) for p in query.split("&") if p)
            if (
                method == request.method
                and re.fullmatch(path, request.url.path)
                and all(request.url.params.get(k) == v for k, v in wanted.items())
            ):
                return self.answer(status, name)
        raise AssertionError(f"unexpected {request.method} {request.url}")

    @staticmethod
    def answer(status: int, name: str) -> httpx.Response:
        return httpx.Response(
            status,
            content=recorded_bytes(SYSTEM, name),
            headers={"Content-Type": "application/json"},
        )

    def bodies(self, method: str, path: str) -> list[Any]:
        return [
            json.loads(r.content)
            for r in self.seen
            if r.method == method and r.url.path.endswith(path)
        ]


def client_for(vendor: Vendor, *, account_id: str | None = ACCOUNT) -> LightspeedRetailClient:
    auth = RotatingTokenAuth(
        token_url="https://cloud.lightspeedapp.com/auth/oauth/token",
        client_id="c",
        client_secret="s",
        refresh_token="r0",
        store=InMemoryTokenStore(),
        clock=lambda: 1_800_000_000.0,
        sleep=lambda s: None,
    )
    http = httpx.Client(transport=httpx.MockTransport(vendor))
    return LightspeedRetailClient(
        BASE,
        auth,
        account_id=account_id,
        http=http,
        policy=RetryPolicy(sleep=lambda s: None),
        clock=lambda: 1_800_000_000.0,
    )


def target_for(vendor: Vendor, **kw: Any) -> LightspeedRetailTarget:
    return LightspeedRetailTarget(client_for(vendor), **kw)


def order(lines: list[tuple[str, str, int]], *, number: str = "FN-1001") -> Order:
    """A Fortnox order: (SKU, unit price incl. tax, quantity) per line, 21 % tax."""
    ols = tuple(
        OrderLine(
            sku=sku,
            quantity=Decimal(qty),
            unit_price_incl=Decimal(incl),
            unit_price_excl=(Decimal(incl) / Decimal("1.21")).quantize(Decimal("0.0001")),
            tax_rate=Decimal("0.21"),
        )
        for sku, incl, qty in lines
    )
    total = sum((ln.net_incl for ln in ols), Decimal(0))
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    customer = Customer(
        kind=CustomerKind.PERSON, first_name="Sem", last_name="Bakker", customer_number="1001"
    )
    return Order(
        ref=ExternalRef(system="fortnox", id=number),
        number=number,
        status="open",
        created_at=when,
        updated_at=when,
        customer=customer,
        shipping_address=Address(),
        lines=ols,
        currency="EUR",
        total_incl=total,
        total_excl=(total / Decimal("1.21")).quantize(Decimal("0.01")),
    )


# --- account, auth, errors ----------------------------------------------------------------


def test_the_account_is_read_from_the_recorded_answer() -> None:
    vendor = Vendor([("GET", "/API/V3/Account.json", 200, "account.list")])
    client = client_for(vendor, account_id=None)
    assert client.account_id == "120645"
    assert [a["name"] for a in client.accounts()] == ["Kit Kraft Sandbox"]
    # the doc's token answer was spent once and its access token is what goes out
    assert vendor.seen[0].url.path == "/auth/oauth/token"
    assert vendor.seen[1].headers["Authorization"] == "Bearer eyJ0e..."


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("error.401", "Invalid username/password or API key."),
        ("error.401.oauth.doc", "Access token could not be verified"),
    ],
)
def test_a_refused_token_is_an_auth_error_with_the_vendors_words(name: str, text: str) -> None:
    vendor = Vendor([("GET", "/API/V3/Account.json", 401, name)])
    with pytest.raises(AuthError) as err:
        client_for(vendor).accounts()
    assert text in str(err.value)


def test_a_missing_record_is_a_404_with_the_vendors_message() -> None:
    vendor = Vendor([("GET", f"{API}/Employee/2.json", 404, "error.404")])
    with pytest.raises(FatalError) as err:
        client_for(vendor).get("Employee", 2)
    assert "Object of type 'Employee' not found with primary ID '2'." in str(err.value)
    assert err.value.response is not None and err.value.response.status_code == 404


def test_a_customer_update_lightspeed_cannot_find_is_that_customers_record_error() -> None:
    vendor = Vendor([("PUT", f"{API}/Customer/2.json", 404, "error.404")])
    customer = Customer(
        kind=CustomerKind.PERSON, first_name="Sem", last_name="Bakker", customer_number="1001"
    )
    with pytest.raises(RecordError) as err:
        target_for(vendor).update_debtor("2", customer)
    assert err.value.field == "debtor_code" and "debtor 2 not found" in str(err.value)


# --- lists: both envelopes, counts -------------------------------------------------------


def test_the_older_envelope_is_read_across_pages_to_its_count() -> None:
    vendor = Vendor(
        [
            ("GET", f"{API}/Sale.json?offset=100", 200, "sales.list.offset.p2"),
            ("GET", f"{API}/Sale.json", 200, "sales.list.offset.p1"),
        ]
    )
    sales = list(client_for(vendor).query("Sale"))
    assert len(sales) == 119  # @attributes.count
    assert [s["saleID"] for s in sales[:2]] == ["1", "2"] and sales[-1]["saleID"] == "119"
    offsets = [r.url.params.get("offset") for r in vendor.seen if r.url.path.endswith("Sale.json")]
    assert offsets == [None, "100"]


def test_a_list_that_holds_fewer_rows_than_its_count_stops_the_run() -> None:
    # the recorded last page (34 rows at offset 200 of 234) as the answer to the first ask:
    # 200 items were never read, and the run must not go on as if they did not exist
    vendor = Vendor([("GET", f"{API}/Item.json", 200, "items.list.offset")])
    with pytest.raises(FatalError) as err:
        list(client_for(vendor).query("Item"))
    assert "count 234" in str(err.value) and "34 rows" in str(err.value)


@pytest.mark.parametrize(
    ("name", "entity", "rows"),
    [
        ("categories.list.offset", "Category", 7),
        ("itemattributesets.list.offset", "ItemAttributeSet", 4),
        ("customers.list.offset", "Customer", 1),  # one record: an object, not a list
        ("categories.list.empty", "Category", 0),  # {"count":"0"} and no entity key
        ("items.query.offset", "Item", 1),
    ],
)
def test_single_page_answers_match_their_count(name: str, entity: str, rows: int) -> None:
    vendor = Vendor([("GET", f"{API}/{entity}.json", 200, name)])
    assert len(list(client_for(vendor).query(entity))) == rows


def test_the_v3_cursor_is_followed_until_next_is_empty() -> None:
    vendor = Vendor(
        [
            (
                "GET",
                "/API/V3/Account/{AccountID}/Item.json?after=WzEwMF0=",
                200,
                "items.page.last.doc",
            ),
            ("GET", f"{API}/Item.json", 200, "items.page.first.doc"),
        ]
    )
    rows = list(client_for(vendor).query("Item"))
    assert rows == []  # the vendor prints its rows as "..."
    second = vendor.seen[-1].url
    assert second.params["after"] == "WzEwMF0=" and second.params["sort"] == "itemID"
    assert second.params["limit"] == "100"


def test_a_v3_list_and_the_count_query() -> None:
    vendor = Vendor(
        [
            ("GET", f"{API}/Sale.json?count=1", 200, "sales.count.doc"),
            ("GET", f"{API}/Sale.json", 200, "sales.list.next.doc"),
        ]
    )
    client = client_for(vendor)
    assert client.count("Sale") == 764
    (sale,) = client.query("Sale")
    assert (sale["saleID"], sale["completed"], sale["total"], sale["balance"]) == (
        "2",
        "true",
        "317.1",
        "0",
    )


# --- sales ---------------------------------------------------------------------------------


def test_find_orders_counts_only_completed_sales_with_our_reference() -> None:
    vendor = Vendor(
        [
            ("GET", f"{API}/Sale.json?offset=100", 200, "sales.list.offset.p2"),
            ("GET", f"{API}/Sale.json", 200, "sales.list.offset.p1"),
        ]
    )
    found = target_for(vendor).find_orders(["R829118986", "X106579922", "R000000000"])
    # sale 101 and 111 are completed sales carrying those reference numbers
    assert found == {"R829118986": "101", "X106579922": "111"}
    query = vendor.seen[1].url.params
    assert query["referenceNumberSource"] == "shopbridge" and query["archived"] == "true"
    assert query["referenceNumber"].startswith('IN,["')


def test_a_completed_sale_is_counted_when_the_answer_confirms_its_total() -> None:
    # the doc's completed sale: total 34.48, payments 34.48, balance 0
    vendor = Vendor(
        [
            ("GET", f"{API}/Item.json", 200, "item.create.doc"),
            ("POST", f"{API}/Sale.json", 200, "sale.create.completed.doc"),
        ]
    )
    target = target_for(vendor, prices_include_tax=True)
    o = order([("12341234", "11.49", 1), ("12341234", "22.99", 1)])
    (result,) = target.create_orders([OrderWrite(o, "8", "FN-1001", None)])
    assert result == "277"
    (sent,) = vendor.bodies("POST", "Sale.json")
    assert sent["completed"] == "true" and sent["customerID"] == "8"
    assert sent["SalePayments"]["SalePayment"]["amount"] == "34.48"
    assert [
        (ln["itemID"], ln["unitQuantity"], ln["unitPrice"]) for ln in sent["SaleLines"]["SaleLine"]
    ] == [("47", "1", "11.49"), ("47", "1", "22.99")]


def test_a_sale_lightspeed_left_open_is_refused_archived_and_not_counted() -> None:
    # the recorded POST answer: completed "false", total 2.46, balance 2.46
    vendor = Vendor(
        [
            ("GET", f"{API}/Item.json", 200, "items.query.offset"),
            ("POST", f"{API}/Sale.json", 200, "sale.create"),
            ("PUT", f"{API}/Sale/121.json", 200, "sale.create"),
            ("DELETE", f"{API}/Sale/121.json", 200, "sale.delete.doc"),
        ]
    )
    target = target_for(vendor, prices_include_tax=True)
    (result,) = target.create_orders(
        [OrderWrite(order([("KS8247", "4.39", 1)]), "", "FN-1001", None)]
    )
    assert isinstance(result, FatalError)
    text = str(result)
    assert "saleID 121" in text and "completed false" in text
    assert "total 2.46" in text and "balance 2.46" in text and "completed sale of 4.39" in text
    assert "not counted as created" in text and "archived" in text
    (renamed,) = vendor.bodies("PUT", "Sale/121.json")
    assert renamed == {"referenceNumberSource": "shopbridge-unconfirmed"}
    assert [r.method for r in vendor.seen if r.url.path.endswith("Sale/121.json")] == [
        "PUT",
        "DELETE",
    ]


def test_sale_confirmation_reads_the_recorded_answers() -> None:
    done = recorded(SYSTEM, "sale.create.completed.doc")["Sale"]
    assert sale_confirmation(done, total=Decimal("34.48")) is None
    assert sale_confirmation(done, total=Decimal("34.47")) is None  # a cent of rounding
    assert sale_confirmation(done, total=Decimal("30.00")) == (
        "Lightspeed answered with total 34.48, calcTotal 34.48, not a completed sale of 30.00"
    )
    still_open = recorded(SYSTEM, "sale.create")["Sale"]
    assert sale_confirmation(still_open, total=Decimal("2.46")) == (
        "Lightspeed answered with completed false, balance 2.46, not a completed sale of 2.46"
    )
    # a sale's lines carry unrounded tax: 9.99 + 5 % + 9.975 % = 11.4860025
    lines = done["SaleLines"]["SaleLine"]
    assert [ln["calcTotal"] for ln in lines] == ["11.4860025", "22.995"]
    assert done["SalePayments"]["SalePayment"]["PaymentType"]["type"] == "cash"


# --- items ---------------------------------------------------------------------------------


def test_an_item_is_created_when_its_answer_echoes_the_sku() -> None:
    vendor = Vendor([("POST", f"{API}/Item.json", 200, "item.create.doc")])
    target = target_for(vendor)
    target.create_item(
        ItemWrite(
            code="12341234",
            fields={"description": 'Samsung 40 " tv', "price": "400", "msrp": "275"},
        )
    )
    (sent,) = vendor.bodies("POST", "Item.json")
    assert sent["customSku"] == "12341234"
    assert sent["Prices"] == {
        "ItemPrice": [{"amount": "400", "useType": "Default"}, {"amount": "275", "useType": "MSRP"}]
    }
    assert target.find_items(["12341234"]) == {"12341234"}  # remembered, no lookup
    assert len(vendor.seen) == 2  # the token, the POST


def test_an_item_answered_without_our_sku_is_refused_and_archived() -> None:
    # the recorded POST answer: itemID 429, customSku ""
    vendor = Vendor(
        [
            ("POST", f"{API}/Item.json", 200, "item.create"),
            ("DELETE", f"{API}/Item/429.json", 200, "item.create"),
        ]
    )
    target = target_for(vendor)
    with pytest.raises(FatalError) as err:
        target.create_item(ItemWrite(code="FN-ONESIE", fields={"description": "Onesie"}))
    assert "customSku '', not 'FN-ONESIE'" in str(err.value)
    assert "item 429 was archived" in str(err.value)
    assert target._items == {}  # nothing remembered as created


def test_an_item_lightspeed_refuses_names_the_item_and_the_vendors_reason() -> None:
    vendor = Vendor([("POST", f"{API}/Item.json", 400, "error.400")])
    with pytest.raises(FatalError) as err:
        target_for(vendor).create_item(ItemWrite(code="FN-1", fields={}))
    assert "refused item FN-1" in str(err.value)
    assert "Item not created. An Item must have a description." in str(err.value)


def test_item_confirmation_reads_the_recorded_answers() -> None:
    assert item_confirmation(recorded(SYSTEM, "item.create.doc")["Item"], sku="12341234") is None
    assert item_confirmation(recorded(SYSTEM, "item.create")["Item"], sku="X") == (
        "Lightspeed answered item 429 with customSku '', not 'X'"
    )
    assert item_confirmation({"customSku": "X"}, sku="X") == (
        "Lightspeed answered without an itemID"
    )


# --- stock ---------------------------------------------------------------------------------


def test_stock_reads_the_shop_row_not_the_total_and_writes_nothing_unchanged() -> None:
    vendor = Vendor([("GET", f"{API}/Item.json", 200, "items.query.offset")])
    target = target_for(vendor)
    target.set_stock("KS8247", Decimal(45), managed=True)  # shop 1 holds "45" already
    assert [r.method for r in vendor.seen] == ["POST", "GET"]  # token, lookup: no write


def test_a_stock_write_the_answer_does_not_confirm_is_refused() -> None:
    # the recorded PUT answer holds the ItemShops of item 430, qoh "0" in shop 1
    vendor = Vendor(
        [
            ("GET", f"{API}/Item.json", 200, "items.query.offset"),
            ("PUT", f"{API}/Item/417.json", 200, "item.update"),
        ]
    )
    with pytest.raises(FatalError) as err:
        target_for(vendor).set_stock("KS8247", Decimal(40), managed=True)
    assert "sent as 40 but Lightspeed answered qoh 0" in str(err.value)
    (sent,) = vendor.bodies("PUT", "Item/417.json")
    assert sent == {"ItemShops": {"ItemShop": {"itemShopID": "835", "qoh": "40"}}}


def test_shop_qoh_of_the_recorded_item_shops() -> None:
    item = recorded(SYSTEM, "item.detail")["Item"]
    assert shop_qoh(item, 1, sku="302683AB") == Decimal(1045)
    assert shop_qoh(item, 2, sku="302683AB") is None  # no row for shop 2
    created = recorded(SYSTEM, "item.create.doc")["Item"]
    assert [shop_qoh(created, n, sku="12341234") for n in (1, 2, 3)] == [0, 0, 0]
    # an answer with only the shop "0" row (the doc's ItemShop list): that is the figure
    rows = recorded(SYSTEM, "itemshops.list.next.doc")["ItemShop"]
    assert shop_qoh({"ItemShops": {"ItemShop": rows}}, 1, sku="141") == Decimal(33)
    with pytest.raises(RecordError) as err:
        shop_qoh({"ItemShops": {"ItemShop": {"shopID": "1", "qoh": ""}}}, 1, sku="S")
    assert err.value.field == "qoh"


# --- customers and categories ---------------------------------------------------------------


def test_a_customer_without_email_phone_or_address_is_written_with_empty_relations() -> None:
    vendor = Vendor([("POST", f"{API}/Customer.json", 200, "customer.create.doc")])
    customer = Customer(
        kind=CustomerKind.PERSON, first_name="Junior", last_name="Doe", customer_number="1001"
    )
    assert target_for(vendor).create_debtor(customer) == "11"
    (sent,) = vendor.bodies("POST", "Customer.json")
    assert sent["Contact"] == {"Emails": "", "Phones": "", "Addresses": ""}


def test_the_recorded_customer_without_email_matches_no_email() -> None:
    vendor = Vendor([("GET", f"{API}/Customer.json", 200, "customers.list.offset")])
    assert target_for(vendor).match_debtors(["cust@example.com"]) == {}


def test_categories_are_read_and_a_missing_one_created() -> None:
    vendor = Vendor(
        [
            ("GET", f"{API}/Category.json", 200, "categories.list.offset"),
            ("POST", f"{API}/Category.json", 200, "category.create"),
        ]
    )
    ids = target_for(vendor).ensure_categories([("Category One",), ("Brand new",)])
    assert ids[("Category One",)] == "2"  # recorded
    assert ids[("Brand new",)] == "11"  # the recorded create answer
    (sent,) = vendor.bodies("POST", "Category.json")
    assert sent == {"name": "Brand new", "parentID": "0"}


def test_a_refused_category_rename_names_the_category() -> None:
    vendor = Vendor(
        [
            ("GET", f"{API}/Category.json", 200, "categories.list.offset"),
            ("PUT", f"{API}/Category/2.json", 400, "error.400.category"),
        ]
    )
    with pytest.raises(FatalError) as err:
        target_for(vendor).ensure_categories([("CATEGORY ONE",)])
    assert "the rename of category CATEGORY ONE" in str(err.value)
    assert "name cannot be blank." in str(err.value)


def test_the_tax_mode_comes_from_the_recorded_shop() -> None:
    vendor = Vendor([("GET", f"{API}/Shop/1.json", 200, "shop.detail")])
    assert target_for(vendor).tax_mode() == (False, Decimal("0.09"))
