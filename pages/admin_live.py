"""Live sources (admins): where Dialstat asks each switch for its calls in progress (docs/switches/)."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.admin import form_row, table
from data.admin import acl
from data.core.i18n import N_
from data.live.store import LIVE_KINDS, source_table

dash.register_page(__name__, path="/admin/live-sources", name=N_("Live sources"), order=103, access=acl.ADMIN)

COLUMNS = [
    ("name", "Switch"),
    ("kind", "Source"),
    ("address", "Address"),
    ("username", "User"),
    ("has_secret", "Secret"),
    ("state", "Last poll"),
]
ADDRESS_HELP = (
    "Kamailio: http://host:5071/RPC (jsonrpcs over xhttp). Asterisk: host:5038 (AMI user and secret). "
    "FreeSWITCH: host:8021 (event socket password)."
)


def switch_options() -> list[dict]:
    return [{"label": f"{s['name']} ({s['ip']})", "value": str(s["id"])} for s in source_table()]


def sources_table():
    return table(source_table(), COLUMNS, "No switch yet.", table_id="admin-live-table")


def layout(**_query):
    form = dbc.Card(
        dbc.CardBody(
            [
                form_row("Switch", dbc.Select(id="admin-live-switch", options=switch_options())),
                form_row(
                    "Source",
                    dbc.Select(
                        id="admin-live-kind",
                        options=[{"label": "Not polled", "value": "off"}]
                        + [{"label": k.capitalize(), "value": k} for k in LIVE_KINDS],
                        value="off",
                    ),
                ),
                form_row("Address", dbc.Input(id="admin-live-address", maxlength=300), ADDRESS_HELP),
                form_row("User", dbc.Input(id="admin-live-username", maxlength=100), "Asterisk's AMI user."),
                form_row(
                    "Secret",
                    dbc.Input(id="admin-live-secret", type="password", maxlength=200),
                    "Left empty: the stored secret is kept.",
                ),
                dbc.Button("Save and poll once", id="admin-live-save", color="primary", size="sm", className="mt-2"),
                html.Div(id="admin-live-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )
    return html.Div(
        [
            html.H2("Live sources"),
            dbc.Row([dbc.Col(form, lg=5), dbc.Col(html.Div(sources_table(), id="admin-live-sources"), lg=7)]),
        ]
    )
