"""Exact Globe as a product and stock target, against the sandbox in-process (STYLE R13)."""

from __future__ import annotations

import hashlib
import warnings
from decimal import Decimal

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # starlette wants httpx2; see test_exact_globe
    from fastapi.testclient import TestClient

from shopbridge.connectors.base import CallCounter, ImageUpload, ItemWrite
from shopbridge.connectors.exact_globe.catalogue import category_code
from shopbridge.connectors.exact_globe.target import ExactGlobeTarget
from shopbridge.errors import FatalError, RecordError
from shopbridge_dev.sandboxes.exact_globe.app import create_app

from .test_exact_globe import DEMO, KNOWN, client_for


@pytest.fixture
def app() -> FastAPI:
    return create_app(seed="demo")


@pytest.fixture
def counter() -> CallCounter:
    return CallCounter()


@pytest.fixture
def target(app: FastAPI, counter: CallCounter) -> ExactGlobeTarget:
    return ExactGlobeTarget(client_for(app, counter=counter))


def control(app: FastAPI, what: str) -> list[dict]:
    with TestClient(app) as tc:
        return tc.get(f"/_sandbox/{what}").json()


def writes(app: FastAPI) -> int:
    with TestClient(app) as tc:
        return int(tc.get("/_sandbox/stats").json()["writes"])


def items(app: FastAPI) -> dict[str, dict]:
    return {i["ItemCode"]: i for i in control(app, "items")}


def image(content: bytes, position: int = 1, name: str = "front.jpg") -> ImageUpload:
    return ImageUpload(
        filename=name,
        content=content,
        content_type="image/jpeg",
        position=position,
        content_hash=hashlib.sha256(content).hexdigest(),
    )


LONG_TITLE = "Organic cotton T-shirt with a very long title that Globe cannot hold at all"


# -- items -----------------------------------------------------------------------------------


def test_configurable_parent_and_variants(app, target):
    codes = target.ensure_categories([("Clothing", "Shirts")])
    shirts = codes[("Clothing", "Shirts")]
    target.create_item(
        ItemWrite(
            code="TEE",
            is_parent=True,
            categories=(shirts,),
            fields={
                "Description": LONG_TITLE,
                "LongDescription": "<p>Soft</p>",
                "Brand": "Acme",
                "SalesPrice": Decimal("20.00"),
                "IsSalesItem": True,
                "FreeTextField_01": "cotton",
            },
        )
    )
    for n, size in enumerate(("S", "M", "L"), start=1):
        target.create_item(
            ItemWrite(
                code=f"TEE-{size}",
                parent="TEE",
                categories=(shirts,),
                fields={
                    "Description": f"T-shirt {size}",
                    "GTIN": f"871000000000{n}",
                    "SalesPrice": "20.00",
                    "FreeTextField_02": size,
                    "Stock": n * 5,
                },
            )
        )
    got = items(app)
    parent = got["TEE"]
    assert parent["Description"] == LONG_TITLE[:60].rstrip()
    assert (parent["IsConfigurable"], parent["IsSalesItem"], parent["category"]) == (
        True,
        False,
        shirts,
    )
    assert parent["SalesPrice"] == "20.00" and parent["Brand"] == "Acme"
    assert parent["warehouses"] == {}
    for n, size in enumerate(("S", "M", "L"), start=1):
        v = got[f"TEE-{size}"]
        assert (v["ParentItem"], v["IsConfigurable"], v["IsSalesItem"], v["Assortment"]) == (
            "TEE",
            False,
            True,
            shirts,
        )
        assert v["warehouses"] == {"1": str(n * 5)}  # fields["Stock"] -> ItemWarehouse
        assert "Stock" not in v  # not an Items column
    assert target.match_items(["TEE-M", "NOPE"], ["8710000000003", "0000000000000"]) == {
        "sku:TEE-M": "TEE-M",
        "ean:8710000000003": "TEE-L",
    }


def test_variant_before_its_parent_is_fatal_naming_the_item(target):
    with pytest.raises(FatalError, match=r"item TEE-S: .*Parent item TEE not found"):
        target.create_item(
            ItemWrite(code="TEE-S", parent="TEE", fields={"Description": "T-shirt S"})
        )


def test_duplicate_create_is_fatal_naming_the_item(target):
    with pytest.raises(FatalError, match=f"item {KNOWN[0]}: .*already exists"):
        target.create_item(ItemWrite(code=KNOWN[0], fields={"Description": "again"}))


