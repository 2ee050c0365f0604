"""Retention: the daily job that archives and drops expired call partitions, and ``archive --month`` by hand."""

from __future__ import annotations

from datetime import date

import click

from data.admin import retention
from jobs.registry import ScheduledJob


@click.command("archive")
@click.option("--month", required=True, help="The month whose calls to archive and drop, as YYYY-MM.")
def archive_command(month):
    """Archive one month of calls to ARCHIVE_DIR (CSV gzip and a manifest), check it, then drop its partition."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise click.ClickException(f"--month {month!r}: give a month as YYYY-MM") from exc
    done = retention.archive_month(first)
    click.echo(f"{done['partition']}: {done['calls']} calls archived to {done['archive']}; partition dropped")


JOBS = (ScheduledJob(retention.JOB_NAME, retention.run, retention.JOB_PERIOD_SECONDS),)
COMMANDS = [archive_command]
