"""Groups (admins): a group grants pages and features; a customer inherits their groups' permissions."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.admin import form_beside_table, form_row, options, table
from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/admin/groups", name=N_("Groups and permissions"), order=101, access=acl.ADMIN)

GROUP_COLUMNS = [
    ("name", N_("Group")),
    ("description", N_("Description")),
    ("members", N_("Members")),
    ("permissions", N_("Permissions")),
]


def group_options() -> list[dict]:
    return [{"label": _("New group…"), "value": "new"}, *options(acl.list_groups())]


def groups_table():
    return table(
        acl.list_groups(),
        GROUP_COLUMNS,
        _("No group yet: every customer sees every customer page."),
        table_id="admin-groups-table",
    )


def permission_options() -> list[dict]:
    return [{"label": f"{p.label} ({p.key})", "value": p.key} for p in acl.grantable_permissions()]


def layout(**_query):
    form_rows = [
        form_row(_("Group"), dbc.Select(id="admin-group-select", options=group_options(), value="new")),
        html.Hr(),
        form_row(_("Name"), dbc.Input(id="admin-group-name", maxlength=100)),
        form_row(_("Description"), dbc.Input(id="admin-group-description", maxlength=500)),
        form_row(
            _("Permissions"),
            dbc.Checklist(id="admin-group-permissions", options=permission_options(), value=[]),
            _(
                "Pages and features its members may use. Admin pages are for admins only; the profile page "
                "is open to everyone."
            ),
        ),
        dbc.ButtonGroup(
            [
                dbc.Button(_("Save"), id="admin-group-save", color="primary", size="sm"),
                dbc.Button(_("Delete"), id="admin-group-delete", color="danger", size="sm", outline=True),
            ],
            className="mt-2",
        ),
        html.Div(id="admin-group-message", className="mt-2"),
    ]
    return page_layout(
        _("Groups and permissions"),
        html.P(
            _(
                "A customer in no group sees every customer page and may use the API. A customer in one or more "
                "groups gets what their groups grant, and nothing else. Admins have every permission."
            ),
            className="small text-body-secondary",
        ),
        form_beside_table(form_rows, groups_table(), "admin-groups"),
    )
