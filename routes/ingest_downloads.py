"""``GET /download/rejects/<import_id>.csv``: an import's rejected rows (admins only; login required)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, stream_with_context

from data.admin import acl
from data.ingest.imports import get_import
from data.ingest.rejects import rejects_csv
from routes.access import allow

bp = Blueprint("ingest_downloads", __name__)


@bp.route("/download/rejects/<int:import_id>.csv")
@allow(acl.page("/admin/import"))  # raw CDRs of every customer: the import page is admin-only
def download_rejects(import_id: int):
    if get_import(import_id) is None:
        abort(404)
    return Response(
        stream_with_context(rejects_csv(import_id)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="import-{import_id}-rejects.csv"',
            "Cache-Control": "no-store",
        },
    )
