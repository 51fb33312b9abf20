"""AccountView.net contract tests: the recorded payloads of tests/contracts/accountview
through the real client, source and target (an ``httpx.MockTransport`` serves the bytes),
then the pair's validate-and-map. SOURCES.md says which payloads are live recordings (the
data dictionary) and which are doc examples (everything else: nothing public records a
data answer of ``accountviewdata``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from shopbridge.connectors.accountview._rows import FIELD_TYPES
from shopbridge.connectors.accountview.client import AccountViewClient
from shopbridge.connectors.accountview.options import SourceOptions, TargetOptions
from shopbridge.connectors.accountview.source import AccountViewSource
from shopbridge.connectors.accountview.target import AccountViewTarget
from shopbridge.connectors.accountview.translate import (
    CONTACT_LENGTHS,
    HDR_DESC_LENGTH,
    INV_NR_LENGTH,
    MANAGED,
    fingerprint,
)
from shopbridge.connectors.base import OrderWrite
from shopbridge.errors import FatalError
from shopbridge.models import (
    Address,
    Customer,
    CustomerKind,
    ExternalRef,
    Order,
    OrderLine,
)
from tests.contracts.pipeline import map_records
from tests.contracts.shape import recorded, recorded_bytes

SYSTEM = "accountview"
PAIR = "lightspeed_ecom__accountview"
JSON = {"content-type": "application/json; charset=utf-8"}

Handler = Callable[[httpx.Request], httpx.Response]


def body(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=recorded_bytes(SYSTEM, name), headers=JSON)


class Vendor:
    """Serves recorded bodies by business object (GET) and by POST; logs every request."""

    def __init__(
        self,
        reads: dict[str, str | Callable[[httpx.Request], httpx.Response]],
        post: Callable[[httpx.Request], httpx.Response] | None = None,
    ) -> None:
        self.reads = reads
        self.post = post
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return body("token.ok")
        self.seen.append(request)
        if request.url.path.endswith("/companies"):
            return body("companies.list")
        if request.method == "POST":
            assert self.post is not None, "unexpected POST"
            return self.post(request)
        served = self.reads[request.url.params["BusinessObject"]]
        return served(request) if callable(served) else body(served)

    def gets(self, business_object: str) -> list[dict[str, str]]:
        return [
            dict(r.url.params)
            for r in self.seen
            if r.method == "GET" and r.url.params.get("BusinessObject") == business_object
        ]


def client(vendor: Handler, **kwargs: Any) -> AccountViewClient:
    return AccountViewClient(
        "https://av.test",
        client_id="app",
        client_secret="secret",
        refresh_token="refresh",
        company_id="VWW",
        http=httpx.Client(transport=httpx.MockTransport(vendor)),
        **kwargs,
    )


MAY = (datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 4, tzinfo=UTC))


# --- the recorded data dictionary (live) ------------------------------------------------


def dictionary(table: str) -> dict[str, dict[str, Any]]:
    return {row["FIELD_NAME"]: row for row in recorded(SYSTEM, f"fields.{table}")}


@pytest.mark.parametrize("table", ["CONTACT", "DJ_PAGE", "DJ_LINE"])
def test_every_field_written_exists_with_the_recorded_type(table: str) -> None:
    fields = dictionary(table.lower())
    assert {r["DBF_NAME"] for r in fields.values()} == {table}
    for name, ftype in FIELD_TYPES[table].items():
        assert name in fields, f"{table}.{name} is not in AccountView's dictionary"
        assert fields[name]["FIELD_TYPE"] == ftype, (table, name)


def test_contact_lengths_and_mandatory_fields_are_the_recorded_ones() -> None:
    fields = dictionary("contact")
    for name, length in CONTACT_LENGTHS.items():
        assert fields[name]["FIELD_LEN"] == length, name
    assert {n for n, f in fields.items() if f["INP_MAND"]} == {"ACCT_NAME", "SRC_CODE", "SUB_NR"}
    # what the debtor match reads and compares exists as text
    assert all(fields[n]["FIELD_TYPE"] == "C" for n in MANAGED)
    # an empty timestamp is "" in an answer, not null (the dictionary's own CNG_DATE)
    assert fields["ACCT_NAME"]["CNG_DATE"] == "" and fields["ACCT_NAME"]["FIELD_LEN"] == 40


def test_journal_page_limits_are_the_recorded_ones() -> None:
    page = dictionary("dj_page")
    assert page["INV_NR"]["FIELD_LEN"] == INV_NR_LENGTH
    assert page["HDR_DESC"]["FIELD_LEN"] == HDR_DESC_LENGTH and page["HDR_DESC"]["INP_MAND"]
    assert dictionary("acct_rec")["SUB_NR"]["FIELD_LEN"] == 10


def test_default_vat_codes_fit_the_recorded_vat_code_field() -> None:
    vat = dictionary("vat")
    assert (vat["VAT_CODE"]["FIELD_TYPE"], vat["VAT_CODE"]["FIELD_LEN"]) == ("C", 2)
    assert vat["VAT_PCT"]["FIELD_TYPE"] == "N"
    assert all(len(code) <= 2 for code in TargetOptions().vat_codes.values())


# --- articles -> products and stock ----------------------------------------------------


def test_recorded_articles_become_products_keyed_by_article_code() -> None:
    vendor = Vendor({"AK1": "articles.list", "AG1": "article_groups.list"})
    source = AccountViewSource(client(vendor))
    records = list(source.iter_product_records(*MAY))
    assert [source.product_id(r) for r in records] == ["KOF-ESP-1KG", "THEEGLAS", "CUP-CAP-6"]
    [read] = vendor.gets("AK1")
    assert (
        read["FilterControlSource1"],
        read["FilterOperator1"],
        read["FilterValueType1"],
        read["FilterValue1"],
    ) == ("CNG_DATE", "DateOnOrAfterDate", "T", "{^2024-05-01 02:00:00}")  # Amsterdam's clock
    assert len(vendor.gets("AG1")) == 1

    product = source.to_product(records[0])
    assert (product.sku, product.article_code, product.ean) == ("", "KOF-ESP-1KG", "")
    assert product.updated_at == datetime(2024, 5, 1, 8, tzinfo=UTC)  # 10:00 Amsterdam
    assert product.variants[0].quantity == Decimal("24.000")  # "24.000", a string

    mapped = map_records(PAIR, "products", source, records)
    by_id = {p["source_id"]: p for p in mapped["products"]}
    assert sorted(by_id) == ["CUP-CAP-6", "KOF-ESP-1KG"]
    coffee = by_id["KOF-ESP-1KG"]
    assert coffee["sku"] == "KOF-ESP-1KG"  # the item_key rule picked the article code
    [item] = coffee["items"]
    assert item["code"] == "KOF-ESP-1KG"
    assert (item["fields"]["priceExcl"], item["fields"]["priceIncl"]) == ("18.5000", "22.3850")
    assert item["fields"]["title"] == "Koffiebonen espresso 1 kg"
    assert coffee["categories"] == [["Koffie"]] and coffee["eans"] == {}
    cups = by_id["CUP-CAP-6"]["items"][0]["fields"]
    assert (cups["priceExcl"], cups["stockLevel"]) == ("24.9500", "0")  # QTY_AVAIL ""
    # the glass has PX_SELL null: quarantined naming the field, the batch goes on
    assert mapped["counts"]["products_quarantined"] == 1
    [why] = mapped["counts"]["quarantined"]
    assert (why["source_id"], why["field"]) == ("THEEGLAS", "PX_SELL")
    assert "no sales price" in why["reason"]


def test_recorded_articles_become_stock_levels() -> None:
    vendor = Vendor({"AK1": "articles.list"})
    source = AccountViewSource(client(vendor))
    records = list(source.iter_stock_records())
    mapped = map_records(PAIR, "stock", source, records)
    levels = {lv["sku"]: (lv["quantity"], lv["managed"]) for lv in mapped["levels"]}
    # available_minus_reserved with no reserved field: QTY_AVAIL as sent, "" read as 0
    assert levels == {
        "KOF-ESP-1KG": ("24.000", True),
        "THEEGLAS": ("0", True),
        "CUP-CAP-6": ("0", True),
    }
    assert mapped["counts"]["stock_quarantined"] == 0
    [read] = vendor.gets("AK1")
    assert read["Fields"] == "ARTICLE.ART_CODE,ARTICLE.QTY_AVAIL"


def test_one_article_as_an_object_is_one_row_and_an_empty_table_none() -> None:
    source = AccountViewSource(
        client(Vendor({"AK1": "article.single"})), SourceOptions(default_tax_rate="0.09")
    )
    [row] = source.iter_stock_records()
    assert source.to_stock(row).article_code == "KOF-ESP-1KG"
    assert (
        list(AccountViewSource(client(Vendor({"AK1": "articles.empty"}))).iter_stock_records())
        == []
    )


def test_paging_ends_on_a_short_page_and_fails_on_a_page_longer_than_asked() -> None:
    pages = iter(["articles.list", "articles.empty"])
    vendor = Vendor({"AK1": lambda _r: body(next(pages))})
    rows = list(client(vendor, page_size=3).read("AK1", "ARTICLE"))
    assert len(rows) == 3
    assert [g["PageNumber"] for g in vendor.gets("AK1")] == ["1", "2"]
    with pytest.raises(FatalError, match="3 ARTICLE rows on page 1 of AK1 for PageSize=2"):
        list(client(Vendor({"AK1": "articles.list"}), page_size=2).read("AK1", "ARTICLE"))


# --- debtors ---------------------------------------------------------------------------


def test_debtors_matched_by_e_mail_from_the_recorded_contacts() -> None:
    for served in ("contacts.list", "contact.single"):
        vendor = Vendor({"AR1": served})
        target = AccountViewTarget(client(vendor))
        found = target.match_debtors(["Info@Example.nl"])
        assert list(found) == ["info@example.nl"]
        assert found["info@example.nl"].code == "10001"
        row = recorded(SYSTEM, "contacts.list")["CONTACT"][0]
        assert found["info@example.nl"].fingerprint == fingerprint(row)
        [ask] = vendor.gets("AR1")
        assert (ask["FilterControlSource1"], ask["FilterValue1"]) == ("MAIL_BUS", "info@example.nl")
    assert (
        AccountViewTarget(client(Vendor({"AR1": "contacts.empty"}))).match_debtors(
            ["nobody@example.nl"]
        )
        == {}
    )


def _walk_in() -> Customer:
    return Customer(
        kind=CustomerKind.PERSON, customer_number="C-77", first_name="K.", last_name="de Vries"
    )


class Ledger:
    """A fake AccountView holding the POSTed CONTACT rows, read back as AR1 rows."""

    def __init__(self, answer: str | None = None) -> None:
        self.rows = list(recorded(SYSTEM, "contacts.list")["CONTACT"])
        self.answer = answer
        self.posted: list[dict[str, Any]] = []

    def read(self, request: httpx.Request) -> httpx.Response:
        q = request.url.params
        rows = self.rows
        if "FilterControlSource1" in q:
            wanted = set(q["FilterValue1"].split(","))
            rows = [r for r in rows if str(r.get(q["FilterControlSource1"])) in wanted]
        return httpx.Response(200, json={"CONTACT": rows}, headers=JSON)

    def post(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        names = [f["Name"] for f in sent["Table"]["Definition"]["Fields"]]
        row = dict(zip(names, sent["TableData"]["Data"]["Rows"][0]["Values"], strict=True))
        self.posted.append(row)
        if self.answer is not None:
            return body(self.answer)
        self.rows.append({k: v for k, v in row.items() if k != "RowId"})
        return httpx.Response(200, json={}, headers=JSON)


def test_a_customer_without_e_mail_or_address_is_created_with_every_mandatory_field() -> None:
    fake = Ledger()
    vendor = Vendor({"AR1": fake.read}, post=fake.post)
    code = AccountViewTarget(client(vendor)).create_debtor(_walk_in())
    assert code == "20000"  # the first of the connector's own range
    [row] = fake.posted
    mandatory = {n for n, f in dictionary("contact").items() if f["INP_MAND"]}
    assert mandatory <= {k for k, v in row.items() if v}  # SUB_NR, ACCT_NAME, SRC_CODE
    assert (
        row["ACCT_NAME"],
        row["SRC_CODE"],
        row["MAIL_BUS"],
        row["CNT_CODE"],
        row["ADDRESS1"],
    ) == ("K. de Vries", "KDEVRIES", "", "", "")
    assert all(len(row[n]) <= CONTACT_LENGTHS[n] for n in CONTACT_LENGTHS if n in row)


def test_a_create_the_read_back_does_not_confirm_is_not_counted() -> None:
    """AccountView answered (no ErrorMessage) but the number holds someone else: retried
    on the next number, and after three tries a FatalError: never a debtor we did not see."""
    fake = Ledger()
    fake.post = lambda request: httpx.Response(200, json={}, headers=JSON)  # type: ignore[method-assign]
    fake.rows.extend({**fake.rows[1], "SUB_NR": str(n)} for n in (20000, 20001, 20002))
    vendor = Vendor({"AR1": fake.read}, post=fake.post)
    with pytest.raises(FatalError, match="could not claim a free debtor number"):
        AccountViewTarget(client(vendor)).create_debtor(
            Customer(kind=CustomerKind.COMPANY, company_name="Nieuw BV", email="a@b.nl")
        )


def test_a_refused_debtor_update_carries_accountviews_message() -> None:
    fake = Ledger(answer="error.200")
    vendor = Vendor({"AR1": fake.read}, post=fake.post)
    with pytest.raises(FatalError, match="Artikel ONBEKEND bestaat niet"):
        AccountViewTarget(client(vendor)).update_debtor("10001", _walk_in())


# --- orders ----------------------------------------------------------------------------


def _order(number: str = "SB-LS-5001") -> Order:
    when = datetime(2024, 5, 1, 8, tzinfo=UTC)
    line = OrderLine(
        article_code="KOF-ESP-1KG",
        sku="KOF-ESP-1KG",
        quantity=Decimal(2),
        unit_price_excl=Decimal("18.50"),
        unit_price_incl=Decimal("22.385"),
        tax_rate=Decimal("0.21"),
    )
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id="5001"),
        number=number,
        status="paid",
        created_at=when,
        updated_at=when,
        currency="EUR",
        customer=_walk_in(),
        shipping_address=Address(),
        lines=(line,),
        total_excl=Decimal("37.00"),
        total_incl=Decimal("44.77"),
    )


def test_orders_already_booked_are_found_by_reference() -> None:
    target = AccountViewTarget(
        client(Vendor({"SO1": "sales_orders.list", "DJ2": "journal_pages.list"}))
    )
    assert target.find_orders(["SB-LS-5001", "SB-LS-9999"]) == {"SB-LS-5001": "1001"}
    assert target.find_orders(["SB-LS-5001"], kind="sales_invoice") == {"SB-LS-5001": "7"}


@pytest.mark.parametrize(("name", "status"), [("error.200", 200), ("error.400", 400)])
def test_a_refused_order_is_its_own_error_with_accountviews_message(name: str, status: int) -> None:
    vendor = Vendor({"SO1": "sales_orders.list"}, post=lambda _r: body(name, status))
    [result] = AccountViewTarget(client(vendor)).create_orders(
        [OrderWrite(_order(), "10001", "SB-LS-5002", None)]
    )
    assert isinstance(result, FatalError)
    message = recorded(SYSTEM, name)["ErrorMessage"]
    assert message in str(result) and "SB-LS-5002" in str(result)
    assert not vendor.gets("SO1")  # a refusal is not looked up as if it had landed


def test_an_accepted_order_counts_only_once_found_by_its_reference() -> None:
    """The POST answer is undocumented: an empty answer is confirmed by reading the order
    back by reference (found: its ORD_NR; not found: a FatalError, not a success)."""
    ok = Vendor(
        {"SO1": "sales_orders.list"}, post=lambda _r: httpx.Response(200, json={}, headers=JSON)
    )
    assert AccountViewTarget(client(ok)).create_orders(
        [OrderWrite(_order(), "10001", "SB-LS-5001", None)]
    ) == ["1001"]
    lost = Vendor(
        {"SO1": "contacts.empty"}, post=lambda _r: httpx.Response(200, json={}, headers=JSON)
    )
    [result] = AccountViewTarget(client(lost)).create_orders(
        [OrderWrite(_order(), "10001", "SB-LS-5001", None)]
    )
    assert isinstance(result, FatalError) and "cannot be found" in str(result)


def test_an_invoice_reference_longer_than_inv_nr_is_refused_before_sending() -> None:
    def refuse(_request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent")

    vendor = Vendor({}, post=refuse)
    [result] = AccountViewTarget(client(vendor)).create_orders(
        [OrderWrite(_order(), "10001", "SB-LS-5001-EXTRA", None, kind="sales_invoice")]
    )
    assert isinstance(result, FatalError) and "INV_NR" in str(result)


# --- errors, companies, token ----------------------------------------------------------


def test_an_error_in_a_200_fails_the_read_with_its_message() -> None:
    with pytest.raises(FatalError, match="AccountViewError: Artikel ONBEKEND bestaat niet"):
        list(client(Vendor({"AK1": "error.200"})).read("AK1", "ARTICLE"))
    with pytest.raises(FatalError, match="AccountView gave no message"):
        list(client(Vendor({"AK1": "error.blank"})).read("AK1", "ARTICLE"))


def test_companies_and_token() -> None:
    vendor = Vendor({})
    renewed: list[str] = []
    av = client(vendor, on_refresh_token=renewed.append)
    [company] = av.companies()
    assert (company["Id"], company["Description"]) == (
        "3f2c9a1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f",
        "Voorbeeld Webwinkel BV",
    )
    sent = vendor.seen[0]
    assert sent.headers["Authorization"] == "Bearer XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert sent.headers["x-company"] == "VWW"
    # the answer's refresh_token differs from the one sent: kept and handed on once
    assert renewed == ["YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY"]


def test_token_form_is_the_documented_refresh_grant() -> None:
    forms: list[dict[str, list[str]]] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            forms.append(parse_qs(request.content.decode()))
            return body("token.ok")
        return body("companies.list")

    client(vendor).companies()
    [form] = forms
    assert {k: v[0] for k, v in form.items()} == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh",
        "client_id": "app",
        "client_secret": "secret",
    }
