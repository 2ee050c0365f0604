"""Mail report: the logged-in user's report recipients and schedules, a preview of the report exactly as
mailed, and "send now". Admins also get the outbox page (/admin/outbox)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_login import current_user

from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.mail.reports import KINDS, report_user, schedules_of

dash.register_page(__name__, path="/mail-report", name=N_("Mail report"), order=70, access=acl.PAGE)

KIND_OPTIONS = [{"label": f"{kind.capitalize()} report", "value": kind} for kind in KINDS]


def settings_card(user, schedules: dict[str, bool]) -> dbc.Card:
    own = user.email or _("no address on your account")
    return dbc.Card(
        dbc.CardBody(
            [
                html.H5(_("Recipients and schedules"), className="card-title"),
                html.P(
                    [
                        _("Reports go to your own address ("),
                        html.Strong(own, id="mail-report-own-address"),
                        _(") and to the addresses below."),
                    ],
                    className="small mb-2",
                ),
                dbc.Label(_("Emails to send a report"), html_for="mail-report-emails", className="small"),
                dbc.Textarea(
                    id="mail-report-emails",
                    value="\n".join(user.report_emails),
                    rows=3,
                    placeholder=_("one address per line"),
                    className="mb-2",
                    maxLength=5000,
                ),
                dbc.Label(_("Reports to receive"), className="small"),
                dbc.Checklist(
                    id="mail-report-kinds",
                    options=KIND_OPTIONS,
                    value=[kind for kind, on in schedules.items() if on],
                    inline=True,
                    className="mb-2",
                ),
                html.P(
                    _(
                        "Each report covers the last closed day, ISO week (Monday–Sunday) or month in your time "
                        "zone (%(zone)s) and is sent after 06:00.",
                        zone=user.timezone,
                    ),
                    className="small text-body-secondary",
                ),
                dbc.Button(_("Save"), id="mail-report-save", color="primary", size="sm"),
                html.Div(id="mail-report-save-status", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def preview_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(html.H5(_("Preview"), className="card-title mb-0"), width="auto"),
                        dbc.Col(
                            dbc.RadioItems(
                                id="mail-report-preview-kind", options=KIND_OPTIONS, value="daily", inline=True
                            ),
                            width="auto",
                        ),
                        dbc.Col(
                            dbc.Button(
                                _("Send now"), id="mail-report-send", color="secondary", size="sm", outline=True
                            ),
                            width="auto",
                        ),
                    ],
                    className="g-3 align-items-center mb-2",
                ),
                html.Div(id="mail-report-send-status"),
                html.P(id="mail-report-preview-subject", className="small text-body-secondary mb-1"),
                dcc.Loading(
                    html.Iframe(
                        id="mail-report-preview",
                        title=_("The report as mailed"),
                        style={
                            "width": "100%",
                            "height": "1400px",
                            "border": "1px solid #dee2e6",
                            "background": "#fff",
                        },
                    )
                ),
            ]
        )
    )


def layout(**_query):
    user = report_user(current_user.id)
    return page_layout(
        _("Mail report"),
        dbc.Row(
            [
                dbc.Col(settings_card(user, schedules_of(user.id)), lg=4),
                dbc.Col(preview_card(), lg=8),
            ]
        ),
    )


def outbox_layout(**_query):
    return page_layout(
        _("Mail outbox"),
        html.P(
            _(
                "Every message Dialstat sends is kept here until the SMTP server has taken it; failed attempts are "
                "retried with a growing delay (at most an hour)."
            ),
            className="small text-body-secondary",
        ),
        dbc.ButtonGroup(
            [
                dbc.Button(_("Refresh"), id="mail-outbox-refresh", color="secondary", size="sm", outline=True),
                dbc.Button(_("Retry unsent now"), id="mail-outbox-retry", color="primary", size="sm"),
            ],
            className="mb-2",
        ),
        html.Div(id="mail-outbox-status", className="mb-2"),
        dcc.Loading(html.Div(id="mail-outbox-table")),
        dcc.Interval(id="mail-outbox-interval", interval=60_000),
    )


dash.register_page(
    "pages.mail_outbox", path="/admin/outbox", name=N_("Outbox"), order=95, access=acl.ADMIN, layout=outbox_layout
)
