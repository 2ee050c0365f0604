"""Bookkeeping of imports (``import_batch``): one row per import, its counts, its progress and status.

While an import runs, its process holds a session advisory lock named after the import: an import
still marked running whose lock is free was interrupted (its process died), and shows so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import text

from data.core import db

LOCK_CLASS = 20_483  # first key of the advisory locks held by running imports (second key: the import id)

_STATUS_SQL = f"""CASE WHEN b.status = 'running' AND NOT EXISTS (
                      SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = {LOCK_CLASS}
                        AND l.objid = b.id AND l.objsubid = 2 AND l.granted)
                  THEN 'interrupted' ELSE b.status END"""


@dataclass
class ImportSummary:
    """What an import did: every data row read ends accepted, duplicate or rejected."""

    import_id: int | None = None
    format: str = ""
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    reject_samples: list[tuple[int, str]] = field(default_factory=list)

    def add(self, rows: int, accepted: int, duplicates: int, rejected: int, samples=()) -> None:
        self.rows_read += rows
        self.accepted += accepted
        self.duplicates += duplicates
        self.rejected += rejected
        self.reject_samples.extend(samples)

    def line(self) -> str:
        return f"accepted={self.accepted} duplicates={self.duplicates} rejected={self.rejected}"

    @property
    def rate(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


class RunningImport:
    """A new import_batch row and the session advisory lock that says its process is alive.

    The lock is taken in the transaction that inserts the row, so nobody ever sees the import running
    without its lock; ``release()`` (or the process's death) frees it.
    """

    def __init__(self, **fields):
        self.conn = db.engine().connect()
        try:
            self.id = self.conn.execute(
                text("""INSERT INTO import_batch (source, format, file_name, switch_hint, bytes_total, is_demo, dry_run,
                                                  created_by)
                        VALUES (:source, :fmt, :file_name, :switch_hint, :bytes_total, :is_demo, :dry_run, :created_by)
                        RETURNING id"""),
                fields,
            ).scalar()
            self.conn.execute(text(f"SELECT pg_advisory_lock({LOCK_CLASS}, CAST(:id AS integer))"), {"id": self.id})
            self.conn.commit()
        except BaseException:
            self.conn.close()
            raise

    def release(self) -> None:
        try:
            self.conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_CLASS}, CAST(:id AS integer))"), {"id": self.id})
            self.conn.commit()
        finally:
            self.conn.close()


@dataclass(frozen=True)
class ImportOrigin:
    """Where an import's calls come from and how it runs, as its ``import_batch`` row records it."""

    source: str
    fmt: str | None = None
    file_name: str | None = None
    switch_hint: str | None = None
    bytes_total: int | None = None
    is_demo: bool = False
    dry_run: bool = False
    created_by: int | None = None


def start_import(source: str, **origin) -> RunningImport:
    """Record a new import from ``source`` (``ImportOrigin``'s fields: a misspelt one is refused here)."""
    return RunningImport(**asdict(ImportOrigin(source, **origin)))


def finish_import(import_id: int, status: str, *, checksum: str | None = None, error: str | None = None) -> None:
    with db.transaction() as conn:
        conn.execute(
            text("""UPDATE import_batch SET status = :status, finished_at = clock_timestamp(), error = :error,
                           file_checksum = coalesce(:checksum, file_checksum),
                           bytes_done = CASE WHEN :status = 'done' THEN coalesce(bytes_total, bytes_done)
                                             ELSE bytes_done END
                    WHERE id = :id"""),
            {"status": status, "error": error, "checksum": checksum or None, "id": import_id},
        )


def delete_import(import_id: int) -> None:
    with db.transaction() as conn:
        conn.execute(text("DELETE FROM import_batch WHERE id = :id"), {"id": import_id})


def get_import(import_id: int) -> dict | None:
    found = db.rows(f"SELECT b.*, {_STATUS_SQL} AS state FROM import_batch b WHERE b.id = :id", id=import_id)
    return found[0] if found else None


def list_imports(limit: int = 50, include_demo: bool = True) -> list[dict]:
    return db.rows(
        f"""SELECT b.id, b.source, b.format, b.file_name, b.started_at, b.finished_at, b.rows_read, b.accepted,
                   b.duplicates, b.rejected, b.is_demo, {_STATUS_SQL} AS state, b.error
            FROM import_batch b WHERE :demo OR NOT b.is_demo ORDER BY b.id DESC LIMIT :limit""",
        demo=include_demo,
        limit=limit,
    )


def mark_interrupted() -> int:
    """Record as interrupted the imports whose process died; returns how many."""
    with db.transaction() as conn:
        return conn.execute(
            text(f"""UPDATE import_batch b SET status = 'interrupted', finished_at = clock_timestamp()
                                     WHERE b.status = 'running' AND {_STATUS_SQL} = 'interrupted'""")
        ).rowcount
