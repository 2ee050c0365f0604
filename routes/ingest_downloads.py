"""``GET /download/rejects/<import_id>.csv|.xlsx``: an import's rejected rows (admins only; login required).
In XLSX the raw line and the reason are text cells, the line number a number."""

from __future__ import annotations

from flask import Blueprint, Response, abort, stream_with_context

from data.admin import acl
from data.core.spreadsheet import XLSX_MIMETYPE, xlsx_chunks
from data.ingest.imports import get_import
from data.ingest.rejects import CSV_HEADER, iter_rejects, rejects_csv
from routes.access import allow

bp = Blueprint("ingest_downloads", __name__)


@bp.route("/download/rejects/<int:import_id>.<fmt>")
@allow(acl.page("/admin/import"))  # raw CDRs of every customer: the import page is admin-only
def download_rejects(import_id: int, fmt: str):
    if fmt not in ("csv", "xlsx") or get_import(import_id) is None:
        abort(404)
    if fmt == "xlsx":
        body, mimetype = xlsx_chunks(list(CSV_HEADER), iter_rejects(import_id), "Rejects"), XLSX_MIMETYPE
    else:
        body, mimetype = stream_with_context(rejects_csv(import_id)), "text/csv"
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="import-{import_id}-rejects.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
