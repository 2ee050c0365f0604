"""Upkeep jobs: the database snapshot of the diagnostic page, the rollups' repair and new time zones, and the
concurrent-call peaks of the minutes the imports touched."""

from __future__ import annotations

from data.admin.housekeeping import take_db_snapshot
from data.core.concurrency import refresh_concurrency
from data.core.rollups import fill_new_timezones, refresh_recent_rollups
from jobs.registry import ScheduledJob


def run() -> dict:
    """The database size and the CDR counts per day, for the diagnostic page."""
    return take_db_snapshot()


JOBS = (
    ScheduledJob("housekeeping", run, 3600),
    # Imports keep the rollups current; this repairs yesterday and today after deletes or late fixes.
    ScheduledJob("refresh-rollups", refresh_recent_rollups, 3600),
    ScheduledJob("rollup-timezones", lambda: {"filled": fill_new_timezones()}, 60),
    ScheduledJob("concurrent-calls", refresh_concurrency, 60),  # peaks of the minutes imports touched
)
