"""Shell commands never start the scheduler; only the web process (SCHEDULER=embedded) and
``flask --app app scheduler`` do. Checked on real ``flask`` processes."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest

from data.core.settings import ROOT
from jobs.scheduler import JOBS, is_serving_process, scheduled_jobs

SAMPLE = ROOT / "tests" / "samples" / "cdr_stats_reference.csv"


def _flask(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCHEDULER": "embedded"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    "args",
    [("db", "upgrade"), ("import-cdr", str(SAMPLE), "--switch", "sched-test", "--dry-run"), ("--help",)],
    ids=["db upgrade", "import-cdr", "--help"],
)
def test_a_shell_command_starts_no_scheduler(app, args):
    result = _flask(*args)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-2000:]
    assert "scheduler started" not in output
    assert "cannot schedule new futures" not in output


def test_only_the_server_command_counts_as_serving():
    assert is_serving_process()  # no click context: gunicorn, or flask run's server thread
    for name, serving in (("run", True), ("upgrade", False), ("import-cdr", False), ("flask", False)):
        with click.Context(click.Command(name), info_name=name):
            assert is_serving_process() is serving, name


def test_one_list_of_jobs_with_unique_names():
    names = [job.name for job in scheduled_jobs()]
    assert len(names) == len(set(names)) and names == [job.name for job in JOBS]
    assert {"rerate", "export-schedules", "cdr-import", "alarms", "mail-outbox", "refresh-rollups"} <= set(names)
