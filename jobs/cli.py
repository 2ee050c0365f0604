"""Shell commands: ``flask --app app COMMAND``."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import click
from flask import Flask

from data.admin import users
from data.core import db, migrate


@click.command("create-user")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(users.ROLES), default="customer", show_default=True)
@click.option("--email", default=None)
@click.option("--timezone", "tz", default="UTC", show_default=True)
@click.option("--accountcode", "accountcodes", multiple=True, help="An accountcode this customer owns (repeatable).")
def create_user(username, password, role, email, tz, accountcodes):
    """Create a user."""
    user = users.create_user(username, password, role, email=email, timezone=tz, accountcodes=accountcodes)
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@click.command("dbshell", context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
def dbshell(psql_args):
    """Open psql on the database in use; extra arguments go to psql."""
    from data.core.embedded_db import psql_path

    url = db.engine().url
    psql = str(psql_path()) if not os.environ.get("DATABASE_URL") else "psql"
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    sys.exit(subprocess.call([psql, *db.psql_args(), *psql_args], env=env))


@click.group("db")
def db_group():
    """Schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    migrate.upgrade(revision)


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision):
    migrate.downgrade(revision)


@db_group.command("current")
def db_current():
    migrate.current()


@click.command("run-job")
@click.argument("name")
def run_job_now(name):
    """Run one scheduled job now (outside its schedule)."""
    from datetime import datetime, timezone

    from jobs.runner import run_job
    from jobs.scheduler import job_by_name

    job = job_by_name(name)
    click.echo(run_job(job.name, job.func, datetime.now(timezone.utc)))


@click.command("scheduler")
def scheduler():
    """Run the scheduler as its own process (with SCHEDULER=off in the web workers)."""
    from jobs.scheduler import build_scheduler

    click.echo("scheduler running; Ctrl-C to stop")
    build_scheduler(blocking=True).start()


@click.command("refresh-rollups")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), help="First UTC day (default: yesterday).")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last UTC day (default: today).")
def refresh_rollups(start, end):
    """Rebuild the rollups of a range of days exactly from the stored calls."""
    from datetime import date, timedelta

    from data.core.rollups import rebuild_rollups

    first = start.date() if start else date.today() - timedelta(days=1)
    last = end.date() if end else date.today()
    counts = rebuild_rollups(first, last + timedelta(days=1))
    click.echo(" ".join(f"{table}={rows}" for table, rows in counts.items()))


def one_line(error: BaseException) -> str:
    """An error as one line of text for the shell: its message (the first line), or its type when it has none."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return (text[0] if text else "") or type(error).__name__


def _one_line_errors(command: click.Command) -> None:
    """Bad input ends a command with ``Error: <one line>`` and exit status 1, never a traceback."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _one_line_errors(sub)
    if command.callback is None or getattr(command.callback, "one_line_errors", False):
        return
    run = command.callback

    @functools.wraps(run)
    def guarded(*args, **kwargs):
        try:
            return run(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            raise click.ClickException(one_line(exc)) from None

    guarded.one_line_errors = True
    command.callback = guarded


def register_commands(server: Flask) -> None:
    # Each feature's module keeps its commands (and lists its scheduled jobs, for jobs/scheduler.py).
    from jobs import alarms, exports, ingest_cli, live, mail, rating, retention

    own = (create_user, dbshell, db_group, run_job_now, scheduler, refresh_rollups)
    for command in (
        *own,
        *ingest_cli.COMMANDS,
        *mail.COMMANDS,
        *alarms.COMMANDS,
        *exports.COMMANDS,
        *rating.COMMANDS,
        *live.COMMANDS,
        *retention.COMMANDS,
    ):
        _one_line_errors(command)
        server.cli.add_command(command)
