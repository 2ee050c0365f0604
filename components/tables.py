"""Small tables: rows under a header, or a sentence when there are none."""

from __future__ import annotations

from collections.abc import Callable

import dash_bootstrap_components as dbc
from dash import html

from data.core.i18n import N_, gettext
from data.core.i18n import gettext as _


def header_table(headers, rows: list, empty: str, **props):
    """``rows`` (``html.Tr``) under a header of ``headers`` (translated here, so they may be marked with ``N_``);
    the ``empty`` sentence instead when there are none."""
    if not rows:
        return html.P(empty, className="text-body-secondary small")
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(gettext(h) if isinstance(h, str) and h else h) for h in headers])),
            html.Tbody(rows),
        ],
        striped=True,
        hover=True,
        size="sm",
        responsive=True,
        **props,
    )


def simple_table(
    rows: list[dict], columns: list[tuple[str, str]], empty: str = "No data.", shown: Callable | None = None, **props
):
    """``rows`` as a table of ``columns`` (key, title: translated by ``header_table``, so it may be ``N_``);
    ``shown`` writes a value (default: as it is, None as –)."""
    shown = shown or _shown
    cells = [html.Tr([html.Td(shown(row.get(key))) for key, _ in columns]) for row in rows]
    return header_table([title for _key, title in columns], cells, empty, **props)


def _shown(value):
    return "–" if value is None else value


def download_links(link_id: str, href: str) -> dbc.ButtonGroup:
    """CSV and XLSX downloads of one table: ``link_id`` is the CSV link, ``<link_id>-xlsx`` the XLSX one (its
    href follows the CSV one: a clientside callback of the page)."""
    return dbc.ButtonGroup(
        [
            html.A(_("Download CSV"), id=link_id, href=href, className="btn btn-outline-secondary btn-sm"),
            html.A(
                "XLSX",
                id=f"{link_id}-xlsx",
                href=href.replace(".csv", ".xlsx", 1),
                className="btn btn-outline-secondary btn-sm",
            ),
        ]
    )


# AG Grid's own texts (pager, empty grid, column filters) by its localeText keys; English is the grid's own.
GRID_TEXTS = {
    "noRowsToShow": N_("No Rows To Show"),
    "loadingOoo": N_("Loading..."),
    "page": N_("Page"),
    "of": N_("of"),
    "to": N_("to"),
    "more": N_("more"),
    "pageSizeSelectorLabel": N_("Page Size:"),
    "firstPage": N_("First Page"),
    "previousPage": N_("Previous Page"),
    "nextPage": N_("Next Page"),
    "lastPage": N_("Last Page"),
    "filterOoo": N_("Filter..."),
    "equals": N_("Equals"),
    "notEqual": N_("Does not equal"),
    "blank": N_("Blank"),
    "notBlank": N_("Not blank"),
    "lessThan": N_("Less than"),
    "greaterThan": N_("Greater than"),
    "lessThanOrEqual": N_("Less than or equal to"),
    "greaterThanOrEqual": N_("Greater than or equal to"),
    "inRange": N_("Between"),
    "inRangeStart": N_("From"),
    "inRangeEnd": N_("To"),
    "contains": N_("Contains"),
    "notContains": N_("Does not contain"),
    "startsWith": N_("Begins with"),
    "endsWith": N_("Ends with"),
    "before": N_("Before"),
    "after": N_("After"),
    "andCondition": N_("AND"),
    "orCondition": N_("OR"),
    "applyFilter": N_("Apply"),
    "resetFilter": N_("Reset"),
    "clearFilter": N_("Clear"),
    "cancelFilter": N_("Cancel"),
}


def grid_locale_text() -> dict[str, str]:
    """AG Grid's ``localeText`` in the user's language (its pager, "No Rows To Show", the filter menus)."""
    return {key: _(text) for key, text in GRID_TEXTS.items()}
