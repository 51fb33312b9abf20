"""Exact Globe contract tests: the doc-example payloads of ``tests/contracts/exact_globe``
(see SOURCES.md: no public recording of Globe's REST service exists, the Globe files
are built from Exact's entity documentation; the ``exact_online.*`` files are recorded
Exact Online responses that ground the OData envelope) served byte for byte through the
real client, source and target, then translated and mapped under the shipped pair.
Values are asserted as a bookkeeper checks them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopbridge.connectors._kit.pages import PageMismatch, parse_list
from shopbridge.connectors.base import OrderWrite
from shopbridge.connectors.exact_globe._batch import odata_error
from shopbridge.connectors.exact_globe.client import ExactGlobeClient
from shopbridge.connectors.exact_globe.from_globe import server_time, zone
from shopbridge.connectors.exact_globe.source import ExactGlobeSource
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.errors import FatalError, PaginationLoop, RecordError
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

SYSTEM = "exact_globe"
PAIR = "lightspeed_ecom__exact_globe"
WINDOW = (datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 11, 18, tzinfo=UTC))


def body(name: str) -> bytes:
    return recorded_bytes(SYSTEM, name)


def client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> ExactGlobeClient:
    return ExactGlobeClient(
        "http://globe01:8020",
        server_name="SQL01",
        database_name="600",
        auth=httpx.BasicAuth("u", "p"),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        **kw,
    )


def serve(
    routes: dict[str, bytes], seen: list[httpx.Request] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """Answer each entity (the path's last segment, keys stripped) with recorded bytes."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        entity = request.url.path.rsplit("/", 1)[-1].split("(", 1)[0]
        if entity not in routes:
            return httpx.Response(404, content=body("error.404"))
        return httpx.Response(
            200 if request.method == "GET" else 201,
            content=routes[entity],
            headers={"Content-Type": "application/json"},
        )

    return handler


def single_page(name: str) -> bytes:
    """A recorded list without its ``__next`` link (the second page is another test's)."""
    payload = recorded(SYSTEM, name)
    payload["d"].pop("__next", None)
    return json.dumps(payload).encode()


def globe_records() -> list[dict[str, Any]]:
    """What the source yields for the recorded header/line/account/VAT answers."""
    source = ExactGlobeSource(
        client(
            serve(
                {
                    "SalesOrderHeader": single_page("salesorderheader.list"),
                    "SalesOrderLine": body("salesorderline.list"),
                    "Account": body("account.list"),
                    "VAT": body("vat.list"),
                }
            )
        ),
        currency="EUR",
    )
    return list(source.iter_order_records(*WINDOW))


# -- envelopes (Exact Online recordings: the OData v2 forms, not Globe's data) -----------------


def test_both_odata_list_forms_are_read():
    wrapped = parse_list(recorded(SYSTEM, "exact_online.items.list"))
    bare = parse_list(recorded(SYSTEM, "exact_online.items.list_bare"))
    assert (
        [r["Code"] for r in wrapped.rows][:1] == [r["Code"] for r in bare.rows][:1] == ["12345678"]
    )
    assert wrapped.next_link is None and bare.next_link is None
    # the recorded /Date(ms)/ form: 1641034800000 ms = 2022-01-01 11:00 UTC ticks
    created = bare.rows[0]["Created"]
    assert created == "/Date(1641034800000)/"
    assert server_time(created, zone("UTC")) == datetime(2022, 1, 1, 11, 0, tzinfo=UTC)
    assert bare.rows[0]["IsSerialNumberItem"] is None  # empty fields come as null


def test_bare_list_is_served_through_the_client():
    c = client(serve({"Items": body("exact_online.items.list_bare")}))
    rows = list(c.query("Items"))
    assert len(rows) == 1 and rows[0]["Code"] == "12345678"


# -- paging --------------------------------------------------------------------------------


def test_next_link_is_followed_and_ordered_by_a_stable_key():
    seen: list[httpx.Request] = []
    first = body("salesorderheader.list")
    last = json.dumps({"d": {"results": []}}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=first if len(seen) == 1 else last)

    rows = list(client(handler).query("SalesOrderHeader", orderby=["SalesOrderNumber"]))
    assert [r["SalesOrderNumber"].strip() for r in rows] == ["10001", "10002"]
    assert seen[0].url.params["$orderby"] == "SalesOrderNumber"
    # two rows for $top=100 is short, but __next says more: the link is followed as given
    assert str(seen[1].url) == recorded(SYSTEM, "salesorderheader.list")["d"]["__next"]


def test_a_count_that_disagrees_with_the_rows_read_fails_loudly():
    payload = recorded(SYSTEM, "salesorderheader.list")
    payload["d"].pop("__next")
    payload["d"]["__count"] = "3"  # OData v2 sends the count as text
    c = client(lambda r: httpx.Response(200, content=json.dumps(payload).encode()))
    with pytest.raises(PageMismatch, match=r"counted 3 rows .* read 2"):
        list(c.query("SalesOrderHeader", count=True))


def test_a_server_ignoring_top_fails_loudly():
    c = client(lambda r: httpx.Response(200, content=body("salesorderline.list")), page_size=2)
    with pytest.raises(PageMismatch, match=r"4 rows for \$top=2"):
        list(c.query("SalesOrderLine"))


def test_the_same_page_twice_is_a_loop():
    payload = recorded(SYSTEM, "salesorderline.list")
    payload["d"]["results"] = payload["d"]["results"][:2]
    c = client(lambda r: httpx.Response(200, content=json.dumps(payload).encode()), page_size=2)
    with pytest.raises(PaginationLoop):
        list(c.query("SalesOrderLine"))


# -- the ERP order source ------------------------------------------------------------------


def test_source_embeds_lines_debtor_and_vat_codes():
    first, second = globe_records()
    assert first["header"]["SalesOrderNumber"] == "   10001"
    assert [ln["LineNumber"] for ln in first["lines"]] == [1, 2, 3]
    assert first["account"]["DebtorCode"].strip() == "60093"
    assert set(first["vat"]) == {"1", "2"}  # only the codes its lines use
    assert [ln["Itemcode"] for ln in second["lines"]] == ["THEE-EG"]
    assert second["account"]["EmailAddress"] is None


def test_company_order_as_a_bookkeeper_reads_it():
    first = globe_records()[0]
    order = ExactGlobeSource.to_order(ExactGlobeSource.__new__(ExactGlobeSource), first)
    assert (order.number, order.status, order.currency) == ("10001", "open", "EUR")
    assert order.created_at == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)  # 16 Nov, server time
    c = order.customer
    assert (c.kind, c.company_name, c.first_name, c.last_name) == (
        CustomerKind.COMPANY,
        "Bakkerij Voorbeeld BV",
        "Jan",
        "de Vries",
    )
    assert (c.email, c.customer_number, c.vat_number) == (
        "j.devries@example.nl",
        "60093",
        "NL000099998B57",
    )
    assert (
        c.billing_address.street,
        c.billing_address.house_number,
        c.billing_address.house_number_ext,
        c.billing_address.country,
    ) == ("Kerkstraat", "12", "A", "NL")
    ship = order.shipping_address
    assert (ship.street, ship.house_number, ship.postcode, ship.country) == (
        "Magazijnweg",
        "10",
        "3542 AB",
        "NL",
    )  # "NL " padded in Globe's char(3)
    bread, flour, shipping = order.lines
    assert (
        bread.sku,
        bread.quantity,
        bread.unit_price_excl,
        bread.tax_rate,
        bread.discount_excl,
    ) == ("BRD-001", 10, Decimal("4.95"), Decimal("0.09"), 0)
    # 10 % off 2 x 29.50: Price is before the discount, NetPrice after it
    assert (flour.sku, flour.quantity, flour.unit_price_excl, flour.discount_excl) == (
        "MEEL-25",
        2,
        Decimal("29.50"),
        Decimal("5.90"),
    )
    assert (shipping.sku, shipping.unit_price_excl, shipping.tax_rate) == (
        "VERZENDKOSTEN",
        Decimal("6.95"),
        Decimal("0.21"),
    )
    # Globe's own read-only totals, not recomputed
    assert (order.total_excl, order.total_incl) == (Decimal("109.55"), Decimal("120.24"))
    assert (order.payment_method, order.shipping_method) == ("14", "POST")


