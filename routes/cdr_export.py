"""Export of a CDR search's whole result: ``GET /download/cdrs.csv|.xlsx|.json?<the page's query string>``.

The filters are parsed by the same function as the search page's callbacks, with the scope of the
logged-in user (the login guard answers 401 without a session). Rows come from a server-side
cursor and are streamed as they are read (CSV, JSON); the XLSX workbook is written row by row
(openpyxl write-only mode) to a temporary file, then streamed from it. Times are in the user's time
zone: ISO 8601 with the UTC offset in CSV and JSON; in XLSX, local date-time cells and a
``utc_offset`` column. Cells are never taken as formulas (``data.core.spreadsheet``: one rule): a CSV
cell a spreadsheet would evaluate gets a leading apostrophe, plain numbers and E.164 numbers stay as
they are; XLSX cells are typed (numbers as numbers, text, phone numbers and ids as text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import chain

from flask import Blueprint, Response, abort, request

from data.admin import acl
from data.cdr_search.search import export_columns, iter_export_rows, range_label, search_criteria_from_query
from data.core.scope import current_scope
from data.core.spreadsheet import XLSX_MIMETYPE, csv_lines, xlsx_chunks
from routes.access import allow

bp = Blueprint("cdr_export", __name__)

MIMETYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": XLSX_MIMETYPE,
}


def _text_value(value):
    """A value as CSV/JSON want it: ISO times with offset, JSON text for extradata, floats for money."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def csv_stream(header: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    return csv_lines(header, ([_text_value(v) for v in row] for row in rows))


def json_stream(header: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    """A JSON array of objects, one row at a time."""
    yield "["
    separator = "\n"
    for row in rows:
        record = {}
        for name, value in zip(header, row, strict=True):
            record[name] = value if isinstance(value, (dict, list)) else _text_value(value)
        yield separator + json.dumps(record, ensure_ascii=False, default=str)
        separator = ",\n"
    yield "\n]\n"


def _utc_offset(when: datetime | None) -> str | None:
    return when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:] if when else None


def xlsx_stream(header: list[str], rows: Iterable[tuple], tz: str) -> Iterator[bytes]:
    """The rows as a workbook: local date-time cells (the zone in the titles) and a ``utc_offset`` column."""
    offset_of = header.index("starting_date") if "starting_date" in header else None
    titles = [f"{name} ({tz})" if name in ("starting_date", "answered_date") else name for name in header]
    if offset_of is None:
        return xlsx_chunks(titles, rows, "CDRs")
    return xlsx_chunks([*titles, "utc_offset"], ((*row, _utc_offset(row[offset_of])) for row in rows), "CDRs")


@bp.route("/download/cdrs.<fmt>")
@allow(acl.page("/cdrs"))
def download_cdrs(fmt: str):
    if fmt not in MIMETYPES:
        abort(404)
    try:
        scope = current_scope()
    except PermissionError:
        abort(401)
    criteria = search_criteria_from_query(request.args, scope)
    header = export_columns(scope)
    rows = iter_export_rows(scope, criteria)
    first = next(rows, None)  # run the query now, inside the request: a failure is a 500, not a cut file
    rows = chain([first], rows) if first is not None else iter(())
    if fmt == "csv":
        body = csv_stream(header, rows)
    elif fmt == "json":
        body = json_stream(header, rows)
    else:
        body = xlsx_stream(header, rows, scope.timezone)
    filename = f"cdrs_{range_label(criteria)}.{fmt}"
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
