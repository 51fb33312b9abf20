"""``product_from_lightspeed`` and ``stock_from_lightspeed``: records in, canonical out, and
malformed records -> ``RecordError`` naming the vendor field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from shopbridge.connectors.lightspeed_ecom.translate import (
    options_from_title,
    product_from_lightspeed,
    stock_from_lightspeed,
)
from shopbridge.errors import RecordError
from shopbridge.models import Category, ExternalRef, Image, Product, StockLevel, Variant

CET = timezone(timedelta(hours=1))
CDN = "https://cdn.webshopapp.com/shops/1/files"


def ref(resource: str, rid: Any, embedded: Any = ...) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rid,
        "url": f"{resource}/{rid}",
        "link": f"https://api.webshopapp.com/nl/{resource}/{rid}.json",
    }
    if embedded is not ...:
        out["embedded"] = embedded
    return {"resource": out}


def many(url: str, embedded: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resource": {"id": False, "url": url, "embedded": embedded}}


TAX = {"id": 1, "isDefault": True, "title": "21%", "rate": 0.21}
CLOTHING = {"id": 1, "title": "Clothing", "depth": 1, "parent": False}
SHIRTS = {"id": 2, "title": "Shirts", "depth": 2, "parent": ref("categories", 1, CLOTHING)}
GIFTS = {"id": 7, "title": "Gifts", "depth": 1, "parent": False}


def variant(
    vid: int,
    title: str,
    sku: str,
    *,
    sort: int,
    price: float = 20.0,
    level: Any = 10,
    tracking: str = "enabled",
) -> dict[str, Any]:
    return {
        "id": vid,
        "sortOrder": sort,
        "title": title,
        "sku": sku,
        "ean": f"87{vid:011d}",
        "articleCode": f"ART-{vid}",
        "priceExcl": price,
        "priceIncl": round(price * 1.21, 2),
        "stockTracking": tracking,
        "stockLevel": level,
        "product": ref("products", 5002),
        "tax": ref("taxes", 1, TAX),
    }


def hoodie() -> dict[str, Any]:
    """A configurable product as the source yields it (relations embedded)."""
    return {
        "id": 5002,
        "createdAt": "2026-08-18T01:00:00+01:00",
        "updatedAt": "2026-11-16T07:00:00+01:00",
        "isVisible": True,
        "visibility": "visible",
        "url": "hoodie",
        "title": "Hoodie",
        "fulltitle": "Noord Basics Hoodie",
        "description": "Hoodie in wool.",
        "content": "<p>Our hoodie is made of wool.</p>",
        "brand": ref("brands", 1, {"id": 1, "title": "Noord Basics"}),
        "variants": many(
            "variants?product=5002",
            [
                variant(9003, "Colour: black", "HOO-BLA-9003", sort=1, price=24.8),
                variant(9004, "Colour: white", "HOO-WHI-9004", sort=2, price=24.8),
                variant(9005, "Colour: navy", "HOO-NAV-9005", sort=3, price=24.8),
            ],
        ),
        "images": many(
            "products/5002/images",
            [
                {
                    "id": 3,
                    "sortOrder": 2,
                    "title": "detail",
                    "extension": "png",
                    "src": f"{CDN}/3/hoodie-2.png",
                    "thumb": f"{CDN}/3/50x50x2/hoodie-2.png",
                },
                {
                    "id": 2,
                    "sortOrder": 1,
                    "title": "front",
                    "extension": "png",
                    "src": f"{CDN}/2/hoodie%20front.png",
                    "thumb": f"{CDN}/2/50x50x2/hoodie-1.png",
                },
            ],
        ),
        "categories": many("categories/products?product=5002", [SHIRTS, GIFTS]),
        "attributes": many(
            "products/5002/attributes",
            [
                {
                    "id": 4,
                    "attribute": ref("attributes", 1, {"id": 1, "title": "Country of origin"}),
                    "value": "PT",
                },
                {
                    "id": 5,
                    "attribute": ref("attributes", 2, {"id": 2, "title": "Delivery time"}),
                    "value": "1-2 days",
                },
                {
                    "id": 6,
                    "attribute": ref("attributes", 3, {"id": 3, "title": "Care"}),
                    "value": "",
                },
            ],
        ),
    }


def mug() -> dict[str, Any]:
    """A simple product: one variant titled "Default", no brand, no images."""
    raw = hoodie()
    raw.update(
        id=5003,
        title="Mug",
        fulltitle="Mug",
        brand=False,
        images=False,
        attributes=False,
        categories=False,
        variants=many(
            "variants?product=5003",
            [variant(9006, "Default", "MUG-BLA-9006", sort=1, price=8.26, level=0)],
        ),
    )
    return raw


def test_configurable_product_translates_in_full() -> None:
    want = Product(
        ref=ExternalRef(system="lightspeed_ecom", id="5002"),
        sku="P-5002",
        ean="",
        title="Hoodie",
        description="<p>Our hoodie is made of wool.</p>",
        short_description="Hoodie in wool.",
        brand="Noord Basics",
        visible=True,
        currency="EUR",
        tax_rate=Decimal("0.21"),
        categories=(Category(path=("Clothing", "Shirts")), Category(path=("Gifts",))),
        images=(
            Image(url=f"{CDN}/2/hoodie%20front.png", position=0, filename="hoodie front.png"),
            Image(url=f"{CDN}/3/hoodie-2.png", position=1, filename="hoodie-2.png"),
        ),
        features={"Country of origin": "PT", "Delivery time": "1-2 days"},
        variants=tuple(
            Variant(
                sku=sku,
                article_code=f"ART-{vid}",
                ean=f"87{vid:011d}",
                title=f"Colour: {colour}",
                price_excl=Decimal("24.8"),
                price_incl=Decimal("30.01"),
                attributes={"Colour": colour},
                quantity=Decimal("10"),
            )
            for vid, sku, colour in (
                (9003, "HOO-BLA-9003", "black"),
                (9004, "HOO-WHI-9004", "white"),
                (9005, "HOO-NAV-9005", "navy"),
            )
        ),
        updated_at=datetime(2026, 11, 16, 7, tzinfo=CET),
    )
    got = product_from_lightspeed(hoodie())
    assert got == want
    assert got.configurable


def test_simple_product_takes_its_variants_sku_and_ean() -> None:
    product = product_from_lightspeed(mug())
    assert not product.configurable
    assert (product.sku, product.ean) == ("MUG-BLA-9006", "8700000009006")
    assert product.variants[0].attributes == {}
    assert product.variants[0].title == ""
    assert product.variants[0].quantity == Decimal("0")
    assert (product.brand, product.images, product.categories, product.features) == ("", (), (), {})


def test_translation_survives_a_json_round_trip() -> None:
    raw = hoodie()
    assert product_from_lightspeed(json.loads(json.dumps(raw))) == product_from_lightspeed(raw)


def test_variants_follow_sort_order_and_two_options_are_read() -> None:
    raw = hoodie()
    raw["variants"]["resource"]["embedded"] = [
        variant(9102, "Colour: black, Size: M", "T-BLA-M", sort=2),
        variant(9101, "Colour: black, Size: S", "T-BLA-S", sort=1),
        variant(9103, "Colour : white , Size : S", "T-WHI-S", sort=3),
    ]
    product = product_from_lightspeed(raw)
    assert [v.sku for v in product.variants] == ["T-BLA-S", "T-BLA-M", "T-WHI-S"]
    assert product.variants[2].attributes == {"Colour": "white", "Size": "S"}


def test_one_variant_with_options_is_a_configurable_product() -> None:
    raw = mug()
    raw["variants"]["resource"]["embedded"][0]["title"] = "Colour: black"
    product = product_from_lightspeed(raw)
    assert product.configurable and product.sku == "P-5003"
    assert product.variants[0].attributes == {"Colour": "black"}


def test_a_lone_variants_free_text_title_keeps_the_product_simple() -> None:
    raw = mug()
    raw["variants"]["resource"]["embedded"][0]["title"] = "Large mug"
    product = product_from_lightspeed(raw)
    assert not product.configurable and product.variants[0].title == "Large mug"


def test_untracked_or_negative_stock_is_not_sent_as_a_quantity() -> None:
    raw = hoodie()
    rows = raw["variants"]["resource"]["embedded"]
    rows[0]["stockTracking"] = "disabled"
    rows[1]["stockLevel"] = -3
    product = product_from_lightspeed(raw)
    assert [v.quantity for v in product.variants] == [None, None, Decimal("10")]


def test_tax_rate_is_derived_from_prices_without_an_embedded_tax() -> None:
    raw = hoodie()
    for row in raw["variants"]["resource"]["embedded"]:
        row["tax"] = False
        row["priceExcl"], row["priceIncl"] = 10.0, 10.9
    assert product_from_lightspeed(raw).tax_rate == Decimal("0.09")


def test_duplicate_feature_titles_are_joined() -> None:
    raw = hoodie()
    raw["attributes"]["resource"]["embedded"][1]["attribute"] = ref(
        "attributes", 9, {"id": 9, "title": "Country of origin"}
    )
    assert product_from_lightspeed(raw).features == {"Country of origin": "PT, 1-2 days"}


def test_fulltitle_stands_in_for_an_empty_title() -> None:
    raw = hoodie()
    raw["title"] = ""
    assert product_from_lightspeed(raw).title == "Noord Basics Hoodie"


def test_hidden_product_is_not_visible() -> None:
    raw = hoodie()
    raw["isVisible"] = False
    assert not product_from_lightspeed(raw).visible
    del raw["isVisible"]
    raw["visibility"] = "hidden"
    assert not product_from_lightspeed(raw).visible


def _variants(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return raw["variants"]["resource"]["embedded"]


def _in(path: str, key: str, value: Any = ...) -> Callable[[dict[str, Any]], None]:
    """Set (or, with no value, delete) ``key`` of the embedded row at ``path`` (``variants.1``)."""
    relation, _, index = path.partition(".")

    def mutate(raw: dict[str, Any]) -> None:
        row = raw[relation]["resource"]["embedded"][int(index)]
        if value is ...:
            row.pop(key)
        else:
            row[key] = value

    return mutate


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw.__setitem__(key, value)


def _unembed(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda raw: raw[key]["resource"].pop("embedded")


def _reverse_and_blank_first_sku(raw: dict[str, Any]) -> None:
    # the vendor's index is reported even when sortOrder puts the row elsewhere
    rows = _variants(raw)
    rows[0]["sku"], rows[0]["articleCode"], rows[0]["ean"], rows[0]["sortOrder"] = "", "", "", 99


def _no_item_key(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(raw: dict[str, Any]) -> None:
        for key in ("sku", "articleCode", "ean"):
            _in(path, key, "")(raw)

    return mutate


BAD = [
    ("variant_without_item_key", _no_item_key("variants.1"), "variants[1].sku"),
    ("index_is_the_vendors", _reverse_and_blank_first_sku, "variants[0].sku"),
    ("unreadable_options", _in("variants.2", "title", "navy"), "variants[2].title"),
    ("default_among_several", _in("variants.1", "title", "Default"), "variants[1].title"),
    ("different_option_names", _in("variants.1", "title", "Size: M"), "variants[1].title"),
    ("same_options_twice", _in("variants.2", "title", "Colour: black"), "variants[2].title"),
    ("price_not_a_number", _in("variants.0", "priceExcl", "abc"), "variants[0].priceExcl"),
    ("price_missing", _in("variants.1", "priceIncl"), "variants[1].priceIncl"),
    (
        "tax_rate_as_percent",
        lambda raw: _variants(raw)[0].__setitem__("tax", ref("taxes", 1, {"id": 1, "rate": 21})),
        "variants[0].tax.rate",
    ),
    ("no_variants", _set("variants", False), "variants"),
    ("variants_not_embedded", _unembed("variants"), "variants"),
    ("image_without_src", _in("images.0", "src", ""), "images[0].src"),
    ("image_src_relative", _in("images.1", "src", "files/2/a.png"), "images[1].src"),
    ("category_without_title", _in("categories.1", "title", ""), "categories[1].title"),
    (
        "parent_not_embedded",
        _in("categories.0", "parent", ref("categories", 1)),
        "categories[0].parent",
    ),
    (
        "parent_without_title",
        _in("categories.0", "parent", ref("categories", 1, {"id": 1})),
        "categories[0].parent.title",
    ),
    (
        "feature_without_title",
        _in("attributes.0", "attribute", ref("attributes", 1, {})),
        "attributes[0].attribute",
    ),
    ("brand_not_embedded", _set("brand", ref("brands", 1)), "brand"),
    ("no_title", lambda raw: raw.update(title="", fulltitle=False), "title"),
    ("timestamp_without_offset", _set("updatedAt", "2026-11-16 07:00:00"), "updatedAt"),
]


@pytest.mark.parametrize(("mutate", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_product_names_the_vendor_field(
    mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    raw = copy.deepcopy(hoodie())
    mutate(raw)
    with pytest.raises(RecordError) as exc:
        product_from_lightspeed(raw)
    assert (exc.value.entity, exc.value.source_id, exc.value.field) == ("product", "5002", field)


def test_product_that_is_not_an_object_is_a_record_error() -> None:
    with pytest.raises(RecordError) as exc:
        product_from_lightspeed([])  # type: ignore[arg-type]
    assert exc.value.entity == "product"


@pytest.mark.parametrize(
    ("title", "options"),
    [
        ("Default", {}),
        ("", {}),
        ("Colour: black", {"Colour": "black"}),
        ("Colour: black, Size: M", {"Colour": "black", "Size": "M"}),
        ("Kleur : zwart ,Maat: XL", {"Kleur": "zwart", "Maat": "XL"}),
        ("Time: 10:30", {"Time": "10:30"}),
        ("black", None),
        ("Colour: black, M", None),
        ("Colour: black, Colour: white", None),
    ],
)
def test_options_from_title(title: str, options: dict[str, str] | None) -> None:
    assert options_from_title(title) == options


# --- stock -----------------------------------------------------------------------------


def test_stock_of_a_tracked_variant() -> None:
    assert stock_from_lightspeed(
        {"id": 9003, "sku": "HOO-BLA-9003", "stockLevel": 12, "stockTracking": "enabled"}
    ) == StockLevel(
        sku="HOO-BLA-9003", on_hand=Decimal("12"), reserved=Decimal("0"), locations={}, managed=True
    )


def test_untracked_stock_is_unmanaged_and_defaults_to_zero() -> None:
    stock = stock_from_lightspeed({"id": 9013, "sku": "POS-BLA-9013", "stockTracking": "disabled"})
    assert (stock.managed, stock.on_hand) == (False, Decimal("0"))
    assert not stock_from_lightspeed(
        {"id": 1, "sku": "X", "stockLevel": 4, "stockTracking": "indicator"}
    ).managed


def test_negative_stock_is_a_record_error() -> None:
    with pytest.raises(RecordError) as exc:
        stock_from_lightspeed(
            {"id": 9006, "sku": "MUG-BLA-9006", "stockLevel": -3, "stockTracking": "enabled"}
        )
    err = exc.value
    assert (err.entity, err.source_id, err.field, err.reason) == (
        "stock",
        "9006",
        "stockLevel",
        "negative stock level -3",
    )


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": 1, "sku": "", "stockLevel": 1, "stockTracking": "enabled"}, "sku"),
        ({"id": 1, "sku": "A", "stockTracking": "enabled"}, "stockLevel"),
        ({"id": 1, "sku": "A", "stockLevel": "lots", "stockTracking": "enabled"}, "stockLevel"),
    ],
)
def test_malformed_stock_names_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError) as exc:
        stock_from_lightspeed(record)
    assert (exc.value.entity, exc.value.field) == ("stock", field)
