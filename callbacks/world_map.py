from dash import Input, Output

from callbacks.filters import FILTER_INPUTS, RANGE_AND_THEME, register_drill_down, register_view_state, report_filter
from components.figures import choropleth_figure, themed
from data.admin import acl
from data.core.i18n import with_country_names
from data.core.scope import current_scope
from data.core.settings import report_currency
from data.reports.timeseries import cdr_search_href
from data.reports.traffic import breakdown, chart_rows
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/world-map"))


@callback(
    [Output("world-map-graph", "figure"), Output({"type": "chart-data", "chart": "world-map"}, "data")],
    [*FILTER_INPUTS, Input("world-map-metric", "value"), *RANGE_AND_THEME],
)
def refresh_world_map(start, end, preset, switches, customer, accountcodes, metric, times, dark):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes, times)
    rows = with_country_names(chart_rows(breakdown(scope, f, "country"), "label", scope))
    rows = [r for r in rows if r.get("alpha3")]
    hrefs = [cdr_search_href(f, scope.timezone, country=r["code"]) for r in rows]
    figure = choropleth_figure(rows, metric or "calls", report_currency(), hrefs)
    return themed(figure, dark), rows


register_drill_down(["world-map-graph"])
register_view_state([("metric", "world-map-metric")])
