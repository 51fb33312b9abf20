"""Builds one Airflow DAG per (integration file, flow) from ``include/integrations/*.yaml``.

Shaped after astronomer's dag-factory: the DAG file is a few lines calling
:func:`register_integrations`; a broken YAML is logged with its path and the field and the
other files' DAGs still load (``SHOPBRIDGE_STRICT=1`` re-raises, for CI), and
:func:`raise_config_errors` gives the broken files an import error of their own in the UI.

Parse time only reads YAML and wires tasks: connectors, the ledger and the flow code are
imported inside the tasks (``shopbridge.runtime``), never at the top of a DAG file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    Param,
    dag,
    get_current_context,
    get_parsing_context,
)

from shopbridge.airflow.notify import failure_callbacks, quarantined
from shopbridge.airflow.pools import task_pool
from shopbridge.airflow.task_privacy import drop_run_xcoms

# @task that neither logs return values nor records arguments: batches hold personal data
from shopbridge.airflow.task_privacy import private_task as task
from shopbridge.config import FlowSpec, IntegrationConfig, inbox_asset_name, load_integration
from shopbridge.errors import ConfigError, FatalError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def _fail_fast(fn: Callable[P, R]) -> Callable[P, R]:
    """Config and fatal vendor errors fail the task at once: retrying cannot fix them.

    Retriable errors (429/5xx/timeouts the client gave up on) propagate unchanged so the
    task's own ``retries`` with exponential backoff take over (STYLE R7).
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from airflow.sdk.exceptions import (
            AirflowFailException,
            AirflowNotFoundException,
        )

        try:
            return fn(*args, **kwargs)
        except (ConfigError, FatalError) as err:
            raise AirflowFailException(f"{type(err).__name__}: {err}") from err
        except AirflowNotFoundException as err:  # a connection id with no Connection behind it
            raise AirflowFailException(
                f"ConfigError: {err} (add it under Admin → Connections, or as an "
                "AIRFLOW_CONN_<ID> environment variable)"
            ) from err

    return wrapper


def _run_conf() -> dict[str, Any]:
    """The run's params overlaid with its ``conf`` (a REST trigger may pass either)."""
    ctx = get_current_context()
    conf = {k: v for k, v in (ctx.get("params") or {}).items() if v}
    dag_run = ctx.get("dag_run")
    conf |= {k: v for k, v in ((dag_run.conf if dag_run else None) or {}).items() if v}
    return conf


def _schedule(cfg: IntegrationConfig, flow: str, spec: FlowSpec) -> Any:
    """The flow's cron windows, or (``webhooks: true``) those *or* its inbox asset, which
    the webhook receiver announces deliveries on (see ``shopbridge.airflow.receiver``)."""
    cron = CronDataIntervalTimetable(spec.schedule, timezone="UTC")
    if not spec.webhooks:
        return cron
    return AssetOrTimeSchedule(timetable=cron, assets=Asset(name=inbox_asset_name(cfg.id, flow)))


def _inbox_run() -> str | None:
    """This run's id when it should take the webhook inbox instead of a window: a run
    triggered by the inbox asset, or a manual one with ``{"inbox": true}``."""
    ctx = get_current_context()
    dag_run = ctx.get("dag_run")
    run_type = getattr(dag_run, "run_type", None)
    # an enum (DagRunType.ASSET_TRIGGERED) in a worker; its value is what the API shows
    if str(getattr(run_type, "value", run_type)) == "asset_triggered" or (
        dag_run and (dag_run.conf or {}).get("inbox")
    ):
        return str(ctx["run_id"])
    return None


def _batch_key(batch_no: int) -> str:
    return f"batch_{batch_no}"


#: the one key of a batch handed on as compact JSON text (:func:`_pack`)
_PACKED = "shopbridge_json"


def _pack(value: Any) -> Any:
    """A batch as one JSON string for XCom, when it is plain JSON (vendor records and
    ``model_dump(mode="json")`` are); anything else goes as it is.

    Airflow's XCom codec walks every nested dict on both ends (its encoder and decoder look
    for typed values in each): 61 batches of a 2,000-order run spent seconds there, against
    milliseconds for ``json``. Nothing is lost: these XComs exist only within the run
    (``report`` deletes them: they hold personal data), so no one reads them in the UI.
    """
    try:
        return {_PACKED: json.dumps(value, separators=(",", ":"), allow_nan=False)}
    except (TypeError, ValueError):
        return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1 and _PACKED in value:
        return json.loads(value[_PACKED])
    return value


