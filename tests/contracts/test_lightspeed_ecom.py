"""Lightspeed eCom payloads (recorded, or the vendor's documented examples) through the
connector's real client + source, then translate + map under each shipped pair's defaults.

What a bookkeeper checks: number, date, customer, each line's item key, quantity, unit
price, tax rate, shipping, discount, currency, totals. See ``SOURCES.md``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.connectors.lightspeed_ecom.translate import (
    customer_from_lightspeed,
    order_from_lightspeed,
    product_from_lightspeed,
    shipment_from_lightspeed,
)
from shopbridge.connectors.lightspeed_ecom.webhooks import delivery_records
from shopbridge.errors import AuthError, FatalError, RecordError
from tests.contracts.pipeline import map_records
from tests.contracts.shape import recorded, recorded_bytes

SYSTEM = "lightspeed_ecom"
#: every pair with a Lightspeed eCom orders flow
ORDER_PAIRS = (
    "lightspeed_ecom__exact_globe",
    "lightspeed_ecom__accountview",
    "lightspeed_ecom__ccv_salespos",
    "lightspeed_ecom__buckles",
)
#: what each pair's default mapping calls the line's unit price and quantity
UNIT_PRICE_FIELD = {
    "lightspeed_ecom__exact_globe": ("Price", "Quantity"),
    "lightspeed_ecom__accountview": ("ART_PX", "ORD_QTY"),
    "lightspeed_ecom__ccv_salespos": ("price", "count"),
    "lightspeed_ecom__buckles": ("price", "qty"),
}
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def body(name: str) -> bytes:
    return recorded_bytes(SYSTEM, name)


def source_for(
    routes: dict[str, Callable[[httpx.Request], httpx.Response]],
) -> tuple[LightspeedEcomSource, list[str]]:
    """The real client + source over a MockTransport; ``routes`` maps a path suffix (after
    the language) to a responder. Unrouted paths answer the recorded 404."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/", 2)[2]  # "/us/orders.json" -> "orders.json"
        seen.append(path)
        for suffix, respond in routes.items():
            if path == suffix:
                return respond(request)
        return httpx.Response(404, content=body("error.404"))

    client = LightspeedEcomClient(
        "https://api.shoplightspeed.com",
        "us",
        "key",
        "secret",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        policy=RetryPolicy(sleep=lambda _s: None),
    )
    return LightspeedEcomSource(client), seen


