"""Callbacks of the rate simulator."""

import dash_bootstrap_components as dbc
from dash import Input, Output, no_update

from callbacks.forms import values_of
from components.rating import candidate_rows, plan_choice, simulation_summary
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from data.rating import rates
from data.rating.rates import parse_moment
from data.rating.simulator import simulate_call
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/rates/simulator"))


@callback(
    Output("rate-simulator-plan", "options"), Output("rate-simulator-plan", "value"), Input("rate-simulator-plan", "id")
)
def list_plans(_):
    return plan_choice(rates.pickable_voip_plans(current_scope()))


@callback(
    [Output("rate-simulator-result", "children"), Output("rate-simulator-candidates", "rowData")],
    Input("rate-simulator-run", "n_clicks"),
    Input("rate-simulator-number", "n_submit"),
    *values_of("rate-simulator-number", "rate-simulator-duration", "rate-simulator-at", "rate-simulator-plan"),
    prevent_initial_call=True,
)
def simulate(_clicks, _submit, number, duration, at, plan):
    scope = current_scope()
    if not number:
        return dbc.Alert(_("Enter a number."), color="warning"), no_update
    try:
        when = parse_moment(at.strip().replace(" ", "T"), _("the time")) if at and at.strip() else None
        result = simulate_call(scope, number, int(duration or 0), at=when, voip_plan_id=plan)
    except ValueError as exc:
        return dbc.Alert(str(exc), color="warning"), []
    if result["voip_plan_id"] is None:
        return dbc.Alert(_("No VoIP plan to price with."), color="warning"), []
    return simulation_summary(result), candidate_rows(result)
