"""CDR search: the shared filter bar, the page's own filters, an infinite-scroll grid, a detail modal,
exports of the whole result and a "Report by day" chart. Every filter lives in the URL query string."""

from urllib.parse import urlencode

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card
from components.filters import filter_bar
from components.inputs import whole_number
from components.tables import grid_locale_text
from data.admin import acl
from data.alerting.flags import FLAGS
from data.cdr_search.search import COMPARISONS, DIRECTIONS, NUMBER_OPERATORS, search_options
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.report_filter import preset_range, query_list, query_value, user_today
from data.core.scope import current_scope

dash.register_page(__name__, path="/cdrs", name=N_("CDR search"), order=70, access=acl.PAGE)

BLOCK_SIZE = 100
ROW_HEIGHT = 30  # compact rows: about 25 visible at 1440 x 900
NUMBER_OPERATOR_LABELS = {
    "equals": N_("equals"),
    "begins": N_("begins with"),
    "contains": N_("contains"),
    "ends": N_("ends with"),
}
assert set(NUMBER_OPERATOR_LABELS) == set(NUMBER_OPERATORS)
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


def _number_filter(prefix: str, label: str, query: dict, md: int = 4) -> dbc.Col:
    value = dbc.Input(
        id=f"cdr-search-{prefix}",
        value=query_value(query, prefix),
        placeholder=_("number"),
        debounce=True,
        maxlength=64,
    )
    operators = [{"label": _(label), "value": value} for value, label in NUMBER_OPERATOR_LABELS.items()]
    return dbc.Col(_operator_filter(prefix, label, query, operators, "begins", "10rem", value), md=md)


DIRECTION_LABELS = {"inbound": N_("Inbound"), "outbound": N_("Outbound")}
FLAG_LABELS = {
    "any": N_("Flagged: any flag"),
    "blacklist": N_("Flagged: blacklisted"),
    "whitelist": N_("Flagged: whitelisted"),
    "threat": N_("Flagged: threat"),
}
assert set(DIRECTION_LABELS) == set(DIRECTIONS) and set(FLAG_LABELS) == set(FLAGS)


def _choice(key: str, value: str | None, labels: dict[str, str]) -> dcc.Dropdown:
    """A choice of the search's own (no blank option: the first one is "any"); ``labels`` are translated here."""
    return dcc.Dropdown(
        id=f"cdr-search-{key}",
        value=value if value in labels else next(iter(labels)),
        options=[{"label": _(label), "value": k} for k, label in labels.items()],
        clearable=False,
        searchable=False,
    )


def _multi_choice(key: str, placeholder: str, options: list[dict], value: list) -> dbc.Col:
    """A choice of several, none for all."""
    return dbc.Col(
        dcc.Dropdown(id=f"cdr-search-{key}", multi=True, placeholder=placeholder, options=options, value=value), md=3
    )


def _text_filter(key: str, label: str, query: dict, placeholder: str) -> dbc.InputGroup:
    return dbc.InputGroup(
        [
            dbc.InputGroupText(label),
            dbc.Input(
                id=f"cdr-search-{key}",
                value=",".join(query_list(query, key)) or None,
                placeholder=placeholder,
                debounce=True,
                maxlength=2000,
            ),
        ],
        size="sm",
    )


def _comparison_filter(prefix: str, label: str, query: dict) -> dbc.Col:
    value = whole_number(
        f"cdr-search-{prefix}", _int_or_none(query_value(query, prefix)), debounce=True, placeholder=_("seconds")
    )
    return dbc.Col(_operator_filter(prefix, label, query, COMPARISON_OPS, "ge", "5rem", value), md=2)


