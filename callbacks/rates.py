"""Callbacks of the Rates page: the plan list (admins), the rates shown, the CSV link."""

from urllib.parse import urlencode

from dash import Input, Output, clientside_callback

from components.rating import grid_rows, plan_choice
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from data.rating import rates
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/rates"))

SHOWN = 5000


@callback(Output("rates-plan", "options"), Output("rates-plan", "value"), Input("rates-plan", "id"))
def list_plans(_):
    return plan_choice(rates.pickable_voip_plans(current_scope()))


@callback(
    [Output("rates-grid", "rowData"), Output("rates-count", "children"), Output("rates-download", "href")],
    [Input("rates-plan", "value"), Input("rates-search", "value")],
)
def show_rates(plan, search):
    scope = current_scope()
    found = rates.customer_rates(scope, voip_plan_id=plan, search=search or "", limit=SHOWN + 1)
    if not found and rates.voip_plan_of(scope, plan) is None:
        count = _("No VoIP plan: ask your provider.") if not scope.is_admin else _("Pick a VoIP plan.")
    else:
        count = f"{min(len(found), SHOWN):,}{'+' if len(found) > SHOWN else ''} rate(s)"
    query = {k: v for k, v in (("search", search), ("plan", plan if scope.is_admin else None)) if v}
    return grid_rows(found[:SHOWN]), count, "/download/rates.csv" + (f"?{urlencode(query)}" if query else "")


# The XLSX link of each download follows its CSV link (components.tables.download_links).
for _link in ["rates-download"]:
    clientside_callback(
        "function(href) { return href ? href.replace('.csv', '.xlsx') : window.dash_clientside.no_update; }",
        Output(f"{_link}-xlsx", "href"),
        Input(_link, "href"),
    )
