"""Callbacks of the settings page (admins only): save the number plan, try a number against it."""

from dash import Input, Output, State, ctx, html, no_update

from components.admin import error, message
from data.admin import acl
from data.core import setting_overrides
from data.core.i18n import gettext as _
from data.core.scope import current_actor
from data.core.setting_overrides import FIELDS
from pages.admin_settings import plan_inputs
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/settings"))

PLAN_STATES = [State(f"admin-plan-{name}", "value") for name in FIELDS]


@callback(
    [Output("admin-plan-message", "children"), Output("admin-plan-inputs", "children")],
    [Input("admin-plan-save", "n_clicks"), Input("admin-plan-reset", "n_clicks")],
    *PLAN_STATES,
    prevent_initial_call=True,
)
def save_plan(_save, _reset, *values):
    actor = current_actor()
    try:
        if ctx.triggered_id == "admin-plan-reset":
            setting_overrides.reset_number_plan(actor)
            return message(_("The environment's number plan is in force again.")), plan_inputs()
        setting_overrides.save_number_plan(actor, dict(zip(FIELDS, values, strict=True)))
    except ValueError as exc:
        return error(exc), no_update
    return message(_("Number plan saved."), "success", "admin-plan-saved"), plan_inputs()


@callback(
    Output("admin-plan-try-result", "children"),
    [Input("admin-plan-try", "n_clicks"), Input("admin-plan-try-number", "n_submit")],
    [State("admin-plan-try-number", "value"), *PLAN_STATES],
    prevent_initial_call=True,
)
def try_number(_clicks, _submit, number, *values):
    """Each step of the normalisation of ``number`` under the plan in the form (saved or not)."""
    from data.core.normalise import normalise_number

    try:
        plan = setting_overrides.plan_from_form(dict(zip(FIELDS, values, strict=True)))
    except ValueError as exc:
        return error(exc)
    result = normalise_number((number or "")[:64], plan)
    return html.Div(
        [
            html.Ol([html.Li(step) for step in result.steps], id="admin-plan-try-steps", className="small"),
            html.P(
                [
                    html.Strong(_("Result: ")),
                    f"{result.normalised or '–'} · {result.kind} · country "
                    f"{result.country_code or 'unknown'} · dial code {result.dialcode or '–'}",
                ],
                id="admin-plan-try-summary",
                className="small mb-0",
            ),
        ]
    )
