"""AccountView client and target against the sandbox, in-process (STYLE R13, R14)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette warns that it wants httpx2 (a UserWarning, so filterwarnings=error trips on
    # it at import); TestClient still works on httpx 0.28. Imported before .suite on purpose.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.accountview._rows import build_table
from shopbridge.connectors.accountview.client import AccountViewClient
from shopbridge.connectors.accountview.options import TargetOptions
from shopbridge.connectors.accountview.target import AccountViewTarget
from shopbridge.connectors.base import CallCounter, DebtorTerms, OrderWrite
from shopbridge.errors import AuthError, ConfigError, FatalError, RecordError, RetriableError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes.accountview.app import FIRST_SEEDED_DEBTOR, create_app

from .suite import Harness, connector_suite

DEMO = demo_data.generate("demo")
#: every SKU the sandbox seeds as an article
KNOWN = sorted(
    {v["sku"] for p in DEMO.catalogue for v in p["variants"] if v["sku"] != demo_data.UNKNOWN_SKU}
    | {i["sku"] for i in demo_data.ERP_ONLY_ITEMS}
)
SELLABLE = [p["sku"] for p in DEMO.products if p["sku"] != demo_data.UNKNOWN_SKU]


def client_for(
    app: FastAPI,
    *,
    secret: str = "sandbox-secret",
    company: str = "SANDBOX",
    page_size: int = 100,
    max_list_values: int = 50,
    sleeps: list[float] | None = None,
    counter: CallCounter | None = None,
    **kw: Any,
) -> AccountViewClient:
    sleeps = sleeps if sleeps is not None else []
    return AccountViewClient(
        "http://testserver",
        client_id="shopbridge",
        client_secret=secret,
        refresh_token=kw.pop("refresh_token", "sandbox-refresh"),
        company_id=company,
        http=TestClient(app),
        policy=RetryPolicy(sleep=sleeps.append),
        counter=counter,
        page_size=page_size,
        max_list_values=max_list_values,
        max_per_second=100,
        **kw,
    )


def so_tables(debtor: str = "10001", sku: str = SELLABLE[0]) -> tuple:
    header = build_table(
        "SO_HDR",
        [
            {
                "RowId": "1",
                "RPL_INV": debtor,
                "COMMENT1": "x",
                "ORD_DATE": datetime(2026, 11, 17, tzinfo=UTC),
            }
        ],
    )
    line = build_table(
        "SO_LINE",
        [
            {
                "RowId": "1",
                "HeaderId": "1",
                "ART_CODE": sku,
                "ORD_QTY": Decimal(1),
                "ART_PX": Decimal("9.95"),
            }
        ],
    )
    return header, line


def make() -> Harness:
    app = create_app(seed="demo")
    sleeps: list[float] = []
    counter = CallCounter()
    good = client_for(app, sleeps=sleeps, counter=counter)
    bad = client_for(app, secret="wrong", sleeps=sleeps, counter=counter)
    header, line = so_tables(debtor="99999")
    return Harness(
        app=app,
        probe=lambda: list(good.read("AK1", "ARTICLE", fields=["ART_CODE"])),
        probe_bad_auth=lambda: list(bad.read("AK1", "ARTICLE", fields=["ART_CODE"])),
        rejected_write=lambda: good.write("SO1", header, [line]),
        counter=counter,
        sleeps=sleeps,
    )


TestAccountViewSuite = connector_suite(make)


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


@pytest.fixture
def target(app: FastAPI) -> AccountViewTarget:
    return AccountViewTarget(client_for(app, page_size=7, max_list_values=5))


def inspect(app: FastAPI, what: str) -> Any:
    with TestClient(app) as tc:
        return tc.get(f"/_sandbox/{what}").json()


def requests_of(client: AccountViewClient) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, query) of every request the client sends from now on."""
    seen: list[tuple[str, str, dict[str, str]]] = []
    client._http.event_hooks["request"].append(
        lambda req: seen.append((req.method, req.url.path, dict(req.url.params)))
    )
    return seen


