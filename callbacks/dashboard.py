from dash import Input, Output, State, no_update

from callbacks.filters import THEME_INPUT, register_drill_down, report_filter
from components.figures import bar_figure, pie_figure, themed
from components.time_figures import time_dual_axis_figure, time_series_figure
from data.admin import acl
from data.alerting.alarms import firings_on_chart
from data.core.i18n import gettext as _
from data.core.i18n import with_country_names
from data.core.kpis import format_kpi
from data.core.scope import current_scope
from data.live.freshness import data_version
from data.live.store import calls_in_progress
from data.reports.timeseries import last_whole_hours, local_text
from data.reports.traffic import cost_seen_by, dashboard_report
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/"))

CHARTS = ("dashboard-hourly", "dashboard-asr", "dashboard-causes", "dashboard-countries", "dashboard-switches")
KPIS = ("calls", "minutes", "asr", "acd", "ner", "pdd", "short", "cost")


@callback(
    Output("dashboard-interval", "disabled"),
    Input("dashboard-autorefresh", "value"),
)
def toggle_autorefresh(on):
    return not on


@callback(
    [Output("dashboard-version", "data"), Output("dashboard-live-calls", "children")],
    Input("dashboard-interval", "n_intervals"),
    State("dashboard-drawn-version", "data"),
)
def check_data_version(_, drawn):
    """The cheap questions asked every 2 s: did an import store calls since the drawn version (then the
    charts redraw), and how many calls are in progress now (polled from the switches, data.live)?"""
    scope = current_scope()
    live = calls_in_progress(scope)
    version = data_version()
    return (no_update if drawn is None or version == drawn else version), ("–" if live is None else str(live))


def _download(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "href"} for row in rows]


@callback(
    [Output(f"kpi-{k}", "children") for k in KPIS],
    [Output(f"{c}-graph", "figure") for c in CHARTS],
    [Output({"type": "chart-data", "chart": c}, "data") for c in CHARTS],
    Output("dashboard-drawn-version", "data"),
    Input("filter-switch", "value"),
    Input("filter-customer", "value"),
    Input("filter-accountcode", "value"),
    Input("dashboard-version", "data"),
    THEME_INPUT,
)
def refresh_dashboard(switches, customer, accountcodes, _version, dark):
    scope = current_scope()
    version = data_version()  # read before the report: a batch committed meanwhile is drawn next time
    chosen = report_filter(scope, None, None, None, switches, customer, accountcodes)
    f = last_whole_hours(
        24, scope.timezone, switch_ids=chosen.switch_ids, user_ids=chosen.user_ids, accountcodes=chosen.accountcodes
    )
    report = dashboard_report(scope, f, data_version=version)
    t = report["totals"]
    kpis = [
        format_kpi(t.attempts),
        format_kpi(t.minutes, "minutes"),
        format_kpi(t.asr, "percent"),
        format_kpi(t.acd, "seconds"),
        format_kpi(t.ner, "percent"),
        format_kpi(t.pdd, "seconds"),
        format_kpi(t.short_call_ratio, "percent"),
        format_kpi(cost_seen_by(scope, t), "money"),  # the currency is in the card's label
    ]
    end = local_text(f.end, scope.timezone)
    report["countries"] = with_country_names(report["countries"])  # drawn and downloaded in the reader's language
    firings = firings_on_chart(scope, f.start, f.end)  # the alarms' own scope (data.alerting.alarms.report)
    hourly = report["hourly"]
    figures = [
        time_dual_axis_figure(
            hourly,
            ("calls", _("Calls")),
            ("minutes", _("Minutes")),
            "hour",
            end,
            firings=firings.get("calls", []) + firings.get("minutes", []),
        ),
        time_series_figure(hourly, "asr", "hour", end, y_title=_("ASR"), percent=True, firings=firings.get("asr")),
        pie_figure(report["causes"], "label", "calls"),
        bar_figure(report["countries"], "label", "calls"),
        bar_figure(report["switches"], "label", "calls"),
    ]
    tables = [_download(report[part]) for part in ("hourly", "causes", "countries", "switches")]
    tables.insert(1, [{"period": r["period"], "asr": r["asr"]} for r in hourly])
    return [*kpis, *[themed(fig, dark) for fig in figures], *tables, version]


register_drill_down([f"{c}-graph" for c in CHARTS])
