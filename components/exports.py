"""Pieces of the Exports page: the destination lists table and the pickers of lists and schedules."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

PREFIXES_SHOWN = 12  # a long list shows its first prefixes and how many more


def destination_lists_table(rows: list[dict]):
    if not rows:
        return html.P("No destination list yet.", className="text-body-secondary small")
    head = html.Thead(html.Tr([html.Th(h) for h in ("Name", "Prefixes", "Description", "Updated (UTC)")]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(r["name"]),
                    html.Td(prefixes_text(r["prefixes"])),
                    html.Td(r["description"]),
                    html.Td(f"{r['updated_at']:%Y-%m-%d %H:%M}" if r["updated_at"] else ""),
                ]
            )
            for r in rows
        ]
    )
    return dbc.Table([head, body], size="sm", striped=True, className="small", id="exports-destlists-table")


def prefixes_text(prefixes: list[str]) -> str:
    shown = ", ".join(prefixes[:PREFIXES_SHOWN])
    more = len(prefixes) - PREFIXES_SHOWN
    return f"{shown} … ({more} more)" if more > 0 else (shown or "(none)")


def destination_list_options(rows: list[dict]) -> list[dict]:
    return [{"label": r["name"], "value": r["name"]} for r in rows]


def schedule_options(rows: list[dict]) -> list[dict]:
    return [{"label": f"{r['name']} ({r['template_name']})", "value": r["id"]} for r in rows]
