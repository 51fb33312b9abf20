"""Operations → Activity: a page in the Airflow UI listing what each flow run did.

Per integration and run: what came from the source (read), what was written to the
target (created / updated / skipped), and each record set aside with its field and
reason; filters for integration, flow, status, "quarantined only" and a start date.
Served by the shopbridge plugin (``plugins/shopbridge_plugin.py``) at
``/shopbridge-activity/``, shown inside the UI through an ``external_views`` entry, with
the same rows as JSON at ``/shopbridge-activity/api/runs``.

Why server-rendered HTML and not a React plugin: the page is one table and a form, and a
React app would need a build step and a bundle kept in step with the UI's React. Plain
HTML needs neither, and it is what the UI's iframe allows: Airflow 3.3 sandboxes an
external view with ``allow-forms`` only, so no script runs in it and no link can leave
it, but a GET form (the filters) works.

Who may see it: plugin apps get no Airflow login of their own (AIRFLOW3_NOTES §2f), so
the plugin passes ``readable``, a FastAPI dependency built on Airflow's ``get_user``: it
accepts the UI's session cookie (``_token``, sent by the browser with the iframe's
request) or an ``Authorization: Bearer`` JWT, refuses anyone else (401; the page
redirects a browser to Airflow's login instead), and answers which DAG ids the user may
read, so a person sees the runs of exactly the DAGs the auth manager lets them read.

What the page shows is what :mod:`shopbridge.store.activity` stores: ids, counts, field paths
and reasons, never a customer's name, address or e-mail. Nothing here imports Airflow.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shopbridge.store.activity import STATUSES, ActivityLog, RunActivity

#: given DAG ids, those the signed-in person may read
DagFilter = Callable[[set[str]], set[str]]
#: runs shown at most on one page (newest first)
PAGE_SIZE = 200
#: the five numbers every flow shares, in the table's order
COLUMNS = ("read", "created", "updated", "skipped", "quarantined")


def _since(value: str) -> datetime | None:
    """A date (``2026-03-01``, from the form's date field) or an ISO 8601 date-time."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"since: not a date or ISO 8601 date-time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class Filters:
    """The page's query string, shared by the HTML page and the JSON endpoint."""

    def __init__(
        self,
        integration: Annotated[str, Query(max_length=100)] = "",
        flow: Annotated[str, Query(max_length=30)] = "",
        status: Annotated[Literal["", "success", "failed"], Query()] = "",
        quarantined: Annotated[bool, Query(description="only runs that set records aside")] = False,
        since: Annotated[str, Query(max_length=40, description="YYYY-MM-DD or ISO 8601")] = "",
    ) -> None:
        self.integration, self.flow, self.status = integration, flow, status
        self.quarantined, self.since_text = quarantined, since
        self.since = _since(since)

    def as_dict(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "flow": self.flow,
            "status": self.status,
            "quarantined": self.quarantined,
            "since": self.since_text,
        }


def create_activity_app(
    *,
    readable: Callable[..., Any],
    activity: Callable[[], ActivityLog] = ActivityLog,
    login_url: Callable[[str], str] | None = None,
) -> FastAPI:
    """The app the plugin mounts.

    ``readable`` is a FastAPI dependency returning a :data:`DagFilter` for the person
    asking (raising 401/403 for nobody signed in); ``activity`` opens the log (tests pass
    their own database); ``login_url(next_url)`` is where a browser without a session is
    sent (without it, it gets the 401).
    """
    app = FastAPI(title="shopbridge activity", docs_url=None, redoc_url=None, openapi_url=None)
    # a default, not an ``Annotated`` alias: with postponed annotations FastAPI resolves
    # names in the module's globals, where ``readable`` is not
    access_dep = Depends(readable)

    opened: list[ActivityLog] = []

    def _log() -> ActivityLog:
        """Opened on the first request (not at plugin import, when every Airflow process
        loads the plugin) and kept: its engine pools the connections."""
        if not opened:
            opened.append(activity())
        return opened[0]

    def _visible(
        access: DagFilter, filters: Filters
    ) -> tuple[list[RunActivity], list[tuple[str, str, str]]]:
        log_ = _log()
        dags = log_.dags()
        allowed = access({d for _, _, d in dags})
        dags = [d for d in dags if d[2] in allowed]
        rows = log_.query(
            integration=filters.integration or None,
            flow=filters.flow or None,
            status=filters.status or None,
            quarantined_only=filters.quarantined,
            since=filters.since,
            dag_ids=allowed,
            limit=PAGE_SIZE,
        )
        return rows, dags

    @app.exception_handler(HTTPException)
    async def _login_first(request: Request, exc: HTTPException) -> Response:
        """A browser without a (valid) session goes to Airflow's login and comes back."""
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code in (401, 403) and wants_html and login_url is not None:
            return RedirectResponse(login_url(str(request.url)), status_code=303)
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.get("/api/runs")
    async def runs_json(
        filters: Annotated[Filters, Depends()], access: DagFilter = access_dep
    ) -> dict[str, Any]:
        rows, _ = await run_in_threadpool(_visible, access, filters)
        return {"filters": filters.as_dict(), "runs": [r.to_json() for r in rows]}

    @app.get("/", response_class=HTMLResponse)
    async def page(
        filters: Annotated[Filters, Depends()], access: DagFilter = access_dep
    ) -> HTMLResponse:
        rows, dags = await run_in_threadpool(_visible, access, filters)
        return HTMLResponse(render_page(rows, dags, filters), headers={"Cache-Control": "no-store"})

    return app


# --- HTML ----------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light dark; --line: #8884; --muted: #888; --bad: #c0392b; --ok: #2e7d32; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; }
h1 { font-size: 20px; margin: 0 0 12px; }
form { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin-bottom: 16px; }
label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: var(--muted); }
label.check { flex-direction: row; align-items: center; gap: 6px; color: inherit; font-size: 14px; }
select, input, button { font: inherit; padding: 4px 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
         vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.q-bad { color: var(--bad); font-weight: 600; }
td.when { white-space: nowrap; }
.status-failed { color: var(--bad); font-weight: 600; }
.status-success { color: var(--ok); }
tr.quarantine td { border-bottom: none; padding-top: 0; }
table.q { width: auto; margin: 0 0 8px 16px; font-size: 13px; }
table.q td, table.q th { padding: 2px 8px; }
code { font-size: 12px; }
.muted { color: var(--muted); }
details summary { cursor: pointer; color: var(--muted); font-size: 12px; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _options(values: Iterable[str], selected: str, empty: str) -> str:
    out = [f'<option value="">{_e(empty)}</option>']
    for v in values:
        mark = " selected" if v == selected else ""
        out.append(f'<option value="{_e(v)}"{mark}>{_e(v)}</option>')
    return "".join(out)


def _filter_form(dags: list[tuple[str, str, str]], f: Filters) -> str:
    integrations = sorted({i for i, _, _ in dags} | ({f.integration} - {""}))
    flows = sorted(
        {fl for i, fl, _ in dags if not f.integration or i == f.integration} | ({f.flow} - {""})
    )
    statuses = _options(STATUSES, f.status, "any status")
    checked = " checked" if f.quarantined else ""
    return (
        '<form method="get" action="./" aria-label="filters">'
        f'<label>Integration<select name="integration">'
        f"{_options(integrations, f.integration, 'all integrations')}</select></label>"
        f'<label>Flow<select name="flow">{_options(flows, f.flow, "all flows")}</select></label>'
        f'<label>Status<select name="status">{statuses}</select></label>'
        f'<label>Finished since<input type="date" name="since" value="{_e(f.since_text[:10])}">'
        "</label>"
        f'<label class="check"><input type="checkbox" name="quarantined" value="true"{checked}>'
        "Quarantined only</label>"
        '<button type="submit">Apply</button> <a href="./">Reset</a></form>'
    )


def _run_id(r: RunActivity) -> str:
    """The run's id as text, not a link: the UI's iframe is sandboxed (``allow-forms``
    only), so a link could neither leave it (``_top``) nor open a tab; inside it, it would
    nest a second UI. The id finds the run under Dags → the DAG → Runs."""
    return f'<code title="DAG {_e(r.dag_id)}">{_e(r.run_id)}</code>'


def _other_counts(r: RunActivity) -> str:
    folded = {f"{r.kind}_{c}" for c in COLUMNS}
    rest = {
        k: v
        for k, v in sorted(r.counts.items())
        if v
        and k not in folded
        and not k.startswith(f"{r.kind}_skipped_")
        and k not in (f"{r.kind}_unchanged", f"{r.kind}_written")
    }
    skipped = {
        k: v
        for k, v in sorted(r.counts.items())
        if v and (k.startswith(f"{r.kind}_skipped_") or k == f"{r.kind}_unchanged")
    }
    parts = [f"{_e(k)} {v}" for k, v in {**skipped, **rest}.items()]
    if not parts:
        return ""
    return f"<details><summary>all counts</summary>{' · '.join(parts)}</details>"


def _run_rows(r: RunActivity) -> str:
    if r.window_start:
        window = f"{_when(r.window_start)} → {_when(r.window_end)}"
    elif "webhook_records" in r.counts:  # an inbox run: what the webhooks delivered
        window = f'<span class="muted">{r.counts["webhook_records"]} webhook deliveries</span>'
    else:
        window = '<span class="muted">—</span>'
    cells = "".join(
        f'<td class="n{" q-bad" if c == "quarantined" and r.quarantined else ""}" '
        f'data-col="{c}">{getattr(r, c)}</td>'
        for c in COLUMNS
    )
    main = (
        f'<tr class="run" data-run-id="{_e(r.run_id)}" data-integration="{_e(r.integration)}"'
        f' data-flow="{_e(r.flow)}">'
        f'<td class="when">{_when(r.finished_at)}</td><td>{_e(r.integration)}</td>'
        f"<td>{_e(r.flow)}</td><td>{_run_id(r)}{_other_counts(r)}</td>"
        f'<td class="when">{window}</td>{cells}'
        f'<td class="status-{_e(r.status)}">{_e(r.status)}</td></tr>'
    )
    if not r.quarantined_records:
        return main
    more = r.quarantined - len(r.quarantined_records)
    items = "".join(
        f'<tr class="q-entry"><td>{_e(q["entity"])}</td><td><code>{_e(q["source_id"])}</code>'
        f"</td><td><code>{_e(q['field'])}</code></td><td>{_e(q['reason'])}</td></tr>"
        for q in r.quarantined_records
    )
    if more > 0:
        items += f'<tr><td colspan="4" class="muted">… and {more} more</td></tr>'
    return (
        main + f'<tr class="quarantine" data-run-id="{_e(r.run_id)}"><td></td>'
        f'<td colspan="{5 + len(COLUMNS)}"><table class="q"><thead><tr><th>Entity</th>'
        "<th>Source id</th><th>Field</th><th>Reason</th></tr></thead>"
        f"<tbody>{items}</tbody></table></td></tr>"
    )


def render_page(rows: list[RunActivity], dags: list[tuple[str, str, str]], filters: Filters) -> str:
    """The whole page: filter form and runs table (every value escaped)."""
    head = "".join(f'<th class="n">{c.capitalize()}</th>' for c in COLUMNS)
    body = "".join(_run_rows(r) for r in rows) or (
        f'<tr><td colspan="{6 + len(COLUMNS)}" class="muted">No runs match these filters.</td></tr>'
    )
    query = urlencode({k: v for k, v in filters.as_dict().items() if v})
    json_link = "api/runs" + (f"?{query}" if query else "")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>shopbridge activity</title>"
        f'<meta name="viewport" content="width=device-width"><style>{_CSS}</style></head>'
        "<body><h1>Activity</h1>"
        '<p class="muted">What each flow run read from the source, wrote to the target and '
        "set aside, and why. Record ids only; no personal data. "
        f'<a href="{_e(json_link)}">JSON</a></p>'
        f"{_filter_form(dags, filters)}"
        '<table class="runs"><thead><tr><th>Finished</th><th>Integration</th><th>Flow</th>'
        f"<th>Run</th><th>Window</th>{head}<th>Status</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
        f'<p class="muted">{len(rows)} run(s) shown, newest first'
        f"{f' (at most {PAGE_SIZE})' if len(rows) >= PAGE_SIZE else ''}.</p>"
        "</body></html>"
    )


__all__ = ["DagFilter", "Filters", "create_activity_app", "render_page"]