def test_person_without_email_country_or_address_in_another_currency():
    second = globe_records()[1]
    order = ExactGlobeSource.to_order(ExactGlobeSource.__new__(ExactGlobeSource), second)
    assert (order.number, order.currency) == ("10002", "GBP")
    c = order.customer
    assert (c.kind, c.first_name, c.last_name, c.email, c.customer_number) == (
        CustomerKind.PERSON,
        "P.",
        "Jansen",
        "",
        "60112",
    )
    assert c.billing_address == Address() and order.shipping_address == Address()
    [tea] = order.lines
    assert (tea.sku, tea.unit_price_excl, tea.tax_rate) == (
        "THEE-EG",
        Decimal("12.50"),
        Decimal("0.21"),
    )
    assert (order.total_excl, order.total_incl) == (Decimal("12.50"), Decimal("15.13"))


def test_records_map_under_the_pair():
    """The erp_orders flow's validate-and-map under the shipped pair: both orders pass
    (totals agree with the lines; the country-less one gets the pair's default)."""
    source = ExactGlobeSource.__new__(ExactGlobeSource)
    out = map_records(PAIR, "erp_orders", source, globe_records())
    counts = out["counts"]
    assert counts["quarantined"] == [] and counts["orders_quarantined"] == 0
    assert counts["orders_read"] == 2 and counts["countries_defaulted"] == 1
    first, second = out["orders"]
    assert (first["number"], first["total_excl"], first["currency"]) == ("10001", "109.55", "EUR")
    assert second["shipping_address"]["country"] == "NL"  # the pair's default_country
    assert second["customer"]["customer_number"] == "60112"
    assert sorted(out["mapped"]) == ["10001", "10002"]


