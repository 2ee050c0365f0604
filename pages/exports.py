"""Exports (admins): export templates with a live preview, destination lists, one-off exports, schedules, the
export history."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.export import schedules

dash.register_page(__name__, path="/exports", name=N_("Exports"), order=90, access=acl.ADMIN)

PERIOD_OPTIONS = [{"label": label, "value": seconds} for label, seconds in schedules.PERIODS.items()]


def _card(title: str, body: list, **kwargs) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3", **kwargs)


def template_editor() -> dbc.Card:
    return _card(
        _("Template"),
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(id="exports-template-pick", placeholder=_("Open a template…"), clearable=False),
                        md=6,
                    ),
                    dbc.Col(dbc.Input(id="exports-template-name", placeholder=_("Name to save as")), md=6),
                ],
                className="mb-2",
            ),
            dbc.Label(_("CGRateS cdre profile (JSON or YAML)"), html_for="exports-profile"),
            dcc.Textarea(
                id="exports-profile",
                style={"width": "100%", "height": "22rem", "fontFamily": "monospace", "fontSize": "0.85rem"},
            ),
            dbc.Button(_("Save template"), id="exports-save", color="primary", className="mt-2"),
            html.Div(id="exports-template-feedback", className="mt-2"),
            html.H6(_("Preview on the 5 newest answered CDRs"), className="mt-3"),
            html.Pre(id="exports-preview", className="border rounded p-2 small", style={"whiteSpace": "pre"}),
        ],
    )


def export_form() -> dbc.Card:
    return _card(
        _("Export now"),
        [
            dcc.Dropdown(id="exports-run-template", placeholder=_("Template"), className="mb-2"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(id="exports-run-from", placeholder=_("Answered from (2024-01-31, RFC3339)")), md=6
                    ),
                    dbc.Col(dbc.Input(id="exports-run-to", placeholder=_("Answered before")), md=6),
                ],
                className="mb-2",
            ),
            dbc.Button(_("Export"), id="exports-run", color="primary"),
            dcc.Loading(html.Div(id="exports-run-result", className="mt-2")),
        ],
    )


def schedule_form() -> dbc.Card:
    return _card(
        _("Scheduled exports"),
        [
            html.Div(id="exports-schedules"),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id="exports-schedule-pick", placeholder=_("Open a schedule…")), md=8),
                    dbc.Col(
                        dbc.Button(
                            _("Delete schedule"), id="exports-schedule-delete", color="danger", outline=True, size="sm"
                        ),
                        width="auto",
                        className="align-self-center",
                    ),
                ],
                className="mb-2 g-2",
            ),
            dbc.Row(
                [
                    dbc.Col(dbc.Input(id="exports-schedule-name", placeholder=_("Schedule name")), md=6),
                    dbc.Col(dcc.Dropdown(id="exports-schedule-template", placeholder=_("Template")), md=6),
                ],
                className="mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(id="exports-schedule-period", options=PERIOD_OPTIONS, value=3600, clearable=False),
                        md=6,
                    ),
                    dbc.Col(dbc.Input(id="exports-schedule-dir", placeholder=_("Directory under EXPORT_DIR")), md=6),
                ],
                className="mb-2",
            ),
            dbc.Checkbox(id="exports-schedule-enabled", label=_("Enabled"), value=True),
            dbc.Button(_("Save schedule"), id="exports-schedule-save", color="secondary", className="mt-2 me-2"),
            dbc.Button(
                _("Run due schedules now"), id="exports-schedule-run", color="secondary", outline=True, className="mt-2"
            ),
            html.Div(id="exports-schedule-feedback", className="mt-2"),
        ],
    )


def destination_list_editor() -> dbc.Card:
    return _card(
        _("Destination lists (masking)"),
        [
            html.P(
                [
                    _("A template's "),
                    html.Code("mask_destination_id"),
                    _(" names one of these lists: destinations starting with one of its prefixes get their last "),
                    html.Code("mask_length"),
                    _(" characters masked."),
                ],
                className="small",
            ),
            html.Div(id="exports-destlists"),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id="exports-destlist-pick", placeholder=_("Open a list…")), md=6),
                    dbc.Col(dbc.Input(id="exports-destlist-name", placeholder=_("Name to save as")), md=6),
                ],
                className="mb-2 g-2",
            ),
            dbc.Input(id="exports-destlist-description", placeholder=_("Description"), className="mb-2"),
            dbc.Label(
                _("Prefixes (digits, separated by commas, spaces or new lines)"),
                html_for="exports-destlist-prefixes",
                className="small",
            ),
            dbc.Textarea(id="exports-destlist-prefixes", rows=4, placeholder="4986517, 4990\n+44909"),
            dbc.Button(_("Save list"), id="exports-destlist-save", color="secondary", className="mt-2 me-2"),
            dbc.Button(_("Delete list"), id="exports-destlist-delete", color="danger", outline=True, className="mt-2"),
            html.Div(id="exports-destlist-feedback", className="mt-2"),
        ],
    )


def history_card() -> dbc.Card:
    return _card(
        _("Export history"),
        [
            dbc.InputGroup(
                [
                    dbc.Input(id="exports-reexport-id", type="number", placeholder=_("Export #")),
                    dbc.Button(_("Re-export"), id="exports-reexport", color="secondary", outline=True),
                ],
                className="mb-2",
                style={"maxWidth": "20rem"},
            ),
            html.Div(id="exports-reexport-result"),
            html.Div(id="exports-history"),
        ],
    )


def layout(**_query):
    return page_layout(
        _("Exports"),
        dcc.Store(id="exports-refresh", data=0),
        dbc.Row(
            [
                dbc.Col([template_editor(), destination_list_editor()], lg=7),
                dbc.Col([export_form(), schedule_form()], lg=5),
            ]
        ),
        history_card(),
    )
