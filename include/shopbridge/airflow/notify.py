"""Tell people at once when a run fails or records are quarantined, through Airflow's notifiers.

Each integration file lists its channels under ``notify:`` (``config.NotifyChannel``):
e-mail (the SMTP provider's ``SmtpNotifier``), Slack (``SlackWebhookNotifier``) or a
generic JSON webhook (:class:`shopbridge.airflow.json_notifier.JsonWebhookNotifier`), each naming
an Airflow Connection, so addresses and tokens stay out of the YAML.

Two moments, wired by ``dag_factory``:

- **a failed run**: :class:`FailureCallback` is every task's ``on_failure_callback``. A
  task's callback runs the moment that task fails for good (retries spent) and is handed
  the exception, so it can name the task, the batch and the error line. The DAG-level
  ``on_failure_callback`` fires later and its context carries only the last failed task
  instance, never the error, so it could only say "something failed".
- **quarantined records**: :func:`quarantined`, called by the ``report`` task with every
  batch's results: one message per run listing every record set aside.

Notifiers are built when there is something to say (the message is fixed then) and sent
with ``notify()``, not ``__call__``: ``__call__`` renders the notifier's template fields
with Jinja, and the messages quote vendor data (a quarantine reason repeats the bad
value), which must never be evaluated as a template. A channel that fails (sink down,
wrong Connection) is logged and the other channels still go; it never fails the run or
changes its result.

Providers are imported only inside :func:`build_notifier`: the DAG factory imports this
module at parse time, and parsing stays cheap.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shopbridge.config import IntegrationConfig, NotifyChannel, NotifyEvent

if TYPE_CHECKING:
    from airflow.sdk import BaseNotifier, Context

    from shopbridge.store.notices import SentNotices

log = logging.getLogger(__name__)

#: the longest error line a failure message quotes
MAX_ERROR = 500


@dataclass(frozen=True)
class Notice:
    """One message, written once and rendered for each kind of channel.

    ``data`` is the JSON webhook's body: the same facts as the text, as fields, so a
    receiving tool can route on ``event`` and ``integration`` without parsing prose.
    """

    subject: str
    lines: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def html(self) -> str:
        """Every line escaped: a reason may contain ``<`` or ``&`` from the vendor's data."""
        body = "<br>\n".join(html.escape(line) for line in self.lines)
        return f"<p><b>{html.escape(self.subject)}</b></p>\n<p>{body}</p>"

    def slack(self) -> str:
        """Slack's mrkdwn treats ``<``, ``>`` and ``&`` as markup: escape them as it asks."""

        def esc(text: str) -> str:
            return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        return f"*{esc(self.subject)}*\n" + "\n".join(esc(line) for line in self.lines)


def _header(cfg: IntegrationConfig, flow: str, run_id: str) -> tuple[list[str], dict[str, Any]]:
    dag_id = cfg.dag_id(flow)
    lines = [f"Integration: {cfg.id}", f"Flow: {flow} (DAG {dag_id})", f"Run: {run_id}"]
    return lines, {"integration": cfg.id, "flow": flow, "dag_id": dag_id, "run_id": run_id}


def quarantine_notice(
    cfg: IntegrationConfig, flow: str, run_id: str, entries: list[Mapping[str, str]], *, limit: int
) -> Notice:
    """The records a run set aside, each with its entity, id, field and reason.

    These come from ``QuarantineEntry`` (ids, field paths and reasons, never a customer's
    name or address: ``errors.RecordError``, ``Customer.label``). Only the first ``limit``
    are listed: a mapping mistake can quarantine a whole catalogue, and a message nobody
    can read to the end helps nobody; the ledger and activity view hold them all.
    """
    lines, data = _header(cfg, flow, run_id)
    n = len(entries)
    noun = "record" if n == 1 else "records"
    lines.append(f"{n} {noun} quarantined:")
    shown = [
        {k: str(e.get(k, "")) for k in ("entity", "source_id", "field", "reason")}
        for e in entries[:limit]
    ]
    lines += [f"- {e['entity']} {e['source_id']}: {e['field']}: {e['reason']}" for e in shown]
    if n > limit:
        lines.append(f"... and {n - limit} more (see the ledger or the activity view)")
    data |= {"event": "quarantine", "count": n, "records": shown, "more": max(0, n - limit)}
    return Notice(
        subject=f"[shopbridge] {cfg.id} {flow}: {n} {noun} quarantined",
        lines=tuple(lines),
        data=data,
    )


