"""The package that ships to every Airflow worker holds no dev kit (sandboxes, demo, local
Airflow): a production install (``uv sync --no-dev``, what the Dockerfile runs) imports
every shopbridge module and has neither ``shopbridge_dev`` nor ``shopbridge.sandbox``."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shopbridge.connectors.forms import CONNECTION_FORMS
from shopbridge_dev.sandboxes.connections import SANDBOX_CONNECTIONS

ROOT = Path(__file__).parents[1]
UV = ROOT / ".tools" / "bin" / "uv"

IMPORT_ALL = """
import importlib, pkgutil, sys
import shopbridge
names = [m.name for m in pkgutil.walk_packages(shopbridge.__path__, "shopbridge.")]
for name in names:
    importlib.import_module(name)
for gone in ("shopbridge_dev", "shopbridge.sandbox"):
    try:
        importlib.import_module(gone)
    except ModuleNotFoundError:
        continue
    sys.exit(f"{gone} is importable in the production install")
print(len(names))
"""


def test_sandbox_connections_have_the_shipped_shape():
    assert set(SANDBOX_CONNECTIONS) == set(CONNECTION_FORMS)
    for system, conn in SANDBOX_CONNECTIONS.items():
        form = CONNECTION_FORMS[system]
        assert conn["conn_type"] == form.conn_type
        assert ("login" in conn) == (form.login is not None), system
        assert ("password" in conn) == (form.password is not None), system
        assert {k: type(v) for k, v in conn["extra"].items()} == form.extra, system


def test_dockerfile_copies_only_the_shipped_package():
    copies = re.findall(r"^COPY\s+(.+?)\s+\S+$", (ROOT / "Dockerfile").read_text(), re.M)
    sources = {s for line in copies for s in line.split()}
    assert sources == {"pyproject.toml", "uv.lock", "README.md", "include", "dags", "plugins"}


@pytest.mark.slow
@pytest.mark.skipif(not UV.exists(), reason="./run installs uv into .tools/")
def test_production_install_imports_every_module_and_no_dev_kit(tmp_path):
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("include", "dags", "plugins"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "UV_LINK_MODE": "symlink",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [str(UV), "sync", "--frozen", "--no-dev", "--quiet", "--python", "python3.11"],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=600,
    )
    out = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "python"), "-c", IMPORT_ALL],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[-1]) > 100  # every module, not an empty package
