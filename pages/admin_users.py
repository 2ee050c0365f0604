"""Users and customers (admins): create, edit and disable users; role, accountcodes, groups, VoIP plan."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.admin import ROLE_NAMES, form_beside_table, form_row, language_choice, options, table
from components.layout import page_layout
from data.admin import accounts, acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/admin/users", name=N_("Users and customers"), order=100, access=acl.ADMIN)

USER_COLUMNS = [
    ("username", N_("Username")),
    ("role", N_("Role")),
    ("is_active", N_("Active")),
    ("email", N_("E-mail")),
    ("accountcodes", N_("Accountcodes")),
    ("groups", N_("Groups")),
    ("voip_plan", N_("VoIP plan")),
    ("timezone", N_("Time zone")),
    ("last_login_at", N_("Last login")),
]


def user_options() -> list[dict]:
    return [{"label": _("New user…"), "value": "new"}] + [
        {"label": f"{u['username']} ({u['role']}{'' if u['is_active'] else ', disabled'})", "value": str(u["id"])}
        for u in accounts.list_users()
    ]


def users_table():
    users = [{**u, "role": _(ROLE_NAMES.get(u["role"], u["role"]))} for u in accounts.list_users()]
    return table(users, USER_COLUMNS, table_id="admin-users-table")


def user_form() -> list:
    """The rows of the user form."""
    roles = [{"label": _(ROLE_NAMES[role]), "value": role} for role in ("customer", "admin")]
    groups = acl.list_groups()
    plans = [{"label": _("(none)"), "value": ""}, *options(accounts.list_voip_plans())]
    return [
        form_row(_("User"), dbc.Select(id="admin-user-select", options=user_options(), value="new")),
        html.Hr(),
        form_row(_("Username"), dbc.Input(id="admin-user-username", maxlength=150, autocomplete="off")),
        form_row(
            _("Password"),
            dbc.Input(id="admin-user-password", type="password", autocomplete="new-password"),
            _("At least 8 characters. When editing, leave empty to keep the current one."),
        ),
        form_row(_("Role"), dbc.Select(id="admin-user-role", value="customer", options=roles)),
        form_row(_("Active"), dbc.Switch(id="admin-user-active", value=True), _("A disabled user cannot log in.")),
        form_row(_("Full name"), dbc.Input(id="admin-user-full-name", maxlength=200)),
        form_row(
            _("E-mail"),
            dbc.Input(id="admin-user-email", type="email", maxlength=254),
            _("For password resets and mailed reports."),
        ),
        form_row(
            _("Report e-mails"),
            dbc.Textarea(id="admin-user-report-emails", rows=2, maxLength=5000, placeholder=_("one address per line")),
            _("Where the mailed reports go, besides the user's own address."),
        ),
        form_row(
            _("Time zone"),
            dcc.Dropdown(id="admin-user-timezone", options=accounts.timezone_names(), value="UTC", clearable=False),
        ),
        form_row(_("Language"), language_choice("admin-user-language"), _("Empty: the browser's language.")),
        form_row(
            _("Accountcodes"),
            dbc.Input(id="admin-user-accountcodes", placeholder="1001, 1002", debounce=True),
            _("The accountcodes of the customer's calls, separated by commas."),
        ),
        html.Div(id="admin-user-codes-hint", className="small mb-2"),
        form_row(
            "",
            dbc.Checkbox(
                id="admin-user-reassign",
                value=True,
                label=_("Re-assign the calls already stored with these accountcodes"),
            ),
        ),
        form_row(
            _("Groups"),
            dbc.Checklist(id="admin-user-groups", options=[{"label": g["name"], "value": g["id"]} for g in groups]),
            _("Customers in no group see every customer page."),
        ),
        form_row(_("VoIP plan"), dbc.Select(id="admin-user-plan", value="", options=plans)),
        dbc.Button(_("Save"), id="admin-user-save", color="primary", size="sm", className="mt-2"),
        dbc.Button(
            _("End sessions"),
            id="admin-user-end-sessions",
            color="danger",
            outline=True,
            size="sm",
            className="mt-2 ms-2",
            title=_("Log this user out everywhere (API tokens stay)"),
        ),
        html.Div(id="admin-user-message", className="mt-2"),
        # a VoIP plan change queues a re-rating of the customer's calls: its progress
        html.Div(id="admin-user-rerate", className="small mt-2"),
        dcc.Store(id="admin-user-rerate-request"),
        dcc.Interval(id="admin-user-rerate-poll", interval=2000, disabled=True),
    ]


def layout(**_query):
    return page_layout(
        _("Users and customers"),
        form_beside_table(user_form(), users_table(), "admin-users"),
    )
