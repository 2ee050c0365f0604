"""Export of a CDR search's whole result: ``GET /download/cdrs.csv|.xlsx|.json?<the page's query string>``.

The filters are parsed by the same function as the search page's callbacks, with the scope of the
logged-in user (the login guard answers 401 without a session). Rows come from a server-side
cursor and are streamed as they are read (CSV, JSON); the XLSX workbook is written row by row
(openpyxl write-only mode) to a temporary file, then streamed from it. Times are in the user's time
zone: ISO 8601 with the UTC offset in CSV and JSON; in XLSX, local date-time cells and a
``utc_offset`` column. Text cells can never be taken as formulas: CSV cells starting with
= + - @ get a leading apostrophe (``data.core.spreadsheet``), and XLSX text cells are written as text.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from itertools import chain

from flask import Blueprint, Response, abort, request
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from data.admin import acl
from data.cdr_search.search import export_columns, iter_export_rows, range_label, search_criteria_from_query
from data.core.scope import current_scope
from data.core.spreadsheet import csv_lines
from routes.access import allow

bp = Blueprint("cdr_export", __name__)

MIMETYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_MAX_ROWS = 1_048_575  # per sheet, below the header; more rows continue on another sheet
CHUNK = 64 * 1024


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


def _xlsx_cell(sheet, value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):  # openpyxl would store it as a formula: force a text cell
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


def write_xlsx(path: str, header: list[str], rows: Iterable[tuple], tz: str) -> int:
    """Write the rows to an .xlsx file at ``path`` (constant memory); returns the number of rows."""
    offset_of = header.index("starting_date") if "starting_date" in header else None
    titles = [f"{name} ({tz})" if name in ("starting_date", "answered_date") else name for name in header]
    titles += ["utc_offset"] if offset_of is not None else []
    workbook = Workbook(write_only=True)
    sheet, in_sheet, count = None, XLSX_MAX_ROWS, 0
    for row in rows:
        if in_sheet >= XLSX_MAX_ROWS:
            sheet = workbook.create_sheet("CDRs" if sheet is None else f"CDRs {len(workbook.worksheets) + 1}")
            sheet.append(titles)
            in_sheet = 0
        cells = [_xlsx_cell(sheet, v) for v in row]
        if offset_of is not None:
            when = row[offset_of]
            cells.append(when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:] if when else None)
        sheet.append(cells)
        in_sheet += 1
        count += 1
    if sheet is None:
        workbook.create_sheet("CDRs").append(titles)
    workbook.save(path)
    return count


def _file_chunks(handle) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


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
        fd, path = tempfile.mkstemp(prefix="dialstat-cdrs-", suffix=".xlsx")
        os.close(fd)
        try:
            write_xlsx(path, header, rows, scope.timezone)
            handle = open(path, "rb")  # closed by _file_chunks when the stream ends
        finally:
            os.unlink(path)  # the open handle keeps the data until then
        body = _file_chunks(handle)
    filename = f"cdrs_{range_label(criteria)}.{fmt}"
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
