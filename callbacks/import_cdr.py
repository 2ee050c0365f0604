"""Callbacks of the import page: start an upload's import, follow its progress, list imports and rejects."""

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from components.tables import simple_table
from data.admin import acl
from data.ingest.formats import FormatError
from data.ingest.uploads import import_progress, list_imports, list_rejects, start_upload_import
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/import"))

IMPORT_COLUMNS = [
    ("id", "Import"),
    ("started_at", "Started"),
    ("source", "Source"),
    ("file_name", "File"),
    ("format", "Format"),
    ("rows_read", "Rows"),
    ("accepted", "Accepted"),
    ("duplicates", "Duplicates"),
    ("rejected", "Rejected"),
    ("state", "Status"),
    ("rejects", ""),
]


def _rejects_link(import_id: int):
    return html.A("rejects (CSV)", href=f"/download/rejects/{import_id}.csv")


@callback(
    Output("import-current", "data"),
    Output("import-poll", "disabled"),
    Output("import-message", "children"),
    Input("import-upload", "contents"),
    State("import-upload", "filename"),
    State("import-format", "value"),
    State("import-switch", "value"),
    prevent_initial_call=True,
)
def start_import(contents, filename, fmt, switch):
    if not contents:
        raise PreventUpdate
    try:
        import_id = start_upload_import(filename, contents, fmt or "auto", switch, current_user.id)
    except (FormatError, ValueError) as exc:
        return None, True, dbc.Alert(str(exc), color="danger")
    return import_id, False, dbc.Alert(f"Importing {filename} (import {import_id})…", color="info")


@callback(
    Output("import-progress", "value"),
    Output("import-progress", "label"),
    Output("import-progress", "style"),
    Output("import-result", "children"),
    Output("import-poll", "disabled", allow_duplicate=True),
    Input("import-poll", "n_intervals"),
    State("import-current", "data"),
    prevent_initial_call=True,
)
def follow_import(_n, import_id):
    progress = import_progress(import_id) if import_id else None
    if progress is None:
        raise PreventUpdate
    label = (
        f"{progress['percent']}% · {progress['rows_read']:,} rows · accepted {progress['accepted']:,} · "
        f"duplicates {progress['duplicates']:,} · rejected {progress['rejected']:,}"
    )
    style = {"height": "1.5rem"}
    if progress["state"] == "running":
        return progress["percent"], label, style, no_update, False
    color = "success" if progress["state"] == "done" else "danger"
    result = [
        dbc.Alert(
            f"Import {import_id} {progress['state']}: accepted={progress['accepted']} "
            f"duplicates={progress['duplicates']} rejected={progress['rejected']}"
            + (f" — {progress['error']}" if progress.get("error") else ""),
            color=color,
        )
    ]
    if progress["rejected"]:
        rows = [{**r, "line": r["lineno"]} for r in list_rejects(import_id, limit=20)]
        columns = [("line", "Line"), ("reason", "Reason"), ("raw", "Raw")]
        result += [html.H5("Rejected rows"), simple_table(rows, columns), _rejects_link(import_id)]
    return progress["percent"], label, style, result, True


@callback(Output("import-list", "children"), Input("import-poll", "disabled"), Input("import-list", "id"))
def show_imports(_disabled, _id):
    rows = [{**r, "rejects": _rejects_link(r["id"]) if r["rejected"] else ""} for r in list_imports(limit=25)]
    return simple_table(rows, IMPORT_COLUMNS, empty="No import yet.")
