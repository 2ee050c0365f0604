"""Download of exported files, for admins logged in to the web UI: ``GET /download/export/<history id>``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_file
from flask_login import current_user

from data.export import store

bp = Blueprint("export_downloads", __name__)


@bp.route("/download/export/<int:history_id>")
def download_export(history_id: int):
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)
    entry = store.history_entry(history_id)
    if entry is None or not entry["finalized"]:
        abort(404)
    path = Path(entry["file_path"]).resolve()
    root = store.export_root()
    if not path.is_relative_to(root) or not path.is_file():  # only files under EXPORT_DIR, never elsewhere
        abort(404)
    return send_file(path, as_attachment=True, download_name=path.name, mimetype="text/plain")
