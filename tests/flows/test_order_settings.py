"""Each order setting, shown by what arrives in the Exact Globe sandbox."""

from __future__ import annotations

from decimal import Decimal

from shopbridge.config import OrderSettings, ShippingLine
from shopbridge_dev.sandboxes.demo_data import DEFAULT_DEBTOR, UNKNOWN_SKU
from tests.flows.conftest import N, globe_orders, run_flow

AUTH = ("demo-key", "demo-secret")


def ls_orders(env) -> list[dict]:
    return env["ls"].get("/nl/orders.json", params={"limit": 250}, auth=AUTH).json()["orders"]


def test_only_paid_orders_are_sent(env):
    unpaid = ls_orders(env)[:3]
    for o in unpaid:
        r = env["ls"].post(
            "/_sandbox/orders",
            json={"id": o["id"], "paymentStatus": "not_paid", "updatedAt": o["updatedAt"]},
        )
        assert r.status_code == 200, r.text
    summary = run_flow(env, settings=OrderSettings(payment_statuses=("paid",)))
    assert summary["orders_skipped_status"] == 3
    booked = {o["YourReference"] for o in globe_orders(env)}
    assert not booked & {o["number"] for o in unpaid}
    assert summary["orders_created"] == N - 3 - 1  # minus the unpaid and the unknown SKU


def test_status_filter_on_order_status(env):
    summary = run_flow(env, settings=OrderSettings(statuses=("completed_shipped",)))
    booked = globe_orders(env)
    shipped = {o["number"] for o in ls_orders(env) if o["status"] == "completed_shipped"}
    assert {o["YourReference"] for o in booked} <= shipped
    assert summary["orders_skipped_status"] == N - len(shipped)


def test_default_debtor_books_every_order_on_one_debtor(env):
    accounts_before = env["eg"].get("/_sandbox/accounts").json()
    summary = run_flow(env, settings=OrderSettings(default_debtor=DEFAULT_DEBTOR["code"]))
    assert summary["orders_created"] == N - 1
    assert summary["customers_created"] == summary["customers_updated"] == 0
    assert {o["OrderDebtor"] for o in globe_orders(env)} == {DEFAULT_DEBTOR["code"]}
    assert env["eg"].get("/_sandbox/accounts").json() == accounts_before


def test_unknown_default_debtor_quarantines_with_the_erps_reason(env):
    summary = run_flow(env, settings=OrderSettings(default_debtor="00000"))
    assert summary["orders_created"] == 0
    reasons = {q["reason"] for q in summary["quarantined"] if q["field"] == "(target)"}
    assert any("00000" in r and "not found" in r for r in reasons), reasons


def test_shipping_costs_as_their_own_line_and_totals_reconcile_to_the_cent(env):
    settings = OrderSettings(shipping_line=ShippingLine(item_code="VERZENDKOSTEN"))
    summary = run_flow(env, settings=settings)
    assert summary["orders_created"] == N - 1
    source = {o["number"]: o for o in ls_orders(env)}
    for booked in globe_orders(env):
        lines = booked["lines"]
        ship = [ln for ln in lines if ln["Itemcode"] == "VERZENDKOSTEN"]
        src = source[booked["YourReference"]]
        assert len(ship) == 1
        assert Decimal(ship[0]["Price"]) == Decimal(str(src["shipmentPriceExcl"]))
        total = sum(
            Decimal(ln["Price"]) * Decimal(ln["Quantity"]) - Decimal(ln["DiscountAmount"])
            for ln in lines
        )
        assert total == Decimal(str(src["priceExcl"])), booked["YourReference"]
        assert Decimal(booked["AmountDC"]) == total


def test_unknown_shipping_article_quarantines_naming_the_line(env):
    settings = OrderSettings(shipping_line=ShippingLine(item_code="NO-SUCH-ITEM"))
    summary = run_flow(env, settings=settings)
    assert summary["orders_created"] == 0
    assert summary["orders_quarantined"] == N
    fields = {q["field"] for q in summary["quarantined"]}
    assert all(f.startswith("lines[") and f.endswith("].sku") for f in fields)
    assert any(
        "NO-SUCH-ITEM" in q["reason"] or UNKNOWN_SKU in q["reason"] for q in summary["quarantined"]
    )


def test_booked_orders_get_their_status_written_back_once(env):
    settings = OrderSettings(
        confirm_in_source={"customStatusId": 7, "memo": "Exact Globe order {target_id}"}
    )
    summary = run_flow(env, settings=settings)
    assert summary["orders_confirmed_in_source"] == N - 1
    by_number = {o["number"]: o for o in ls_orders(env)}
    booked = {o["YourReference"] for o in globe_orders(env)}
    globe_number = {o["YourReference"]: o["OrderNumber"] for o in globe_orders(env)}
    for number, order in by_number.items():
        assert (order["customStatusId"] == 7) == (number in booked), number
        if number in booked:  # the ERP's order number, back in the webshop order
            assert order["memo"] == f"Exact Globe order {globe_number[number]}"
    # a second run writes nothing back again
    again = run_flow(env, settings=settings, run_id="r2")
    assert again["orders_confirmed_in_source"] == 0