def error_line(error: BaseException | str | None) -> str:
    """The first line of the error, naming its class; clipped (a vendor's 4xx body can be
    long). ``dag_factory._fail_fast`` already prefixes the real class to an
    ``AirflowFailException``'s message, so that wrapper's own name is left out."""
    if error is None:
        return "no error was handed to the callback (see the task log)"
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(error, BaseException) and type(error).__name__ != "AirflowFailException":
        first = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return first if len(first) <= MAX_ERROR else first[: MAX_ERROR - 1] + "…"


def failure_notice(
    cfg: IntegrationConfig,
    flow: str,
    run_id: str,
    *,
    task: str,
    map_index: int | None,
    error: str,
    log_url: str | None,
) -> Notice:
    """A run failed: which task (and batch), and the error line."""
    lines, data = _header(cfg, flow, run_id)
    where = f"{task} (batch {map_index})" if map_index is not None and map_index >= 0 else task
    lines += [f"Failed task: {where}", f"Error: {error}"]
    if log_url:
        lines.append(f"Log: {log_url}")
    data |= {
        "event": "failure",
        "task": task,
        "map_index": map_index if map_index is not None and map_index >= 0 else None,
        "error": error,
        "log_url": log_url,
    }
    return Notice(
        subject=f"[shopbridge] {cfg.id} {flow}: run failed in {task}", lines=tuple(lines), data=data
    )


def build_notifier(channel: NotifyChannel, notice: Notice) -> BaseNotifier:
    """The provider's notifier for ``channel``, carrying ``notice`` (providers load here)."""
    if channel.channel == "email":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        return SmtpNotifier(
            to=list(channel.to),
            from_email=channel.from_email,
            subject=notice.subject,
            html_content=notice.html(),
            smtp_conn_id=channel.connection,
        )
    if channel.channel == "slack":
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        return SlackWebhookNotifier(
            slack_webhook_conn_id=channel.connection, text=notice.slack(), timeout=10
        )
    from shopbridge.airflow.json_notifier import JsonWebhookNotifier

    return JsonWebhookNotifier(
        webhook_conn_id=channel.connection,
        payload={**notice.data, "subject": notice.subject, "text": notice.text},
    )


def _sent_notices() -> SentNotices | None:
    """The claims store, or None when the ledger database cannot be opened: the notice is
    then sent without the once-only guard (a duplicate beats a silent failure)."""
    from shopbridge.store.notices import SentNotices

    try:
        return SentNotices()
    except Exception as err:  # noqa: BLE001 (any database error; logged, never raised)
        log.warning("notifications are sent without the once-per-run guard: %s", err)
        return None


def deliver(
    cfg: IntegrationConfig,
    event: NotifyEvent,
    notice_for: Callable[[NotifyChannel], Notice],
    context: Context,
    *,
    flow: str = "",
    once_as: str = "",
) -> int:
    """Send to every channel that wants ``event``; return how many accepted it.

    ``notice_for`` writes the message per channel (each may cap its list differently).
    With ``once_as``, each channel gets the notice once per run under that name, however
    often the calling task runs (a retried ``report``, a failure callback run twice).
    """
    wanted = [c for c in cfg.notify if event in c.on]
    run_id = str(context.get("run_id", ""))
    notices = _sent_notices() if wanted and once_as and run_id else None
    try:
        return sum(
            _send_once(cfg, event, channel, notice_for, context, notices, flow, run_id, once_as)
            for channel in wanted
        )
    finally:
        if notices is not None:
            notices.close()


