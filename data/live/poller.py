"""One round of polls: every switch with a live source is asked for its calls at once (one thread each, so a
switch that does not answer delays none of the others), and the answers are stored."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from data.live import sources, store

log = logging.getLogger("dialstat.live")
POLL_INTERVAL_SECONDS = 2.0


def poll_switch(source: dict) -> dict:
    try:
        calls = sources.poll(source["kind"], source["address"], source["username"], source["secret"])
    except sources.SwitchUnreachable as exc:
        store.save_failure(source["id"], str(exc))
        return {"unreachable": str(exc)}
    return store.save_poll(source["id"], calls)


def poll_round(executor: ThreadPoolExecutor) -> dict:
    polled = store.live_sources()
    futures = {source["name"]: executor.submit(poll_switch, source) for source in polled}
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result()
        except Exception as exc:  # a bug or a database error for one switch: the others are still polled
            log.exception("live poll of switch %s failed", name)
            results[name] = {"failed": f"{type(exc).__name__}: {exc}"}
    return results
