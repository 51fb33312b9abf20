from pathlib import Path

import pytest
import yaml

from shopbridge.config import load_integration, parse_integration
from shopbridge.errors import ConfigError

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "include" / "integrations" / "lightspeed_ecom__exact_globe.yaml"

GOOD = """
id: lightspeed_ecom__exact_globe
source: {system: lightspeed_ecom}
target: {system: exact_globe, conn_id: my_globe}
flows:
  orders: {schedule: "*/15 * * * *", batch_size: 50}
"""


def write(tmp_path: Path, text: str, name: str = "pair.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_file_is_valid():
    cfg = load_integration(SHIPPED)
    assert cfg.dag_id("orders") == "lightspeed_ecom__exact_globe__orders"
    assert cfg.source.connection_id == "shopbridge_lightspeed_ecom"


def test_defaults_and_connection_ids(tmp_path):
    cfg = load_integration(write(tmp_path, GOOD))
    assert cfg.target.connection_id == "my_globe"
    assert cfg.source.connection_id == "shopbridge_lightspeed_ecom"
    assert cfg.flows["orders"].batch_size == 50
    assert cfg.flows["orders"].retries == 3


@pytest.mark.parametrize(
    ("text", "field", "msg"),
    [
        (GOOD.replace("batch_size", "bach_size"), "flows.orders.bach_size", "Extra inputs"),
        (GOOD.replace("batch_size: 50", "batch_size: 5000"), "flows.orders.batch_size", "500"),
        (GOOD.replace('"*/15 * * * *"', '"every 15 minutes"'), "flows.orders.schedule", "cron"),
        (
            GOOD.replace("system: exact_globe", "system: exakt_globe"),
            "target.system",
            "unknown system",
        ),
        (GOOD.replace("orders:", "invoices:"), "flows.invoices", "not a flow"),
        (GOOD.replace("id: lightspeed_ecom__exact_globe", "id: shop"), "(top level)", "id must be"),
    ],
)
def test_bad_file_names_file_and_field(tmp_path, text, field, msg):
    path = write(tmp_path, text, "broken.yaml")
    with pytest.raises(ConfigError) as exc:
        load_integration(path)
    text = str(exc.value)
    assert str(path) in text
    assert field in text
    assert msg in text


def test_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML"):
        load_integration(write(tmp_path, "id: [unclosed", "broken.yaml"))


def test_config_is_frozen(tmp_path):
    cfg = load_integration(write(tmp_path, GOOD))
    with pytest.raises(Exception, match="frozen"):
        cfg.id = "x"  # type: ignore[misc]


def test_confirm_in_source_templates_name_only_the_target_id(tmp_path):
    text = GOOD.replace(
        "batch_size: 50}", 'batch_size: 50, orders: {confirm_in_source: {memo: "ERP {order_no}"}}}'
    )
    with pytest.raises(ConfigError, match=r"flows.orders.orders.confirm_in_source.*target_id"):
        load_integration(write(tmp_path, text))


def test_journal_entry_order_type_needs_its_accounts(tmp_path):
    text = GOOD.replace("batch_size: 50}", "batch_size: 50, orders: {order_type: journal_entry}}")
    with pytest.raises(ConfigError, match=r"flows.orders.orders.*journal_entry needs"):
        load_integration(write(tmp_path, text))


def test_the_orders_flow_books_debtors_with_the_customers_flows_settings(tmp_path):
    data = yaml.safe_load(SHIPPED.read_text())
    data["flows"]["customers"]["customers"] = {"classification": {"company": "B2B"}}
    cfg = parse_integration(SHIPPED, data)
    assert cfg.customer_settings("orders").classification == {"company": "B2B"}
    # the other direction has a ledger and settings of its own
    assert cfg.customer_settings("erp_orders").classification == {}
    assert cfg.scope("erp_orders") == "exact_globe__lightspeed_ecom"
    assert cfg.dag_id("erp_orders") == "lightspeed_ecom__exact_globe__erp_orders"


def test_a_flow_key_that_is_no_flow_must_name_its_kind(tmp_path):
    data = yaml.safe_load(SHIPPED.read_text())
    data["flows"]["erp_orders"].pop("flow")
    with pytest.raises(ConfigError, match="erp_orders: not a flow"):
        parse_integration(SHIPPED, data)


def test_bad_country_codes_in_customer_tables_fail_at_load():
    data = yaml.safe_load(SHIPPED.read_text())
    data["flows"]["customers"]["customers"] = {"tax_code_by_country": {"Netherlands": "2"}}
    with pytest.raises(ConfigError, match=r"flows\.customers\.customers\.tax_code_by_country"):
        parse_integration(SHIPPED, data)


def test_images_on_a_pair_whose_ends_have_none_is_refused_at_load():
    path = ROOT / "include" / "integrations" / "fortnox__lightspeed_retail.yaml"
    data = yaml.safe_load(path.read_text())
    data["flows"]["products"]["products"]["images"] = True
    with pytest.raises(ConfigError) as err:
        parse_integration(path, data)
    text = str(err.value)
    assert "flows.products.products.images" in text
    assert "fortnox has no product images" in text
    assert "lightspeed_retail takes no product images" in text


def test_an_order_type_the_target_cannot_book_is_refused_at_load():
    path = ROOT / "include" / "integrations" / "lightspeed_ecom__ccv_salespos.yaml"
    data = yaml.safe_load(path.read_text())
    data["flows"]["orders"]["orders"]["order_type"] = "journal_entry"
    data["flows"]["orders"]["orders"]["journal_entry"] = {
        "journal": "70",
        "receivable_account": "1300",
        "revenue_account": "8000",
        "vat_account": "1500",
    }
    with pytest.raises(ConfigError) as err:
        parse_integration(path, data)
    assert "flows.orders.orders.order_type: ccv_salespos cannot book journal_entry" in str(
        err.value
    )
