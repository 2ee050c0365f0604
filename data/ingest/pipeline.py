"""The import pipeline: batches of staged rows → COPY → set-based mediation → cdr, one transaction each.

Each batch is COPYed into session temp tables, checked, converted, normalised, deduplicated against
``cdr_call_key``, rated, stored, added to the rollups and counted on its ``import_batch`` row, then
committed: all of it or none of it. A process killed at any moment loses at most the batches not yet
committed, and running the same import again stores those (the committed ones count as duplicates):
every row ends stored exactly once.

Two worker threads, each with its own connection, work on consecutive batches at the same time (the
reading and the database work overlap too). The steps that two batches could do in opposite orders
(the rollup upserts) are serialised by an advisory lock held to the commit; the keys are claimed in
index order. A deadlock or serialisation failure is retried.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import psycopg2
import psycopg2.errors
from psycopg2.extras import execute_values

from data.alerting import destination_alerts
from data.core import db, rollups
from data.core.normalise import PrefixTable
from data.core.settings import NumberPlan, load_settings
from data.ingest import imports, mediation
from data.ingest.fields import CANONICAL_FIELDS
from data.ingest.formats import FormatError
from data.ingest.imports import ImportSummary
from data.ingest.profile_choice import open_file
from data.ingest.rows import Source, StageChunk, batches_from_rows, canonical_from_mapping
from data.ingest.switches import SwitchResolver
from data.live.freshness import advance_data_version
from data.rating import rater

log = logging.getLogger("dialstat.ingest")
WORKERS = 2  # the machine has 2 cores: one batch in the database while the next is read and staged
SAMPLE_REJECTS = 20
_RETRIES = 5
_COMMIT_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dialstat:ingest-commit'))"
_COUNT_BATCH = """UPDATE import_batch SET rows_read = rows_read + %(rows)s, accepted = accepted + %(accepted)s,
                         duplicates = duplicates + %(duplicates)s, rejected = rejected + %(rejected)s,
                         bytes_done = greatest(bytes_done, %(position)s)
                  WHERE id = %(import_id)s"""

ProgressCallback = Callable[[ImportSummary, int], None]


class _CopyRefused(Exception):
    """COPY could not take a fast-path batch as one CSV record per line."""


@dataclass
class ImportContext:
    import_id: int
    plan: NumberPlan
    longest_prefix: int
    switches: SwitchResolver
    source_type: int
    dry_run: bool = False
    timezone: str = ""  # an import profile's zone for naive times, instead of each switch's


# --- Connections: dedicated, with the session's temp tables, reused within the process ---

_idle: list = []
_idle_lock = threading.Lock()


def _connect():
    engine = db.engine()
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    conn = psycopg2.connect(*cargs, **cparams)
    with conn.cursor() as cur:
        cur.execute("SET temp_buffers = '128MB'")  # a batch's temp tables stay in memory
        cur.execute(mediation.SESSION_SETUP)
    conn.commit()
    return conn


def checkout():
    with _idle_lock:
        while _idle:
            conn = _idle.pop()
            if not conn.closed:
                return conn
    return _connect()


def checkin(conn) -> None:
    if conn.closed:
        return
    try:
        conn.rollback()
    except psycopg2.Error:
        conn.close()
        return
    with _idle_lock:
        _idle.append(conn)


def close_idle_connections() -> None:
    with _idle_lock:
        while _idle:
            _idle.pop().close()


# --- One batch ---


@dataclass
class BatchResult:
    rows: int
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    position: int = 0
    samples: tuple = ()


def _stage(cur, chunk: StageChunk) -> int:
    if chunk.stage_sql is not None:
        sql, params = chunk.stage_sql
        cur.execute(sql, params)
        return cur.rowcount
    if chunk.csv_data is not None:
        cur.execute("SELECT setval('ingest_stage_line', %s, false)", (chunk.first_line,))
        try:
            cur.copy_expert(
                f"COPY ingest_stage ({', '.join(chunk.csv_columns)}) FROM STDIN (FORMAT csv)",
                io.BytesIO(chunk.csv_data),
                size=1 << 20,
            )
        except psycopg2.DataError as exc:  # wrong number of fields, bad encoding, ...: Python reads it instead
            raise _CopyRefused(str(exc)) from exc
        if cur.rowcount != chunk.rows:  # a quoted field held a line break: line numbers need Python
            raise _CopyRefused("records span lines")
        return cur.rowcount
    columns = ", ".join(mediation.STAGE_COLUMNS)
    cur.copy_expert(f"COPY ingest_stage ({columns}) FROM STDIN", io.BytesIO(chunk.copy_data), size=1 << 20)
    return cur.rowcount


def _map_switches(cur, ctx: ImportContext) -> None:
    cur.execute("SELECT DISTINCT coalesce(btrim(switch), '') FROM ingest_stage")
    mapping = []
    for (value,) in cur.fetchall():
        resolved = ctx.switches.resolve(value)
        if resolved is not None:
            mapping.append((value, resolved[0], ctx.timezone or resolved[1]))
    if mapping:
        execute_values(cur, "INSERT INTO ingest_switch_map (value, switch_id, timezone) VALUES %s", mapping)


class _Partitions:
    """Months that have a cdr partition; a missing one is created in its own short transaction."""

    def __init__(self):
        self.known: set[date] = set()
        self.lock = threading.Lock()

    def ensure(self, months: Iterable[date]) -> None:
        missing = [m for m in months if m not in self.known]
        if not missing:
            return
        with self.lock, db.transaction() as conn:
            for month in missing:
                start = datetime(month.year, month.month, 1, tzinfo=timezone.utc)
                conn.exec_driver_sql("SELECT ensure_cdr_partitions(%(m)s, %(m)s)", {"m": start})
            self.known.update(missing)


def stage_and_convert(cur, chunk: StageChunk, ctx: ImportContext) -> int:
    """Fill ``ingest_stage`` and ``ingest_calls`` with the batch (the rows to reject have their reason)."""
    cur.execute(mediation.CLEAR)
    staged = _stage(cur, chunk)
    _map_switches(cur, ctx)
    cur.execute(*mediation.convert_sql(chunk.fields, ctx.plan, ctx.longest_prefix, ctx.import_id, ctx.source_type))
    return staged


def _store_once(conn, chunk: StageChunk, ctx: ImportContext, partitions: _Partitions, samples: bool) -> BatchResult:
    cur = conn.cursor()
    staged = stage_and_convert(cur, chunk, ctx)
    cur.execute("SELECT count(*) FILTER (WHERE reason IS NULL) FROM ingest_calls")
    valid = cur.fetchone()[0]
    result = BatchResult(rows=staged, rejected=staged - valid, position=chunk.position)
    if result.rejected:
        if samples:
            cur.execute(
                f"SELECT c.lineno, {mediation.REJECT_REASON_SQL} FROM ingest_calls c WHERE c.reason IS NOT NULL "
                "ORDER BY c.recno LIMIT %s",
                (SAMPLE_REJECTS,),
            )
            result.samples = tuple(cur.fetchall())
        cur.execute(mediation.rejects_sql(chunk.csv_columns), {"import_id": ctx.import_id})
        cur.execute("DELETE FROM ingest_calls WHERE reason IS NOT NULL")
    if valid:
        cur.execute(mediation.MONTHS_SQL)
        partitions.ensure(m for (m,) in cur.fetchall())
        cur.execute(mediation.CLAIM_SQL)
        result.accepted = cur.rowcount
        result.duplicates = valid - result.accepted
        if result.duplicates:
            cur.execute(mediation.DROP_DUPLICATES_SQL)
    if result.accepted:
        rater.rate_staged_calls(cur, "ingest_calls")
        destination_alerts.flag_staged_calls(cur, "ingest_calls")  # blacklisted destinations, at import
        cur.execute(mediation.STORE_SQL)
    cur.execute(_COMMIT_LOCK)  # from here to the commit, one batch at a time (rollup rows are shared)
    if result.accepted:
        rollups.add_to_rollups(cur, mediation.NEW_CALLS_SQL)
    if chunk.after_store is not None:
        chunk.after_store(cur)
    cur.execute(
        _COUNT_BATCH,
        {
            "rows": result.rows,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
            "position": chunk.position,
            "import_id": ctx.import_id,
        },
    )
    if ctx.dry_run:
        conn.rollback()
    else:
        conn.commit()
        if result.accepted:
            advance_data_version(conn)  # open dashboards redraw (data.live.freshness)
    return result


def store_batch(conn, chunk: StageChunk, ctx: ImportContext, partitions: _Partitions, samples: bool) -> BatchResult:
    """Store one batch in one transaction, retrying what concurrency can make fail."""
    for attempt in range(_RETRIES):
        try:
            return _store_once(conn, chunk, ctx, partitions, samples)
        except _CopyRefused as exc:
            conn.rollback()
            log.debug("batch at line %s read by Python: %s", chunk.first_line, exc)
            chunk = chunk.fallback()
        except (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure):
            conn.rollback()
            log.info("batch at line %s retried after a deadlock (attempt %s)", chunk.first_line, attempt + 1)
            time.sleep(0.05 * (attempt + 1))
        except BaseException:
            conn.rollback()
            raise
    return _store_once(conn, chunk, ctx, partitions, samples)


# --- A whole import ---


def run_batches(
    chunks: Iterator[StageChunk],
    ctx: ImportContext,
    summary: ImportSummary,
    progress: ProgressCallback | None = None,
    workers: int = WORKERS,
    samples: bool = False,
) -> None:
    """Store every batch, ``workers`` at a time; batches are read while earlier ones are stored."""
    partitions = _Partitions()

    def done(result: BatchResult) -> None:
        summary.add(
            result.rows,
            result.accepted,
            result.duplicates,
            result.rejected,
            result.samples[: max(0, SAMPLE_REJECTS - len(summary.reject_samples))],
        )
        if progress:
            progress(summary, result.position)

    if workers <= 1:
        conn = checkout()
        try:
            for chunk in chunks:
                done(store_batch(conn, chunk, ctx, partitions, samples))
        finally:
            checkin(conn)
        return

    local = threading.local()
    used: list = []
    used_lock = threading.Lock()

    def work(chunk: StageChunk) -> BatchResult:
        if not hasattr(local, "conn"):
            local.conn = checkout()
            with used_lock:
                used.append(local.conn)
        return store_batch(local.conn, chunk, ctx, partitions, samples)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
    inflight: deque = deque()
    try:
        for chunk in chunks:
            inflight.append(pool.submit(work, chunk))
            while len(inflight) > workers:  # bounded: memory holds at most workers + 1 batches
                done(inflight.popleft().result())
        while inflight:
            done(inflight.popleft().result())
    finally:
        for future in inflight:
            future.cancel()
        pool.shutdown(wait=True)
        for conn in used:
            checkin(conn)


def number_plan() -> NumberPlan:
    """The plan in force: the settings, with the overrides an admin saved in the UI (when that part is there)."""
    try:
        from data.core.setting_overrides import effective_number_plan
    except ImportError:
        return load_settings().number_plan
    return effective_number_plan()


def import_context(
    import_id: int, switches: SwitchResolver, source_type: int, dry_run: bool, timezone: str = ""
) -> ImportContext:
    prefixes = PrefixTable.get()
    return ImportContext(
        import_id=import_id,
        plan=number_plan(),
        longest_prefix=max((len(p) for p in prefixes), default=1),
        switches=switches,
        source_type=source_type,
        dry_run=dry_run,
        timezone=timezone,
    )


def run_import(
    running: imports.RunningImport,
    source: Source,
    *,
    switch: str | None = None,
    dry_run: bool = False,
    is_demo: bool = False,
    progress: ProgressCallback | None = None,
    workers: int = WORKERS,
    samples: bool = True,
) -> ImportSummary:
    """Store every batch of ``source`` under the import ``running`` and record how it ended."""
    summary = ImportSummary(import_id=running.id, format=source.format)
    started = time.monotonic()
    resolver = SwitchResolver(switch, source.source_type, is_demo)
    status, error = "failed", None
    try:
        ctx = import_context(running.id, resolver, source.source_type, dry_run, source.extra.get("timezone", ""))
        run_batches(source.chunks, ctx, summary, progress, workers, samples)
        status = "done"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        summary.seconds = time.monotonic() - started
        try:
            if dry_run:
                imports.delete_import(running.id)
            else:
                imports.finish_import(running.id, status, checksum=source.checksum(), error=error)
        finally:
            running.release()
    return summary


@dataclass
class PreparedImport:
    """A file opened and checked, its import recorded: ``run()`` stores it (in this thread or another)."""

    running: imports.RunningImport
    source: Source
    close: Callable[[], None]
    options: dict

    @property
    def import_id(self) -> int:
        return self.running.id

    def run(self, progress: ProgressCallback | None = None) -> ImportSummary:
        try:
            return run_import(self.running, self.source, progress=progress, **self.options)
        finally:
            self.close()


def prepare_file_import(
    path: str | Path,
    fmt: str = "auto",
    switch: str | None = None,
    dry_run: bool = False,
    *,
    source: str = "file",
    is_demo: bool = False,
    created_by: int | None = None,
    file_name: str | None = None,
    workers: int = WORKERS,
    profile: dict | None = None,
) -> PreparedImport:
    """Open ``path`` (in ``fmt``, or with the import ``profile``) and record its import; raises ``FormatError``
    (nothing recorded) when it cannot be read."""
    path = Path(path)
    opened, close = open_file(path, fmt, profile)
    switch = switch or opened.extra.get("switch") or None
    try:
        if opened.needs_switch and not switch:
            raise FormatError(f"{opened.format} files have no switch column: say which switch the calls come from")
        running = imports.start_import(
            source,
            fmt=opened.format,
            file_name=file_name or path.name,
            switch_hint=switch,
            bytes_total=path.stat().st_size,
            is_demo=is_demo,
            dry_run=dry_run,
            created_by=created_by,
        )
    except BaseException:
        close()
        raise
    return PreparedImport(
        running, opened, close, {"switch": switch, "dry_run": dry_run, "is_demo": is_demo, "workers": workers}
    )


def import_file(
    path: str | Path,
    fmt: str = "auto",
    switch: str | None = None,
    dry_run: bool = False,
    *,
    progress: ProgressCallback | None = None,
    **options,
) -> ImportSummary:
    """Import a CDR file (any format of ``formats.FORMATS``, or read with an import ``profile``; gzip or not);
    ``options`` are ``prepare_file_import``'s. See ``docs/ingestion.md`` and ``docs/import-profiles.md``.

    Raises ``FormatError`` before anything is stored when the file's format cannot be read.
    """
    return prepare_file_import(path, fmt, switch, dry_run, **options).run(progress)


def mapping_chunks(
    records: Iterable[dict],
    fields: frozenset[str] = frozenset(CANONICAL_FIELDS),
    first_line: int = 1,
    batch_rows: int | None = None,
) -> Iterator[StageChunk]:
    """Batches of CDRs given as mappings of CDR-Stats field names (push, collectors, demo data)."""
    import json

    def rows():
        for lineno, record in enumerate(records, start=first_line):
            if not isinstance(record, dict):
                yield (
                    lineno,
                    json.dumps(record, default=str)[:4000] if not isinstance(record, list) else "[...]",
                    "not a CDR (expected an object)",
                    [""] * len(CANONICAL_FIELDS),
                )
                continue
            values, problem = canonical_from_mapping(record)
            try:
                raw = json.dumps(record, default=str, separators=(",", ":"))[:4000]
            except (RecursionError, ValueError):
                raw = ""  # too deep to show: canonical_from_mapping said so
            yield lineno, raw, problem, values

    kwargs = {"batch_rows": batch_rows} if batch_rows else {}
    return batches_from_rows(rows(), fields, **kwargs)


def import_rows(
    records: Iterable[dict],
    *,
    source: str,
    switch: str | None = None,
    source_type: int = 2,
    fmt: str = "mapping",
    file_name: str | None = None,
    is_demo: bool = False,
    dry_run: bool = False,
    created_by: int | None = None,
    workers: int = 1,
) -> ImportSummary:
    """Import CDRs given as mappings of CDR-Stats field names (plus answered_date, ending_date,
    disposition, sip_code); rows without a switch take ``switch``."""
    running = imports.start_import(
        source,
        fmt=fmt,
        file_name=file_name,
        switch_hint=switch,
        is_demo=is_demo,
        dry_run=dry_run,
        created_by=created_by,
    )
    opened = Source(fmt, mapping_chunks(records), frozenset(CANONICAL_FIELDS), False, source_type)
    return run_import(running, opened, switch=switch, dry_run=dry_run, is_demo=is_demo, workers=workers)


def import_chunks(
    chunks: Iterable[StageChunk],
    *,
    source: str,
    fields: frozenset[str],
    source_type: int,
    switch: str | None = None,
    fmt: str | None = None,
    file_name: str | None = None,
    is_demo: bool = False,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import batches built by the caller (collectors, the cdr_import mover, demo data)."""
    running = imports.start_import(source, fmt=fmt, file_name=file_name, switch_hint=switch, is_demo=is_demo)
    opened = Source(fmt or source, iter(chunks), fields, False, source_type)
    return run_import(running, opened, switch=switch, is_demo=is_demo, workers=workers, progress=progress)
