"""Scheduled exports and their watermark (see docs/export.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text

from data.core import db
from data.core.settings import load_settings

from . import exporter
from .cdr_query import ExportFilter
from .formats import ExportError, export_file_name
from .library import (
    NAME_PATTERN,
    ExportRefused,
    audit_change,
    get_template,
    mask_prefixes,
    row_or_none,
)

log = logging.getLogger("dialstat.export")
UTC = timezone.utc
HORIZON_WAIT_SECONDS = 30.0  # how long a scheduled run waits for in-flight imports to commit
_SCHEDULE_AUDITED = "name, template_name, period_seconds, export_dir, enabled"  # what the audit log keeps


# --- Scheduled exports and their watermark -----------------------------------------------------------

PERIODS = {"every 5 minutes": 300, "every 15 minutes": 900, "hourly": 3600, "daily": 86400}


def save_schedule(
    name: str,
    template_name: str,
    period_seconds: int,
    export_dir: str = "",
    *,
    enabled: bool = True,
    user_id: int | None = None,
    schedule_id: int | None = None,
) -> int:
    """Create or update a schedule; ExportRefused when its settings are wrong."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ExportRefused("a schedule name is 1 to 100 letters, digits, spaces or . _ * -")
    get_template(template_name)
    if not isinstance(period_seconds, int) or period_seconds < 60:
        raise ExportRefused("the period is at least 60 seconds")
    exporter.resolve_export_dir(export_dir)
    values = dict(n=name, t=template_name, p=period_seconds, d=export_dir or "", e=enabled, u=user_id)
    with db.transaction() as conn:
        if schedule_id is None:
            before = None
            schedule_id = conn.execute(
                text(
                    """INSERT INTO export_schedule
                       (name, template_name, period_seconds, export_dir, enabled, created_by)
                   VALUES (:n, :t, :p, :d, :e, :u) RETURNING id"""
                ),
                values,
            ).scalar()
        else:
            before = row_or_none(
                conn, f"SELECT {_SCHEDULE_AUDITED} FROM export_schedule WHERE id = :id FOR UPDATE", id=schedule_id
            )
            conn.execute(
                text("""UPDATE export_schedule SET name = :n, template_name = :t, period_seconds = :p,
                                     export_dir = :d, enabled = :e WHERE id = :id"""),
                {**values, "id": schedule_id},
            )
        after = row_or_none(conn, f"SELECT {_SCHEDULE_AUDITED} FROM export_schedule WHERE id = :id", id=schedule_id)
        audit_change(conn, "update" if before else "create", "export_schedule", schedule_id, before, after)
    return schedule_id


def list_schedules() -> list[dict]:
    return db.rows("SELECT * FROM export_schedule ORDER BY name")


def get_schedule(schedule_id: int) -> dict | None:
    found = db.rows("SELECT * FROM export_schedule WHERE id = :id", id=schedule_id)
    return found[0] if found else None


def delete_schedule(schedule_id: int) -> dict | None:
    """Delete a schedule (its export history stays); returns what it was, None if there was none."""
    with db.transaction() as conn:
        before = row_or_none(
            conn, f"DELETE FROM export_schedule WHERE id = :id RETURNING {_SCHEDULE_AUDITED}", id=schedule_id
        )
        if before:
            audit_change(conn, "delete", "export_schedule", schedule_id, before, None)
    return before


def rewind_schedule(schedule_id: int, watermark_id: int) -> None:
    """Set a schedule's watermark back (explicitly): its next run exports again every CDR after it."""
    with db.transaction() as conn:
        before = row_or_none(conn, "SELECT watermark_id FROM export_schedule WHERE id = :id FOR UPDATE", id=schedule_id)
        conn.execute(
            text(
                "UPDATE export_schedule SET watermark_id = :w, pending_horizon = NULL, "
                "pending_holders = NULL WHERE id = :id"
            ),
            {"w": max(int(watermark_id), 0), "id": schedule_id},
        )
        if before:
            audit_change(
                conn, "rewind", "export_schedule", schedule_id, before, {"watermark_id": max(int(watermark_id), 0)}
            )


@dataclass(frozen=True)
class Horizon:
    """The CDR id horizon: ``id`` was the last id handed out, ``holders`` the transactions that may still
    hold ids up to it (virtual transaction ids holding the cdr id sequence's lock)."""

    id: int
    holders: tuple[str, ...]


