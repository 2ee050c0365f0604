"""CDR search callbacks: URL state, grid blocks (keyset paging), the detail modal and the chart.

Every server callback builds its query from ``current_scope()`` and the page's query string, parsed
by ``data.cdr_search.search.search_criteria_from_query`` exactly as the export routes parse it.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import parse_qs

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, clientside_callback, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.filters import THEME_INPUT
from callbacks.forms import clicked
from components.cdr_detail import detail_body, detail_title, grid_texts, saved_search_items
from components.figures import dual_axis_figure, themed
from data.admin import acl
from data.cdr_search import saved
from data.cdr_search.search import by_day_chart, cdr_row, grid_block, parse_sort, search_criteria_from_query
from data.core.i18n import current_language, ngettext, number
from data.core.i18n import gettext as _
from data.core.scope import Scope, current_actor, current_scope
from data.rating.explain import explain_call
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/cdrs"))

MAX_CURSORS = 2000
_PAGE_FILTERS = (
    "from",
    "to",
    "dst-op",
    "dst",
    "src-op",
    "src",
    "country",
    "cause",
    "direction",
    "duration-op",
    "duration",
    "billsec-op",
    "billsec",
    "answered",
    "callid",
    "flag",
    "columns",
)

# The page's filters join the shared ones (filter-url, written by the shared callback) in the URL.
# This runs after the shared callback (it takes its output), so the shared keys are never lost.
clientside_callback(
    """function(shared, from, to, dstOp, dst, srcOp, src, countries, causes, direction,
                durationOp, duration, billsecOp, billsec, answered, callid, flag, columns, defaultColumns) {
        const q = new URLSearchParams((shared || '').replace(/^\\?/, ''));
        const has = (v) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length);
        if (has(from)) q.set('from', from);
        if (has(to)) q.set('to', to);
        if (has(dst)) { q.set('dst', String(dst).trim()); q.set('dst_op', dstOp || 'begins'); }
        if (has(src)) { q.set('src', String(src).trim()); q.set('src_op', srcOp || 'begins'); }
        if (has(countries)) q.set('country', countries.join(','));
        if (has(causes)) q.set('cause', causes.join(','));
        if (has(direction) && direction !== 'any') q.set('direction', direction);
        if (has(duration)) { q.set('duration', duration); q.set('duration_op', durationOp || 'ge'); }
        if (has(billsec)) { q.set('billsec', billsec); q.set('billsec_op', billsecOp || 'ge'); }
        if (answered) q.set('answered', '1');
        if (has(callid)) q.set('callid', String(callid).split(',').map((v) => v.trim()).filter((v) => v).join(','));
        if (has(flag) && flag !== 'all') q.set('flag', flag);
        // the columns only when they are not the default ones (in the default order)
        const cols = (columns || []).slice().sort(), defaults = (defaultColumns || []).slice().sort();
        if (cols.length && defaults.length && cols.join(',') !== defaults.join(',')) q.set('cols', cols.join(','));
        const search = q.toString() ? '?' + q.toString() : '';
        if (window.location.search !== search) {
            window.history.replaceState(null, '', window.location.pathname + search);
        }
        return [search, '/download/cdrs.csv' + search, '/download/cdrs.xlsx' + search,
                '/download/cdrs.json' + search];
    }""",
    Output("cdr-search-query", "data"),
    Output("cdr-search-export-csv", "href"),
    Output("cdr-search-export-xlsx", "href"),
    Output("cdr-search-export-json", "href"),
    Input("filter-url", "data"),
    *[Input(f"cdr-search-{name}", "value") for name in _PAGE_FILTERS],
    State("cdr-search-default-columns", "data"),
)

# The column chooser: hide or show the grid's columns (the URL keeps the choice, see above).
clientside_callback(
    """function(shown, defs) {
        if (!Array.isArray(shown) || !Array.isArray(defs)) { return window.dash_clientside.no_update; }
        return defs.map((d) => Object.assign({}, d, {hide: !shown.includes(d.colId)}));
    }""",
    Output("cdr-search-grid", "columnDefs"),
    Input("cdr-search-columns", "value"),
    State("cdr-search-grid", "columnDefs"),
    prevent_initial_call=True,
)

# New filters: drop the grid's cached blocks so it asks again from the first row. Skipped when the
# query only changed in form (key order), e.g. on page load, when the grid already asked with it.
clientside_callback(
    """function(query, loaded) {
        const canon = (s) => Array.from(new URLSearchParams((s || '').replace(/^\\?/, '')).entries())
            .filter(([k]) => k !== 'cols').map(([k, v]) => k + '=' + v).sort().join('&');  // columns: same rows
        if (query === null || query === undefined || canon(query) === canon(loaded)) {
            return window.dash_clientside.no_update;
        }
        dash_ag_grid.getApiAsync('cdr-search-grid').then((api) => {
            if (api.getDisplayedRowCount() > 0) { api.ensureIndexVisible(0, 'top'); }  // a new search starts at the top
            api.purgeInfiniteCache();
        });
        return query;
    }""",
    Output("cdr-search-loaded", "data"),
    Input("cdr-search-query", "data"),
    State("cdr-search-loaded", "data"),
)

# The exact count arrives with the report by day: give it to the grid (if the filters are still the same).
clientside_callback(
    """function(total, query) {
        const canon = (s) => Array.from(new URLSearchParams((s || '').replace(/^\\?/, '')).entries())
            .filter(([k]) => k !== 'cols').map(([k, v]) => k + '=' + v).sort().join('&');  // columns: same rows
        if (!total || typeof total.total !== 'number' || canon(total.query) !== canon(query)) {
            return window.dash_clientside.no_update;
        }
        dash_ag_grid.getApiAsync('cdr-search-grid').then((api) => api.setRowCount(total.total, true));
        return total.text;  // "1,234 calls" in the user's language (refresh_by_day)
    }""",
    Output("cdr-search-count", "children"),
    Input("cdr-search-total", "data"),
    State("cdr-search-query", "data"),
)

clientside_callback(
    "function(n) { return false; }",
    Output("cdr-search-detail", "is_open", allow_duplicate=True),
    Input("cdr-search-detail-close", "n_clicks"),
    prevent_initial_call=True,
)


def criteria_for(query: str | None, scope: Scope):
    return search_criteria_from_query(parse_qs((query or "").lstrip("?")), scope)


def _cursor_text(key: tuple[datetime, int]) -> list:
    return [key[0].isoformat(), int(key[1])]


def _cursor_key(value) -> tuple[datetime, int] | None:
    """A stored cursor back as (starting_date, id); anything malformed means "no cursor" (OFFSET)."""
    try:
        when, cdr_id = value
        parsed = datetime.fromisoformat(when)
        return (parsed, int(cdr_id)) if parsed.tzinfo else None
    except (TypeError, ValueError):
        return None


@callback(
    [Output("cdr-search-grid", "getRowsResponse"), Output("cdr-search-cursors", "data")],
    Input("cdr-search-grid", "getRowsRequest"),
    [State("cdr-search-query", "data"), State("cdr-search-cursors", "data"), State("cdr-search-total", "data")],
    prevent_initial_call=True,
)
def load_block(request, query, cursors, total):
    """One block of the grid. Default order: keyset on (starting_date, id) from the previous block's end.

    The row count is exact once the last block is read or the report by day has counted the result
    (``total``, for the same criteria); until then it is "the rows so far and one more" (AG Grid asks
    for the next block when that row comes into view). No block ever counts the range.
    """
    if not isinstance(request, dict):
        raise PreventUpdate
    scope = current_scope()
    criteria = criteria_for(query, scope)
    sort = parse_sort(request.get("sortModel"), scope)
    key = json.dumps([criteria.fingerprint(), sort])
    fresh = not (isinstance(cursors, dict) and cursors.get("key") == key and isinstance(cursors.get("after"), dict))
    state = {"key": key, "after": {}} if fresh else cursors
    try:
        start, end = int(request.get("startRow") or 0), int(request.get("endRow") or 0)
    except (TypeError, ValueError):
        raise PreventUpdate from None
    if start < 0 or end <= start:
        raise PreventUpdate
    block = grid_block(scope, criteria, start, end, sort, _cursor_key(state["after"].get(str(start))))
    read_to = start + len(block["rows"])
    if block["last_key"] and read_to == end and len(state["after"]) < MAX_CURSORS:
        state["after"][str(end)] = _cursor_text(block["last_key"])
    known = total.get("total") if isinstance(total, dict) and total.get("key") == criteria.fingerprint() else None
    if read_to < end:
        row_count = read_to
    elif isinstance(known, int) and known >= read_to:
        row_count = known
    else:
        row_count = read_to + 1
    return {"rowData": grid_texts(block["rows"]), "rowCount": row_count}, state


@callback(
    Output("cdr-search-detail", "is_open"),
    Output("cdr-search-detail-title", "children"),
    Output("cdr-search-detail-body", "children"),
    [Input("cdr-search-grid", "cellClicked"), Input("cdr-search-open-row", "data")],
    prevent_initial_call=True,
)
def open_detail(clicked_cell, opened):
    """The clicked (or, from the keyboard, opened) call, read again with the user's scope (the browser only
    sends an id): names, local times, flags and how its price was made."""
    chosen = opened if ctx.triggered_id == "cdr-search-open-row" else clicked_cell
    row_id = chosen.get("rowId", chosen.get("id")) if isinstance(chosen, dict) else None
    if row_id in (None, ""):
        raise PreventUpdate
    scope = current_scope()
    row = cdr_row(scope, row_id)
    if row is None:
        missing = dbc.Alert(_("This call does not exist or is not yours to see."), color="warning")
        return True, _("CDR not found"), missing
    explanation = explain_call(row["id"], with_buy_side=scope.is_admin)
    return True, detail_title(row, scope.timezone), detail_body(row, scope.timezone, explanation)


@callback(
    Output("cdr-search-delete-confirm", "displayed"),
    Output("cdr-search-delete-confirm", "message"),
    Output("cdr-search-delete-target", "data"),
    Input({"type": "cdr-search-saved-delete", "id": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def ask_before_deleting(_clicks):
    """A saved search's × asks first; only the user's own (anyone else's id names nothing here)."""
    if not isinstance(ctx.triggered_id, dict) or not clicked():
        raise PreventUpdate  # the list drawn again, not a click
    found = saved.get_saved(current_actor().id, ctx.triggered_id["id"])
    if found is None:
        raise PreventUpdate
    return True, _("Delete the saved search “%(name)s”?", name=found["name"]), found["id"]


@callback(
    Output("cdr-search-saved", "children"),
    Output("cdr-search-save-name", "valid"),
    Output("cdr-search-save-name", "invalid"),
    Output("cdr-search-save-name", "title"),
    Input("cdr-search-save", "n_clicks"),
    Input("cdr-search-save-name", "n_submit"),
    Input("cdr-search-delete-confirm", "submit_n_clicks"),
    State("cdr-search-save-name", "value"),
    State("cdr-search-query", "data"),
    State("cdr-search-delete-target", "data"),
)
def saved_search_list(_clicks, _submit, _confirmed, name, query, target):
    """The user's saved searches; saving the current one (filters and columns), or deleting the one confirmed
    (the user's own: the user comes from the session, never from the page), first when asked."""
    user_id = current_actor().id
    valid = invalid = False
    message = ""
    if ctx.triggered_id == "cdr-search-delete-confirm":
        saved.delete_saved(user_id, target)
    elif ctx.triggered_id in ("cdr-search-save", "cdr-search-save-name"):
        try:
            saved.save_search(user_id, name, query)
            valid = True
            message = _("Saved")
        except saved.SavedSearchError as exc:
            invalid, message = True, str(exc)
    return saved_search_items(saved.list_saved(user_id)), valid, invalid, message


@callback(
    Output("cdr-search-by-day-graph", "figure"),
    Output({"type": "chart-data", "chart": "cdr-search-by-day"}, "data"),
    Output("cdr-search-total", "data"),
    Input("cdr-search-query", "data"),
    THEME_INPUT,
    prevent_initial_call=True,  # the filters always settle the query once the page is up
)
def refresh_by_day(query, dark):
    """Calls and minutes per local day for the current filters (rollups when exact, else cdr), and the count."""
    if query is None:
        return no_update, no_update, no_update
    scope = current_scope()
    criteria = criteria_for(query, scope)
    chart = by_day_chart(scope, criteria)
    count = chart["count"]
    text = ngettext("%(num)s call", "%(num)s calls", count, num=number(count, current_language()))
    total = {"query": query, "key": criteria.fingerprint(), "total": count, "text": text}
    figure = dual_axis_figure(
        chart["rows"], "period", ("calls", _("Calls")), ("minutes", _("Minutes")), note=("acd", _("ACD"), "s")
    )
    return themed(figure, dark), chart["rows"], total
