"""The preview of an import: the first records of a file as Dialstat would store them, each problem on its cell.

The file's first lines are read by the same reader as the import (a format or an import profile) and go
through the same set-based conversion (``pipeline.stage_and_convert``) in a transaction that is rolled
back: country, cause, answered, times in the switch's zone are those an import would store. A switch the
file names and Dialstat does not know yet is not created (its zone is taken as UTC).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from data.core.i18n import N_
from data.ingest.pipeline import checkin, checkout, import_context, stage_and_convert
from data.ingest.profile_choice import file_head, open_file
from data.ingest.profile_read import HEAD_BYTES
from data.ingest.switches import find_switch, usable_switch_name, valid_timezone

PREVIEW_ROWS = 20
# The columns of the preview, and the stored field each one shows.
PREVIEW_COLUMNS = (
    ("line", N_("Line")),
    ("switch", N_("Switch")),
    ("callid", N_("Call id")),
    ("caller", N_("Caller")),
    ("destination", N_("Destination")),
    ("country", N_("Country")),
    ("cause", N_("Cause")),
    ("answered", N_("Answered")),
    ("start", N_("Start")),
    ("answer", N_("Answer")),
    ("duration", N_("Duration")),
    ("billsec", N_("Billed")),
    ("accountcode", N_("Account")),
)
# A reason starts with the field it is about; the preview shows it on that field's column.
_REASON_COLUMN = {
    "switch": "switch",
    "callid": "callid",
    "record_tag": "callid",
    "caller_id_number": "caller",
    "caller_id_name": "caller",
    "destination_number": "destination",
    "starting_date": "start",
    "answered_date": "answer",
    "ending_date": "duration",
    "duration": "duration",
    "billsec": "billsec",
    "hangup_cause_id": "cause",
    "hangup_cause": "cause",
    "disposition": "cause",
    "sip_code": "cause",
    "accountcode": "accountcode",
}

_PREVIEW_SQL = """
SELECT c.lineno AS line, coalesce(sw.name, nullif(btrim(s.switch), ''), %(switch)s) AS switch, c.callid,
       c.caller_id_number AS caller, c.destination_number AS destination,
       CASE WHEN c.country_code IS NOT NULL THEN concat(co.name, ' (', c.country_code, ')') END AS country,
       CASE WHEN c.hangup_cause_id IS NOT NULL THEN concat(c.hangup_cause_id, ' ', hc.name) END AS cause,
       CASE WHEN c.reason IS NULL THEN (c.answered_date IS NOT NULL OR c.billsec > 0) END AS answered,
       to_char(c.starting_date AT TIME ZONE m.timezone, 'YYYY-MM-DD HH24:MI:SS') AS start,
       to_char(c.answered_date AT TIME ZONE m.timezone, 'YYYY-MM-DD HH24:MI:SS') AS answer,
       c.duration, c.billsec, c.accountcode, m.timezone, c.reason
FROM ingest_calls c JOIN ingest_stage s ON s.recno = c.recno
LEFT JOIN ingest_switch_map m ON m.value = coalesce(btrim(s.switch), '')
LEFT JOIN switch sw ON sw.id = c.switch_id AND c.switch_id > 0
LEFT JOIN country co ON co.code = c.country_code
LEFT JOIN hangup_cause hc ON hc.code = c.hangup_cause_id
ORDER BY c.recno LIMIT %(limit)s
"""


class _KnownSwitches:
    """A preview's switches: the known ones with their zone; an unknown name is shown, not created."""

    def __init__(self, default: str | None):
        self.default = (default or "").strip() or None

    def resolve(self, value: str | None) -> tuple[int, str] | None:
        name = (value or "").strip() or self.default
        if not name or not usable_switch_name(name):
            return None
        found = find_switch(name)
        return (found["id"], valid_timezone(found["timezone"])) if found else (0, "UTC")


def _head_copy(path: Path, folder: Path) -> Path:
    """The file's first complete lines (gunzipped), under the file's name, for the reader to open."""
    head = file_head(path)
    cut = head.rfind(b"\n") + 1
    copy = folder / path.name.removesuffix(".gz")
    copy.write_bytes(head[:cut] if cut and len(head) >= HEAD_BYTES else head)  # a longer file: whole lines
    return copy


def problem_column(reason: str) -> str:
    """The preview column a reject reason is about ('' when it is about the whole record)."""
    reason = re.sub(r"^record \d+ of the line: ", "", reason or "")
    first = reason.split(" ", 1)[0].rstrip(":")
    return _REASON_COLUMN.get(first, "")


def preview_file(
    path: str | Path,
    fmt: str = "auto",
    profile: dict | None = None,
    switch: str | None = None,
    limit: int = PREVIEW_ROWS,
) -> dict:
    """``{"reader", "why", "rows", "problems"}``: the first ``limit`` records as they would be stored, and
    each problem as {(row index, column): reason}. ``FormatError``/``ProfileError`` when nothing reads it."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="dialstat-preview-") as folder:
        copy = _head_copy(path, Path(folder))
        source, close = open_file(copy, fmt, profile, batch_rows=limit)
        try:
            chunk = next(source.chunks, None)
        finally:
            close()
    answer = {"reader": source.format, "why": source.extra.get("why", ""), "rows": [], "problems": {}}
    if chunk is None:
        return answer
    if chunk.csv_data is not None:
        chunk = chunk.fallback()
    default_switch = switch or source.extra.get("switch") or None
    ctx = import_context(0, _KnownSwitches(default_switch), source.source_type, True, source.extra.get("timezone", ""))
    conn = checkout()
    try:
        cur = conn.cursor()
        stage_and_convert(cur, chunk, ctx)
        cur.execute(_PREVIEW_SQL, {"limit": limit, "switch": default_switch})
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.rollback()
        checkin(conn)
    for index, row in enumerate(rows):
        reason = row.pop("reason")
        if reason:
            answer["problems"][(index, problem_column(reason) or "line")] = reason
    answer["rows"] = rows
    return answer
