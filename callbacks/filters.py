"""The shared filter bar: options, presets, the URL query string, and chart CSV downloads."""

from __future__ import annotations

from dash import MATCH, Input, Output, State, clientside_callback, ctx, dcc, no_update

from data.admin import acl
from data.core.i18n import gettext as _
from data.core.report_filter import RELATIVE_PRESETS, ReportFilter, preset_range, report_range_from_query, user_today
from data.core.scope import Scope, current_scope
from data.core.spreadsheet import rows_to_csv, rows_to_xlsx
from data.reports.timeseries import zoom_query
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
# The theme switch's value (the shell's store): charts are drawn with the theme's template.
THEME_INPUT = Input("theme-store", "data")
# Last on a report page's callback (after its own inputs): a zoomed range's times of day, and the theme.
RANGE_AND_THEME = (Input("filter-times", "data"), THEME_INPUT)


def report_filter(
    scope: Scope,
    start: str | None,
    end: str | None,
    preset: str | None,
    switches,
    customer,
    accountcodes,
    times: dict | None = None,
) -> ReportFilter:
    """The filter bar's values (``FILTER_INPUTS``) as the one report filter (data/core/report_filter.py).

    ``times`` (a zoomed range: the times of day on its first and last day) count only while the date range
    is still the one they were chosen with and no preset is chosen."""
    values = {"start": start, "end": end, "preset": preset, "switch": switches, "customer": customer}
    if times and not preset and times.get("start") == (start or "")[:10] and times.get("end") == (end or "")[:10]:
        values.update({"from": times.get("from"), "to": times.get("to")})
    return report_range_from_query({**values, "accountcode": accountcodes}, scope)


def zoom_to(relayout: dict | None, scope: Scope):
    """The filter bar's dates, preset and times for a drag over a time chart (``relayoutData``), or None."""
    if not relayout or "xaxis.range[0]" not in relayout or "xaxis.range[1]" not in relayout:
        return None
    keys = zoom_query(relayout["xaxis.range[0]"], relayout["xaxis.range[1]"], scope.timezone)
    if keys is None:
        return None
    times = {key: keys[key] for key in ("start", "end", "from", "to")} if "from" in keys else None
    return keys["start"], keys["end"], None, times


def register_zoom(register, graph_ids: list[str]) -> None:
    """A drag over any of the page's time charts sets the page's range: every chart follows, and the URL."""

    @register(
        Output("filter-dates", "start_date", allow_duplicate=True),
        Output("filter-dates", "end_date", allow_duplicate=True),
        Output("filter-preset", "value", allow_duplicate=True),
        Output("filter-times", "data", allow_duplicate=True),
        [Input(graph, "relayoutData") for graph in graph_ids],
        prevent_initial_call=True,
    )
    def zoom_range(*relayouts):
        zoomed = zoom_to(ctx.triggered[0]["value"] if ctx.triggered else None, current_scope())
        return zoomed if zoomed else (no_update,) * 4


def register_view_state(inputs: list[tuple]) -> None:
    """The page's own choices kept in the URL beside the filters, so a copied address opens the same view:
    ``inputs`` are (URL key, component id[, property, default "value"]); lists are joined with commas,
    a switch that is on is "1"."""
    keys = [item[0] for item in inputs]
    clientside_callback(
        f"""function(...values) {{
            const keys = {keys!r};
            const view = {{}};
            keys.forEach((k, i) => {{
                const v = values[i];
                view[k] = v === true ? '1' : v === false ? null : Array.isArray(v) ? v.join(',') : v;
                if (typeof view[k] === 'string' && k === 'day') {{ view[k] = view[k].slice(0, 10); }}
            }});
            return view;
        }}""",
        Output("filter-view", "data", allow_duplicate=True),
        [Input(item[1], item[2] if len(item) > 2 else "value") for item in inputs],
        prevent_initial_call="initial_duplicate",
    )


def register_drill_down(graph_ids: list[str], store_id: str = "drill-down") -> None:
    """A click on a bar, slice, point or country opens the CDR search of its calls (its ``href``, the last
    text of the point's customdata, data/reports/timeseries.py)."""
    clientside_callback(
        """function() {
            const click = window.dash_clientside.callback_context.triggered[0];
            const point = click && click.value && click.value.points && click.value.points[0];
            const data = point ? [].concat(point.customdata) : [];
            const href = data.reverse().find(v => typeof v === 'string' && v.startsWith('/cdrs?'));
            if (href) { window.location.assign(href); }
            return href || window.dash_clientside.no_update;
        }""",
        Output(store_id, "data", allow_duplicate=True),
        [Input(graph, "clickData") for graph in graph_ids],
        prevent_initial_call=True,
    )


