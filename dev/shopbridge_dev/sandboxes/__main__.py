"""``python -m shopbridge_dev.sandboxes SYSTEM --port N [--seed demo] [--state F] [--set k=v]``.

Each sandbox runs as its own process, on its own port, as a real vendor would.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
from pathlib import Path
from typing import Any

import uvicorn

SYSTEMS = (
    "lightspeed_ecom",
    "exact_globe",
    "lightspeed_retail",
    "fortnox",
    "accountview",
    "ccv_salespos",
    "buckles",
)


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def main(argv: list[str] | None = None) -> None:
    """Start one vendor sandbox and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m shopbridge_dev.sandboxes")
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", default="demo", help="demo data seed; 'none' starts empty")
    parser.add_argument("--state", type=Path, help="persist the store to this JSON file")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sandbox option, e.g. --set n_orders=60 (value parsed as JSON)",
    )
    args = parser.parse_args(argv)
    options = dict(item.split("=", 1) for item in args.set)
    module = importlib.import_module(f"shopbridge_dev.sandboxes.{args.system}.app")
    app = module.create_app(
        seed=None if args.seed == "none" else args.seed,
        state_file=args.state,
        **{k: _value(v) for k, v in options.items()},
    )
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
