"""The rows an import could not read: listed in the UI and downloaded as a spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from data.core import db
from data.core.spreadsheet import safe_cell  # a cell a spreadsheet would evaluate is neutralised

CSV_HEADER = ("line", "reason", "raw")


def list_rejects(import_id: int, limit: int = 100, offset: int = 0) -> list[dict]:
    return db.rows(
        """SELECT lineno, reason, raw FROM import_reject WHERE import_id = :id
                      ORDER BY lineno, id LIMIT :limit OFFSET :offset""",
        id=import_id,
        limit=limit,
        offset=offset,
    )


def iter_rejects(import_id: int, page: int = 10_000) -> Iterator[tuple]:
    """The import's rejects as (line, reason, raw), a page of rows at a time (keyset on lineno, id)."""
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
            yield r["lineno"], r["reason"], r["raw"]
        if len(rows) < page:
            return
        last = (rows[-1]["lineno"] if rows[-1]["lineno"] is not None else -1, rows[-1]["id"])


def rejects_csv(import_id: int, page: int = 10_000) -> Iterator[str]:
    """The import's rejects as CSV text, a page of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for count, row in enumerate(iter_rejects(import_id, page), start=1):
        writer.writerow([safe_cell(value) for value in row])
        if count % page == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
