from dash import Input, Output

from callbacks.filters import report_filter
from components.figures import bar_figure, dual_axis_figure, pie_figure
from data.admin import acl
from data.core.kpis import format_kpi
from data.core.report_filter import ReportFilter
from data.core.scope import current_scope
from data.reports.traffic import cost_seen_by, dashboard_report
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/"))

CHARTS = ("dashboard-hourly", "dashboard-causes", "dashboard-countries", "dashboard-switches")


@callback(
    Output("dashboard-interval", "disabled"),
    Input("dashboard-autorefresh", "value"),
)
def toggle_autorefresh(on):
    return not on


@callback(
    [Output(f"kpi-{k}", "children") for k in ("calls", "minutes", "asr", "acd", "ner", "cost")],
    [Output(f"{c}-graph", "figure") for c in CHARTS],
    [Output({"type": "chart-data", "chart": c}, "data") for c in CHARTS],
    Input("filter-switch", "value"),
    Input("filter-customer", "value"),
    Input("filter-accountcode", "value"),
    Input("dashboard-interval", "n_intervals"),
)
def refresh_dashboard(switches, customer, accountcodes, _):
    scope = current_scope()
    chosen = report_filter(scope, None, None, None, switches, customer, accountcodes)
    f = ReportFilter.last_hours(
        24, switch_ids=chosen.switch_ids, user_ids=chosen.user_ids, accountcodes=chosen.accountcodes
    )
    report = dashboard_report(scope, f)
    t = report["totals"]
    kpis = [
        format_kpi(t.attempts),
        format_kpi(t.minutes, "minutes"),
        format_kpi(t.asr, "percent"),
        format_kpi(t.acd, "seconds"),
        format_kpi(t.ner, "percent"),
        format_kpi(cost_seen_by(scope, t), "money"),
    ]
    figures = [
        dual_axis_figure(report["hourly"], "period", ("calls", "Calls"), ("minutes", "Minutes")),
        pie_figure(report["causes"], "label", "calls"),
        bar_figure(report["countries"], "label", "calls"),
        bar_figure(report["switches"], "label", "calls"),
    ]
    return [*kpis, *figures, report["hourly"], report["causes"], report["countries"], report["switches"]]
