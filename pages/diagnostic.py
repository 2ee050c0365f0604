"""Diagnostic (admins): database, calls per day and switch, imports, rollup lag, jobs, mail, disk space,
unknown hangup causes, alarms and alerts that notify nobody."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/admin/diagnostic", name=N_("Diagnostic"), order=105, access=acl.ADMIN)

SECTIONS = [
    ("database", N_("Database")),
    ("calls", N_("Calls per day and switch (UTC, last 14 days)")),
    ("imports", N_("Imports")),
    ("rollups", N_("Rollups")),
    ("jobs", N_("Scheduled jobs")),
    ("mail", N_("Mail")),
    ("disk", N_("Disk space")),
    ("causes", N_("Unknown hangup causes (neither Q.850 nor FreeSWITCH)")),
    ("notices", N_("Alarms and alerts that notify nobody")),
]


def layout(**_query):
    cards = [
        dbc.Card(
            [dbc.CardHeader(_(title)), dbc.CardBody(dcc.Loading(html.Div(id=f"diagnostic-{key}")))], className="mb-3"
        )
        for key, title in SECTIONS
    ]
    mail_test = dbc.InputGroup(
        [
            dbc.Input(id="diagnostic-mail-to", type="email", placeholder=_("Send a test message to…"), maxlength=254),
            dbc.Button(_("Send test"), id="diagnostic-mail-send", color="secondary"),
        ],
        size="sm",
        className="mb-2",
    )
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H2(_("Diagnostic"))),
                    dbc.Col(
                        dbc.Button(_("Refresh"), id="diagnostic-refresh", size="sm", color="secondary", outline=True),
                        width="auto",
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col([*cards[:3], cards[7]], lg=6),
                    dbc.Col(
                        [*cards[3:5], cards[5], mail_test, html.Div(id="diagnostic-mail-result"), cards[8], cards[6]],
                        lg=6,
                    ),
                ]
            ),
        ]
    )
