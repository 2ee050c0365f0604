"""Mail report page and admin outbox: thin callbacks over data.mail.reports and data.core.mailer.

Whose report and settings: always the logged-in user (``current_user``), never an id from the browser.
"""

from datetime import timezone

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html
from flask_login import current_user

from components.tables import simple_table
from data.admin import acl
from data.core import mailer
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.settings import load_settings
from data.mail.reports import KINDS, build_report, report_user, save_mail_settings, send_report_now
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/mail-report"))
outbox_callback = callbacks_for(acl.page("/admin/outbox"))

OUTBOX_COLUMNS = [
    ("id", N_("Id")),
    ("created", N_("Queued")),
    ("status", N_("Status")),
    ("attempts", N_("Attempts")),
    ("recipients", N_("To")),
    ("subject", N_("Subject")),
    ("when", N_("Sent / next attempt")),
    ("answer", N_("Server answer / last error")),
]


def _kind(value) -> str:
    return value if value in KINDS else "daily"


@callback(
    Output("mail-report-save-status", "children"),
    Input("mail-report-save", "n_clicks"),
    [State("mail-report-emails", "value"), State("mail-report-kinds", "value")],
    prevent_initial_call=True,
)
def save_mail_report_settings(_clicks, emails, kinds):
    valid, invalid = mailer.parse_addresses(emails or "")
    try:
        stored = save_mail_settings(current_user.id, valid + invalid, [k for k in kinds or () if k in KINDS])
    except ValueError as exc:
        return dbc.Alert(str(exc), color="danger", className="py-2 small")
    addresses = ", ".join(stored) or _("no extra address")
    return dbc.Alert(f"Saved: {addresses}.", color="success", className="py-2 small")


@callback(
    [Output("mail-report-preview", "srcDoc"), Output("mail-report-preview-subject", "children")],
    Input("mail-report-preview-kind", "value"),
)
def preview_mail_report(kind):
    user = report_user(current_user.id)
    report = build_report(user, _kind(kind))
    prefix = load_settings().mail.get("MAIL_SUBJECT_PREFIX") or ""
    to = ", ".join(user.recipients) or _("nobody yet: add an address")
    return report.preview_html(), f"Subject: {prefix}{report.subject} · To: {to} · Attached: {report.csv_name}"


@callback(
    Output("mail-report-send-status", "children"),
    Input("mail-report-send", "n_clicks"),
    State("mail-report-preview-kind", "value"),
    prevent_initial_call=True,
)
def send_mail_report_now(_clicks, kind):
    user = report_user(current_user.id)
    if not user.recipients:
        return dbc.Alert(
            _("There is no address to send it to: add one under Emails to send a report."),
            color="warning",
            className="py-2 small",
        )
    result = send_report_now(user, _kind(kind))
    if result["id"] is None:
        return dbc.Alert(
            _("This report was sent less than a minute ago; try again in a minute."),
            color="info",
            className="py-2 small",
        )
    state = result["state"] or {}
    to = ", ".join(result["recipients"])
    if state.get("sent_at"):
        return dbc.Alert(f"Sent to {to}.", color="success", className="py-2 small")
    return dbc.Alert(
        f"Queued for {to}; the mail server did not take it yet ({state.get('last_error')}). "
        "It is retried automatically.",
        color="warning",
        className="py-2 small",
    )


def _outbox_rows() -> list[dict]:
    rows = []
    for r in mailer.outbox():
        when = r["sent_at"] or r["next_attempt_at"]
        when = when.astimezone(timezone.utc) if when else None
        rows.append(
            {
                "id": r["id"],
                "created": f"{r['created_at'].astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}",
                "status": r["status"],
                "attempts": r["attempts"],
                "recipients": r["recipients"],
                "subject": r["subject"],
                "when": f"{when:%Y-%m-%d %H:%M:%S}" if when else None,
                "answer": r["last_error"] if r["last_error"] else r["smtp_reply"],
            }
        )
    return rows


@outbox_callback(
    [Output("mail-outbox-table", "children"), Output("mail-outbox-status", "children")],
    Input("mail-outbox-refresh", "n_clicks"),
    Input("mail-outbox-retry", "n_clicks"),
    Input("mail-outbox-interval", "n_intervals"),
)
def refresh_outbox(_refresh, _retry, _tick):
    note = None
    if ctx.triggered_id == "mail-outbox-retry":
        due = mailer.retry_now()
        result = mailer.send_pending()
        note = f"{due} unsent made due; {result['sent']} sent, {result['failed']} failed."
    counts = mailer.outbox_counts()
    summary = (
        f"{counts['unsent']} unsent ({counts['retrying']} being retried), {counts['sent_24h']} sent in the "
        "last 24 hours. Times in UTC."
    )
    status = html.Div([html.Div(summary, className="small"), note and html.Div(note, className="small fw-bold")])
    return simple_table(_outbox_rows(), OUTBOX_COLUMNS, empty=_("The outbox is empty.")), status