def test_order_type_sales_invoice_or_direct_invoice(env):
    for kind, code in (("sales_invoice", "I"), ("direct_invoice", "D")):
        settings = OrderSettings(order_type=kind)
        summary = run_flow(env, settings=settings, run_id=kind)
        invoices = [i for i in env["eg"].get("/_sandbox/invoices").json() if i["Type"] == code]
        if kind == "sales_invoice":
            assert summary["orders_created"] == N - 1
            assert len(invoices) == N - 1
            assert all(i["lines"] and i["InvoiceNumber"] for i in invoices)
        else:
            # the webshop orders are already invoiced: found by reference, not doubled
            assert summary["orders_created"] == 0
            assert invoices == []
    assert globe_orders(env) == []
    again = run_flow(env, settings=OrderSettings(order_type="sales_invoice"), run_id="again")
    assert again["orders_created"] == 0
    assert len(env["eg"].get("/_sandbox/invoices").json()) == N - 1


def _reconciles(booked: dict, src: dict) -> Decimal:
    return sum(
        (
            Decimal(ln["Price"]) * Decimal(ln["Quantity"]) - Decimal(ln["DiscountAmount"])
            for ln in booked["lines"]
        ),
        Decimal(0),
    ) - Decimal(str(src["priceExcl"]))


def test_discounts_as_line_discounts_spread_the_coupon_over_the_lines(env):
    settings = OrderSettings(shipping_line=ShippingLine(item_code="VERZENDKOSTEN"))
    run_flow(env, settings=settings)
    source = {o["number"]: o for o in ls_orders(env)}
    booked = globe_orders(env)
    with_coupon = [b for b in booked if source[b["YourReference"]]["discountCouponCode"]]
    with_line = [
        b
        for b in booked
        if any(Decimal(str(p)) for p in [ln["DiscountAmount"] for ln in b["lines"]])
    ]
    assert with_coupon
    assert len(with_line) >= len(with_coupon)
    assert all(ln["Itemcode"] != "KORTING" for b in booked for ln in b["lines"])
    for b in booked:
        assert _reconciles(b, source[b["YourReference"]]) == 0, b["YourReference"]


def test_discounts_as_their_own_lines(env):
    settings = OrderSettings(
        shipping_line=ShippingLine(item_code="VERZENDKOSTEN"),
        discounts={"book_as": "lines", "item_code": "KORTING"},
    )
    run_flow(env, settings=settings)
    source = {o["number"]: o for o in ls_orders(env)}
    booked = globe_orders(env)
    discounted = 0
    for b in booked:
        src = source[b["YourReference"]]
        assert all(Decimal(ln["DiscountAmount"]) == 0 for ln in b["lines"])
        korting = [ln for ln in b["lines"] if ln["Itemcode"] == "KORTING"]
        if src["discountCouponCode"] or any(
            p["discountExcl"]
            for p in env["ls"]
            .get(f"/nl/orders/{src['id']}/products.json", auth=AUTH)
            .json()["orderProducts"]
        ):
            assert korting and all(Decimal(ln["Price"]) < 0 for ln in korting)
            discounted += 1
        else:
            assert korting == []
        assert _reconciles(b, src) == 0, b["YourReference"]
    assert discounted > 0


def test_journal_entry_per_order_balances_and_books_revenue_per_country(env, tmp_path):
    import yaml

    from shopbridge.config import load_integration
    from tests.flows.conftest import SHIPPED, P

    accounts = {
        "journal": "70",
        "receivable_account": "1300",
        "revenue_account": "8000",
        "vat_account": "1500",
    }
    data = yaml.safe_load(SHIPPED.model_dump_json())
    data["flows"]["orders"]["orders"] |= {
        "order_type": "journal_entry",
        "journal_entry": accounts,
        "shipping_line": {"item_code": "VERZENDKOSTEN"},
    }
    data["mapping"] = {
        "value_maps": {
            "revenue": {"values": {"NL": "8000"}, "default": "8100", "on_missing": "default"}
        },
        "orders": {
            "lines": {"GLAccount": "order.customer.billing_address.country | lookup(revenue)"}
        },
    }
    path = tmp_path / f"{P}.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_integration(path)
    summary = run_flow(env, settings=cfg.flows["orders"].orders, mapper=cfg.mapper("orders"))
    assert summary["orders_created"] == N - 1
    entries = env["eg"].get("/_sandbox/journal").json()
    assert len(entries) == N - 1
    assert globe_orders(env) == []
    source = {o["number"]: o for o in ls_orders(env)}
    for e in entries:
        src = source[e["YourReference"]]
        amounts = [Decimal(ln["AmountDC"]) for ln in e["lines"]]
        assert sum(amounts) == 0
        receivable = [ln for ln in e["lines"] if ln["GLAccount"] == "1300"]
        assert [Decimal(ln["AmountDC"]) for ln in receivable] == [Decimal(str(src["priceIncl"]))]
        assert receivable[0]["Debtor"] == e["Debtor"]
        revenue = {ln["GLAccount"] for ln in e["lines"] if ln["GLAccount"] not in ("1300", "1500")}
        country = src["addressBillingCountry"]["code"].upper() or "NL"  # default_country
        assert revenue == {"8000" if country == "NL" else "8100"}
        vat = -sum(
            (Decimal(ln["AmountDC"]) for ln in e["lines"] if ln["GLAccount"] == "1500"), Decimal(0)
        )
        assert vat == Decimal(str(src["priceIncl"])) - Decimal(str(src["priceExcl"]))
    again = run_flow(
        env, settings=cfg.flows["orders"].orders, mapper=cfg.mapper("orders"), run_id="r2"
    )
    assert again["orders_created"] == 0