def customer(kind: CustomerKind, email: str, **kw: str) -> Customer:
    addr = Address(
        street="Kerkstraat",
        house_number="12",
        house_number_ext="A",
        postcode="1012 AB",
        city="Amsterdam",
        country="NL",
    )
    names = {"first_name": "Anna", "last_name": "de Vries", "phone": "+31 20 1"}
    if kind is CustomerKind.COMPANY:
        names |= {"company_name": "Bakkerij de Vries", "vat_number": "NL123456789B01"}
    return Customer(kind=kind, email=email, billing_address=addr, **(names | kw))


def order(
    cust: Customer, skus: list[str], number: str = "ORD30001", rate: Decimal = Decimal("0.21")
) -> Order:
    prices = {p["sku"]: p for p in DEMO.products}
    lines = tuple(
        OrderLine(
            sku=s,
            description=prices[s]["title"],
            quantity=Decimal(n + 1),
            unit_price_excl=prices[s]["price_excl"],
            unit_price_incl=(prices[s]["price_excl"] * (1 + rate)).quantize(Decimal("0.0001")),
            tax_rate=rate,
            discount_excl=Decimal("1.00") if n == 0 else Decimal(0),
            discount_incl=(Decimal("1.00") * (1 + rate)) if n == 0 else Decimal(0),
        )
        for n, s in enumerate(skus)
    )
    excl = sum((ln.net_excl for ln in lines), Decimal(0))
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id=number.removeprefix("ORD")),
        number=number,
        status="processing",
        created_at=when,
        updated_at=when,
        customer=cust,
        shipping_address=cust.billing_address,
        lines=lines,
        total_excl=excl,
        total_incl=(excl * (1 + rate)).quantize(Decimal("0.01")),
        shipping_method="PostNL",
        payment_method="iDEAL",
        currency="EUR",
    )


# -- reading ---------------------------------------------------------------------------


