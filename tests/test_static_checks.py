"""The tooling bar (STYLE R18) is in the suite: ruff, ruff format and strict mypy stay clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


def test_ruff_is_clean():
    out = subprocess.run(
        [str(BIN / "ruff"), "check", "include", "tests", "dags", "benchmarks", "plugins"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-4000:]


def test_ruff_format_is_applied():
    out = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-4000:]


def test_mypy_strict_is_clean():
    out = subprocess.run([str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-4000:]
