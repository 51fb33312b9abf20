"""What a pair decides for records as real accounts hold them (``flows/records.py`` and the
debtor logic): totals that do not add up, no country, no SKU, no e-mail.

Asserted by what a bookkeeper would notice: which order was quarantined naming which
amounts, which debtor an order was booked on in the Exact Globe sandbox, what the ledger
keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.config import OrderSettings, RecordRules
from shopbridge.errors import RecordError
from shopbridge.flows import orders
from shopbridge.flows.records import Filled, check_totals, complete_order
from shopbridge.models import Address, Customer, ExternalRef, Order, OrderLine
from tests.flows.conftest import P, globe_orders

WHEN = datetime(2026, 11, 17, 10, tzinfo=UTC)
D = Decimal


def line(
    sku: str = "",
    article_code: str = "",
    ean: str = "",
    qty: str = "2",
    incl: str = "12.10",
    excl: str = "10.00",
) -> OrderLine:
    return OrderLine(
        sku=sku,
        article_code=article_code,
        ean=ean,
        description="Mug",
        quantity=D(qty),
        unit_price_excl=D(excl),
        unit_price_incl=D(incl),
        tax_rate=D("0.21"),
    )


def order(
    number: str = "1001",
    *,
    lines: tuple[OrderLine, ...] | None = None,
    total_incl: str = "28.15",
    total_excl: str = "24.00",
    country: str = "NL",
    email: str = "",
    customer_number: str = "C-77",
) -> Order:
    lines = lines or (line(sku="T-S-BLA-9001"),)
    customer = Customer(
        kind="person",
        email=email,
        customer_number=customer_number,
        first_name="Eva",
        last_name="Berg",
        billing_address=Address(street="Kerkstraat", city="Utrecht", country=country),
    )  # type: ignore[arg-type]
    return Order(
        ref=ExternalRef(system="lightspeed_ecom", id=number),
        number=f"ORD{number}",
        status="completed",
        payment_status="paid",
        created_at=WHEN,
        updated_at=WHEN,
        currency="EUR",
        customer=customer,
        shipping_address=Address(),
        lines=lines,
        total_excl=D(total_excl),
        total_incl=D(total_incl),
        shipping_cost_excl=D("4.00"),
        shipping_cost_incl=D("3.95"),
    )


def test_a_total_that_does_not_add_up_is_refused_naming_both_amounts() -> None:
    good = order()  # 2 x 12.10 + 3.95 = 28.15 incl.
    check_totals(good, D("0.02"))
    wrong = order(total_incl="42.15")
    with pytest.raises(RecordError) as err:
        check_totals(wrong, D("0.02"))
    assert err.value.field == "total_incl"
    assert "42.15" in err.value.reason and "28.15" in err.value.reason


def test_rounding_per_line_is_not_a_wrong_total() -> None:
    lines = tuple(line(sku=f"S{i}", qty="3", incl="2.8843", excl="2.3837") for i in range(4))
    check_totals(
        order(
            lines=lines,
            total_incl=str(D("2.8843") * 12 + D("3.95") - D("0.02")),
            total_excl=str(D("2.3837") * 12 + D("4.00")),
        ),
        D("0.02"),
    )


def test_missing_country_takes_the_pairs_default_and_is_counted() -> None:
    filled = Filled()
    got = complete_order(order(country=""), RecordRules(default_country="NL"), filled)
    assert got.customer.billing_address.country == "NL"
    assert got.shipping_address.country == "NL"  # the parcel goes where the buyer lives
    assert filled.countries_defaulted == 1
    with pytest.raises(RecordError) as err:
        complete_order(order(country=""), RecordRules(), Filled())
    assert err.value.field == "customer.billing_address.country"
    assert "default_country" in err.value.reason


@pytest.mark.parametrize(
    ("keys", "rule", "expected"),
    [
        (
            {"sku": "HOO-1", "article_code": "A-1", "ean": "871"},
            ("sku", "article_code", "ean"),
            "HOO-1",
        ),
        ({"article_code": "A-1", "ean": "871"}, ("sku", "article_code", "ean"), "A-1"),
        ({"sku": "HOO-1", "ean": "871"}, ("ean", "sku"), "871"),
        ({"ean": "871"}, ("sku", "article_code", "ean"), "871"),
    ],
)
def test_one_item_key_rule_picks_the_lines_item(
    keys: dict[str, str], rule: Any, expected: str
) -> None:
    got = complete_order(order(lines=(line(**keys),)), RecordRules(item_key=rule), Filled())
    assert got.lines[0].sku == expected


def test_a_line_without_the_rules_keys_is_refused_naming_the_line() -> None:
    with pytest.raises(RecordError) as err:
        complete_order(
            order(lines=(line(sku="HOO-1"), line(ean="871"))),
            RecordRules(item_key=("sku",)),
            Filled(),
            tolerance=None,
        )
    assert err.value.field == "lines[1].sku"
    assert "ean='871'" in err.value.reason


def _batch(*items: Order) -> dict[str, Any]:
    return {
        "orders": [o.model_dump(mode="json") for o in items],
        "mapped": {},
        "counts": orders.Counts(read=len(items)).as_dict(),
    }


def _book(
    env: dict[str, Any], batch: dict[str, Any], settings: OrderSettings | None, run_id: str
) -> dict[str, Any]:
    target = env["target"]()
    looked = orders.lookup(target, env["ledger"], P, batch, settings)
    return orders.load(target, env["ledger"], P, looked, run_id=run_id, settings=settings)


def test_a_customer_without_email_is_created_once_and_known_by_its_number(env) -> None:
    accounts = len(env["eg"].get("/_sandbox/accounts").json())
    first = _book(env, _batch(order("9001")), None, "r1")
    again = _book(env, _batch(order("9002")), None, "r2")
    assert (first["orders_created"], first["customers_created"]) == (1, 1)
    assert (again["orders_created"], again["customers_created"]) == (1, 0)
    assert len(env["eg"].get("/_sandbox/accounts").json()) == accounts + 1
    booked = {o["YourReference"]: o["OrderDebtor"] for o in globe_orders(env)}
    assert booked["ORD9001"] == booked["ORD9002"]
    row = env["ledger"].get(P, "customer", "number:C-77")
    assert row is not None and row.target_ref == booked["ORD9001"]


def test_customers_without_email_on_the_default_debtor_when_the_setting_says_so(env) -> None:
    settings = OrderSettings(default_debtor="59999", customers_without_email="default_debtor")
    with_email = order("9004", email="eva@example.nl", customer_number="C-78")
    result = _book(env, _batch(order("9003"), with_email), settings, "r1")
    assert result["orders_created"] == 2
    booked = {o["YourReference"]: o["OrderDebtor"] for o in globe_orders(env)}
    assert booked["ORD9003"] == "59999"
    assert booked["ORD9004"] != "59999"  # a customer with an e-mail still gets its own


def test_the_default_debtor_setting_needs_a_debtor() -> None:
    with pytest.raises(ValueError, match="needs default_debtor"):
        OrderSettings(customers_without_email="default_debtor")


def test_a_fee_counts_in_the_total_and_books_as_its_own_line_when_set() -> None:
    from shopbridge.config import ShippingLine
    from shopbridge.flows.prepare import prepare

    with_fee = order(total_incl="30.15", total_excl="25.65").model_copy(
        update={"fee_excl": D("1.65"), "fee_incl": D("2.00")}
    )
    check_totals(with_fee, D("0.02"))  # 2 x 12.10 + 3.95 + 2.00
    settings = OrderSettings(
        fee_line=ShippingLine(item_code="BETAALKOSTEN", description="Payment costs")
    )
    prepared = prepare(lambda _r: with_fee, {}, settings, None, RecordRules())
    assert prepared is not None
    fee_line = prepared[0].lines[-1]
    assert (fee_line.sku, fee_line.unit_price_incl, fee_line.description) == (
        "BETAALKOSTEN",
        D("2.00"),
        "Payment costs",
    )
