"""Scheduled jobs of the ingest: the CDR-Pusher table mover, the watched folder, the collectors."""

from __future__ import annotations

from data.core.settings import load_settings
from data.ingest.cdr_import import move_pending
from data.ingest.collectors import collect_all
from data.ingest.watch import import_watched_folder
from jobs.registry import ScheduledJob


def cdr_import_job() -> dict:
    summary = move_pending()
    return (
        {"moved": 0}
        if summary is None
        else {"import_id": summary.import_id, "rows": summary.rows_read, "summary": summary.line()}
    )


def import_folder_job() -> dict:
    return import_watched_folder(load_settings().import_dir)


COLLECT_PERIOD_SECONDS = 60


def collect_job() -> dict:
    # Each config is polled every `heartbeat` seconds (CDR-Pusher's, 1 s by default) for most of the period:
    # one job run a minute records the polls, and the next tick finds this one finished.
    return collect_all(load_settings().collector_dir, for_seconds=COLLECT_PERIOD_SECONDS - 5)


JOBS = (
    ScheduledJob("cdr-import", cdr_import_job, 15),  # CDR-Stats' own period, without its 5,000-row cap
    ScheduledJob("import-folder", import_folder_job, 30),
    ScheduledJob("collect-cdrs", collect_job, COLLECT_PERIOD_SECONDS),
)
