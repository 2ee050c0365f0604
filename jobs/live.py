"""The live-calls job: polls every switch's calls in progress each 2 s for most of its one-minute tick (one
job run a minute, whatever the number of polls)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import click

from data.live.poller import POLL_INTERVAL_SECONDS, poll_round, poll_switch
from jobs.registry import ScheduledJob

LIVE_PERIOD_SECONDS = 60


def live_job(for_seconds: float = LIVE_PERIOD_SECONDS - 5, interval: float = POLL_INTERVAL_SECONDS) -> dict:
    started = time.monotonic()
    rounds, unreachable = 0, {}
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="live-poll") as executor:
        while True:
            round_started = time.monotonic()
            results = poll_round(executor)
            for name, result in results.items():
                if "unreachable" in result or "failed" in result:
                    unreachable[name] = result.get("unreachable") or result.get("failed")
            rounds += 1
            # No switch has a live source: nothing to hold the tick for (a new one is polled from the next).
            if not results or time.monotonic() - started + interval > for_seconds:
                return {"rounds": rounds, "unreachable": unreachable}
            time.sleep(max(0.0, interval - (time.monotonic() - round_started)))


JOBS = (ScheduledJob("live-calls", live_job, LIVE_PERIOD_SECONDS),)


@click.command("live-source")
@click.argument("switch")
@click.argument("kind", type=click.Choice(["kamailio", "asterisk", "freeswitch", "off"]))
@click.argument("address", default="")
@click.option("--username", default="", help="AMI user (Asterisk)")
@click.option("--secret", default="", envvar="LIVE_SOURCE_SECRET", help="AMI secret or ESL password")
def live_source_command(switch, kind, address, username, secret):
    """Where to ask SWITCH (name or IP) for its calls in progress: kamailio http://host:5071/RPC,
    asterisk host:5038 --username U --secret S, freeswitch host:8021 --secret S; or off. Polls it once."""
    from data.ingest.switches import find_switch
    from data.live.store import live_sources, set_live_source

    found = find_switch(switch)
    if found is None:
        raise click.ClickException(f"no switch named {switch!r}")
    if kind != "off" and not address:
        raise click.ClickException("give the address to poll")
    set_live_source(found["id"], None if kind == "off" else kind, address, username, secret)
    if kind == "off":
        click.echo(f"{found['name']}: no longer polled")
        return
    (source,) = [s for s in live_sources() if s["id"] == found["id"]]
    click.echo(f"{found['name']}: {poll_switch(source)}")


COMMANDS = [live_source_command]
