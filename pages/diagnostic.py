"""Diagnostic (admins): database, calls per day and switch, imports, rollup lag, jobs, mail, disk space,
unknown hangup causes, alarms and alerts that notify nobody."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.admin import acl

dash.register_page(__name__, path="/admin/diagnostic", name="Diagnostic", order=105, access=acl.ADMIN)

SECTIONS = [
    ("database", "Database"),
    ("calls", "Calls per day and switch (UTC, last 14 days)"),
    ("imports", "Imports"),
    ("rollups", "Rollups"),
    ("jobs", "Scheduled jobs"),
    ("mail", "Mail"),
    ("disk", "Disk space"),
    ("causes", "Unknown hangup causes (neither Q.850 nor FreeSWITCH)"),
    ("notices", "Alarms and alerts that notify nobody"),
]


def layout(**_query):
    cards = [
        dbc.Card([dbc.CardHeader(title), dbc.CardBody(dcc.Loading(html.Div(id=f"diagnostic-{key}")))], className="mb-3")
        for key, title in SECTIONS
    ]
    mail_test = dbc.InputGroup(
        [
            dbc.Input(id="diagnostic-mail-to", type="email", placeholder="Send a test message to…", maxlength=254),
            dbc.Button("Send test", id="diagnostic-mail-send", color="secondary"),
        ],
        size="sm",
        className="mb-2",
    )
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H2("Diagnostic")),
                    dbc.Col(
                        dbc.Button("Refresh", id="diagnostic-refresh", size="sm", color="secondary", outline=True),
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