def search_filters(query: dict) -> dbc.Card:
    """The page's own filters; their values start from the URL like the shared ones."""
    options = search_options()
    direction, flag = query_value(query, "direction"), query_value(query, "flag")
    countries = [c.upper() for c in query_list(query, "country")]
    causes = [int(c) for c in query_list(query, "cause") if c.isdigit() and len(c) <= 9]
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.InputGroup(
                                [
                                    dbc.InputGroupText(_("From")),
                                    dbc.Input(
                                        id="cdr-search-from",
                                        type="time",
                                        value=query_value(query, "from"),
                                        debounce=True,
                                    ),
                                    dbc.InputGroupText(_("to")),
                                    dbc.Input(
                                        id="cdr-search-to", type="time", value=query_value(query, "to"), debounce=True
                                    ),
                                ],
                                size="sm",
                            ),
                            md=3,
                        ),
                        _number_filter("dst", _("Destination"), query),
                        _number_filter("src", _("Caller"), query, md=3),
                        dbc.Col(
                            _choice("direction", direction, {"any": N_("Any direction"), **DIRECTION_LABELS}),
                            md=2,
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                dbc.Row(
                    [
                        _multi_choice("country", _("All countries"), options["countries"], countries),
                        _multi_choice("cause", _("All hangup causes"), options["causes"], causes),
                        _comparison_filter("duration", _("Duration"), query),
                        _comparison_filter("billsec", _("Billsec"), query),
                        dbc.Col(
                            dbc.Switch(
                                id="cdr-search-answered",
                                label=_("Answered only"),
                                value=query_value(query, "answered") in ("1", "true", "on", "yes"),
                            ),
                            md="auto",
                            className="align-self-center",
                        ),
                    ],
                    className="g-2 mb-2 align-items-center",
                ),
                dbc.Row(
                    [
                        dbc.Col(_text_filter("callid", _("Call-ID"), query, _("one or more, comma-separated")), md=4),
                        dbc.Col(
                            _choice("flag", flag, {"all": N_("All calls"), **FLAG_LABELS}),
                            md=2,
                        ),
                    ],
                    className="g-2 align-items-center",
                ),
            ]
        ),
        className="mb-3",
    )


# The grid's columns: (colId, definition). Minimum widths fit the longest usual value at the grid's font,
# so no column is cut at 1440 px (a browser test measures it); the user hides the ones they do not need.
_SORTABLE = {"sortable": True}
_NUMERIC = {"type": "rightAligned", **_SORTABLE}
COLUMNS = {
    "starting_date": {"headerName": N_("Start"), "minWidth": 158, "sortingOrder": ["desc", "asc"], **_SORTABLE},
    "switch": {"headerName": N_("Switch"), "minWidth": 110},
    "caller_id_number": {"headerName": N_("Caller"), "minWidth": 146, **_SORTABLE},
    "destination_number": {"headerName": N_("Destination"), "minWidth": 176, **_SORTABLE},
    "country_code": {"headerName": N_("Country"), "minWidth": 74, **_SORTABLE},
    "duration": {"headerName": N_("Duration"), "minWidth": 84, "headerTooltip": N_("seconds"), **_NUMERIC},
    "billsec": {"headerName": N_("Billsec"), "minWidth": 76, "headerTooltip": N_("billed seconds"), **_NUMERIC},
    "hangup_cause_id": {
        "field": "hangup_cause",
        "headerName": N_("Hangup cause"),
        "minWidth": 320,
        "tooltipField": "hangup_cause",
        **_SORTABLE,
    },
    "direction": {"headerName": N_("Direction"), "minWidth": 96, **_SORTABLE},
    "accountcode": {"headerName": N_("Accountcode"), "minWidth": 112, "tooltipField": "accountcode", **_SORTABLE},
    "sell_cost": {"headerName": N_("Sell cost"), "minWidth": 84, **_NUMERIC},
    "buy_cost": {"headerName": N_("Buy cost"), "minWidth": 84, **_NUMERIC},
    "flag": {"field": "flag_kinds", "headerName": N_("Flag"), "minWidth": 84, "tooltipField": "flag_text"},
    "callid": {"headerName": N_("Call-ID"), "minWidth": 160, "flex": 1},
}
ADMIN_COLUMNS = {"buy_cost"}
DEFAULT_HIDDEN = {"callid", "direction", "switch"}
# Flagged rows stand out (assets/grids.css): blacklist and threat in red, whitelist in green.
ROW_CLASS_RULES = {
    "cdr-flag-danger": "params.data && params.data.flag && !params.data.flag.startsWith('whitelist')",
    "cdr-flag-whitelist": "params.data && params.data.flag && params.data.flag.startsWith('whitelist')",
}


def column_choices(is_admin: bool) -> list[dict]:
    return [
        {"label": _(c["headerName"]), "value": col}
        for col, c in COLUMNS.items()
        if is_admin or col not in ADMIN_COLUMNS
    ]


