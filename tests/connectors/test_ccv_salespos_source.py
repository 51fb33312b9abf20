"""CCV SalesPOS as a products and stock source against the in-process sandbox."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.ccv_salespos.client import CcvSalesposClient
from shopbridge.connectors.ccv_salespos.source import CcvSalesposSource
from shopbridge.errors import ConfigError, RecordError
from shopbridge.models import Category, resolve_item_key
from shopbridge_dev.sandboxes.ccv_salespos.app import ARTICLE_CODE_ONLY_SKU, create_app
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU, generate

BASE = "http://testserver"
WEEK = (DEMO_START - timedelta(days=1), DEMO_END + timedelta(days=30))
CATALOGUE = {
    p["product_id"]: p for p in generate("demo").catalogue if p["variants"][0]["sku"] != UNKNOWN_SKU
}
SKUS = {v["sku"] for p in CATALOGUE.values() for v in p["variants"]}


def source_for(app: FastAPI, *, page_size: int = 100, **kw: Any) -> CcvSalesposSource:
    client = CcvSalesposClient(
        BASE,
        "demo-public",
        "demo-secret",
        http=TestClient(app),
        policy=RetryPolicy(sleep=lambda _s: None),
        counter=CallCounter(),
        page_size=page_size,
    )
    return CcvSalesposSource(client, **kw)


def control(app: FastAPI, method: str, path: str, body: Any = None) -> Any:
    with TestClient(app) as tc:
        resp = tc.request(method, f"/_sandbox/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


def test_products_with_variants_attributes_and_categories(app: FastAPI) -> None:
    source = source_for(app, page_size=4)
    records = list(source.iter_product_records(*WEEK))
    # 15 products and 11 categories, 4 a page; the shop's settings once (webshops, settings)
    assert source.counter.calls == 4 + 3 + 2
    products = {int(source.product_id(r)): source.to_product(r) for r in records}
    assert set(products) == set(CATALOGUE)
    assert {resolve_item_key(v) for p in products.values() for v in p.variants} == SKUS
    assert all(p.currency == "EUR" for p in products.values())  # the shop's setting

    tshirt = products[5001]
    # CCV products have no SKU field: ``productnumber`` is the article code
    assert tshirt.configurable and tshirt.sku == "" and tshirt.article_code == "TSH-5001"
    assert len(tshirt.variants) == 6
    black_m = next(v for v in tshirt.variants if v.sku == "T-S-BLA-9001")
    assert black_m.attributes == {"Colour": "black", "Size": "M"}
    assert black_m.title == "black / M"
    assert black_m.price_excl == CATALOGUE[5001]["variants"][1]["price_excl"]
    assert black_m.price_incl == (black_m.price_excl * Decimal("1.21")).quantize(Decimal("0.01"))
    assert black_m.quantity == CATALOGUE[5001]["variants"][1]["stock"]
    assert tshirt.categories == (Category(path=("Clothing", "Shirts")),)
    assert tshirt.brand == "Noord Basics" and tshirt.tax_rate == Decimal("0.21")
    assert tshirt.images == ()
    assert tshirt.description.startswith("<p>Our t-shirt")
    assert tshirt.updated_at == CATALOGUE[5001]["updated_at"]
    assert (black_m.sku, black_m.article_code, black_m.ean) == (
        "T-S-BLA-9001",
        "T-S-BLA-9001",
        "8700000009001",
    )  # each from its own field
    hoodie_white = next(
        v for v in products[5002].variants if v.article_code == ARTICLE_CODE_ONLY_SKU
    )
    assert hoodie_white.sku == "" and resolve_item_key(hoodie_white) == ARTICLE_CODE_ONLY_SKU

    mug = products[5003]
    assert not mug.configurable and mug.sku == "" and mug.article_code == "MUG-BLA-9006"
    assert (mug.variants[0].sku, mug.variants[0].article_code) == ("", "MUG-BLA-9006")
    assert mug.variants[0].attributes == {}
    assert mug.categories == (
        Category(path=("Home", "Kitchen")),
        Category(path=("Gifts", "Small gifts")),
    )
    poster = products[5007]
    assert all(v.quantity is None for v in poster.variants)  # stock not kept


def test_window_filters_on_modifydate_client_side(app: FastAPI) -> None:
    source = source_for(app)
    second = CATALOGUE[5002]["updated_at"]
    records = list(source.iter_product_records(second, second + timedelta(hours=1)))
    assert [r["id"] for r in records] == [5002]
    empty = source_for(app)
    assert (
        list(
            empty.iter_product_records(
                DEMO_END + timedelta(days=400), DEMO_END + timedelta(days=401)
            )
        )
        == []
    )
    assert empty.counter.calls == 1  # no category or settings read when nothing is in it


def test_prices_including_tax() -> None:
    app = create_app(seed="demo", prices_include_tax=True)
    source = source_for(app, prices_include_tax=True)
    mug = next(source.to_product(r) for r in source.iter_product_records(*WEEK) if r["id"] == 5003)
    excl = CATALOGUE[5003]["variants"][0]["price_excl"]
    assert mug.variants[0].price_incl == (excl * Decimal("1.21")).quantize(Decimal("0.01"))
    assert abs(mug.variants[0].price_excl - excl) <= Decimal("0.01")


def test_images_are_not_supported(app: FastAPI) -> None:
    with pytest.raises(ConfigError, match="images are not supported"):
        source_for(app).fetch_image("https://example.com/a.png")


def test_stock_of_every_sellable_sku(app: FastAPI) -> None:
    source = source_for(app, page_size=4)
    records = list(source.iter_stock_records())
    assert source.counter.calls == 4
    levels = {resolve_item_key(lv): lv for lv in map(source.to_stock, records)}
    assert set(levels) == SKUS
    assert "TSH-5001" not in levels  # a parent is not sold itself
    by_sku = {v["sku"]: (v, p) for p in CATALOGUE.values() for v in p["variants"]}
    for sku, level in levels.items():
        variant, product = by_sku[sku]
        assert level.on_hand == variant["stock"]
        assert level.managed is (product["title"] != "Poster")
        assert list(level.locations.values()) == [level.on_hand]
    assert source.stock_id(records[0]).startswith("attributecombination/")
    assert any(source.stock_id(r) == "product/5003" for r in records)
    assert levels["MUG-BLA-9006"].locations.keys() <= {"Winkel", "Magazijn"}
    assert levels["MUG-BLA-9006"].ean == "8700000009006"
    assert levels[ARTICLE_CODE_ONLY_SKU].sku == ""  # kept by product_number and EAN only


def test_shared_product_stock_is_reported_for_every_combination(app: FastAPI) -> None:
    control(app, "POST", "products", {"id": 5002, "stocktype": "product", "stock": 7})
    source = source_for(app)
    levels = [source.to_stock(r) for r in source.iter_stock_records() if r["product"]["id"] == 5002]
    assert [lv.on_hand for lv in levels] == [Decimal(7)] * 3


def test_bad_records_are_record_errors_naming_the_field(app: FastAPI) -> None:
    control(
        app,
        "POST",
        "products",
        {
            "id": 7001,
            "name": "Broken",
            "productnumber": "BRK",
            "price": 5,
            "vatrate": 21,
            "stockenabled": True,
            "stock": 1,
            "modifydate": "2026-11-18T10:00:00Z",
            "attributecombinations": [
                {
                    "id": 77001,
                    "sku_number": "",
                    "stock": 1,
                    "active": True,
                    "combination": [
                        {"attribute": {"name": "Colour"}, "attribute_value": {"name": "red"}}
                    ],
                },
                {
                    "id": 77002,
                    "sku_number": "BRK-BLUE",
                    "stock": -2,
                    "active": True,
                    "combination": [
                        {"attribute": {"name": "Colour"}, "attribute_value": {"name": "blue"}}
                    ],
                },
            ],
        },
    )
    control(
        app,
        "POST",
        "products",
        {
            "id": 7002,
            "name": "Taxless",
            "productnumber": "TAX",
            "price": 5,
            "vatrate": 210,
            "modifydate": "2026-11-18T10:00:00Z",
        },
    )
    source = source_for(app)
    errors: dict[str, RecordError] = {}
    good = 0
    for record in source.iter_product_records(*WEEK):
        try:
            source.to_product(record)
            good += 1
        except RecordError as err:
            errors[err.source_id] = err
    assert good == len(CATALOGUE)
    assert errors["7001"].field == "attributecombinations[0].sku_number"
    assert errors["7001"].reason == (
        "no item key: sku_number, product_number and ean_number are all empty"
    )
    assert errors["7002"].field == "vatrate"
    stock_errors = []
    for record in source.iter_stock_records():
        try:
            source.to_stock(record)
        except RecordError as err:
            stock_errors.append((err.entity, err.source_id, err.field))
    assert stock_errors == [
        ("stock", "attributecombination/77001", "attributecombination.sku_number"),
        ("stock", "attributecombination/77002", "attributecombination.stock"),
    ]


def test_product_read_once_per_page_even_without_expand_support() -> None:
    """A server that ignores ``expand`` (relations as ``{"href"}``) costs one call per
    product and relation, but still gives complete records."""
    app = create_app(seed="demo")
    source = source_for(app)
    original = source.client.iter_products

    def without_expand(**kw: Any) -> Any:
        kw.pop("expand", None)
        return original(**kw)

    source.client.iter_products = without_expand  # type: ignore[method-assign]
    records = list(
        source.iter_product_records(
            CATALOGUE[5001]["updated_at"], CATALOGUE[5001]["updated_at"] + timedelta(minutes=1)
        )
    )
    product = source.to_product(records[0])
    assert len(product.variants) == 6 and product.categories
    # list, combinations, links, categories, the shop's settings (webshops, settings)
    assert source.counter.calls == 1 + 2 + 1 + 2
    assert datetime(2026, 11, 16, 1, tzinfo=UTC) == product.updated_at
