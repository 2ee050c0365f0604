"""Small tables rendered from report rows."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def simple_table(rows: list[dict], columns: list[tuple[str, str]], empty: str = "No data.") -> object:
    if not rows:
        return html.P(empty, className="text-body-secondary")
    head = html.Thead(html.Tr([html.Th(title) for _, title in columns]))
    body = html.Tbody([html.Tr([html.Td(_shown(row.get(key))) for key, _ in columns]) for row in rows])
    return dbc.Table([head, body], striped=True, hover=True, size="sm", responsive=True)


def _shown(value):
    return "–" if value is None else value


def download_links(link_id: str, href: str) -> dbc.ButtonGroup:
    """CSV and XLSX downloads of one table: ``link_id`` is the CSV link, ``<link_id>-xlsx`` the XLSX one (its
    href follows the CSV one: ``xlsx_follows_csv`` in the page's callbacks)."""
    return dbc.ButtonGroup(
        [
            html.A("Download CSV", id=link_id, href=href, className="btn btn-outline-secondary btn-sm"),
            html.A(
                "XLSX",
                id=f"{link_id}-xlsx",
                href=href.replace(".csv", ".xlsx", 1),
                className="btn btn-outline-secondary btn-sm",
            ),
        ]
    )