def shown_columns(query: dict, is_admin: bool) -> list[str]:
    """The columns the URL asks for (``cols``), else the default ones."""
    allowed = [c["value"] for c in column_choices(is_admin)]
    asked = [c for c in query_list(query, "cols") if c in allowed]
    return asked or [c for c in allowed if c not in DEFAULT_HIDDEN]


def column_defs(is_admin: bool, shown: list[str], tz: str) -> list[dict]:
    """The grid's columns, headers and their tooltips translated."""
    defs = [
        {"field": col, "colId": col, **definition, "hide": col not in shown, "headerName": _(definition["headerName"])}
        for col, definition in COLUMNS.items()
        if is_admin or col not in ADMIN_COLUMNS
    ]
    for definition in defs:
        if "headerTooltip" in definition:
            definition["headerTooltip"] = _(definition["headerTooltip"])
    defs[0]["headerTooltip"] = _("Local time (%(zone)s)", zone=tz)
    return defs


def column_chooser(is_admin: bool, shown: list[str]) -> html.Div:
    return html.Div(
        [
            dbc.Button(_("Columns"), id="cdr-search-columns-button", size="sm", color="secondary", outline=True),
            dbc.Popover(
                dbc.PopoverBody(
                    dcc.Checklist(
                        id="cdr-search-columns",
                        options=column_choices(is_admin),
                        value=shown,
                        labelClassName="d-block",
                        inputClassName="me-2",
                    )
                ),
                target="cdr-search-columns-button",
                trigger="legacy",
                placement="bottom-end",
            ),
        ]
    )


def saved_searches() -> html.Div:
    """Name the current search (filters and columns) and open or delete a saved one (per user)."""
    return html.Div(
        [
            dbc.InputGroup(
                [
                    dbc.DropdownMenu(
                        [], id="cdr-search-saved", label=_("Saved searches"), size="sm", color="secondary", group=True
                    ),
                    dbc.Input(id="cdr-search-save-name", placeholder=_("Name this search"), maxlength=80),
                    dbc.Button(_("Save"), id="cdr-search-save", color="secondary", outline=True),
                ],
                size="sm",
            ),
            dcc.ConfirmDialog(id="cdr-search-delete-confirm"),
            dcc.Store(id="cdr-search-delete-target"),  # the id of the saved search the dialog asks about
        ]
    )


def export_buttons() -> dbc.ButtonGroup:
    return dbc.ButtonGroup(
        [
            dbc.Button(
                _("Export %(format)s", format=fmt.upper()),
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
            dbc.ModalFooter(dbc.Button(_("Close"), id="cdr-search-detail-close", color="secondary", size="sm")),
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
    shown = shown_columns(query, scope.is_admin)
    return html.Div(
        [
            html.H2(_("CDR search")),
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
                        html.Span(_("Counting…"), id="cdr-search-count", className="fw-semibold"),
                        className="align-self-center",
                    ),
                    dbc.Col(saved_searches(), md=5),
                    dbc.Col(column_chooser(scope.is_admin, shown), width="auto"),
                    dbc.Col(export_buttons(), width="auto"),
                ],
                className="mb-2 g-2",
            ),
            dcc.Store(id="cdr-search-default-columns", data=shown_columns({}, scope.is_admin)),
            dcc.Store(id="cdr-search-open-row"),  # {"id", "at"}: a row opened from the keyboard (assets/cdr_grid.js)
            dag.AgGrid(
                id="cdr-search-grid",
                rowModelType="infinite",
                columnDefs=column_defs(scope.is_admin, shown, scope.timezone),
                # headers wrap rather than being cut (translations are longer than English)
                defaultColDef={
                    "resizable": True,
                    "sortable": False,
                    "filter": False,
                    "minWidth": 80,
                    "wrapHeaderText": True,
                    "autoHeaderHeight": True,
                },
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
                    "rowHeight": ROW_HEIGHT,
                    "headerHeight": 34,
                    "tooltipShowDelay": 300,
                    "rowClassRules": ROW_CLASS_RULES,
                    "localeText": grid_locale_text(),
                },
                # The grid fills the window (rows, not a letterbox); the filters scroll away above it.
                style={"height": "calc(100vh - 96px)", "minHeight": "420px", "cursor": "pointer"},
            ),
            html.Div(className="mb-3"),
            chart_card("cdr-search-by-day", _("Report by day")),
            detail_modal(),
        ]
    )
