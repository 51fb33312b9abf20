"""Lightspeed eCom as a product and stock target, against the in-process sandbox."""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from shopbridge.connectors._kit.http import RetryPolicy
from shopbridge.connectors.base import CallCounter, ImageUpload, ItemWrite
from shopbridge.connectors.lightspeed_ecom.client import (
    LightspeedEcomClient,
    LightspeedEcomSettings,
)
from shopbridge.connectors.lightspeed_ecom.defaults import DEFAULTS
from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
from shopbridge.connectors.lightspeed_ecom.target import LightspeedEcomTarget
from shopbridge.errors import FatalError, RecordError, RetriableError
from shopbridge.models import ExternalRef, Product, Variant
from shopbridge_dev.sandboxes.demo_data import generate
from shopbridge_dev.sandboxes.lightspeed_ecom.app import create_app
from shopbridge_dev.sandboxes.lightspeed_ecom.catalogue import png
from tests.connectors.clock import FakeClock

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

BASE = "http://testserver"
AUTH = ("demo-key", "demo-secret")
DEMO_VARIANTS = {v["variant_id"]: v for p in generate("demo").catalogue for v in p["variants"]}
SIMPLE_SKU = DEMO_VARIANTS[9006]["sku"]  # product 5003's one variant

HEADER = {
    "title": "Garden spade",
    "fulltitle": "Noord Garden spade",
    "content": "<p>A spade.</p>",
    "description": "A spade.",
    "isVisible": True,
}


