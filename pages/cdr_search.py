"""CDR search: the shared filter bar, the page's own filters, an infinite-scroll grid, a detail modal,
exports of the whole result and a "Report by day" chart. Every filter lives in the URL query string."""

from urllib.parse import urlencode

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card
from components.filters import filter_bar
from data.admin import acl
from data.cdr_search.search import COMPARISONS, DIRECTIONS, NUMBER_OPERATORS, search_options
from data.core.i18n import N_
from data.core.report_filter import preset_range, query_list, query_value, user_today
from data.core.scope import current_scope

dash.register_page(__name__, path="/cdrs", name=N_("CDR search"), order=70, access=acl.PAGE)

BLOCK_SIZE = 100
NUMBER_OPS = [{"label": label, "value": value} for value, label in NUMBER_OPERATORS.items()]
COMPARISON_OPS = [{"label": label, "value": value} for value, label in COMPARISONS.items()]


def _int_or_none(value):
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 9 else None


def _operator_filter(prefix: str, label: str, query: dict, operators: list, default: str, width: str, value_input):
    """A label, an operator chooser and the value's input, starting from the URL's ``<prefix>_op`` and
    ``<prefix>`` (the search's own keys, read by data.cdr_search.search)."""
    return dbc.InputGroup(
        [
            dbc.InputGroupText(label),
            dbc.Select(
                id=f"cdr-search-{prefix}-op",
                options=operators,
                value=query_value(query, f"{prefix}_op") or default,
                style={"maxWidth": width},
            ),
            value_input,
        ],
        size="sm",
    )


def _number_filter(prefix: str, label: str, query: dict) -> dbc.Col:
    value = dbc.Input(
        id=f"cdr-search-{prefix}", value=query_value(query, prefix), placeholder="number", debounce=True, maxlength=64
    )
    return dbc.Col(_operator_filter(prefix, label, query, NUMBER_OPS, "begins", "9rem", value), md=4)


def _comparison_filter(prefix: str, label: str, query: dict) -> dbc.Col:
    value = dbc.Input(
        id=f"cdr-search-{prefix}",
        type="number",
        min=0,
        step=1,
        debounce=True,
        placeholder="seconds",
        value=_int_or_none(query_value(query, prefix)),
    )
    return dbc.Col(_operator_filter(prefix, label, query, COMPARISON_OPS, "ge", "5rem", value), md=2)


def search_filters(query: dict) -> dbc.Card:
    """The page's own filters; their values start from the URL like the shared ones."""
    options = search_options()
    direction = query_value(query, "direction")
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.InputGroup(
                                [
                                    dbc.InputGroupText("From"),
                                    dbc.Input(
                                        id="cdr-search-from",
                                        type="time",
                                        value=query_value(query, "from"),
                                        debounce=True,
                                    ),
                                    dbc.InputGroupText("to"),
                                    dbc.Input(
                                        id="cdr-search-to", type="time", value=query_value(query, "to"), debounce=True
                                    ),
                                ],
                                size="sm",
                            ),
                            md=3,
                        ),
                        _number_filter("dst", "Destination", query),
                        _number_filter("src", "Caller", query),
                        dbc.Col(
                            dbc.Select(
                                id="cdr-search-direction",
                                size="sm",
                                value=direction if direction in DIRECTIONS else "",
                                options=[
                                    {"label": "Any direction", "value": ""},
                                    *({"label": d.capitalize(), "value": d} for d in DIRECTIONS),
                                ],
                            ),
                            md=1,
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Dropdown(
                                id="cdr-search-country",
                                multi=True,
                                placeholder="All countries",
                                options=options["countries"],
                                value=[c.upper() for c in query_list(query, "country")],
                            ),
                            md=3,
                        ),
                        dbc.Col(
                            dcc.Dropdown(
                                id="cdr-search-cause",
                                multi=True,
                                placeholder="All hangup causes",
                                options=options["causes"],
                                value=[int(c) for c in query_list(query, "cause") if c.isdigit() and len(c) <= 9],
                            ),
                            md=3,
                        ),
                        _comparison_filter("duration", "Duration", query),
                        _comparison_filter("billsec", "Billsec", query),
                        dbc.Col(
                            dbc.Switch(
                                id="cdr-search-answered",
                                label="Answered only",
                                value=query_value(query, "answered") in ("1", "true", "on", "yes"),
                            ),
                            md="auto",
                            className="align-self-center",
                        ),
                    ],
                    className="g-2 align-items-center",
                ),
            ]
        ),
        className="mb-3",
    )