def test_read_pages_until_a_short_page(app):
    counter = CallCounter()
    client = client_for(app, page_size=8, counter=counter)
    seen = requests_of(client)
    rows = list(client.read("AK1", "ARTICLE", fields=["ART_CODE"], sort_fields=["ART_CODE"]))
    assert [r["ART_CODE"] for r in rows] == KNOWN
    assert len(KNOWN) % 8 != 0 and len(KNOWN) > 16
    assert counter.calls == len(KNOWN) // 8 + 1
    pages = [
        (q["PageNumber"], q["PageSize"]) for m, path, q in seen if path.endswith("/accountviewdata")
    ]
    assert pages == [(str(n), "8") for n in range(1, len(KNOWN) // 8 + 2)]
    assert rows[0] == {"ART_CODE": KNOWN[0]}  # Fields honoured
    first = next(q for m, path, q in seen if path.endswith("/accountviewdata"))
    assert (first["BusinessObject"], first["Fields"], first["SortFields"]) == (
        "AK1",
        "ARTICLE.ART_CODE",
        "ART_CODE",
    )


def test_page_exactly_full_costs_one_empty_page(app):
    counter = CallCounter()
    client = client_for(app, page_size=len(KNOWN), counter=counter)
    assert len(list(client.read("AK1", "ARTICLE", fields=["ART_CODE"]))) == len(KNOWN)
    assert counter.calls == 2


def test_single_row_comes_as_an_object_and_reads_as_a_list(app):
    client = client_for(app)
    raw = client._http.get(
        "http://testserver/api/v3/accountviewdata",
        params={
            "BusinessObject": "AR1",
            "FilterControlSource1": "SUB_NR",
            "FilterOperator1": "Equal",
            "FilterValueType1": "C",
            "FilterValue1": "10001",
        },
        headers={"x-company": "SANDBOX"},
    ).json()
    assert isinstance(raw["CONTACT"], dict)
    [row] = client.lookup("AR1", "CONTACT", "SUB_NR", ["10001"], fields=["MAIL_BUS"])
    assert row == {"SUB_NR": "10001", "MAIL_BUS": DEMO.existing_debtors[0]["email"]}


def test_lookup_batches_values_in_list_filters(app):
    client = client_for(app, max_list_values=4)
    seen = requests_of(client)
    rows = list(client.lookup("AK1", "ARTICLE", "ART_CODE", [*KNOWN[:10], "NOPE"]))
    assert sorted(r["ART_CODE"] for r in rows) == sorted(KNOWN[:10])
    queries = [q for m, path, q in seen if path.endswith("/accountviewdata")]
    assert len(queries) == 3
    assert queries[0]["FilterIsListOfValues1"] == "true"
    assert queries[0]["FilterValue1"] == ",".join(KNOWN[:4])


def test_unknown_field_is_a_fatal_error_with_accountview_message(app):
    client = client_for(app)
    with pytest.raises(FatalError, match="Field 'NO_SUCH' does not exist in table ARTICLE"):
        list(client.read("AK1", "ARTICLE", fields=["NO_SUCH"]))


def test_error_in_a_200_body_is_fatal_and_not_retried():
    app = create_app(seed="demo", error_status=200)
    sleeps: list[float] = []
    counter = CallCounter()
    client = client_for(app, sleeps=sleeps, counter=counter)
    header, line = so_tables(debtor="99999")
    with pytest.raises(FatalError, match=r"-> 200 AccountViewError: Debtor '99999'") as exc:
        client.write("SO1", header, [line])
    assert not isinstance(exc.value, AuthError)
    assert (sleeps, counter.calls) == ([], 1)


def test_unknown_company_and_missing_x_company(app):
    client = client_for(app, company="OTHER")
    with pytest.raises(AuthError, match="403 AuthorizationError: No access to company 'OTHER'"):
        client.probe("AK1", "ARTICLE")
    client.authenticate()
    resp = client._http.get(
        "http://testserver/api/v3/accountviewdata", params={"BusinessObject": "AK1"}
    )
    assert resp.status_code == 400
    assert resp.json()["ErrorMessage"] == "The x-company header is required"


def test_token_fetched_once_and_renewed_once_on_401(app):
    client = client_for(app)
    client.probe("AK1", "ARTICLE")
    client.probe("AK1", "ARTICLE")
    assert client.auth.token_requests == 1
    with TestClient(app) as tc:
        tc.post("/_sandbox/expire_tokens")
    client.probe("AK1", "ARTICLE")
    assert client.auth.token_requests == 2
    assert inspect(app, "stats")["rejected_401"] == 1


def test_rotated_refresh_token_is_used_and_reported():
    app = create_app(seed=None, rotate_refresh_token=True)
    new: list[str] = []
    client = client_for(app, on_refresh_token=new.append)
    client.probe("AK1", "ARTICLE")
    with TestClient(app) as tc:
        tc.post("/_sandbox/expire_tokens")
    client.probe("AK1", "ARTICLE")  # the old refresh token is no longer valid
    assert len(new) == 2 and new[0] != new[1]


def test_rate_limit_429_honours_retry_after_clamped():
    app = create_app(seed=None, rate_limit_per_minute=3)
    sleeps: list[float] = []
    client = client_for(app, sleeps=sleeps)
    for _ in range(2):  # the token request counts too: the fourth request is refused
        client.probe("AK1", "ARTICLE")
    with pytest.raises(RetriableError, match="429"):
        client.probe("AK1", "ARTICLE")
    assert sleeps == [30.0] * 4  # Retry-After: 60, clamped to the policy's max_wait
    assert inspect(app, "stats")["rejected_429"] == 5


def test_client_paces_itself():
    app = create_app(seed=None)
    now = [100.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    client = AccountViewClient(
        "http://testserver",
        client_id="shopbridge",
        client_secret="sandbox-secret",
        refresh_token="sandbox-refresh",
        company_id="SANDBOX",
        http=TestClient(app),
        policy=RetryPolicy(sleep=sleep),
        max_per_second=3,
        clock=lambda: now[0],
    )
    for _ in range(4):
        client.probe("AK1", "ARTICLE")
    assert sleeps == [1.0]


# -- debtors ---------------------------------------------------------------------------


def test_match_debtors_is_batched_and_case_insensitive(target):
    emails = [c["email"] for c in DEMO.existing_debtors]
    seen = requests_of(target.client)
    found = target.find_debtors([e.upper() for e in emails] + ["nobody@example.nl"])
    assert set(found) == {e.lower() for e in emails}
    assert sorted(found.values(), key=int) == [
        str(FIRST_SEEDED_DEBTOR + i) for i in range(len(emails))
    ]
    gets = [q for m, _, q in seen if m == "GET"]
    assert len(gets) == (len(emails) + 1 + 4) // 5  # 5 values per list filter


def test_create_company_debtor_with_terms(app, target):
    terms = DebtorTerms(classification="B2B", tax_code="2", revenue_account="8010")
    code = target.create_debtor(customer(CustomerKind.COMPANY, "anna@bakkerij.nl"), terms)
    assert code == "20000"
    row = next(d for d in inspect(app, "debtors") if d["SUB_NR"] == code)
    assert (row["ACCT_NAME"], row["MAIN_CONT"], row["ACCT_NR"]) == (
        "Bakkerij de Vries",
        "Anna de Vries",
        "1300",
    )
    assert (row["ADDRESS1"], row["POST_CODE"], row["CNT_CODE"], row["VAT_NR"]) == (
        "Kerkstraat 12A",
        "1012 AB",
        "NL",
        "NL123456789B01",
    )
    assert (row["RPL_GRP"], row["VAT_CODE"], row["LNK_ACCT"]) == ("B2B", "2", "8010")
    assert target.find_debtors(["Anna@Bakkerij.nl"]) == {"anna@bakkerij.nl": code}
    second = target.create_debtor(
        customer(CustomerKind.PERSON, "bram@example.be", first_name="Bram", last_name="Peeters")
    )
    assert second == "20001"


def test_debtor_fingerprint_unchanged_then_changed(target):
    anna = customer(CustomerKind.COMPANY, "anna@bakkerij.nl")
    code = target.create_debtor(anna)
    match = target.match_debtors([anna.email])[anna.email]
    assert match.code == code
    assert match.fingerprint == target.debtor_fingerprint(anna)  # unchanged: no update
    moved = anna.model_copy(update={"phone": "+31 6 999"})
    assert match.fingerprint != target.debtor_fingerprint(moved)


def test_update_debtor_in_place_keeps_control_account(app, target):
    anna = customer(CustomerKind.COMPANY, "anna@bakkerij.nl")
    code = target.create_debtor(anna)
    target.options = TargetOptions(control_account="1310")  # only new debtors get it
    before = len(inspect(app, "debtors"))
    renamed = anna.model_copy(update={"company_name": "Bakkerij Anna", "phone": "+31 6 999"})
    target.update_debtor(code, renamed, DebtorTerms(classification="B2C"))
    debtors = inspect(app, "debtors")
    assert len(debtors) == before
    row = next(d for d in debtors if d["SUB_NR"] == code)
    assert (row["ACCT_NAME"], row["TEL_BUS"], row["RPL_GRP"], row["ACCT_NR"]) == (
        "Bakkerij Anna",
        "+31 6 999",
        "B2C",
        "1300",
    )
    assert target.match_debtors([anna.email])[anna.email].fingerprint == target.debtor_fingerprint(
        renamed
    )


def test_update_seeded_debtor_with_stale_details(app, target):
    seeded = DEMO.existing_debtors[1]
    code = target.find_debtors([seeded["email"]])[seeded["email"]]
    fresh = customer(CustomerKind.PERSON, seeded["email"], first_name="New", last_name="Name")
    assert target.match_debtors([fresh.email])[
        fresh.email
    ].fingerprint != target.debtor_fingerprint(fresh)
    target.update_debtor(code, fresh)
    row = next(d for d in inspect(app, "debtors") if d["SUB_NR"] == code)
    assert (row["ACCT_NAME"], row["MAIN_CONT"]) == ("New Name", "New Name")


def test_update_unknown_debtor_is_record_error_and_creates_nothing(app, target):
    before = len(inspect(app, "debtors"))
    with pytest.raises(RecordError, match="debtor 29999 not found"):
        target.update_debtor("29999", customer(CustomerKind.PERSON, "x@example.nl"))
    assert len(inspect(app, "debtors")) == before


def test_debtor_number_taken_meanwhile_is_skipped(app, target):
    target.create_debtor(customer(CustomerKind.PERSON, "first@example.nl"))  # reads numbers
    other = AccountViewTarget(client_for(app))
    assert other.create_debtor(customer(CustomerKind.PERSON, "other@example.nl")) == "20001"
    # target's cache still thinks 20001 is free: the check before the POST catches it
    assert target.create_debtor(customer(CustomerKind.PERSON, "late@example.nl")) == "20002"
    emails = {d["SUB_NR"]: d["MAIL_BUS"] for d in inspect(app, "debtors")}
    assert (emails["20000"], emails["20001"], emails["20002"]) == (
        "first@example.nl",
        "other@example.nl",
        "late@example.nl",
    )


def test_debtor_number_range_exhausted(app):
    target = AccountViewTarget(
        client_for(app), TargetOptions(debtor_number_start=10001, debtor_number_end=10002)
    )
    with pytest.raises(FatalError, match=r"no free debtor number left in 10001\.\.10002"):
        target.create_debtor(customer(CustomerKind.PERSON, "x@example.nl"))


def test_server_numbering():
    app = create_app(seed="demo", auto_sub_nr=True)
    target = AccountViewTarget(client_for(app), TargetOptions(debtor_numbering="server"))
    code = target.create_debtor(customer(CustomerKind.PERSON, "srv@example.nl"))
    assert code == str(int(demo_data.DEFAULT_DEBTOR["code"]) + 1)  # the sandbox's max + 1
    quiet = create_app(seed="demo", auto_sub_nr=True, post_echo=False)
    target = AccountViewTarget(client_for(quiet), TargetOptions(debtor_numbering="server"))
    assert target.create_debtor(customer(CustomerKind.PERSON, "srv@example.nl")) == code


def test_client_numbering_refused_without_sub_nr_by_default(app):
    target = AccountViewTarget(client_for(app), TargetOptions(debtor_numbering="server"))
    with pytest.raises(FatalError, match="SUB_NR"):
        target.create_debtor(customer(CustomerKind.PERSON, "srv@example.nl"))


# -- orders ----------------------------------------------------------------------------


def seeded_debtor(n: int = 0) -> str:
    return str(FIRST_SEEDED_DEBTOR + n)


def test_sales_order_arrives_with_lines(app, target):
    o = order(customer(CustomerKind.COMPANY, "anna@bakkerij.nl"), SELLABLE[:3])
    [number] = target.create_orders([OrderWrite(o, seeded_debtor(), "ORD30001")])
    [so] = inspect(app, "sales_orders")
    assert so["ORD_NR"] == number
    assert (so["RPL_INV"], so["RPL_DEL"], so["COMMENT1"], so["TO_EMAIL"]) == (
        seeded_debtor(),
        seeded_debtor(),
        "ORD30001",
        "anna@bakkerij.nl",
    )
    assert (so["DEL_ADDR1"], so["DEL_PC"], so["DEL_CITY"], so["DEL_CNT"]) == (
        "Kerkstraat 12A",
        "1012 AB",
        "Amsterdam",
        "NL",
    )
    assert so["ORD_DATE"].startswith("2026-11-17T10:00")  # 09:00 UTC on AccountView's clock
    assert [
        (
            ln["LINE_NR"],
            ln["ART_CODE"],
            Decimal(str(ln["ORD_QTY"])),
            Decimal(str(ln["ART_PX"])),
            Decimal(str(ln["DISC_AMT"])),
        )
        for ln in so["lines"]
    ] == [
        (n, ln.sku, ln.quantity, ln.unit_price_excl, ln.discount_excl)
        for n, ln in enumerate(o.lines, 1)
    ]
    assert target.find_orders(["ORD30001", "ORD-OTHER"]) == {"ORD30001": number}


def test_mapped_fields_override_and_add(app, target):
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), SELLABLE[:1])
    mapped = {
        "header": {"DEL_CODE": "POST", "RPL_INV": "hijack", "COMMENT1": "hijack"},
        "lines": [{"ART_DESC": "From the mapping", "ORD_QTY": "5"}],
    }
    target.create_orders([OrderWrite(o, seeded_debtor(), "ORD30001", mapped)])
    [so] = inspect(app, "sales_orders")
    assert (so["DEL_CODE"], so["RPL_INV"], so["COMMENT1"]) == ("POST", seeded_debtor(), "ORD30001")
    assert (so["lines"][0]["ART_DESC"], so["lines"][0]["ORD_QTY"]) == ("From the mapping", 5)


def test_sales_invoice_arrives_with_lines(app, target):
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), SELLABLE[:2], number="ORD30002")
    mapped = {
        "header": {"ORD_DATE": "ignored: not a DJ_PAGE field"},
        "lines": [{"ACCT_NR": "8100"}, {}],
    }
    [page] = target.create_orders(
        [OrderWrite(o, seeded_debtor(1), "ORD30002", mapped, kind="sales_invoice")]
    )
    [inv] = inspect(app, "invoices")
    assert inv["PAGE_NR"] == page
    assert (inv["DJ_CODE"], inv["SUB_NR"], inv["INV_NR"], inv["TRN_DATE"]) == (
        "VK",
        seeded_debtor(1),
        "ORD30002",
        "2026-11-17",
    )
    assert [
        (ln["ACCT_NR"], Decimal(str(ln["AMOUNT"])), ln["VAT_CODE"], ln["TRN_DESC"])
        for ln in inv["lines"]
    ] == [
        ("8100", o.lines[0].net_excl.quantize(Decimal("0.01")), "2", o.lines[0].description),
        ("8000", o.lines[1].net_excl.quantize(Decimal("0.01")), "2", o.lines[1].description),
    ]
    assert inspect(app, "sales_orders") == []
    assert target.find_orders(["ORD30002"], kind="direct_invoice") == {"ORD30002": page}
    assert target.find_orders(["ORD30002"]) == {}


