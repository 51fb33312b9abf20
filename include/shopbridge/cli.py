"""``shopbridge``: the command line inside the project's environment (``./run shopbridge``).

Commands:
  validate [FILE...]        check integration files; print the DAG each flow becomes
  ledger [INTEGRATION]      what the sync ledger holds, per entity and status
  mapping show PAIR         the effective field mapping (defaults plus the YAML's overrides)
  mapping test PAIR FILE    what one source record (vendor JSON) becomes for the target
  webhooks register PAIR --url BASE
                            register the pair's webhooks at the vendor, pointing at
                            BASE/shopbridge/webhooks/PAIR/SYSTEM (idempotent)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def _pair_file(pair: str) -> Path:
    """``lightspeed_ecom__exact_globe`` -> its integration file (a path is taken as it is)."""
    given = Path(pair)
    if given.suffix in (".yaml", ".yml") and given.exists():
        return given
    return _integrations_dir() / f"{pair}.yaml"


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]))


def cmd_mapping_show(pair: str, flow: str) -> int:
    from shopbridge.mapping.defaults import mapper_for
    from shopbridge.mapping.engine import MappingError

    try:
        cfg = load_integration(_pair_file(pair))
        if flow not in cfg.flows:
            raise ConfigError(f"{pair}: no flow named {flow!r}; it has "
                              f"{', '.join(cfg.flows)}")
        mapper = mapper_for(cfg, flow)
    except (ConfigError, MappingError) as err:
        print(err, file=sys.stderr)
        return 2
    _print_table([("SECTION", "TARGET FIELD", "RULE", "ORIGIN"), *mapper.table()])
    return 0


def _read_record(path: Path) -> Any:
    """The vendor's JSON as it is, unwrapping a ``{"order": {...}}`` envelope (GET/webhook)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and set(data) == {"order"} and isinstance(data["order"], dict):
        return data["order"]
    return data


def cmd_mapping_test(pair: str, record: Path, flow: str, fmt: str) -> int:
    """Translate and map one record; touches no system (no hook, no ledger, no Airflow)."""
    from shopbridge.connectors.registry import translator_for
    from shopbridge.errors import RecordError
    from shopbridge.flows.prepare import prepare
    from shopbridge.mapping.defaults import mapper_for

    try:
        cfg = load_integration(_pair_file(pair))
        if flow not in cfg.flows or cfg.kind(flow) != "orders":
            raise ConfigError(f"{pair}: no orders flow named {flow!r} (mapping test takes "
                              "one order record)")
        mapper = mapper_for(cfg, flow)
        raw = _read_record(record)
    except (ConfigError, OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    try:
        prepared = prepare(translator_for(cfg.ends(flow)[0].system), raw,
                           cfg.flows[flow].orders, mapper)
    except RecordError as err:
        print(f"would be quarantined: {err.field}: {err.reason}")
        return 1
    if prepared is None:
        print("would be skipped: its status is not among the statuses this flow sends")
        return 0
    mapped = prepared[1] or {"header": {}, "lines": []}
    if fmt == "json":
        print(json.dumps(mapped, indent=2, ensure_ascii=False))
        return 0
    rows = [("header", k, json.dumps(v, ensure_ascii=False)) for k, v in mapped["header"].items()]
    rows += [(f"lines[{i}]", k, json.dumps(v, ensure_ascii=False))
             for i, line in enumerate(mapped["lines"]) for k, v in line.items()]
    _print_table([("WHERE", "TARGET FIELD", "VALUE"), *rows])
    return 0


def cmd_webhooks_register(pair: str, base_url: str | None) -> int:
    """Register, at each vendor that feeds a ``webhooks: true`` flow, the deliveries the
    flows need; existing registrations to the same address are kept, not doubled."""
    import importlib

    from shopbridge.connectors.registry import WEBHOOK_REGISTRARS, hook_for
    from shopbridge.receiver import listening_flows

    cfg = load_integration(_pair_file(pair))
    base = (base_url or os.environ.get("SHOPBRIDGE_PUBLIC_URL") or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        print("give the address the vendor reaches Airflow's api-server at: --url "
              "https://airflow.example.com (or SHOPBRIDGE_PUBLIC_URL)", file=sys.stderr)
        return 2
    systems = [e for e in (cfg.source, cfg.target) if listening_flows(cfg, e.system)]
    if not systems:
        print(f"{pair}: no flow has webhooks: true; nothing to register", file=sys.stderr)
        return 1
    for end in systems:
        kinds = {cfg.kind(f) for f in listening_flows(cfg, end.system)}
        module, _, func = WEBHOOK_REGISTRARS[end.system].partition(":")
        register = getattr(importlib.import_module(module), func)
        address = f"{base}/shopbridge/webhooks/{pair}/{end.system}"
        for line in register(hook_for(end.system, end.connection_id), address, kinds):
            print(f"{end.system}: {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopbridge", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_val = sub.add_parser("validate", help="check integration files")
    p_val.add_argument("files", nargs="*", type=Path)
    p_led = sub.add_parser("ledger", help="ledger counts per entity and status")
    p_led.add_argument("integration", nargs="?")
    p_map = sub.add_parser("mapping", help="show or try a pair's field mapping")
    map_sub = p_map.add_subparsers(dest="mapping_command", required=True)
    p_show = map_sub.add_parser("show", help="the effective mapping as a table")
    p_test = map_sub.add_parser("test", help="map one source record (vendor JSON)")
    for p in (p_show, p_test):
        p.add_argument("pair", help="integration id, e.g. lightspeed_ecom__exact_globe")
    p_test.add_argument("record", type=Path, help="one record as the source API returns it")
    for p in (p_show, p_test):
        p.add_argument("--flow", default="orders", choices=["orders"])
    p_test.add_argument("--format", default="json", choices=["json", "table"])
    p_hooks = sub.add_parser("webhooks", help="vendor webhooks of a pair")
    hooks_sub = p_hooks.add_subparsers(dest="webhooks_command", required=True)
    p_reg = hooks_sub.add_parser("register", help="register the pair's webhooks at the vendor")
    p_reg.add_argument("pair", help="integration id, e.g. lightspeed_ecom__buckles")
    p_reg.add_argument("--url", help="public address of Airflow's api-server")
    args = parser.parse_args(argv)
    if args.command == "webhooks":
        return cmd_webhooks_register(args.pair, args.url)
    if args.command == "validate":
        return cmd_validate(args.files)
    if args.command == "mapping" and args.mapping_command == "show":
        return cmd_mapping_show(args.pair, args.flow)
    if args.command == "mapping":
        return cmd_mapping_test(args.pair, args.record, args.flow, args.format)
    return cmd_ledger(args.integration)


if __name__ == "__main__":
    sys.exit(main())
