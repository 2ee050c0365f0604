"""Crash safety: ``kill -9`` at several moments of a real ``flask import-cdr`` process, then the same import
again, ends with every row stored exactly once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from data.core import db
from data.ingest.imports import list_imports
from tests.ingest_helpers import SAMPLES, reset_calls

ROWS = 50_000  # about 560 bytes each: five batches, so that the third kill still has batches to cut
FLASK = str(Path(sys.executable).parent / "flask")
ROOT = Path(__file__).resolve().parent.parent


def _write_file(path: Path) -> None:
    header = (SAMPLES / "cdr_stats_reference.csv").read_text().splitlines()[0]
    name = "Reception desk, main building " * 15  # long rows: fewer per batch, more batches to kill between
    row = (
        '10.8.8.{s},1,kill-{n:07d},904151440,"' + name + '",+34650104877,,,,2024-03-{d:02d} 12:13:10,55,50,,,,'
        "16,,2,,1000,,,,,{{}}\n"
    )
    with open(path, "w") as out:
        out.write(header + "\n")
        out.writelines(row.format(s=n % 3, n=n, d=1 + n % 28) for n in range(ROWS))


def _start(path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [FLASK, "--app", "app", "import-cdr", str(path)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the import ended before the kill: {process.communicate()}"
        assert time.monotonic() < deadline, "the import did not get there in time"
        time.sleep(0.02)


def _stored() -> int:
    return db.scalar("SELECT count(*) FROM cdr")


def test_kill_9_at_any_moment_then_the_same_import_stores_each_row_once(app, tmp_path):
    reset_calls()
    path = tmp_path / "calls.csv"
    _write_file(path)
    moments = [
        ("while the first batch is in flight", lambda before: db.scalar("SELECT count(*) FROM import_batch") >= 1),
        ("right after the first batch committed", lambda before: _stored() > 0),
        ("once a later batch committed", lambda before: _stored() > before),
    ]
    for name, reached in moments:
        before = _stored()
        process = _start(path)
        condition = lambda reached=reached, before=before: reached(before)  # noqa: E731
        _wait_for(condition, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL, name

    before = _stored()
    assert 0 < before < ROWS
    final = subprocess.run(
        [FLASK, "--app", "app", "import-cdr", str(path)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr
    assert final.stdout.splitlines()[-1] == f"accepted={ROWS - before} duplicates={before} rejected=0"

    counts = db.rows("SELECT count(*) AS calls, count(DISTINCT callid) AS callids FROM cdr")[0]
    assert counts == {"calls": ROWS, "callids": ROWS}
    assert db.scalar("SELECT count(*) FROM cdr_call_key") == ROWS
    states = [i["state"] for i in list_imports()]
    assert states == ["done", "interrupted", "interrupted", "interrupted"]
