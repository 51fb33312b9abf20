"""``./run demo --pair <name>`` for each further pair, once each: every flow succeeds and
moves something, and nothing is left running.

Apart from ``test_demo_command`` so that pytest-xdist (``--dist loadfile``) can run these
demos beside that one.
"""

from __future__ import annotations

import json

import pytest

from tests.test_demo_command import demo, leftovers

pytestmark = pytest.mark.slow


#: pair -> the flows its demo runs
NEW_PAIRS = {
    "lightspeed_ecom__accountview": {"products", "customers", "orders", "stock"},
    "lightspeed_ecom__ccv_salespos": {"products", "orders", "stock"},
    "fortnox__lightspeed_retail": {"products", "orders", "stock"},
    "lightspeed_ecom__buckles": {
        "products",
        "customers",
        "hub_customers",
        "orders",
        "stock",
        "shipments",
        "shop_shipments",
        "checkouts",
    },
}


@pytest.mark.parametrize("pair", sorted(NEW_PAIRS))
def test_demo_runs_every_flow_of_each_pair(tmp_path, pair):
    code, out, err = demo(tmp_path, "--once", "--json", "--pair", pair)
    assert code == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    flows = summary["flows"]
    assert set(flows) == NEW_PAIRS[pair]
    assert all(f["state"] == "success" for f in flows.values())
    assert flows["orders"]["orders_created"] > 0
    assert flows["stock"]["stock_written"] > 0
    assert flows["products"]["products_created"] + flows["products"]["products_updated"] > 0
    assert "DAG: http://127.0.0.1:" in out and f"{pair}__orders" in out
    if pair == "lightspeed_ecom__buckles":  # new orders arrive through the webhook path
        assert len(summary["webhook"]["orders"]) == 3 and summary["webhook"]["runs"]
        assert "Webhooks: 3 new orders reached buckles" in out
    assert leftovers(tmp_path / ".airflow") == []
