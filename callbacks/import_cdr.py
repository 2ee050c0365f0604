"""Callbacks of the import page: receive an upload and suggest how to read it, preview it, dry-run it, import
it and follow the progress, list the latest imports."""

from __future__ import annotations

from datetime import timezone

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from components.import_profiles import dry_run_summary, preview_table
from components.tables import simple_table
from data.admin import acl
from data.core.i18n import N_, current_language, number
from data.core.i18n import gettext as _
from data.ingest.formats import FORMATS, FormatError
from data.ingest.preview import preview_file
from data.ingest.profile_choice import suggest
from data.ingest.profile_spec import ProfileError
from data.ingest.profile_store import get_profile, profile_names
from data.ingest.reject_texts import shown_reason
from data.ingest.uploads import (
    dry_run_result,
    import_progress,
    list_imports,
    list_rejects,
    original_name,
    save_upload,
    start_upload_import,
    uploaded_file,
)
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/import"))

RUN_BUTTONS = ("import-dry-run", "import-start")  # enabled once a file is uploaded

IMPORT_COLUMNS = [
    ("id", N_("Import ID")),
    ("started", N_("Started (UTC)")),
    ("source", N_("Source")),
    ("file_name", N_("File")),
    ("format", N_("Read with")),
    ("rows_read", N_("Rows")),
    ("accepted", N_("Accepted")),
    ("duplicates", N_("Duplicates")),
    ("rejected", N_("Rejected")),
    ("state", N_("Status")),
    ("rejects", ""),
]
# An import's state and where it came from, as stored (import_batch), and as the page says them.
STATES = {
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
    "interrupted": N_("interrupted"),
}
SOURCES = {
    "upload": N_("upload"),
    "file": N_("file"),
    "watch": N_("watched folder"),
    "push": N_("push"),
    "collector": N_("collector"),
    "cdr_import": N_("cdr_import"),
    "demo": N_("demo"),
}


# The one reason for a suggestion that is a fixed sentence (data.ingest.profile_choice.suggest, in English there);
# a profile's reason names the columns that matched.
FORMAT_FITS = N_("its first line has the layout of that format")


def _word(words: dict[str, str], value):
    return _(words[value]) if value in words else value


def _count(value) -> str:
    return number(value, current_language())


def page_message(exc: Exception) -> str:
    """A reader's or a profile's refusal, in the words of this page's fields."""
    text = str(exc)
    if "which switch the calls come from" in text:
        return _("This file names no switch: fill in Switch with the switch (name or IP) these calls come from.")
    if "cannot tell the format" in text:
        closest = text.partition("; ")[2]
        refusal = _("No format or import profile reads this file. Choose one in Read with, or make a profile below")
        return refusal + (f" ({closest})." if closest else ".")
    return text[:1].upper() + text[1:]


def reader_options() -> list[dict]:
    options = [{"label": _("Suggested (auto)"), "value": "auto"}]
    options += [{"label": _("Format: %(format)s", format=f), "value": f} for f in FORMATS[1:]]
    options += [
        {
            "label": _("Profile: %(name)s (built-in)", name=name) if builtin else _("Profile: %(name)s", name=name),
            "value": f"profile:{name}",
        }
        for name, builtin in profile_names()
    ]
    return options


def _reader(value: str | None) -> tuple[str, dict | None]:
    """(format, profile) of the Read with choice."""
    value = value or "auto"
    if value.startswith("profile:"):
        profile = get_profile(value.removeprefix("profile:"))
        if profile is None:
            gone = _("the profile '%(name)s' is gone", name=value.removeprefix("profile:"))
            raise ProfileError([(_("Read with"), gone)])
        return "auto", profile
    return value, None


def _rejects_link(import_id: int):
    """The import's rejected rows to download, as CSV and as XLSX."""
    return html.Span(
        [
            html.A(_("rejects (CSV)"), href=f"/download/rejects/{import_id}.csv"),
            " · ",
            html.A(_("XLSX"), href=f"/download/rejects/{import_id}.xlsx"),
        ],
        className="text-nowrap",
    )


@callback(Output("import-reader", "options"), Input("import-profile-saved", "data"), Input("import-reader", "id"))
def show_reader_options(_saved, _id):
    return reader_options()


@callback(
    Output("import-file", "data"),
    Output("import-file-info", "children"),
    Output("import-reader", "value"),
    Output("import-suggestion", "children"),
    [Output(button, "disabled") for button in RUN_BUTTONS],
    Input("import-upload", "contents"),
    State("import-upload", "filename"),
    prevent_initial_call=True,
)
def receive_upload(contents, filename):
    if not contents:
        raise PreventUpdate
    try:
        path = save_upload(filename, contents)
    except ValueError as exc:
        return None, dbc.Alert(page_message(exc), color="danger"), "auto", "", True, True
    size = path.stat().st_size
    language = current_language()
    if size >= 100_000:
        info = _("%(file)s (%(size)s MB)", file=filename, size=number(size / 1e6, language, 1))
    else:
        info = _("%(file)s (%(size)s kB)", file=filename, size=number(size / 1e3, language, 1))
    value, why = _suggestion(path)
    return {"token": path.name, "name": filename}, info, value, why, False, False


def _suggestion(path) -> tuple[str, str]:
    """(Read with value, the sentence saying why) for an uploaded file."""
    found = suggest(path)
    if found.get("why") == FORMAT_FITS:
        found["why"] = _(FORMAT_FITS)
    if "format" in found or "profile" in found:
        value = found.get("format") or f"profile:{found['profile']}"
        return value, _(
            "Suggested: %(reader)s — %(why)s.", reader=found.get("format") or found.get("profile"), why=found["why"]
        )
    return "auto", _("No format or profile fits: %(why)s. Make a profile below.", why=found["why"])


