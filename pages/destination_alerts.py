"""Destination alerts: the blacklist and whitelist (by country or prefix), the alert remove prefixes,
a number checker and the latest blacklisted calls."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.admin import input_button_card, prefix_list_card
from components.filters import choice
from components.layout import page_layout
from data.admin import acl
from data.core import lookups
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/destination-alerts", name=N_("Destination alerts"), order=86, access=acl.ADMIN)


def _countries() -> list[dict]:
    return [{"label": f"{r['name']} ({r['code']})", "value": r["code"]} for r in lookups.country_rows()]


def layout(**query):
    countries = _countries()
    return page_layout(
        _("Destination alerts"),
        dcc.Store(id="destination-version", data=0),
        dbc.Row(
            [
                dbc.Col(
                    dbc.Card(
                        [
                            dbc.CardHeader(_("Blacklist and whitelist")),
                            dbc.CardBody(
                                [
                                    dbc.Row(
                                        [
                                            dbc.Col(
                                                choice(
                                                    "rule-list",
                                                    {"blacklist": _("Blacklist"), "whitelist": _("Whitelist")},
                                                    "blacklist",
                                                ),
                                                md=12,
                                            ),
                                            dbc.Col(
                                                dcc.Dropdown(
                                                    id="rule-country", options=countries, placeholder=_("Country")
                                                ),
                                                md=4,
                                            ),
                                            dbc.Col(
                                                dbc.Input(id="rule-prefix", placeholder=_("or prefix, e.g. 88216")),
                                                md=3,
                                            ),
                                            dbc.Col(
                                                dbc.Input(id="rule-description", placeholder=_("Description")), md=3
                                            ),
                                            dbc.Col(dbc.Button(_("Add"), id="rule-add", color="primary"), md="auto"),
                                        ],
                                        className="g-2 align-items-center",
                                    ),
                                    html.Div(id="rule-feedback", className="mt-2"),
                                    html.Div(id="rule-list-table", className="mt-2"),
                                ]
                            ),
                        ],
                        className="mb-3",
                    ),
                    lg=7,
                ),
                dbc.Col(
                    [
                        prefix_list_card(_("Alert remove prefixes"), "remove", "999"),
                        input_button_card(
                            _("Check a number"),
                            "check-number",
                            _("Number, international format"),
                            _("Check"),
                            "check-button",
                            [html.Div(id="check-result", className="mt-2 small")],
                        ),
                        input_button_card(
                            _("Also notify"),
                            "notify-emails",
                            "security@example.com, …",
                            _("Save"),
                            "notify-save",
                            [
                                dbc.FormText(_("Threat and destination alerts go to the admins' addresses and these.")),
                                html.Div(id="notify-feedback", className="mt-2 small"),
                            ],
                        ),
                    ],
                    lg=5,
                ),
            ]
        ),
        dbc.Card(
            [dbc.CardHeader(_("Latest blacklisted calls")), dbc.CardBody(html.Div(id="destination-events"))],
            className="mb-3",
        ),
        intro=_(
            "Calls to a blacklisted country or prefix are flagged on the CDR when they are imported and "
            "raise an alert (e-mail to the admins, webhooks). A whitelist match wins over the blacklist. "
            "Prefixes are in international format (what the number plan makes of the dialled number); the "
            "alert remove prefixes are stripped first."
        ),
    )
