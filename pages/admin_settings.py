"""Settings (admins): the number normalisation plan, with a "try a number" box, and the hangup causes."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.admin import form_row, table
from components.layout import page_layout
from data.admin import accounts, acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.setting_overrides import FIELDS, describe_plan, effective_number_plan

dash.register_page(__name__, path="/admin/settings", name=N_("Settings"), order=103, access=acl.ADMIN)

HELP = {
    "prefix_to_ignore": N_("Prefixes removed from the front of a number (the longest that matches), comma-separated."),
    "pn_min_digits": N_("Fewer digits: an internal call (an extension), no country."),
    "pn_max_digits": N_("Up to this many digits: a national call, LOCAL_DIALCODE is put in front."),
    "local_dialcode": N_("The country code of national calls."),
    "prefix_limit_min": N_("Shortest dial prefix length tried (CDR-Stats; kept for compatibility)."),
    "prefix_limit_max": N_("Longest dial prefix length tried (at least the table's longest prefix)."),
    "international_prefixes": N_("Ignored prefixes starting with these mean the number was dialled abroad (00, 011)."),
    "internal_patterns": N_(
        "Dial patterns of internal numbers whatever their length (9XXX, 2[0-4]XX, 8.): "
        "no country, rated only by an internal rate."
    ),
}


def plan_inputs():
    rows = []
    for row in describe_plan(effective_number_plan()):
        name, label = row["field"], row["name"]
        note = _(" (changed here, overrides the environment)") if row["overridden"] else ""
        rows.append(
            form_row(
                label, dbc.Input(id=f"admin-plan-{name}", value=str(row["value"]), debounce=False), _(HELP[name]) + note
            )
        )
    return rows


def causes_table():
    return table(
        accounts.hangup_causes(),
        [
            ("code", _("Q.850")),
            ("name", _("Cause")),
            ("class", _("Class")),
            ("sip_response", _("SIP")),
            ("ner_success", _("NER success")),
        ],
    )


assert set(HELP) == set(FIELDS), "every number plan setting has its help text"


def layout(**_query):
    plan = dbc.Card(
        dbc.CardBody(
            [
                html.H5(_("Number normalisation"), className="card-title"),
                html.P(
                    _(
                        "Applied to every call imported from now on. Stored calls keep the country they were given; "
                        "re-import or re-rate to apply a new plan to them."
                    ),
                    className="small text-body-secondary",
                ),
                html.Div(plan_inputs(), id="admin-plan-inputs"),
                dbc.ButtonGroup(
                    [
                        dbc.Button(_("Save"), id="admin-plan-save", color="primary", size="sm"),
                        dbc.Button(
                            _("Back to the environment's values"),
                            id="admin-plan-reset",
                            color="secondary",
                            size="sm",
                            outline=True,
                        ),
                    ]
                ),
                html.Div(id="admin-plan-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )
    try_box = dbc.Card(
        dbc.CardBody(
            [
                html.H5(_("Try a number"), className="card-title"),
                dbc.InputGroup(
                    [
                        dbc.Input(id="admin-plan-try-number", placeholder="+34 650 104 877", maxlength=64),
                        dbc.Button(_("Normalise"), id="admin-plan-try", color="secondary"),
                    ],
                    size="sm",
                    className="mb-2",
                ),
                html.P(_("With the values in the form, saved or not."), className="small text-body-secondary"),
                html.Div(id="admin-plan-try-result"),
            ]
        ),
        className="mb-3",
    )
    return page_layout(
        _("Settings"),
        dbc.Row([dbc.Col(plan, lg=6), dbc.Col(try_box, lg=6)]),
        html.H4(_("Hangup causes"), className="mt-3"),
        html.Div(causes_table(), id="admin-hangup-causes"),
    )
