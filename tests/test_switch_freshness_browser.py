"""Seconds from hang-up to screen: a real call through Kamailio (docs/switches/kamailio.cfg), collected by the
collector's heartbeat loop (as the collect-cdrs job runs it), shows on an open dashboard without a reload.

Five calls, one after the other; for each, the time from the caller's hang-up (SIPp exits once its BYE is
answered) to the dashboard's call count changing is printed (``-s``), with the median. The issue's goal is a
median under 5 s; the assertion here is behaviour: each call shows by itself, within 15 s.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time

import yaml

from data.ingest import collectors
from tests.conftest import browser_login
from tests.switch_processes import ROOT, Kamailio, sipp_uac, sipp_uas, stop

CALLS = 5


def test_a_call_shows_on_an_open_dashboard_seconds_after_hang_up(page, tmp_path):
    cdr_file = tmp_path / "cdr.sqlite"
    with sqlite3.connect(cdr_file) as conn:
        conn.executescript((ROOT / "docs" / "switches" / "kamailio-cdr.sqlite.sql").read_text())
    configs = tmp_path / "collectors"
    configs.mkdir()
    config = yaml.safe_load((ROOT / "docs" / "switches" / "kamailio-collector.sqlite.yaml").read_text())
    (configs / "kamailio-fresh.yaml").write_text(yaml.safe_dump(config | {"db_file": str(cdr_file)}))
    assert config["heartbeat"] == 1

    uas, uas_port = sipp_uas(tmp_path)
    kamailio = Kamailio(tmp_path, f"sqlite:///{cdr_file}", uas_port, ("SHM_CHILDREN=1",))
    stopping = threading.Event()

    def collect_loop():  # the collect-cdrs job's loop, in short ticks so that the test can stop it
        while not stopping.is_set():
            collectors.collect_all(configs, for_seconds=2)

    collecting = threading.Thread(target=collect_loop, daemon=True)
    try:
        kamailio.start()
        collecting.start()
        browser_login(page, "admin", "admin-secret")
        page.wait_for_url("**/")
        page.wait_for_function("() => /^[0-9,]+$/.test(document.querySelector('#kpi-calls')?.textContent || '')")
        shown = int(page.inner_text("#kpi-calls").replace(",", ""))
        latencies = []
        for _ in range(CALLS):
            caller = sipp_uac(tmp_path, kamailio.sip_port, "uac_answered", "34911234567", "answer", hold_ms=1000)
            assert caller.wait(30) == 0
            hung_up = time.monotonic()
            shown += 1
            page.wait_for_function(
                "(n) => document.querySelector('#kpi-calls')?.textContent === n", arg=f"{shown:,}", timeout=15_000
            )
            latencies.append(time.monotonic() - hung_up)
        each = ", ".join(f"{s:.2f}" for s in latencies)
        print(f"hang-up to screen: {each} s; median {statistics.median(latencies):.2f} s")
        assert page.console_errors == []
    finally:
        stopping.set()
        collecting.join(10)
        kamailio.stop()
        stop(uas)
