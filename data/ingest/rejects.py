"""The rows an import could not read: listed in the UI and downloaded as a spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from data.core import db

CSV_HEADER = ("line", "reason", "raw")
# A cell a spreadsheet would read as a formula is written with a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def list_rejects(import_id: int, limit: int = 100, offset: int = 0) -> list[dict]:
    return db.rows(
        """SELECT lineno, reason, raw FROM import_reject WHERE import_id = :id
                      ORDER BY lineno, id LIMIT :limit OFFSET :offset""",
        id=import_id,
        limit=limit,
        offset=offset,
    )


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rejects_csv(import_id: int, page: int = 10_000) -> Iterator[str]:
    """The import's rejects as CSV text, a page of rows at a time (keyset on lineno, id)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    last = (-1, -1)
    while True:
        rows = db.rows(
            """SELECT id, lineno, reason, raw FROM import_reject
                          WHERE import_id = :import_id AND (coalesce(lineno, -1), id) > (:line, :rid)
                          ORDER BY coalesce(lineno, -1), id LIMIT :page""",
            import_id=import_id,
            line=last[0],
            rid=last[1],
            page=page,
        )
        for r in rows:
            writer.writerow([spreadsheet_safe(r["lineno"]), spreadsheet_safe(r["reason"]), spreadsheet_safe(r["raw"])])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < page:
            return
        last = (rows[-1]["lineno"] if rows[-1]["lineno"] is not None else -1, rows[-1]["id"])
