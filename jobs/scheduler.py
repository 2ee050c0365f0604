"""The scheduler: APScheduler 3 in the web process (SCHEDULER=embedded) or on its own.

Triggers are aligned on the epoch, so every process fires at the same instants and computes the
same tick; ``run_job`` lets one of them run it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from data.core.job_runs import current_tick
from data.core.settings import load_settings
from jobs import alarms, exports, housekeeping, ingest_jobs, live, mail, rating, retention
from jobs.registry import ScheduledJob
from jobs.runner import run_job

log = logging.getLogger("dialstat.jobs")
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)

# Every job Dialstat runs on a schedule: each domain lists its own.
JOBS: tuple[ScheduledJob, ...] = (
    *housekeeping.JOBS,
    *retention.JOBS,  # expired call partitions archived and dropped, old rollups and import records purged
    *ingest_jobs.JOBS,
    *rating.JOBS,
    *mail.JOBS,
    *alarms.JOBS,  # alarms, destination-alert notices, threat control, webhook deliveries
    *exports.JOBS,
    *live.JOBS,  # calls in progress, polled from the switches every 2 s
)


def _test_noop() -> dict:
    import os
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname()}


def scheduled_jobs() -> tuple[ScheduledJob, ...]:
    """The jobs this installation runs: ``JOBS``, plus a no-op job with a short period when
    SCHEDULER_TEST_JOB_SECONDS > 0 (to watch the once-per-tick claim across processes)."""
    test_period = load_settings().ops.scheduler_test_job_seconds
    return (*JOBS, ScheduledJob("scheduler-test", _test_noop, test_period)) if test_period > 0 else JOBS


def job_by_name(name: str) -> ScheduledJob:
    jobs = scheduled_jobs()
    for job in jobs:
        if job.name == name:
            return job
    raise KeyError(f"no job named {name!r}; jobs: {', '.join(j.name for j in jobs)}")


def tick_job(job: ScheduledJob) -> str:
    return run_job(job.name, job.func, current_tick(job.period_seconds))


def build_scheduler(blocking: bool = False):
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=timezone.utc)
    for job in scheduled_jobs():
        scheduler.add_job(
            tick_job,
            IntervalTrigger(seconds=job.period_seconds, start_date=EPOCH),
            args=[job],
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=job.period_seconds,
        )
    return scheduler


_running = None


def is_serving_process() -> bool:
    """True under gunicorn or ``flask run``; False for every other shell command (``flask db upgrade``,
    ``import-cdr``, ``--help`` ...): Flask sets FLASK_RUN_FROM_CLI for all of them, so only the command
    being run tells (none under gunicorn; ``run``, or none in its server thread, under ``flask run``)."""
    import click

    context = click.get_current_context(silent=True)
    return context is None or context.info_name == "run"


def start_background_scheduler():
    """Start the in-process scheduler once per process."""
    global _running
    if _running is None:
        _running = build_scheduler()
        _running.start()
        log.info("scheduler started with jobs: %s", ", ".join(j.name for j in scheduled_jobs()))
    return _running
