"""``shopbridge``: the command line inside the project's environment (``./run shopbridge``).

Commands:
  validate [FILE...]        check integration files; print the DAG each flow becomes
  ledger [INTEGRATION]      what the sync ledger holds, per entity and status
  mapping show PAIR         the effective field mapping (defaults plus the YAML's overrides)
  mapping test PAIR FILE [--flow F] [--currency C]
                            what a vendor response (one record or a list, enveloped or a
                            bare webhook body) becomes for the target, and which
                            translator read it
  webhooks register PAIR --url BASE
                            register the pair's webhooks at the vendor, pointing at
                            BASE/shopbridge/webhooks/PAIR/SYSTEM (idempotent)
  pools sync                create the Airflow pool of every target account (one slot,
                            or the Connection's extra pool_slots); run where Airflow's
                            configuration is (AIRFLOW_HOME), as ``airflow`` would be
  replay PAIR (--record ID | --all)
                            run quarantined records again (read anew from the source)
                            with the current mapping; a record is written once
  dry-run DAG_ID [--start T] [--end T]
                            what that window would create/update/skip; writes nothing
  init [--pair P --flows F,G --source-url U ... --target-... --out FILE]
                            set up a pair: credentials tested and stored as Airflow
                            Connections, its YAML written with the defaults
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any, TextIO

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
            print(
                f"{path.name}: {cfg.dag_id(flow)}  schedule={spec.schedule!r}  "
                f"batch_size={spec.batch_size}  {state}"
            )
    return 1 if failed else 0


def cmd_ledger(integration: str | None) -> int:
    from shopbridge.store.ledger import Ledger

    ledger = Ledger()
    names = (
        [integration]
        if integration
        else [p.stem for p in sorted(_integrations_dir().glob("*.yaml"))]
    )
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
    from shopbridge.mapping.engine import MappingError

    try:
        cfg = load_integration(_pair_file(pair))
        if flow not in cfg.flows:
            raise ConfigError(f"{pair}: no flow named {flow!r}; it has {', '.join(cfg.flows)}")
        mapper = cfg.mapper(flow)
    except (ConfigError, MappingError) as err:
        print(err, file=sys.stderr)
        return 2
    _print_table([("SECTION", "TARGET FIELD", "RULE", "ORIGIN"), *mapper.table()])
    return 0


def _outcomes(kind: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per record: mapped (with what the target gets), skipped, or quarantined (why)."""
    out: list[dict[str, Any]] = [
        {"id": q["source_id"], "outcome": "quarantined", "field": q["field"], "reason": q["reason"]}
        for q in result["counts"].get("quarantined", [])
    ]
    if kind == "orders":
        for order in result["orders"]:
            ref = order["ref"]["id"]
            out.append(
                {
                    "id": ref,
                    "outcome": "mapped",
                    "mapped": result["mapped"].get(ref, {"header": {}, "lines": []}),
                    "order": order,
                }
            )
        skipped = result["counts"].get("orders_skipped_status", 0)
        out += [
            {"outcome": "skipped", "reason": "its status is not among the statuses this flow sends"}
        ] * skipped
    elif kind == "customers":
        out += [
            {"id": c["source_id"], "outcome": "mapped", "customer": c["customer"]}
            for c in result["customers"]
        ]
    elif kind == "products":
        out += [
            {"id": p["source_id"], "outcome": "mapped", "items": p["items"]}
            for p in result["products"]
        ]
        skipped = result["counts"].get("products_skipped_filtered", 0)
        out += [{"outcome": "skipped", "reason": "left out by the flow's filters"}] * skipped
    else:
        out += [
            {
                "id": lv["source_id"],
                "outcome": "mapped",
                "sku": lv["sku"],
                "quantity": lv["quantity"],
                "managed": lv["managed"],
            }
            for lv in result["levels"]
        ]
    return out


