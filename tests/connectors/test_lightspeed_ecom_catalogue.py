"""Lightspeed eCom as a product and stock source, against the in-process sandbox."""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter
from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.errors import FatalError, RecordError
from shopbridge_dev.sandboxes.demo_data import DEMO_END, DEMO_START, generate
from shopbridge_dev.sandboxes.lightspeed_ecom.app import create_app
from tests.connectors.clock import FakeClock

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

BASE = "http://testserver"
AUTH = ("demo-key", "demo-secret")
WEEK = (DEMO_START - timedelta(days=1), DEMO_END + timedelta(days=1))
DEMO = {p["product_id"]: p for p in generate("demo").catalogue}
IN_WEEK = "2026-11-18T12:00:00+00:00"


@dataclass
class Shop:
    app: FastAPI
    client: LightspeedEcomClient
    source: LightspeedEcomSource
    clock: FakeClock

    def control(self, method: str, path: str, body: Any = None) -> Any:
        with TestClient(self.app) as tc:
            resp = tc.request(method, f"/_sandbox/{path}", json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()

    def vendor(self, path: str, **params: Any) -> Any:
        with TestClient(self.app) as tc:
            return tc.get(f"/nl/{path}.json", params=params, auth=AUTH).json()

    @property
    def calls(self) -> int:
        return self.client.counter.calls


def shop(*, page_size: int = 250, **options: Any) -> Shop:
    clock = FakeClock()
    options.setdefault("per_second", 1000)
    app = create_app(seed="demo", n_orders=5, clock=clock, **options)
    client = LightspeedEcomClient(
        BASE,
        "nl",
        *AUTH,
        http=TestClient(app),
        policy=RetryPolicy(sleep=clock.sleep),
        counter=CallCounter(),
        page_size=page_size,
        max_per_second=1000,
        clock=clock,
    )
    return Shop(app, client, LightspeedEcomSource(client), clock)


def records(s: Shop, window: tuple[datetime, datetime] = WEEK) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in s.source.iter_product_records(*window)}


# --- paging and windows ----------------------------------------------------------------


def test_products_and_variants_page_across_pages() -> None:
    s = shop(page_size=5)
    products = list(s.client.iter_products(*WEEK))
    assert sorted(p["id"] for p in products) == sorted(DEMO)  # 16, unique
    assert s.calls == 4  # 5 + 5 + 5 + 1
    before = s.calls
    variants = list(s.client.iter_variants())
    n_variants = sum(len(p["variants"]) for p in DEMO.values())
    assert len({v["id"] for v in variants}) == len(variants) == n_variants == 34
    assert s.calls - before == 7  # 34 // 5 + 1
    # one product's variants can span pages too (the T-shirt has six)
    assert len(s.client.variants_by_product(["5001"])["5001"]) == 6


def test_variants_by_product_is_the_same_read_per_product_or_in_bulk() -> None:
    ids = ["5001", "5002", "5003"]
    per_product, bulk = shop(page_size=5), shop(page_size=250)
    got_pp = per_product.client.variants_by_product(ids)
    got_bulk = bulk.client.variants_by_product(ids)
    assert {k: [v["id"] for v in rows] for k, rows in got_pp.items()} == {
        k: [v["id"] for v in rows] for k, rows in got_bulk.items()
    }
    assert [len(got_bulk[i]) for i in ids] == [6, 3, 1]
    # count + the cheaper read: 3 filtered calls beat 7 pages; 1 page beats 3 calls
    assert per_product.calls == 1 + 3 + 1  # + the T-shirt's second page of 5
    assert bulk.calls == 1 + 1


def test_window_is_min_inclusive_max_exclusive() -> None:
    s = shop()
    lo = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    hi = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    s.control("POST", "products", {"id": 5003, "updatedAt": "2026-11-20T13:00:00+01:00"})
    s.control("POST", "products", {"id": 5004, "updatedAt": "2026-11-21T13:00:00+01:00"})
    s.control("POST", "products", {"id": 5005, "updatedAt": "2026-11-21T12:59:59+01:00"})
    got = records(s, (lo, hi))
    assert set(got) == {5003, 5005}
    assert all(lo <= datetime.fromisoformat(r["updatedAt"]) < hi for r in got.values())


# --- translation through the source ----------------------------------------------------


def test_every_seeded_product_is_a_self_contained_record_that_translates() -> None:
    s = shop()
    got = records(s)
    assert set(got) == set(DEMO)
    for pid, record in got.items():
        again = json.loads(json.dumps(record))  # travels as an XCom
        product = s.source.to_product(again)
        assert product == s.source.to_product(record)
        assert s.source.product_id(record) == product.ref.id == str(pid)
        assert [v.sku for v in product.variants] == [v["sku"] for v in DEMO[pid]["variants"]]
        assert len(product.images) == len(DEMO[pid]["images"])
        assert product.features == DEMO[pid]["features"]
        assert product.brand == DEMO[pid]["brand"]


