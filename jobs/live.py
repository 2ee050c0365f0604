"""The live-calls job: polls every switch's calls in progress each 2 s for most of its one-minute tick (one
job run a minute, whatever the number of polls)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from data.live.poller import POLL_INTERVAL_SECONDS, poll_round
from jobs.scheduler import ScheduledJob, register

LIVE_PERIOD_SECONDS = 60


def live_job(for_seconds: float = LIVE_PERIOD_SECONDS - 5, interval: float = POLL_INTERVAL_SECONDS) -> dict:
    started = time.monotonic()
    rounds, unreachable = 0, {}
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="live-poll") as executor:
        while True:
            round_started = time.monotonic()
            for name, result in poll_round(executor).items():
                if "unreachable" in result or "failed" in result:
                    unreachable[name] = result.get("unreachable") or result.get("failed")
            rounds += 1
            if time.monotonic() - started + interval > for_seconds:
                return {"rounds": rounds, "unreachable": unreachable}
            time.sleep(max(0.0, interval - (time.monotonic() - round_started)))


register(ScheduledJob("live-calls", live_job, LIVE_PERIOD_SECONDS))
