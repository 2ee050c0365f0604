from datetime import datetime, timezone

from data.core import db
from data.core.job_runs import current_tick
from jobs.runner import run_job


def test_a_tick_runs_once_and_is_recorded():
    calls = []
    tick = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert run_job("demo", lambda: calls.append(1) or {"n": 1}, tick) == "ok"
    assert run_job("demo", lambda: calls.append(1), tick) == "claimed-elsewhere"
    assert calls == [1]
    row = db.rows("SELECT status, details FROM job_run WHERE job = 'demo'")
    assert row == [{"status": "ok", "details": {"n": 1}}]


def test_a_failing_job_is_recorded_not_raised():
    def broken():
        raise RuntimeError("disk on fire")

    tick = datetime(2026, 1, 1, 13, 0, tzinfo=timezone.utc)
    assert run_job("broken", broken, tick) == "failed"
    status, error = db.rows("SELECT status, error FROM job_run WHERE job = 'broken'")[0].values()
    assert status == "failed" and "disk on fire" in error and "Traceback" in error


def test_ticks_are_aligned_across_processes():
    t = datetime(2026, 3, 1, 10, 7, 31, tzinfo=timezone.utc)
    assert current_tick(60, t) == datetime(2026, 3, 1, 10, 7, tzinfo=timezone.utc)
    assert current_tick(3600, t) == datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def test_housekeeping_records_a_snapshot():
    from jobs import housekeeping

    result = housekeeping.run()
    assert result["database_bytes"] > 0 and result["cdr_rows"] == 0
    assert db.scalar("SELECT count(*) FROM db_snapshot") == 1
