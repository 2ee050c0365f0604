"""Download of exported files, for admins logged in to the web UI: ``GET /download/export/<history id>``.

A CSV file is sent spreadsheet-safe (``data.export.safe_csv``: a cell a spreadsheet would evaluate is
neutralised, every other record is sent byte for byte); the file on disk, for CGRateS-compatible
consumers, stays as it was written. Fixed-width files are sent as they are.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file, stream_with_context

from data.admin import acl
from data.export import exporter, library
from data.export.safe_csv import safe_records
from routes.access import allow

bp = Blueprint("export_downloads", __name__)


def _separator_of(template_name: str) -> str:
    try:
        return library.get_template(template_name).field_separator
    except (library.ExportRefused, ValueError):  # the template was deleted or changed since: CGRateS's default
        return ","


@bp.route("/download/export/<int:history_id>")
@allow(acl.page("/exports"))
def download_export(history_id: int):
    entry = exporter.history_entry(history_id)
    if entry is None or not entry["finalized"]:
        abort(404)
    path = Path(entry["file_path"]).resolve()
    root = exporter.export_root()
    if not path.is_relative_to(root) or not path.is_file():  # only files under EXPORT_DIR, never elsewhere
        abort(404)
    if path.suffix != ".csv":
        return send_file(path, as_attachment=True, download_name=path.name, mimetype="text/plain")
    separator = _separator_of(entry["template_name"])

    def records():
        with path.open(encoding="utf-8", newline="") as handle:
            yield from safe_records(handle, separator)

    return Response(
        stream_with_context(records()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
    )