def cdr_id_sequence() -> str:
    return db.scalar("SELECT pg_get_serial_sequence('cdr', 'id')")


def read_horizon(conn) -> Horizon:
    """Read the last CDR id handed out, then who may still hold an id up to it.

    ``nextval`` takes a RowExclusiveLock on the sequence until its transaction ends. So a transaction
    holding an uncommitted id below the horizon had already called nextval when the horizon was read,
    and still holds that lock when the holders are listed right after: it is one of ``holders``.
    """
    sequence = cdr_id_sequence()
    with conn.cursor() as cur:
        cur.execute("SELECT seqcache FROM pg_sequence WHERE seqrelid = %s::regclass", (sequence,))
        if cur.fetchone()[0] != 1:  # cached ids are handed out after the horizon is read: not safe
            raise ExportError(f"{sequence} must have CACHE 1 for scheduled exports (see docs/export.md)")
        cur.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence}")
        last_id = cur.fetchone()[0]
        cur.execute(
            """SELECT DISTINCT virtualtransaction FROM pg_locks
               WHERE locktype = 'relation' AND relation = %s::regclass AND granted
                 AND pid IS DISTINCT FROM pg_backend_pid()""",
            (sequence,),
        )
        holders = tuple(sorted(r[0] for r in cur.fetchall()))
    return Horizon(last_id, holders)


def still_running(conn, holders: Sequence[str]) -> tuple[str, ...]:
    """The ones of ``holders`` still in progress (still holding the sequence's lock)."""
    if not holders:
        return ()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT virtualtransaction FROM pg_locks
               WHERE locktype = 'relation' AND relation = %s::regclass AND virtualtransaction = ANY(%s)""",
            (cdr_id_sequence(), list(holders)),
        )
        return tuple(sorted(r[0] for r in cur.fetchall()))


def wait_for_horizon(wait_seconds: float) -> tuple[Horizon, tuple[str, ...]]:
    """Read the horizon and wait up to ``wait_seconds`` for its holders to end; returns it and who is left."""
    with db.raw_connection() as conn:
        conn.autocommit = True  # each poll sees the current locks, without holding a snapshot
        try:
            horizon = read_horizon(conn)
            left, deadline, pause = horizon.holders, time.monotonic() + wait_seconds, 0.02
            while left and time.monotonic() < deadline:
                time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
                pause = min(pause * 2, 1.0)
                left = still_running(conn, left)
            if left:
                left = still_running(conn, left)
        finally:
            conn.autocommit = False
    return horizon, left


@dataclass
class ScheduleRun:
    schedule_id: int
    name: str
    status: str  # exported | nothing-new | busy | waiting | failed
    id_after: int = 0
    id_through: int = 0
    result: exporter.ExportResult | None = None
    error: str | None = None

    def as_json(self) -> dict:
        data = {"schedule": self.name, "status": self.status, "id_after": self.id_after, "id_through": self.id_through}
        if self.result is not None:
            data.update(
                history_id=self.result.history_id, file=str(self.result.path), records=self.result.summary.total_records
            )
        if self.error:
            data["error"] = self.error
        return data


def run_schedule(
    schedule_id: int,
    *,
    wait_seconds: float = HORIZON_WAIT_SECONDS,
    tick: datetime | None = None,
    now: datetime | None = None,
) -> ScheduleRun:
    """Run one schedule: export the CDRs after its watermark, up to the safe horizon, exactly once.

    1. Read the id horizon and wait (briefly) for the transactions that may hold lower ids to end. If some
       are still running, fall back to the horizon an earlier run read, once its holders have all ended.
    2. In one transaction: lock the schedule row, stream ``watermark < id <= safe`` into a temporary file
       (fsynced), record the history entry, advance the watermark, commit.
    3. Rename the file to its final name (exporter.finalize_pending_files repairs a crash before that).
    """
    horizon, left = wait_for_horizon(wait_seconds)
    now = now or datetime.now(UTC)
    with db.raw_connection() as conn:
        with conn.cursor() as cur:
            cur.execute(
                """SELECT name, template_name, export_dir, watermark_id, pending_horizon, pending_holders
                   FROM export_schedule WHERE id = %s FOR UPDATE SKIP LOCKED""",
                (schedule_id,),
            )
            row = cur.fetchone()
        if row is None:
            return ScheduleRun(schedule_id, "", "busy")
        name, template_name, export_dir, watermark, pending_id, pending_holders = row
        if horizon.id < watermark:
            raise ExportError(
                f"schedule {name!r}: the cdr id sequence ({horizon.id}) is behind the watermark "
                f"({watermark}); was it reset? Rewind the schedule explicitly."
            )
        if not left:
            safe, pending = horizon.id, (None, None)
        else:  # imports in flight: use an earlier horizon if it is proven now, and keep (or start) waiting
            earlier_proven = pending_id is not None and not still_running(conn, pending_holders or ())
            safe = max(watermark, pending_id) if earlier_proven else watermark
            keep_earlier = pending_id is not None and not earlier_proven
            pending = (pending_id, pending_holders) if keep_earlier else (horizon.id, list(left))
        result, status = None, "nothing-new" if not left else "waiting"
        if safe > watermark:
            template = get_template(template_name)
            flt = ExportFilter(id_after=watermark, id_through=safe)
            run = exporter.ExportRun(
                template,
                flt,
                export_id=f"{name}-{safe}",
                now=now,
                default_tenant=load_settings().export_default_tenant,
                mask_prefixes=mask_prefixes(template.mask_destination_id),
                keep_exported_cgrids=False,
            )
            directory = exporter.resolve_export_dir(export_dir or template.export_dir or None)
            directory.mkdir(parents=True, exist_ok=True)
            file_name = export_file_name(template, now)
            temp, summary, digest, size = exporter.write_temp_file(conn, run, directory, file_name)
            try:
                if summary.total_records or summary.unexported:
                    actor = exporter.Actor("schedule", f"schedule {name}", schedule_id=schedule_id)
                    history_id = exporter.record_run(
                        conn, run, actor, summary, directory / file_name, temp, digest, size
                    )
                    result, status = exporter.ExportResult(history_id, None, summary, digest, size), "exported"
                _advance(conn, schedule_id, safe, pending, tick, None)
                conn.commit()
            except BaseException:
                conn.rollback()
                temp.unlink(missing_ok=True)
                raise
            if result is None:
                temp.unlink(missing_ok=True)
            else:
                result.path = exporter.finalize_file(result.history_id, temp, directory / file_name)
        else:
            _advance(conn, schedule_id, watermark, pending, tick, None)
    return ScheduleRun(schedule_id, name, status, watermark, safe, result)


def _advance(conn, schedule_id: int, watermark: int, pending: tuple, tick: datetime | None, error: str | None) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE export_schedule SET watermark_id = %s, pending_horizon = %s, pending_holders = %s,
                   last_tick = coalesce(%s, last_tick), last_run_at = now(), last_error = %s WHERE id = %s""",
            (watermark, pending[0], pending[1], tick, error, schedule_id),
        )