def raw(name: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _r: httpx.Response(
        200, content=body(name), headers={"Content-Type": "application/json"}
    )


def as_json(payload: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _r: httpx.Response(200, json=payload)


def documented_order() -> dict[str, Any]:
    """Lightspeed's documented order (``GET orders/1623550.json``): 6 x anacampseros."""
    order: dict[str, Any] = recorded(SYSTEM, "order.detail")["order"]
    return order


def shop_route(name: str) -> Callable[[httpx.Request], httpx.Response]:
    """``shop.json``: the documented body as recorded; the live row (recorded without its
    envelope) in the ``{"shop": ...}`` envelope the API sends."""
    return raw(name) if name == "shop.detail" else as_json({"shop": recorded(SYSTEM, name)})


def order_source(
    order: dict[str, Any], shop: str = "shop.detail"
) -> tuple[LightspeedEcomSource, list[str]]:
    """The order as the list serves it (its lines only referenced) and its lines from
    ``orders/{id}/products.json``: the two calls the source makes, plus ``shop.json``."""
    lines = order["products"]["resource"]["embedded"]
    row = copy.deepcopy(order)
    del row["products"]["resource"]["embedded"]
    return source_for(
        {
            "orders.json": as_json({"orders": [row]}),
            f"orders/{order['id']}/products.json": as_json({"orderProducts": lines}),
            "shop.json": shop_route(shop),
        }
    )


# --- the documented order: 6 x 7.35 incl. is a line of 44.10 --------------------------------


@pytest.mark.parametrize("pair", ORDER_PAIRS)
def test_documented_order_books_the_unit_price_not_the_line_total(pair: str) -> None:
    source, seen = order_source(documented_order())
    records = list(source.iter_order_records(*EVER))
    out = map_records(pair, "orders", source, records)

    assert out["counts"]["quarantined"] == []
    (order,) = out["orders"]
    assert order["number"] == "ORD00018"
    assert order["created_at"].startswith("2019-08-21T17:15:00")
    assert order["status"] == "processing_awaiting_shipment"
    assert order["payment_status"] == "paid"
    assert order["currency"] == "USD"  # the shop's (shop.json): the order carries none
    assert order["customer"]["customer_number"] == "2026523"
    assert order["customer"]["email"] == "customer@example.com"
    assert order["customer"]["billing_address"]["country"] == "CA"
    (line,) = order["lines"]
    assert (line["sku"], line["article_code"]) == ("anacampseros", "anacampseros")
    assert Decimal(line["quantity"]) == 6
    assert Decimal(line["unit_price_incl"]) == Decimal("7.35")
    assert Decimal(line["unit_price_excl"]) == Decimal("7")
    assert Decimal(line["tax_rate"]) == Decimal("0.05")
    assert Decimal(line["discount_incl"]) == Decimal(line["discount_excl"]) == 0
    net_incl = Decimal(line["quantity"]) * Decimal(line["unit_price_incl"])
    assert net_incl == Decimal("44.10")
    assert Decimal(order["discount_excl"]) == Decimal(order["discount_incl"]) == 0
    assert Decimal(order["shipping_cost_excl"]) == Decimal("5.95")
    assert Decimal(order["shipping_cost_incl"]) == Decimal("6.25")
    assert Decimal(order["total_excl"]) == Decimal("47.95")
    assert Decimal(order["total_incl"]) == Decimal("50.35")
    # what the target is sent: 6 at 7 (excl.), never 6 at 42
    (fields,) = out["mapped"].values()
    price, quantity = UNIT_PRICE_FIELD[pair]
    (mapped_line,) = fields["lines"]
    assert (Decimal(str(mapped_line[price])), Decimal(str(mapped_line[quantity]))) == (
        Decimal(7),
        Decimal(6),
    )
    assert seen.count("shop.json") == 1  # read once per source, not per order


def test_the_shop_currency_is_read_once_and_cached() -> None:
    order = documented_order()
    second = {**copy.deepcopy(order), "id": 1623551, "number": "ORD00019"}
    source, seen = order_source(order, shop="shop.detail.live")
    assert source.to_order(order).currency == "EUR"
    assert source.to_order(second).currency == "EUR"
    assert seen == ["shop.json"]


def test_documented_discounted_line_keeps_unit_price_and_discount_apart() -> None:
    """The documented order product: base 40 / 42, discount 21 / 22.05, line 19 / 19.95."""
    line = recorded(SYSTEM, "order_product.detail")["orderProduct"]
    order = copy.deepcopy(documented_order())
    order["products"]["resource"]["embedded"] = [line]
    order["priceExcl"], order["priceIncl"] = 19 + 5.95, 19.95 + 6.25
    source, _ = order_source(order)
    out = map_records(
        "lightspeed_ecom__exact_globe", "orders", source, list(source.iter_order_records(*EVER))
    )
    assert out["counts"]["quarantined"] == []
    (got,) = out["orders"][0]["lines"]
    assert (got["sku"], got["article_code"]) == ("butterprintbowl", "butterprintbowl")
    assert (Decimal(got["unit_price_excl"]), Decimal(got["unit_price_incl"])) == (
        Decimal(40),
        Decimal(42),
    )
    assert (Decimal(got["discount_excl"]), Decimal(got["discount_incl"])) == (
        Decimal(21),
        Decimal("22.05"),
    )
    (mapped,) = out["mapped"]["1623550"]["lines"]
    assert (Decimal(str(mapped["Price"])), Decimal(str(mapped["DiscountAmount"]))) == (
        Decimal(40),
        Decimal(21),
    )


# --- webhook deliveries: enveloped and bare -------------------------------------------------


def test_recorded_order_delivery_is_read_bare_and_enveloped() -> None:
    delivered = recorded(SYSTEM, "webhook.order_created")
    assert delivery_records(delivered) == delivery_records(delivered["order"])
    entity, (record,) = delivery_records(delivered)
    assert entity == "order"
    # a real order whose product has no sku, articleCode or ean: quarantined, naming it
    source, _ = source_for({"shop.json": raw("shop.detail")})
    out = map_records("lightspeed_ecom__buckles", "orders", source, [record])
    (entry,) = out["counts"]["quarantined"]
    assert (entry["source_id"], entry["field"]) == ("123", "lines[0].sku")


def test_recorded_order_delivery_with_a_code_translates_its_empty_address() -> None:
    record = delivery_records(recorded(SYSTEM, "webhook.order_created"))[1][0]
    record["products"]["resource"]["embedded"][0]["articleCode"] = "ART-1"
    order = order_from_lightspeed(record, currency="USD")
    assert order.customer.customer_number == "13353882"
    assert order.customer.billing_address.street == order.customer.billing_address.city == ""
    assert order.customer.billing_address.country == "US"
    assert (order.total_incl, order.lines[0].unit_price_incl) == (Decimal(0), Decimal(0))
    assert order.payment_status == "paid" and order.status == "processing_awaiting_shipment"


def test_recorded_customer_delivery_without_address() -> None:
    entity, (record,) = delivery_records(recorded(SYSTEM, "webhook.customer_created"))
    assert entity == "customer"
    customer = customer_from_lightspeed(record)
    assert (customer.email, customer.customer_number) == ("customer@email.com", "123")
    assert (customer.first_name, customer.last_name) == ("John", "Doe")
    assert customer.billing_address.country == "NL"
    assert customer.billing_address.street == ""


def test_documented_customer_through_the_customers_flow() -> None:
    customer = recorded(SYSTEM, "customer.detail")["customer"]
    source, _ = source_for({"customers.json": as_json({"customers": [customer]})})
    records = list(source.client.iter_customers(*EVER))
    out = map_records("lightspeed_ecom__exact_globe", "customers", source, records)
    assert out["counts"]["quarantined"] == []
    assert "customer@example.com" in str(out)


def test_recorded_product_delivery_has_unembedded_variants() -> None:
    entity, (record,) = delivery_records(recorded(SYSTEM, "webhook.product_created"))
    assert entity == "product"
    with pytest.raises(RecordError) as err:  # variants only referenced: the source embeds
        product_from_lightspeed(record)
    assert err.value.field == "variants"


# --- catalogue and stock ----------------------------------------------------------------------


def test_live_variant_stock_keys_on_its_article_code() -> None:
    variant = recorded(SYSTEM, "variants.row.live")
    source, _ = source_for({"variants.json": as_json({"variants": [variant]})})
    records = list(source.iter_stock_records())
    out = map_records("lightspeed_ecom__exact_globe", "stock", source, records)
    assert out["counts"].get("quarantined", []) == []
    level = source.to_stock(records[0])
    assert (level.sku, level.article_code, level.ean) == ("", "LABL26", "")
    assert (level.on_hand, level.managed) == (Decimal(148), True)


def test_documented_variant_without_any_code_is_refused_naming_sku() -> None:
    variant = recorded(SYSTEM, "variant.detail")["variant"]
    source, _ = source_for({})
    with pytest.raises(RecordError) as err:
        source.to_stock(variant)
    assert (err.value.entity, err.value.field) == ("stock", "sku")
    coded = {**variant, "articleCode": "X-1"}
    level = source.to_stock(coded)
    assert not level.managed  # stockTracking "indicator" is no tracked count


def test_live_product_with_its_live_variant_keeps_four_decimals() -> None:
    product = recorded(SYSTEM, "products.row.live")
    variant = recorded(SYSTEM, "variants.row.live")
    record = {
        **product,
        "variants": {"resource": {**product["variants"]["resource"], "embedded": [variant]}},
        "categories": False,
        "images": False,
        "attributes": False,
    }
    got = product_from_lightspeed(record, currency="EUR")
    assert (got.sku, got.article_code, got.title) == ("", "LABL26", "1 kanaals relais board 3V")
    (v,) = got.variants
    assert (v.price_excl, v.price_incl) == (Decimal("2.8843"), Decimal("3.49"))
    assert v.title == "1 kanaals relais board 3V" and v.attributes == {}
    assert got.brand == "" and got.currency == "EUR"


def test_documented_shipment_and_its_article_code_line() -> None:
    shipment = recorded(SYSTEM, "shipment.detail")["shipment"]
    line = recorded(SYSTEM, "shipment_product.detail")["shipmentProduct"]
    source, _ = source_for({"shipments.json": as_json({"shipments": [shipment]})})
    (record,) = source.iter_shipment_records(*EVER)
    got = source.to_shipment(record)
    assert (got.status, got.order_ref.id, got.tracking_code) == ("shipped", "5042285", "")
    embedded = {
        **record,
        "products": {"resource": {**record["products"]["resource"], "embedded": [line]}},
    }
    (parcel_line,) = shipment_from_lightspeed(embedded).lines
    assert (parcel_line.sku, parcel_line.quantity) == ("pyrex-box", Decimal(6))


def test_shop_resources_give_the_currency() -> None:
    for name, want in (("shop.detail", "USD"), ("shop.detail.live", "EUR")):
        source, _ = source_for({"shop.json": shop_route(name)})
        assert source.shop_currency() == want


# --- error bodies ------------------------------------------------------------------------------


def test_401_body_is_an_auth_error_with_the_vendors_message() -> None:
    source, _ = source_for(
        {"orders/count.json": lambda _r: httpx.Response(401, content=body("error.401"))}
    )
    with pytest.raises(AuthError) as err:
        source.client.count_orders()
    assert "Access denied." in str(err.value)


def test_404_body_is_fatal_with_the_vendors_message() -> None:
    source, _ = source_for({})
    with pytest.raises(FatalError) as err:
        source.client.get_order(9)
    assert "Unknown or inactive language." in str(err.value)


def test_an_error_in_a_200_body_is_fatal() -> None:
    source, _ = source_for({"orders/count.json": raw("error.404")})
    with pytest.raises(FatalError):
        source.client.count_orders()


def test_recorded_webhook_registration_is_listed() -> None:
    hook = recorded(SYSTEM, "webhook.detail.live")
    doc = recorded(SYSTEM, "webhook.detail")["webhook"]
    source, _ = source_for({"webhooks.json": as_json({"webhooks": [hook, doc]})})
    listed = source.client.list_webhooks()
    assert [(w["itemGroup"], w["itemAction"], w["format"]) for w in listed] == [
        ("products", "created", "json"),
        ("products", "*", "xml"),
    ]


def test_documented_rate_limit_windows_are_not_the_default_ones() -> None:
    """The documented account has 1000/12000/288000 (not 300/3000/12000): limits differ per
    plan, which is why the client paces on the ``X-RateLimit-*`` headers it is sent and
    hard-codes no window."""
    limits = recorded(SYSTEM, "account_ratelimit.detail")["accountRatelimit"]
    assert [limits[k]["limit"] for k in ("limit5Min", "limitHour", "limitDay")] == [
        1000,
        12000,
        288000,
    ]
    assert all(limits[k]["remaining"] < limits[k]["limit"] for k in limits)