def column_defs(is_admin: bool, tz: str) -> list[dict]:
    sortable = {"sortable": True}
    columns = [
        {
            "field": "starting_date",
            "headerName": f"Start ({tz})",
            "minWidth": 170,
            **sortable,
            "sortingOrder": ["desc", "asc"],
        },
        {"field": "switch", "headerName": "Switch"},
        {"field": "caller_id_number", "headerName": "Caller", **sortable},
        {"field": "destination_number", "headerName": "Destination", **sortable},
        {"field": "country_code", "headerName": "Country", "maxWidth": 110, **sortable},
        {"field": "duration", "headerName": "Duration (s)", "type": "rightAligned", **sortable},
        {"field": "billsec", "headerName": "Billsec (s)", "type": "rightAligned", **sortable},
        {
            "field": "hangup_cause",
            "colId": "hangup_cause_id",
            "headerName": "Hangup cause",
            "minWidth": 180,
            **sortable,
        },
        {"field": "direction", "headerName": "Direction", **sortable},
        {"field": "accountcode", "headerName": "Accountcode", **sortable},
        {"field": "sell_cost", "headerName": "Sell cost", "type": "rightAligned", **sortable},
    ]
    if is_admin:
        columns.append({"field": "buy_cost", "headerName": "Buy cost", "type": "rightAligned", **sortable})
    return columns


def export_buttons() -> dbc.ButtonGroup:
    return dbc.ButtonGroup(
        [
            dbc.Button(
                f"Export {fmt.upper()}",
                id=f"cdr-search-export-{fmt}",
                href=f"/download/cdrs.{fmt}",
                external_link=True,
                download="",
                size="sm",
                color="secondary",
                outline=True,
            )
            for fmt in ("csv", "xlsx", "json")
        ]
    )


def detail_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id="cdr-search-detail-title")),
            dbc.ModalBody(id="cdr-search-detail-body"),
            dbc.ModalFooter(dbc.Button("Close", id="cdr-search-detail-close", color="secondary", size="sm")),
        ],
        id="cdr-search-detail",
        size="lg",
        scrollable=True,
        is_open=False,
    )


def initial_query(query: dict, today) -> str:
    """The query string the filters will settle on, so the grid's first request already uses it.

    The shared filter bar fills missing dates with the default range (and keeps a preset alone).
    """
    values = {k: query_value(query, k) for k in query if query_value(query, k) is not None}
    if not values.get("preset") and not (values.get("start") and values.get("end")):
        first, last = preset_range(None, today)
        values.update(start=first.isoformat(), end=last.isoformat())
    return "?" + urlencode(values)


def layout(**query):
    scope = current_scope()
    initial = initial_query(query, user_today(scope))
    return html.Div(
        [
            html.H2("CDR search"),
            filter_bar(query),
            search_filters(query),
            # The query string of the filters (set by a clientside callback from every filter), the one the
            # grid last loaded, and the keyset cursors of the blocks read so far.
            dcc.Store(id="cdr-search-query", data=initial),
            dcc.Store(id="cdr-search-loaded", data=initial),
            dcc.Store(id="cdr-search-cursors"),
            dcc.Store(id="cdr-search-total"),  # {"query", "key", "total"}: the exact count, from the report by day
            dbc.Row(
                [
                    dbc.Col(
                        html.Span("Counting…", id="cdr-search-count", className="fw-semibold"),
                        className="align-self-center",
                    ),
                    dbc.Col(export_buttons(), width="auto"),
                ],
                className="mb-2",
            ),
            dag.AgGrid(
                id="cdr-search-grid",
                rowModelType="infinite",
                columnDefs=column_defs(scope.is_admin, scope.timezone),
                defaultColDef={"resizable": True, "sortable": False, "filter": False, "minWidth": 90},
                columnSize="responsiveSizeToFit",
                getRowId="params.data.row_id",
                dashGridOptions={
                    "cacheBlockSize": BLOCK_SIZE,
                    "maxConcurrentDatasourceRequests": 1,  # one request at a time: keyset cursors follow in order
                    "infiniteInitialRowCount": 1,
                    "maxBlocksInCache": 50,
                    "blockLoadDebounceMillis": 100,
                    "rowBuffer": 0,
                    "suppressMultiSort": False,
                },
                style={"height": "520px", "cursor": "pointer"},
            ),
            html.Div(className="mb-3"),
            chart_card("cdr-search-by-day", "Report by day"),
            detail_modal(),
        ]
    )