def cmd_mapping_test(
    pair: str, record: Path, flow: str, fmt: str, currency: str | None = None
) -> int:
    """Translate and map a vendor response (one record or a list, in any of the vendor's
    envelopes); touches no system (no request, no ledger, no Airflow)."""
    from shopbridge.tools.tryout import records_in, translator_name, try_records

    try:
        cfg = load_integration(_pair_file(pair))
        if flow not in cfg.flows:
            raise ConfigError(f"{pair}: no flow named {flow!r}; it has {', '.join(cfg.flows)}")
        kind = cfg.kind(flow)
        if kind not in ("orders", "customers", "products", "stock"):
            raise ConfigError(
                f"{pair}: mapping test takes orders, customers, products or "
                f"stock flows; {flow!r} is a {kind} flow"
            )
        records = records_in(json.loads(record.read_text(encoding="utf-8")))
        print(
            f"translator: {translator_name(cfg, flow)} ({len(records)} record"
            f"{'' if len(records) == 1 else 's'}, flow {flow} of {pair})",
            file=sys.stderr,
        )
        outcomes = _outcomes(kind, try_records(cfg, flow, records, currency=currency))
    except (ConfigError, OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    bad = any(o["outcome"] == "quarantined" for o in outcomes)
    if len(records) > 1 or kind != "orders":
        print(json.dumps(outcomes, indent=2, ensure_ascii=False))
        return 1 if bad else 0
    # one order: what the target gets, as before (the shape people script against)
    only = outcomes[0]
    if only["outcome"] == "quarantined":
        print(f"would be quarantined: {only['field']}: {only['reason']}")
        return 1
    if only["outcome"] == "skipped":
        print(f"would be skipped: {only['reason']}")
        return 0
    mapped = only["mapped"]
    if fmt == "json":
        print(json.dumps(mapped, indent=2, ensure_ascii=False))
        return 0
    rows = [("header", k, json.dumps(v, ensure_ascii=False)) for k, v in mapped["header"].items()]
    rows += [
        (f"lines[{i}]", k, json.dumps(v, ensure_ascii=False))
        for i, line in enumerate(mapped["lines"])
        for k, v in line.items()
    ]
    _print_table([("WHERE", "TARGET FIELD", "VALUE"), *rows])
    return 0


def cmd_webhooks_register(pair: str, base_url: str | None) -> int:
    """Register, at each vendor that feeds a ``webhooks: true`` flow, the deliveries the
    flows need; existing registrations to the same address are kept, not doubled."""
    import importlib

    from shopbridge.airflow.receiver import listening_flows
    from shopbridge.connectors.registry import WEBHOOK_REGISTRARS, hook_for

    cfg = load_integration(_pair_file(pair))
    base = (base_url or os.environ.get("SHOPBRIDGE_PUBLIC_URL") or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        print(
            "give the address the vendor reaches Airflow's api-server at: --url "
            "https://airflow.example.com (or SHOPBRIDGE_PUBLIC_URL)",
            file=sys.stderr,
        )
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


def cmd_pools_sync() -> int:
    """One pool per target Connection in Airflow's database (see ``shopbridge.airflow.pools``)."""
    from shopbridge.airflow import pools

    try:
        done = pools.sync_config_dir(pools.AirflowDb(), _integrations_dir())
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    for pool in done:
        print(f"{pool.name:<32} {pool.slots:>3} slot(s)  {pool.action}")
    return 0


def _connections_like_tasks() -> None:
    """Let hooks in this process find Connections in Airflow's metadata DB as well as in
    ``AIRFLOW_CONN_*``, as a task finds them through its worker. Outside a worker the
    Task SDK reads environment variables only, unless the process says it is a server
    context, which is what Airflow's own ``airflow connections get`` does."""
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")


@contextmanager
def _logs_to_stderr() -> Iterator[TextIO]:
    """Yield the real stdout while everything else printed goes to stderr.

    Airflow configures its logging to write to stdout when it is first imported (inside
    these commands), and the tasks' code logs as it works; the commands' own output (a
    table a script may read) must stay alone on stdout.
    """
    out = sys.stdout
    with redirect_stdout(sys.stderr):
        yield out


def _failed(err: Exception) -> int:
    print(f"failed: {type(err).__name__}: {err}", file=sys.stderr)
    return 2


def _airflow_not_found() -> type[Exception]:
    from airflow.sdk.exceptions import AirflowNotFoundException

    return AirflowNotFoundException


def cmd_replay(pair: str, record: str | None) -> int:
    """Replay one quarantined record or all; exit 1 when any is still set aside."""
    from datetime import UTC, datetime

    from shopbridge.errors import ShopbridgeError
    from shopbridge.tools import replay

    _connections_like_tasks()
    now = datetime.now(UTC)
    try:
        cfg = load_integration(_pair_file(pair))
        todo = replay.select_records(cfg, record=record, now=now)
    except (ConfigError, replay.ReplayError) as err:
        print(err, file=sys.stderr)
        return 2
    if not todo:
        print(f"{cfg.id}: no record is quarantined; nothing to replay")
        return 0
    with _logs_to_stderr():
        try:
            outcomes = replay.replay(cfg, todo, now=now)
        except (ShopbridgeError, _airflow_not_found()) as err:
            return _failed(err)
    _print_table(
        [
            ("FLOW", "ENTITY", "RECORD ID", "OUTCOME", "DETAIL"),
            *((o.flow, o.entity, o.record_id, o.outcome, o.detail) for o in outcomes),
        ]
    )
    left = sum(not o.resolved for o in outcomes)
    print(
        f"{len(outcomes) - left} of {len(outcomes)} left quarantine"
        + (f"; {left} still quarantined" if left else "")
    )
    return 1 if left else 0


def cmd_dry_run(
    dag_id: str, start: str | None, end: str | None, csv_path: str | None = None
) -> int:
    """Print the plan of one window as a table and a totals line; nothing is written to a
    system (``--csv`` saves the plan as a file for whoever checks it before the run)."""
    from datetime import UTC, datetime

    from shopbridge.errors import ShopbridgeError
    from shopbridge.tools import dry_run

    _connections_like_tasks()
    with _logs_to_stderr():
        try:
            cfg, flow = dry_run.find_flow(dag_id, _integrations_dir())
            result = dry_run.plan(cfg, flow, start=start, end=end, now=datetime.now(UTC))
        except ConfigError as err:
            print(err, file=sys.stderr)
            return 2
        except (ShopbridgeError, _airflow_not_found()) as err:
            return _failed(err)
    _print_table(dry_run.table(result))
    print(dry_run.totals_line(result))
    if csv_path:
        from shopbridge.tools import plan_report

        rows = plan_report.write_csv(result, Path(csv_path))
        print(f"plan written to {csv_path} ({rows} rows)")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """The setup wizard: prompts on a terminal, flags only with ``--non-interactive``."""
    from shopbridge.tools import wizard

    given = {
        opt: value
        for opt, dest in _INIT_FLAGS.items()
        if (value := getattr(args, dest)) not in (None, False)
    }
    interactive = not args.non_interactive and sys.stdin.isatty()
    with _logs_to_stderr() as stdout:
        try:
            wizard.run(
                _integrations_dir(),
                given,
                interactive=interactive,
                default_out=lambda pair: _integrations_dir() / f"{pair}.yaml",
                say=lambda msg: print(msg, file=stdout, flush=True),
            )
        except (wizard.WizardError, ConfigError) as err:
            print(f"init refused: {err}", file=sys.stderr)
            return 2
        except (EOFError, KeyboardInterrupt):
            print("\ninit cancelled; nothing was stored", file=sys.stderr)
            return 2
    return 0


#: ``init``'s option -> its argparse dest (filled by :func:`_add_operations`)
_INIT_FLAGS: dict[str, str] = {}


def _add_operations(sub: Any) -> None:
    """The operations commands (replay, dry-run, init); their logic is in their modules."""
    from shopbridge.tools.wizard import ROLES, all_extra_keys

    p_rep = sub.add_parser("replay", help="run quarantined records again")
    p_rep.add_argument("pair", help="integration id, e.g. lightspeed_ecom__exact_globe")
    which = p_rep.add_mutually_exclusive_group(required=True)
    which.add_argument("--record", metavar="ID", help="the source id of one record")
    which.add_argument("--all", action="store_true", help="every quarantined record")
    p_dry = sub.add_parser("dry-run", help="what a window would do; writes nothing")
    p_dry.add_argument("dag_id", help="e.g. lightspeed_ecom__exact_globe__orders")
    p_dry.add_argument("--start", help="ISO 8601; default: where the last run ended")
    p_dry.add_argument("--end", help="ISO 8601 (exclusive); default: now")
    p_dry.add_argument("--csv", metavar="FILE", help="also write the plan as CSV to FILE")
    p_init = sub.add_parser("init", help="set up a pair: connections and its YAML")
    options = [
        ("--pair", "integration id (a shipped pair)"),
        ("--flows", "comma-separated flow keys (default: the enabled ones)"),
        ("--out", "where to write the YAML (default: include/integrations/PAIR.yaml)"),
    ]
    for role in ROLES:
        options += [
            (f"--{role}-conn-id", f"{role} Airflow connection id"),
            (f"--{role}-url", f"{role} API address"),
            (f"--{role}-login", f"{role} login (API key, client id, ...)"),
            (f"--{role}-password", f"{role} password (API secret, token, ...)"),
        ]
        options += [
            (f"--{role}-{key.replace('_', '-')}", f"{role} Connection extra {key}")
            for key in all_extra_keys()
        ]
    for opt, text in options:
        _INIT_FLAGS[opt] = opt.removeprefix("--").replace("-", "_")
        p_init.add_argument(opt, help=text)
    p_init.add_argument("--force", action="store_true", help="replace an existing YAML")
    _INIT_FLAGS["--force"] = "force"
    p_init.add_argument(
        "--non-interactive",
        action="store_true",
        help="never prompt: every required value comes from a flag",
    )


def _run_operation(args: argparse.Namespace) -> int:
    if args.command == "replay":
        return cmd_replay(args.pair, None if args.all else args.record)
    if args.command == "dry-run":
        return cmd_dry_run(args.dag_id, args.start, args.end, args.csv)
    return cmd_init(args)


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
    p_test.add_argument(
        "record",
        type=Path,
        help="a vendor response: one record or a list, in the vendor's own "
        "envelope or bare (a webhook body)",
    )
    for p in (p_show, p_test):
        p.add_argument(
            "--flow",
            default="orders",
            help="the pair's flow: orders (default), customers, products, stock "
            "or a named flow such as erp_orders",
        )
    p_test.add_argument("--format", default="json", choices=["json", "table"])
    p_test.add_argument(
        "--currency",
        help="the source account's currency, for vendors whose "
        "records carry none (Lightspeed eCom: the shop's)",
    )
    p_hooks = sub.add_parser("webhooks", help="vendor webhooks of a pair")
    hooks_sub = p_hooks.add_subparsers(dest="webhooks_command", required=True)
    p_reg = hooks_sub.add_parser("register", help="register the pair's webhooks at the vendor")
    p_reg.add_argument("pair", help="integration id, e.g. lightspeed_ecom__buckles")
    p_reg.add_argument("--url", help="public address of Airflow's api-server")
    p_pools = sub.add_parser("pools", help="Airflow pools of the target accounts")
    pools_sub = p_pools.add_subparsers(dest="pools_command", required=True)
    pools_sub.add_parser("sync", help="create or update the pool of every target account")
    _add_operations(sub)
    args = parser.parse_args(argv)
    if args.command in ("replay", "dry-run", "init"):
        return _run_operation(args)
    if args.command == "pools":
        return cmd_pools_sync()
    if args.command == "webhooks":
        return cmd_webhooks_register(args.pair, args.url)
    if args.command == "validate":
        return cmd_validate(args.files)
    if args.command == "mapping" and args.mapping_command == "show":
        return cmd_mapping_show(args.pair, args.flow)
    if args.command == "mapping":
        return cmd_mapping_test(args.pair, args.record, args.flow, args.format, args.currency)
    return cmd_ledger(args.integration)


if __name__ == "__main__":
    sys.exit(main())
