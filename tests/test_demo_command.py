"""The README's demo command itself, as a user runs it: twice, with --once --json."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
KEYS = {"orders_read", "orders_created", "orders_skipped_existing", "orders_quarantined",
        "customers_created", "customers_updated", "api_calls"}

pytestmark = pytest.mark.slow


def demo(tmp: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "SHOPBRIDGE", "PYTEST"))}
    env["SHOPBRIDGE_DEMO_DIR"] = str(tmp)
    proc = subprocess.run([str(ROOT / "run"), "demo", *args], capture_output=True, text=True,
                          env=env, timeout=900, stdin=subprocess.DEVNULL, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def leftovers(home: Path) -> list[str]:
    """Processes still running with this demo's AIRFLOW_HOME (zombies don't count)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            env = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"AIRFLOW_HOME={home}".encode() in env.split(b"\0"):
            found.append(proc.name)
    return found


def test_demo_twice_creates_nothing_the_second_time(tmp_path):
    code, out, err = demo(tmp_path, "--once", "--json")
    assert code == 0, err[-3000:]
    first = json.loads(out.strip().splitlines()[-1])
    assert first.keys() >= KEYS
    assert first["orders_read"] == 240
    assert first["orders_created"] == 239
    assert first["orders_quarantined"] == 1
    flows = first["flows"]
    assert set(flows) == {"products", "customers", "orders", "stock", "erp_orders"}
    assert all(f["state"] == "success" for f in flows.values())
    # the customers flow ran before the orders: they found every debtor in place
    assert flows["customers"]["customers_created"] > 50
    assert flows["customers"]["customers_updated"] >= 1  # debtors the ERP already had
    assert first["customers_created"] == 0
    assert flows["products"]["products_created"] > 0
    assert flows["products"]["products_quarantined"] == 0
    assert flows["products"]["images_uploaded"] > 0
    assert flows["stock"]["stock_written"] > 0
    assert flows["erp_orders"]["orders_created"] == 5
    assert "==> starting airflow standalone" in err
    assert "Airflow UI: http://127.0.0.1:" in out
    assert "login: admin / " in out

    code, out, err = demo(tmp_path, "--once", "--json")
    assert code == 0, err[-3000:]
    second = json.loads(out.strip().splitlines()[-1])
    assert second["orders_created"] == 0
    assert second["customers_created"] == 0
    assert second["orders_skipped_existing"] == 239
    assert second["orders_quarantined"] == 1
    again = second["flows"]
    assert again["customers"]["customers_created"] == again["customers"]["customers_updated"] == 0
    assert again["products"]["products_created"] == again["products"]["products_updated"] == 0
    assert again["products"]["images_uploaded"] == 0
    assert again["stock"]["stock_written"] == 0
    assert again["erp_orders"]["orders_created"] == 0
    # --once stops everything it started
    assert leftovers(tmp_path / ".airflow") == []


def test_demo_with_a_broken_integration_file_says_which_file_and_field(tmp_path):
    env_root = tmp_path / "repo"
    # a copy of the repo's front door pointing at a broken YAML: the demo stops before
    # starting anything and names the file and the field
    (env_root / "include" / "integrations").mkdir(parents=True)
    good = (ROOT / "include/integrations/lightspeed_ecom__exact_globe.yaml").read_text()
    (env_root / "include/integrations/lightspeed_ecom__exact_globe.yaml").write_text(
        good.replace("batch_size", "batchsize"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SHOPBRIDGE"))}
    env.update({"SHOPBRIDGE_ROOT": str(env_root), "SHOPBRIDGE_DEMO_DIR": str(tmp_path)})
    proc = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "shopbridge.demo", "--once"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2
    assert "lightspeed_ecom__exact_globe.yaml" in proc.stderr
    assert "flows.orders.batchsize" in proc.stderr
    assert "Traceback" not in proc.stderr