def test_invoice_with_unmapped_vat_rate_is_refused_alone(app, target):
    cust = customer(CustomerKind.PERSON, "p@example.nl")
    odd = order(cust, SELLABLE[:1], number="ORD1", rate=Decimal("0.19"))
    fine = order(cust, SELLABLE[:1], number="ORD2")
    results = target.create_orders(
        [
            OrderWrite(odd, seeded_debtor(), "ORD1", kind="sales_invoice"),
            OrderWrite(fine, seeded_debtor(), "ORD2", kind="sales_invoice"),
        ]
    )
    assert isinstance(results[0], FatalError) and "no VAT code for 19%" in str(results[0])
    assert isinstance(results[1], str)
    assert [i["INV_NR"] for i in inspect(app, "invoices")] == ["ORD2"]


def test_batch_refused_is_settled_order_by_order(app):
    target = AccountViewTarget(client_for(app), TargetOptions(write_batch_size=10))
    cust = customer(CustomerKind.PERSON, "p@example.nl")
    writes = [
        OrderWrite(order(cust, SELLABLE[:2], number=f"ORD{n}"), seeded_debtor(), f"ORD{n}")
        for n in range(1, 4)
    ]
    writes[1] = OrderWrite(writes[1].order, "99999", "ORD2")  # unknown debtor
    seen = requests_of(target.client)
    results = target.create_orders(writes)
    assert isinstance(results[0], str) and isinstance(results[2], str)
    assert isinstance(results[1], FatalError)
    assert "Debtor '99999' (RPL_INV) does not exist" in str(results[1])
    assert sorted(o["COMMENT1"] for o in inspect(app, "sales_orders")) == ["ORD1", "ORD3"]
    posts = [p for m, p, _ in seen if m == "POST" and p.endswith("/accountviewdata")]
    assert len(posts) == 4  # the batch, then each order alone


