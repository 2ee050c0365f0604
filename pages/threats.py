"""Threat control: current threats ranked by how far over their limit, then cost at risk, high-cost destinations, the
thresholds and the admin's list of high-cost prefixes."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.admin import prefix_list_card
from data.admin import acl
from data.alerting.threat_detectors import DEFAULTS
from data.alerting.threat_texts import setting_label
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/threats", name=N_("Threat control"), order=85, access=acl.ADMIN)


def _settings_card() -> dbc.Card:
    inputs = [
        dbc.Col(
            [
                dbc.Label(setting_label(key), html_for=f"threat-setting-{key}", className="small mb-0"),
                dbc.Input(id={"type": "threat-setting", "key": key}, type="number", min=0, step="any", size="sm"),
            ],
            md=3,
            className="mb-2",
        )
        for key in DEFAULTS
    ]
    return dbc.Card(
        [
            dbc.CardHeader(_("Thresholds")),
            dbc.CardBody(
                [
                    dbc.Row(inputs),
                    dbc.Button(_("Save thresholds"), id="threat-settings-save", color="secondary", size="sm"),
                    html.Div(id="threat-settings-feedback", className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
    )


def layout(**query):
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H2(_("Threat control"))),
                    dbc.Col(
                        dbc.Button(_("Refresh"), id="threats-refresh", color="primary", outline=True), width="auto"
                    ),
                ],
                className="align-items-center",
            ),
            html.P(
                _(
                    "Velocity, spikes against each hour's own history, new destination countries, high-cost "
                    "destinations, short-call bursts and repeated numbers, ranked by how far over their limit, then by "
                    'the estimated cost at risk (minutes × sell rate; "unrated" when the calls have no price). Each '
                    "link opens the calls in the CDR search."
                ),
                className="text-body-secondary",
            ),
            dcc.Interval(id="threats-interval", interval=60_000),
            dbc.Card(
                [dbc.CardHeader(_("Current threats")), dbc.CardBody(dcc.Loading(html.Div(id="threats-current")))],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(_("High-cost destinations · last 24 hours")),
                    dbc.CardBody(html.Div(id="threats-high-cost")),
                ],
                className="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        prefix_list_card(
                            _("High-cost prefixes (besides premium rate, shared cost and satellite)"),
                            "high-cost",
                            "4470",
                            4,
                        ),
                        lg=5,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(_("Threats notified (history)")),
                                dbc.CardBody(html.Div(id="threats-history")),
                            ],
                            className="mb-3",
                        ),
                        lg=7,
                    ),
                ]
            ),
            _settings_card(),
        ]
    )
