"""AccountView as a product and stock source (articles -> webshop), against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI

from shopbridge.connectors.accountview.options import SourceOptions
from shopbridge.connectors.accountview.source import AccountViewSource
from shopbridge.connectors.base import CallCounter
from shopbridge.errors import ConfigError, RecordError
from shopbridge.models import Category
from shopbridge_dev.sandboxes.accountview.app import create_app
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, UNKNOWN_SKU

from .test_accountview import DEMO, KNOWN, TestClient, client_for, requests_of


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


def source_for(
    app: FastAPI, *, page_size: int = 100, counter: CallCounter | None = None, **options: Any
) -> AccountViewSource:
    return AccountViewSource(
        client_for(app, page_size=page_size, counter=counter), SourceOptions(**options)
    )


def change(app: FastAPI, **fields: Any) -> dict[str, Any]:
    with TestClient(app) as tc:
        resp = tc.post("/_sandbox/articles", json=fields)
    assert resp.status_code == 200, resp.text
    return resp.json()


def week(source: AccountViewSource) -> list[dict[str, Any]]:
    return list(source.iter_product_records(DEMO_START, DEMO_END))


CATALOGUE_SKUS = sorted(
    v["sku"] for p in DEMO.catalogue for v in p["variants"] if v["sku"] != UNKNOWN_SKU
)


# -- products --------------------------------------------------------------------------


def test_window_reads_changed_articles_with_the_changed_since_filter(app):
    counter = CallCounter()
    source = source_for(app, page_size=8, counter=counter)
    seen = requests_of(source.client)
    records = week(source)
    assert sorted(r["ARTICLE"]["ART_CODE"] for r in records) == CATALOGUE_SKUS
    article_queries = [q for m, p, q in seen if q.get("BusinessObject") == "AK1"]
    assert [q["PageNumber"] for q in article_queries] == ["1", "2", "3", "4", "5"]
    q = article_queries[0]
    assert (
        q["FilterControlSource1"],
        q["FilterOperator1"],
        q["FilterValueType1"],
        q["FilterValue1"],
    ) == (
        "CNG_DATE",
        "DateOnOrAfterDate",
        "T",
        "{^2026-11-16 01:00:00}",
    )  # 00:00 UTC, Amsterdam clock
    groups = [q for m, p, q in seen if q.get("BusinessObject") == "AG1"]
    assert len(groups) == 1  # article groups read once per run


def test_window_edges_are_exact(app):
    """The date-only filter returns the whole first day; rows outside [start, end) go."""
    start = DEMO_START + timedelta(hours=5)  # 05:00 UTC = 06:00 on AccountView's clock
    end = start + timedelta(hours=2)
    edges = {
        "A-BEFORE": "2026-11-16T05:59:59",
        "A-AT-START": "2026-11-16T06:00:00",
        "A-LAST": "2026-11-16T07:59:59",
        "A-AT-END": "2026-11-16T08:00:00",
    }
    for code, when in edges.items():
        change(
            app,
            ART_CODE=code,
            ART_DESC1=code,
            PX_SELL=1.0,
            QTY_AVAIL=1.0,
            AG_CODE="",
            CNG_DATE=when,
        )
    got = {r["ARTICLE"]["ART_CODE"] for r in source_for(app).iter_product_records(start, end)}
    assert {"A-AT-START", "A-LAST"} <= got
    assert not {"A-BEFORE", "A-AT-END"} & got


def test_products_translate_as_simple_products(app):
    source = source_for(app, ean_field="BAR_CODE", vat_code_field="VAT_CODE")
    # ART_CODE is AccountView's article code: it fills article_code (no SKU field exists)
    products = {p.article_code: p for p in map(source.to_product, week(source))}
    assert {p.sku for p in products.values()} == {""}
    catalogue = {v["sku"]: (p, v) for p in DEMO.catalogue for v in p["variants"]}
    for sku, product in products.items():
        shop, variant = catalogue[sku]
        assert product.ref.system == "accountview" and product.ref.id == sku
        assert product.ean == variant["ean"]
        assert product.variants[0].price_excl == variant["price_excl"]
        assert product.variants[0].price_incl == (variant["price_excl"] * Decimal("1.21")).quantize(
            Decimal("0.0001")
        )
        assert product.variants[0].quantity == variant["stock"]
        assert product.categories == (Category(path=(shop["categories"][0][1],)),)
        assert product.title.startswith(shop["title"])
        assert not product.configurable and product.images == ()
    assert min(p.updated_at for p in products.values()) >= DEMO_START


def test_without_ean_field_products_have_no_ean(app):
    source = source_for(app)
    assert {source.to_product(r).ean for r in week(source)} == {""}


def test_category_separator_builds_a_path(app):
    sku = CATALOGUE_SKUS[0]
    source = source_for(app, category_separator=" > ")
    record = next(r for r in week(source) if r["ARTICLE"]["ART_CODE"] == sku)
    record = {**record, "ART_GRP": {"AG_CODE": "X", "AG_DESC": "Clothing > Shirts"}}
    assert source.to_product(record).categories == (Category(path=("Clothing", "Shirts")),)


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"ART_DESC1": ""}, "ART_DESC1", "missing or empty"),
        ({"PX_SELL": -1.5}, "PX_SELL", "negative sales price"),
        ({"PX_SELL": "abc"}, "PX_SELL", "not a number"),
        ({"AG_CODE": "NOPE"}, "AG_CODE", "article group 'NOPE' does not exist"),
        ({"BAR_CODE": "12AB"}, "BAR_CODE", "not an EAN"),
        ({"VAT_CODE": "9"}, "VAT_CODE", "VAT code '9' is not in"),
    ],
)
def test_a_bad_article_is_a_record_error_naming_the_field(app, fields, field, reason):
    sku = CATALOGUE_SKUS[3]
    change(app, ART_CODE=sku, **{"CNG_DATE": "2026-11-17T10:00:00", **fields})
    source = source_for(app, ean_field="BAR_CODE", vat_code_field="VAT_CODE")
    records = {source.product_id(r): r for r in week(source)}
    with pytest.raises(RecordError) as exc:
        source.to_product(records[sku])
    assert (exc.value.entity, exc.value.source_id, exc.value.field) == ("product", sku, field)
    assert reason in exc.value.reason
    others = [source.to_product(r) for code, r in records.items() if code != sku]
    assert len(others) == len(CATALOGUE_SKUS) - 1  # the rest of the batch is fine


def test_changed_article_shows_up_in_a_later_window(app):
    later = DEMO_END + timedelta(days=1)
    assert list(source_for(app).iter_product_records(DEMO_END, later)) == []
    change(app, ART_CODE=KNOWN[0], PX_SELL=12.5, CNG_DATE="2026-11-23T12:00:00")
    [record] = source_for(app).iter_product_records(DEMO_END, later)
    assert record["ARTICLE"]["PX_SELL"] == 12.5


def test_images_are_not_available(app):
    with pytest.raises(ConfigError, match="images: false"):
        source_for(app).fetch_image("https://example.org/a.png")


# -- stock -----------------------------------------------------------------------------


def test_stock_reads_every_article(app):
    counter = CallCounter()
    source = source_for(app, page_size=10, counter=counter)
    levels = {s.article_code: s for s in map(source.to_stock, source.iter_stock_records())}
    assert sorted(levels) == KNOWN
    assert counter.calls == len(KNOWN) // 10 + 1
    stock = {v["sku"]: v["stock"] for p in DEMO.catalogue for v in p["variants"]}
    for sku, level in levels.items():
        assert level.on_hand == stock.get(sku, 0)
        assert level.reserved == 0 and level.managed


def test_stock_with_reserved_and_flag_fields(app):
    source = source_for(app, reserved_field="QTY_RSV", stock_flag_field="STOCK_ART")
    levels = {s.article_code: s for s in map(source.to_stock, source.iter_stock_records())}
    assert not levels["VERZENDKOSTEN"].managed
    poster = next(v["sku"] for p in DEMO.catalogue if p["title"] == "Poster" for v in p["variants"])
    assert not levels[poster].managed
    assert any(s.reserved > 0 for s in levels.values())


def test_negative_stock_is_a_record_error(app):
    change(app, ART_CODE=KNOWN[0], QTY_AVAIL=-2)
    source = source_for(app)
    record = next(r for r in source.iter_stock_records() if r["ART_CODE"] == KNOWN[0])
    with pytest.raises(RecordError) as exc:
        source.to_stock(record)
    assert (exc.value.entity, exc.value.field) == ("stock", "QTY_AVAIL")


def test_stock_change_is_read_next_run(app):
    change(app, ART_CODE=KNOWN[1], QTY_AVAIL=3)
    source = source_for(app)
    level = next(
        source.to_stock(r) for r in source.iter_stock_records() if r["ART_CODE"] == KNOWN[1]
    )
    assert level.on_hand == 3


def test_a_bad_article_is_quarantined_by_the_products_flow(app):
    from shopbridge.config import ProductSettings
    from shopbridge.flows import products

    sku = CATALOGUE_SKUS[0]
    change(app, ART_CODE=sku, PX_SELL="n/a", CNG_DATE="2026-11-17T10:00:00")
    source = source_for(app)
    [batch] = products.extract(source, DEMO_START, DEMO_END, 100)
    result = products.validate_and_map(source, batch, ProductSettings(images=False), None)
    assert result["counts"]["products_quarantined"] == 1
    assert result["counts"]["quarantined"] == [
        {"entity": "product", "source_id": sku, "field": "PX_SELL", "reason": "not a number: 'n/a'"}
    ]
    assert len(result["products"]) == len(CATALOGUE_SKUS) - 1
