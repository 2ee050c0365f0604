"""Components of the alarm, alarm report, threat control and destination alert pages (pure functions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.inputs import whole_number
from components.tables import header_table
from data.alerting.alarms import COMPARE_TO, CONDITIONS, METRICS, PERIODS, SCOPES, SEVERITY_LABELS
from data.core.i18n import N_, current_language, number
from data.core.i18n import gettext as _


def options(mapping: dict) -> list[dict]:
    """Dropdown options from a mapping of labels (or metrics), in the current language."""
    return [
        {"label": _(label if isinstance(label, str) else label.label), "value": key} for key, label in mapping.items()
    ]


def field(label: str, control, width: int | str = 3, help_text: str | None = None, **col) -> dbc.Col:
    parts = [dbc.Label(label, html_for=getattr(control, "id", None), className="small mb-1"), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return dbc.Col(parts, md=width, className="mb-2", **col)


def alarm_form(is_admin: bool, cause_options: list[dict]) -> dbc.Card:
    """The add/edit form; the webhook choice is rendered for everyone (hidden for customers)."""
    return dbc.Card(
        [
            dbc.CardHeader(html.Span(_("New alarm"), id="alarm-form-title")),
            dbc.CardBody(
                [
                    dcc.Store(id="alarm-edit-id"),
                    dbc.Row(
                        [
                            field(_("Name"), dbc.Input(id="alarm-name", placeholder=_("ASR drop on Spain"))),
                            field(
                                _("Metric"),
                                dcc.Dropdown(id="alarm-metric", options=options(METRICS), value="asr", clearable=False),
                            ),
                            field(
                                _("Hangup cause"),
                                dcc.Dropdown(id="alarm-cause", options=cause_options, value=None),
                                id="alarm-cause-col",
                                style={"display": "none"},
                            ),
                            field(
                                _("Scope"),
                                dcc.Dropdown(
                                    id="alarm-scope-kind", options=options(SCOPES), value="all", clearable=False
                                ),
                            ),
                            field(
                                _("Scope value"),
                                html.Div(
                                    [
                                        dbc.Input(
                                            id="alarm-scope-value",
                                            list="alarm-scope-options",
                                            placeholder="—",
                                            disabled=True,
                                        ),
                                        html.Datalist(id="alarm-scope-options"),
                                    ]
                                ),
                                help_text=None,
                                id="alarm-scope-value-col",
                            ),
                        ]
                    ),
                    dbc.Row(
                        [
                            field(
                                _("Period"),
                                dcc.Dropdown(
                                    id="alarm-period", options=options(PERIODS), value="hour", clearable=False
                                ),
                                2,
                            ),
                            field(
                                _("Condition"),
                                dcc.Dropdown(
                                    id="alarm-condition", options=options(CONDITIONS), value="lt", clearable=False
                                ),
                                3,
                            ),
                            field(
                                _("Threshold"),
                                dbc.Input(id="alarm-threshold", type="number", step="any"),
                                2,
                                help_text=_("ASR, NER, short calls, cause share in %; ACD, PDD in s"),
                            ),
                            field(
                                _("Compare with"),
                                dcc.Dropdown(
                                    id="alarm-compare", options=options(COMPARE_TO), value="previous", clearable=False
                                ),
                                3,
                            ),
                            field(
                                _("Minimum attempts"),
                                whole_number("alarm-min-attempts", 10),
                                2,
                                help_text=_("below this, the alarm does not fire"),
                            ),
                        ]
                    ),
                    dbc.Row(
                        [
                            field(
                                _("Severity"),
                                dbc.RadioItems(
                                    id="alarm-severity",
                                    inline=True,
                                    value="warning",
                                    options=[
                                        {"label": _("Warning"), "value": "warning"},
                                        {"label": _("Critical"), "value": "critical"},
                                    ],
                                ),
                                2,
                            ),
                            field(_("Status"), dbc.Switch(id="alarm-active", label=_("Active"), value=True), 2),
                            field(
                                _("Dry run"),
                                dbc.Switch(id="alarm-dry-run", label=_("Record only, never notify"), value=False),
                                2,
                            ),
                            field(
                                _("E-mail to"),
                                dbc.Input(id="alarm-email", placeholder="noc@example.com, …"),
                                3,
                                help_text=_("empty: your own address"),
                            ),
                            field(
                                _("Webhook"),
                                dcc.Dropdown(id="alarm-webhook", placeholder=_("none")),
                                3,
                                style=None if is_admin else {"display": "none"},
                            ),
                        ]
                    ),
                    dbc.Row([field(_("Description"), dbc.Textarea(id="alarm-description", rows=1), 12)]),
                    dbc.Row(
                        [
                            dbc.Col(dbc.Button(_("Save"), id="alarm-save", color="primary"), width="auto"),
                            dbc.Col(
                                dbc.Button(_("New"), id="alarm-new", color="secondary", outline=True), width="auto"
                            ),
                            dbc.Col(
                                dbc.InputGroup(
                                    [
                                        dbc.Button(_("Test alarm"), id="alarm-test", color="info", outline=True),
                                        whole_number("alarm-test-days", 7, 1, 31, style={"maxWidth": "6rem"}),
                                        dbc.InputGroupText(_("days")),
                                    ],
                                    size="md",
                                ),
                                width="auto",
                            ),
                        ],
                        className="g-2 align-items-center",
                    ),
                    html.Div(id="alarm-feedback", className="mt-3"),
                    dcc.Loading(html.Div(id="alarm-test-results", className="mt-2")),
                ]
            ),
        ],
        className="mb-3",
    )


def _fmt(value, digits: int = 2) -> str:
    """A number the locale's way, without decimals when it is whole."""
    if value is None:
        return "–"
    value = Decimal(value)
    return number(value, current_language(), 0 if value == value.to_integral_value() else digits)


