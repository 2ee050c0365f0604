"""Alarm report: every evaluation that fired, with the measured value, the comparison value, the
threshold and the period; each firing can be acknowledged."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/alarm-report", name=N_("Alarm report"), order=81, access=acl.PAGE)

RANGES = [
    {"label": N_("Last 24 hours"), "value": 1},
    {"label": N_("Last 7 days"), "value": 7},
    {"label": N_("Last 30 days"), "value": 30},
    {"label": N_("Last 90 days"), "value": 90},
    {"label": N_("Everything"), "value": 0},
]


def layout(**query):
    return html.Div(
        [
            html.H2(_("Alarm report")),
            dcc.Store(id="alarm-report-version", data=0),
            dbc.Card(
                dbc.CardBody(
                    dbc.Row(
                        [
                            dbc.Col(dcc.Dropdown(id="alarm-report-alarm", placeholder=_("All alarms")), md=3),
                            dbc.Col(
                                dcc.Dropdown(
                                    id="alarm-report-range",
                                    options=[{**r, "label": _(r["label"])} for r in RANGES],
                                    value=int(query.get("days", 30) or 0),
                                    clearable=False,
                                ),
                                md=2,
                            ),
                            dbc.Col(
                                dbc.Switch(id="alarm-report-unacked", label=_("Unacknowledged only"), value=False),
                                md="auto",
                            ),
                            dbc.Col(
                                dbc.Switch(id="alarm-report-dry", label=_("Include dry runs"), value=True), md="auto"
                            ),
                            dbc.Col(html.Small(id="alarm-report-count", className="text-body-secondary"), md="auto"),
                        ],
                        className="g-2 align-items-center",
                    )
                ),
                className="mb-3",
            ),
            html.Div(id="alarm-report-feedback"),
            dcc.Loading(html.Div(id="alarm-report-table-wrap")),
        ]
    )
