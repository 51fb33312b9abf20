"""Pure Fortnox helpers: translation, paging, pacing and filter formats (STYLE R12)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shopbridge.connectors._kit.addresses import split_street
from shopbridge.connectors._kit.pacing import SlidingWindow
from shopbridge.connectors._kit.pages import MetaPages, Page
from shopbridge.connectors.fortnox.client import lastmodified, token_url
from shopbridge.connectors.fortnox.translate import (
    country_code,
    order_from_fortnox,
    product_from_fortnox,
    stock_from_fortnox,
)
from shopbridge.errors import FatalError, PaginationLoop, RecordError
from shopbridge.models import CustomerKind

STHLM = ZoneInfo("Europe/Stockholm")
READ = "2026-11-20T12:00:00+00:00"

COMPANY = {
    "CustomerNumber": "7",
    "Type": "COMPANY",
    "Name": "Koffiebar Jansen",
    "Email": "Anna.Jansen@Example.nl",
    "YourReference": "Anna Jansen",
    "VATNumber": "NL123B01",
    "Phone1": "+31 20 1234567",
    "Address1": "Kerkstraat 12A",
    "ZipCode": "1012 AB",
    "City": "Amsterdam",
    "CountryCode": "NL",
    "Country": "Nederländerna",
}
PERSON = {
    "CustomerNumber": "8",
    "Type": "PRIVATE",
    "Name": "Sven Erik Svensson",
    "Email": "sven@example.se",
    "Phone1": "",
    "Phone2": "070-1234567",
    "Address1": "Storgatan 5",
    "ZipCode": "111 22",
    "City": "Stockholm",
    "CountryCode": "SE",
}


def order(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "DocumentNumber": "42",
        "CustomerNumber": "7",
        "OrderDate": "2026-11-18",
        "Currency": "EUR",
        "VATIncluded": False,
        "Cancelled": False,
        "InvoiceReference": "0",
        "DeliveryState": "registration",
        "Freight": 10,
        "FreightVAT": 2.5,
        "WayOfDelivery": "DHL",
        "TermsOfPayment": "30",
        "DeliveryAddress1": "Rue de la Paix 3 bis",
        "DeliveryZipCode": "69001",
        "DeliveryCity": "Lyon",
        "DeliveryCountry": "Frankrike",
        "OrderRows": [
            {
                "ArticleNumber": "A-1",
                "Description": "Mug",
                "OrderedQuantity": 2,
                "Price": 100,
                "VAT": 25,
                "Discount": 10,
                "DiscountType": "PERCENT",
            },
            {
                "ArticleNumber": "",
                "Description": "Gift wrap, please",
                "OrderedQuantity": 0,
                "Price": 0,
                "VAT": 0,
            },
            {
                "ArticleNumber": "B-2",
                "Description": "Pen",
                "OrderedQuantity": 1,
                "Price": 50,
                "VAT": 12,
                "Discount": 5,
                "DiscountType": "AMOUNT",
            },
        ],
        "Net": 225,
        "TotalVAT": 52.9,
        "Total": 287.9,
        "Customer": copy.deepcopy(COMPANY),
        "@Timezone": "Europe/Stockholm",
        "@ChangedBefore": READ,
    }
    base.update(over)
    return base


def test_company_order() -> None:
    o = order_from_fortnox(order())
    assert (o.ref.system, o.ref.id, o.number, o.status) == ("fortnox", "42", "42", "open")
    assert o.created_at == datetime(2026, 11, 18, tzinfo=STHLM)
    assert o.updated_at == datetime.fromisoformat(READ)
    c = o.customer
    assert (c.kind, c.company_name, c.first_name, c.last_name) == (
        CustomerKind.COMPANY,
        "Koffiebar Jansen",
        "Anna",
        "Jansen",
    )
    assert (c.email, c.vat_number, c.phone) == (
        "anna.jansen@example.nl",
        "NL123B01",
        "+31 20 1234567",
    )
    b = c.billing_address
    assert (b.street, b.house_number, b.house_number_ext, b.country) == (
        "Kerkstraat",
        "12",
        "A",
        "NL",
    )
    s = o.shipping_address
    assert (s.street, s.house_number, s.house_number_ext, s.city, s.country) == (
        "Rue de la Paix",
        "3",
        "bis",
        "Lyon",
        "FR",
    )
    assert len(o.lines) == 2  # the text row is a comment
    mug, pen = o.lines
    assert (mug.sku, mug.quantity, mug.unit_price_excl, mug.unit_price_incl, mug.tax_rate) == (
        "A-1",
        Decimal(2),
        Decimal(100),
        Decimal(125),
        Decimal("0.25"),
    )
    assert (mug.discount_excl, mug.discount_incl) == (Decimal(20), Decimal(25))
    assert (pen.discount_excl, pen.discount_incl, pen.tax_rate) == (
        Decimal(5),
        Decimal("5.6"),
        Decimal("0.12"),
    )
    assert (o.shipping_cost_excl, o.shipping_cost_incl) == (Decimal(10), Decimal("12.5"))
    assert (o.total_excl, o.total_incl) == (Decimal(235), Decimal("287.9"))
    assert (o.currency, o.shipping_method, o.payment_method) == ("EUR", "DHL", "30")


def test_person_order_with_billing_as_shipping() -> None:
    o = order_from_fortnox(
        order(
            Customer=copy.deepcopy(PERSON),
            DeliveryAddress1="",
            DeliveryZipCode="",
            DeliveryCity="",
            DeliveryCountry="",
        )
    )
    c = o.customer
    assert (c.kind, c.first_name, c.last_name, c.company_name) == (
        CustomerKind.PERSON,
        "Sven",
        "Erik Svensson",
        "",
    )
    assert c.phone == "070-1234567" and c.vat_number == ""
    assert o.shipping_address == c.billing_address
    assert o.shipping_address.country == "SE"


def test_prices_including_vat() -> None:
    rows = [{"ArticleNumber": "A-1", "OrderedQuantity": "1", "Price": 125, "VAT": 25}]
    o = order_from_fortnox(
        order(
            VATIncluded=True,
            OrderRows=rows,
            Freight=12.5,
            FreightVAT=None,
            Total=137.5,
            TotalVAT=27.5,
        )
    )
    line = o.lines[0]
    assert (line.unit_price_excl, line.unit_price_incl) == (Decimal(100), Decimal(125))
    assert (o.shipping_cost_excl, o.shipping_cost_incl) == (Decimal(10), Decimal("12.5"))
    assert (o.total_excl, o.total_incl) == (Decimal(110), Decimal("137.5"))


def test_totals_are_fortnoxs_own_never_recomputed() -> None:
    # recorded: rows with prices, totals of 0; the flow's check quarantines, not us
    zero = order_from_fortnox(order(Net=0, TotalVAT=0, Total=0))
    assert (zero.total_excl, zero.total_incl) == (Decimal(0), Decimal(0))
    # öre rounding is not goods: the total of the goods is Total - RoundOff
    rounded = order_from_fortnox(order(Total=288, RoundOff=0.1))
    assert (rounded.total_excl, rounded.total_incl) == (Decimal("235"), Decimal("287.9"))


def test_strings_for_quantities_and_a_customer_with_a_name_only() -> None:
    rows = [
        {
            "ArticleNumber": "0000",
            "Description": "Testartikel",
            "OrderedQuantity": "1.00",
            "DeliveredQuantity": "0",
            "ReservedQuantity": "0.00",
            "ContributionValue": "-0",
            "Price": 10,
            "VAT": 0,
            "Discount": 0,
            "DiscountType": "PERCENT",
            "Total": 0,
        }
    ]
    bare = {
        "CustomerNumber": "1",
        "Type": "COMPANY",
        "Name": "Updated name",
        "Email": "",
        "Address1": None,
        "ZipCode": "10001",
        "City": "New York",
        "CountryCode": None,
        "Country": None,
        "Phone1": None,
        "Phone2": None,
        "VATNumber": "",
    }
    o = order_from_fortnox(
        order(
            OrderRows=rows,
            Customer=bare,
            Currency="SEK",
            Freight=0,
            FreightVAT=0,
            Total=10,
            TotalVAT=0,
            Address1="",
            ZipCode="10001",
            City="New York",
            Country="",
            DeliveryAddress1="",
            DeliveryZipCode="",
            DeliveryCity="",
            DeliveryCountry="",
            EmailInformation={"EmailAddressTo": "", "EmailAddressFrom": None},
        )
    )
    c = o.customer
    assert (c.email, c.customer_number, c.company_name, c.phone) == ("", "1", "Updated name", "")
    b = c.billing_address
    assert (b.street, b.postcode, b.city, b.country) == ("", "10001", "New York", "")
    assert o.shipping_address == b and o.currency == "SEK"
    assert (o.lines[0].sku, o.lines[0].quantity) == ("0000", Decimal(1))


def test_a_bare_order_body_reads_the_customer_from_the_order() -> None:
    record = order(
        CustomerName="Koffiebar Jansen",
        Address1="Kerkstraat 12A",
        ZipCode="1012 AB",
        City="Amsterdam",
        Country="Netherlands",
        YourReference="Anna Jansen",
        Phone1="020-1234567",
        EmailInformation={"EmailAddressTo": "anna@example.nl"},
    )
    del record["Customer"]  # not embedded: what ``shopbridge mapping test`` is given
    c = order_from_fortnox(record).customer
    assert (c.kind, c.company_name, c.first_name, c.last_name, c.customer_number) == (
        CustomerKind.COMPANY,
        "Koffiebar Jansen",
        "Anna",
        "Jansen",
        "7",
    )
    assert (c.email, c.phone, c.billing_address.country) == ("anna@example.nl", "020-1234567", "NL")


def test_email_from_the_order_and_address_from_the_order() -> None:
    o = order_from_fortnox(
        order(
            Customer=_customer(Email="", CountryCode="SE"),
            Address1="Drottninggatan 7",
            ZipCode="111 51",
            City="Stockholm",
            Country="",
            EmailInformation={"EmailAddressTo": "Orders@Example.se"},
        )
    )
    assert o.customer.email == "orders@example.se"
    b = o.customer.billing_address
    assert (b.street, b.house_number, b.city, b.country) == (
        "Drottninggatan",
        "7",
        "Stockholm",
        "SE",
    )  # the customer's country code
    norway = order_from_fortnox(order(Address1="Karl Johans gate 1", City="Oslo", Country="Norway"))
    assert norway.customer.billing_address.country == "NO"


DELIVERED_ROWS = [
    {
        "ArticleNumber": "A-1",
        "OrderedQuantity": "2",
        "DeliveredQuantity": "2",
        "Price": 100,
        "VAT": 25,
    }
]


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"Cancelled": True}, "cancelled"),
        ({"InvoiceReference": "17"}, "invoiced"),
        ({"InvoiceReference": 0, "DeliveryState": "delivery"}, "open"),  # a new order says so
        ({"NotCompleted": True}, "draft"),
        ({"OrderRows": DELIVERED_ROWS}, "delivered"),
        ({"OrderRows": [{**DELIVERED_ROWS[0], "DeliveredQuantity": "1"}]}, "open"),
        ({"InvoiceReference": None, "DeliveryState": "reservation"}, "open"),
    ],
)
def test_status(over: dict[str, Any], status: str) -> None:
    assert order_from_fortnox(order(**over)).status == status


def _customer(**over: Any) -> dict[str, Any]:
    return {**copy.deepcopy(COMPANY), **over}


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"Customer": _customer(Email="not-an-email")}, "customer.Email"),
        (
            {"Customer": _customer(Email=""), "EmailInformation": {"EmailAddressTo": "x@y"}},
            "EmailInformation.EmailAddressTo",
        ),
        ({"Customer": _customer(Name="")}, "customer.Name"),
        ({"Customer": _customer(Type="ROBOT")}, "customer.Type"),
        ({"Customer": _customer(CountryCode="", Country="Atlantis")}, "customer.Country"),
        ({"Customer": _customer(CountryCode="XYZ")}, "customer.CountryCode"),
        ({"Country": "Narnia", "City": "Cair Paravel"}, "Country"),
        ({"Currency": ""}, "Currency"),
        ({"Total": None}, "Total"),
        ({"TotalVAT": ""}, "TotalVAT"),
        ({"AdministrationFee": "x"}, "AdministrationFee"),
        ({"DeliveryState": "shipped"}, "DeliveryState"),
        ({"Customer": None}, "CustomerNumber"),
        ({"OrderRows": []}, "OrderRows"),
        ({"OrderRows": "rows"}, "OrderRows"),
        (
            {"OrderRows": [{"ArticleNumber": "A", "OrderedQuantity": 0, "Price": 1, "VAT": 25}]},
            "OrderRows[0].OrderedQuantity",
        ),
        (
            {"OrderRows": [{"ArticleNumber": "", "OrderedQuantity": 1, "Price": 1, "VAT": 25}]},
            "OrderRows[0].ArticleNumber",
        ),
        (
            {"OrderRows": [{"ArticleNumber": "A", "OrderedQuantity": 1, "Price": "x", "VAT": 25}]},
            "OrderRows[0].Price",
        ),
        (
            {"OrderRows": [{"ArticleNumber": "A", "OrderedQuantity": 1, "Price": 1, "VAT": 250}]},
            "OrderRows[0].VAT",
        ),
        (
            {
                "OrderRows": [
                    {
                        "ArticleNumber": "A",
                        "OrderedQuantity": 1,
                        "Price": 1,
                        "VAT": 25,
                        "Discount": 5,
                        "DiscountType": "COUPON",
                    }
                ]
            },
            "OrderRows[0].DiscountType",
        ),
        ({"DeliveryCountry": "Narnia"}, "DeliveryCountry"),
        ({"OrderDate": "18/11/2026"}, "OrderDate"),
        ({"OrderDate": ""}, "OrderDate"),
        ({"Currency": "euro"}, "Currency"),
        ({"@Timezone": "Mars/Olympus"}, "@Timezone"),
        ({"@ChangedBefore": "2026-11-20 12:00"}, "@ChangedBefore"),
        ({"DocumentNumber": ""}, "DocumentNumber"),
    ],
)
def test_bad_order_names_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        order_from_fortnox(order(**over))
    assert exc.value.field == field
    assert exc.value.entity == "order"


def test_bad_order_keeps_its_id() -> None:
    with pytest.raises(RecordError) as exc:
        order_from_fortnox(order(Customer=_customer(Type="ROBOT")))
    assert exc.value.source_id == "42"
    with pytest.raises(RecordError) as exc:
        order_from_fortnox([])  # type: ignore[arg-type]
    assert exc.value.source_id == "?"


ARTICLE = {
    "ArticleNumber": "MUG-BLA-9001",
    "Description": "Mug black",
    "EAN": "8700000009001",
    "SalesPrice": 12.4,
    "VAT": 25,
    "Active": True,
    "WebshopArticle": True,
    "StockGoods": True,
    "QuantityInStock": 7,
    "Manufacturer": "Studio Klei",
    "@ChangedBefore": READ,
}


def test_article_is_a_simple_product() -> None:
    p = product_from_fortnox({**ARTICLE, "QuantityInStock": "7"}, currency="EUR")
    assert (p.ref.id, p.sku, p.ean, p.title, p.brand, p.currency) == (
        "MUG-BLA-9001",
        "MUG-BLA-9001",
        "8700000009001",
        "Mug black",
        "Studio Klei",
        "EUR",
    )
    assert p.visible and not p.configurable and p.images == ()
    v = p.variants[0]
    assert (v.price_excl, v.price_incl, v.quantity) == (
        Decimal("12.4"),
        Decimal("15.5"),
        Decimal(7),
    )
    assert p.tax_rate == Decimal("0.25")
    assert p.updated_at == datetime.fromisoformat(READ)


@pytest.mark.parametrize(
    ("over", "visible"),
    [
        ({"Active": False}, False),
        ({"WebshopArticle": False}, False),
        ({"WebshopArticle": None}, True),
        ({"Active": None}, True),
    ],
)
def test_article_visibility(over: dict[str, Any], visible: bool) -> None:
    assert product_from_fortnox({**ARTICLE, **over}, currency="SEK").visible is visible


def test_service_article_has_no_quantity() -> None:
    service = product_from_fortnox({**ARTICLE, "StockGoods": False}, currency="SEK")
    assert service.variants[0].quantity is None


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"SalesPrice": None}, "SalesPrice"),
        ({"VAT": -1}, "VAT"),
        ({"Description": ""}, "Description"),
        ({"ArticleNumber": None}, "ArticleNumber"),
        ({"@ChangedBefore": None}, "@ChangedBefore"),
        ({"Active": "maybe"}, "Active"),
    ],
)
def test_bad_article_names_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        product_from_fortnox({**ARTICLE, **over}, currency="SEK")
    assert (exc.value.entity, exc.value.field) == ("product", field)


def test_article_stock() -> None:
    level = stock_from_fortnox(
        {
            "ArticleNumber": "A",
            "QuantityInStock": 10,
            "ReservedQuantity": "3",
            "DisposableQuantity": 7,
        }
    )
    assert (level.sku, level.on_hand, level.reserved, level.managed, level.locations) == (
        "A",
        Decimal(10),
        Decimal(3),
        True,
        {},
    )
    service = stock_from_fortnox({"ArticleNumber": "S", "StockGoods": False})
    assert (service.on_hand, service.managed) == (Decimal(0), False)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"ArticleNumber": "A", "QuantityInStock": -1}, "QuantityInStock"),
        ({"ArticleNumber": "A", "QuantityInStock": 1, "ReservedQuantity": -1}, "ReservedQuantity"),
        ({"ArticleNumber": "A", "StockGoods": True}, "QuantityInStock"),
        (
            {"ItemId": "A", "StockBalances": [{"stockPointCode": "HQ", "inStock": -4}]},
            "StockBalances[0].inStock",
        ),
        (
            {"ItemId": "A", "StockBalances": [{"StockPointCode": "", "InStock": 4}]},
            "StockBalances[0].StockPointCode",
        ),
        ({"ItemId": "A", "StockBalances": "none"}, "StockBalances"),
        ({"ItemId": "", "StockBalances": []}, "ItemId"),
    ],
)
def test_bad_stock_names_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        stock_from_fortnox(record)
    assert (exc.value.entity, exc.value.field) == ("stock", field)


@pytest.mark.parametrize("camel", [True, False])
def test_warehouse_stock_per_stock_point(camel: bool) -> None:
    def row(point: str, in_stock: int, available: int) -> dict[str, Any]:
        r = {
            "ItemId": "A",
            "StockPointCode": point,
            "InStock": in_stock,
            "AvailableStock": available,
        }
        return {k[0].lower() + k[1:]: v for k, v in r.items()} if camel else r

    record = {
        "ItemId": "A",
        "StockBalances": [row("HQ", 10, 7), row("STORE", 4, 4)],
        "@StockPoint": None,
    }
    level = stock_from_fortnox(record)
    assert (level.on_hand, level.reserved) == (Decimal(14), Decimal(3))
    assert level.locations == {"HQ": Decimal(10), "STORE": Decimal(4)}
    at_store = stock_from_fortnox({**record, "@StockPoint": "STORE"})
    assert (at_store.on_hand, at_store.reserved) == (Decimal(4), Decimal(0))
    nowhere = stock_from_fortnox({**record, "@StockPoint": "ANNEX"})
    assert (nowhere.on_hand, nowhere.reserved) == (Decimal(0), Decimal(0))


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("Kerkstraat 12A", ("Kerkstraat", "12", "A")),
        ("Rue de la Paix 3 bis", ("Rue de la Paix", "3", "bis")),
        ("Storgatan 5", ("Storgatan", "5", "")),
        ("12 High Street", ("High Street", "12", "")),
        ("Box 123", ("Box", "123", "")),
        ("Stora torget", ("Stora torget", "", "")),
    ],
)
def test_split_street(line: str, want: tuple[str, str, str]) -> None:
    assert split_street(line) == want


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Sverige", "SE"),
        ("sweden", "SE"),
        ("Nederländerna", "NL"),
        ("NL", "NL"),
        ("de", "DE"),
        ("Storbritannien", "GB"),
        ("Atlantis", None),
        ("Norway", "NO"),
        ("United Kingdom", "GB"),
        ("Korea, Republic of", "KR"),
        ("Holy See (Vatican City State)", "VA"),
    ],
)
def test_country_names(name: str, code: str | None) -> None:
    assert country_code(name) == code


def test_lastmodified_is_server_local_and_floored() -> None:
    assert lastmodified(datetime(2026, 11, 18, 12, 0, 59, tzinfo=UTC)) == "2026-11-18 13:00"
    assert lastmodified(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "2026-07-01 14:00"
    assert lastmodified(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "UTC") == "2026-07-01 12:00"


def test_token_url() -> None:
    assert token_url("https://api.fortnox.se") == "https://apps.fortnox.se/oauth-v1/token"
    assert token_url("http://127.0.0.1:8090/") == "http://127.0.0.1:8090/oauth-v1/token"
    assert token_url("https://api.fortnox.se", "https://auth.example") == (
        "https://auth.example/oauth-v1/token"
    )


def _meta(current: int, pages: int, rows: int | None = None) -> httpx.Response:
    return _body(
        {
            "MetaInformation": {
                "@TotalResources": pages * 2 if rows is None else rows,
                "@TotalPages": pages,
                "@CurrentPage": current,
            }
        }
    )


def _body(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


def _params(page: Page | None) -> dict[str, Any] | None:
    return None if page is None else dict(page.params)


def test_meta_pages() -> None:
    pager = MetaPages(2)
    assert _params(pager.start()) == {"page": 1, "limit": 2}
    assert _params(pager.advance(_meta(1, 3, 5), [{}, {}])) == {"page": 2, "limit": 2}
    assert _params(pager.advance(_meta(2, 3, 5), [{}, {}])) == {"page": 3, "limit": 2}
    assert pager.advance(_meta(3, 3, 5), [{}]) is None
    empty = MetaPages(2)
    empty.start()
    assert empty.advance(_meta(1, 0), []) is None
    stuck = MetaPages(2)
    stuck.start()
    stuck.advance(_meta(1, 3), [{}, {}])
    with pytest.raises(PaginationLoop):
        stuck.advance(_meta(1, 3), [{}, {}])


@pytest.mark.parametrize(
    ("meta", "rows", "needle"),
    [
        (_meta(1, 3, 5), 1, "page 1 of 3: 1 rows, but MetaInformation promises 2"),
        (_meta(1, 1, 2), 1, "page 1 of 1: 1 rows, but MetaInformation promises 2"),
        (_meta(1, 1, 7), 2, "7 rows in 1 pages, but 7 rows at 2 a page make 4"),
        (_meta(1, 0, 0), 1, "page 1 of 0: 1 rows, but MetaInformation promises 0"),
        ({"MetaInformation": {"@CurrentPage": 1}}, 2, "no @TotalPages"),
        ({"MetaInformation": {"@TotalPages": "x", "@CurrentPage": 1}}, 2, "unreadable"),
    ],
)
def test_meta_pages_fail_loudly_when_rows_and_pages_disagree(
    meta: dict[str, Any] | httpx.Response, rows: int, needle: str
) -> None:
    pager = MetaPages(2, "GET /3/orders")
    pager.start()
    with pytest.raises(FatalError, match="GET /3/orders page 1") as exc:
        pager.advance(meta if isinstance(meta, httpx.Response) else _body(meta), [{}] * rows)
    assert needle in str(exc.value)


def test_meta_pages_read_the_older_sdk_keys_without_at() -> None:
    pager = MetaPages(2)
    pager.start()
    meta = {"MetaInformation": {"TotalResources": "3", "TotalPages": "2", "CurrentPage": "1"}}
    assert _params(pager.advance(_body(meta), [{}, {}])) == {"page": 2, "limit": 2}


def test_meta_pages_without_meta_information() -> None:
    pager = MetaPages(2)
    pager.start()
    assert _params(pager.advance(_body({}), [{}, {}])) == {"page": 2, "limit": 2}
    assert pager.advance(_body({}), [{}]) is None
    ignored = MetaPages(2)
    ignored.start()
    assert ignored.advance(_body({}), [{}, {}, {}]) is None  # the server ignored limit: all


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_sliding_window_never_exceeds_the_limit() -> None:
    clock = Clock()
    window = SlidingWindow(25, 5.0, margin_s=0.0, clock=clock)
    sent = []
    for i in range(130):
        clock.now += 0.01 if i % 7 else 0.7  # an uneven workload
        window.acquire(clock.sleep)
        sent.append(clock.now)
    for i in range(len(sent) - 25):
        assert sent[i + 25] - sent[i] >= 5.0 - 1e-9  # float sums
    # just under the limit, not far below: every wait ends the moment room appears
    assert all(s > 0 for s in clock.sleeps)
    assert sent[-1] - sent[0] < (130 / 25) * 5.0


def test_sliding_window_does_not_wait_when_requests_are_slow() -> None:
    clock = Clock()
    window = SlidingWindow(25, 5.0, clock=clock)
    for _ in range(100):
        clock.now += 0.25
        window.acquire(clock.sleep)
    assert clock.sleeps == [] and window.waits == 0


def test_an_administration_fee_is_part_of_the_order_and_of_its_checked_total() -> None:
    from shopbridge.config import RecordRules
    from shopbridge.flows.records import Filled, complete_order

    base = order_from_fortnox(order())
    fee = order_from_fortnox(
        order(
            AdministrationFee=25,
            AdministrationFeeVAT=6.25,
            Total=float(base.total_incl) + 31.25,
            TotalVAT=float(base.total_incl - base.total_excl) + 6.25,
        )
    )
    assert (fee.fee_excl, fee.fee_incl) == (Decimal("25"), Decimal("31.25"))
    # the order's total holds the fee: it adds up, and books once a fee line is set
    complete_order(fee, RecordRules(default_country="SE"), Filled())