def test_configurable_product_with_three_variants() -> None:
    s = shop()
    hoodie = s.source.to_product(records(s)[5002])
    assert hoodie.configurable and hoodie.sku == "P-5002" and hoodie.title == "Hoodie"
    assert [v.attributes for v in hoodie.variants] == [
        {"Colour": "black"},
        {"Colour": "white"},
        {"Colour": "navy"},
    ]
    assert [v.sku for v in hoodie.variants] == ["HOO-BLA-9003", "HOO-WHI-9004", "HOO-NAV-9005"]
    assert all(isinstance(v.price_excl, Decimal) for v in hoodie.variants)
    assert hoodie.variants[0].price_excl == DEMO[5002]["variants"][0]["price_excl"]
    assert hoodie.tax_rate == Decimal("0.21")
    assert hoodie.description.startswith("<p>") and hoodie.short_description


def test_tshirt_has_colour_and_size() -> None:
    s = shop()
    tshirt = s.source.to_product(records(s)[5001])
    assert {tuple(sorted(v.attributes)) for v in tshirt.variants} == {("Colour", "Size")}
    assert {(v.attributes["Colour"], v.attributes["Size"]) for v in tshirt.variants} == {
        (c, z) for c in ("black", "white") for z in ("S", "M", "L")
    }
    # the SKUs orders use are size M
    assert {v.sku: v.attributes["Size"] for v in tshirt.variants}["T-S-BLA-9001"] == "M"


def test_simple_product() -> None:
    s = shop()
    mug = s.source.to_product(records(s)[5003])
    assert not mug.configurable
    assert (mug.sku, mug.ean) == ("MUG-BLA-9006", "8700000009006")
    assert mug.variants[0].attributes == {}


def test_category_paths_root_to_leaf() -> None:
    s = shop()
    got = records(s)
    assert [c.path for c in s.source.to_product(got[5003]).categories] == [
        ("Home", "Kitchen"),
        ("Gifts", "Small gifts"),
    ]
    n_categories = len(s.vendor("categories")["categories"])
    s.control(
        "POST",
        "products",
        {
            "id": 5004,
            "updatedAt": IN_WEEK,
            "categories": [["Office"], ["Clothing", "Shirts", "Long"]],
        },
    )
    notebook = s.source.to_product(records(s)[5004])
    assert [c.path for c in notebook.categories] == [("Office",), ("Clothing", "Shirts", "Long")]
    assert len(s.vendor("categories")["categories"]) == n_categories + 1  # only "Long" is new


def test_variant_without_sku_is_a_record_error_naming_it() -> None:
    s = shop()
    colours = ("red", "blue", "green")
    s.control(
        "POST",
        "products",
        {
            "id": 6001,
            "title": "Vest",
            "updatedAt": IN_WEEK,
            "variants": [
                {
                    "id": 9951 + i,
                    "sku": "" if i == 1 else f"VEST-{c}",
                    "ean": "",
                    "articleCode": "",
                    "priceExcl": 10.0,
                    "priceIncl": 12.1,
                    "attributes": {"Colour": c},
                }
                for i, c in enumerate(colours)
            ],
        },
    )
    record = records(s)[6001]
    with pytest.raises(RecordError) as exc:
        s.source.to_product(record)
    assert (exc.value.entity, exc.value.source_id, exc.value.field) == (
        "product",
        "6001",
        "variants[1].sku",
    )