def _push_batches(ti: Any, batches: list[list[dict[str, Any]]]) -> list[int]:
    """Each batch as an XCom of its own; the numbers are what ``validate_and_map`` maps over.

    Mapping over one list XCom would make every mapped instance fetch the *whole* list and
    pick its index (Airflow 3.3's ``DictOfListsExpandInput.resolve``): 20 batches of 2,000
    orders cost 20 times 12 MB of XCom reads, quadratic in the batch count (``./run bench e2e``
    measured 122 s in ``validate_and_map`` against 2 s in a plain loop).
    """
    for no, batch in enumerate(batches):
        ti.xcom_push(key=_batch_key(no), value=_pack(batch))
    return list(range(len(batches)))


#: the JSON Schema dialect of the run parameters. Airflow validates every parameter of
#: every DAG at parse time, and jsonschema first checks the schema against its dialect's
#: metaschema: draft 7's takes a third of the time of the default 2020-12 one (230 DAGs,
#: 690 parameters), and these schemas use nothing newer.
_DIALECT: dict[str, Any] = {"$schema": "http://json-schema.org/draft-07/schema#"}


def _params() -> dict[str, Param]:
    """The run parameters a manual trigger offers (the trigger form shows them)."""
    return {
        "start": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Sync records changed from this moment (ISO 8601)",
            **_DIALECT,
        ),
        "end": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="... up to this moment (exclusive)",
            **_DIALECT,
        ),
        "full_resync": Param(
            False,
            type="boolean",
            description="Write every record again, changed or not "
            "(products: read the whole catalogue)",
            **_DIALECT,
        ),
    }


def build_flow_dag(cfg: IntegrationConfig, flow: str, spec: FlowSpec, *, doc_md: str = "") -> Any:
    """extract → validate_and_map[batch] → lookup[batch] → load[batch] → report."""

    @dag(
        dag_id=cfg.dag_id(flow),
        description=(
            f"{flow}: {cfg.ends(flow)[0].system} → {cfg.ends(flow)[1].system}"
            + (f" ({cfg.description})" if cfg.description else "")
        ),
        schedule=_schedule(cfg, flow, spec),
        start_date=spec.start_date,
        catchup=False,
        max_active_runs=1,
        doc_md=doc_md,
        tags=["shopbridge", cfg.source.system, cfg.target.system, cfg.kind(flow)],
        params=_params(),
        default_args={
            "retries": spec.retries,
            "retry_delay": timedelta(seconds=spec.retry_delay_s),
            "retry_exponential_backoff": 2.0,
            "max_retry_delay": timedelta(minutes=30),
            # each task that fails for good tells the YAML's notify: channels (airflow/notify.py)
            "on_failure_callback": failure_callbacks(cfg, flow),
        },
    )
    def flow_dag() -> None:
        @task
        @_fail_fast
        def extract() -> list[int]:
            """Returns the batch numbers to map over (each batch: :func:`_push_batches`); the
            window and call count go to XCom "meta"."""
            from datetime import UTC, datetime

            from shopbridge import runtime

            ctx = get_current_context()
            if spec.webhooks and (inbox_run := _inbox_run()):
                extracted = runtime.extract_inbox(cfg, flow, spec, run_id=inbox_run)
                ctx["ti"].xcom_push(
                    key="meta", value={"api_calls": 0, "window": None, "inbox_run": inbox_run}
                )
                return _push_batches(ctx["ti"], extracted["batches"])
            conf = _run_conf()
            start, end = runtime.window(
                cfg,
                flow,
                spec,
                conf=conf,
                interval_start=ctx.get("data_interval_start"),
                interval_end=ctx.get("data_interval_end"),
                now=datetime.now(UTC),
            )
            extracted = runtime.extract(
                cfg, flow, spec, start, end, full_resync=bool(conf.get("full_resync"))
            )
            meta = {k: extracted[k] for k in ("api_calls", "window", "skipped_existing")}
            ctx["ti"].xcom_push(key="meta", value=meta)
            return _push_batches(ctx["ti"], extracted["batches"])

        @task(map_index_template="batch {{ ti.map_index }}")
        @_fail_fast
        def validate_and_map(batch_no: int) -> Any:
            from shopbridge import runtime

            batch = get_current_context()["ti"].xcom_pull(
                task_ids="extract", key=_batch_key(batch_no)
            )
            return _pack(runtime.validate_and_map(cfg, flow, spec, _unpack(batch)))

        @task(map_index_template="batch {{ ti.map_index }}", pool=task_pool(cfg, flow, "lookup"))
        @_fail_fast
        def lookup(mapped: Any) -> Any:
            from shopbridge import runtime

            return _pack(
                runtime.lookup(
                    cfg,
                    flow,
                    spec,
                    _unpack(mapped),
                    full_resync=bool(_run_conf().get("full_resync")),
                )
            )

        # the target account's pool: parallel workers never exceed its rate (airflow/pools.py)
        @task(map_index_template="batch {{ ti.map_index }}", pool=task_pool(cfg, flow, "load"))
        @_fail_fast
        def load(looked_up: Any) -> dict[str, Any]:
            from shopbridge import runtime

            ctx = get_current_context()
            # the ledger's claim owner: this run's batch, the same on every retry of it
            owner = f"{ctx['run_id']}#load[{ctx['ti'].map_index}]"
            return runtime.load(cfg, flow, spec, _unpack(looked_up), run_id=owner)

        # "none_failed": a window with nothing in it maps over no batches, which skips the
        # mapped tasks; the run must still report (zeros) and remember its window
        @task(trigger_rule="none_failed")
        @_fail_fast
        def report(results: Any) -> dict[str, Any]:
            from shopbridge import runtime

            meta = get_current_context()["ti"].xcom_pull(task_ids="extract", key="meta")
            # one message per run, before the threshold below may fail it (why here and
            # not per load batch: shopbridge.airflow.notify.quarantined)
            quarantined(cfg, flow, results, get_current_context())
            summary = runtime.report(
                cfg,
                flow,
                spec,
                api_calls=meta["api_calls"],
                window=meta["window"],
                results=list(results),
                inbox_run=meta.get("inbox_run"),
                skipped_existing=meta.get("skipped_existing", 0),
                run_id=str(get_current_context()["run_id"]),
            )
            # the batches hold personal data: only this summary outlives a reported run (a
            # run failing before here keeps them for a retry; shopbridge.airflow.retention purges)
            drop_run_xcoms(
                get_current_context(),
                single={"extract": ("return_value", "meta", *map(_batch_key, range(len(results))))},
                mapped=("validate_and_map", "lookup", "load"),
                batches=len(results),
            )
            return summary

        extracted = extract()
        loaded = load.expand(
            looked_up=lookup.expand(mapped=validate_and_map.expand(batch_no=extracted))
        )
        report(loaded)

    return flow_dag()