def test_update_merges_only_the_given_fields(app, target, counter):
    target.create_item(
        ItemWrite(
            code="MUG-X",
            fields={
                "Description": "Mug",
                "LongDescription": "create-only text",
                "SalesPrice": "9.95",
                "Stock": "4",
            },
        )
    )
    assert target.match_items(["MUG-X"], []) == {"sku:MUG-X": "MUG-X"}
    before, calls = writes(app), counter.calls
    target.update_item(
        "MUG-X",
        ItemWrite(
            code="MUG-X",
            fields={"Description": LONG_TITLE, "SalesPrice": Decimal("10.50"), "Stock": "99"},
        ),
    )
    assert counter.calls == calls + 1  # the guid came from match_items: only the MERGE
    assert writes(app) == before + 1
    mug = items(app)["MUG-X"]
    assert (mug["Description"], mug["SalesPrice"]) == (LONG_TITLE[:60].rstrip(), "10.50")
    assert mug["LongDescription"] == "create-only text"
    assert mug["warehouses"] == {"1": "4"}  # Stock is ignored on update


def test_update_of_a_seeded_item_looks_its_guid_up_once(app, counter):
    target = ExactGlobeTarget(client_for(app, counter=counter))
    target.update_item(
        KNOWN[1],
        ItemWrite(code=KNOWN[1], fields={"Brand": "Acme"}, parent=None, categories=("GIFTS",)),
    )
    assert counter.calls == 2  # lookup + MERGE
    item = items(app)[KNOWN[1]]
    assert (item["Brand"], item["Assortment"]) == ("Acme", "GIFTS")
    assert item["Description"] == DEMO.products[1]["title"]


def test_update_of_an_unknown_item_is_a_record_error(target):
    with pytest.raises(RecordError, match="NOPE-1") as exc:
        target.update_item("NOPE-1", ItemWrite(code="NOPE-1", fields={"Brand": "x"}))
    assert exc.value.field == "ItemCode"


def test_match_items_is_batched(counter, target):
    skus = [*KNOWN, *(f"NEW-{n}" for n in range(45 - len(KNOWN)))]
    eans = [p["ean"] for p in DEMO.products[:3]]
    found = target.match_items(skus, eans)
    assert counter.calls == 2 + 1  # 45 SKUs in chunks of 40, 3 EANs in one
    assert {k for k in found if k.startswith("sku:")} == {f"sku:{s}" for s in KNOWN}
    assert [found[f"ean:{e}"] for e in eans] == [p["sku"] for p in DEMO.products[:3]]


# -- categories ------------------------------------------------------------------------------

TREE = [("Clothing", "Shirts"), ("Clothing", "Accessories"), ("Home", "Kitchen"), ("Office",)]


def test_category_tree_created_once_parents_first(app, target, counter):
    codes = target.ensure_categories(TREE)
    assert codes == {
        ("Clothing",): "CLOTHING",
        ("Clothing", "Shirts"): "CLOTHING_SHIRTS",
        ("Clothing", "Accessories"): "CLOTHING_ACCESSORIES",
        ("Home",): "HOME",
        ("Home", "Kitchen"): "HOME_KITCHEN",
        ("Office",): "OFFICE",
    }
    cats = {c["Code"]: c for c in control(app, "categories")}
    assert {c: (r["Description"], r["ParentCode"], r["Level"]) for c, r in cats.items()} == {
        "CLOTHING": ("Clothing", "", 1),
        "CLOTHING_SHIRTS": ("Shirts", "CLOTHING", 2),
        "CLOTHING_ACCESSORIES": ("Accessories", "CLOTHING", 2),
        "HOME": ("Home", "", 1),
        "HOME_KITCHEN": ("Kitchen", "HOME", 2),
        "OFFICE": ("Office", "", 1),
    }
    assert writes(app) == 6
    assert counter.calls == 1 + 6  # one read of the table, then the creates

    before, calls = writes(app), counter.calls
    again = ExactGlobeTarget(target.client).ensure_categories(list(reversed(TREE)))
    assert again == codes
    assert writes(app) == before  # nothing changed: nothing written
    assert counter.calls == calls + 1


