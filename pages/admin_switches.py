"""Switches (admins): name, IP, source type, time zone of naive times, and the push API key."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.admin import form_beside_table, form_row, options, table
from components.layout import page_layout
from data.admin import accounts, acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/admin/switches", name=N_("Switches"), order=102, access=acl.ADMIN)

SWITCH_COLUMNS = [
    ("id", N_("Id")),
    ("name", N_("Name")),
    ("ip", N_("IP")),
    ("source_type_name", N_("Source type")),
    ("timezone", N_("Time zone")),
    ("has_push_key", N_("Push key")),
]


def switch_options() -> list[dict]:
    return [{"label": _("New switch…"), "value": "new"}] + [
        {"label": f"{s['name']} ({s['ip']})", "value": str(s["id"])} for s in accounts.list_switches()
    ]


def switches_table():
    return table(accounts.list_switches(), SWITCH_COLUMNS, _("No switch yet."), table_id="admin-switches-table")


def layout(**_query):
    form_rows = [
        form_row(_("Switch"), dbc.Select(id="admin-switch-select", options=switch_options(), value="new")),
        html.Hr(),
        form_row(_("Name"), dbc.Input(id="admin-switch-name", maxlength=200)),
        form_row(
            _("IP address"),
            dbc.Input(id="admin-switch-ip", maxlength=200),
            _("What imports and CDR-Pusher give as the switch (an address or a host name)."),
        ),
        form_row(
            _("Source type"),
            dbc.Select(id="admin-switch-source-type", value="0", options=options(accounts.source_types())),
        ),
        form_row(
            _("Time zone"),
            dcc.Dropdown(id="admin-switch-timezone", options=accounts.timezone_names(), value="UTC", clearable=False),
            _("How the switch's times without an offset are read."),
        ),
        dbc.ButtonGroup(
            [
                dbc.Button(_("Save"), id="admin-switch-save", color="primary", size="sm"),
                dbc.Button(_("New push API key"), id="admin-switch-rotate", color="warning", size="sm", outline=True),
            ],
            className="mt-2",
        ),
        html.Div(id="admin-switch-message", className="mt-2"),
    ]
    return page_layout(_("Switches"), form_beside_table(form_rows, switches_table(), "admin-switches"))
