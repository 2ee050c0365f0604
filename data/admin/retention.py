"""Retention (docs/administration.md, *Retention and archives*): raw calls are kept CDR_RETENTION_MONTHS whole
months, then each expired monthly partition of ``cdr`` is detached, archived (``data.ingest.archives``), read
back and checked, and only then dropped with its call keys. The rollups stay (ROLLUP_RETENTION_MONTHS, longer),
so reports over years still work; rejects and import bookkeeping have their own periods.

Crash-safe by order: a detached partition takes no new calls, the archive and its manifest are written through
renamed temporary files, and the drop (keys and table) is one transaction after the check. A run that stops
anywhere leaves the calls in the database (attached or detached) and is done again by the next run.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from psycopg2 import sql as pgsql

from data.core import db
from data.core.settings import Retention, load_settings
from data.ingest import archives
from data.ingest.mediation import record_key_sql

log = logging.getLogger("dialstat.retention")

JOB_NAME = "retention"
JOB_PERIOD_SECONDS = 86400
_LOCK = "dialstat:retention"
HOUR_LEVELS = ("cdr_rollup_hour", "cdr_rollup_hour_traffic", "cdr_rollup_hour_country", "cdr_rollup_hour_cause")


def partition_name(month: date) -> str:
    return f"cdr_y{month:%Y}m{month:%m}"


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def cutoff(today: date, months: int) -> date | None:
    """Partitions ending on or before this day are expired: the current month and ``months`` whole months before
    it are kept. None when kept for ever (0)."""
    return _month_start(today, months) if months > 0 else None


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def partitions() -> list[dict]:
    """Every monthly table of calls: the partitions of ``cdr`` and any left detached by an interrupted run."""
    return db.rows(
        r"""SELECT c.relname AS name, to_date(substring(c.relname FROM 'cdr_y(\d{4}m\d{2})'), 'YYYY"m"MM') AS month,
                   i.inhrelid IS NOT NULL AS attached, pg_total_relation_size(c.oid) AS bytes,
                   greatest(c.reltuples, 0)::bigint AS estimated_rows
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'cdr'::regclass
            WHERE c.relkind = 'r' AND c.relname ~ '^cdr_y\d{4}m\d{2}$' ORDER BY c.relname"""
    )


def next_run() -> datetime | None:
    """When the daily retention job runs next: a period after its last start (None: it never ran)."""
    last = db.scalar("SELECT max(started_at) FROM job_run WHERE job = :job", job=JOB_NAME)
    return last + timedelta(seconds=JOB_PERIOD_SECONDS) if last else None


def fates(today: date | None = None, kept: Retention | None = None) -> list[dict]:
    """Each monthly partition (and each archived month) with its size and what retention does with it:
    ``fate`` is ``kept`` (until ``until``; None: for ever), ``expired`` or ``detached`` (archived and dropped at
    the next run), or ``archived`` (on ``archived_at``, to ``name``; ``import-cdr`` puts it back)."""
    kept = kept or load_settings().retention
    limit = cutoff(today or datetime.now(timezone.utc).date(), kept.cdr_months)
    found = []
    for p in partitions():
        end = _month_start(p["month"], -1)
        until = None if limit is None else _month_start(end, -kept.cdr_months)
        if not p["attached"]:
            fate = "detached"  # by an interrupted run
        elif limit is not None and end <= limit:
            fate = "expired"
        else:
            fate = "kept"
        found.append({**p, "fate": fate, "until": until if fate == "kept" else None})
    for a in db.rows("SELECT file AS name, month, calls AS estimated_rows, archived_at FROM cdr_archive"):
        found.append({**a, "attached": False, "bytes": 0, "fate": "archived", "until": None})
    return sorted(found, key=lambda p: (p["month"], p["name"]))


def _archive_path(archive_dir: Path, name: str, oid: int) -> Path:
    # The table's oid in the name: a month archived, then re-created by a late import and archived again, gets a
    # second file; a run repeated on the same table after a crash rewrites its own.
    return archive_dir / f"{name}_{oid}{archives.SUFFIX}"


def archive_month(month: date, archive_dir: Path | None = None) -> dict:
    """Detach, archive, check and drop the partition of ``month`` (any month, expired or not: by hand)."""
    archive_dir = Path(archive_dir or load_settings().retention.archive_dir)
    name = partition_name(month)
    bounds = (_utc(month), _utc(_month_start(month, -1)))
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(hashtext(%s))", (_LOCK,))  # one run at a time; held past commits
        conn.commit()
        try:
            return _archive_locked(conn, cur, name, bounds, archive_dir)
        finally:
            conn.rollback()
            cur.execute("SELECT pg_advisory_unlock(hashtext(%s))", (_LOCK,))


def _archive_locked(conn, cur, name: str, bounds: tuple[datetime, datetime], archive_dir: Path) -> dict:
    table = pgsql.Identifier(name)
    cur.execute(
        "SELECT c.oid, EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid) FROM pg_class c "
        "WHERE c.relname = %s AND c.relnamespace = 'public'::regnamespace",
        (name,),
    )
    found = cur.fetchone()
    if found is None:
        raise ValueError(f"no partition {name}: nothing to archive")
    oid, attached = found
    if attached:
        # From here no import can add a call to it: the archive holds every call it will ever have.
        cur.execute(pgsql.SQL("ALTER TABLE cdr DETACH PARTITION {}").format(table))
    conn.commit()
    path = _archive_path(archive_dir, name, oid)
    written = archives.write_archive(cur, name, path, bounds)
    conn.commit()
    checked = archives.verify_archive(path)
    if checked["rows"] != written["rows"]:
        raise archives.ArchiveError(f"{path.name}: {checked['rows']} rows read back, {written['rows']} written")
    cur.execute(
        pgsql.SQL("DELETE FROM cdr_call_key k USING {} d WHERE k.switch_id = d.switch_id AND k.callid = ").format(table)
        + pgsql.SQL(record_key_sql("d"))
    )
    keys = cur.rowcount
    cur.execute(pgsql.SQL("DROP TABLE {}").format(table))
    # From now on an import refuses calls of this month, until the archive is restored.
    cur.execute(
        "INSERT INTO cdr_archive (file, month, calls) VALUES (%s, %s, %s) "
        "ON CONFLICT (file) DO UPDATE SET calls = excluded.calls, archived_at = now()",
        (path.name, bounds[0].date(), written["rows"]),
    )
    conn.commit()
    log.info("archived %s: %s calls to %s, %s call keys dropped", name, written["rows"], path, keys)
    return {"partition": name, "calls": written["rows"], "archive": str(path), "keys_dropped": keys}


def purge_rollups(before: date) -> dict:
    """Rows of the hour and day rollups before ``before`` (UTC day; the day level by its local day)."""
    with db.transaction() as conn:
        counts = {
            table: conn.exec_driver_sql(f"DELETE FROM {table} WHERE bucket < %(b)s", {"b": _utc(before)}).rowcount
            for table in HOUR_LEVELS
        }
        counts["cdr_rollup_day"] = conn.exec_driver_sql(
            "DELETE FROM cdr_rollup_day WHERE day < %(d)s", {"d": before}
        ).rowcount
    return counts


def purge_import_records(kept: Retention) -> dict:
    """Rejects older than REJECT_RETENTION_DAYS, finished imports (and their rejects) and fetched pushed rows older
    than IMPORT_RETENTION_DAYS."""
    with db.transaction() as conn:
        rejects = conn.exec_driver_sql(
            "DELETE FROM import_reject r USING import_batch b WHERE b.id = r.import_id "
            "AND b.started_at < now() - make_interval(days => %(d)s)",
            {"d": kept.reject_days},
        ).rowcount
        batches = conn.exec_driver_sql(
            "DELETE FROM import_batch WHERE finished_at IS NOT NULL "
            "AND started_at < now() - make_interval(days => %(d)s)",
            {"d": kept.import_days},
        ).rowcount
    return {"rejects_purged": rejects, "imports_purged": batches}


def run(today: date | None = None) -> dict:
    """The daily job: archive and drop every expired partition (and finish any left detached), purge old rollups,
    rejects and import records."""
    kept = load_settings().retention
    today = today or datetime.now(timezone.utc).date()
    done = []
    for p in fates(today, kept):
        if p["fate"] in ("expired", "detached"):
            done.append(archive_month(p["month"], kept.archive_dir))
    result = {"archived": [d["partition"] for d in done], "calls_archived": sum(d["calls"] for d in done)}
    rollup_limit = cutoff(today, kept.rollup_months)
    if rollup_limit:
        result["rollup_rows_purged"] = sum(purge_rollups(rollup_limit).values())
    return {**result, **purge_import_records(kept)}
