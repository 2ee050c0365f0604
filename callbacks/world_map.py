from dash import Output

from callbacks.filters import FILTER_INPUTS, report_filter
from components.figures import choropleth_figure
from data.admin import acl
from data.core.scope import current_scope
from data.reports.traffic import breakdown, chart_rows
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/world-map"))


@callback(
    Output("world-map-graph", "figure"),
    Output({"type": "chart-data", "chart": "world-map"}, "data"),
    *FILTER_INPUTS,
)
def refresh_world_map(start, end, preset, switches, customer, accountcodes):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes)
    rows = [r for r in chart_rows(breakdown(scope, f, "country"), "label", scope) if r.get("alpha3")]
    return choropleth_figure(rows), rows
