"""What the CLI tests share: the installed ``shopbridge`` command run as a user runs it, and
the states a user would compare (a sandbox's records and write count, the whole ledger)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import MetaData, create_engine, select

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent / "shopbridge"
PAIR = "lightspeed_ecom__exact_globe"


def shopbridge(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, with this test's environment (connections as
    AIRFLOW_CONN_*, the ledger URL, AIRFLOW_HOME)."""
    full = {**os.environ, "SHOPBRIDGE_ROOT": str(ROOT), **(env or {})}
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=ROOT,
        check=False,
        timeout=timeout,
    )


def sandbox(url: str, what: str) -> Any:
    return httpx.get(f"{url}/_sandbox/{what}", timeout=10).json()


def ledger_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in the ledger's database (a table not there yet: none)."""
    engine = create_engine(os.environ["SHOPBRIDGE_LEDGER_URL"])
    try:
        meta = MetaData()
        meta.reflect(engine)
        out: dict[str, list[tuple[Any, ...]]] = {}
        with engine.connect() as conn:
            for name, table in meta.tables.items():
                if rows := sorted(map(tuple, conn.execute(select(table))), key=repr):
                    out[name] = rows
        return out
    finally:
        engine.dispose()


def table_rows(stdout: str) -> list[dict[str, str]]:
    """The CLI's table as dicts by header, cut at the header's column starts (a header is
    separated by two spaces or more; a value may hold single spaces). The lines after the
    table (totals) are left out."""
    lines = stdout.splitlines()
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))(\S+(?: \S+)*)", lines[0])]
    names = [lines[0][a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    rows = []
    for line in lines[1:]:
        if line.startswith(("totals:", "nothing")) or " left quarantine" in line:
            break
        rows.append(
            {
                n: line[a:b].strip()
                for n, a, b in zip(names, starts, [*starts[1:], None], strict=True)
            }
        )
    return rows