def _send_once(
    cfg: IntegrationConfig,
    event: NotifyEvent,
    channel: NotifyChannel,
    notice_for: Callable[[NotifyChannel], Notice],
    context: Context,
    notices: SentNotices | None,
    flow: str,
    run_id: str,
    once_as: str,
) -> int:
    """1 when ``channel`` accepted the notice now, 0 when it refused or already had it."""
    from shopbridge.store.notices import NoticeKey

    key = NoticeKey(cfg.id, flow, run_id, once_as, f"{channel.channel}:{channel.connection}")
    if notices is not None and not notices.claim(key):
        log.info(
            "%s notification to %s (connection %r) was already sent for run %s",
            event,
            channel.channel,
            channel.connection,
            run_id,
        )
        return 0
    try:
        build_notifier(channel, notice_for(channel)).notify(context)
    # any failure of any provider: it is logged beside the run, never raised into it
    except Exception as err:  # noqa: BLE001
        log.error(
            "%s notification to %s (connection %r) not delivered: %s: %s",
            event,
            channel.channel,
            channel.connection,
            type(err).__name__,
            err,
        )
        if notices is not None:
            notices.release(key)
        return 0
    log.info(
        "%s notification sent to %s (connection %r)",
        event,
        channel.channel,
        channel.connection,
    )
    return 1


def quarantined(
    cfg: IntegrationConfig, flow: str, results: Iterable[Mapping[str, Any]], context: Context
) -> int:
    """Report the records the run's batches quarantined (none: send nothing).

    Called from the ``report`` task rather than from each ``load`` batch: a backfill of
    5,000 orders is 50 batches, and 50 messages a run drown the one that matters; only
    ``report`` sees every batch, so the "first N and M more" cap is over the whole run;
    it runs once (a retried ``load`` would repeat its message); and it runs before the
    ``max_quarantined_fraction`` check, which may then fail the run (a second, failure
    message). The price: the message waits for the run's slowest batch (seconds to
    minutes), and a run whose ``load`` fails never reaches ``report``: its failure message
    goes out instead, and the next run quarantines those records again (they are not
    synced in between), which is when they are reported.
    """
    entries = [q for r in results for q in (r or {}).get("quarantined", [])]
    if not entries or not any("quarantine" in c.on for c in cfg.notify):
        return 0
    run_id = str(context.get("run_id", ""))
    return deliver(
        cfg,
        "quarantine",
        lambda ch: quarantine_notice(cfg, flow, run_id, entries, limit=ch.max_records),
        context,
        flow=flow,
        once_as="quarantine",
    )


class FailureCallback:
    """A task's ``on_failure_callback``: tell the integration's channels that the run failed.

    Airflow runs it in the worker when a task fails with no retries left (an
    ``AirflowFailException`` included), with the exception in ``context["exception"]``;
    for a task that died without one (killed, heartbeat lost) the DAG processor runs it
    with the reason instead.
    """

    def __init__(self, cfg: IntegrationConfig, flow: str) -> None:
        self.cfg = cfg
        self.flow = flow

    def __repr__(self) -> str:
        return f"FailureCallback({self.cfg.id!r}, {self.flow!r})"

    def __deepcopy__(self, _memo: dict[int, object]) -> FailureCallback:
        # Airflow deep-copies default_args for every task of every DAG at parse time; the
        # callback holds only the parsed config, which nothing changes after parsing
        return self

    def __call__(self, context: Context) -> None:
        ti = context.get("ti")
        error = context.get("exception") or context.get("reason")
        task = str(getattr(ti, "task_id", "?"))
        index = getattr(ti, "map_index", None)
        notice = failure_notice(
            self.cfg,
            self.flow,
            str(context.get("run_id", "")),
            task=task,
            map_index=index,
            error=error_line(error),
            log_url=getattr(ti, "log_url", None),
        )
        once_as = f"failure:{task}" + (f"[{index}]" if index is not None and index >= 0 else "")
        deliver(
            self.cfg, "failure", lambda _channel: notice, context, flow=self.flow, once_as=once_as
        )


def failure_callbacks(cfg: IntegrationConfig, flow: str) -> list[FailureCallback]:
    """The ``on_failure_callback`` of a flow's tasks: empty when no channel listens for
    failures. Always a list: a mapped task takes the value as given and iterates it."""
    if any("failure" in c.on for c in cfg.notify):
        return [FailureCallback(cfg, flow)]
    return []
