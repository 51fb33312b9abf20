"""``shopbridge mapping show|test``: run as the installed command, touching no system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent / "shopbridge"
FIX = ROOT / "tests" / "fixtures" / "lightspeed_ecom"
PAIR = "lightspeed_ecom__exact_globe"
HEAD = f"""\
id: {PAIR}
source: {{system: lightspeed_ecom}}
target: {{system: exact_globe}}
flows:
  orders: {{}}
"""


def run(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOPBRIDGE_ROOT": str(root)}
    return subprocess.run(
        [str(BIN), "mapping", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
        timeout=60,
    )


def project(tmp_path: Path, mapping: str) -> Path:
    folder = tmp_path / "include" / "integrations"
    folder.mkdir(parents=True)
    (folder / f"{PAIR}.yaml").write_text(HEAD + mapping, encoding="utf-8")
    return tmp_path


def test_show_prints_the_shipped_mapping() -> None:
    out = run("show", PAIR)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["SECTION", "TARGET", "FIELD", "RULE", "ORIGIN"]
    assert any(
        line.split()[:3] == ["header", "PaymentCondition", "order.payment_method"] for line in lines
    )
    assert any(
        line.split() == ["lines", "VATPercentage", "line.tax_rate", "|", "percent", "default"]
        for line in lines
    )


def test_show_marks_yaml_overrides(tmp_path: Path) -> None:
    root = project(tmp_path, 'mapping:\n  orders:\n    header:\n      Remark: "source.memo"\n')
    out = run("show", PAIR, "--flow", "orders", root=root)
    assert out.returncode == 0, out.stderr
    assert any(
        line.split() == ["header", "Remark", "source.memo", "yaml"]
        for line in out.stdout.splitlines()
    )


def test_show_bad_mapping_names_file_and_field(tmp_path: Path) -> None:
    root = project(tmp_path, 'mapping:\n  orders:\n    header:\n      X: "order.numbr"\n')
    out = run("show", PAIR, root=root)
    assert out.returncode == 2
    assert f"{PAIR}.yaml" in out.stderr
    assert "mapping.orders.header.X.source" in out.stderr


@pytest.mark.parametrize("envelope", [False, True])
def test_test_prints_the_mapped_order(tmp_path: Path, envelope: bool) -> None:
    raw = json.loads((FIX / "company_order.in.json").read_text())
    record = tmp_path / "order.json"
    record.write_text(json.dumps({"order": raw} if envelope else raw))
    out = run("test", PAIR, str(record))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["header"]["Description"] == "ORD30017"
    assert got["header"]["PaymentCondition"] == "iDEAL"
    assert got["header"]["AmountDC"] == "75.45"
    assert [line["Itemcode"] for line in got["lines"]] == ["HOO-NAV-9004", "ART-9020"]
    assert got["lines"][0]["VATPercentage"] == "21"


def test_test_as_table() -> None:
    out = run("test", PAIR, str(FIX / "person_order.in.json"), "--format", "table")
    assert out.returncode == 0, out.stderr
    assert any(
        line.split() == ["lines[0]", "Itemcode", '"MUG-WHI-9007"']
        for line in out.stdout.splitlines()
    )


def test_test_reports_quarantine_and_exits_1(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
mapping:
  value_maps:
    payment_condition:
      values: {Klarna: "KL"}
      on_missing: quarantine
""",
    )
    out = run("test", PAIR, str(FIX / "company_order.in.json"), root=root)
    assert out.returncode == 1
    assert out.stdout.strip() == (
        "would be quarantined: header.PaymentCondition: payment "
        "method 'iDEAL' has no entry in value map 'payment_condition'"
    )


def test_test_reports_a_record_the_translator_rejects(tmp_path: Path) -> None:
    raw = json.loads((FIX / "company_order.in.json").read_text())
    del raw["number"]
    record = tmp_path / "order.json"
    record.write_text(json.dumps(raw))
    out = run("test", PAIR, str(record))
    assert out.returncode == 1
    assert out.stdout.startswith("would be quarantined: number: ")


def test_mapping_commands_do_not_import_airflow() -> None:
    code = (
        "import sys, io, contextlib\nfrom shopbridge.tools.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['mapping', 'test', {PAIR!r}, {str(FIX / 'person_order.in.json')!r}])\n"
        "print(any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SHOPBRIDGE_ROOT": str(ROOT)},
        check=False,
    )
    assert out.stdout.strip() == "False", out.stderr


def test_test_applies_the_flows_settings(tmp_path: Path) -> None:
    # the shipped pair sends only paid orders: an unpaid one would be skipped, not sent
    record = json.loads((FIX / "company_order.in.json").read_text())
    record["paymentStatus"] = "not_paid"
    unpaid = tmp_path / "unpaid.json"
    unpaid.write_text(json.dumps(record))
    out = run("test", PAIR, str(unpaid))
    assert out.returncode == 0, out.stderr
    assert "would be skipped" in out.stdout
    # and a shipping-line setting shows up as the extra line it will be
    root = tmp_path / "proj"
    folder = root / "include" / "integrations"
    folder.mkdir(parents=True)
    (folder / f"{PAIR}.yaml").write_text(
        HEAD.replace("orders: {}", "orders: {orders: {shipping_line: {item_code: VERZENDKOSTEN}}}")
    )
    out = run("test", PAIR, str(FIX / "company_order.in.json"), root=root)
    assert out.returncode == 0, out.stderr
    lines = json.loads(out.stdout)["lines"]
    assert lines[-1]["Itemcode"] == "VERZENDKOSTEN"
    assert lines[-1]["Price"] == "4.09"
