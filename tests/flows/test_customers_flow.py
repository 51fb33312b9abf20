"""The customers flow against both sandboxes in-process: what arrives in Exact Globe."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from shopbridge.config import CustomerSettings
from shopbridge.flows import customers
from shopbridge.flows.counts import summarize
from shopbridge_dev.sandboxes.demo_data import DEFAULT_DEBTOR, DEMO_START, generate
from tests.flows.conftest import SHIPPED, P, run_flow

SINCE = DEMO_START - timedelta(days=90)
AUTH = ("demo-key", "demo-secret")


def sync_customers(env, run_id: str = "c1", settings: CustomerSettings | None = None) -> dict:
    results = []
    for batch in customers.extract(env["source"], SINCE, DEMO_START, 50):
        mapped = customers.validate_and_map(env["source"], batch, SHIPPED.rules)
        target = env["target"]()
        looked = customers.lookup(target, env["ledger"], P, mapped)
        results.append(
            customers.load(target, env["ledger"], P, looked, run_id=run_id, settings=settings)
        )
    return summarize(results, keys=customers.SUMMARY_KEYS)


def test_customers_are_created_or_updated_once_per_email(env):
    data = generate("demo")
    summary = sync_customers(env)
    assert summary["customers_read"] == len(data.customers)
    stale = sum(1 for c in data.existing_debtors if c["phone"] == "+31 20 000 0000")
    assert summary["customers_created"] == len(data.customers) - len(data.existing_debtors)
    assert summary["customers_updated"] == stale
    assert summary["customers_unchanged"] == len(data.existing_debtors) - stale
    accounts = env["eg"].get("/_sandbox/accounts").json()
    emails = Counter(a["Email"].lower() for a in accounts if a["Email"])
    assert max(emails.values()) == 1
    by_email = {a["Email"].lower(): a for a in accounts}
    # customers without an e-mail are known by their webshop number: one account each
    nameless = [
        a["Name"] for a in accounts if not a["Email"] and a["Name"] != DEFAULT_DEBTOR["name"]
    ]
    no_email = [c for c in data.customers if not c["email"]]
    assert no_email and sorted(nameless) == sorted(
        c["company_name"] or f"{c['first_name']} {c['last_name']}" for c in no_email
    )
    for c in data.customers:
        if not c["email"]:
            continue
        account = by_email[c["email"]]
        # Globe's REST Account has no person flag: a company is the one with a VAT number
        assert bool(account.get("VATNumber")) is c["is_company"]
        assert account["Name"] == (
            c["company_name"] if c["is_company"] else f"{c['first_name']} {c['last_name']}"
        )
        assert account["Phone"] == c["phone"]
    # a second run finds every customer in the ledger: nothing written
    writes = env["eg"].get("/_sandbox/stats").json()["writes"]
    again = sync_customers(env, "c2")
    assert again["customers_created"] == again["customers_updated"] == 0
    assert env["eg"].get("/_sandbox/stats").json()["writes"] == writes


def test_orders_after_the_customers_flow_reuse_its_debtors(env):
    sync_customers(env)
    accounts = len(env["eg"].get("/_sandbox/accounts").json())
    summary = run_flow(env)
    assert summary["customers_created"] == summary["customers_updated"] == 0
    assert len(env["eg"].get("/_sandbox/accounts").json()) == accounts


def test_a_bad_customer_record_is_quarantined_naming_the_field(env):
    good = {
        "id": 9,
        "email": "x@example.nl",
        "firstname": "X",
        "lastname": "Y",
        "isCompany": False,
        "addressBillingStreet": "Kerkstraat",
        "addressBillingNumber": "1",
        "addressBillingZipcode": "1000 AA",
        "addressBillingCity": "Amsterdam",
        "addressBillingCountry": {"code": "nl"},
    }
    bad = {**good, "id": 10, "email": "not-an-email"}
    nameless = {
        **good,
        "id": 11,
        "isCompany": True,
        "companyName": "",
        "firstname": "",
        "lastname": "",
    }
    mapped = customers.validate_and_map(env["source"], [good, bad, nameless])
    assert [c["source_id"] for c in mapped["customers"]] == ["9"]
    fields = {q["source_id"]: q["field"] for q in mapped["counts"]["quarantined"]}
    assert fields["10"] == "email"
    assert fields["11"] in ("firstname", "companyName", "lastname")
    assert mapped["counts"]["customers_quarantined"] == 2


def test_classification_tax_code_and_revenue_account_per_country(env):
    settings = CustomerSettings(
        classification={"company": "B2B", "person": "B2C"},
        tax_code_by_country={"NL": "2", "BE": "5", "*": "0"},
        revenue_account_by_country={"NL": "8000", "BE": "8010", "DE": "8020", "FR": "8030"},
    )
    data = generate("demo")
    summary = sync_customers(env, settings=settings)
    by_email = {
        a["Email"].lower(): a for a in env["eg"].get("/_sandbox/accounts").json() if a["Email"]
    }
    for c in data.customers:
        if c["country"] == "GB" or not c["email"]:  # GB: no revenue account and no "*"
            continue
        account = by_email[c["email"]]
        country = c["country"] or "NL"  # none in the webshop: the pair's default_country
        assert account["Classification"] == ("B2B" if c["is_company"] else "B2C")
        assert account["VATCode"] == {"NL": "2", "BE": "5"}.get(country, "0")
        assert (
            account["RevenueGLAccount"]
            == {"NL": "8000", "BE": "8010", "DE": "8020", "FR": "8030"}[country]
        )
    gb = [c for c in data.customers if c["country"] == "GB"]
    assert gb and summary["customers_quarantined"] == len(gb)
    assert {q["field"] for q in summary["quarantined"]} == {"billing_address.country"}
    assert all("no revenue account for country GB" in q["reason"] for q in summary["quarantined"])
    # existing debtors got their terms too (updated, even where the contact details
    # matched), and a second run writes nothing
    assert summary["customers_unchanged"] == 0
    writes = env["eg"].get("/_sandbox/stats").json()["writes"]
    again = sync_customers(env, "c2", settings=settings)
    assert again["customers_created"] == again["customers_updated"] == 0
    assert env["eg"].get("/_sandbox/stats").json()["writes"] == writes
    # a changed table updates the debtors it touches, once
    changed = settings.model_copy(update={"tax_code_by_country": {"NL": "9", "*": "0"}})
    third = sync_customers(env, "c3", settings=changed)
    # 2->9, 5->0 (a customer without a country is in NL, the pair's default_country)
    touched = sum(1 for c in data.customers if (c["country"] or "NL") in ("NL", "BE"))
    assert third["customers_updated"] == touched
