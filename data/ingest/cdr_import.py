"""The ``cdr_import`` table a running CDR-Pusher fills: pending rows are moved into ``cdr``.

Each batch is staged straight from the table (``FOR UPDATE SKIP LOCKED``: two movers never take the same
rows) and its rows are flagged ``imported`` in the transaction that stored them, so a crash leaves them
pending and nothing is lost or stored twice. Rejected rows are flagged too (their reason is kept in
``import_reject``): they would fail again.
"""

from __future__ import annotations

from collections.abc import Iterator

from data.core import db
from data.ingest import pipeline
from data.ingest.fields import CDR_STATS_FIELDS, SOURCE_TYPES
from data.ingest.formats import BATCH_ROWS, StageChunk
from data.ingest.imports import ImportSummary

_TEXT = {
    "starting_date": "to_char(i.starting_date AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "extradata": "i.extradata::text",
}
_COLUMNS = ", ".join(CDR_STATS_FIELDS)
_VALUES = ", ".join(_TEXT.get(name, f"i.{name}::text") for name in CDR_STATS_FIELDS)
STAGE_SQL = f"""
    INSERT INTO ingest_stage (lineno, raw, {_COLUMNS})
    SELECT i.id, (to_jsonb(i) - 'imported')::text, {_VALUES}
    FROM cdr_import i
    WHERE i.id IN (SELECT id FROM cdr_import WHERE NOT imported ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"""
FLAG_SQL = "UPDATE cdr_import SET imported = true WHERE id IN (SELECT lineno FROM ingest_stage)"


def pending() -> int:
    return db.scalar("SELECT count(*) FROM cdr_import WHERE NOT imported")


def _flag(cur) -> None:
    cur.execute(FLAG_SQL)


def _chunks(batch_rows: int, max_batches: int) -> Iterator[StageChunk]:
    for _ in range(max_batches):
        # Asked for once the previous batch is committed (one worker): stop when nothing is left.
        if not db.scalar("SELECT EXISTS (SELECT 1 FROM cdr_import WHERE NOT imported)"):
            return
        yield StageChunk(
            first_line=0,
            rows=0,
            stage_sql=(STAGE_SQL, {"limit": batch_rows}),
            fields=frozenset(CDR_STATS_FIELDS),
            after_store=_flag,
        )


def move_pending(batch_rows: int = BATCH_ROWS, max_batches: int = 40) -> ImportSummary | None:
    """Move up to ``max_batches`` batches of pending rows into cdr; None when there was nothing to move."""
    if not db.scalar("SELECT EXISTS (SELECT 1 FROM cdr_import WHERE NOT imported)"):
        return None
    return pipeline.import_chunks(
        _chunks(batch_rows, max_batches),
        source="cdr_import",
        fields=frozenset(CDR_STATS_FIELDS),
        source_type=SOURCE_TYPES["csv"],
        fmt="cdr_import",
        file_name="cdr_import table",
        workers=1,
    )
