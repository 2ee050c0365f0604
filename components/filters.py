"""The filter bar every report shares. Its values start from the URL query string (bookmarkable)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.report_filter import RELATIVE_PRESETS

# The date presets by value; the relative ones (RELATIVE_PRESETS, as in Grafana) are offered on report pages only.
PRESETS = {
    "now-15m": N_("Last 15 minutes"),
    "now-1h": N_("Last hour"),
    "now-6h": N_("Last 6 hours"),
    "now-24h": N_("Last 24 hours"),
    "now-7d": N_("Last 7 days, to now"),
    "now-30d": N_("Last 30 days, to now"),
    "today": N_("Today"),
    "yesterday": N_("Yesterday"),
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "this-month": N_("This month"),
    "last-month": N_("Last month"),
    "12m": N_("Last 12 months"),
}


def choice(component_id: str, labels: dict[str, str], value: str) -> dbc.RadioItems:
    """One of a few ways to see a report (inline radio buttons), ``labels`` by value."""
    return dbc.RadioItems(
        id=component_id, inline=True, value=value, options=[{"label": v, "value": k} for k, v in labels.items()]
    )


def _ids(text: str | None) -> list:
    return [int(v) for v in (text or "").split(",") if v.strip().isdigit()]


def _codes(text: str | None) -> list:
    return [v for v in (text or "").split(",") if v.strip()]


def _seed(values: list) -> list[dict]:
    """Options for the values the URL asks for, until the callback brings the user's real ones: Dash's
    dropdown drops a value it has no option for, which would lose a bookmarked filter on load."""
    return [{"label": str(v), "value": v} for v in values if v is not None]


def _filter_column(component_id: str, placeholder: str, value, multi: bool = False, col_id: str | None = None):
    """A dropdown of the filter bar, offering at first only what the address chose (its options come later)."""
    chosen = value if multi else [value]
    dropdown = dcc.Dropdown(id=component_id, multi=multi, placeholder=placeholder, value=value, options=_seed(chosen))
    return dbc.Col(dropdown, md=2, **({"id": col_id} if col_id else {}))


def zoomed_times(query: dict) -> dict | None:
    """The times of day of a zoomed range in the URL (``from``/``to`` on its ``start`` and ``end`` days)."""
    if not (query.get("start") and query.get("end") and (query.get("from") or query.get("to"))):
        return None
    return {"start": query["start"][:10], "end": query["end"][:10], "from": query.get("from"), "to": query.get("to")}


def filter_bar(query: dict, show_dates: bool = True, extra: list | None = None, relative: bool = False) -> dbc.Card:
    """Date range with presets, switch, and (shown to admins by a callback) customer and accountcode.

    ``relative``: the report pages' relative ranges (the last hour ...) and zoomed times of day too."""
    switches, codes = _ids(query.get("switch")), _codes(query.get("accountcode"))
    customer = (_ids(query.get("customer")) or [None])[0]
    options = [
        {"label": _(label), "value": value}
        for value, label in PRESETS.items()
        if relative or value not in RELATIVE_PRESETS
    ]
    date_controls = [
        dbc.Col(
            dcc.Dropdown(
                id="filter-preset", options=options, placeholder=_("Preset"), clearable=True, value=query.get("preset")
            ),
            md=2,
        ),
        dbc.Col(
            dcc.DatePickerRange(
                id="filter-dates",
                start_date=query.get("start"),
                end_date=query.get("end"),
                display_format="YYYY-MM-DD",
                minimum_nights=0,
                clearable=False,
            ),
            md="auto",
        ),
    ]
    if not show_dates:  # the dashboard is always the last 24 hours; keep the ids so shared callbacks work
        date_controls = [html.Div(date_controls, hidden=True)]
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dcc.Store(id="filter-url"),
                    dcc.Store(id="filter-times", data=zoomed_times(query) if relative else None),
                    dcc.Store(id="filter-view"),  # the page's own view state, kept in the URL too
                    dcc.Store(id="drill-down"),
                    *date_controls,
                    _filter_column("filter-switch", _("All switches"), switches, multi=True),
                    _filter_column("filter-customer", _("All customers"), customer, col_id="filter-customer-col"),
                    _filter_column(
                        "filter-accountcode",
                        _("All accountcodes (or type one)"),
                        codes,
                        multi=True,
                        col_id="filter-accountcode-col",
                    ),
                    *(extra or []),
                    dbc.Col(
                        [
                            html.Small(id="filter-zoomed", className="me-2 fw-semibold"),
                            html.Small(id="filter-timezone", className="text-body-secondary"),
                        ],
                        md="auto",
                        className="align-self-center",
                    ),
                ],
                className="g-2 align-items-center",
            )
        ),
        className="mb-3",
    )