@callback(
    Output("import-suggestion", "children", allow_duplicate=True),
    Input("import-profile-saved", "data"),
    State("import-file", "data"),
    prevent_initial_call=True,
)
def suggest_again(_saved, upload):
    """A profile saved or deleted may change what fits the uploaded file best."""
    if not upload:
        raise PreventUpdate
    try:
        return _suggestion(uploaded_file(upload["token"]))[1]
    except ValueError as exc:
        return page_message(exc)


@callback(
    Output("import-preview", "children"),
    Input("import-file", "data"),
    Input("import-reader", "value"),
    Input("import-switch", "value"),
    Input("import-profile-saved", "data"),
    prevent_initial_call=True,
)
def show_preview(upload, reader, switch, _saved):
    if not upload:
        raise PreventUpdate
    try:
        fmt, profile = _reader(reader)
        return preview_table(preview_file(uploaded_file(upload["token"]), fmt, profile, switch))
    except (FormatError, ProfileError, ValueError) as exc:
        return dbc.Alert(page_message(exc), color="warning")


@callback(
    Output("import-current", "data"),
    Output("import-poll", "disabled"),
    Output("import-message", "children"),
    Output("import-result", "children", allow_duplicate=True),
    [Input(button, "n_clicks") for button in RUN_BUTTONS],
    [State("import-file", "data"), State("import-reader", "value"), State("import-switch", "value")],
    prevent_initial_call=True,
)
def start_import(_dry, _start, upload, reader, switch):
    if not upload or ctx.triggered_id not in RUN_BUTTONS:
        raise PreventUpdate
    dry_run = ctx.triggered_id == "import-dry-run"
    try:
        fmt, profile = _reader(reader)
        import_id = start_upload_import(
            upload["name"], None, fmt, switch, current_user.id, token=upload["token"], profile=profile, dry_run=dry_run
        )
    except (FormatError, ProfileError, ValueError) as exc:
        return None, True, dbc.Alert(page_message(exc), color="danger"), None
    name = original_name(upload["token"])
    if dry_run:
        text = _("Checking %(file)s (import %(id)s)…", file=name, id=import_id)
    else:
        text = _("Importing %(file)s (import %(id)s)…", file=name, id=import_id)
    message = dbc.Alert(text, color="info")
    return {"id": import_id, "dry_run": dry_run, "name": upload["name"]}, False, message, None


def _progress_label(progress: dict) -> str:
    return _(
        "%(percent)s%% · %(rows)s rows · accepted %(accepted)s · duplicates %(duplicates)s · rejected %(rejected)s",
        percent=progress["percent"],
        rows=_count(progress["rows_read"]),
        accepted=_count(progress["accepted"]),
        duplicates=_count(progress["duplicates"]),
        rejected=_count(progress["rejected"]),
    )


def _finished_import(import_id: int, progress: dict) -> list:
    color = "success" if progress["state"] == "done" else "danger"
    result = [
        dbc.Alert(
            _(
                "Import %(id)s %(state)s: %(accepted)s calls stored, %(duplicates)s already stored, "
                "%(rejected)s rejected",
                id=import_id,
                state=_word(STATES, progress["state"]),
                accepted=_count(progress["accepted"]),
                duplicates=_count(progress["duplicates"]),
                rejected=_count(progress["rejected"]),
            )
            + (f" — {progress['error']}" if progress.get("error") else ""),
            color=color,
        )
    ]
    if progress["rejected"]:
        rows = [
            {**r, "line": r["lineno"], "reason": shown_reason(r["reason"])} for r in list_rejects(import_id, limit=20)
        ]
        columns = [("line", N_("Line")), ("reason", N_("Reason")), ("raw", N_("Raw"))]
        result += [html.H5(_("Rejected rows")), simple_table(rows, columns), _rejects_link(import_id)]
    return result


@callback(
    [Output("import-progress", prop) for prop in ("value", "label", "style", "animated")],
    Output("import-result", "children"),
    Output("import-message", "children", allow_duplicate=True),
    Output("import-poll", "disabled", allow_duplicate=True),
    Input("import-poll", "n_intervals"),
    State("import-current", "data"),
    prevent_initial_call=True,
)
def follow_import(_n, current):
    if not current:
        raise PreventUpdate
    shown, hidden = {"height": "1.5rem"}, {"display": "none"}
    if current["dry_run"]:
        summary = dry_run_result(current["id"])
        if summary is not None:
            return 100, "", hidden, False, dry_run_summary(summary, current["name"]), None, True
    progress = import_progress(current["id"])
    if progress is None:
        raise PreventUpdate  # a dry run between its last batch and its summary
    if progress["state"] == "running" or current["dry_run"]:
        return progress["percent"], _progress_label(progress), shown, True, no_update, no_update, False
    # Done: the banner and the moving bar go; the bar stays, full and still, with the counts.
    return (
        progress["percent"],
        _progress_label(progress),
        shown,
        False,
        _finished_import(current["id"], progress),
        None,
        True,
    )


@callback(Output("import-list", "children"), Input("import-poll", "disabled"), Input("import-list", "id"))
def show_imports(_disabled, _id):
    rows = [
        {
            **r,
            "started": f"{r['started_at'].astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}" if r.get("started_at") else None,
            "rejects": _rejects_link(r["id"]) if r["rejected"] else "",
            "state": _word(STATES, r.get("state")),
            "source": _word(SOURCES, r.get("source")),
        }
        for r in list_imports(limit=25)
    ]
    return simple_table(rows, IMPORT_COLUMNS, empty=_("No import yet."))