@dataclass
class Shop:
    app: FastAPI
    client: LightspeedEcomClient
    target: LightspeedEcomTarget
    clock: FakeClock
    sent: list[tuple[str, str, Any]] = field(default_factory=list)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        with TestClient(self.app) as tc:
            resp = tc.request(method, f"/_sandbox/{path}", json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()

    def vendor(self, path: str, **params: Any) -> Any:
        with TestClient(self.app) as tc:
            return tc.get(f"/nl/{path}.json", params=params, auth=AUTH).json()

    def stats(self) -> dict[str, int]:
        return dict(self.control("GET", "stats"))

    def fresh(self) -> LightspeedEcomTarget:
        """A new target on the same client: what the next task (or run) gets."""
        return LightspeedEcomTarget(self.client)

    def writes_sent(self) -> list[tuple[str, str, Any]]:
        return [w for w in self.sent if w[0] != "GET"]

    def product_of(self, sku: str) -> dict[str, Any]:
        variant = next(v for v in self.vendor("variants", limit=250)["variants"] if v["sku"] == sku)
        return dict(self.vendor(f"products/{variant['product']['resource']['id']}")["product"])


def shop(seed: str = "demo", *, per_second: int = 1000, **options: Any) -> Shop:
    clock = FakeClock()
    app = create_app(seed=seed, n_orders=3, clock=clock, per_second=per_second, **options)
    client = LightspeedEcomClient(
        BASE,
        "nl",
        *AUTH,
        http=TestClient(app),
        policy=RetryPolicy(sleep=clock.sleep),
        counter=CallCounter(),
        max_per_second=min(per_second, 100),
        clock=clock,
    )
    s = Shop(app, client, LightspeedEcomTarget(client), clock)
    real: Callable[..., Any] = client.request

    def recording(method: str, resource: str, **kw: Any) -> Any:
        s.sent.append((method, resource, kw.get("body")))
        return real(method, resource, **kw)

    client.request = recording  # type: ignore[method-assign,assignment]
    return s


def simple(code: str = "SPADE-1", **fields: Any) -> ItemWrite:
    return ItemWrite(
        code=code,
        fields={
            **HEADER,
            "sku": code,
            "ean": "8712345678906",
            "priceExcl": "10.00",
            "priceIncl": "12.10",
            "stockLevel": "7",
            **fields,
        },
    )


def tee(code: str, colour: str, size: str, ean: str) -> ItemWrite:
    return ItemWrite(
        code=code,
        parent="P-TEE",
        fields={
            "title": "Tee",
            "content": "<p>Tee</p>",
            "sku": code,
            "ean": ean,
            "priceExcl": "20.00",
            "priceIncl": "24.20",
            "stockLevel": "3",
            "Colour": colour,
            "Size": size,
        },
    )


TEES = [
    tee("TEE-RED-S", "red", "S", "8700000100001"),
    tee("TEE-RED-M", "red", "M", "8700000100002"),
    tee("TEE-BLUE-M", "blue", "M", "8700000100003"),
]
PARENT = ItemWrite(code="P-TEE", fields={"title": "Tee", "content": "<p>Tee</p>"}, is_parent=True)


# --- create ----------------------------------------------------------------------------


def test_simple_product_is_created_with_its_variant_fields() -> None:
    s = shop()
    s.target.create_item(simple())
    assert s.client.counter.calls == 3  # POST product, its variants, PUT the default one
    assert s.stats()["writes"] == 2
    product = s.product_of("SPADE-1")
    assert {
        k: product[k]
        for k in (
            "title",
            "fulltitle",
            "content",
            "description",
            "isVisible",
            "visibility",
            "data01",
        )
    } == {**HEADER, "visibility": "visible", "data01": "SPADE-1"}
    variants = s.vendor("variants", product=product["id"])["variants"]
    assert len(variants) == 1
    v = variants[0]
    assert (
        v["sku"],
        v["ean"],
        v["priceExcl"],
        v["priceIncl"],
        v["stockLevel"],
        v["isDefault"],
        v["title"],
    ) == ("SPADE-1", "8712345678906", 10.0, 12.1, 7, True, "Default")
    # the next run finds it by SKU and by EAN
    assert s.fresh().match_items(["SPADE-1"], ["8712345678906"]) == {
        "sku:SPADE-1": "SPADE-1",
        "ean:8712345678906": "SPADE-1",
    }


def test_a_shop_without_default_variants_gets_the_variant_posted() -> None:
    s = shop(product_default_variant=False)
    s.target.create_item(simple())
    assert [w[:2] for w in s.writes_sent()] == [("POST", "products"), ("POST", "variants")]
    product = s.product_of("SPADE-1")
    assert [v["sku"] for v in s.vendor("variants", product=product["id"])["variants"]] == [
        "SPADE-1"
    ]


def test_configurable_parent_with_three_variants() -> None:
    s = shop()
    s.target.create_item(PARENT)
    for item in TEES:
        s.target.create_item(item)
    # POST product; its variants; PUT the default one; POST the other two
    assert [w[:2] for w in s.writes_sent()] == [
        ("POST", "products"),
        ("PUT", f"variants/{s.target._sku_ids['TEE-RED-S']}"),
        ("POST", "variants"),
        ("POST", "variants"),
    ]
    assert s.client.counter.calls == 5
    product = s.product_of("TEE-BLUE-M")
    assert (product["title"], product["data01"]) == ("Tee", "P-TEE")
    variants = s.vendor("variants", product=product["id"])["variants"]
    assert [(v["sku"], v["title"], v["isDefault"], v["priceIncl"]) for v in variants] == [
        ("TEE-RED-S", "Colour: red, Size: S", True, 24.2),
        ("TEE-RED-M", "Colour: red, Size: M", False, 24.2),
        ("TEE-BLUE-M", "Colour: blue, Size: M", False, 24.2),
    ]
    # header fields ride along on variant items but are the parent's: not sent again
    assert all("content" not in (w[2] or {}).get("variant", {}) for w in s.writes_sent())
    # a fresh target finds the parent by its item code and the variants by SKU / EAN
    assert s.fresh().match_items(["P-TEE", "TEE-RED-M", "NOPE"], ["8700000100003"]) == {
        "sku:P-TEE": "P-TEE",
        "sku:TEE-RED-M": "TEE-RED-M",
        "ean:8700000100003": "TEE-BLUE-M",
    }
    # and the webshop reads it back as the same configurable product
    source = LightspeedEcomSource(s.client)
    now = datetime.now(UTC)
    read = [
        source.to_product(r)
        for r in source.iter_product_records(now - timedelta(days=1), now + timedelta(days=1))
    ]
    tee_read = next(p for p in read if p.title == "Tee")
    assert [v.attributes for v in tee_read.variants] == [
        {"Colour": "red", "Size": "S"},
        {"Colour": "red", "Size": "M"},
        {"Colour": "blue", "Size": "M"},
    ]


def test_a_variant_whose_parent_is_missing_is_a_record_error() -> None:
    s = shop()
    with pytest.raises(RecordError) as exc:
        s.target.create_item(TEES[0])
    assert (exc.value.source_id, exc.value.field) == ("TEE-RED-S", "parent")
    assert s.stats()["writes"] == 0


def test_an_unknown_product_field_is_a_record_error_naming_it() -> None:
    s = shop()
    with pytest.raises(RecordError) as exc:
        s.target.create_item(simple(Material="steel"))
    assert exc.value.field == "Material"
    with pytest.raises(RecordError) as exc:
        s.target.create_item(simple(priceExcl="cheap"))
    assert exc.value.field == "priceExcl"
    assert s.stats()["writes"] == 0


def test_a_refused_create_is_fatal_and_names_the_item() -> None:
    s = shop()
    with pytest.raises(FatalError, match=r"variant DUP-1.*already used"):
        s.target.create_item(simple("DUP-1", sku=SIMPLE_SKU))
    assert s.client.counter.retries == 0


def test_a_product_whose_create_died_half_way_is_found_and_repaired() -> None:
    s = shop()
    s.control(
        "POST",
        "faults",
        {"status": 503, "path_contains": "/variants/", "method": "PUT", "times": 5},
    )
    with pytest.raises(RetriableError):
        s.target.create_item(simple())
    target = s.fresh()  # the task's retry: the product exists, its variant has no SKU
    assert target.match_items(["SPADE-1"], []) == {"sku:SPADE-1": "SPADE-1"}
    target.update_item("SPADE-1", simple())
    product = s.product_of("SPADE-1")
    variants = s.vendor("variants", product=product["id"])["variants"]
    assert [(v["sku"], v["priceExcl"]) for v in variants] == [("SPADE-1", 10.0)]
    assert (
        len(
            [p for p in s.vendor("products", limit=250)["products"] if p.get("data01") == "SPADE-1"]
        )
        == 1
    )


# --- update ----------------------------------------------------------------------------


def test_update_sends_exactly_the_given_fields() -> None:
    s = shop()
    s.target.create_item(simple())
    s.target.create_item(PARENT)
    for item in TEES:
        s.target.create_item(item)
    target = s.fresh()
    pid = str(s.product_of("SPADE-1")["id"])
    tee_pid = str(s.product_of("TEE-RED-S")["id"])
    vid = target._variants()["SPADE-1"]
    red_m = target._variants()["TEE-RED-M"]
    s.sent.clear()
    target.update_item(
        "SPADE-1",
        ItemWrite(
            code="SPADE-1", fields={"title": "Spade", "priceIncl": "13.31", "stockLevel": "99"}
        ),
    )
    target.update_item(
        "P-TEE", ItemWrite(code="P-TEE", fields={"content": "<p>New</p>"}, is_parent=True)
    )
    target.update_item(
        "TEE-RED-M",
        ItemWrite(
            code="TEE-RED-M",
            parent="P-TEE",
            fields={"title": "Tee", "priceExcl": "19.5", "Colour": "red", "Size": "M"},
        ),
    )
    assert s.writes_sent() == [
        ("PUT", f"products/{pid}", {"product": {"title": "Spade"}}),
        ("PUT", f"variants/{vid}", {"variant": {"priceIncl": 13.31}}),  # stockLevel: create only
        ("PUT", f"products/{tee_pid}", {"product": {"content": "<p>New</p>"}}),
        (
            "PUT",
            f"variants/{red_m}",
            {"variant": {"priceExcl": 19.5, "title": "Colour: red, Size: M"}},
        ),
    ]
    product = s.vendor(f"products/{pid}")["product"]
    assert (product["title"], product["content"]) == ("Spade", HEADER["content"])
    variant = s.vendor(f"variants/{vid}")["variant"]
    assert (variant["priceIncl"], variant["priceExcl"], variant["stockLevel"]) == (13.31, 10.0, 7)


def test_update_of_an_item_not_in_the_shop_is_a_record_error() -> None:
    s = shop()
    with pytest.raises(RecordError) as exc:
        s.target.update_item("GHOST-1", simple("GHOST-1"))
    assert (exc.value.source_id, exc.value.field) == ("GHOST-1", "code")


# --- categories ------------------------------------------------------------------------


def test_category_tree_is_created_once_and_products_linked() -> None:
    s = shop()
    paths = [("Garden", "Tools", "Spades"), ("Garden", "Pots"), ("Clothing", "Shirts")]
    codes = s.target.ensure_categories(paths)
    assert set(codes) == {
        ("Garden",),
        ("Garden", "Tools"),
        ("Garden", "Tools", "Spades"),
        ("Garden", "Pots"),
        ("Clothing",),
        ("Clothing", "Shirts"),
    }
    creates = [w for w in s.writes_sent() if w[:2] == ("POST", "categories")]
    assert [w[2]["category"]["title"] for w in creates] == ["Garden", "Pots", "Tools", "Spades"]
    spades = s.vendor(f"categories/{codes[('Garden', 'Tools', 'Spades')]}")["category"]
    assert spades["parent"]["resource"]["id"] == int(codes[("Garden", "Tools")])
    assert spades["depth"] == 3
    writes = s.stats()["writes"]
    # the next run: one read of the tree, nothing written
    again = s.fresh()
    calls = s.client.counter.calls
    assert again.ensure_categories(paths) == codes
    assert s.stats()["writes"] == writes and s.client.counter.calls == calls + 1
    # a product goes in its categories; an update adds only a missing link
    garden = (codes[("Garden", "Tools", "Spades")], codes[("Garden",)])
    again.create_item(ItemWrite("SPADE-1", simple().fields, categories=garden))
    pid = s.product_of("SPADE-1")["id"]
    linked = {
        link["category"]["resource"]["id"]
        for link in s.vendor("categories/products", product=pid)["categoriesProducts"]
    }
    assert linked == {int(c) for c in garden}
    writes = s.stats()["writes"]
    again.update_item("SPADE-1", ItemWrite("SPADE-1", {}, categories=garden))
    assert s.stats()["writes"] == writes


def test_a_renamed_category_is_renamed_not_duplicated() -> None:
    s = shop()
    before = s.target.ensure_categories([("Clothing", "Shirts")])
    after = s.fresh().ensure_categories([("Clothing", "SHIRTS")])
    assert after[("Clothing", "SHIRTS")] == before[("Clothing", "Shirts")]
    assert s.vendor(f"categories/{before[('Clothing', 'Shirts')]}")["category"]["title"] == (
        "SHIRTS"
    )


# --- images ----------------------------------------------------------------------------


def upload(content: bytes, position: int = 0, filename: str = "front.png") -> ImageUpload:
    return ImageUpload(
        filename=filename,
        content=content,
        content_type="image/png",
        position=position,
        content_hash=hashlib.sha256(content).hexdigest(),
    )


def test_an_image_is_uploaded_and_then_served() -> None:
    s = shop()
    s.target.create_item(simple())
    first, second = png(1, "a.png"), png(2, "b.png")
    s.target.put_image("SPADE-1", upload(first))
    pid = s.product_of("SPADE-1")["id"]
    images = s.vendor(f"products/{pid}/images")["productImages"]
    assert [(i["sortOrder"], i["size"], i["extension"]) for i in images] == [(1, len(first), "png")]
    body = s.writes_sent()[-1][2]["productImage"]
    assert set(body) == {"attachment", "filename", "sortOrder"}
    # the CDN serves the uploaded bytes, and the source connector can fetch them
    assert LightspeedEcomSource(s.client).fetch_image(images[0]["src"]) == (first, "image/png")
    listed = [i for i in s.control("GET", "images")["images"] if i["product"] == pid]
    assert [i["sha256"] for i in listed] == [hashlib.sha256(first).hexdigest()]
    # a new picture at the same position replaces the old one
    s.target.put_image("SPADE-1", upload(second))
    images = s.vendor(f"products/{pid}/images")["productImages"]
    assert len(images) == 1
    assert s.client.fetch_file(images[0]["src"])[0] == second
    # a configurable product's pictures go to the product of its parent code
    s.target.create_item(PARENT)
    s.target.put_image("P-TEE", upload(first, position=1, filename="side"))
    tee_pid = s.fresh()._item_codes()["P-TEE"]
    tee_images = s.vendor(f"products/{tee_pid}/images")["productImages"]
    assert [(i["sortOrder"], i["src"].rsplit("/", 1)[1]) for i in tee_images] == [(2, "side.png")]


# --- stock -----------------------------------------------------------------------------


def test_set_stock_writes_only_what_changed(caplog: pytest.LogCaptureFixture) -> None:
    s = shop()
    level = DEMO_VARIANTS[9006]["stock"]
    tracked = DEMO_VARIANTS[9006]["tracked"]
    assert s.target.find_items([SIMPLE_SKU, "NOPE"]) == {SIMPLE_SKU}
    s.target.set_stock(SIMPLE_SKU, Decimal(level), managed=tracked)
    assert s.writes_sent() == [] and s.client.counter.calls == 1
    s.target.set_stock(SIMPLE_SKU, Decimal("12.9"), managed=tracked)
    s.target.set_stock(SIMPLE_SKU, Decimal(12), managed=not tracked)
    s.target.set_stock(SIMPLE_SKU, Decimal(12), managed=not tracked)
    state = {True: "enabled", False: "disabled"}
    assert [w[2] for w in s.writes_sent()] == [
        {"variant": {"stockLevel": 12}},
        {"variant": {"stockTracking": state[not tracked]}},
    ]
    variant = s.vendor("variants/9006")["variant"]
    assert (variant["stockLevel"], variant["stockTracking"]) == (12, state[not tracked])
    with caplog.at_level(logging.WARNING):
        s.target.set_stock(SIMPLE_SKU, Decimal(13), managed=not tracked, location="WH2")
    assert "one stock level per variant" in caplog.text
    with pytest.raises(RecordError) as exc:
        s.target.set_stock("NOPE", Decimal(1), managed=True)
    assert (exc.value.entity, exc.value.field) == ("stock", "sku")


def test_sustained_stock_sync_stays_under_the_real_rate_limit() -> None:
    clock = FakeClock()
    app = create_app(seed="bench-products", clock=clock)  # 300/5 min, 3000/h, 20/s
    settings = LightspeedEcomSettings(base_url=BASE, key=AUTH[0], secret=AUTH[1])
    client = LightspeedEcomClient.from_settings(
        settings, http=TestClient(app), policy=RetryPolicy(sleep=clock.sleep), clock=clock
    )
    target = LightspeedEcomTarget(client)
    skus = sorted(target._variants())[:400]
    assert target.find_items(skus) == set(skus)  # 15,000 variants: 60 pages + an empty one
    for n, sku in enumerate(skus):
        target.set_stock(sku, Decimal(10_000 + n), managed=True)
    with TestClient(app) as tc:
        stats = tc.get("/_sandbox/stats").json()
    assert (stats["rejected_429"], stats["writes"]) == (0, 400)
    assert client.counter.calls == 61 + 400 and client.counter.retries == 0
    # the 5-minute window emptied once and was slept out rather than hit
    assert len([w for w in clock.sleeps if w > 60]) == 1
    assert clock.now - 1000 >= 300


def test_without_a_pause_ceiling_the_wait_goes_to_airflow() -> None:
    s = shop(rate_limit="5/3000/12000")
    s.client.rate_limit_pause = None  # a client built by hand: waits of max_wait (30 s)
    s.target.find_items([SIMPLE_SKU])
    for n in range(4):  # 1 read + 4 writes empty the 5-request window
        s.target.set_stock(SIMPLE_SKU, Decimal(n + 100), managed=True)
    with pytest.raises(RetriableError, match="rate limit") as exc:
        s.target.set_stock(SIMPLE_SKU, Decimal(200), managed=True)
    assert exc.value.retry_after is not None and exc.value.retry_after > 30
    assert s.stats()["rejected_429"] == 0


# --- matching --------------------------------------------------------------------------


def test_match_by_ean() -> None:
    s = shop()
    v = DEMO_VARIANTS[9006]
    assert s.target.match_items([], [v["ean"], "0000000000000"]) == {f"ean:{v['ean']}": v["sku"]}
    # a variant without a SKU in the shop is still matched, by its id
    s.control("POST", "variants", {"id": 9006, "sku": ""})
    target = s.fresh()
    found = target.match_items(["NEW-SKU"], [v["ean"]])
    assert found == {f"ean:{v['ean']}": "variant:9006"}
    target.update_item("variant:9006", ItemWrite("variant:9006", {"sku": "NEW-SKU"}))
    assert s.vendor("variants/9006")["variant"]["sku"] == "NEW-SKU"


# --- default mapping -------------------------------------------------------------------


def test_default_mapping_feeds_the_target() -> None:
    from shopbridge.config import ProductSettings
    from shopbridge.flows.products import items_for
    from shopbridge.mapping.engine import Mapper
    from shopbridge.mapping.spec import MappingSpec

    assert (
        DEFAULTS.mappings[("accountview", "lightspeed_ecom", "products")]
        is (DEFAULTS.mappings[("ccv_salespos", "lightspeed_ecom", "products")])
    )
    assert DEFAULTS.incl_tax == {}
    product = Product(
        ref=ExternalRef(system="accountview", id="ART-9"),
        sku="P-TEE",
        title="Tee",
        brand="Noord",
        description="<p>Tee</p>",
        short_description="A tee",
        variants=tuple(
            Variant(
                sku=i.code,
                ean=str(i.fields["ean"]),
                price_excl=Decimal(20),
                price_incl=Decimal("24.20"),
                quantity=Decimal(3),
                attributes={"Colour": str(i.fields["Colour"]), "Size": str(i.fields["Size"])},
            )
            for i in TEES
        ),
        updated_at=datetime(2026, 11, 18, tzinfo=UTC),
    )
    mapper = Mapper(
        MappingSpec(),
        DEFAULTS.mappings[("accountview", "lightspeed_ecom", "products")],
        entity="products",
    )
    settings = ProductSettings(attributes={"Colour": "Colour", "Size": "Size"})
    items = items_for(product, mapper.map_product(product, {}).as_dict(), settings)
    s = shop()
    for item in items:
        s.target.create_item(item)
    tee_product = s.product_of("TEE-RED-M")
    assert (tee_product["fulltitle"], tee_product["description"]) == ("Noord Tee", "A tee")
    variants = s.vendor("variants", product=tee_product["id"])["variants"]
    assert [(v["sku"], v["title"], v["stockLevel"], v["priceExcl"]) for v in variants] == [
        (i.code, f"Colour: {i.fields['Colour']}, Size: {i.fields['Size']}", 3, 20.0) for i in TEES
    ]


# --- sandbox ---------------------------------------------------------------------------


def test_sandbox_validates_catalogue_writes() -> None:
    s = shop()
    with TestClient(s.app) as tc:

        def post(path: str, body: Any) -> Any:
            return tc.post(f"/nl/{path}.json", json=body, auth=AUTH)

        dup = post("variants", {"variant": {"product": 5003, "sku": SIMPLE_SKU}})
        assert dup.status_code == 400 and "already used" in dup.json()["error"]["message"]
        assert post("variants", {"variant": {"product": 1, "sku": "X"}}).status_code == 404
        assert post("products", {"product": {"fulltitle": "no title"}}).status_code == 400
        assert post("products", {"product": {"title": "T", "colour": "red"}}).status_code == 400
        assert post("categories", {"category": {"title": "A", "parent": 999}}).status_code == 404
        bad_image = post(
            "products/5003/images",
            {"productImage": {"attachment": "not base64!", "filename": "x.png"}},
        )
        assert bad_image.status_code == 400
        assert (
            post(
                "products/1/images",
                {"productImage": {"attachment": "iVBORw0=", "filename": "x.png"}},
            ).status_code
            == 404
        )
        category = post("categories", {"category": {"title": "Sale"}})
        assert category.status_code == 201
        link = {
            "categoriesProduct": {"category": category.json()["category"]["id"], "product": 5003}
        }
        assert post("categories/products", link).status_code == 201
        assert post("categories/products", link).status_code == 400
        put = tc.put("/nl/products/999.json", json={"product": {"title": "x"}}, auth=AUTH)
        assert put.status_code == 404 and set(put.json()["error"]) == {
            "code",
            "method",
            "request",
            "message",
        }
        created = post("products", {"product": {"title": "Temp", "isVisible": False}})
        assert created.status_code == 201
        pid = created.json()["product"]["id"]
        assert created.json()["product"]["visibility"] == "hidden"
        assert tc.delete(f"/nl/products/{pid}.json", auth=AUTH).status_code == 204
        assert tc.get(f"/nl/variants.json?product={pid}", auth=AUTH).json()["variants"] == []
    assert s.stats()["writes"] == 4  # the category, its link, the product, its deletion


def test_sandbox_state_keeps_uploaded_images(tmp_path: Any) -> None:
    state = tmp_path / "ls.json"
    first = shop(state_file=state)
    first.target.create_item(simple())
    first.target.put_image("SPADE-1", upload(b"\xff\xd8\xff\xe0 jpeg bytes", filename="a.jpg"))
    again = create_app(seed="demo", n_orders=3, state_file=state)
    with TestClient(again) as tc:
        listed = tc.get("/_sandbox/images").json()["images"]
        mine = [i for i in listed if i["path"].endswith("/a.jpg")]
        assert [i["contentType"] for i in mine] == ["image/jpeg"]
        assert tc.get(mine[0]["path"]).content == b"\xff\xd8\xff\xe0 jpeg bytes"
    assert json.loads(state.read_text())["productImages"]


# --- hook ------------------------------------------------------------------------------


def test_hook_target_keeps_item_codes_in_the_configured_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shopbridge.connectors.lightspeed_ecom.hook import LightspeedEcomHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_LS_PRODUCTS",
        json.dumps(
            {
                "conn_type": "lightspeed_ecom",
                "host": BASE,
                "login": "demo-key",
                "password": "demo-secret",
                "extra": {"item_code_field": "data02"},
            }
        ),
    )
    app = create_app(seed="demo", n_orders=3)
    target = LightspeedEcomHook("ls_products").get_target(http=TestClient(app))
    assert (target.item_code_field, target.client.rate_limit_pause) == ("data02", 330.0)
    target.create_item(PARENT)
    target.create_item(TEES[0])  # the parent becomes a product with its first variant
    with TestClient(app) as tc:
        products = tc.get(
            "/nl/products.json", params={"fields": "id,data01,data02"}, auth=AUTH
        ).json()["products"]
    # every product carries data01-03 ("" when unused), as the vendor sends them
    assert [(p["data01"], p["data02"]) for p in products if p["data02"]] == [("", "P-TEE")]
    target.close()