def _strict() -> bool:
    return os.environ.get("SHOPBRIDGE_STRICT", "") not in ("", "0", "false")


def _configs(config_dir: Path) -> tuple[list[tuple[Path, IntegrationConfig]], list[str]]:
    good: list[tuple[Path, IntegrationConfig]] = []
    bad: list[str] = []
    for path in sorted(config_dir.glob("*.yaml")):
        try:
            good.append((path, load_integration(path)))
        except ConfigError as err:
            log.error("DAG build failed: %s", err)
            bad.append(str(err))
    return good, bad


def register_integrations(globals_dict: dict[str, Any], config_dir: Path) -> list[str]:
    """Build and register every enabled flow of every valid file; return the DAG ids.

    A task's own process parses this file again only to find its DAG: under Airflow's
    parsing context (``get_parsing_context().dag_id``) just that one DAG is built, the
    documented shortcut for generated DAGs: a task then pays for one DAG, not for every
    flow of every pair (a third of the file's parse time with the five shipped pairs).
    """
    wanted = get_parsing_context().dag_id or None
    good, bad = _configs(config_dir)
    if bad and _strict():
        raise ConfigError("\n".join(bad))
    built: list[str] = []
    for path, cfg in good:
        doc = f"Built from `{path.name}`:\n\n```yaml\n{path.read_text(encoding='utf-8')}\n```"
        for flow, spec in cfg.flows.items():
            if not spec.enabled or wanted not in (None, cfg.dag_id(flow)):
                continue
            dag_obj = build_flow_dag(cfg, flow, spec, doc_md=doc)
            globals_dict[cfg.dag_id(flow)] = dag_obj
            built.append(cfg.dag_id(flow))
    return built


def raise_config_errors(config_dir: Path) -> None:
    """Raise one error listing every invalid integration file (shown as an import error)."""
    _, bad = _configs(config_dir)
    if bad:
        raise ConfigError("\n".join(bad))
