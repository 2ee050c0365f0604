"""Bookkeeping of scheduled job runs, and the guarantee that each tick of a job runs once.

A run is claimed by inserting ``(job, tick)``; the unique key lets exactly one process win, however
many schedulers are running. While it runs, the job holds a PostgreSQL advisory lock named after it,
so a long run is never overlapped by the next tick in another process.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone

from sqlalchemy import text

from data.core import db


def claim_run(job: str, tick: datetime) -> int | None:
    """Record the start of ``job`` for ``tick``; None if another process already claimed it."""
    with db.transaction() as conn:
        return conn.execute(
            text(
                "INSERT INTO job_run (job, tick, host) VALUES (:job, :tick, :host) "
                "ON CONFLICT (job, tick) DO NOTHING RETURNING id"
            ),
            {"job": job, "tick": tick, "host": socket.gethostname()},
        ).scalar()


def finish_run(run_id: int, status: str, error: str | None = None, details: dict | None = None) -> None:
    with db.transaction() as conn:
        conn.execute(
            text(
                "UPDATE job_run SET finished_at = clock_timestamp(), status = :status, error = :error, "
                "details = CAST(:details AS jsonb) WHERE id = :id"
            ),
            {
                "id": run_id,
                "status": status,
                "error": error,
                "details": json.dumps(details, default=str) if details is not None else None,
            },
        )


def try_job_lock(conn, job: str) -> bool:
    """Take the job's session advisory lock on ``conn`` (a raw DBAPI connection), without waiting."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtext('dialstat-job:' || %s))", (job,))
        return cur.fetchone()[0]


def release_job_lock(conn, job: str) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(hashtext('dialstat-job:' || %s))", (job,))


def recent_runs(job: str | None = None, limit: int = 50) -> list[dict]:
    return db.rows(
        """SELECT id, job, tick, host, started_at, finished_at, status, error, details,
                  extract(epoch FROM finished_at - started_at) AS seconds
           FROM job_run WHERE :job IS NULL OR job = :job ORDER BY started_at DESC LIMIT :limit""",
        job=job,
        limit=limit,
    )


def current_tick(period_seconds: int, now: datetime | None = None) -> datetime:
    """The start of the period a run belongs to: every process computes the same tick."""
    now = now or datetime.now(timezone.utc)
    epoch = int(now.timestamp()) // period_seconds * period_seconds
    return datetime.fromtimestamp(epoch, timezone.utc)
