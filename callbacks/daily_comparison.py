from datetime import date, timedelta

from dash import Input, Output

from callbacks.filters import report_filter, user_today
from components.figures import series_figure, with_xaxis
from data.admin import acl
from data.core.scope import current_scope
from data.reports.traffic import chart_rows, hourly_profile
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/daily-comparison"))


def comparison_days(day: date, mode: str, count: int, chosen: list[str]) -> list[date]:
    """The day itself, then up to 6 others: previous days, same weekday of previous weeks, or chosen."""
    count = max(1, min(int(count or 1), 6))
    if mode == "previous-weeks":
        others = [day - timedelta(weeks=i) for i in range(1, count + 1)]
    elif mode == "chosen":
        others = [date.fromisoformat(d) for d in (chosen or [])][:6]
    else:
        others = [day - timedelta(days=i) for i in range(1, count + 1)]
    return [day, *[d for d in others if d != day]]


@callback(
    Output("compare-dates", "options"),
    Input("compare-day", "date"),
)
def offer_dates(day):
    today = date.fromisoformat(day[:10]) if day else user_today(current_scope())
    return [
        {"label": (today - timedelta(days=i)).isoformat(), "value": (today - timedelta(days=i)).isoformat()}
        for i in range(1, 61)
    ]


@callback(
    Output("daily-comparison-graph", "figure"),
    Output({"type": "chart-data", "chart": "daily-comparison"}, "data"),
    Input("compare-day", "date"),
    Input("compare-mode", "value"),
    Input("compare-count", "value"),
    Input("compare-dates", "value"),
    Input("compare-metric", "value"),
    Input("filter-switch", "value"),
    Input("filter-customer", "value"),
    Input("filter-accountcode", "value"),
)
def refresh_daily_comparison(day, mode, count, chosen, metric, switches, customer, accountcodes):
    scope = current_scope()
    base = date.fromisoformat(day[:10]) if day else user_today(scope)
    f = report_filter(scope, None, None, None, switches, customer, accountcodes)
    rows = []
    for row in chart_rows(hourly_profile(scope, comparison_days(base, mode, count, chosen), f), "hour", scope):
        rows.append({"hour": row["hour"], "series": row["series"], metric: row[metric]})
    figure = with_xaxis(
        series_figure(rows, "hour", metric, "series", y_title=metric.title()),
        dtick=1,
        range=[-0.5, 23.5],
        title=dict(text="Hour of day"),
    )
    return figure, rows
