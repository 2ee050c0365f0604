"""Import CDRs (admins): upload a file, choose how to read it (a format or an import profile, the suggested
one first), preview its first records as they would be stored, dry-run the whole file, import it; edit
the import profiles, with the same preview live; the latest imports and their rejects."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.import_profiles import editor_form, yaml_download_area
from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.ingest.uploads import MAX_UPLOAD_BYTES

dash.register_page(__name__, path="/admin/import", name=N_("Import CDRs"), order=105, access=acl.ADMIN)


def _field(label: str, control, width: int = 4):
    return dbc.Col([dbc.Label(label, html_for=control.id), control], md=width)


def _outlined_button(label: str, button_id: str, color: str) -> dbc.Button:
    return dbc.Button(label, id=button_id, color=color, outline=True, className="me-2")


def _import_card():
    return dbc.Card(
        dbc.CardBody(
            [
                dcc.Upload(
                    id="import-upload",
                    max_size=MAX_UPLOAD_BYTES,
                    multiple=False,
                    children=html.Div([_("Drop a CDR file here or") + " ", html.A(_("choose one"))]),
                    className="border border-2 rounded p-4 text-center mb-3",
                    style={"borderStyle": "dashed"},
                ),
                html.Div(id="import-file-info", className="mb-2"),
                dbc.Row(
                    [
                        _field(_("Read with"), dbc.Select(id="import-reader", value="auto")),
                        _field(
                            _("Switch"),
                            dbc.Input(
                                id="import-switch", placeholder=_("name or IP, for calls that name none"), debounce=0.6
                            ),
                        ),
                        dbc.Col(
                            [
                                dbc.Button(
                                    _("Dry run"),
                                    id="import-dry-run",
                                    color="secondary",
                                    className="me-2",
                                    disabled=True,
                                ),
                                dbc.Button(_("Import"), id="import-start", color="primary", disabled=True),
                            ],
                            md=4,
                            className="d-flex align-items-end",
                        ),
                    ],
                    className="g-2 mb-2",
                ),
                html.Div(id="import-suggestion", className="small text-body-secondary mb-2"),
                html.H5(_("Preview: the first 20 records as they would be stored")),
                dcc.Loading(html.Div(id="import-preview"), type="dot"),
                html.Div(id="import-message", className="mt-3"),
                dbc.Progress(id="import-progress", value=0, label="", className="mb-2", style={"display": "none"}),
                html.Div(id="import-result"),
            ]
        ),
        className="mb-4",
    )


def _profiles_card():
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        _field(_("Profile"), dbc.Select(id="import-profile-choice", value="")),
                        dbc.Col(
                            [
                                dbc.Button(_("Save"), id="import-profile-save", color="primary", className="me-2"),
                                _outlined_button(_("Delete"), "import-profile-delete", "danger"),
                                _outlined_button(_("Download YAML"), "import-profile-yaml", "secondary"),
                                dcc.Upload(
                                    id="import-profile-yaml-upload",
                                    children=dbc.Button(_("Load YAML"), color="secondary", outline=True),
                                    className="d-inline-block",
                                ),
                            ],
                            md=8,
                            className="d-flex align-items-end flex-wrap row-gap-2",  # the buttons wrap on a phone
                        ),
                    ],
                    className="g-2 mb-3",
                ),
                html.Div(id="import-profile-message"),
                editor_form(),
                html.H6(_("Preview of the uploaded file with this profile")),
                dcc.Loading(html.Div(id="import-profile-preview"), type="dot"),
                yaml_download_area(),
                dcc.Store(id="import-profile-carried"),
                dcc.Store(id="import-profile-saved"),
            ]
        ),
        className="mb-4",
    )


def layout(**_query):
    intro = [
        _(
            "CDR-Stats CSV, JSON, XLSX or YAML, FreeSWITCH or Asterisk CSV, or any layout an import profile "
            "describes; gzipped or not. Files over %(size)s MB:",
            size=MAX_UPLOAD_BYTES >> 20,
        )
        + " ",
        html.Code("flask --app app import-cdr"),
        " " + _("or the watched folder."),
    ]
    return page_layout(
        _("Import CDRs"),
        _import_card(),
        html.H3(_("Import profiles")),
        html.P(
            _(
                "How to read a file in a layout of your own: its columns, dates, durations and causes. "
                "Built-in profiles cannot be changed: load one, give it another name and save it."
            ),
            className="text-body-secondary",
        ),
        _profiles_card(),
        dcc.Store(id="import-file"),
        dcc.Store(id="import-current"),
        dcc.Interval(id="import-poll", interval=700, disabled=True),
        html.H4(_("Latest imports"), className="mt-4"),
        html.Div(id="import-list"),
        intro=intro,
    )
