"""Runs one tick of a job: claimed once across processes, locked, recorded, never fatal."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime

from data.core import db, job_runs

log = logging.getLogger("dialstat.jobs")


def run_job(name: str, func, tick: datetime) -> str:
    """Run ``func`` for ``tick`` unless another process has; returns the run's status."""
    run_id = job_runs.claim_run(name, tick)
    if run_id is None:
        return "claimed-elsewhere"
    with db.raw_connection() as lock_conn:
        if not job_runs.try_job_lock(lock_conn, name):
            job_runs.finish_run(run_id, "skipped", "the previous run is still going")
            return "skipped"
        try:
            details = func()
        except Exception as exc:  # a failing job is recorded and logged, never kills the app
            log.exception("job %s failed", name)
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            job_runs.finish_run(run_id, "failed", error)
            _notify_failure(name, error)
            return "failed"
        finally:
            job_runs.release_job_lock(lock_conn, name)
    job_runs.finish_run(run_id, "ok", details=details if isinstance(details, dict) else None)
    return "ok"


def _notify_failure(name: str, error: str) -> None:
    """The admins get one e-mail per job and hour about a failure (data.core.mailer); never raises."""
    try:
        from data.core.mailer import notify_job_failure

        notify_job_failure(name, error)
    except Exception:
        log.exception("could not notify the admins of the failure of job %s", name)
