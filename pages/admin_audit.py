"""Audit log (admins): every change made by an admin (and self-service changes): who, what, when, before, after."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from data.admin import acl
from data.core.i18n import N_

dash.register_page(__name__, path="/admin/audit", name=N_("Audit log"), order=104, access=acl.ADMIN)

KINDS = [{"label": "Everything", "value": ""}] + [
    {"label": label, "value": kind}
    for kind, label in (
        ("user", "User"),
        ("group", "Group"),
        ("switch", "Switch"),
        ("setting", "Setting"),
        ("provider", "Provider"),
        ("rate_plan", "Rate plan (and its rates)"),
        ("rate", "Rate"),
        ("ban_plan", "Ban plan"),
        ("voip_plan", "VoIP plan"),
        ("rerate", "Re-rating request"),
        ("export_template", "Export template"),
        ("destination_list", "Destination list"),
        ("export_schedule", "Export schedule"),
    )
]


def layout(**_query):
    return html.Div(
        [
            html.H2("Audit log"),
            dbc.Row(
                [
                    dbc.Col(dbc.Select(id="admin-audit-kind", options=KINDS, value="", size="sm"), md=3),
                    dbc.Col(dbc.Input(id="admin-audit-actor", placeholder="By user…", size="sm", debounce=True), md=3),
                ],
                className="g-2 mb-2",
            ),
            html.Div(id="admin-audit-table"),
        ]
    )
