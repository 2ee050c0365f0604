"""Spreadsheet safety, one rule for every CSV and XLSX Dialstat writes (OWASP "CSV injection").

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return
before one), and also their fullwidth and small forms (``＝``, ``﹦``, ``＋``...: NFKC turns them into the
ASCII ones, and so do some spreadsheets). Such a cell is *neutralised* with a leading apostrophe, which
spreadsheets show as text and do not evaluate — unless it is a plain number (``+34293836010``, ``-12.5``,
``-3e5``): a number evaluates to itself, so it stays exactly as it is, and phone numbers in E.164 reach
every program that reads the file intact.

XLSX cells are typed instead (``xlsx_value``): numbers as numbers, text (phone numbers and ids included,
whatever they look like) as text, never a formula. ``write_xlsx`` writes a workbook row by row (openpyxl's
write-only mode: constant memory whatever the number of rows) and ``xlsx_chunks`` streams one from a
temporary file: every download offers it beside its CSV.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
EXACT_DIGITS = 15  # a spreadsheet keeps this many digits of a number: longer ones are kept as text


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would evaluate ``text`` as a formula (plain numbers excepted)."""
    if not text:
        return False
    first = unicodedata.normalize("NFKC", text[0])[:1]
    return first in FORMULA_STARTS and PLAIN_NUMBER.fullmatch(text) is None


def safe_text(text: str) -> str:
    """``text`` as a spreadsheet shows it without evaluating it."""
    return "'" + text if is_formula(text) else text


def safe_cell(value) -> str:
    """A CSV cell: None is empty, numbers stay numbers, text that would be evaluated gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return safe_text(str(value))


def csv_row(cells: Iterable, lineterminator: str = "\n") -> str:
    """One CSV line of safe cells: a cell with a comma, a quote, a CR or a LF is quoted (Python's csv module
    would leave a bare CR unquoted when lines end in LF, and a reader would split the row there)."""
    texts = []
    for cell in cells:
        text = safe_cell(cell)
        if any(char in text for char in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        texts.append(text)
    if texts == [""]:
        texts = ['""']  # a row of one empty cell is not a blank line (readers skip those)
    return ",".join(texts) + lineterminator


def csv_lines(header: list[str], rows: Iterable[Iterable], lineterminator: str = "\n") -> Iterable[str]:
    """Stream CSV text: the header line, then one line per row, every cell made safe."""
    yield csv_row(header, lineterminator)
    for row in rows:
        yield csv_row(row, lineterminator)


def rows_to_csv(rows: list[dict]) -> str:
    header = list(rows[0]) if rows else []
    return "".join(csv_lines(header, ([r.get(k) for k in header] for r in rows)))


def xlsx_value(value):
    """A value as an XLSX cell should hold it: ``(value, "s")`` forces a text cell, else ``(value, None)``.

    Text is text, never a formula (openpyxl would store a leading ``=`` as one) and never a number: phone
    numbers and ids, which the database keeps as text, stay exactly as they are. Numbers are numbers,
    unless they have more digits than a spreadsheet keeps.
    """
    if value is None or isinstance(value, bool):
        return value, None
    if isinstance(value, int) and abs(value) >= 10**EXACT_DIGITS:
        return str(value), "s"
    if isinstance(value, (int, float)):
        return value, None
    if isinstance(value, str):
        return value, "s"
    return value, None


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS = 1_048_575  # per sheet, below the header; more rows continue on another sheet
CHUNK = 64 * 1024


def _xlsx_cell(sheet, value):
    """A value as a write-only cell: local date-times without their zone (spreadsheets have none), Decimal as a
    number, JSON as text, text forced to a text cell (never a formula, never a number)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    value, data_type = xlsx_value(value)
    if data_type == "s":
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
        return cell
    return value


def write_xlsx(path: str, header: list[str], rows: Iterable[Iterable], sheet_title: str = "Data") -> int:
    """Write ``rows`` under ``header`` to an .xlsx file at ``path`` in constant memory; returns the row count."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet, in_sheet, count = None, XLSX_MAX_ROWS, 0
    for row in rows:
        if in_sheet >= XLSX_MAX_ROWS:
            title = sheet_title if sheet is None else f"{sheet_title} {len(workbook.worksheets) + 1}"
            sheet = workbook.create_sheet(title[:31])
            sheet.append(list(header))
            in_sheet = 0
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        in_sheet += 1
        count += 1
    if sheet is None:
        workbook.create_sheet(sheet_title[:31]).append(list(header))
    workbook.save(path)
    return count


def xlsx_chunks(header: list[str], rows: Iterable[Iterable], sheet_title: str = "Data") -> Iterator[bytes]:
    """A workbook written to a temporary file (deleted at once: the open handle keeps it), then read back in
    chunks for a streamed response. Writing happens before the first chunk: an error is not a cut file."""
    fd, path = tempfile.mkstemp(prefix="dialstat-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(path, header, rows, sheet_title)
        handle = open(path, "rb")  # noqa: SIM115 - closed when the stream ends
    finally:
        os.unlink(path)
    return _file_chunks(handle)


def _file_chunks(handle) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


def rows_to_xlsx(rows: list[dict], sheet_title: str = "Data") -> bytes:
    """Report rows (dicts, as a chart's data) as XLSX bytes."""
    header = list(rows[0]) if rows else []
    return b"".join(xlsx_chunks(header, ([r.get(k) for k in header] for r in rows), sheet_title))