def test_one_post_for_a_batch(app):
    target = AccountViewTarget(client_for(app), TargetOptions(write_batch_size=2))
    cust = customer(CustomerKind.PERSON, "p@example.nl")
    writes = [
        OrderWrite(order(cust, SELLABLE[: n + 1], number=f"ORD{n}"), seeded_debtor(n), f"ORD{n}")
        for n in range(3)
    ]
    before = inspect(app, "stats")["requests"]
    results = target.create_orders(writes)
    assert all(isinstance(r, str) for r in results) and len(set(results)) == 3
    assert inspect(app, "stats")["requests"] - before == 3  # token + 2 POSTs, no lookups
    assert [len(o["lines"]) for o in inspect(app, "sales_orders")] == [1, 2, 3]


def test_without_echo_numbers_are_looked_up():
    app = create_app(seed="demo", post_echo=False)
    target = AccountViewTarget(client_for(app))
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), SELLABLE[:1])
    [number] = target.create_orders([OrderWrite(o, seeded_debtor(), "ORD30001")])
    assert number == inspect(app, "sales_orders")[0]["ORD_NR"]


def test_find_orders_after_a_lost_answer(app, target):
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), SELLABLE[:2])
    with TestClient(app) as tc:
        tc.post(
            "/_sandbox/faults",
            json={
                "status": 503,
                "method": "POST",
                "path_contains": "accountviewdata",
                "after_commit": True,
            },
        )
    with pytest.raises(RetriableError, match="503"):
        target.create_orders([OrderWrite(o, seeded_debtor(), "ORD30001")])
    [so] = inspect(app, "sales_orders")  # it landed, and the POST was not repeated
    assert target.find_orders(["ORD30001"]) == {"ORD30001": so["ORD_NR"]}


