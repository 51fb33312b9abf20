"""CCV Shop / SalesPOS contract tests: the payloads of tests/contracts/ccv_salespos served
byte for byte (signed, as CCV signs every answer) by an ``httpx.MockTransport`` through
the real client, source and target, then the pair's validate-and-map.

SOURCES.md says which payloads are recordings from a live shop (an order, an order row,
three webhooks), which are composed from them (the list envelopes, the ``POST orders``
answer) and which are schema or doc examples (products, combinations, categories, the
shop's settings, error bodies: nothing public records those).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors._kit.pages import PageMismatch
from shopbridge.connectors.base import CallCounter, OrderWrite
from shopbridge.connectors.ccv_salespos._signing import DATE_HEADER, HASH_HEADER, sign, stamp
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient, uri_of
from shopbridge.connectors.ccv_salespos.source import CcvSalesposSource
from shopbridge.connectors.ccv_salespos.target import CcvSalesposTarget
from shopbridge.connectors.ccv_salespos.translate import expected_total
from shopbridge.errors import ConfigError, FatalError, RetriableError
from shopbridge.flows import products as products_flow
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from tests.contracts.pipeline import map_records, pair
from tests.contracts.shape import recorded, recorded_bytes

SYSTEM = "ccv_salespos"
PAIR = "lightspeed_ecom__ccv_salespos"
BASE = "https://voorbeeld.ccvshop.nl"
PUBLIC, SECRET = "contract-public", "contract-secret"
WINDOW = (datetime(2022, 11, 1, tzinfo=UTC), datetime(2022, 12, 1, tzinfo=UTC))

Reply = bytes | tuple[int, bytes]


def served(name: str) -> bytes:
    return recorded_bytes(SYSTEM, name)


def edited(name: str, change: Callable[[Any], None]) -> bytes:
    """A recorded body with one thing changed (to provoke a check), re-serialised."""
    body = recorded(SYSTEM, name)
    change(body)
    return json.dumps(body).encode()


class Vendor:
    """Answers by method and path (``GET products`` page 2 by its ``start``), signing each
    body with the shop's secret the way CCV does; logs every request."""

    def __init__(self, routes: dict[str, Reply | list[Reply]]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path.removeprefix("/api/rest/v1/")
        start = request.url.params.get("start", "0")
        key = f"{request.method} {path}" + (f"@{start}" if start != "0" else "")
        reply = self.routes.get(key, self.routes.get(f"{request.method} {path}"))
        assert reply is not None, f"unexpected {key}"
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        status, content = reply if isinstance(reply, tuple) else (200, reply)
        date = stamp(datetime.now(UTC))
        return httpx.Response(
            status,
            content=content,
            headers={
                "content-type": "application/json",
                DATE_HEADER: date,
                HASH_HEADER: sign(
                    SECRET, PUBLIC, request.method, uri_of(request.url), content, date
                ),
            },
        )

    def posted(self) -> list[Any]:
        return [json.loads(r.content) for r in self.seen if r.method == "POST"]


def client_for(
    vendor: Vendor, *, page_size: int = 2, sleeps: list[float] | None = None
) -> CcvSalesposClient:
    sleeps = sleeps if sleeps is not None else []
    return CcvSalesposClient(
        BASE,
        PUBLIC,
        SECRET,
        http=httpx.Client(transport=httpx.MockTransport(vendor)),
        policy=RetryPolicy(sleep=sleeps.append),
        counter=CallCounter(),
        page_size=page_size,
    )


CATALOGUE: dict[str, Reply | list[Reply]] = {
    "GET webshops": served("webshops.list"),
    "GET webshops/1/settings": served("webshop.settings"),
    "GET products": served("products.list"),
    "GET products@2": served("products.list.page2"),
    "GET categories": served("categories.list"),
}


# --- products and stock (CCV is the source) --------------------------------------------


def test_products_through_source_and_the_pairs_mapping() -> None:
    vendor = Vendor(dict(CATALOGUE))
    source = CcvSalesposSource(client_for(vendor))
    records = list(source.iter_product_records(*WINDOW))
    # two product pages by the envelope's next link, the shop's settings once, categories
    assert [f"{r.method} {r.url.path.rsplit('/v1/', 1)[1]}" for r in vendor.seen] == [
        "GET products",
        "GET categories",
        "GET webshops",
        "GET webshops/1/settings",
        "GET products",
    ]
    assert vendor.seen[-1].url.params["start"] == "2"
    assert [r["id"] for r in records] == [845754960, 845754961, 845754962]

    phone = source.to_product(records[0])
    # productnumber "" and an EAN: the EAN is the only key, in its own field
    assert (phone.sku, phone.article_code, phone.ean) == ("", "", "8712345000004")
    variant = phone.variants[0]
    # the shop's prices include VAT: price 595 - discount 10 is the price incl.
    assert (variant.price_incl, variant.price_excl) == (Decimal("585"), Decimal("483.47"))
    assert phone.currency == "EUR" and phone.tax_rate == Decimal("0.21")
    assert variant.quantity is None  # stockenabled null: no stock kept
    assert phone.description == "" and phone.brand == ""  # description and brand null

    tee = source.to_product(records[1])
    assert tee.configurable and tee.article_code == "TEE" and tee.brand == "Basics"
    assert [(v.sku, v.article_code, v.ean) for v in tee.variants] == [
        ("TEE-ZW-M", "TEE-ZW-M", "8712345000011"),
        ("", "TEE-ZW-XL", "8712345000028"),
    ]  # 903 is inactive: not a variant
    assert [v.attributes for v in tee.variants] == [
        {"Kleur": "Zwart", "Maat": "M"},
        {"Kleur": "Zwart", "Maat": "XL"},
    ]
    assert [(v.price_incl, v.price_excl) for v in tee.variants] == [
        (Decimal("19.95"), Decimal("16.49")),
        (Decimal("22.45"), Decimal("18.55")),
    ]
    assert [v.quantity for v in tee.variants] == [Decimal(4), Decimal(0)]
    assert [c.path for c in tee.categories] == [("Kleding", "Shirts")]

    book = source.to_product(records[2])
    assert book.tax_rate == Decimal("0.09") and book.variants[0].quantity == Decimal(12)

    mapped = map_records(PAIR, "products", source, records)
    # the shipped pair maps the till's attributes Colour and Size; a Dutch shop's "Kleur"
    # is set aside naming it, not sent under a guessed option
    assert mapped["counts"]["quarantined"] == [
        {
            "entity": "product",
            "source_id": "845754961",
            "field": "variants[0].attributes.Kleur",
            "reason": "attribute 'Kleur' has no mapping (add it under products.attributes: "
            "{Kleur: <target field>})",
        }
    ]
    by_id = {p["source_id"]: p for p in mapped["products"]}
    # the pair's item_key rule [sku, article_code, ean] picks each item's code
    assert by_id["845754960"]["sku"] == "8712345000004"
    assert by_id["845754960"]["categories"] == [["Telefoons"]]
    assert by_id["845754962"]["sku"] == "BOEK-01"
    assert by_id["845754962"]["eans"] == {"BOEK-01": "9789000000001"}

    cfg = pair(PAIR)
    products = cfg.flows["products"].products
    assert products is not None
    dutch = products.model_copy(update={"attributes": {"Kleur": "Colour", "Maat": "Size"}})
    mapped = products_flow.validate_and_map(
        source, records[1:2], dutch, cfg.mapper("products"), cfg.rules
    )
    [tee_items] = mapped["products"]
    assert tee_items["sku"] == "TEE"
    assert [i["code"] for i in tee_items["items"]] == ["TEE", "TEE-ZW-M", "TEE-ZW-XL"]
    assert tee_items["eans"] == {"TEE-ZW-M": "8712345000011", "TEE-ZW-XL": "8712345000028"}
    assert tee_items["categories"] == [["Kleding", "Shirts"]]


def test_stock_through_source_and_the_pairs_settings() -> None:
    vendor = Vendor(dict(CATALOGUE))
    source = CcvSalesposSource(client_for(vendor))
    records = list(source.iter_stock_records())
    assert len(vendor.seen) == 2  # two pages; stock needs neither settings nor categories
    levels = {lv.ean or lv.sku: lv for lv in map(source.to_stock, records)}
    assert levels["8712345000004"].managed is False  # stockenabled null
    assert levels["8712345000004"].on_hand == 0  # stock null on a product keeping none

    mapped = map_records(PAIR, "stock", source, records)
    assert mapped["counts"]["quarantined"] == []
    got = {lv["sku"]: (lv["quantity"], lv["managed"]) for lv in mapped["levels"]}
    assert got == {
        "8712345000004": ("0", False),
        "TEE-ZW-M": ("4", True),
        "TEE-ZW-XL": ("0", True),  # sku_number "": the article code is the key
        "BOEK-01": ("12", True),
    }  # the inactive combination TEE-WI-M reports nothing


def test_products_without_the_shops_currency_are_not_priced_in_a_guess() -> None:
    routes = dict(CATALOGUE)
    routes["GET webshops/1/settings"] = edited(
        "webshop.settings", lambda b: b.update(currency=None)
    )
    source = CcvSalesposSource(client_for(Vendor(routes)))
    with pytest.raises(ConfigError, match="no currency setting"):
        list(source.iter_product_records(*WINDOW))
    other = CcvSalesposSource(client_for(Vendor(routes)), currency="SEK")
    assert {
        source_product.currency
        for source_product in map(other.to_product, other.iter_product_records(*WINDOW))
    } == {"SEK"}


def test_a_page_that_disagrees_with_the_rows_read_fails_loudly() -> None:
    routes = dict(CATALOGUE)
    routes["GET products@2"] = edited("products.list.page2", lambda b: b.update(start=3))
    source = CcvSalesposSource(client_for(Vendor(routes)))
    with pytest.raises(PageMismatch, match="starts at row 3 but 2 rows were read"):
        list(source.iter_stock_records())
    routes["GET products"] = edited("products.list", lambda b: b["items"].pop())
    source = CcvSalesposSource(client_for(Vendor(routes)))
    with pytest.raises(PageMismatch, match="1 rows on a page of size 2 that names a next"):
        list(source.iter_stock_records())


# --- orders (CCV is the target) ---------------------------------------------------------


def test_the_recorded_order_and_row_read_as_ccv_means_them() -> None:
    vendor = Vendor(
        {
            "GET orders": served("orders.list"),
            "GET orders/339493812/orderrows": served("orderrows.list"),
        }
    )
    client = client_for(vendor, page_size=25)
    [order] = client.iter_orders(min_create_date=WINDOW[0])
    assert order["reservationnumber"] == "" and order["transaction_id"] is None
    assert order["orderrows"] == {
        "href": "https://voorbeeld.ccvshop.nl/api/rest/v1/orders/339323562/orderrows/"
    }  # a link, not the rows
    assert list(order["customer"]["deliveryaddress"]).count("first_name") == 0
    assert order["customer"]["deliveryaddress"]["country_code"] is None
    # ours is not on it (reservationnumber ""): nothing is matched to it
    target = CcvSalesposTarget(client, utcnow=lambda: WINDOW[1])
    assert target.find_orders(["339323562", "1"]) == {}

    [row] = client.order_rows(339493812)
    assert (row["product_number"], row["sub_sku_number"], row["sub_ean_number"]) == ("", "", "")
    assert (row["count"], row["price"], row["discount"], row["total_price"]) == (1, 595, 10, 585)
    assert (row["price_without_discount"], row["selling_price"]) == (595, 585)
    # price is before the discount, total_price after it (at count 1: whether the discount
    # is per unit or per row is not settled by the recording)
    assert expected_total({"order_row_taxes_included": True, "orderrows": [row]}) == 585


def test_an_answer_without_items_is_the_one_resource_it_is() -> None:
    client = client_for(Vendor({"GET orders": served("order.detail")}))
    assert [o["id"] for o in client.iter_orders()] == [339323562]


def order(number: str = "ORD30001", sku: str = "TEE-ZW-M") -> Order:
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    line = OrderLine(
        sku=sku,
        description="T-shirt zwart M",
        quantity=Decimal(2),
        unit_price_excl=Decimal("10.00"),
        unit_price_incl=Decimal("12.10"),
        tax_rate=Decimal("0.21"),
        discount_excl=Decimal("1.00"),
        discount_incl=Decimal("1.21"),
    )
    buyer = Customer(
        kind=CustomerKind.PERSON, customer_number="C-77", first_name="Jan", last_name="Jansen"
    )  # no e-mail, no address
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id="30001"),
        number=number,
        status="processing_awaiting_shipment",
        payment_status="paid",
        created_at=when,
        updated_at=when,
        currency="EUR",
        customer=buyer,
        shipping_address=Address(),
        lines=(line,),
        total_excl=Decimal("19.00"),
        total_incl=Decimal("22.99"),
    )


