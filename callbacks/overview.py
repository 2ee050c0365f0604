from dash import Input, Output

from callbacks.filters import (
    FILTER_INPUTS,
    RANGE_AND_THEME,
    register_drill_down,
    register_view_state,
    register_zoom,
    report_filter,
)
from components.figures import themed
from components.time_figures import time_series_figure
from data.admin import acl
from data.alerting.alarms import firings_on_chart
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from data.reports.timeseries import local_text, previous_period
from data.reports.traffic import traffic_chart_rows, unit_for_range
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/overview"))

METRICS = [
    ("calls", N_("Calls")),
    ("minutes", N_("Minutes")),
    ("asr", N_("ASR")),
    ("acd", N_("ACD (s)")),
    ("pdd", N_("PDD (s)")),
    ("short_call_ratio", N_("Short calls")),
]
CHARTS = ["overview-calls", "overview-minutes", "overview-asr", "overview-acd", "overview-pdd", "overview-short"]
GRAPHS = [f"{chart}-graph" for chart in CHARTS]
PERCENT = ("asr", "short_call_ratio")


@callback(
    [Output(f"{chart}-graph", "figure") for chart in CHARTS],
    [Output({"type": "chart-data", "chart": chart}, "data") for chart in CHARTS],
    [*FILTER_INPUTS, Input("overview-split", "value"), Input("overview-compare", "value"), *RANGE_AND_THEME],
)
def refresh_overview(start, end, preset, switches, customer, accountcodes, split, compare, times, dark):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes, times)
    split = split if scope.is_admin or split != "customer" else "switch"  # customers see only themselves
    unit = unit_for_range(f)
    rows = traffic_chart_rows(scope, f, unit, split=split)
    before = traffic_chart_rows(scope, previous_period(f, scope.timezone)[0], unit) if compare else None
    firings = firings_on_chart(scope, f.start, f.end)
    end_text = local_text(f.end, scope.timezone)
    figures = [
        themed(
            time_series_figure(
                rows,
                metric,
                unit,
                end_text,
                y_title=_(title),
                percent=metric in PERCENT,
                compare=before,
                firings=firings.get(metric, []),
            ),
            dark,
        )
        for metric, title in METRICS
    ]
    tables = [
        [{"period": r["period"], "series": r.get("series"), metric: r[metric]} for r in rows]
        for metric, _title in METRICS
    ]
    return [*figures, *tables]


register_zoom(callback, GRAPHS)
register_drill_down(GRAPHS)
register_view_state([("split", "overview-split"), ("compare", "overview-compare")])
