"""Lightspeed Retail as the target of customers, sales, items, matrices, categories and
stock: round trips against the in-process sandbox."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors.base import DebtorTerms, ImageUpload, ItemWrite, OrderWrite
from shopbridge.connectors.lightspeed_retail.target import IMAGES_REFUSED, LightspeedRetailTarget
from shopbridge.errors import ConfigError, FatalError, RecordError, RetriableError
from shopbridge.flows import orders as orders_flow
from shopbridge.models import Address, Customer, CustomerKind, ExternalRef, Order, OrderLine
from shopbridge.store.ledger import Ledger
from shopbridge_dev.sandboxes import demo_data

from .test_lightspeed_retail import Setup, setup

DEMO = demo_data.generate("demo")
CENT = Decimal("0.01")


def items(s: Setup) -> dict[str, dict[str, Any]]:
    return {i["customSku"]: i for i in s.control("items")}


def sales(s: Setup) -> list[dict[str, Any]]:
    return list(s.control("sales"))


def writes(s: Setup) -> int:
    return s.stats()["writes"]


def company(email: str = "inkoop@bakkerij-devries.nl", **kw: Any) -> Customer:
    fields: dict[str, Any] = {
        "kind": CustomerKind.COMPANY,
        "email": email,
        "first_name": "Anna",
        "last_name": "de Vries",
        "company_name": "Bakkerij de Vries",
        "vat_number": "NL123456789B01",
        "phone": "+31 20 1234567",
        "billing_address": Address(
            street="Kerkstraat",
            house_number="12",
            house_number_ext="A",
            postcode="1012 AB",
            city="Amsterdam",
            country="NL",
        ),
    }
    return Customer(**{**fields, **kw})


def person(email: str = "sem.bakker@example.be") -> Customer:
    return Customer(
        kind=CustomerKind.PERSON,
        email=email,
        first_name="Sem",
        last_name="Bakker",
        billing_address=Address(
            street="Dorpsstraat", house_number="3", postcode="9000", city="Gent", country="BE"
        ),
    )


def sellable(s: Setup, n: int) -> list[dict[str, Any]]:
    """``n`` seeded items that track stock, with their Default price (incl. tax)."""
    tracked = [i for i in s.control("items") if i["itemType"] == "default"]
    return tracked[:n]


def order(
    number: str,
    lines: list[tuple[str, Decimal, int]],
    *,
    customer: Customer | None = None,
    payment: str = "iDEAL",
    discount_incl: Decimal = Decimal(0),
) -> Order:
    """A Fortnox-like order: (SKU, unit price incl. 21 % tax, quantity) per line."""
    ols = []
    for sku, incl, qty in lines:
        excl = (incl / Decimal("1.21")).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        ols.append(
            OrderLine(
                sku=sku,
                quantity=Decimal(qty),
                unit_price_excl=excl,
                unit_price_incl=incl,
                tax_rate=Decimal("0.21"),
                discount_incl=discount_incl,
                discount_excl=(discount_incl / Decimal("1.21")).quantize(CENT),
            )
        )
    total_incl = sum((ln.net_incl for ln in ols), Decimal(0))
    total_excl = sum((ln.net_excl for ln in ols), Decimal(0))
    cust = customer or company()
    when = datetime(2026, 11, 17, 9, tzinfo=UTC)
    return Order(
        ref=ExternalRef(system="fortnox", id=number),
        number=number,
        status="booked",
        created_at=when,
        updated_at=when,
        customer=cust,
        shipping_address=cust.billing_address,
        lines=tuple(ols),
        total_excl=total_excl.quantize(CENT),
        total_incl=total_incl.quantize(CENT),
        payment_method=payment,
        currency="EUR",
    )


def write(
    o: Order, debtor: str = "", mapped: dict[str, Any] | None = None, kind: str = "sales_order"
) -> OrderWrite:
    return OrderWrite(o, debtor, o.number, mapped, kind=kind)


# --- customers ---------------------------------------------------------------------------


def test_match_debtors_finds_seeded_customers_case_insensitively() -> None:
    s = setup()
    target = s.target()
    emails = [c["email"] for c in DEMO.existing_debtors]
    found = target.match_debtors([e.upper() for e in emails] + ["nobody@example.nl"])
    assert set(found) == {e.lower() for e in emails}
    assert sorted(int(m.code) for m in found.values()) == list(range(1, len(emails) + 1))
    assert s.counter.calls == 1  # one IN query for up to 100 e-mails


def test_an_unchanged_seeded_customer_has_an_equal_fingerprint() -> None:
    s = setup()
    target = s.target()
    c = DEMO.existing_debtors[0]
    customer = Customer(
        kind=CustomerKind.COMPANY if c["is_company"] else CustomerKind.PERSON,
        email=c["email"],
        first_name=c["first_name"],
        last_name=c["last_name"],
        company_name=c["company_name"],
        vat_number=c["vat_number"],
        phone=c["phone"],
        billing_address=Address(
            street=c["street"],
            house_number=c["number"],
            house_number_ext=c["extension"],
            postcode=c["zipcode"],
            city=c["city"],
            country=c["country"],
        ),
    )
    match = target.match_debtors([c["email"]])[c["email"]]
    assert match.fingerprint == target.debtor_fingerprint(customer)
    moved = customer.model_copy(update={"phone": "+31 6 000"})
    assert match.fingerprint != target.debtor_fingerprint(moved)


def test_customer_create_match_update_round_trip() -> None:
    s = setup()
    target = s.target()
    new = company()
    code = target.create_debtor(new, DebtorTerms(classification="B2B", tax_code="1"))
    match = target.match_debtors([new.email])[new.email]
    assert match.code == code
    assert match.fingerprint == target.debtor_fingerprint(new)
    changed = new.model_copy(
        update={
            "phone": "+31 20 7654321",
            "billing_address": Address(
                street="Nieuwe Gracht",
                house_number="7",
                postcode="3512 LA",
                city="Utrecht",
                country="NL",
            ),
        }
    )
    target.update_debtor(code, changed, DebtorTerms(classification="B2B"))
    again = target.match_debtors([new.email])[new.email]
    assert again.fingerprint == target.debtor_fingerprint(changed) != match.fingerprint
    stored = next(c for c in s.control("customers") if c["customerID"] == code)
    assert (stored["company"], stored["vatNumber"], stored["firstName"]) == (
        "Bakkerij de Vries",
        "NL123456789B01",
        "Anna",
    )
    contact = stored["contact"]
    assert contact["Addresses"] == [
        {
            "address1": "Nieuwe Gracht 7",
            "address2": "",
            "city": "Utrecht",
            "zip": "3512 LA",
            "countryCode": "NL",
            "country": "NL",
        }
    ]
    assert contact["Phones"] == [{"number": "+31 20 7654321", "useType": "Work"}]
    assert contact["Emails"] == [{"address": new.email, "useType": "Primary"}]


def test_a_customer_without_email_phone_or_address_round_trips() -> None:
    s = setup()
    target = s.target()
    bare = Customer(
        kind=CustomerKind.PERSON, first_name="Vaste", last_name="Klant", customer_number="FN-C-77"
    )
    code = target.create_debtor(bare)
    read = s.client.get("Customer", code, load_relations=["Contact"])
    contact = read["Contact"]
    assert (contact["Emails"], contact["Phones"], contact["Addresses"]) == ("", "", "")
    from shopbridge.connectors.lightspeed_retail.translate import fingerprint

    assert fingerprint(read) == target.debtor_fingerprint(bare)


def test_a_person_customer_round_trips() -> None:
    s = setup()
    target = s.target()
    p = person()
    code = target.create_debtor(p)
    match = target.match_debtors([p.email])[p.email]
    assert match.code == code and match.fingerprint == target.debtor_fingerprint(p)
    stored = next(c for c in s.control("customers") if c["customerID"] == code)
    assert (stored["company"], stored["contact"]["Phones"]) == ("", [])


def test_update_of_a_missing_customer_is_a_record_error() -> None:
    s = setup()
    with pytest.raises(RecordError) as exc:
        s.target().update_debtor("9999", person())
    assert exc.value.field == "debtor_code"


# --- sales -------------------------------------------------------------------------------


def _price(item: dict[str, Any]) -> Decimal:
    return Decimal(item["prices"]["Default"])


def test_orders_become_completed_sales_with_a_balancing_payment() -> None:
    s = setup()
    target = s.target()
    a, b = sellable(s, 2)
    customer_id = target.create_debtor(company())
    o1 = order("FN-1001", [(a["customSku"], _price(a), 2), (b["customSku"], _price(b), 1)])
    o2 = order("FN-1002", [(b["customSku"], Decimal("19.99"), 3)], discount_incl=Decimal("5.00"))
    before = items(s)
    results = target.create_orders([write(o1, customer_id), write(o2, customer_id)])
    assert all(isinstance(r, str) for r in results)
    by_ref = {x["referenceNumber"]: x for x in sales(s)}
    sale = by_ref["FN-1001"]
    assert (sale["completed"], sale["referenceNumberSource"], sale["customerID"]) == (
        "true",
        "shopbridge",
        customer_id,
    )
    assert (sale["shopID"], sale["registerID"], sale["employeeID"]) == ("1", "1", "1")
    assert Decimal(sale["total"]) == o1.total_incl
    assert [p["amount"] for p in sale["SalePayments"]] == [sale["total"]]
    assert sale["SalePayments"][0]["paymentTypeID"] == "1"
    assert Decimal(sale["balance"]) == 0
    assert [(ln["itemID"], ln["unitQuantity"]) for ln in sale["SaleLines"]] == [
        (a["itemID"], "2"),
        (b["itemID"], "1"),
    ]
    second = by_ref["FN-1002"]
    assert Decimal(second["total"]) == Decimal("19.99") * 3 - 5 == o2.total_incl
    after = items(s)
    assert int(after[a["customSku"]]["shops"]["1"]) == int(before[a["customSku"]]["shops"]["1"]) - 2
    assert int(after[b["customSku"]]["shops"]["1"]) == int(before[b["customSku"]]["shops"]["1"]) - 4
    found = target.find_orders(["FN-1001", "FN-1002", "FN-0000"])
    assert found == {"FN-1001": results[0], "FN-1002": results[1]}


def test_a_shop_pricing_excl_tax_gets_excl_prices_and_tax_on_top() -> None:
    s = setup(tax_inclusive=False)
    target = s.target()
    (a,) = sellable(s, 1)
    o = order("FN-2001", [(a["customSku"], Decimal("12.10"), 3)])
    (sale_id,) = target.create_orders([write(o)])
    sale = next(x for x in sales(s) if x["saleID"] == sale_id)
    assert sale["SaleLines"][0]["unitPrice"] == "10"  # 12.10 / 1.21
    assert Decimal(sale["total"]) == Decimal("36.30") == Decimal(sale["calcPayments"])
    assert sale["customerID"] == "0"  # a walk-in sale: no debtor


def test_payment_type_from_the_settings_table_and_the_mapping() -> None:
    s = setup()
    target = s.target(payment_types={"ideal": 4, "*": 2})
    (a,) = sellable(s, 1)
    line = [(a["customSku"], _price(a), 1)]
    results = target.create_orders(
        [
            write(order("FN-3001", line, payment="iDEAL")),
            write(order("FN-3002", line, payment="PayPal")),
            write(
                order("FN-3003", line),
                mapped={"header": {"paymentTypeID": 3}, "lines": [{"customSku": a["customSku"]}]},
            ),
        ]
    )
    types = {x["referenceNumber"]: x["SalePayments"][0]["paymentTypeID"] for x in sales(s)}
    assert types == {"FN-3001": "4", "FN-3002": "2", "FN-3003": "3"}
    assert all(isinstance(r, str) for r in results)


def test_mapped_lines_decide_item_price_and_extra_fields() -> None:
    s = setup()
    target = s.target()
    a, b = sellable(s, 2)
    o = order("FN-4001", [(a["customSku"], Decimal("10.00"), 1)])
    mapped = {
        "header": {"shopID": "1", "referenceNumber": "HIJACK"},
        "lines": [
            {
                "customSku": b["customSku"],
                "unitPrice": "7.50",
                "unitQuantity": "2",
                "note": "gift wrap",
            }
        ],
    }
    (sale_id,) = target.create_orders([write(o, mapped=mapped)])
    sale = next(x for x in sales(s) if x["saleID"] == sale_id)
    assert sale["referenceNumber"] == "FN-4001"  # ours, whatever the mapping says
    line = sale["SaleLines"][0]
    assert (line["itemID"], line["unitPrice"], line["unitQuantity"]) == (b["itemID"], "7.5", "2")
    assert Decimal(sale["total"]) == Decimal("15.00")


def test_a_bad_line_is_that_orders_error_and_the_others_land() -> None:
    s = setup()
    target = s.target()
    (a,) = sellable(s, 1)
    good = order("FN-5001", [(a["customSku"], _price(a), 1)])
    unknown = order("FN-5002", [(a["customSku"], _price(a), 1), ("NOT-IN-POS", Decimal(1), 1)])
    results = target.create_orders([write(unknown), write(good)])
    assert isinstance(results[0], FatalError) and "lines[1].sku" in str(results[0])
    assert "NOT-IN-POS" in str(results[0])
    assert isinstance(results[1], str)
    fractional = order("FN-5003", [(a["customSku"], _price(a), 1)])
    fractional = fractional.model_copy(
        update={"lines": (fractional.lines[0].model_copy(update={"quantity": Decimal("1.5")}),)}
    )
    with pytest.raises(RecordError) as exc:
        target.create_order(OrderWrite(fractional, debtor_code="", reference="FN-5003"))
    assert exc.value.field == "lines[0].quantity"
    assert [x["referenceNumber"] for x in sales(s)] == ["FN-5001"]


def test_a_sale_lightspeed_cannot_balance_is_refused_and_named() -> None:
    s = setup(tax_inclusive=False)
    target = s.target(prices_include_tax=True)  # wrong: the shop adds tax on top
    (a,) = sellable(s, 1)
    (result,) = target.create_orders(
        [write(order("FN-6001", [(a["customSku"], Decimal("10.00"), 1)]))]
    )
    assert isinstance(result, FatalError)
    assert "sale FN-6001" in str(result) and "balanced" in str(result)
    assert sales(s) == []


def test_a_sale_lightspeed_keeps_open_is_refused_archived_and_never_found() -> None:
    # the vendor keeps a sale it cannot complete open with a balance (unbalanced_sales="open")
    s = setup(tax_inclusive=False, unbalanced_sales="open")
    target = s.target(prices_include_tax=True)  # wrong: the shop adds tax on top
    (a,) = sellable(s, 1)
    (result,) = target.create_orders(
        [write(order("FN-6002", [(a["customSku"], Decimal("10.00"), 1)]))]
    )
    assert isinstance(result, FatalError)
    text = str(result)
    assert "sale FN-6002" in text and "completed false" in text
    assert "completed sale of 10.00" in text and "not counted as created" in text
    (sale,) = sales(s)
    assert (sale["completed"], sale["archived"]) == ("false", "true")
    assert sale["referenceNumberSource"] == "shopbridge-unconfirmed"
    assert target.find_orders(["FN-6002"]) == {}  # a replay books it again


def test_an_open_sale_with_our_reference_is_not_a_booked_one() -> None:
    s = setup()
    target = s.target()
    (a,) = sellable(s, 1)
    s.client.create(
        "Sale",
        {
            "employeeID": "1",
            "registerID": "1",
            "shopID": "1",
            "completed": "false",
            "referenceNumber": "FN-6003",
            "referenceNumberSource": "shopbridge",
            "SaleLines": {"SaleLine": {"itemID": a["itemID"], "unitQuantity": "1"}},
        },
    )
    assert target.find_orders(["FN-6003"]) == {}


def test_a_lost_answer_is_not_retried_and_the_sale_is_found() -> None:
    s = setup()
    target = s.target()
    (a,) = sellable(s, 1)
    s.fault(status=503, path_contains="/Sale.json", method="POST", after_commit=True)
    with pytest.raises(RetriableError):
        target.create_orders([write(order("FN-7001", [(a["customSku"], _price(a), 1)]))])
    assert len(sales(s)) == 1  # committed once, never sent again
    assert set(target.find_orders(["FN-7001"])) == {"FN-7001"}


def test_other_order_types_are_a_config_error() -> None:
    s = setup()
    target = s.target()
    with pytest.raises(ConfigError, match="not supported by Lightspeed Retail; known: sales_order"):
        target.find_orders(["X"], kind="sales_invoice")
    with pytest.raises(ConfigError):
        target.create_orders([write(order("FN-1", [("X", Decimal(1), 1)]), kind="journal_entry")])
    with pytest.raises(ConfigError, match="customerID"):
        target.create_order(
            OrderWrite(
                order("FN-2", [(sellable(s, 1)[0]["customSku"], Decimal(1), 1)]),
                debtor_code="60001-A",
                reference="FN-2",
            )
        )


def test_orders_flow_retried_after_a_lost_answer_creates_nothing_twice(tmp_path: Any) -> None:
    s = setup()
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    integration = "fortnox__lightspeed_retail"
    a, b = sellable(s, 2)
    batch = [
        order("FN-8001", [(a["customSku"], _price(a), 1)]),
        order("FN-8002", [(b["customSku"], _price(b), 2)], customer=person()),
    ]
    counts = orders_flow.Counts(read=len(batch)).as_dict()
    mapped = {"orders": [o.model_dump(mode="json") for o in batch], "mapped": {}, "counts": counts}
    looked = orders_flow.lookup(s.target(), ledger, integration, mapped)
    assert looked["missing_skus"] == [] and looked["existing"] == {}
    customers = len(s.control("customers"))
    s.fault(status=503, path_contains="/Sale.json", method="POST", after_commit=True)
    with pytest.raises(RetriableError):
        orders_flow.load(s.target(), ledger, integration, looked, run_id="run#load[0]")
    # Airflow retries the task: same owner, same input, a fresh target
    result = orders_flow.load(s.target(), ledger, integration, looked, run_id="run#load[0]")
    # the sale whose answer was lost counts as created by this run (it was), once
    assert (result["orders_created"], result["orders_skipped_existing"]) == (2, 0)
    assert len(s.control("customers")) == customers + 2  # created by the first attempt
    assert sorted(x["referenceNumber"] for x in sales(s)) == ["FN-8001", "FN-8002"]
    again = orders_flow.load(s.target(), ledger, integration, looked, run_id="run2#load[0]")
    assert again["orders_created"] == 0 and len(sales(s)) == 2
    ledger.close()


# --- items and matrices ------------------------------------------------------------------


def test_find_items_by_custom_sku_in_one_query() -> None:
    s = setup()
    target = s.target()
    skus = [sku for sku in items(s) if sku]  # the barcode-only item has no customSku
    assert target.find_items([*skus, demo_data.UNKNOWN_SKU]) == set(skus)
    assert s.counter.calls == 1


def test_match_items_by_sku_and_by_ean() -> None:
    s = setup()
    target = s.target()
    seeded = list(items(s).values())
    a, b = seeded[0], seeded[1]
    found = target.match_items([a["customSku"], "NEW-SKU"], [b["ean"], "0000000000000"])
    assert found == {f"sku:{a['customSku']}": a["customSku"], f"ean:{b['ean']}": b["customSku"]}


def test_simple_item_create_and_update() -> None:
    s = setup()
    target = s.target()
    cats = target.ensure_categories([("Office", "Stationery")])
    item = ItemWrite(
        code="FN-PEN-01",
        categories=(cats[("Office", "Stationery")],),
        fields={
            "description": "Vulpen",
            "ean": "8712345678906",
            "price": Decimal("24.95"),
            "msrp": "29.95",
            "defaultCost": Decimal("9.10"),
            "qoh": 7,
            "tax": True,
        },
    )
    target.create_item(item)
    got = items(s)["FN-PEN-01"]
    assert (got["description"], got["ean"], got["defaultCost"], got["tax"]) == (
        "Vulpen",
        "8712345678906",
        "9.10",
        "true",
    )
    assert got["prices"] == {"Default": "24.95", "MSRP": "29.95"}
    assert got["categoryID"] == cats[("Office", "Stationery")]
    assert got["shops"]["1"] == "7" and got["itemMatrixID"] == "0"
    fresh = s.target()
    assert fresh.match_items(["FN-PEN-01"], []) == {"sku:FN-PEN-01": "FN-PEN-01"}
    fresh.update_item(
        "FN-PEN-01",
        ItemWrite(
            code="FN-PEN-01", fields={"description": "Vulpen zwart", "price": "26.50", "qoh": 99}
        ),
    )
    got = items(s)["FN-PEN-01"]
    assert got["description"] == "Vulpen zwart"
    assert got["prices"] == {"Default": "26.5", "MSRP": "29.95"}
    assert got["shops"]["1"] == "7"  # qoh is the stock flow's after the create
    assert got["defaultCost"] == "9.10"  # a field left out keeps its value


def test_configurable_item_matrix_with_three_variants() -> None:
    s = setup()
    target = s.target()
    cats = target.ensure_categories([("Clothing", "Shirts")])
    shirts = cats[("Clothing", "Shirts")]
    target.create_item(
        ItemWrite(
            code="FN-TEE",
            is_parent=True,
            categories=(shirts,),
            fields={
                "description": "Organic tee",
                "price": "25.00",
                "defaultCost": "8",
                "customSku": "ignored-on-a-matrix",
                "ean": "8712345678913",
            },
        )
    )
    for n, size in enumerate(("S", "M", "L"), start=1):
        target.create_item(
            ItemWrite(
                code=f"FN-TEE-{size}",
                parent="FN-TEE",
                categories=(shirts,),
                fields={
                    "description": f"Organic tee {size}",
                    "customSku": f"FN-TEE-{size}",
                    "ean": f"871234567891{n}",
                    "price": "25.00",
                    "attribute1": "Green",
                    "attribute2": size,
                    "qoh": n,
                },
            )
        )
    matrix = next(m for m in s.control("matrices") if m["description"] == "Organic tee")
    assert matrix["items"] == ["FN-TEE-S", "FN-TEE-M", "FN-TEE-L"]
    assert (matrix["itemAttributeSetID"], matrix["categoryID"]) == ("4", shirts)
    assert matrix["attribute2Values"] == ["S", "M", "L"]
    assert [(p["useType"], p["amount"]) for p in matrix["Prices"]["ItemPrice"]] == [
        ("Default", "25"),
        ("MSRP", "0"),
    ]
    assert "customSku" not in matrix and "ean" not in matrix
    got = items(s)
    for n, size in enumerate(("S", "M", "L"), start=1):
        v = got[f"FN-TEE-{size}"]
        assert v["itemMatrixID"] == matrix["itemMatrixID"]
        assert v["manufacturerSku"] == "FN-TEE"  # the parent's SKU, to find it by
        assert v["ItemAttributes"] == {
            "attribute1": "Green",
            "attribute2": size,
            "itemAttributeSetID": "4",
        }
        assert v["shops"]["1"] == str(n)
    # a later run (a fresh target, as in a new task) finds parent and variants by SKU
    fresh = s.target()
    found = fresh.match_items(["FN-TEE", "FN-TEE-S", "FN-TEE-M", "FN-TEE-L"], [])
    assert found == {f"sku:{c}": c for c in ("FN-TEE", "FN-TEE-S", "FN-TEE-M", "FN-TEE-L")}
    fresh.update_item(
        "FN-TEE",
        ItemWrite(
            code="FN-TEE",
            is_parent=True,
            fields={"description": "Organic tee 2.0", "price": "27.00"},
        ),
    )
    fresh.update_item(
        "FN-TEE-M",
        ItemWrite(
            code="FN-TEE-M", parent="FN-TEE", fields={"price": "27.00", "attribute1": "Olive"}
        ),
    )
    matrix = next(m for m in s.control("matrices") if m["itemMatrixID"] == matrix["itemMatrixID"])
    assert matrix["description"] == "Organic tee 2.0"
    m = items(s)["FN-TEE-M"]
    assert (m["prices"]["Default"], m["ItemAttributes"]["attribute1"]) == ("27", "Olive")


def test_refused_items_name_the_item() -> None:
    s = setup()
    target = s.target()
    existing = next(iter(items(s)))
    with pytest.raises(FatalError, match=f"item {existing}.*already used"):
        target.create_item(ItemWrite(code=existing, fields={"description": "Twin"}))
    with pytest.raises(FatalError, match=r"item FN-X.*11-14 digits"):
        target.create_item(ItemWrite(code="FN-X", fields={"description": "X", "ean": "12"}))
    with pytest.raises(RecordError, match="no matrix"):
        target.create_item(
            ItemWrite(code="FN-V", parent="FN-NOPARENT", fields={"description": "V"})
        )
    with pytest.raises(RecordError) as exc:
        target.update_item("FN-MISSING", ItemWrite(code="FN-MISSING", fields={"price": 1}))
    assert exc.value.field == "customSku"
    with pytest.raises(RecordError, match="whole quantities"):
        target.create_item(ItemWrite(code="FN-Q", fields={"description": "Q", "qoh": "1.5"}))


def test_ensure_categories_creates_missing_parents_first_and_renames() -> None:
    s = setup()
    target = s.target()
    seeded = {c["fullPathName"]: c["categoryID"] for c in s.control("categories")}
    ids = target.ensure_categories(
        [("Clothing", "Shirts"), ("Garden", "Tools"), ("Home", "kitchen")]
    )
    assert ids[("Clothing", "Shirts")] == seeded["Clothing/Shirts"]
    assert ids[("Clothing",)] == seeded["Clothing"]
    assert ids[("Home", "kitchen")] == seeded["Home/Kitchen"]  # same node, renamed
    after = {c["fullPathName"]: c for c in s.control("categories")}
    assert after["Garden/Tools"]["parentID"] == ids[("Garden",)]
    assert after["Garden/Tools"]["nodeDepth"] == "1"
    assert "Home/kitchen" in after and "Home/Kitchen" not in after
    before = s.counter.calls
    assert target.ensure_categories([("Garden", "Tools"), ("Home", "kitchen")]) == {
        k: v for k, v in ids.items() if k[0] in ("Garden", "Home")
    }
    assert s.counter.calls - before == 1  # an unchanged tree costs its one read
    assert target.ensure_categories([]) == {}


def test_images_are_refused_as_a_config_error() -> None:
    s = setup()
    with pytest.raises(ConfigError) as exc:
        s.target().put_image("X", ImageUpload("a.png", b"x", "image/png", 0, "h"))
    assert (
        str(exc.value)
        == IMAGES_REFUSED
        == ("Lightspeed Retail does not take product images through this integration")
    )


# --- stock -------------------------------------------------------------------------------


def test_set_stock_writes_qoh_only_when_it_changed() -> None:
    s = setup()
    target = s.target()
    (a,) = sellable(s, 1)
    sku = a["customSku"]
    assert target.find_items([sku]) == {sku}
    before = s.counter.calls
    target.set_stock(sku, Decimal(12), managed=True)
    target.set_stock(sku, Decimal(12), managed=True)  # unchanged: no request
    assert s.counter.calls - before == 1
    got = items(s)[sku]
    assert (got["shops"]["1"], got["shops"]["0"]) == ("12", "12")
    row = next(r for r in got["itemShops"] if r["shopID"] == "1")
    assert row["timeStamp"] > a["timeStamp"]
    assert got["timeStamp"] == a["timeStamp"]  # the Item's own stamp does not move [V]


def test_unmanaged_stock_switches_the_item_type_and_writes_no_qoh() -> None:
    s = setup()
    target = s.target()
    (a,) = sellable(s, 1)
    sku = a["customSku"]
    target.set_stock(sku, Decimal(3), managed=False)
    got = items(s)[sku]
    assert got["itemType"] == "non_inventory" and got["shops"]["1"] == a["shops"]["1"]
    poster = next(
        i for i in s.control("items") if i["itemType"] == "non_inventory" and i["customSku"] != sku
    )
    target.set_stock(poster["customSku"], Decimal(8), managed=True)
    got = items(s)[poster["customSku"]]
    assert (got["itemType"], got["shops"]["1"]) == ("default", "8")


def test_stock_in_the_shop_the_location_names() -> None:
    s = setup(n_shops=2)
    target = s.target()
    (a,) = sellable(s, 1)
    sku = a["customSku"]
    target.set_stock(sku, Decimal(4), managed=True, location="2")
    got = items(s)[sku]
    assert (got["shops"]["1"], got["shops"]["2"]) == (a["shops"]["1"], "4")
    assert got["shops"]["0"] == str(int(a["shops"]["1"]) + 4)
    with pytest.raises(FatalError, match=f"stock of item {sku} in shop 3.*Shop 3 not found"):
        target.set_stock(sku, Decimal(1), managed=True, location="3")
    with pytest.raises(ConfigError, match="not a Lightspeed shopID"):
        target.set_stock(sku, Decimal(1), managed=True, location="Amsterdam")


def test_stock_of_an_unknown_sku_or_a_fraction_is_a_record_error() -> None:
    s = setup()
    target = s.target()
    with pytest.raises(RecordError) as exc:
        target.set_stock("NOT-IN-POS", Decimal(1), managed=True)
    assert (exc.value.entity, exc.value.field) == ("stock", "customSku")
    (a,) = sellable(s, 1)
    with pytest.raises(RecordError, match="whole quantities"):
        target.set_stock(a["customSku"], Decimal("2.5"), managed=True)


def test_the_target_satisfies_every_protocol_at_runtime() -> None:
    s = setup()
    target = s.target()
    for name in (
        "find_orders",
        "match_debtors",
        "debtor_fingerprint",
        "find_items",
        "create_debtor",
        "update_debtor",
        "create_order",
        "create_orders",
        "match_items",
        "ensure_categories",
        "create_item",
        "update_item",
        "put_image",
        "set_stock",
        "close",
    ):
        assert callable(getattr(target, name))
    assert isinstance(target, LightspeedRetailTarget) and target.system == "lightspeed_retail"
    assert target.counter is s.client.counter
    with TestClient(s.app):
        pass


# --- the products flow with Lightspeed Retail as its target ---------------------------------


class _Source:
    """A product source holding canonical products as its raw records."""

    system = "fortnox"

    def __init__(self) -> None:
        from shopbridge.connectors.base import CallCounter

        self.counter = CallCounter()

    def product_id(self, record: dict[str, Any]) -> str:
        return str(record["ref"]["id"])

    def to_product(self, record: dict[str, Any]) -> Any:
        from shopbridge.models import Product

        return Product.model_validate(record)

    def fetch_image(self, url: str) -> tuple[bytes, str]:
        raise AssertionError("images are off for this pair")

    def iter_product_records(self, start: datetime, end: datetime) -> Any:
        return iter(())

    def close(self) -> None:
        pass


def _products(title: str) -> list[dict[str, Any]]:
    from shopbridge.models import Category, Product, Variant

    when = datetime(2026, 11, 16, tzinfo=UTC)
    tee = Product(
        ref=ExternalRef(system="fortnox", id="100"),
        sku="FN-HOODIE",
        title=title,
        categories=(Category(path=("Clothing", "Hoodies")),),
        updated_at=when,
        variants=tuple(
            Variant(
                sku=f"FN-HOODIE-{s}",
                ean=f"871234567890{n}",
                title=s,
                price_excl=Decimal("41.32"),
                price_incl=Decimal("50.00"),
                attributes={"Size": s},
                quantity=Decimal(n),
            )
            for n, s in enumerate(("S", "M", "L"), start=1)
        ),
    )
    mug = Product(
        ref=ExternalRef(system="fortnox", id="101"),
        sku="FN-MUG",
        title="Mok",
        updated_at=when,
        variants=(
            Variant(
                sku="FN-MUG",
                price_excl=Decimal("8.26"),
                price_incl=Decimal("10.00"),
                quantity=Decimal(9),
            ),
        ),
    )
    return [p.model_dump(mode="json") for p in (tee, mug)]


def test_products_flow_creates_a_matrix_and_updates_it_on_the_next_run(tmp_path: Any) -> None:
    from shopbridge.config import ProductSettings
    from shopbridge.connectors.lightspeed_retail.defaults import DEFAULTS
    from shopbridge.flows import products as products_flow
    from shopbridge.mapping.engine import Mapper
    from shopbridge.mapping.spec import EntityMapping, MappingSpec

    s = setup()
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    integration = "fortnox__lightspeed_retail"
    settings = ProductSettings(
        attributes={"Size": "attribute1"}, images=False, prices_include_tax=True
    )
    base = DEFAULTS.mappings[("fortnox", "lightspeed_retail", "products")]
    incl = DEFAULTS.incl_tax[("lightspeed_retail", "products")]
    mapper = Mapper(
        MappingSpec(),
        EntityMapping(header=base.header, lines={**base.lines, **incl.lines}),
        entity="products",
    )
    source = _Source()

    def run(title: str, run_id: str) -> dict[str, Any]:
        mapped = products_flow.validate_and_map(source, _products(title), settings, mapper)
        looked = products_flow.lookup(s.target(), ledger, integration, mapped, settings)
        return products_flow.load(
            s.target(), ledger, integration, looked, run_id=run_id, settings=settings, source=source
        )

    first = run("Fleece", "run1")
    assert (first["products_created"], first["items_created"]) == (2, 5)
    matrix = next(m for m in s.control("matrices") if m["description"] == "Fleece")
    assert matrix["items"] == ["FN-HOODIE-S", "FN-HOODIE-M", "FN-HOODIE-L"]
    got = items(s)
    assert got["FN-HOODIE-M"]["prices"]["Default"] == "50"
    assert got["FN-HOODIE-M"]["ItemAttributes"]["attribute1"] == "M"
    assert got["FN-HOODIE-M"]["shops"]["1"] == "2" and got["FN-MUG"]["shops"]["1"] == "9"
    second = run("Fleece zip", "run2")
    assert (second["products_updated"], second["items_created"]) == (1, 0)
    assert [
        m["description"]
        for m in s.control("matrices")
        if m["itemMatrixID"] == matrix["itemMatrixID"]
    ] == ["Fleece zip"]
    assert sum(1 for m in s.control("matrices") if "Fleece" in m["description"]) == 1
    ledger.close()
