"""Pure helpers of the rating pages: grid columns, rows made JSON-safe, the simulator's result."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.tables import grid_locale_text
from data.core.i18n import N_
from data.core.i18n import gettext as _

# Money stays exact: it reaches the browser as text and only sorts as a number.
_NUMERIC = {"type": "rightAligned", "comparator": {"function": "Number(valueA) - Number(valueB)"}}


def column(field: str, header: str, numeric: bool = False, **extra) -> dict:
    return {"field": field, "headerName": header, **(_NUMERIC if numeric else {}), **extra}


def rate_columns(rate_field: str) -> list[dict]:
    """A rate deck's columns, its rate per minute read from ``rate_field``."""
    return [
        column("prefix", _("Prefix")),
        column("destination", _("Destination")),
        column("country", _("Country")),
        column(rate_field, _("Rate / min"), True),
        column("connection_fee", _("Connection fee"), True),
        column("increments", _("Increments")),
        column("effective_from", _("From (UTC)")),
        column("effective_to", _("Until (UTC)")),
    ]


RATE_COLUMNS = [*rate_columns("retail_rate"), column("currency", N_("Currency"))]
PLAN_RATE_COLUMNS = rate_columns("rate")


def plan_picker(component_id: str, is_admin: bool) -> dbc.Col:
    """The VoIP plan dropdown of the rates pages. Customers have one plan, their own: the picker is there (its
    callback needs it) but hidden."""
    return dbc.Col(
        dcc.Dropdown(id=component_id, placeholder=_("VoIP plan"), clearable=False),
        md=3,
        style=None if is_admin else {"display": "none"},
    )


def rate_search(component_id: str, placeholder: str) -> dbc.Col:
    """The search box over a rate table (prefix, destination, country)."""
    return dbc.Col(dbc.Input(id=component_id, placeholder=placeholder, debounce=True, type="search"), md=5)


def plan_choice(plans: list[dict]) -> tuple[list[dict], int | None]:
    """A VoIP plan dropdown's options and its first value."""
    return [{"label": p["name"], "value": p["id"]} for p in plans], (plans[0]["id"] if plans else None)


def cell(value):
    """A value as the browser gets it: exact decimals and UTC times as text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return value


def grid_rows(rows: list[dict]) -> list[dict]:
    """Rows for a grid: JSON-safe cells, increments as "first/next"."""
    shown = []
    for row in rows:
        item = {k: cell(v) for k, v in row.items()}
        if "increment_first" in row:
            item["increments"] = f"{row['increment_first']}/{row['increment_next']}"
        shown.append(item)
    return shown


def grid(grid_id: str, columns: list[dict], height: int = 460, client_pages: bool = True, **kwargs) -> dag.AgGrid:
    """A grid; ``client_pages`` False when the server pages the rows (the grid then shows one page whole). Column
    headers are translated here (they are defined at import, marked with ``N_``)."""
    return dag.AgGrid(
        id=grid_id,
        # a header cut short in a narrow column (a phone, a longer language) reads whole on hover
        columnDefs=[
            {**c, "headerName": _(c["headerName"]), "headerTooltip": _(c["headerName"])} if "headerName" in c else c
            for c in columns
        ],
        rowData=[],
        defaultColDef={"resizable": True, "sortable": True, "filter": True, "minWidth": 90},
        columnSize="responsiveSizeToFit",
        dashGridOptions={"localeText": grid_locale_text()}
        | ({"pagination": True, "paginationPageSize": 100} if client_pages else {}),
        style={"height": f"{height}px"},
        **kwargs,
    )


def _line(label: str, value) -> html.Tr:
    return html.Tr([html.Th(label, className="fw-normal text-body-secondary"), html.Td(value)])


def _price(side: dict | None, currency: str | None) -> str:
    if not side:
        return "–"
    return (
        f"{cell(side['cost'])} {currency or ''} (prefix {side['prefix']}, {cell(side['rate'])}/min, "
        f"{side['increment_first']}/{side['increment_next']}, billed {side['billed_seconds']} s, "
        f"connection fee {cell(side['connection_fee'])})"
    )


def simulation_summary(result: dict) -> dbc.Card:
    """The simulator's answer: number, country, status, sell price and, for admins, buy and margin."""
    lines = [
        _line(_("Number"), f"{result['number']} → {result['normalised'] or '(no digits)'}"),
        _line(_("Country"), f"{result['country'] or '–'} ({result['country_code'] or '?'})"),
        *(
            [_line(_("Internal call"), html.Span(result["internal"], id="rate-simulator-internal"))]
            if result.get("internal")
            else []
        ),
        _line(_("VoIP plan"), result["voip_plan"] or _("none")),
        _line(_("Rating"), result["status"].label if result["status"] else "–"),
    ]
    if result["banned_prefix"]:
        lines.append(_line(_("Banned prefix"), result["banned_prefix"]))
    sell_label = _("Sell (internal rate)") if result.get("internal") else _("Sell (matched prefix)")
    lines.append(_line(sell_label, _price(result["sell"], result["currency"])))
    if result.get("buy") is not None or result.get("candidates"):
        buy = result["buy"]
        lines.append(_line(_("Carrier (LCR)"), (buy["carrier"] or "–") if buy else "–"))
        lines.append(_line(_("Buy"), _price(buy, result["currency"])))
        margin = (
            "–"
            if result["margin"] is None
            else (
                f"{cell(result['margin'])} {result['currency'] or ''}"
                + (f" ({cell(result['margin_percent'])} %)" if result["margin_percent"] is not None else "")
            )
        )
        lines.append(_line(_("Margin"), margin))
    return dbc.Card(
        dbc.CardBody(dbc.Table(html.Tbody(lines), borderless=True, size="sm", className="mb-0")),
        className="mb-3",
        id="rate-simulator-summary",
    )


CANDIDATE_COLUMNS = [
    column("chosen", N_("Chosen")),
    column("carrier", N_("Carrier")),
    column("provider_priority", N_("Priority"), True),
    column("prefix", N_("Prefix")),
    column("destination", N_("Destination")),
    column("rate", N_("Rate / min"), True),
    column("connection_fee", N_("Connection fee"), True),
    column("increments", N_("Increments")),
    column("billed_seconds", N_("Billed s"), True),
    column("cost", N_("Buy cost"), True),
    column("rate_plan", N_("Carrier plan")),
]


def candidate_rows(result: dict) -> list[dict]:
    rows = grid_rows(result["candidates"])
    for row in rows:
        row["chosen"] = "✔" if row.get("chosen") else ""
    return rows
