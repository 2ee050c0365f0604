"""Two real app processes (gunicorn, SCHEDULER=embedded) on one database: each job runs once per tick.

A 2-second no-op job (``SCHEDULER_TEST_JOB_SECONDS=2``) fires in both processes at the same instants;
the per-tick claim in ``job_run`` lets exactly one of them run it, and no tick is lost.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from data.core import db

ROOT = Path(__file__).resolve().parent.parent
PERIOD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SCHEDULER": "embedded", "SCHEDULER_TEST_JOB_SECONDS": str(PERIOD)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(
        [str(gunicorn), "--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server stopped"
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the server did not start")


def test_two_processes_run_each_tick_of_a_job_once(tmp_path):
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"server-{i}.log" for i in range(2)]
    procs = [_start(port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_healthy(port, proc)
        first = datetime.now(timezone.utc)
        time.sleep(4 * PERIOD + 0.5)
        last = datetime.now(timezone.utc)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    runs = db.rows(
        "SELECT tick, status, details FROM job_run WHERE job = 'scheduler-test' "
        "AND tick > :first AND tick + make_interval(secs => :period) < :last ORDER BY tick",
        first=first,
        last=last,
        period=PERIOD,
    )
    ticks = [r["tick"] for r in runs]
    assert len(ticks) >= 3, runs
    assert len(set(ticks)) == len(ticks)  # once per tick
    assert all((b - a).total_seconds() == PERIOD for a, b in zip(ticks, ticks[1:], strict=False))  # none lost
    assert all(r["status"] == "ok" for r in runs)
    for log in logs:  # both processes were running the scheduler
        assert "scheduler started with jobs" in log.read_text() and "scheduler-test" in log.read_text()
