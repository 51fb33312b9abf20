"""The products flow against both sandboxes in-process: what arrives in Exact Globe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from shopbridge.config import IntegrationConfig, parse_integration
from shopbridge.errors import ConfigError
from shopbridge.flows import products
from shopbridge.flows.counts import summarize
from shopbridge_dev.sandboxes.demo_data import DEMO_END
from tests.flows.conftest import P

YAML = Path(__file__).parents[2] / "include/integrations" / f"{P}.yaml"
EVER = datetime(2000, 1, 1, tzinfo=UTC)
AUTH = ("demo-key", "demo-secret")


def config(**settings: Any) -> IntegrationConfig:
    """The shipped file with ``flows.products.products`` settings changed."""
    data = yaml.safe_load(YAML.read_text())
    data["flows"]["products"]["products"].update(settings)
    return parse_integration(YAML, data)


def sync(
    env: dict[str, Any],
    cfg: IntegrationConfig | None = None,
    run_id: str = "p1",
    *,
    full_resync: bool = False,
) -> dict[str, Any]:
    cfg = cfg or config()
    spec = cfg.flows["products"]
    mapper = cfg.mapper("products")
    results = []
    end = datetime.now(UTC) + timedelta(hours=1)
    for batch in products.extract(env["source"], EVER, end, 10):
        mapped = products.validate_and_map(env["source"], batch, spec.products, mapper)
        target = env["target"]()
        looked = products.lookup(
            target, env["ledger"], P, mapped, spec.products, full_resync=full_resync
        )
        results.append(
            products.load(
                target,
                env["ledger"],
                P,
                looked,
                run_id=run_id,
                settings=spec.products,
                source=env["source"],
            )
        )
    return summarize(results, keys=products.SUMMARY_KEYS)


def items(env: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["ItemCode"]: i for i in env["eg"].get("/_sandbox/items").json()}


def writes(env: dict[str, Any]) -> int:
    return int(env["eg"].get("/_sandbox/stats").json()["writes"])


def put_product(env: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
    resp = env["ls"].post("/_sandbox/products", json={"product": product})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


TEE = {
    "id": 8001,
    "title": "Festival tee",
    "isVisible": True,
    "content": "<p>Heavy cotton, printed in Lisbon.</p>",
    "description": "Heavy tee",
    "brand": "Noord Basics",
    "categories": [["Clothing", "Festival"]],
    "attributes": {"Country of origin": "PT", "Delivery time": "1-2 days"},
    "images": [{"filename": "tee-front.png"}],
    "variants": [
        {
            "id": 88011,
            "sku": "FEST-S",
            "ean": "8700000088011",
            "priceExcl": 20.0,
            "priceIncl": 24.2,
            "stockLevel": 5,
            "stockTracking": "enabled",
            "title": "Size: S",
            "attributes": {"Size": "S"},
        },
        {
            "id": 88012,
            "sku": "FEST-M",
            "ean": "8700000088012",
            "priceExcl": 20.0,
            "priceIncl": 24.2,
            "stockLevel": 7,
            "stockTracking": "enabled",
            "title": "Size: M",
            "attributes": {"Size": "M"},
        },
        {
            "id": 88013,
            "sku": "FEST-L",
            "ean": "8700000088013",
            "priceExcl": 22.0,
            "priceIncl": 26.62,
            "stockLevel": 0,
            "stockTracking": "enabled",
            "title": "Size: L",
            "attributes": {"Size": "L"},
        },
    ],
}


def test_a_configurable_product_with_three_variants_arrives_as_parent_and_variants(env):
    put_product(env, TEE)
    summary = sync(env)
    assert summary["products_quarantined"] == 0
    got = items(env)
    parent = got["P-8001"]
    assert parent["IsConfigurable"] is True
    assert parent["IsSalesItem"] is False
    assert parent["Description"] == "Festival tee"
    for sku, size, price in (("FEST-S", "S", "20"), ("FEST-M", "M", "20"), ("FEST-L", "L", "22")):
        item = got[sku]
        assert item["ParentItem"] == "P-8001"
        assert item["FreeTextField_02"] == size  # products.attributes.Size
        assert item["FreeTextField_05"] == "PT"  # a feature: country of origin
        assert item["Description"] == f"Festival tee Size: {size}"
        assert item["GTIN"].startswith("870000008801")
        assert float(item["SalesPrice"]) == float(price)
    assert float(got["FEST-M"]["warehouses"]["1"]) == 7  # initial stock, sent on create


def test_the_whole_demo_catalogue_then_a_second_run_costs_nothing(env):
    first = sync(env)
    assert first["products_read"] >= 16
    assert first["products_quarantined"] == 0
    assert first["images_uploaded"] > 0
    before = writes(env)
    calls = env["eg"].get("/_sandbox/stats").json()["requests"]
    second = sync(env, run_id="p2")
    assert (
        second["products_unchanged"] == first["products_read"] - first["products_skipped_filtered"]
    )
    assert second["products_created"] == second["products_updated"] == 0
    assert second["images_uploaded"] == 0
    assert writes(env) == before
    assert env["eg"].get("/_sandbox/stats").json()["requests"] == calls


def test_a_create_only_description_survives_an_update(env):
    put_product(env, TEE)
    cfg = config(create_only=["Stock", "LongDescription"])
    sync(env, cfg)
    # enriched in the ERP ...
    enriched = "Written by our product team"
    item_id = items(env)["FEST-M"]["ID"]
    resp = env["eg"].request(
        "MERGE",
        f"/services/Exact.Entity.REST.EG/Items(guid'{item_id}')",
        json={"LongDescription": enriched},
        auth=("globe", "globe"),
        headers={"ServerName": "sandbox", "DatabaseName": "600"},
    )
    assert resp.status_code < 300, resp.text
    # ... then the webshop changes the title and the description
    put_product(
        env,
        {
            **{k: v for k, v in TEE.items() if k != "images"},
            "title": "Festival tee 2027",
            "content": "<p>New text</p>",
        },
    )
    summary = sync(env, cfg, "p2")
    assert summary["products_updated"] == 1
    item = items(env)["FEST-M"]
    assert item["Description"] == "Festival tee 2027 Size: M"  # updated
    assert item["LongDescription"] == enriched  # kept


def test_an_image_is_transferred_once_and_again_only_when_its_bytes_change(env):
    put_product(env, TEE)
    first = sync(env)
    assert first["images_uploaded"] >= 1
    image = items(env)["P-8001"]["images"][0]
    # the product changes, the image does not: the image is not uploaded again
    unchanged_images = {k: v for k, v in TEE.items() if k != "images"}
    put_product(env, {**unchanged_images, "description": "Heavy tee, new print"})
    second = sync(env, run_id="p2")
    assert second["products_updated"] == 1
    assert second["images_uploaded"] == 0
    assert second["images_unchanged"] == 1
    assert items(env)["P-8001"]["images"][0]["ContentHash"] == image["ContentHash"]
    # a new upload in the shop (new bytes): uploaded again
    put_product(env, {**TEE, "images": [{"filename": "tee-front-v2.png"}]})
    third = sync(env, run_id="p3")
    assert third["images_uploaded"] == 1
    assert items(env)["P-8001"]["images"][0]["ContentHash"] != image["ContentHash"]


def test_the_category_tree_is_created_once_and_renamed_in_place(env):
    put_product(env, TEE)
    sync(env)
    cats = {c["Code"]: c for c in env["eg"].get("/_sandbox/categories").json()}
    leaf = next(c for c in cats.values() if c["Description"] == "Festival")
    root = cats[leaf["ParentCode"]]
    assert root["Description"] == "Clothing"
    assert items(env)["FEST-S"]["category"] == leaf["Code"]
    n = len(cats)
    put_product(
        env,
        {
            **{k: v for k, v in TEE.items() if k != "images"},
            "categories": [["Clothing", "FESTIVAL"]],
            "description": "touch",
        },
    )
    sync(env, run_id="p2")
    after = {c["Code"]: c for c in env["eg"].get("/_sandbox/categories").json()}
    assert len(after) == n
    assert after[leaf["Code"]]["Description"] == "FESTIVAL"


def test_filters_leave_hidden_other_brand_and_other_category_products_alone(env):
    put_product(env, TEE)
    put_product(
        env,
        {
            **TEE,
            "id": 8002,
            "isVisible": False,
            "variants": [
                {
                    "id": 88021,
                    "sku": "HIDDEN-1",
                    "priceExcl": 1.0,
                    "priceIncl": 1.21,
                    "title": "Default",
                }
            ],
            "images": [],
        },
    )
    cfg = config(
        only_visible=True, brands=["Noord Basics"], categories_filter=["Clothing/Festival"]
    )
    summary = sync(env, cfg)
    got = items(env)
    assert "FEST-M" in got
    assert "HIDDEN-1" not in got
    assert summary["products_created"] == 1
    assert summary["products_skipped_filtered"] == summary["products_read"] - 1


def test_an_existing_item_is_found_by_ean_when_its_sku_differs(env):
    put_product(
        env,
        {
            **TEE,
            "id": 8003,
            "variants": [
                {
                    "id": 88031,
                    "sku": "NEW-CODE-1",
                    "ean": "8700000009001",
                    "priceExcl": 9.0,
                    "priceIncl": 10.89,
                    "title": "Default",
                }
            ],
            "images": [],
            "categories": [],
        },
    )
    known = next(i for i in items(env).values() if i.get("GTIN") == "8700000009001")
    sync(env, config(match_by="sku_then_ean"))
    got = items(env)
    assert "NEW-CODE-1" not in got  # not created twice
    assert got[known["ItemCode"]]["Description"] == "Festival tee"


def test_prices_incl_tax_when_the_setting_says_so(env):
    put_product(env, TEE)
    sync(env, config(prices_include_tax=True))
    item = items(env)["FEST-L"]
    assert float(item["SalesPrice"]) == 26.62
    assert item["SalesPriceIncludesVAT"] is True


def test_bad_products_are_quarantined_naming_the_field_and_the_rest_loads(env):
    put_product(env, TEE)
    put_product(
        env,
        {
            **TEE,
            "id": 8010,
            "images": [],
            "variants": [
                {
                    "id": 88101,
                    "sku": "",
                    "articleCode": "",
                    "ean": "",
                    "priceExcl": 1.0,
                    "priceIncl": 1.21,
                    "title": "Default",
                }
            ],
        },
    )  # no item key at all
    put_product(
        env,
        {
            **TEE,
            "id": 8011,
            "images": [],
            "variants": [
                {
                    "id": 88111,
                    "sku": "MAT-1",
                    "priceExcl": 1.0,
                    "priceIncl": 1.21,
                    "title": "Material: wool",
                    "attributes": {"Material": "wool"},
                },
                {
                    "id": 88112,
                    "sku": "MAT-2",
                    "priceExcl": 1.0,
                    "priceIncl": 1.21,
                    "title": "Material: silk",
                    "attributes": {"Material": "silk"},
                },
            ],
        },
    )
    summary = sync(env)
    fields = {q["source_id"]: q["field"] for q in summary["quarantined"]}
    assert fields["8010"] == "variants[0].sku"
    assert fields["8011"] == "variants[0].attributes.Material"
    assert "no mapping" in next(
        q["reason"] for q in summary["quarantined"] if q["source_id"] == "8011"
    )
    assert summary["products_quarantined"] == 2
    got = items(env)
    assert {"FEST-S", "FEST-M", "FEST-L"} <= set(got)
    assert "MAT-1" not in got


def test_an_image_that_404s_is_reported_and_its_product_still_written(env):
    made = put_product(env, TEE)
    env["ls"].delete(f"/_sandbox/images/{made['images'][0]['id']}")
    summary = sync(env)
    assert summary["products_created"] >= 1
    assert "FEST-M" in items(env)
    bad = [q for q in summary["quarantined"] if q["entity"] == "image"]
    assert len(bad) == 1
    assert bad[0]["source_id"] == "8001"
    assert bad[0]["field"] == "images[0].url"
    assert summary["products_quarantined"] == 0
    # the next run retries only the image (nothing else is written)
    before = writes(env)
    again = sync(env, run_id="p2")
    assert again["products_updated"] == 0
    assert [q["field"] for q in again["quarantined"]] == ["images[0].url"]
    assert writes(env) == before


def test_a_full_resync_writes_every_product_again(env):
    put_product(env, TEE)
    sync(env)
    again = sync(env, run_id="p2", full_resync=True)
    assert again["products_updated"] >= 1
    assert again["products_created"] == 0


def test_window_end_is_respected(env):
    put_product(env, TEE)
    mapped = products.extract(env["source"], EVER, DEMO_END - timedelta(days=8), 100)
    assert not any(r["id"] == 8001 for b in mapped for r in b)


def test_assortment_and_extra_fields_come_from_the_mapping(env):
    put_product(env, TEE)
    data = yaml.safe_load(YAML.read_text())
    data["mapping"] = {
        "products": {
            "header": {
                "Assortment": {"const": "WEBSHOP"},
                "FreeTextField_09": "product.brand | upper",
            },
            "drop": ["ShortDescription"],
        }
    }
    sync(env, parse_integration(YAML, data))
    item = items(env)["FEST-S"]
    assert item["Assortment"] == "WEBSHOP"
    assert item["FreeTextField_09"] == "NOORD BASICS"
    assert "ShortDescription" not in item


def test_a_bad_product_rule_fails_when_the_file_is_loaded():
    data = yaml.safe_load(YAML.read_text())
    data["mapping"] = {"products": {"lines": {"GTIN": "variant.barcode"}}}
    with pytest.raises(ConfigError) as err:
        parse_integration(YAML, data)
    assert "mapping.products.lines.GTIN.source" in str(err.value)
    assert "variant has no field 'barcode'" in str(err.value)


def test_images_served_from_a_new_host_are_no_change(env):
    """A CDN (or a restarted sandbox) moving host changes every image URL, not the images."""
    from shopbridge.connectors.lightspeed_ecom.client import LightspeedEcomClient
    from shopbridge.connectors.lightspeed_ecom.source import LightspeedEcomSource
    from tests.flows.conftest import NO_SLEEP

    put_product(env, TEE)
    sync(env)
    before = writes(env)
    moved = LightspeedEcomSource(
        LightspeedEcomClient(
            "http://shop.moved.example",
            "nl",
            "demo-key",
            "demo-secret",
            http=env["ls"],
            policy=NO_SLEEP,
        )
    )
    again = sync({**env, "source": moved}, run_id="p2")
    assert again["products_updated"] == again["images_uploaded"] == 0
    assert writes(env) == before
