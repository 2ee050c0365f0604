"""Import CDRs (admins): upload a file with a progress bar, the latest imports, and rows that were rejected."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.admin import acl
from data.core.i18n import N_
from data.ingest.formats import FORMATS
from data.ingest.uploads import MAX_UPLOAD_BYTES

dash.register_page(__name__, path="/admin/import", name=N_("Import CDRs"), order=105, access=acl.ADMIN)


def layout(**_query):
    return html.Div(
        [
            html.H2("Import CDRs"),
            html.P(
                [
                    "CDR-Stats CSV, JSON, XLSX or YAML, FreeSWITCH or Asterisk CSV, gzipped or not. Files over "
                    f"{MAX_UPLOAD_BYTES >> 20} MB: ",
                    html.Code("flask --app app import-cdr"),
                    " or the watched folder.",
                ],
                className="text-body-secondary",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Select(
                            id="import-format", value="auto", options=[{"label": f, "value": f} for f in FORMATS]
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Input(id="import-switch", placeholder="Switch (name or IP) for files without one"), md=4
                    ),
                ],
                className="g-2 mb-2",
            ),
            dcc.Upload(
                id="import-upload",
                max_size=MAX_UPLOAD_BYTES,
                multiple=False,
                children=html.Div(["Drop a CDR file here or ", html.A("choose one")]),
                className="border border-2 rounded p-4 text-center mb-3",
                style={"borderStyle": "dashed"},
            ),
            html.Div(id="import-message"),
            dbc.Progress(
                id="import-progress",
                value=0,
                label="",
                striped=True,
                animated=True,
                className="mb-2",
                style={"height": "1.5rem", "display": "none"},
            ),
            html.Div(id="import-result"),
            dcc.Store(id="import-current"),
            dcc.Interval(id="import-poll", interval=700, disabled=True),
            html.H4("Latest imports", className="mt-4"),
            html.Div(id="import-list"),
        ]
    )