def local(instant: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "–" if instant is None else instant.astimezone(ZoneInfo(tz)).strftime(fmt)


def severity_badge(severity: str, dry_run: bool = False):
    shown = _(SEVERITY_LABELS.get(severity, severity))
    badges = [dbc.Badge(shown, color="danger" if severity == "critical" else "warning", className="me-1")]
    if dry_run:
        badges.append(dbc.Badge(_("dry run"), color="secondary"))
    return badges


def alarm_list(rows: list[dict], viewer_tz: str, show_owner: bool):
    body = []
    for r in rows:
        last = _("never evaluated")
        if r.get("last_period_end"):
            at = local(r["last_period_end"], r["timezone"])
            last = _("fired at %(at)s", at=at) if r["last_fired"] else _("ok at %(at)s", at=at)
        body.append(
            html.Tr(
                [
                    html.Td(r["name"]),
                    html.Td(r["rule"], className="small"),
                    *([html.Td(r["owner"])] if show_owner else []),
                    html.Td(severity_badge(r["severity"], r["dry_run"])),
                    html.Td(
                        dbc.Switch(
                            id={"type": "alarm-toggle", "id": r["id"]},
                            value=r["status"] == "active",
                            label=_(STATUSES.get(r["status"], r["status"])),
                            className="mb-0",
                        )
                    ),
                    html.Td(last, className="small"),
                    html.Td(
                        [
                            dbc.Button(_("Edit"), id={"type": "alarm-edit", "id": r["id"]}, size="sm", color="link"),
                            dbc.Button(
                                _("Delete"),
                                id={"type": "alarm-delete", "id": r["id"]},
                                size="sm",
                                color="link",
                                className="text-danger",
                            ),
                        ]
                    ),
                ],
                id=f"alarm-row-{r['id']}",
            )
        )
    head = [_("Name"), _("Rule"), *([_("Owner")] if show_owner else []), _("Severity"), _("Status"), _("Last period")]
    head.append("")
    return header_table(head, body, _("No alarm yet."), id="alarm-list-table")


def test_results(alarm, evaluations: list) -> html.Div:
    fired = [e for e in evaluations if e.fired]
    skipped = sum(1 for e in evaluations if not e.computable)
    replayed = _(
        "Replayed %(periods)s period(s) of %(rule)s: it would have fired %(fired)s time(s)",
        periods=len(evaluations),
        rule=alarm.describe(),
        fired=len(fired),
    )
    summary = dbc.Alert(
        replayed
        + (
            _("; %(skipped)s period(s) not computable (too few attempts or no value).", skipped=skipped)
            if skipped
            else "."
        ),
        color="warning" if fired else "success",
        id="alarm-test-summary",
        className="mb-2",
    )
    rows = [
        html.Tr(
            [
                html.Td(local(e.period_start, alarm.timezone)),
                html.Td(local(e.period_end, alarm.timezone)),
                html.Td(_fmt(e.measured)),
                html.Td(_fmt(e.comparison)),
                html.Td(e.attempts),
                html.Td(e.reason, className="small"),
            ]
        )
        for e in fired[:500]
    ]
    table = header_table(
        [_("From (%(zone)s)", zone=alarm.timezone), _("To"), _("Measured"), _("Earlier"), _("Attempts"), _("Why")],
        rows,
        _("It would not have fired."),
        id="alarm-test-table",
    )
    return html.Div([summary, table])


def report_table(rows: list[dict], show_ack: bool = True):
    body = []
    for r in rows:
        ack = (
            f"{r['acknowledged_by'] or ''} {local(r['acknowledged_at'], r['timezone'])}"
            if r["acknowledged_at"]
            else dbc.Button(
                _("Acknowledge"), id={"type": "alarm-ack", "id": r["id"]}, size="sm", color="primary", outline=True
            )
            if show_ack
            else ""
        )
        body.append(
            html.Tr(
                [
                    html.Td(local(r["period_start"], r["timezone"])),
                    html.Td(local(r["period_end"], r["timezone"])),
                    html.Td(
                        [
                            r["alarm"],
                            html.Span(" " + _("(deleted)"), className="text-body-secondary")
                            if r["alarm_deleted"]
                            else "",
                        ]
                    ),
                    html.Td(severity_badge(r["severity"], r["dry_run"])),
                    html.Td(_fmt(r["measured"]), className="fw-semibold"),
                    html.Td(_fmt(r["comparison"])),
                    html.Td(_fmt(r["threshold"])),
                    html.Td(r["attempts"]),
                    html.Td([r["reason"], html.Div(r["rule"], className="text-body-secondary")], className="small"),
                    html.Td(
                        _("cleared %(at)s", at=local(r["cleared_at"], r["timezone"]))
                        if r["cleared_at"]
                        else _("firing")
                        if r["event"]
                        else "",
                        className="small",
                    ),
                    html.Td(ack, className="small"),
                ],
                id=f"alarm-report-row-{r['id']}",
            )
        )
    head = [
        _("Period from"),
        _("to (owner's zone)"),
        _("Alarm"),
        _("Severity"),
        _("Measured"),
        _("Earlier period"),
        _("Threshold"),
        _("Attempts"),
        _("Why"),
        _("State"),
        _("Acknowledged"),
    ]
    return header_table(head, body, _("No alarm fired in this range."), id="alarm-report-table")


def money(value) -> str:
    return _fmt(value, 2)


def at_risk_cell(threat: dict):
    """The cost at risk; "unrated" when the threat's answered calls have no price (the cost is unknown)."""
    unrated = threat.get("unrated_calls") or 0
    if not unrated:
        return money(threat["cost_at_risk"])
    if not threat["cost_at_risk"]:
        title = _("%(count)s answered call(s) without a price", count=unrated)
        return dbc.Badge(_("unrated"), color="secondary", title=title)
    more = html.Div(_("+ %(count)s unrated", count=unrated), className="small text-body-secondary")
    return [money(threat["cost_at_risk"]), more]


def threats_table(rows: list[dict], kinds: dict):
    body = [
        html.Tr(
            [
                html.Td(i + 1),
                html.Td(dbc.Badge(kinds[t["kind"]], color="danger" if i < 3 else "warning")),
                html.Td([html.Div(t["title"], className="fw-semibold"), html.Div(t["detail"], className="small")]),
                html.Td(t["calls"]),
                html.Td(_fmt(t["minutes"], 1)),
                html.Td(money(t["cost"])),
                html.Td(at_risk_cell(t), className="fw-semibold"),
                html.Td(dcc.Link(_("Calls →"), href=t["link"])),
            ]
        )
        for i, t in enumerate(rows)
    ]
    return header_table(
        ["#", _("Kind"), _("Threat"), _("Calls"), _("Minutes"), _("Cost"), _("Cost at risk"), ""],  # rank_key order
        body,
        _("No threat right now."),
        id="threats-table",
    )


def simple_rows(
    rows: list[dict],
    columns: list[tuple[str, str]],
    empty: str,
    delete_type: str | None = None,
    key: str = "id",
    table_id: str | None = None,
):
    body = []
    for r in rows:
        cells = [html.Td("–" if r.get(c) in (None, "") else r.get(c)) for c, _title in columns]
        if delete_type:
            cells.append(
                html.Td(
                    dbc.Button(
                        _("Delete"),
                        id={"type": delete_type, "id": str(r[key])},
                        size="sm",
                        color="link",
                        className="text-danger",
                    )
                )
            )
        body.append(html.Tr(cells))
    return header_table(
        [title for _key, title in columns] + ([""] if delete_type else []),
        body,
        empty,
        **({"id": table_id} if table_id else {}),
    )


STATUSES = {"active": N_("active"), "inactive": N_("inactive")}
NOTICE_KINDS = {"alarm": N_("Alarm"), "blacklist": N_("Blacklist hit"), "threat": N_("Threat")}


def notice_alerts(warnings: list[str], unnotified_rows: list[dict], tz: str) -> list:
    """Rules that would notify nobody, and what fired in the last days without notifying anyone."""
    shown = [dbc.Alert(w, color="warning", className="mb-2 py-2 small") for w in warnings]
    if unnotified_rows:
        body = [
            html.Tr(
                [
                    html.Td(local(r["at"], tz)),
                    html.Td(_(NOTICE_KINDS[r["kind"]])),
                    html.Td(r["name"]),
                    html.Td(r["detail"], className="small"),
                ]
            )
            for r in unnotified_rows[:50]
        ]
        headers = [_("When"), _("What"), _("Name"), _("Detail")]
        shown.append(
            dbc.Alert(
                [
                    html.Strong(
                        _("Fired in the last 7 days and notified nobody: %(count)s", count=len(unnotified_rows))
                    ),
                    header_table(headers, body, "", className="mb-0 mt-2"),
                ],
                color="danger",
                id="alarm-unnotified",
                className="mb-2",
            )
        )
    return shown