def test_find_items_and_unknown_sku(target):
    assert target.find_items([*KNOWN, demo_data.UNKNOWN_SKU]) == set(KNOWN)


def test_journal_entry_is_not_supported(target):
    with pytest.raises(ConfigError, match="journal_entry"):
        target.find_orders(["x"], kind="journal_entry")


def test_writes_counted_and_state_persists(tmp_path):
    state = tmp_path / "av.json"
    app = create_app(seed="demo", state_file=state)
    code = AccountViewTarget(client_for(app)).create_debtor(
        customer(CustomerKind.PERSON, "keep@example.nl")
    )
    assert inspect(app, "stats")["writes"] == 1
    again = create_app(seed="demo", state_file=state)
    assert AccountViewTarget(client_for(again)).find_debtors(["keep@example.nl"]) == {
        "keep@example.nl": code
    }


def test_sandbox_validates_positional_rows(app):
    client = client_for(app)
    header, _ = so_tables()
    body_line = build_table(
        "SO_LINE",
        [{"RowId": "1", "HeaderId": "7", "ART_CODE": SELLABLE[0], "ORD_QTY": 1, "ART_PX": 1}],
    )
    with pytest.raises(FatalError, match="HeaderId '7'"):
        client.write("SO1", header, [body_line])
    bad_type = build_table(
        "SO_LINE",
        [{"RowId": "1", "HeaderId": "1", "ART_CODE": SELLABLE[0], "ORD_QTY": "many"}],
        overrides={"SO_LINE.ORD_QTY": "C"},
    )
    with pytest.raises(FatalError, match="ORD_QTY has type N, declared 'C'"):
        client.write("SO1", header, [bad_type])
    assert inspect(app, "sales_orders") == []