def test_api_calls_of_iter_product_records_are_bounded() -> None:
    """Calls = P//L+1 (products) + per relation (variants V, links K): P if P <= 2 else
    1 + min(P, total//L + 1) + C//L+1 + B//L+1 + T//L+1 (categories, brands, taxes, once)
    + 2P (images and features: no bulk route exists)."""

    def bound(s: Shop, n: int) -> int:
        size = s.client.page_size
        total = {
            r: s.vendor(f"{r}/count")["count"]
            for r in ("variants", "categories/products", "categories", "brands", "taxes")
        }

        def per_relation(rows: int) -> int:
            return n if n <= 2 else 1 + min(n, rows // size + 1)

        return (
            n // size
            + 1
            + per_relation(total["variants"])
            + per_relation(total["categories/products"])
            + sum(total[r] // size + 1 for r in ("categories", "brands", "taxes"))
            + 2 * n
        )

    s = shop()
    assert len(records(s)) == 16
    assert s.calls == bound(s, 16) == 40  # far below 16 products x 4 relations
    one = (datetime(2026, 11, 16, 5, tzinfo=UTC), datetime(2026, 11, 16, 7, tzinfo=UTC))
    s = shop()
    assert list(records(s, one)) == [5002]
    assert s.calls == bound(s, 1) == 8
    s = shop()
    empty = (DEMO_END + timedelta(days=30), DEMO_END + timedelta(days=31))
    assert records(s, empty) == {}
    assert s.calls == 1


# --- images ----------------------------------------------------------------------------


def test_images_are_fetched_with_their_bytes_outside_the_api_budget() -> None:
    s = shop()
    served = {i["id"]: i for i in s.control("GET", "images")["images"]}
    hoodie = s.source.to_product(records(s)[5002])
    api_calls = s.calls
    contents = []
    for image in hoodie.images:
        content, content_type = s.source.fetch_image(image.url)
        image_id = int(image.url.split("/files/")[1].split("/")[0])
        assert content_type == "image/png" and content.startswith(b"\x89PNG\r\n\x1a\n")
        assert hashlib.sha256(content).hexdigest() == served[image_id]["sha256"]
        contents.append(content)
    assert len(contents) == 2 and contents[0] != contents[1]
    assert [i.position for i in hoodie.images] == [0, 1]
    assert s.calls == api_calls and s.client.file_counter.calls == 2


def test_a_lost_image_file_is_fatal_404() -> None:
    s = shop()
    url = s.source.to_product(records(s)[5003]).images[0].url
    image_id = url.split("/files/")[1].split("/")[0]
    s.control("DELETE", f"images/{image_id}")
    with pytest.raises(FatalError) as exc:
        s.source.fetch_image(url)
    assert exc.value.response is not None and exc.value.response.status_code == 404
    assert s.client.file_counter.calls == 1  # not retried


def test_an_image_upserted_without_its_file_translates_but_404s() -> None:
    s = shop()
    s.control(
        "POST",
        "products",
        {
            "id": 5004,
            "updatedAt": IN_WEEK,
            "images": [
                {"filename": "gone.png", "present": False},
                {"filename": "here.png", "sortOrder": 9},
            ],
        },
    )
    images = s.source.to_product(records(s)[5004]).images
    assert [i.filename for i in images] == ["gone.png", "here.png"]
    assert s.source.fetch_image(images[1].url)[1] == "image/png"
    with pytest.raises(FatalError, match="404"):
        s.source.fetch_image(images[0].url)


def test_image_fetch_retries_a_5xx() -> None:
    s = shop()
    url = s.source.to_product(records(s)[5003]).images[0].url
    s.control("POST", "faults", {"status": 503, "path_contains": "/files/"})
    content, _ = s.source.fetch_image(url)
    assert content.startswith(b"\x89PNG")
    assert (s.client.file_counter.calls, s.client.file_counter.retries) == (2, 1)


def test_cdn_gets_no_credentials_and_redirects_are_followed() -> None:
    seen: list[httpx.Request] = []

    def cdn(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/old.png":
            return httpx.Response(302, headers={"Location": "https://cdn.example/new.png"})
        if request.url.path == "/page.png":
            return httpx.Response(
                200, text="<html>not found</html>", headers={"Content-Type": "text/html"}
            )
        return httpx.Response(200, content=b"img", headers={"Content-Type": "image/jpeg"})

    client = LightspeedEcomClient(
        BASE, "nl", "k", "secret", http=httpx.Client(transport=httpx.MockTransport(cdn))
    )
    assert client.fetch_file("https://cdn.example/old.png") == (b"img", "image/jpeg")
    assert [str(r.url) for r in seen] == [
        "https://cdn.example/old.png",
        "https://cdn.example/new.png",
    ]
    assert all("authorization" not in r.headers for r in seen)
    with pytest.raises(FatalError, match="not an image"):
        client.fetch_file("https://cdn.example/page.png")
    with pytest.raises(FatalError, match="absolute"):
        client.fetch_file("files/1/a.png")
    assert client.counter.calls == 0


def test_cdn_is_outside_auth_and_rate_limits() -> None:
    s = shop(rate_limit="3/100/1000")
    url = BASE + s.control("GET", "images")["images"][0]["path"]
    for _ in range(5):
        s.source.fetch_image(url)
    with TestClient(s.app) as tc:
        resp = tc.get(url.removeprefix(BASE))
        assert resp.status_code == 200 and "X-RateLimit-Limit" not in resp.headers
        assert tc.get("/nl/products/count.json").status_code == 401
    assert s.client.count("products") == 16  # the API window was not spent on images


# --- stock -----------------------------------------------------------------------------


def test_stock_records_cover_every_variant() -> None:
    s = shop(page_size=10)
    stock = list(s.source.iter_stock_records())
    assert len(stock) == 34 and s.calls == 4  # 34 // 10 + 1
    levels = {s.source.to_stock(r).sku: s.source.to_stock(r) for r in stock}
    want = {v["sku"]: v for p in DEMO.values() for v in p["variants"]}
    assert set(levels) == set(want)
    for sku, level in levels.items():
        assert level.on_hand == want[sku]["stock"] and level.managed == want[sku]["tracked"]
        assert (level.reserved, level.locations) == (0, {})
    assert not levels["POS-BLA-9013"].managed


def test_negative_stock_is_a_record_error_naming_stock_level() -> None:
    s = shop()
    s.control("POST", "variants", {"id": 9006, "stockLevel": -3})
    stock = {s.source.stock_id(r): r for r in s.source.iter_stock_records()}
    with pytest.raises(RecordError) as exc:
        s.source.to_stock(stock["9006"])
    assert (exc.value.entity, exc.value.source_id, exc.value.field, exc.value.reason) == (
        "stock",
        "9006",
        "stockLevel",
        "negative stock level -3",
    )
    del stock["9006"]
    assert all(s.source.to_stock(r).on_hand >= 0 for r in stock.values())


def test_variant_put_changes_the_stock() -> None:
    s = shop()
    before = s.client.get_variant(9006)
    after = s.client.update_variant(9006, {"stockLevel": 7, "stockTracking": "disabled"})
    assert after["updatedAt"] > before["updatedAt"]
    stock = {s.source.stock_id(r): s.source.to_stock(r) for r in s.source.iter_stock_records()}
    assert (stock["9006"].on_hand, stock["9006"].managed) == (Decimal(7), False)
    assert s.control("GET", "stats")["writes"] == 1
    calls = s.calls
    with pytest.raises(FatalError, match="400"):
        s.client.update_variant(9006, {"stockLevel": "many"})
    with pytest.raises(FatalError, match="read-only"):
        s.client.update_variant(9006, {"product": 1})
    assert s.calls == calls + 2  # refused, not retried
    assert s.client.get_variant(9006)["stockLevel"] == 7


@pytest.mark.parametrize("touches", [False, True])
def test_variant_write_moves_the_product_only_when_configured(touches: bool) -> None:
    s = shop(variant_write_touches_product=touches)
    seeded = datetime.fromisoformat(s.vendor("products/5003")["product"]["updatedAt"])
    s.client.update_variant(9006, {"priceExcl": 9.0})
    after_seed = (seeded + timedelta(seconds=1), datetime(2100, 1, 1, tzinfo=UTC))
    assert (5003 in records(s, after_seed)) is touches


# --- sandbox ---------------------------------------------------------------------------


def test_sandbox_catalogue_shapes() -> None:
    s = shop()
    product = s.vendor("products/5002")["product"]
    for relation in ("variants", "images", "categories", "attributes"):
        assert product[relation]["resource"]["id"] is False
        assert product[relation]["resource"]["link"].startswith(f"{BASE}/nl/")
    assert product["brand"]["resource"]["id"] == 1 and product["supplier"] is False
    assert s.vendor("products/5004")["product"]["images"]["resource"]["url"]
    images = s.vendor("products/5002/images")["productImages"]
    assert set(images[0]) == {
        "id",
        "sortOrder",
        "title",
        "thumb",
        "src",
        "extension",
        "size",
        "createdAt",
        "updatedAt",
    }
    link = s.vendor("categories/products", product=5003)["categoriesProducts"][0]
    assert set(link) == {"id", "sortOrder", "category", "product"}
    feature = s.vendor("products/5002/attributes")["productAttributes"][0]
    assert feature["attribute"]["resource"]["embedded"]["title"] == "Country of origin"
    tops = [c for c in s.vendor("categories")["categories"] if c["parent"] is False]
    assert {c["title"] for c in tops} == {"Clothing", "Home", "Office", "Gifts"}
    assert s.vendor("variants/9006")["variant"]["title"] == "Default"
    assert s.vendor("variants/9003")["variant"]["title"] == "Colour: black"
    assert s.vendor("products/1")["error"]["code"] == 404


def test_bench_seed_is_5000_products_of_3_variants_without_orders() -> None:
    app = create_app(seed="bench-products")
    with TestClient(app) as tc:

        def count(resource: str) -> int:
            return tc.get(f"/nl/{resource}/count.json", auth=AUTH).json()["count"]

        assert (count("products"), count("variants"), count("orders")) == (5000, 15000, 0)
        day = {"updated_at_min": "2026-11-16 00:00:00", "updated_at_max": "2026-11-16 23:59:59"}
        assert tc.get("/nl/products/count.json", params=day, auth=AUTH).json()["count"] == 5000
