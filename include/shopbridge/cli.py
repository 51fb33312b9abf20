"""``shopbridge``: the command line inside the project's environment (``./run shopbridge``).

Commands:
  validate [FILE...]        check integration files; print the DAG each flow becomes
  ledger [INTEGRATION]      what the sync ledger holds, per entity and status
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shopbridge.config import load_integration
from shopbridge.errors import ConfigError


def _integrations_dir() -> Path:
    root = Path(os.environ.get("SHOPBRIDGE_ROOT") or Path.cwd())
    return root / "include" / "integrations"


def cmd_validate(files: list[Path]) -> int:
    paths = files or sorted(_integrations_dir().glob("*.yaml"))
    if not paths:
        print(f"no integration files in {_integrations_dir()}", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        try:
            cfg = load_integration(path)
        except ConfigError as err:
            failed += 1
            print(err, file=sys.stderr)
            continue
        for flow, spec in cfg.flows.items():
            state = "enabled" if spec.enabled else "disabled"
            print(f"{path.name}: {cfg.dag_id(flow)}  schedule={spec.schedule!r}  "
                  f"batch_size={spec.batch_size}  {state}")
    return 1 if failed else 0


def cmd_ledger(integration: str | None) -> int:
    from shopbridge.ledger import Ledger

    ledger = Ledger()
    names = [integration] if integration else [p.stem for p in
                                               sorted(_integrations_dir().glob("*.yaml"))]
    for name in names:
        for (entity, status), n in sorted(ledger.counts(name).items()):
            print(f"{name}  {entity:<10} {status:<12} {n:>7}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopbridge", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_val = sub.add_parser("validate", help="check integration files")
    p_val.add_argument("files", nargs="*", type=Path)
    p_led = sub.add_parser("ledger", help="ledger counts per entity and status")
    p_led.add_argument("integration", nargs="?")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return cmd_validate(args.files)
    return cmd_ledger(args.integration)


if __name__ == "__main__":
    sys.exit(main())