@callback(
    Output("filter-switch", "options"),
    Output("filter-customer", "options"),
    Output("filter-accountcode", "options"),
    Output("filter-customer-col", "style"),
    Output("filter-timezone", "children"),
    Input("filter-switch", "id"),
    State("filter-accountcode", "value"),
)
def fill_filter_options(_id, accountcodes):
    scope = current_scope()
    options = filter_options(scope)
    return (
        options["switches"],
        options["customers"],
        typed_accountcodes(options["accountcodes"], accountcodes),
        None if scope.is_admin else HIDDEN,
        _("Times in %(zone)s", zone=scope.timezone),
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
    [Output("filter-dates", "start_date"), Output("filter-dates", "end_date"), Output("filter-preset", "value")],
    [Input("filter-preset", "value"), Input("filter-dates", "start_date"), Input("filter-dates", "end_date")],
)
def sync_preset_and_dates(preset, start, end):
    """A preset fills the dates; dates changed by hand clear the preset. Either way, both agree. A relative
    preset (the last hour ...) shows the days it touches."""
    scope = current_scope()
    if ctx.triggered_id == "filter-dates" and preset in RELATIVE_PRESETS:
        return no_update, no_update, None
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
    """function(start, end, preset, switches, customer, codes, times, extra) {
        const q = new URLSearchParams();
        if (preset) { q.set('preset', preset); }
        else {
            if (start) q.set('start', start.slice(0, 10)); if (end) q.set('end', end.slice(0, 10));
            if (times && start && end && times.start === start.slice(0, 10) && times.end === end.slice(0, 10)) {
                if (times.from) q.set('from', times.from);
                if (times.to) q.set('to', times.to);
            }
        }
        if (switches && switches.length) q.set('switch', switches.join(','));
        if (customer) q.set('customer', customer);
        if (codes && codes.length) q.set('accountcode', codes.join(','));
        Object.entries(extra || {}).forEach(([k, v]) => {
            if (v !== null && v !== undefined && v !== '') q.set(k, v);
        });
        const search = q.toString() ? '?' + q.toString() : '';
        if (window.location.search !== search) {
            window.history.replaceState(null, '', window.location.pathname + search);
        }
        return search;
    }""",
    Output("filter-url", "data"),
    *FILTER_INPUTS,
    Input("filter-times", "data"),
    Input("filter-view", "data"),
)


# A zoomed range's times of day, beside the dates that only show days.
clientside_callback(
    """function(times, start, end, preset) {
        const on = times && !preset && start && end && times.start === start.slice(0, 10)
            && times.end === end.slice(0, 10);
        return on ? (times.from || '00:00') + ' → ' + (times.to || '24:00') : '';
    }""",
    Output("filter-zoomed", "children"),
    Input("filter-times", "data"),
    Input("filter-dates", "start_date"),
    Input("filter-dates", "end_date"),
    Input("filter-preset", "value"),
)


@callback(
    Output({"type": "csv-download", "chart": MATCH}, "data"),
    Input({"type": "csv-button", "chart": MATCH}, "n_clicks"),
    Input({"type": "xlsx-button", "chart": MATCH}, "n_clicks"),
    [State({"type": "chart-data", "chart": MATCH}, "data"), State({"type": "chart-data", "chart": MATCH}, "id")],
    prevent_initial_call=True,
)
def download_chart_csv(_csv, _xlsx, rows, chart):
    """The chart's data as CSV, or as a workbook (numbers as numbers, labels such as numbers and codes as text)
    when its XLSX button was pressed."""
    if isinstance(ctx.triggered_id, dict) and ctx.triggered_id.get("type") == "xlsx-button":
        return dcc.send_bytes(rows_to_xlsx(rows or [], chart["chart"]), f"{chart['chart']}.xlsx")
    return {"content": rows_to_csv(rows or []), "filename": f"{chart['chart']}.csv", "type": "text/csv"}
