"""Exact Globe client and target against the sandbox, in-process (STYLE R13, R14)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # starlette warns that it wants httpx2 (a UserWarning, so filterwarnings=error trips on
    # it at import); TestClient still works on httpx 0.28. Imported before .suite on purpose.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, OrderWrite
from shopbridge.connectors.exact_globe.client import ExactGlobeClient, make_auth
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.connectors.exact_globe.translate import order_lines, transaction_key
from shopbridge.errors import AuthError, ConfigError, FatalError
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from shopbridge_dev.sandboxes import demo_data
from shopbridge_dev.sandboxes.exact_globe.app import create_app

from .suite import Harness, connector_suite

DEMO = demo_data.generate("demo")


def client_for(
    app: FastAPI,
    *,
    password: str = "globe",
    page_size: int = 100,
    sleeps: list[float] | None = None,
    counter: CallCounter | None = None,
    headers: dict[str, str] | None = None,
) -> ExactGlobeClient:
    sleeps = sleeps if sleeps is not None else []
    client = ExactGlobeClient(
        "http://testserver",
        server_name="sandbox",
        database_name="600",
        auth=make_auth("basic", "globe", password),
        http=TestClient(app),
        policy=RetryPolicy(sleep=sleeps.append),
        counter=counter,
        page_size=page_size,
    )
    client.headers.update(headers or {})
    return client


def make() -> Harness:
    app = create_app(seed="demo")
    sleeps: list[float] = []
    counter = CallCounter()
    good = client_for(app, sleeps=sleeps, counter=counter)
    bad = client_for(app, password="wrong", sleeps=sleeps, counter=counter)
    return Harness(
        app=app,
        probe=lambda: list(good.query("Items", select=["ItemCode"])),
        probe_bad_auth=lambda: list(bad.query("Items", select=["ItemCode"])),
        rejected_write=lambda: good.create(
            "SalesOrderHeader",
            {"TransactionKey": "nothing-staged", "OrderDebtor": "60001", "YourReference": "x"},
            retry=True,
        ),
        counter=counter,
        sleeps=sleeps,
    )


TestExactGlobeSuite = connector_suite(make)


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


@pytest.fixture
def target(app: FastAPI) -> ExactGlobeTarget:
    return ExactGlobeTarget(client_for(app, page_size=7))


def inspect(app: FastAPI, what: str) -> list[dict]:
    with TestClient(app) as tc:
        return tc.get(f"/_sandbox/{what}").json()


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


def order(cust: Customer, skus: list[str]) -> Order:
    prices = {p["sku"]: p for p in DEMO.products}
    lines = tuple(
        OrderLine(
            sku=s,
            description=prices[s]["title"],
            quantity=Decimal(n + 1),
            unit_price_excl=prices[s]["price_excl"],
            unit_price_incl=(prices[s]["price_excl"] * Decimal("1.21")).quantize(Decimal("0.0001")),
            tax_rate=Decimal("0.21"),
        )
        for n, s in enumerate(skus)
    )
    excl = sum((ln.unit_price_excl * ln.quantity for ln in lines), Decimal(0))
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    return Order(
        currency="EUR",
        ref=ExternalRef(system="lightspeed_ecom", id="30001"),
        number="ORD30001",
        status="processing",
        created_at=when,
        updated_at=when,
        customer=cust,
        shipping_address=cust.billing_address,
        lines=lines,
        total_excl=excl,
        total_incl=(excl * Decimal("1.21")).quantize(Decimal("0.01")),
        shipping_method="PostNL",
        payment_method="iDEAL",
    )


KNOWN = [
    p["sku"]
    for p in (*DEMO.products, *demo_data.ERP_ONLY_ITEMS)
    if p["sku"] != demo_data.UNKNOWN_SKU
]


def test_query_pages_across_several_pages(app):
    counter = CallCounter()
    client = client_for(app, page_size=7, counter=counter)
    rows = list(client.query("Items", select=["ItemCode"]))
    assert sorted(r["ItemCode"] for r in rows) == sorted(KNOWN)
    assert len(KNOWN) > 7
    assert counter.calls == len(KNOWN) // 7 + 1
    assert set(rows[0]) == {"__metadata", "ItemCode"}  # $select honoured (+ OData metadata)


def test_find_items_knows_all_but_unknown_sku(target):
    assert target.find_items([*KNOWN, demo_data.UNKNOWN_SKU]) == set(KNOWN)


def test_find_debtors_is_case_insensitive(target):
    emails = [c["email"] for c in DEMO.existing_debtors]
    found = target.find_debtors([e.upper() for e in emails] + ["nobody@example.nl"])
    assert set(found) == {e.lower() for e in emails}
    assert sorted(found.values()) == [str(60001 + i) for i in range(len(emails))]


def test_find_with_quote_in_value(target):
    assert target.find_debtors(["o'brien@example.ie"]) == {}


def test_create_company_debtor_with_contact(app, target):
    code = target.create_debtor(customer(CustomerKind.COMPANY, "anna@bakkerij.nl"))
    assert int(code) >= 60001 + len(DEMO.existing_debtors)
    acc = next(a for a in inspect(app, "accounts") if a["DebtorCode"] == code)
    assert acc["AccountName"] == acc["Name"] == "Bakkerij de Vries"  # documented + stored
    assert "IsPerson" not in acc  # not a documented Account field: never sent
    assert acc["VATNumber"] == "NL123456789B01"
    assert acc["AddressLine1"] == "Kerkstraat 12A"
    [contact] = acc["contacts"]
    assert (contact["FirstName"], contact["LastName"], contact["IsDefault"]) == (
        "Anna",
        "de Vries",
        True,
    )
    assert target.find_debtors(["Anna@Bakkerij.nl"]) == {"anna@bakkerij.nl": code}


def test_create_person_debtor(app, target):
    code = target.create_debtor(
        customer(CustomerKind.PERSON, "bram@example.be", first_name="Bram", last_name="Peeters")
    )
    acc = next(a for a in inspect(app, "accounts") if a["DebtorCode"] == code)
    assert (
        acc["AccountName"],
        acc["CustomerType"],
        acc["AccountStatus"],
        acc.get("VATNumber", ""),
    ) == ("Bram Peeters", "C", "A", "")
    assert [c["Email"] for c in acc["contacts"]] == ["bram@example.be"]


def test_update_debtor_in_place(app, target):
    code = target.create_debtor(customer(CustomerKind.COMPANY, "anna@bakkerij.nl"))
    before = len(inspect(app, "accounts"))
    target.update_debtor(
        code,
        customer(
            CustomerKind.COMPANY,
            "anna@bakkerij.nl",
            company_name="Bakkerij Anna",
            phone="+31 6 999",
            last_name="Jansen",
        ),
    )
    accounts = inspect(app, "accounts")
    assert len(accounts) == before
    acc = next(a for a in accounts if a["DebtorCode"] == code)
    assert (acc["Name"], acc["Phone"]) == ("Bakkerij Anna", "+31 6 999")
    [contact] = acc["contacts"]
    assert (contact["LastName"], contact["Phone"]) == ("Jansen", "+31 6 999")


def test_update_seeded_person_adds_missing_contact(app, target):
    seeded = next(c for c in DEMO.existing_debtors if not c["is_company"])
    code = target.find_debtors([seeded["email"]])[seeded["email"]]
    target.update_debtor(
        code, customer(CustomerKind.PERSON, seeded["email"], first_name="New", last_name="Name")
    )
    acc = next(a for a in inspect(app, "accounts") if a["DebtorCode"] == code)
    assert acc["Name"] == "New Name"
    assert [c["FirstName"] for c in acc["contacts"]] == ["New"]


def test_update_unknown_debtor_is_record_error(target):
    from shopbridge.errors import RecordError

    with pytest.raises(RecordError, match="99999"):
        target.update_debtor("99999", customer(CustomerKind.PERSON, "x@example.nl"))


def test_create_order_then_find_it(app, target):
    code = target.find_debtors([DEMO.existing_debtors[0]["email"]]).popitem()[1]
    o = order(customer(CustomerKind.COMPANY, "anna@bakkerij.nl"), KNOWN[:3])
    number = target.create_order(OrderWrite(o, debtor_code=code, reference="ls-30001"))
    [committed] = inspect(app, "orders")
    assert committed["OrderNumber"] == number
    assert (committed["OrderDebtor"], committed["YourReference"]) == (code, "ls-30001")
    assert committed["AmountDC"] == format(o.total_excl, "f")
    assert [
        (ln["LineNumber"], ln["Itemcode"], Decimal(ln["Quantity"]), Decimal(ln["Price"]))
        for ln in committed["lines"]
    ] == [(n, ln.sku, ln.quantity, ln.unit_price_excl) for n, ln in enumerate(o.lines, 1)]
    assert target.find_orders(["ls-30001", "ls-other"]) == {"ls-30001": number}


def test_retried_line_posts_do_not_duplicate(app):
    client = client_for(app)
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), KNOWN[:2])
    key = transaction_key("ls-retry")
    for _ in range(3):  # as if every line POST were retried after a lost response
        for line in order_lines(o, key):
            client.create("SalesOrderLine", line, retry=True)
    client.create(
        "SalesOrderHeader",
        {"TransactionKey": key, "OrderDebtor": "60001", "YourReference": "ls-retry"},
        retry=False,
    )
    [committed] = inspect(app, "orders")
    assert [ln["LineNumber"] for ln in committed["lines"]] == [1, 2]


def test_retried_header_cannot_commit_twice(app, target):
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), KNOWN[:1])
    target.create_order(OrderWrite(o, debtor_code="60001", reference="ls-1"))
    key = transaction_key("ls-1", revision=o.content_hash()[:16])
    with pytest.raises(FatalError, match="No sales order lines staged"):
        target.client.create(
            "SalesOrderHeader",
            {"TransactionKey": key, "OrderDebtor": "60001", "YourReference": "ls-1"},
            retry=False,
        )
    assert len(inspect(app, "orders")) == 1


def test_unknown_debtor_is_fatal_with_vendor_message(app, target):
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), KNOWN[:1])
    with pytest.raises(FatalError, match="Customer 60093 not found") as exc:
        target.create_order(OrderWrite(o, debtor_code="60093", reference="ls-2"))
    assert "400 ValidationError" in str(exc.value)
    assert inspect(app, "orders") == []


def test_unknown_item_is_fatal_naming_it(target):
    o = order(customer(CustomerKind.PERSON, "p@example.nl"), KNOWN[:1])
    bad = o.model_copy(update={"lines": (o.lines[0].model_copy(update={"sku": "NOPE-1"}),)})
    with pytest.raises(FatalError, match="Item NOPE-1 not found"):
        target.create_order(OrderWrite(bad, debtor_code="60001", reference="ls-3"))


def test_missing_database_name_is_clear(app):
    client = client_for(app)
    del client.headers["DatabaseName"]
    with pytest.raises(FatalError, match="missing header DatabaseName"):
        client.probe()


def test_unknown_administration_is_clear(app):
    client = client_for(app, headers={"DatabaseName": "999"})
    with pytest.raises(FatalError, match="unknown DatabaseName '999'"):
        client.probe()


def test_401_challenges_ntlm_and_basic(app):
    with TestClient(app) as tc:
        resp = tc.get("/services/Exact.Entity.REST.EG/Items")
    assert resp.status_code == 401
    assert resp.headers.get_list("WWW-Authenticate") == ["NTLM", 'Basic realm="Exact Globe"']
    assert inspect(app, "stats")  # control routes need no auth


def test_require_ntlm_refuses_basic():
    app = create_app(seed=None, require_ntlm=True)
    with pytest.raises(AuthError, match="NTLM"):
        client_for(app).probe()
    with TestClient(app) as tc:
        resp = tc.get("/services/Exact.Entity.REST.EG/Items")
    assert resp.headers.get_list("WWW-Authenticate") == ["NTLM"]


def test_merge_get_and_put(app):
    client = client_for(app)
    [acc] = list(client.query("Account", filter="DebtorCode eq '60001'"))
    client.merge("Account", acc["ID"], {"PhoneNumber": "+31 1", "DebtorCode": "X"})
    with TestClient(app) as tc:
        tc.auth = httpx.BasicAuth("globe", "globe")
        url = f"/services/Exact.Entity.REST.EG/Account(guid'{acc['ID']}')"
        hdrs = {"ServerName": "sandbox", "DatabaseName": "600"}
        assert tc.put(url, json={"MailingCity": "Gent"}, headers=hdrs).status_code == 204
        got = tc.get(url, headers=hdrs).json()["d"]
    assert (got["PhoneNumber"], got["MailingCity"], got["DebtorCode"].strip()) == (
        "+31 1",
        "Gent",
        "60001",
    )


def test_filter_dates_and_numbers(app):
    client = client_for(app)
    assert (
        len(
            list(
                client.query(
                    "SalesOrderHeader",
                    filter="Modified le datetime'2030-02-01T00:00:00'"
                    " and Modified ge datetime'2026-01-01T00:00:00'",
                )
            )
        )
        == 5
    )
    [row] = client.query("Account", filter="DebtorCode eq 60002", select=["DebtorCode"])
    assert row["DebtorCode"].strip() == "60002"
    with pytest.raises(FatalError, match="unsupported"):
        list(client.query("Account", filter="substringof('a', AccountName)"))


def test_writes_counted_and_state_persists(tmp_path):
    state = tmp_path / "globe.json"
    app = create_app(seed="demo", state_file=state)
    code = ExactGlobeTarget(client_for(app)).create_debtor(
        customer(CustomerKind.PERSON, "keep@example.nl")
    )
    assert inspect(app, "stats")["writes"] == 2
    again = create_app(seed="demo", state_file=state)
    assert ExactGlobeTarget(client_for(again)).find_debtors(["keep@example.nl"]) == {
        "keep@example.nl": code
    }


def test_make_auth_rejects_unknown_kind():
    with pytest.raises(ConfigError, match="ntlm, basic"):
        make_auth("kerberos", "u", "p")
    assert make_auth("ntlm", "DOMAIN\\u", "p").__class__.__name__ == "NtlmAuth"


# -- hook ------------------------------------------------------------------------------------


def globe_conn(**extra: object) -> object:
    import json

    from airflow.sdk import Connection

    return Connection(
        conn_id="globe",
        conn_type="exact_globe",
        host="127.0.0.1",
        port=1,
        login="globe",
        password="globe",
        extra=json.dumps({"server_name": "sandbox", "database_name": "600", **extra}),
    )


def test_settings_from_connection():
    from shopbridge.connectors.exact_globe.hook import ExactGlobeHook

    s = ExactGlobeHook("globe").settings_from(globe_conn(auth="basic", page_size=50))
    assert (s.base_url, s.auth, s.page_size, s.database_name) == (
        "http://127.0.0.1:1",
        "basic",
        50,
        "600",
    )
    assert s.password.get_secret_value() == "globe"
    assert ExactGlobeHook("globe").settings_from(globe_conn()).auth == "ntlm"


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"database_name": ""}, "'globe': extra.database_name is required"),
        ({"server_name": None}, "'globe': extra.server_name is required"),
        ({"auth": "kerberos"}, "'globe': extra.auth"),
    ],
)
def test_settings_errors_name_connection_and_field(extra, match):
    from shopbridge.connectors.exact_globe.hook import ExactGlobeHook

    with pytest.raises(ConfigError, match=match):
        ExactGlobeHook("globe").settings_from(globe_conn(**extra))


def test_settings_need_a_host():
    from airflow.sdk import Connection

    from shopbridge.connectors.exact_globe.hook import ExactGlobeHook

    conn = Connection(
        conn_id="globe",
        conn_type="exact_globe",
        extra='{"server_name": "s", "database_name": "600"}',
    )
    with pytest.raises(ConfigError, match="'globe': host is required"):
        ExactGlobeHook("globe").settings_from(conn)


@pytest.fixture
def hook_on(monkeypatch):
    """An ExactGlobeHook whose Connection is ``conn`` and whose client talks to ``app``."""
    from shopbridge.connectors.exact_globe import hook as hook_mod

    real = ExactGlobeClient.from_settings.__func__

    def build(conn: object, app: FastAPI | None) -> object:
        h = hook_mod.ExactGlobeHook("globe")
        monkeypatch.setattr(h, "get_connection", lambda _id: conn)
        if app is not None:

            def from_settings(cls, settings, **kw):
                return real(cls, settings, http=TestClient(app), **kw)

            monkeypatch.setattr(
                hook_mod.ExactGlobeClient, "from_settings", classmethod(from_settings)
            )
        return h

    return build


def test_hook_test_connection_messages(hook_on):
    app = create_app(seed=None)
    ok, msg = hook_on(globe_conn(auth="basic"), app).test_connection()
    assert ok, msg
    ok, msg = hook_on(
        globe_conn(auth="basic"), create_app(seed=None, password="x")
    ).test_connection()
    assert not ok and "refused the credentials" in msg
    ok, msg = hook_on(
        globe_conn(auth="basic", database_name="999"), create_app(seed=None)
    ).test_connection()
    assert not ok and "administration '999'" in msg and "unknown DatabaseName" in msg


def test_hook_test_connection_unreachable(hook_on):
    ok, msg = hook_on(globe_conn(auth="basic"), None).test_connection()
    assert not ok and "cannot reach Exact Globe at http://127.0.0.1:1" in msg


def test_hook_get_target(hook_on):
    target = hook_on(globe_conn(auth="basic", page_size=5), create_app(seed="demo")).get_target()
    assert target.system == "exact_globe" and target.client.page_size == 5
    assert target.find_items(KNOWN[:3]) == set(KNOWN[:3])


def test_client_target_and_package_are_airflow_free():
    import subprocess
    import sys

    code = (
        "import sys, shopbridge.connectors.exact_globe, shopbridge.connectors.exact_globe"
        ".target; print(any(m.startswith(('airflow', 'fastapi')) for m in sys.modules))"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"


@pytest.mark.parametrize("require_ntlm", [False, True])
def test_ntlm_against_a_server_that_breaks_the_handshake_is_auth_error(require_ntlm):
    app = create_app(seed=None, require_ntlm=require_ntlm)
    client = client_for(app)
    client._http.auth = make_auth("ntlm", "DOMAIN\\globe", "globe")
    with pytest.raises(AuthError, match="401"):
        client.probe()


def test_server_driven_paging_and_orderby_read_every_row_once():
    """A Globe capping its pages below $top (``__next`` links) and a stable $orderby:
    every item once, in key order, and the __count agrees."""
    app = create_app(seed="demo", max_page_size=3)
    client = client_for(app, page_size=5)
    rows = list(client.query("Items", select=["ItemCode"], orderby=["ItemCode desc"], count=True))
    codes = [r["ItemCode"] for r in rows]
    assert sorted(codes) == sorted(KNOWN) and codes == sorted(codes, reverse=True)


def test_sandbox_refuses_an_unknown_orderby():
    with pytest.raises(FatalError, match="orderby"):
        list(client_for(make().app).query("Items", orderby=["ItemCode sideways"]))