def test_client_and_target_are_airflow_free():
    import subprocess
    import sys

    code = (
        "import sys, shopbridge.connectors.accountview, shopbridge.connectors.accountview"
        ".target, shopbridge.connectors.accountview.defaults; "
        "print(any(m.startswith(('airflow', 'fastapi')) for m in sys.modules))"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"


@pytest.mark.parametrize("incl_tax", [False, True])
def test_default_mapping_fills_the_sales_order(app, target, incl_tax):
    from shopbridge.connectors.accountview.defaults import DEFAULTS
    from shopbridge.mapping.engine import Mapper
    from shopbridge.mapping.spec import EntityMapping, MappingSpec

    defaults = DEFAULTS.mappings[("lightspeed_ecom", "accountview", "orders")]
    if incl_tax:
        incl = DEFAULTS.incl_tax[("accountview", "orders")]
        defaults = EntityMapping(
            header={**defaults.header, **incl.header}, lines={**defaults.lines, **incl.lines}
        )
    o = order(customer(CustomerKind.COMPANY, "anna@bakkerij.nl"), SELLABLE[:2])
    mapped = Mapper(MappingSpec(), defaults, entity="orders").map_order(o, {}).as_dict()
    assert "RPL_INV" not in mapped["header"] and "COMMENT1" not in mapped["header"]
    target.create_orders([OrderWrite(o, seeded_debtor(), "ORD30001", mapped)])
    [so] = inspect(app, "sales_orders")
    assert (so["TO_EMAIL"], so["DEL_ADDR1"], so["CUR_CODE"], so["COMMENT1"]) == (
        "anna@bakkerij.nl",
        "Kerkstraat 12A",
        "EUR",
        "ORD30001",
    )
    assert so.get("INCL_VAT") is (True if incl_tax else None)
    price = o.lines[0].unit_price_incl if incl_tax else o.lines[0].unit_price_excl
    assert Decimal(str(so["lines"][0]["ART_PX"])) == price
    assert so["lines"][0]["ART_DESC"] == o.lines[0].description