def write(o: Order) -> OrderWrite:
    return OrderWrite(o, "C-77", o.number)


def target_with(
    post: Reply | list[Reply], sleeps: list[float] | None = None
) -> tuple[CcvSalesposTarget, Vendor]:
    vendor = Vendor(
        {
            "GET products": served("products.list"),
            "GET products@2": served("products.list.page2"),
            "POST orders": post,
        }
    )
    return CcvSalesposTarget(client_for(vendor, sleeps=sleeps)), vendor


def test_a_created_order_counts_only_when_ccvs_answer_confirms_it() -> None:
    target, vendor = target_with((201, served("order.created")))
    assert target.find_items(
        ["TEE-ZW-M", "TEE-ZW-XL", "8712345000004", "BOEK-01", "TEE-WI-M", "NOPE"]
    ) == {"TEE-ZW-M", "TEE-ZW-XL", "8712345000004", "BOEK-01", "TEE-WI-M"}
    assert target.create_orders([write(order())]) == ["340400001"]
    [sent] = vendor.posted()
    assert sent["reservationnumber"] == "ORD30001" and sent["currency"] == "EUR"
    [row] = sent["orderrows"]
    assert (row["product_id"], row["attribute_combination_id"]) == (845754961, 901)
    assert (row["count"], row["price"], row["discount"], row["tax"]) == (2, 10, 1, 21)
    customer = sent["customer"]
    assert "email" not in customer  # the source has none
    assert customer["billingaddress"]["country_code"] is None
    assert customer["deliveryaddress"]["full_name"] == "Jan Jansen"
    assert "first_name" not in customer["deliveryaddress"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda b: b.update(total_price=24.2),
            "CCV created order 340400001 for ORD30001 with total_price 24.2 where the rows sent "
            "make 22.99",
        ),
        (lambda b: b.update(reservationnumber=""), "its reservationnumber is None, not 'ORD30001'"),
        (lambda b: b.update(ordernumber=None), "its answer has no ordernumber"),
    ],
)
def test_an_answer_that_disagrees_is_refused_naming_ccvs_order(
    change: Callable[[Any], None], message: str
) -> None:
    target, _ = target_with((201, edited("order.created", change)))
    [result] = target.create_orders([write(order())])
    assert isinstance(result, FatalError) and message in str(result)


