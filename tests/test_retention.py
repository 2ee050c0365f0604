"""Retention and archives (docs/administration.md): a month of calls archived and dropped keeps every report of
that month equal, its archive re-imports to the same calls, and a crash between the archive and the drop (a real
``flask archive`` process killed with SIGKILL) loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from data.admin import retention
from data.core import db
from data.core.report_filter import ReportFilter
from data.ingest import archives, import_file
from tests.conftest import TEST_VAR
from tests.dash_client import dash_call
from tests.rating_setup import ADMIN, write_month

ROOT = Path(__file__).resolve().parent.parent
JANUARY, FEBRUARY = date(2026, 1, 1), date(2026, 2, 1)
ARCHIVE_DIR = TEST_VAR / "archive"
CALL_COLUMNS = "SELECT * FROM cdr WHERE starting_date >= :start AND starting_date < :end ORDER BY id"


def _write_february(path: Path, calls: int = 40) -> None:
    write_month(path, calls=calls, seed=5)
    text = path.read_text().replace("2026-01-", "2026-02-").replace("month-", "feb-")
    # write_month spreads calls over 31 days: the 29th to 31st of "February" are not dates, moved to the 28th
    path.write_text(
        text.replace("2026-02-29", "2026-02-28").replace("2026-02-30", "2026-02-28").replace("2026-02-31", "2026-02-28")
    )


def _month(first: date) -> tuple[datetime, datetime]:
    start = datetime(first.year, first.month, 1, tzinfo=timezone.utc)
    return start, (start + timedelta(days=32)).replace(day=1)


def _reports(first: date) -> dict:
    from data.reports import traffic
    from data.reports.traffic import BREAKDOWNS

    last = (_month(first)[1] - timedelta(days=1)).date()
    f = ReportFilter.for_days(first, last, "UTC")
    found = {
        "totals": traffic.totals(ADMIN, f),
        "by_day": traffic.traffic_by_time(ADMIN, f, "day"),
        "by_hour": traffic.traffic_by_time(ADMIN, f, "hour"),
    }
    for dimension in BREAKDOWNS:
        found[dimension] = traffic.breakdown(ADMIN, f, dimension)
    return found


def _calls(first: date) -> list[dict]:
    start, end = _month(first)
    return db.rows(CALL_COLUMNS, start=start, end=end)


def _keys(first: date) -> int:
    start, end = _month(first)
    return db.scalar(
        "SELECT count(*) FROM cdr_call_key WHERE starting_date >= :s AND starting_date < :e", s=start, e=end
    )


@pytest.fixture(scope="module")
def stored(app, tmp_path_factory):
    from data.admin import users
    from tests.rating_setup import build_world

    build_world(lambda name, **kw: users.create_user(name, "pass-word-1", "customer", **kw))
    folder = tmp_path_factory.mktemp("retention")
    write_month(folder / "january.csv", calls=600, seed=9)
    _write_february(folder / "february.csv")
    assert import_file(folder / "january.csv").accepted == 600
    assert import_file(folder / "february.csv").accepted == 40
    before = {"calls": _calls(JANUARY), "reports": _reports(JANUARY), "february": _calls(FEBRUARY), "folder": folder}
    yield before
    db.execute("SELECT ensure_cdr_partitions(now() - interval '24 months', now() + interval '12 months')")


def test_an_archived_month_keeps_every_report_and_loses_its_calls_and_keys(stored):
    assert _keys(JANUARY) == 600
    done = retention.archive_month(JANUARY, ARCHIVE_DIR)
    assert done["calls"] == 600 and done["keys_dropped"] == 600
    assert db.scalar("SELECT to_regclass('cdr_y2026m01')") is None
    assert _calls(JANUARY) == [] and _keys(JANUARY) == 0
    assert _reports(JANUARY) == stored["reports"]
    assert _calls(FEBRUARY) == stored["february"] and _keys(FEBRUARY) == 40  # the next month untouched
    manifest = archives.verify_archive(Path(done["archive"]))
    assert manifest["rows"] == 600
    assert manifest["range"] == ["2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"]
    # The month's keys are gone but its rollups stay: the same calls imported again would count twice.
    again = import_file(stored["folder"] / "january.csv")
    assert (again.accepted, again.rejected) == (0, 600)
    assert "is in a month archived by retention: import its archive" in again.reject_samples[0][1]
    assert _reports(JANUARY) == stored["reports"]


def test_the_archive_reimports_to_the_same_calls_once(stored, app):
    (archive,) = ARCHIVE_DIR.glob("cdr_y2026m01_*.csv.gz")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-cdr", str(archive)])
    assert result.exit_code == 0, result.output
    assert "600 archived calls read: 600 new, 0 duplicates" in result.output
    assert _calls(JANUARY) == stored["calls"]  # every column, ids included
    assert _keys(JANUARY) == 600
    assert db.scalar("SELECT count(*) FROM cdr_archive WHERE month = '2026-01-01'") == 0  # imports welcome again
    assert _reports(JANUARY) == stored["reports"]
    again = runner.invoke(args=["import-cdr", str(archive)])
    assert "600 archived calls read: 0 new, 600 duplicates" in again.output
    assert _calls(JANUARY) == stored["calls"]


def test_a_damaged_archive_is_refused(stored, tmp_path):
    (archive,) = ARCHIVE_DIR.glob("cdr_y2026m01_*.csv.gz")
    damaged = tmp_path / archive.name
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    archives.manifest_path(damaged).write_bytes(archives.manifest_path(archive).read_bytes())
    with pytest.raises(archives.ArchiveError, match="SHA-256"):
        archives.restore_archive(damaged)


def test_a_crash_between_the_archive_and_the_drop_loses_nothing(stored):
    env = {**os.environ, "ARCHIVE_DIR": str(ARCHIVE_DIR), "SCHEDULER": "off", "PYTHONUNBUFFERED": "1"}
    holder = db.primary_engine().connect()
    holder.exec_driver_sql("LOCK TABLE cdr_call_key IN SHARE MODE")  # the drop's DELETE of keys waits here
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "archive", "--month", "2026-02"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'DELETE FROM cdr_call_key%'"
        ):
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the archive never reached the drop"
            time.sleep(0.05)
        assert list(ARCHIVE_DIR.glob("cdr_y2026m02_*.manifest.json"))  # archived, checked, not yet dropped
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        holder.rollback()
        holder.close()
    # The calls are all still in the database: the partition detached (no import can add to it), keys kept.
    assert db.scalar("SELECT count(*) FROM cdr_y2026m02") == 40
    assert _keys(FEBRUARY) == 40
    fate = next(p for p in retention.fates() if p["name"] == "cdr_y2026m02")
    assert not fate["attached"] and fate["fate"] == "detached"
    # The next run finishes it: same archive file (same table), dropped, restorable to the same calls.
    done = retention.archive_month(FEBRUARY, ARCHIVE_DIR)
    assert done["calls"] == 40 and done["keys_dropped"] == 40
    assert len(list(ARCHIVE_DIR.glob("cdr_y2026m02_*.csv.gz"))) == 1
    assert db.scalar("SELECT to_regclass('cdr_y2026m02')") is None
    assert archives.restore_archive(done["archive"])["stored"] == 40
    assert _calls(FEBRUARY) == stored["february"]


def test_the_daily_job_archives_expired_months_and_the_diagnostic_page_says_so(stored, admin_client, monkeypatch):
    monkeypatch.setenv("CDR_RETENTION_MONTHS", "1")
    monkeypatch.setenv("ARCHIVE_DIR", str(ARCHIVE_DIR))
    today = date(2026, 3, 10)  # the current month and one whole month before it are kept: January expired
    fates = {p["name"]: (p["fate"], p["until"]) for p in retention.fates(today)}
    assert fates["cdr_y2026m01"] == ("expired", None)
    assert fates["cdr_y2026m02"] == ("kept", date(2026, 4, 1))
    assert fates["cdr_y2026m03"] == ("kept", date(2026, 5, 1))
    page = str(dash_call(admin_client, "refresh_diagnostic", [None])[("diagnostic-database", "children")])
    assert "Retention: calls kept 1 months" in page and "Fate" in page
    assert "expired: archived and dropped at the next run" in page and "kept until 20" in page
    reports = _reports(JANUARY)
    result = retention.run(today)
    assert "cdr_y2026m01" in result["archived"] and "cdr_y2026m02" not in result["archived"]
    assert result["calls_archived"] == 600
    assert _reports(JANUARY) == reports == stored["reports"]
    assert _calls(JANUARY) == [] and _calls(FEBRUARY) == stored["february"]
    archived = [p for p in retention.fates(today) if p["name"].startswith("cdr_y2026m01_")]
    assert [(p["estimated_rows"], p["fate"]) for p in archived] == [(600, "archived")]


def test_rollups_past_their_own_retention_are_purged(stored, monkeypatch):
    monkeypatch.setenv("CDR_RETENTION_MONTHS", "1")
    monkeypatch.setenv("ROLLUP_RETENTION_MONTHS", "1")
    monkeypatch.setenv("ARCHIVE_DIR", str(ARCHIVE_DIR))
    assert _reports(JANUARY)["totals"].attempts == 600
    assert retention.run(date(2026, 3, 10))["rollup_rows_purged"] > 0
    assert _reports(JANUARY)["totals"].attempts == 0


def test_rejects_and_import_records_have_their_own_periods(stored, monkeypatch):
    monkeypatch.setenv("REJECT_RETENTION_DAYS", "30")
    monkeypatch.setenv("IMPORT_RETENTION_DAYS", "100")
    with db.transaction() as conn:
        for days in (10, 50, 150):
            batch = conn.exec_driver_sql(
                "INSERT INTO import_batch (source, started_at, finished_at) "
                "VALUES ('retention-test', now() - make_interval(days => %(d)s), now() - make_interval(days => %(d)s)) "
                "RETURNING id",
                {"d": days},
            ).scalar()
            conn.exec_driver_sql(
                "INSERT INTO import_reject (import_id, lineno, reason) VALUES (%(b)s, 1, 'bad'), (%(b)s, 2, 'bad')",
                {"b": batch},
            )
    result = retention.purge_import_records(retention.load_settings().retention)
    assert result == {"rejects_purged": 4, "imports_purged": 1}  # the rejects of 50 and 150 days, the 150-day batch
    left = db.rows(
        "SELECT (now() - b.started_at) > interval '40 days' AS old, count(r.id) AS rejects FROM import_batch b "
        "LEFT JOIN import_reject r ON r.import_id = b.id WHERE b.source = 'retention-test' GROUP BY 1 ORDER BY 1"
    )
    assert left == [{"old": False, "rejects": 2}, {"old": True, "rejects": 0}]
