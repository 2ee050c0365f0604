"""Callbacks of the Diagnostic page (admins only)."""

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from components.admin import error, message, shown, table
from components.alarms import notice_alerts
from data.admin import acl, diagnostics
from data.admin.diagnostics import human_bytes
from data.alerting import unnotified
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from jobs.scheduler import scheduled_jobs
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/diagnostic"))


def _seconds(value) -> str:
    return "–" if value is None else f"{float(value):.2f} s"


def _database():
    info = diagnostics.database()
    partitions = [{**p, "size": human_bytes(p["bytes"]), "fate": _fate(p)} for p in info["partitions"]]
    tables = [{**t, "size": human_bytes(t["bytes"])} for t in info["tables"]]
    return html.Div(
        [
            html.P(
                [
                    html.Strong(_("PostgreSQL ")),
                    info["version"],
                    f" · database {info['name']} · ",
                    html.Strong(human_bytes(info["bytes"]), id="diagnostic-db-size"),
                    f" · {info['connections']} of {info['max_connections']} connections",
                ],
                className="small",
            ),
            _replicas(info["replicas"]),
            html.Details(
                [
                    html.Summary(f"{len(partitions)} cdr partitions", className="small"),
                    html.P(_retention_line(info), className="small", id="diagnostic-retention"),
                    table(
                        partitions,
                        [
                            ("name", _("Partition")),
                            ("month", _("Month")),
                            ("estimated_rows", _("Rows (estimate)")),
                            ("size", _("Size")),
                            ("fate", _("Fate")),
                        ],
                    ),
                ]
            ),
            html.Details(
                [
                    html.Summary(_("Largest tables"), className="small"),
                    table(
                        tables, [("name", _("Table")), ("estimated_rows", _("Rows (estimate)")), ("size", _("Size"))]
                    ),
                ]
            ),
        ]
    )


def _fate(p: dict) -> str:
    if p["fate"] == "kept":
        return _("kept until %(day)s", day=p["until"]) if p["until"] else _("kept (CDR_RETENTION_MONTHS=0: for ever)")
    if p["fate"] == "archived":
        return _("archived %(day)s and dropped (import-cdr puts it back)", day=f"{p['archived_at']:%Y-%m-%d}")
    if p["fate"] == "detached":
        return _("detached by an interrupted run: archived and dropped at the next run")
    return _("expired: archived and dropped at the next run")


def _retention_line(info) -> str:
    kept, run = info["retention"], info["next_retention_run"]
    when = f"{run:%Y-%m-%d %H:%M} UTC" if run else _("at the scheduler's first daily tick")
    return _(
        "Retention: calls kept %(calls)s months, hour and day rollups %(rollups)s months (0: for ever); "
        "archives in %(folder)s. Next run: %(when)s.",
        calls=kept.cdr_months,
        rollups=kept.rollup_months,
        folder=kept.archive_dir,
        when=when,
    )


def _replicas(replicas: list[dict]):
    if not replicas:
        return html.P(_("No read replica (READ_DATABASE_URL): reports read the primary."), className="small")
    rows = [
        {
            **r,
            "state": _("up") if r["up"] else _("DOWN: reads go to the primary"),
            "lag": "–"
            if r["lag_seconds"] is None
            else _("%(seconds)s s since the last replayed commit", seconds=f"{r['lag_seconds']:.1f}"),
            "error": r["error"] or "",
        }
        for r in replicas
    ]
    columns = [("url", _("Replica")), ("state", _("State")), ("lag", _("Replay")), ("error", _("Last error"))]
    return html.Div(
        [
            html.P(
                _("Read replicas: a replica down sends its reads to the primary."),
                className="small " + ("text-danger" if not all(r["up"] for r in replicas) else ""),
            ),
            table(rows, columns),
        ],
        id="diagnostic-replicas",
    )


def _calls():
    rows = diagnostics.calls_per_day_and_switch()
    switches = sorted({r["switch"] for r in rows})
    days = sorted({r["day"] for r in rows}, reverse=True)
    grid = {(r["day"], r["switch"]): r["calls"] for r in rows}
    wide = [
        {
            "day": d.isoformat(),
            **{s: f"{grid.get((d, s), 0):,}" for s in switches},
            "total": f"{sum(grid.get((d, s), 0) for s in switches):,}",
        }
        for d in days
    ]
    return table(
        wide,
        [("day", _("Day")), *((s, s) for s in switches), ("total", _("Total"))],
        _("No call in 14 days."),
        table_id="diagnostic-calls-table",
    )


def _imports():
    info = diagnostics.imports()
    backlog = "–" if info["backlog"] is None else f"{info['backlog']:,}"
    return html.Div(
        [
            html.P(
                [
                    html.Strong(_("cdr_import backlog: ")),
                    html.Span(backlog, id="diagnostic-backlog"),
                    _(" rows not imported yet")
                    + (f" (oldest {shown(info.get('oldest_pending'))})" if info.get("oldest_pending") else ""),
                ],
                className="small",
            ),
            table(
                info["last_per_source"],
                [
                    ("source", _("Source")),
                    ("started_at", _("Last import")),
                    ("status", _("Status")),
                    ("rows_read", _("Read")),
                    ("accepted", _("Stored")),
                    ("duplicates", _("Duplicates")),
                    ("rejected", _("Rejected")),
                    ("error", _("Error")),
                ],
                _("No import yet."),
            ),
            table(
                info["collectors"],
                [
                    ("source_key", _("Collector")),
                    ("last_run_at", _("Last run")),
                    ("rows_read", _("Rows read")),
                    ("last_error", _("Last error")),
                ],
                _("No collector."),
            ),
        ]
    )


