"""Download of exported files, for admins logged in to the web UI: ``GET /download/export/<history id>``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_file

from data.admin import acl
from data.export import exporter
from routes.access import allow

bp = Blueprint("export_downloads", __name__)


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
    return send_file(path, as_attachment=True, download_name=path.name, mimetype="text/plain")
