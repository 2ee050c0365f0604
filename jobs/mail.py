"""Mail jobs (the outbox sender, the report dispatcher) and shell commands (send-daily-report, mail-debug)."""

from __future__ import annotations

import sys
from datetime import date

import click

from data.admin.users import active_user_ids
from data.core import mailer
from data.mail import reports
from jobs.registry import ScheduledJob

OUTBOX_PERIOD_SECONDS = 60
REPORTS_PERIOD_SECONDS = 300


def outbox_job() -> dict:
    """Send the due messages of the outbox (retries included); forget messages sent long ago."""
    result = mailer.send_pending()
    result["purged"] = mailer.purge_sent()
    return result


def reports_job() -> dict:
    """Queue the scheduled reports whose period has closed."""
    return reports.dispatch_reports()


JOBS = (
    ScheduledJob("mail-outbox", outbox_job, OUTBOX_PERIOD_SECONDS),  # send and retry mail
    ScheduledJob("mail-reports", reports_job, REPORTS_PERIOD_SECONDS),  # scheduled reports
)


def _state_line(result: dict) -> str:
    state = result["state"] or {}
    if state.get("sent_at"):
        return f"sent ({state.get('smtp_reply') or 'accepted'})"
    return f"queued, not sent yet ({state.get('last_error') or 'waiting'}); the mail-outbox job retries it"


@click.command("send-daily-report")
@click.option("--user", "username", default=None, help="Only this user (default: every user whose daily report is on).")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The local day to report (default: yesterday in each user's time zone).",
)
def send_daily_report(username, day):
    """Send the daily report now."""
    report_day: date | None = day.date() if day else None
    if username:
        user = reports.report_user_by_name(username)
        if user is None:
            raise click.ClickException(f"no user named {username!r}")
        users = [user]
    else:
        users = [reports.report_user(user_id) for user_id in active_user_ids()]
        users = [u for u in users if reports.schedules_of(u.id)["daily"] and u.recipients]
        if not users:
            click.echo("no active user with a daily report on and an e-mail address")
    failures = 0
    for user in users:
        if not user.recipients:
            click.echo(
                f"{user.username}: no e-mail address (set one, or add report addresses on the Mail report page)",
                err=True,
            )
            failures += 1
            continue
        result = reports.send_report_now(user, "daily", report_day, flood_control=False)
        click.echo(
            f"{user.username}: daily report {result['period'].short} to {', '.join(result['recipients'])}: "
            f"{_state_line(result)}"
        )
        failures += not (result["state"] or {}).get("sent_at")
    sys.exit(1 if failures else 0)


@click.command("mail-debug")
@click.option("--to", "to", multiple=True, help="Recipient (repeatable; default: the admins, else the sender).")
def mail_debug(to):
    """Send a test message and print every answer of the SMTP server."""
    recipients = list(to) or mailer.admin_addresses()
    if not recipients:
        recipients = [mailer.mail_config()["MAIL_DEFAULT_SENDER"]]
    ok = mailer.debug_session(recipients, click.echo)
    click.echo("the server accepted the test message" if ok else "the test message was NOT accepted")
    sys.exit(0 if ok else 1)


COMMANDS = [send_daily_report, mail_debug]
