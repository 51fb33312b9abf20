"""Looking for the demo's customers in everything a run leaves behind (see
``tests/test_demo_command.py``, which runs the demo and then searches).

The seeded personal data is read from the source sandbox's own state (what the demo's
webshop served), and every file and every text column is searched for it: a hit names the
place and the kind of datum, never the datum.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path


def seeded_personal_data(state: Path) -> dict[str, str]:
    """Each demo customer's e-mail, phone, full name, last name, company and street, as
    the webshop sandbox holds them -> the kind of datum."""
    shop = json.loads((state / "lightspeed_ecom.state.json").read_text())
    found: dict[str, str] = {}
    for c in shop["customers"].values():
        found[c["email"]] = "e-mail"
        found[f"{c['firstname']} {c['lastname']}"] = "name"
        found[c["lastname"]] = "last name"
        found[c["addressBillingStreet"]] = "street"
        if c.get("phone"):
            found[c["phone"]] = "phone"
        if c.get("companyName"):
            found[c["companyName"]] = "company name"
    assert len(found) > 100, "the demo shop has no customers to look for"
    return found


def needles(data: dict[str, str]) -> dict[bytes, str]:
    """Each datum as UTF-8 and as JSON writes it (``Müller`` -> ``M\\u00fcller``)."""
    out: dict[bytes, str] = {}
    for value, kind in data.items():
        if not value.strip():  # a customer without it (real accounts hold some)
            continue
        out[value.encode()] = kind
        out[json.dumps(value)[1:-1].encode()] = kind
    return out


def leaks_in(where: str, blob: bytes, find: dict[bytes, str], hits: Counter[str]) -> None:
    for needle, kind in find.items():
        if needle in blob:
            hits[f"{kind} in {where}"] += 1


def scan_files(folder: Path, find: dict[bytes, str], hits: Counter[str]) -> int:
    n = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            leaks_in(str(path.relative_to(folder.parent)), path.read_bytes(), find, hits)
            n += 1
    return n


def scan_sqlite(db: Path, find: dict[bytes, str], hits: Counter[str]) -> list[str]:
    """Every table, every value that is text or bytes (JSON columns are text in SQLite)."""
    con = sqlite3.connect(db)
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')  # table names from the DB itself
            cols = [d[0] for d in cur.description]
            for row in cur:
                for col, value in zip(cols, row, strict=True):
                    if isinstance(value, str):
                        value = value.encode()
                    if isinstance(value, bytes):
                        leaks_in(f"{db.name}:{table}.{col}", value, find, hits)
    finally:
        con.close()
    return tables


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
