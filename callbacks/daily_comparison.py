from datetime import date, timedelta

from dash import Input, Output, State

from callbacks.filters import THEME_INPUT, register_drill_down, register_view_state, report_filter, user_today
from components.figures import themed, with_xaxis
from components.time_figures import hour_of_day_figure
from data.admin import acl
from data.core.i18n import gettext as _
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
    State("compare-dates", "value"),
)
def offer_dates(day, chosen):
    """The 60 days before the day, and the dates already chosen (from a copied address) whatever they are."""
    today = date.fromisoformat(day[:10]) if day else user_today(current_scope())
    offered = [(today - timedelta(days=i)).isoformat() for i in range(1, 61)]
    return [{"label": d, "value": d} for d in sorted(set(offered) | set(chosen or []), reverse=True)]


@callback(
    [Output("daily-comparison-graph", "figure"), Output({"type": "chart-data", "chart": "daily-comparison"}, "data")],
    Input("compare-day", "date"),
    Input("compare-mode", "value"),
    Input("compare-count", "value"),
    Input("compare-dates", "value"),
    Input("compare-metric", "value"),
    Input("filter-switch", "value"),
    Input("filter-customer", "value"),
    Input("filter-accountcode", "value"),
    THEME_INPUT,
)
def refresh_daily_comparison(day, mode, count, chosen, metric, switches, customer, accountcodes, dark):
    scope = current_scope()
    base = date.fromisoformat(day[:10]) if day else user_today(scope)
    f = report_filter(scope, None, None, None, switches, customer, accountcodes)
    profile = hourly_profile(scope, comparison_days(base, mode, count, chosen), f)
    rows, marks = [], []
    for row, source in zip(chart_rows(profile, "hour", scope), profile, strict=True):
        # an hour still to come has no calls yet: drawn as nothing, not as a fall to zero
        rows.append({"hour": row["hour"], "series": row["series"], metric: None if source["future"] else row[metric]})
        marks.append({"partial": source["partial"], "href": None if source["future"] else source["href"]})
    figure = with_xaxis(
        hour_of_day_figure(rows, marks, metric, y_title=_("Minutes") if metric == "minutes" else _("Calls")),
        dtick=1,
        range=[-0.5, 23.5],
        title=dict(text=_("Hour of day")),
    )
    return themed(figure, dark), rows


register_drill_down(["daily-comparison-graph"])
register_view_state(
    [
        ("day", "compare-day", "date"),
        ("mode", "compare-mode"),
        ("count", "compare-count"),
        ("dates", "compare-dates"),
        ("metric", "compare-metric"),
    ]
)