def test_an_empty_answer_is_not_counted_but_looked_up_again() -> None:
    target, _ = target_with((201, b""))
    with pytest.raises(RetriableError, match="carries no order id"):
        target.create_orders([write(order())])


def test_error_bodies_name_ccvs_code_and_message() -> None:
    sleeps: list[float] = []
    target, vendor = target_with(
        [(429, served("error.429")), (201, served("order.created"))], sleeps
    )
    assert target.create_orders([write(order())]) == ["340400001"]  # 429: sent again
    assert len(vendor.posted()) == 2 and len(sleeps) == 1
    for name, status, code in [
        ("error.405", 405, "405.10"),
        ("error.500_80", 500, "500.80"),
        ("error.404", 404, "404.20"),
    ]:
        target, vendor = target_with((status, served(name)))
        [result] = target.create_orders([write(order())])
        assert isinstance(result, FatalError)
        assert f"CCV refused order ORD30001: POST /api/rest/v1/orders -> {status} {code}" in (
            str(result)
        )
        assert recorded(SYSTEM, name)["developermessage"] in str(result)
        assert len(vendor.posted()) == 1  # never sent twice
    target, vendor = target_with([(429, served("error.429_total"))] * 9, sleeps)
    with pytest.raises(RetriableError, match=r"429\.11"):
        target.create_orders([write(order())])
