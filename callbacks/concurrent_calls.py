from datetime import datetime, timedelta, timezone

from dash import Output

from callbacks.filters import FILTER_INPUTS, RANGE_AND_THEME, register_zoom, report_filter
from components.figures import series_figure, themed, with_xaxis
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from data.reports.timeseries import local_text
from data.reports.traffic import concurrent_calls, peak_per_hour, with_quiet_minutes, with_total
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/concurrent-calls"))


@callback(
    [Output("concurrent-calls-graph", "figure"), Output({"type": "chart-data", "chart": "concurrent-calls"}, "data")],
    *FILTER_INPUTS,
    *RANGE_AND_THEME,
)
def refresh_concurrent_calls(start, end, preset, switches, customer, accountcodes, times, dark):
    scope = current_scope()
    f = report_filter(scope, start, end, preset, switches, customer, accountcodes, times)
    rows = concurrent_calls(scope, f)
    key = "minute"
    if f.end - f.start > timedelta(days=3):
        rows, key = peak_per_hour(rows), "hour"
    else:
        rows = with_quiet_minutes(rows, f.start, min(f.end, datetime.now(timezone.utc)), scope.timezone)
    rows = with_total(rows, key)
    table = [{key: r[key].isoformat(sep=" "), "switch": r["switch"], "peak": r["peak"]} for r in rows]
    figure = series_figure(table, key, "peak", "switch", y_title=_("Simultaneous calls"), mode="lines", line_shape="hv")
    if table:
        tz = scope.timezone
        with_xaxis(figure, type="date", range=[local_text(f.start, tz), local_text(f.end, tz)])
        figure["layout"]["yaxis"]["fixedrange"] = True
    return themed(figure, dark), table


register_zoom(callback, ["concurrent-calls-graph"])
