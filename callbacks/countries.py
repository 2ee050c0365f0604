from dash import Input, Output

from callbacks.filters import FILTER_INPUTS, RANGE_AND_THEME, register_drill_down, register_view_state, report_filter
from components.figures import pie_figure, themed
from components.tables import simple_table
from data.admin import acl
from data.core.i18n import N_, current_language, number, with_country_names
from data.core.i18n import gettext as _
from data.core.kpis import format_kpi
from data.core.scope import current_scope
from data.core.settings import report_currency
from data.reports.timeseries import cdr_search_href
from data.reports.traffic import breakdown, chart_rows, top_with_other
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/countries"))

ORDER = {"calls": "attempts", "minutes": "billsec_sum", "cost": "buy_cost"}
COLUMNS = [
    ("label", N_("Country")),
    ("calls", N_("Calls")),
    ("minutes", N_("Minutes")),
    ("asr", N_("ASR")),
    ("acd", N_("ACD (s)")),
    ("cost", N_("Cost")),
]


@callback(
    Output("countries-top-graph", "figure"),
    Output({"type": "chart-data", "chart": "countries-top"}, "data"),
    Output("countries-table", "children"),
    [*FILTER_INPUTS, Input("countries-metric", "value"), *RANGE_AND_THEME],
)
def refresh_countries(start, end, preset, switches, customer, accountcodes, metric, times, dark):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes, times)
    order = ORDER.get(metric, "attempts") if scope.is_admin or metric != "cost" else "sell_cost"
    rows = with_country_names(chart_rows(top_with_other(breakdown(scope, f, "country"), order, top=10), "label", scope))
    currency = report_currency()
    shown = [
        {
            **r,
            "asr": format_kpi(r["asr"], "percent"),
            "minutes": format_kpi(r["minutes"], "minutes"),
            "cost": format_kpi(r["cost"], "money", currency),
            "calls": format_kpi(r["calls"]),
            "acd": number(r["acd"], current_language(), 1),
        }
        for r in rows
    ]
    # a slice opens the CDR search of its country's calls ("Other" and calls of no known country: none)
    linked = [
        {**r, "href": cdr_search_href(f, scope.timezone, country=r["code"]) if r.get("code") else None} for r in rows
    ]
    figure = themed(pie_figure(linked, "label", metric), dark)
    return figure, rows, simple_table(shown, COLUMNS, empty=_("No calls in this range."))


register_drill_down(["countries-top-graph"])
register_view_state([("metric", "countries-metric")])