def due_schedules(now: datetime) -> list[tuple[int, datetime]]:
    """Enabled schedules whose current period has not run yet, with that period's tick."""
    from data.core.job_runs import current_tick

    due = []
    for row in db.rows("SELECT id, period_seconds, last_tick FROM export_schedule WHERE enabled ORDER BY id"):
        tick = current_tick(row["period_seconds"], now)
        if row["last_tick"] is None or tick > row["last_tick"]:
            due.append((row["id"], tick))
    return due


def run_due_schedules(now: datetime | None = None, wait_seconds: float = HORIZON_WAIT_SECONDS) -> dict:
    """The scheduled job: repair unfinished files, then run every due schedule (one failing does not stop
    the others; its error is kept on the schedule)."""
    now = now or datetime.now(UTC)
    repaired = exporter.finalize_pending_files()
    results = []
    for schedule_id, tick in due_schedules(now):
        try:
            results.append(run_schedule(schedule_id, wait_seconds=wait_seconds, tick=tick, now=now).as_json())
        except Exception as exc:  # recorded on the schedule and in the job's details; the next tick retries
            log.exception("scheduled export %s failed", schedule_id)
            db.execute(
                "UPDATE export_schedule SET last_error = :e, last_run_at = now() WHERE id = :id",
                e=f"{type(exc).__name__}: {exc}",
                id=schedule_id,
            )
            results.append({"schedule_id": schedule_id, "status": "failed", "error": str(exc)})
    return {"repaired_files": repaired, "runs": results}