def test_a_parent_whose_variants_exist_adopts_their_product_instead_of_an_empty_one() -> None:
    """A configurable product from another system whose variants the shop already sells
    (same SKUs) takes over their product: no empty duplicate product appears."""
    s = shop()
    tee_variants = [v for v in DEMO_VARIANTS.values() if v["sku"].startswith("T-S")]
    assert len(tee_variants) >= 2
    pid = s.product_of(tee_variants[0]["sku"])["id"]
    before = len(s.vendor("products", limit=250)["products"])
    s.target.create_item(
        ItemWrite(code="CCV-TEE", fields={"title": "T-shirt (till)"}, is_parent=True)
    )
    for v in tee_variants:
        s.target.update_item(
            v["sku"], ItemWrite(code=v["sku"], parent="CCV-TEE", fields={"priceExcl": "19.00"})
        )
    assert len(s.vendor("products", limit=250)["products"]) == before
    product = s.vendor(f"products/{pid}")["product"]
    assert product["title"] == "T-shirt (till)"
    assert product["data01"] == "CCV-TEE"
    # found again by its code on the next run
    assert s.target.match_items(["CCV-TEE"], []) == {"sku:CCV-TEE": "CCV-TEE"}


def test_a_parent_with_no_variant_written_creates_nothing() -> None:
    s = shop()
    before = s.stats()["writes"]
    s.target.create_item(PARENT)
    assert s.stats()["writes"] == before
