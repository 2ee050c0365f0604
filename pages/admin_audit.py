"""Audit log (admins): every change made by an admin (and self-service changes): who, what, when, before, after."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/admin/audit", name=N_("Audit log"), order=104, access=acl.ADMIN)

KINDS = [{"label": N_("Everything"), "value": ""}] + [
    {"label": label, "value": kind}
    for kind, label in (
        ("user", N_("User")),
        ("group", N_("Group")),
        ("switch", N_("Switch")),
        ("setting", N_("Setting")),
        ("provider", N_("Provider")),
        ("rate_plan", N_("Rate plan (and its rates)")),
        ("rate", N_("Rate")),
        ("ban_plan", N_("Ban plan")),
        ("voip_plan", N_("VoIP plan")),
        ("rerate", N_("Re-rating request")),
        ("export_template", N_("Export template")),
        ("destination_list", N_("Destination list")),
        ("export_schedule", N_("Export schedule")),
    )
]


def layout(**_query):
    return page_layout(
        _("Audit log"),
        dbc.Row(
            [
                dbc.Col(
                    dbc.Select(
                        id="admin-audit-kind",
                        options=[{**kind, "label": _(kind["label"])} for kind in KINDS],
                        value="",
                        size="sm",
                    ),
                    md=3,
                ),
                dbc.Col(dbc.Input(id="admin-audit-actor", placeholder=_("By user…"), size="sm", debounce=True), md=3),
            ],
            className="g-2 mb-2",
        ),
        html.Div(id="admin-audit-table"),
    )