def test_renamed_category_is_updated_in_place(app, target):
    target.ensure_categories([("Clothing", "T-shirts")])
    before = writes(app)
    codes = target.ensure_categories([("Clothing", "T-Shirts")])
    assert codes[("Clothing", "T-Shirts")] == "CLOTHING_T-SHIRTS"
    assert writes(app) == before + 1
    cats = {c["Code"]: c["Description"] for c in control(app, "categories")}
    assert cats == {"CLOTHING": "Clothing", "CLOTHING_T-SHIRTS": "T-Shirts"}


def test_long_paths_get_hashed_codes_globe_accepts(app, target):
    path = ("Home & Garden", "Kitchen appliances", "Coffee machines")
    codes = target.ensure_categories([path])
    assert all(len(c) <= 20 for c in codes.values())
    assert codes[path] == category_code(path) and codes[path].startswith("HOME-GARDEN_K")
    cats = {c["Code"]: c for c in control(app, "categories")}
    assert cats[codes[path]]["ParentCode"] == codes[path[:2]]
    assert cats[codes[path]]["Level"] == 3


def test_category_created_meanwhile_by_another_worker_is_accepted(app, target):
    other = ExactGlobeTarget(target.client)
    real_query = target.client.query
    calls = {"n": 0}

    def stale_first_read(entity, **kw):
        calls["n"] += 1
        if entity == "ItemCategory" and calls["n"] == 1:
            other.ensure_categories([("Office",)])  # lands between our read and our create
            return iter([])
        return real_query(entity, **kw)

    target.client.query = stale_first_read  # type: ignore[method-assign]
    assert target.ensure_categories([("Office",)]) == {("Office",): "OFFICE"}
    assert [c["Code"] for c in control(app, "categories")] == ["OFFICE"]


def test_same_code_for_two_paths_is_fatal(target):
    with pytest.raises(FatalError, match="rename one"):
        target.ensure_categories([("A B",), ("A-B",)])


# -- images ----------------------------------------------------------------------------------


def test_image_stored_then_replaced(app, target):
    sku = KNOWN[0]
    target.put_image(sku, image(b"first"))
    target.put_image(sku, image(b"back", position=2, name="back.jpg"))
    assert items(app)[sku]["images"] == [
        {
            "Position": 1,
            "FileName": "front.jpg",
            "ContentHash": hashlib.sha256(b"first").hexdigest(),
            "size": 5,
        },
        {
            "Position": 2,
            "FileName": "back.jpg",
            "ContentHash": hashlib.sha256(b"back").hexdigest(),
            "size": 4,
        },
    ]
    target.put_image(sku, image(b"second!", name="front-v2.jpg"))
    front = items(app)[sku]["images"][0]
    assert (front["Position"], front["FileName"], front["size"]) == (1, "front-v2.jpg", 7)
    assert len(items(app)[sku]["images"]) == 2

    before = writes(app)
    target.put_image(sku, image(b"second!", name="front-v2.jpg"))
    assert writes(app) == before  # same content hash: nothing to write


def test_image_of_unknown_item_is_fatal(target):
    with pytest.raises(FatalError, match=r"image 1 of item NOPE-1: .*Item NOPE-1 not found"):
        target.put_image("NOPE-1", image(b"x"))


# -- stock -----------------------------------------------------------------------------------


def test_stock_in_default_warehouse_and_a_location(app, target, counter):
    skus = KNOWN[:5]
    assert target.find_items(skus) == set(skus)
    calls = counter.calls
    target.set_stock(skus[0], Decimal("7"), managed=True)
    # one batched read of the stock rows of every SKU find_items saw, then the create
    assert counter.calls == calls + 2
    target.set_stock(skus[1], Decimal("3"), managed=True, location="2")
    target.set_stock(skus[1], Decimal("1.5"), managed=True)
    assert counter.calls == calls + 4  # no further reads: two creates
    target.set_stock(skus[0], Decimal("8"), managed=True)  # MERGE of the existing row
    target.set_stock(skus[0], Decimal("8"), managed=True)  # unchanged: nothing
    assert counter.calls == calls + 5
    got = items(app)
    assert got[skus[0]]["warehouses"] == {"1": "8"}
    assert got[skus[1]]["warehouses"] == {"2": "3", "1": "1.5"}


def test_default_warehouse_comes_from_the_target(app):
    target = ExactGlobeTarget(client_for(app), default_warehouse="MAIN")
    target.set_stock(KNOWN[0], Decimal("2"), managed=True)
    assert items(app)[KNOWN[0]]["warehouses"] == {"MAIN": "2"}


