"""Live sources (admins): where Dialstat asks each switch for its calls in progress (docs/switches/)."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.admin import form_beside_table, form_row, table
from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.live.store import LIVE_KINDS, source_table

dash.register_page(__name__, path="/admin/live-sources", name=N_("Live sources"), order=103, access=acl.ADMIN)

COLUMNS = [
    ("name", N_("Switch")),
    ("kind", N_("Source")),
    ("address", N_("Address")),
    ("username", N_("User")),
    ("has_secret", N_("Secret")),
    ("state", N_("Last poll")),
]
ADDRESS_HELP = N_(
    "Kamailio: http://host:5071/RPC (jsonrpcs over xhttp). Asterisk: host:5038 (AMI user and secret). "
    "FreeSWITCH: host:8021 (event socket password)."
)


def switch_options() -> list[dict]:
    return [{"label": f"{s['name']} ({s['ip']})", "value": str(s["id"])} for s in source_table()]


def sources_table():
    return table(source_table(), COLUMNS, _("No switch yet."), table_id="admin-live-table")


def layout(**_query):
    form_rows = [
        form_row(_("Switch"), dbc.Select(id="admin-live-switch", options=switch_options())),
        form_row(
            _("Source"),
            dbc.Select(
                id="admin-live-kind",
                options=[{"label": _("Not polled"), "value": "off"}]
                + [{"label": k.capitalize(), "value": k} for k in LIVE_KINDS],
                value="off",
            ),
        ),
        form_row(_("Address"), dbc.Input(id="admin-live-address", maxlength=300), _(ADDRESS_HELP)),
        form_row(_("User"), dbc.Input(id="admin-live-username", maxlength=100), _("Asterisk's AMI user.")),
        form_row(
            _("Secret"),
            dbc.Input(id="admin-live-secret", type="password", maxlength=200),
            _("Left empty: the stored secret is kept."),
        ),
        dbc.Button(_("Save and poll once"), id="admin-live-save", color="primary", size="sm", className="mt-2"),
        html.Div(id="admin-live-message", className="mt-2"),
    ]
    return page_layout(
        _("Live sources"),
        form_beside_table(form_rows, sources_table(), "admin-live-sources"),
    )
