"""Rate simulator: what a call to a number, lasting so long, costs; for admins, every candidate carrier."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.inputs import whole_number
from components.layout import page_layout
from components.rating import CANDIDATE_COLUMNS, grid, plan_picker
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import current_scope

dash.register_page(__name__, path="/rates/simulator", name=N_("Rate simulator"), order=61, access=acl.PAGE)


def layout(**_query):
    is_admin = current_scope().is_admin
    return page_layout(
        _("Rate simulator"),
        dbc.Row(
            [
                plan_picker("rate-simulator-plan", is_admin),
                dbc.Col(dbc.Input(id="rate-simulator-number", placeholder=_("Number, e.g. +34 650 104 877")), md=3),
                dbc.Col(
                    dbc.InputGroup(
                        [
                            whole_number("rate-simulator-duration", 60),
                            dbc.InputGroupText("s"),
                        ]
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Input(id="rate-simulator-at", placeholder=_("When (UTC, default now): 2026-01-15 10:00")),
                    md=3,
                ),
                dbc.Col(dbc.Button(_("Simulate"), id="rate-simulator-run", color="primary"), width="auto"),
            ],
            className="mb-3 g-2",
        ),
        html.Div(id="rate-simulator-result"),
        html.Div(
            [html.H5(_("Candidate carriers")), grid("rate-simulator-candidates", CANDIDATE_COLUMNS, height=300)],
            id="rate-simulator-candidates-box",
            hidden=not is_admin,
        ),
    )