def test_a_line_with_an_unknown_vat_code_names_it():
    record = globe_records()[0]
    record["vat"] = {}
    with pytest.raises(RecordError) as exc:
        ExactGlobeSource.to_order(ExactGlobeSource.__new__(ExactGlobeSource), record)
    assert (exc.value.source_id, exc.value.field) == ("10001", "lines[0].VATCode")


def test_no_currency_anywhere_is_quarantined_not_guessed():
    record = globe_records()[1]
    record["header"]["CurrencyCode"] = None
    record["account"]["CurrencyCode"] = ""
    record["currency"] = ""
    with pytest.raises(RecordError) as exc:
        ExactGlobeSource.to_order(ExactGlobeSource.__new__(ExactGlobeSource), record)
    assert exc.value.field == "header.CurrencyCode"


# -- the target: what it reads from Globe's answers -----------------------------------------


def order_to_book() -> Order:
    customer = Customer(
        kind=CustomerKind.COMPANY,
        email="inkoop@example.nl",
        company_name="Bakkerij Voorbeeld BV",
        billing_address=Address(
            street="Kerkstraat", house_number="12", city="Utrecht", country="NL"
        ),
    )
    lines = (
        OrderLine(
            sku="BRD-001",
            quantity=Decimal(10),
            unit_price_excl=Decimal("4.95"),
            unit_price_incl=Decimal("5.3955"),
            tax_rate=Decimal("0.09"),
        ),
        OrderLine(
            sku="MEEL-25",
            quantity=Decimal(2),
            unit_price_excl=Decimal("29.50"),
            unit_price_incl=Decimal("32.155"),
            tax_rate=Decimal("0.09"),
            discount_excl=Decimal("5.90"),
            discount_incl=Decimal("6.431"),
        ),
        OrderLine(
            sku="VERZENDKOSTEN",
            quantity=Decimal(1),
            unit_price_excl=Decimal("6.95"),
            unit_price_incl=Decimal("8.4095"),
            tax_rate=Decimal("0.21"),
        ),
    )
    when = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id="1001"),
        number="1001",
        status="paid",
        created_at=when,
        updated_at=when,
        currency="EUR",
        customer=customer,
        shipping_address=customer.billing_address,
        lines=lines,
        total_excl=Decimal("109.55"),
        total_incl=Decimal("120.24"),
    )


