from datetime import datetime, timedelta, timezone

from dash import Output

from callbacks.filters import FILTER_INPUTS, report_filter
from components.figures import series_figure
from data.admin import acl
from data.core.scope import current_scope
from data.reports.traffic import concurrent_calls, peak_per_hour, with_quiet_minutes
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/concurrent-calls"))


@callback(
    Output("concurrent-calls-graph", "figure"),
    Output({"type": "chart-data", "chart": "concurrent-calls"}, "data"),
    *FILTER_INPUTS,
)
def refresh_concurrent_calls(start, end, preset, switches, customer, accountcodes):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes)
    rows = concurrent_calls(scope, f)
    key = "minute"
    if f.end - f.start > timedelta(days=3):
        rows, key = peak_per_hour(rows), "hour"
    else:
        rows = with_quiet_minutes(rows, f.start, min(f.end, datetime.now(timezone.utc)), scope.timezone)
    table = [{key: r[key].isoformat(sep=" "), "switch": r["switch"], "peak": r["peak"]} for r in rows]
    figure = series_figure(table, key, "peak", "switch", y_title="Simultaneous calls", mode="lines", line_shape="hv")
    return figure, table
