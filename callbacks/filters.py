"""The shared filter bar: options, presets, the URL query string, and chart CSV downloads."""

from __future__ import annotations

from dash import MATCH, Input, Output, State, clientside_callback, ctx, dcc, no_update

from data.admin import acl
from data.core.report_filter import ReportFilter, preset_range, report_filter_from_query, user_today
from data.core.scope import Scope, current_scope
from data.core.spreadsheet import rows_to_csv, rows_to_xlsx
from data.reports.traffic import filter_options
from routes.access import callbacks_for

callback = callbacks_for(acl.ANY_USER)  # the filter bar, on every report page

HIDDEN = {"display": "none"}
# The filter bar's values, in the order ``report_filter`` takes them (after the scope).
FILTER_INPUTS = (
    Input("filter-dates", "start_date"),
    Input("filter-dates", "end_date"),
    Input("filter-preset", "value"),
    Input("filter-switch", "value"),
    Input("filter-customer", "value"),
    Input("filter-accountcode", "value"),
)


def report_filter(
    scope: Scope, start: str | None, end: str | None, preset: str | None, switches, customer, accountcodes
) -> ReportFilter:
    """The filter bar's values (``FILTER_INPUTS``) as the one report filter (data/core/report_filter.py)."""
    values = {"start": start, "end": end, "preset": preset, "switch": switches, "customer": customer}
    return report_filter_from_query({**values, "accountcode": accountcodes}, scope)


@callback(
    Output("filter-switch", "options"),
    Output("filter-customer", "options"),
    Output("filter-accountcode", "options"),
    Output("filter-customer-col", "style"),
    Output("filter-timezone", "children"),
    Input("filter-switch", "id"),
    State("filter-accountcode", "value"),
)
def fill_filter_options(_, accountcodes):
    scope = current_scope()
    options = filter_options(scope)
    return (
        options["switches"],
        options["customers"],
        typed_accountcodes(options["accountcodes"], accountcodes),
        None if scope.is_admin else HIDDEN,
        f"Times in {scope.timezone}",
    )


def typed_accountcodes(options: list[dict], chosen) -> list[dict]:
    """The linked accountcodes, and the chosen ones that are not (typed, or from the URL): any accountcode
    can be a filter, whether a customer owns it or not (the scope still decides whose calls are seen)."""
    known = {o["value"] for o in options}
    extra = [v for v in (chosen or []) if isinstance(v, str) and v and v not in known]
    return options + [{"label": v, "value": v} for v in extra]


# A typed accountcode becomes an option ("use 1234"), so unlinked accountcodes can be chosen too.
clientside_callback(
    """function(typed, options, chosen) {
        const text = (typed || '').trim().slice(0, 80);
        options = (options || []).filter((o) => !o.typed || o.value === text || (chosen || []).includes(o.value));
        if (text && !options.some((o) => o.value === text)) {
            options = options.concat([{label: 'Use \u201c' + text + '\u201d', value: text, typed: true}]);
        }
        return options;
    }""",
    Output("filter-accountcode", "options", allow_duplicate=True),
    Input("filter-accountcode", "search_value"),
    State("filter-accountcode", "options"),
    State("filter-accountcode", "value"),
    prevent_initial_call=True,
)


@callback(
    Output("filter-dates", "start_date"),
    Output("filter-dates", "end_date"),
    Output("filter-preset", "value"),
    Input("filter-preset", "value"),
    Input("filter-dates", "start_date"),
    Input("filter-dates", "end_date"),
)
def sync_preset_and_dates(preset, start, end):
    """A preset fills the dates; dates changed by hand clear the preset. Either way, both agree."""
    scope = current_scope()
    if ctx.triggered_id == "filter-dates" and preset:
        first, last = preset_range(preset, user_today(scope))
        if (start or "")[:10] != first.isoformat() or (end or "")[:10] != last.isoformat():
            return no_update, no_update, None
        return no_update, no_update, no_update
    if preset or not (start and end):
        first, last = preset_range(preset, user_today(scope))
        return first.isoformat(), last.isoformat(), no_update
    return no_update, no_update, no_update


# Keep the filters in the URL (history.replaceState: no reload), so a report can be bookmarked and shared.
clientside_callback(
    """function(start, end, preset, switches, customer, codes) {
        const q = new URLSearchParams();
        if (preset) { q.set('preset', preset); }
        else { if (start) q.set('start', start.slice(0, 10)); if (end) q.set('end', end.slice(0, 10)); }
        if (switches && switches.length) q.set('switch', switches.join(','));
        if (customer) q.set('customer', customer);
        if (codes && codes.length) q.set('accountcode', codes.join(','));
        const search = q.toString() ? '?' + q.toString() : '';
        if (window.location.search !== search) {
            window.history.replaceState(null, '', window.location.pathname + search);
        }
        return search;
    }""",
    Output("filter-url", "data"),
    Input("filter-dates", "start_date"),
    Input("filter-dates", "end_date"),
    Input("filter-preset", "value"),
    Input("filter-switch", "value"),
    Input("filter-customer", "value"),
    Input("filter-accountcode", "value"),
)


@callback(
    Output({"type": "csv-download", "chart": MATCH}, "data"),
    Input({"type": "csv-button", "chart": MATCH}, "n_clicks"),
    Input({"type": "xlsx-button", "chart": MATCH}, "n_clicks"),
    State({"type": "chart-data", "chart": MATCH}, "data"),
    State({"type": "chart-data", "chart": MATCH}, "id"),
    prevent_initial_call=True,
)
def download_chart_csv(_csv, _xlsx, rows, chart):
    """The chart's data as CSV, or as a workbook (numbers as numbers, labels such as numbers and codes as text)
    when its XLSX button was pressed."""
    if isinstance(ctx.triggered_id, dict) and ctx.triggered_id.get("type") == "xlsx-button":
        return dcc.send_bytes(rows_to_xlsx(rows or [], chart["chart"]), f"{chart['chart']}.xlsx")
    return {"content": rows_to_csv(rows or []), "filename": f"{chart['chart']}.csv", "type": "text/csv"}