def single_target(header_answer: bytes, *, echo_key: bool = True) -> ExactGlobeTarget:
    """Globe answering line POSTs with the recorded line (echoing the TransactionKey sent,
    as Globe stages it) and the header POST with ``header_answer``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("SalesOrderHeader"):
            return httpx.Response(201, content=header_answer)
        line = recorded(SYSTEM, "salesorderline.create")
        if echo_key:
            line["d"]["TransactionKey"] = json.loads(request.content)["TransactionKey"]
        return httpx.Response(201, content=json.dumps(line).encode())

    return ExactGlobeTarget(client(handler, write_mode="single"))


def test_created_order_is_confirmed_by_its_number_and_total():
    target = single_target(body("salesorderheader.create"))
    [got] = target.create_orders([OrderWrite(order_to_book(), "60093", "shopbridge ref 1001")])
    assert got == "10003"  # "   10003" as Globe pads it


def test_a_total_globe_booked_differently_is_not_counted_as_done():
    answer = recorded(SYSTEM, "salesorderheader.create")
    answer["d"]["TotalAmountExcludingVAT"] = 103.6  # Globe dropped the shipping line
    target = single_target(json.dumps(answer).encode())
    [got] = target.create_orders([OrderWrite(order_to_book(), "60093", "shopbridge ref 1001")])
    assert isinstance(got, FatalError)
    assert "TotalAmountExcludingVAT 103.6" in str(got) and "come to 109.55" in str(got)


def test_lines_staged_under_another_key_are_not_counted_as_done():
    target = single_target(body("salesorderheader.create"), echo_key=False)
    [got] = target.create_orders([OrderWrite(order_to_book(), "60093", "ref")])
    assert isinstance(got, FatalError) and "under another TransactionKey" in str(got)


def test_an_answer_without_a_number_is_not_counted_as_done():
    answer = recorded(SYSTEM, "salesorderheader.create")
    answer["d"]["SalesOrderNumber"] = None
    target = single_target(json.dumps(answer).encode())
    [got] = target.create_orders([OrderWrite(order_to_book(), "60093", "ref")])
    assert isinstance(got, FatalError) and "without a SalesOrderNumber" in str(got)


def test_created_debtor_code_is_read_padded_and_checked():
    created = recorded(SYSTEM, "account.create")["d"]
    routes = {
        "Account": body("account.create"),
        "Contact": json.dumps({"d": {"ID": "c1"}}).encode(),
    }
    target = ExactGlobeTarget(client(serve(routes)))
    customer = Customer(
        kind=CustomerKind.COMPANY,
        email=created["EmailAddress"],
        company_name=created["AccountName"],
        vat_number="NL000099998B57",
    )
    assert target.create_debtor(customer) == "60113"
    other = customer.model_copy(update={"company_name": "Iemand Anders BV"})
    with pytest.raises(
        FatalError, match="AccountName 'Fietsen Voorbeeld VOF', sent 'Iemand Anders BV'"
    ):
        target.create_debtor(other)


def test_existing_debtor_is_found_by_its_documented_email_field():
    seen: list[httpx.Request] = []
    target = ExactGlobeTarget(client(serve({"Account": body("account.list")}, seen)))
    found = target.match_debtors(["Inkoop@Example.nl"])
    assert {k: v.code for k, v in found.items()} == {"inkoop@example.nl": "60093"}
    assert "EmailAddress eq 'inkoop@example.nl'" in seen[0].url.params["$filter"]


def test_items_lookup_reads_the_documented_item_fields():
    target = ExactGlobeTarget(client(serve({"Items": body("items.list")})))
    assert target.match_items(["BRD-001", "NOPE"], ["8712345000017"]) == {
        "sku:BRD-001": "BRD-001",
        "ean:8712345000017": "BRD-001",
    }


# -- error bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("error.400", ": Customer 60093 not found"),
        ("error.400.proxy", "ValidationError: Customer 60093 not found"),
        ("error.404", ": Resource not found for the segment 'SalesOrderHeader'."),
    ],
)
def test_error_bodies_give_the_vendor_message(name, text):
    assert odata_error(lambda: recorded(SYSTEM, name)) == text


def test_a_refused_order_carries_globe_s_message():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("SalesOrderHeader"):
            return httpx.Response(400, content=body("error.400"))
        return httpx.Response(201, content=body("salesorderline.create"))

    target = ExactGlobeTarget(client(handler, write_mode="single"))
    [got] = target.create_orders([OrderWrite(order_to_book(), "60093", "ref")])
    assert isinstance(got, FatalError) and "Customer 60093 not found" in str(got)
