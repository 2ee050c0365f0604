from dash import Input, Output

from callbacks.filters import FILTER_INPUTS, report_filter
from components.figures import series_figure
from data.admin import acl
from data.core.scope import current_scope
from data.reports.traffic import traffic_chart_rows, unit_for_range
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/overview"))

METRICS = [("calls", "Calls"), ("minutes", "Minutes"), ("asr", "ASR"), ("acd", "ACD (s)")]


@callback(
    [Output(f"overview-{m}-graph", "figure") for m, _ in METRICS],
    [Output({"type": "chart-data", "chart": f"overview-{m}"}, "data") for m, _ in METRICS],
    *FILTER_INPUTS,
    Input("overview-split", "value"),
)
def refresh_overview(start, end, preset, switches, customer, accountcodes, split):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes)
    split = split if scope.is_admin or split != "customer" else "switch"  # customers see only themselves
    rows = traffic_chart_rows(scope, f, unit_for_range(f), split=split)
    figures = [
        series_figure(rows, "period", metric, "series", y_title=title, percent=metric == "asr")
        for metric, title in METRICS
    ]
    tables = [
        [{"period": r["period"], "series": r.get("series"), metric: r[metric]} for r in rows] for metric, _ in METRICS
    ]
    return [*figures, *tables]