def _rollups():
    lag = diagnostics.rollup_lag()
    state = (
        _("no call yet")
        if lag["newest_call"] is None
        else _("the rollups are missing: run refresh-rollups")
        if lag["missing"]
        else _("up to date")
        if (lag["lag_seconds"] or 0) == 0
        else f"{lag['lag_seconds']:.0f} s behind"
    )
    return html.Div(
        [
            html.P([html.Strong(_("Rollups: ")), html.Span(state, id="diagnostic-rollup-state")], className="small"),
            table(
                [
                    {"what": _("Newest call"), "when": lag["newest_call"]},
                    {"what": _("Newest minute bucket"), "when": lag["newest_minute"]},
                    {"what": _("Newest 15-minute bucket"), "when": lag["newest_hour"]},
                ],
                [("what", ""), ("when", _("UTC"))],
            ),
        ]
    )


def _jobs():
    rows = []
    for job in diagnostics.jobs(scheduled_jobs()):
        rows.append(
            {
                **job,
                "every": f"{job['period_seconds']} s",
                "avg": _seconds(job["avg_seconds"]),
                "max": _seconds(job["max_seconds"]),
            }
        )
    return table(
        rows,
        [
            ("job", _("Job")),
            ("every", _("Every")),
            ("last_run", _("Last run")),
            ("last_status", _("Status")),
            ("runs_24h", _("Runs 24 h")),
            ("failed_24h", _("Failed 24 h")),
            ("avg", _("Avg")),
            ("max", _("Max")),
            ("last_error", _("Last failure")),
        ],
        table_id="diagnostic-jobs-table",
    )


def _mail():
    info = diagnostics.mail_configuration()
    settings = [{"name": k, "value": v} for k, v in info["settings"].items()]
    outbox = info["outbox"] or {}
    return html.Div(
        [
            table(settings, [("name", _("Setting")), ("value", _("Value"))]),
            html.P(
                f"Outbox: {outbox.get('unsent', '–')} unsent ({outbox.get('retrying', '–')} retrying), "
                f"{outbox.get('sent_24h', '–')} sent in 24 h.",
                className="small mb-0",
            )
            if outbox
            else None,
        ]
    )


def _disk():
    rows = [
        {
            **d,
            "free_h": human_bytes(d["free"]),
            "total_h": human_bytes(d["total"]),
            "pct": f"{d['free_ratio'] * 100:.0f} %" if d["free_ratio"] is not None else "–",
        }
        for d in diagnostics.disk()
    ]
    return table(
        rows,
        [
            ("place", _("Where")),
            ("path", _("Path")),
            ("free_h", _("Free")),
            ("pct", _("Free %")),
            ("total_h", _("Size")),
        ],
    )


def _causes():
    rows = diagnostics.unknown_causes()
    if not rows:
        return html.P(
            _("Every stored cause is a Q.850 or FreeSWITCH cause."),
            className="small mb-0",
            id="diagnostic-no-unknown-cause",
        )
    return html.Div(
        [
            html.P(
                _("Stored as they came, shown as below, counted in NER as failures."),
                className="small text-body-secondary",
            ),
            table(
                rows,
                [
                    ("code", _("Code")),
                    ("name", _("Shown as")),
                    ("calls", _("Calls")),
                    ("first_seen", _("First (UTC)")),
                    ("last_seen", _("Last (UTC)")),
                ],
            ),
        ],
        id="diagnostic-unknown-causes",
    )


@callback(
    Output("diagnostic-database", "children"),
    Output("diagnostic-calls", "children"),
    Output("diagnostic-imports", "children"),
    Output("diagnostic-rollups", "children"),
    Output("diagnostic-jobs", "children"),
    Output("diagnostic-mail", "children"),
    Output("diagnostic-disk", "children"),
    Output("diagnostic-causes", "children"),
    Output("diagnostic-notices", "children"),
    Input("diagnostic-refresh", "n_clicks"),
)
def refresh_diagnostic(_clicks):
    return _database(), _calls(), _imports(), _rollups(), _jobs(), _mail(), _disk(), _causes(), _notices()


def _notices():
    """Rules that would notify nobody and firings of the last 7 days that notified nobody (data.alerting.unnotified)."""
    scope = current_scope()
    shown = notice_alerts(unnotified.rule_warnings(scope), unnotified.unnotified(scope), scope.timezone)
    ok = _("Every alarm and alert reaches someone.")
    return shown or html.P(ok, className="small mb-0", id="diagnostic-notices-ok")


@callback(
    Output("diagnostic-mail-result", "children"),
    Input("diagnostic-mail-send", "n_clicks"),
    State("diagnostic-mail-to", "value"),
    prevent_initial_call=True,
)
def send_test_mail(_clicks, recipient):
    try:
        row = diagnostics.send_test_mail(recipient or "")
    except ValueError as exc:
        return error(exc)
    if row["sent_at"]:
        return message(f"Sent: the server answered {row['smtp_reply'] or 'OK'}.", "success", "diagnostic-mail-ok")
    return message(
        [
            f"Not sent yet ({row['last_error'] or 'queued'}); the outbox will retry. ",
            dbc.Badge(f"outbox #{row['id']}", color="secondary"),
        ],
        "warning",
        "diagnostic-mail-failed",
    )
