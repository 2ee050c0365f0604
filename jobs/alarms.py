"""The scheduled jobs of alarms, threat control and webhooks, and their shell commands.

- ``alarms`` (every minute): evaluate each active alarm whose period has closed (once per period),
  notify destination alerts recorded by the imports, then send the webhook deliveries that are due;
- ``threats`` (every 5 minutes): detect threats, record and notify the new ones;
- ``webhooks`` (every minute): send and retry webhook deliveries (retries survive restarts).
"""

from __future__ import annotations

from datetime import datetime, timezone

import click

from jobs.registry import ScheduledJob

ALARMS_PERIOD_SECONDS = 60
THREATS_PERIOD_SECONDS = 300
WEBHOOKS_PERIOD_SECONDS = 60


def alarms_job(now: datetime | None = None) -> dict:
    from data.alerting import alarm_evaluation, destination_alerts, webhooks

    now = now or datetime.now(timezone.utc)
    result = {"alarms": alarm_evaluation.run_due(now)}
    result["destination_alerts"] = destination_alerts.notify_pending(now)
    result["webhooks"] = webhooks.deliver_due()
    return result


def threats_job(now: datetime | None = None) -> dict:
    from data.alerting import threats, webhooks

    result = threats.run_job(now)
    result["webhooks"] = webhooks.deliver_due()
    return result


def webhooks_job() -> dict:
    from data.alerting import webhooks

    return webhooks.deliver_due()


JOBS = (
    ScheduledJob("alarms", alarms_job, ALARMS_PERIOD_SECONDS),
    ScheduledJob("threats", threats_job, THREATS_PERIOD_SECONDS),
    ScheduledJob("webhooks", webhooks_job, WEBHOOKS_PERIOD_SECONDS),
)


@click.command("test-alarm")
@click.argument("alarm_id", type=int)
@click.option("--days", default=7, show_default=True, help="How many days back to replay.")
def test_alarm(alarm_id, days):
    """Replay an alarm over the last N days and print when it would have fired."""
    from data.alerting import alarm_evaluation, alarms
    from data.core.scope import Scope

    alarm = alarms.get_alarm(Scope(user_id=None), alarm_id)
    fired = [e for e in alarm_evaluation.replay(alarm, days) if e.fired]
    click.echo(f"{alarm.describe()}: {len(fired)} firing(s) in {days} day(s)")
    for ev in fired:
        click.echo(f"{ev.period_start:%Y-%m-%d %H:%M} – {ev.period_end:%Y-%m-%d %H:%M} UTC  {ev.reason}")


@click.command("threats")
def show_threats():
    """Print the current threats, ranked by estimated cost at risk."""
    from data.alerting import threat_texts, threats

    for t in threats.detect():
        click.echo(f"{t.cost_at_risk:>12.2f}  {threat_texts.KINDS[t.kind]:<24} {t.title}: {t.detail}")


COMMANDS = (test_alarm, show_threats)
