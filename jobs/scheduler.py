"""The scheduler: APScheduler 3 in the web process (SCHEDULER=embedded) or on its own.

Triggers are aligned on the epoch, so every process fires at the same instants and computes the
same tick; ``run_job`` lets one of them run it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from data.core.concurrency import refresh_concurrency
from data.core.rollups import fill_new_timezones, refresh_recent_rollups
from jobs import alarms as alarm_jobs
from jobs import housekeeping
from jobs import mail as mail_jobs
from jobs.runner import current_tick, run_job

log = logging.getLogger("dialstat.jobs")
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: Callable[[], dict | None]
    period_seconds: int


# Every job Dialstat runs on a schedule. Other modules append theirs with ``register``.
JOBS: list[ScheduledJob] = [
    ScheduledJob("housekeeping", housekeeping.run, 3600),
    # Imports keep the rollups current; this repairs yesterday and today after deletes or late fixes.
    ScheduledJob("refresh-rollups", refresh_recent_rollups, 3600),
    ScheduledJob("rollup-timezones", lambda: {"filled": fill_new_timezones()}, 60),
    ScheduledJob("concurrent-calls", refresh_concurrency, 60),  # peaks of the minutes imports touched
    ScheduledJob("mail-outbox", mail_jobs.outbox_job, mail_jobs.OUTBOX_PERIOD_SECONDS),  # send and retry mail
    ScheduledJob("mail-reports", mail_jobs.reports_job, mail_jobs.REPORTS_PERIOD_SECONDS),  # scheduled reports
    # Alarms (each closed period, once), destination-alert notices, threat control, webhook deliveries.
    ScheduledJob("alarms", alarm_jobs.alarms_job, alarm_jobs.ALARMS_PERIOD_SECONDS),
    ScheduledJob("threats", alarm_jobs.threats_job, alarm_jobs.THREATS_PERIOD_SECONDS),
    ScheduledJob("webhooks", alarm_jobs.webhooks_job, alarm_jobs.WEBHOOKS_PERIOD_SECONDS),
]


def register(job: ScheduledJob) -> None:
    if all(j.name != job.name for j in JOBS):
        JOBS.append(job)


def _test_noop() -> dict:
    import os
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname()}


def register_test_job(period_seconds: int) -> None:
    """SCHEDULER_TEST_JOB_SECONDS > 0: a no-op job with a short period, to watch the once-per-tick claim."""
    register(ScheduledJob("scheduler-test", _test_noop, int(period_seconds)))


def job_by_name(name: str) -> ScheduledJob:
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(f"no job named {name!r}; jobs: {', '.join(j.name for j in JOBS)}")


def tick_job(job: ScheduledJob) -> str:
    return run_job(job.name, job.func, current_tick(job.period_seconds))


def build_scheduler(blocking: bool = False):
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=timezone.utc)
    for job in JOBS:
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
    """True under gunicorn or ``flask run``; False for other shell commands (``flask db upgrade`` ...)."""
    import os

    import click

    return click.get_current_context(silent=True) is None or os.environ.get("FLASK_RUN_FROM_CLI") == "true"


def start_background_scheduler():
    """Start the in-process scheduler once per process."""
    global _running
    if _running is None:
        _running = build_scheduler()
        _running.start()
        log.info("scheduler started with jobs: %s", ", ".join(j.name for j in JOBS))
    return _running
