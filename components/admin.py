"""Pieces of the administration and profile pages: labelled form rows, messages, tables, JSON diffs."""

from __future__ import annotations

import json
from datetime import datetime

import dash_bootstrap_components as dbc
from dash import html

from components.tables import simple_table
from data.core.i18n import LANGUAGES, N_
from data.core.i18n import gettext as _


def form_row(label: str, control, help_text: str | None = None, control_id: str | None = None) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Label(label, html_for=control_id or getattr(control, "id", None), width=4, className="small"),
            dbc.Col([control, *([dbc.FormText(help_text)] if help_text else [])], width=8),
        ],
        className="mb-2",
    )


def message(text: str | None, color: str = "success", element_id: str | None = None):
    if not text:
        return None
    return dbc.Alert(text, color=color, className="py-2 small mb-2", **({"id": element_id} if element_id else {}))


def error(exc: Exception):
    text = str(exc)
    return message(text[:1].upper() + text[1:], "danger")


def shown(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "–"
    return str(value)


def form_beside_table(form_rows: list, table_view, box_id: str) -> dbc.Row:
    """An admin page's edit form, beside (on a wide screen) the table of what it edits, in its box ``box_id``."""
    form = dbc.Card(dbc.CardBody(form_rows), className="mb-3")
    return dbc.Row([dbc.Col(form, lg=5), dbc.Col(html.Div(table_view, id=box_id), lg=7)])


def table(rows: list[dict], columns: list[tuple[str, str]], empty: str = "Nothing yet.", table_id: str | None = None):
    return simple_table(rows, columns, empty, shown=shown, **({"id": table_id} if table_id else {}))


ROLE_NAMES = {"admin": N_("Administrator"), "customer": N_("Customer")}  # translated where shown


def language_choice(component_id: str, value: str | None = None) -> dbc.Select:
    """The interface languages, each in its own name; empty follows the browser."""
    options = [{"label": "—", "value": ""}] + [{"label": name, "value": code} for code, name in LANGUAGES.items()]
    return dbc.Select(id=component_id, options=options, value=value or "")


def json_block(value) -> html.Pre:
    return html.Pre(
        json.dumps(value, indent=1, ensure_ascii=False, default=str, sort_keys=True),
        className="small mb-0",
        style={"maxHeight": "14rem", "overflow": "auto", "whiteSpace": "pre-wrap"},
    )


def options(rows: list[dict], label: str = "name", value: str = "id") -> list[dict]:
    return [{"label": str(r[label]), "value": str(r[value])} for r in rows]


def prefix_list_card(title: str, name: str, example: str, prefix_width: int = 5) -> dbc.Card:
    """A card that adds a prefix with a description to a list shown below it. Component ids:
    ``<name>-prefix``, ``-description``, ``-add``, ``-feedback`` and ``-list``."""
    return dbc.Card(
        [
            dbc.CardHeader(title),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                dbc.Input(
                                    id=f"{name}-prefix", placeholder=_("Prefix, e.g. %(example)s", example=example)
                                ),
                                md=prefix_width,
                            ),
                            dbc.Col(dbc.Input(id=f"{name}-description", placeholder=_("Description")), md=5),
                            dbc.Col(dbc.Button(_("Add"), id=f"{name}-add", color="secondary"), md="auto"),
                        ],
                        className="g-2",
                    ),
                    html.Div(id=f"{name}-feedback", className="mt-2"),
                    html.Div(id=f"{name}-list", className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
    )


def input_button_card(
    title: str, input_id: str, placeholder: str, button: str, button_id: str, below: list
) -> dbc.Card:
    """A card with one input and its button, and what goes below them (help text, results)."""
    return dbc.Card(
        [
            dbc.CardHeader(title),
            dbc.CardBody(
                [
                    dbc.InputGroup(
                        [
                            dbc.Input(id=input_id, placeholder=placeholder),
                            dbc.Button(button, id=button_id, color="secondary"),
                        ]
                    ),
                    *below,
                ]
            ),
        ],
        className="mb-3",
    )