def test_managed_flag_written_only_when_it_changes(app, target):
    sku = KNOWN[2]
    target.find_items([sku])
    target.set_stock(sku, Decimal("1"), managed=True)  # seeded IsStockItem is true
    assert writes(app) == 1  # the stock row only
    target.set_stock(sku, Decimal("1"), managed=False)
    assert writes(app) == 2 and items(app)[sku]["IsStockItem"] is False
    target.set_stock(sku, Decimal("1"), managed=False)
    assert writes(app) == 2
    fresh = ExactGlobeTarget(target.client)  # reads the flag from Globe, not a cache
    fresh.set_stock(sku, Decimal("1"), managed=True)
    assert writes(app) == 3 and items(app)[sku]["IsStockItem"] is True


def test_stock_of_unknown_sku_is_a_record_error(target):
    with pytest.raises(RecordError) as exc:
        target.set_stock("NOPE-1", Decimal("1"), managed=True)
    assert (exc.value.entity, exc.value.source_id, exc.value.field) == (
        "stock",
        "NOPE-1",
        "ItemCode",
    )


# -- sandbox rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "body", "message"),
    [
        ("ItemImage", {"ItemCode": "NOPE", "Position": 1, "Data": "eA=="}, "Item NOPE not found"),
        (
            "ItemImage",
            {"ItemCode": KNOWN[0], "Position": 1, "Data": "not base64!"},
            "Data is not base64",
        ),
        (
            "ItemWarehouse",
            {"ItemCode": KNOWN[0], "Warehouse": "1", "Stock": "lots"},
            "Stock is not a number",
        ),
        (
            "ItemWarehouse",
            {"ItemCode": "NOPE", "Warehouse": "1", "Stock": "1"},
            "Item NOPE not found",
        ),
        (
            "ItemCategory",
            {"Code": "X", "Description": "X", "ParentCode": "NOPE"},
            "Parent category NOPE not found",
        ),
        ("ItemCategory", {"Code": "X" * 21, "Description": "X"}, "1-20 characters"),
        ("Items", {"ItemCode": "V", "ParentItem": "NOPE"}, "Parent item NOPE not found"),
        ("Items", {"ItemCode": "V", "Description": "x" * 61}, "would be truncated"),
    ],
)
def test_sandbox_validates_like_globe(app, entity, body, message):
    with pytest.raises(FatalError, match=message):
        client_for(app).create(entity, body, retry=False)


def test_sandbox_validates_merges_too(app):
    client = client_for(app)
    row = client.create(
        "ItemWarehouse", {"ItemCode": KNOWN[0], "Warehouse": "1", "Stock": "1"}, retry=False
    )
    with pytest.raises(FatalError, match="Stock is not a number"):
        client.merge("ItemWarehouse", row["ID"], {"Stock": True})
    [item] = client.query("Items", filter=f"ItemCode eq '{KNOWN[0]}'", select=["ID"])
    with pytest.raises(FatalError, match="Parent item"):
        client.merge("Items", item["ID"], {"ParentItem": KNOWN[0]})


def test_hook_target_serves_products_and_stock(monkeypatch, app):
    import json

    from airflow.sdk import Connection

    from shopbridge.connectors.exact_globe import hook as hook_mod
    from shopbridge.connectors.exact_globe.client import ExactGlobeClient

    conn = Connection(
        conn_id="globe",
        conn_type="exact_globe",
        host="127.0.0.1",
        port=1,
        login="globe",
        password="globe",
        extra=json.dumps(
            {
                "server_name": "sandbox",
                "database_name": "600",
                "auth": "basic",
                "default_warehouse": 3,
            }
        ),
    )
    real = ExactGlobeClient.from_settings.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        hook_mod.ExactGlobeClient,
        "from_settings",
        classmethod(lambda cls, s, **kw: real(cls, s, http=TestClient(app), **kw)),
    )
    h = hook_mod.ExactGlobeHook("globe")
    monkeypatch.setattr(h, "get_connection", lambda _id: conn)
    target = h.get_target()
    assert target.default_warehouse == "3"
    target.set_stock(KNOWN[0], Decimal("6"), managed=True)
    assert items(app)[KNOWN[0]]["warehouses"] == {"3": "6"}
