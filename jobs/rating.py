"""Rating's shell command (``flask --app app rerate``) and its scheduled job ("rerate", every minute)."""

from __future__ import annotations

import click

from jobs.registry import ScheduledJob

RERATE_PERIOD_SECONDS = 60


def rerate_job() -> dict:
    from data.rating.rater import run_rerate_queue

    return run_rerate_queue()


JOBS = (ScheduledJob("rerate", rerate_job, RERATE_PERIOD_SECONDS),)


def _customer_id(value: str | None) -> int | None:
    """A customer given by username or id."""
    if not value:
        return None
    from data.admin.users import user_id_by_name_or_id

    found = user_id_by_name_or_id(value)
    if found is None:
        raise click.BadParameter(f"no user {value!r}", param_hint="--customer")
    return found


@click.command("rerate")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC), included.")
@click.option("--customer", default=None, help="Only this customer's calls (username or id).")
@click.option("--now", "run_now", is_flag=True, help="Run here and now instead of queueing it for the job.")
def rerate_command(start, end, customer, run_now):
    """Re-price the calls of a period from the rates now in force, and rebuild its rollups."""
    from data.rating import rater

    user_id = _customer_id(customer)
    if run_now:
        result = rater.rerate(start.date(), end.date(), user_id)
        click.echo(
            f"re-rated {result['calls']:,} calls over {result['days']} day(s): {result['changed']:,} changed "
            f"({result['seconds']:.1f} s)"
        )
    else:
        request_id = rater.queue_rerate(start.date(), end.date(), user_id, requested_by="cli")
        click.echo(
            f"queued re-rating request {request_id}: the rerate job runs it within a minute (or run it now with --now)"
        )


COMMANDS = (rerate_command,)
