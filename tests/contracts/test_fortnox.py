"""Fortnox contract tests: responses recorded from the live API (tests/contracts/fortnox,
see SOURCES.md) served byte for byte by an ``httpx.MockTransport`` through the real
client and source, then translated and mapped under the ``fortnox__lightspeed_retail``
pair's own settings (:func:`tests.contracts.pipeline.map_records`).

What a bookkeeper checks is asserted by value: number, date, customer, each line's item
key, quantity, unit price and tax rate, shipping, currency and totals; for the error and
write answers, what the client makes of them. The recordings come from a test account
whose orders have totals of 0 beside priced rows: the pair quarantines those naming both
amounts, and one test shows the same order mapped once its total agrees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.fortnox.client import (
    FortnoxClient,
    RefreshTokenRejected,
    error_information,
    lastmodified,
)
from shopbridge.connectors.fortnox.source import FortnoxSource
from shopbridge.connectors.fortnox.translate import (
    CHANGED_BEFORE_KEY,
    CUSTOMER_KEY,
    TIMEZONE_KEY,
    country_code,
    order_from_fortnox,
    stock_from_fortnox,
)
from shopbridge.errors import AuthError, FatalError, RecordError, RetriableError
from shopbridge.models import CustomerKind
from tests.contracts.pipeline import map_records, pair
from tests.contracts.shape import recorded, recorded_bytes

SYSTEM = "fortnox"
PAIR = "fortnox__lightspeed_retail"
BASE = "https://api.fortnox.se"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
#: a window around the recordings (January 2023)
WINDOW = (datetime(2023, 1, 27, tzinfo=STOCKHOLM), datetime(2023, 1, 31, tzinfo=STOCKHOLM))

Reply = str | tuple[int, str] | bytes


def edited(name: str, change: Callable[[Any], None]) -> bytes:
    """A recorded body with one thing changed (to show a check pass or fail), re-serialised."""
    body = recorded(SYSTEM, name)
    change(body)
    return json.dumps(body).encode()


class Vendor:
    """Answers by method and path with recorded bodies (a list of replies is served in
    turn, the last one again); the token endpoint answers ``token.json``. Logs requests."""

    def __init__(self, routes: dict[str, Reply | list[Reply]]) -> None:
        self.routes = {"POST /oauth-v1/token": "token", **routes}
        self.requests: list[httpx.Request] = []
        self._served: dict[str, int] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = f"{request.method} {request.url.path}"
        reply = self.routes.get(key)
        if reply is None:
            return httpx.Response(404, content=recorded_bytes(SYSTEM, "error.404.order"))
        if isinstance(reply, list):
            n = self._served.get(key, 0)
            self._served[key] = n + 1
            reply = reply[min(n, len(reply) - 1)]
        status, body = reply if isinstance(reply, tuple) else (200, reply)
        content = body if isinstance(body, bytes) else recorded_bytes(SYSTEM, body)
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    def client(self, **kwargs: Any) -> FortnoxClient:
        return FortnoxClient(
            BASE,
            "contract-client",
            "contract-secret",
            "contract-refresh",
            http=httpx.Client(transport=httpx.MockTransport(self.handler)),
            policy=RetryPolicy(sleep=lambda _s: None),
            **kwargs,
        )

    def paths(self, prefix: str = "/3/") -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests if r.url.path.startswith(prefix)]


def embedded(
    order: dict[str, Any], customer: dict[str, Any] | None, read: str = "2024-01-22T16:00:00+00:00"
) -> dict[str, Any]:
    """An order record as :class:`FortnoxSource` embeds it (customer, zone, read time)."""
    return {
        **order,
        CUSTOMER_KEY: customer,
        TIMEZONE_KEY: "Europe/Stockholm",
        CHANGED_BEFORE_KEY: read,
    }


def quarantined(out: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {q["source_id"]: (q["field"], q["reason"]) for q in out["counts"]["quarantined"]}


# --- orders ------------------------------------------------------------------------------


def test_orders_are_read_through_the_list_the_detail_and_the_customer() -> None:
    vendor = Vendor(
        {
            # the "changed since the window's end" read first, then the window's list
            "GET /3/orders": ["orders.list.empty", "orders.list"],
            "GET /3/orders/1": "order.detail",
            "GET /3/orders/7": "order.create.negative_price",
            "GET /3/customers/1": "customer.detail",
        }
    )  # orders 2-6 answer the recorded 404 "Kan inte hitta ordern.": deleted meanwhile
    client = vendor.client()
    source = FortnoxSource(client)
    records = list(source.iter_order_records(*WINDOW))
    assert [r["DocumentNumber"] for r in records] == ["1", "7"]
    lists = [r.url.params["lastmodified"] for r in vendor.requests if r.url.path == "/3/orders"]
    assert lists == [lastmodified(WINDOW[1]), lastmodified(WINDOW[0])]
    assert vendor.paths().count("GET /3/customers/1") == 1  # one read per customer
    assert client.counter.calls == 2 + 7 + 1
    customer = recorded(SYSTEM, "customer.detail")["Customer"]
    assert all(r[CUSTOMER_KEY] == customer for r in records)
    assert records[0][CHANGED_BEFORE_KEY] == WINDOW[1].isoformat()

    out = map_records(PAIR, "orders", source, records)
    assert out["orders"] == [] and out["counts"]["orders_quarantined"] == 2
    bad = quarantined(out)
    assert bad["1"][0] == "OrderRows"  # "OrderRows": [] [V]: nothing to book
    field, reason = bad["7"]  # a row of -9,999,999,999.00, Fortnox's Total 0 [V]
    assert field == "total_incl" and "0.00" in reason and "-9999999999.00" in reason

    hammer = source.to_order(records[1])  # what the quarantine is about, by value
    line = hammer.lines[0]
    assert (hammer.number, hammer.currency, hammer.status) == ("7", "SEK", "open")
    assert (line.sku, line.description, line.quantity, line.unit_price_excl, line.tax_rate) == (
        "101",
        "Hammer",
        Decimal(1),
        Decimal(-9999999999),
        Decimal(0),
    )
    assert (hammer.total_excl, hammer.total_incl) == (Decimal(0), Decimal(0))


def test_a_recorded_order_with_rows_reads_as_a_bookkeeper_reads_it() -> None:
    vendor = Vendor(
        {"GET /3/orders/451": "order.create.rows", "GET /3/customers/1": "customer.detail"}
    )
    client = vendor.client()
    source = FortnoxSource(client)
    raw = client.get_order("451")
    record = embedded(raw, client.get_customer(str(raw["CustomerNumber"])))
    order = source.to_order(record)

    assert (order.ref.system, order.ref.id, order.number) == ("fortnox", "451", "451")
    assert order.created_at == datetime(2024, 1, 22, tzinfo=STOCKHOLM)
    # DeliveryState "delivery", WarehouseReady true, DeliveredQuantity "0" on a new order [V]
    assert (raw["DeliveryState"], raw["WarehouseReady"]) == ("delivery", True)
    assert order.status == "open"
    assert (order.currency, order.payment_method, order.shipping_method) == ("SEK", "0", "")
    c = order.customer  # "Email": "", "CountryCode": null, "Address1": null [V]
    assert (c.kind, c.company_name, c.email, c.customer_number, c.phone) == (
        CustomerKind.COMPANY,
        "Updated name",
        "",
        "1",
        "",
    )
    b = c.billing_address  # the order's own address: "", "10001", "New York", "" [V]
    assert (b.street, b.house_number, b.postcode, b.city, b.country) == (
        "",
        "",
        "10001",
        "New York",
        "",
    )
    assert order.shipping_address == b
    line = order.lines[0]  # "OrderedQuantity": "1" (a string), "Price": 10, "VAT": 0 [V]
    assert (line.sku, line.article_code, line.ean, line.description) == (
        "0000",
        "",
        "",
        "Testartikel",
    )
    assert (line.quantity, line.unit_price_excl, line.unit_price_incl, line.tax_rate) == (
        Decimal(1),
        Decimal(10),
        Decimal(10),
        Decimal(0),
    )
    assert (line.discount_excl, line.discount_incl) == (Decimal(0), Decimal(0))
    assert (order.shipping_cost_excl, order.shipping_cost_incl) == (Decimal(0), Decimal(0))
    # Fortnox's own totals, passed through though they disagree with the row [V]
    assert (order.total_excl, order.total_incl) == (Decimal(0), Decimal(0))

    out = map_records(PAIR, "orders", source, [record])
    field, reason = quarantined(out)["451"]
    assert field == "total_incl" and "0.00" in reason and "10.00" in reason


def test_the_same_order_maps_once_its_total_agrees() -> None:
    vendor = Vendor(
        {
            "GET /3/orders/451": edited("order.create.rows", lambda b: b["Order"].update(Total=10)),
            "GET /3/customers/1": "customer.detail",
        }
    )
    client = vendor.client()
    source = FortnoxSource(client)
    raw = client.get_order("451")
    out = map_records(PAIR, "orders", source, [embedded(raw, client.get_customer("1"))])
    cfg = pair(PAIR)
    assert cfg.default_country == "SE"  # the shop's home country fills the missing one
    assert out["counts"]["orders_quarantined"] == 0
    assert out["counts"]["countries_defaulted"] == 1
    (order,) = out["orders"]
    assert order["customer"]["billing_address"]["country"] == cfg.default_country
    assert order["customer"]["customer_number"] == "1" and order["customer"]["email"] == ""
    assert out["mapped"]["451"]["lines"] == [{"customSku": "0000", "unitQuantity": "1.0000"}]


def test_quantities_with_two_decimals_as_recorded_in_2020() -> None:
    order = recorded(SYSTEM, "order.create.rows_2020")["Order"]
    row = order["OrderRows"][0]
    assert (row["OrderedQuantity"], row["DeliveredQuantity"], row["ContributionPercent"]) == (
        "1.00",
        "0.00",
        0,
    )
    customer = recorded(SYSTEM, "customer.detail.country_se")["Customer"]
    got = order_from_fortnox(embedded(order, customer))
    assert (got.number, got.created_at.date().isoformat()) == ("380", "2020-12-21")
    assert (got.lines[0].sku, got.lines[0].quantity, got.lines[0].unit_price_excl) == (
        "0000",
        Decimal(1),
        Decimal(10),
    )
    # the order has no address of its own (all ""), so the customer's: null street, zip
    # code and city, "CountryCode": "SE" [V]
    b = got.customer.billing_address
    assert (b.street, b.city, b.postcode, b.country) == ("", "", "", "SE")
    assert got.shipping_address == b
    assert got.customer.customer_number == "8"
    # 2020 sent "InvoiceReference": 0 and "TermsOfPayment": 0 as numbers: still not invoiced
    assert (order["InvoiceReference"], order["TermsOfPayment"]) == (0, 0)
    assert (got.status, got.payment_method) == ("open", "0")


def test_an_order_whose_customer_fortnox_no_longer_has_is_quarantined() -> None:
    vendor = Vendor(
        {
            "GET /3/orders": ["orders.list.empty", "orders.list"],
            "GET /3/orders/7": "order.create.negative_price",
            "GET /3/customers/1": (404, "error.404.customer"),
        }
    )
    source = FortnoxSource(vendor.client())
    (record,) = list(source.iter_order_records(*WINDOW))
    assert record[CUSTOMER_KEY] is None
    with pytest.raises(RecordError) as exc:
        source.to_order(record)
    assert (exc.value.source_id, exc.value.field) == ("7", "CustomerNumber")


def test_the_recorded_order_list_rows_and_the_cancelled_filter() -> None:
    rows = recorded(SYSTEM, "orders.list")["Orders"]
    assert [r["DocumentNumber"] for r in rows] == [str(n) for n in range(1, 8)]
    assert "OrderRows" not in rows[0] and rows[0]["DeliveryDate"] is None
    vendor = Vendor({"GET /3/orders": "orders.list.cancelled"})
    cancelled = list(vendor.client().find_orders(filter="cancelled"))
    assert [(r["DocumentNumber"], r["Cancelled"]) for r in cancelled] == [("3", True), ("4", True)]


# --- products and stock ------------------------------------------------------------------


def test_articles_without_a_sales_price_are_quarantined_naming_it() -> None:
    vendor = Vendor(
        {
            "GET /3/articles": ["articles.list.empty", "articles.list"],
            "GET /3/articles/1": "article.detail",
            "GET /3/articles/102": "article.update",
            "GET /3/articles/2": (404, "error.404.article"),
        }
    )
    client = vendor.client()
    source = FortnoxSource(client, currency="SEK")
    records = list(source.iter_product_records(*WINDOW))
    assert [r["ArticleNumber"] for r in records] == ["1", "102"]  # the rest: 404, skipped
    assert client.counter.calls == 2 + 6
    out = map_records(PAIR, "products", source, records)
    assert out["counts"]["products_quarantined"] == 2
    for field, reason in quarantined(out).values():  # "SalesPrice": null [V]
        assert field == "SalesPrice" and "price list" in reason


def test_an_article_with_a_price_maps_to_a_till_item() -> None:
    vendor = Vendor(
        {
            "GET /3/articles/1": edited(
                "article.detail", lambda b: b["Article"].update(SalesPrice=100)
            )
        }
    )
    client = vendor.client()
    source = FortnoxSource(client, currency="SEK")
    record = {**client.get_article("1"), CHANGED_BEFORE_KEY: "2023-01-30T12:00:00+00:00"}
    product = source.to_product(record)
    v = product.variants[0]
    assert (product.sku, product.ean, product.title, product.brand, product.currency) == (
        "1",
        "5901234123457",
        "Test article",
        "",
        "SEK",
    )
    assert (v.sku, v.ean, v.price_excl, v.price_incl, v.quantity) == (
        "1",
        "5901234123457",
        Decimal(100),
        Decimal(100),
        None,
    )  # VAT 0, no stock goods
    assert product.tax_rate == Decimal(0) and product.visible is False  # WebshopArticle false
    out = map_records(PAIR, "products", source, [record])
    assert out["counts"]["products_quarantined"] == 0
    (item,) = out["products"][0]["items"]
    assert item["code"] == "1" and item["fields"] == {
        "description": "Test article",
        "customSku": "1",
        "ean": "5901234123457",
        "price": "100.0000",
        "defaultCost": 0,
    }  # the detail's "PurchasePrice": 0 [V]


def test_stock_from_the_recorded_article_list() -> None:
    vendor = Vendor(
        {
            "GET /3/articles": "articles.list",
            "GET /3/articles/1": "article.detail",
            "GET /3/articles/102": "article.update",
        }
    )
    client = vendor.client()
    source = FortnoxSource(client)
    # list rows carry no StockGoods [V]: one detail each; none of these is a stock article
    assert list(source.iter_stock_records()) == []
    assert client.counter.calls == 1 + 6
    rows = recorded(SYSTEM, "articles.list")["Articles"]
    assert rows[0]["QuantityInStock"] == "0" and rows[0]["SalesPrice"] is None
    levels = [stock_from_fortnox(r) for r in rows]  # strings for quantities [V]
    assert [(lv.sku, lv.ean, lv.on_hand, lv.reserved) for lv in levels[:2]] == [
        ("1", "5901234123457", Decimal(0), Decimal(0)),
        ("2", "", Decimal(0), Decimal(0)),
    ]
    out = map_records(PAIR, "stock", source, rows)
    assert out["counts"]["stock_quarantined"] == 0
    assert [(lv["sku"], lv["quantity"]) for lv in out["levels"]][:1] == [("1", "0")]
    stocked = recorded(SYSTEM, "article.detail.stock")["Article"]  # 1.12 as a number [V]
    level = stock_from_fortnox(stocked)
    assert (level.sku, level.on_hand, level.managed) == ("109", Decimal("1.12"), False)


# --- paging ------------------------------------------------------------------------------


def test_paging_follows_meta_information_and_an_empty_list_has_no_pages() -> None:
    vendor = Vendor({"GET /3/orders": "orders.list.empty"})
    client = vendor.client()
    assert list(client.find_orders()) == []  # "@TotalPages": 0, "@CurrentPage": 1 [V]
    assert client.counter.calls == 1
    vendor = Vendor({"GET /3/orders": "orders.list"})
    client = vendor.client(page_size=7)
    assert len(list(client.find_orders())) == 7 and client.counter.calls == 1


def test_a_page_count_that_disagrees_with_the_rows_fails_loudly() -> None:
    # the recorded answer (7 rows, 1 page) to a client that asked for 5 a page
    vendor = Vendor({"GET /3/orders": "orders.list"})
    with pytest.raises(FatalError, match=r"GET /3/orders page 1: .* 7 rows in 1 pages"):
        list(vendor.client(page_size=5).find_orders())
    # a page with fewer rows than its MetaInformation promises: rows would be skipped
    short = edited("orders.list", lambda b: b["Orders"].pop())
    vendor = Vendor({"GET /3/orders": short})
    with pytest.raises(FatalError, match="page 1 of 1: 6 rows, but MetaInformation promises 7"):
        list(vendor.client().find_orders())


# --- errors and auth ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("error.404.order", "2000439", "Kan inte hitta ordern."),
        ("error.404.customer", "2000433", "Kan inte hitta kunden."),
        ("error.404.article", "2000428", "Kan inte hitta artikeln."),
        ("error.400.filter", "2000587", "Ett ogiltigt filter har använts."),  # lower-case keys
        ("error.401", "", "unauthorized"),
    ],
)
def test_error_bodies_in_either_casing(name: str, code: str, message: str) -> None:
    assert error_information(recorded(SYSTEM, name)) == (code, message)


def test_the_client_raises_the_vendors_own_message() -> None:
    vendor = Vendor(
        {
            "GET /3/orders/123456789": (404, "error.404.order"),
            "GET /3/orders": (400, "error.400.filter"),
            "GET /3/articles/123456789": (404, "error.404.article"),
        }
    )
    client = vendor.client()
    with pytest.raises(FatalError, match="Fortnox 2000439: Kan inte hitta ordern") as exc:
        client.get_order("123456789")
    assert not isinstance(exc.value, AuthError) and exc.value.response is not None
    with pytest.raises(FatalError, match="Fortnox 2000587: Ett ogiltigt filter har använts"):
        list(client.find_orders(filter="doesntexist"))
    with pytest.raises(FatalError, match="Kan inte hitta artikeln"):
        client.get_article("123456789")
    assert client.counter.calls == 3  # a 4xx is not retried


def test_token_answer_and_its_refusals() -> None:
    vendor = Vendor({"GET /3/orders": "orders.list"})
    client = vendor.client()
    assert client.probe() == 7  # "@TotalResources" of the recorded list
    assert client.refresh_token == "<REFRESH_TOKEN>"  # rotated: the answer's token is kept
    token = vendor.requests[0]
    assert token.url == httpx.URL("https://apps.fortnox.se/oauth-v1/token")
    assert vendor.requests[1].headers["Authorization"] == "Bearer <ACCESS_TOKEN>"
    with pytest.raises(RefreshTokenRejected, match="Invalid refresh token"):
        Vendor({"POST /oauth-v1/token": (400, "token.error.invalid_grant")}).client().probe()
    with pytest.raises(AuthError, match=r"client id/secret.*The client credentials are invalid"):
        Vendor({"POST /oauth-v1/token": (401, "token.error.invalid_client")}).client().probe()


def test_a_401_is_refreshed_once_then_an_auth_error_naming_it() -> None:
    vendor = Vendor({"GET /3/customers/1": ["customer.detail", (401, "error.401")]})
    client = vendor.client()
    assert client.get_customer("1")["CustomerNumber"] == "1"
    with pytest.raises(AuthError, match="Fortnox unauthorized"):  # the token went stale
        client.get_customer("1")
    assert client.token_requests == 2 and vendor.paths() == ["GET /3/customers/1"] * 3


# --- the write answer --------------------------------------------------------------------


def test_a_write_back_counts_only_when_the_answer_holds_it() -> None:
    vendor = Vendor({"PUT /3/orders/6": "order.update", "PUT /3/orders/5": "order.update"})
    source = FortnoxSource(vendor.client())
    source.confirm_order("6", {"Comments": "Updated comments"})  # what the answer holds [V]
    sent = json.loads(vendor.requests[-1].content)
    assert sent == {"Order": {"Comments": "Updated comments"}}
    with pytest.raises(RetriableError, match="YourOrderNumber=''"):
        source.confirm_order("6", {"YourOrderNumber": "SO-1"})  # answered "" [V]
    with pytest.raises(RetriableError, match="answered order 6"):
        source.confirm_order("5", {"Comments": "Updated comments"})


# --- countries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "value", "code"),
    [
        ("invoice.create.country_norge", "Invoice", "Norway", "NO"),  # sent "Norge"
        ("invoice.create.country_gb", "Invoice", "United Kingdom", "GB"),  # sent "GB"
        ("customer.detail.country_se", "Customer", "Sverige", "SE"),
    ],
)
def test_fortnox_country_names_as_stored(name: str, key: str, value: str, code: str) -> None:
    document = recorded(SYSTEM, name)[key]
    assert document["Country"] == value
    assert country_code(document["Country"]) == code
