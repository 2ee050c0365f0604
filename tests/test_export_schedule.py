"""Scheduled exports: every CDR goes out exactly once per schedule (watermark on the CDR id), in-flight imports
are waited for, the file and the watermark are committed together, crashes lose or double nothing."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest

from data.core import db
from data.export import exporter, schedules
from tests.cdr_factory import ensure_switch, insert_calls
from tests.test_export_db import sample_cdr

UTC = timezone.utc
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
_counter = iter(range(10**6))


def new_calls(count: int) -> list[str]:
    switch_id = ensure_switch("sched-switch", "10.9.9.9")
    callids = [f"sched-{next(_counter)}" for _ in range(count)]
    insert_calls([sample_cdr(switch_id, None, callid=c, starting_date=START, answered_date=START) for c in callids])
    return callids


def exported_callids(run: schedules.ScheduleRun) -> list[str]:
    if run.result is None:
        return []
    return [line.split(",")[3] for line in Path(run.result.path).read_text().splitlines()]


@pytest.fixture
def schedule(app):
    name = f"hourly-{next(_counter)}"
    return schedules.save_schedule(name, "cgr-csv", 3600, f"scheduled/{name}")


def test_a_schedule_run_twice_exports_nothing_the_second_time(schedule):
    first_calls = new_calls(3)
    first = schedules.run_schedule(schedule, wait_seconds=1)
    assert first.status == "exported" and exported_callids(first) == first_calls
    second = schedules.run_schedule(schedule, wait_seconds=1)
    assert second.status == "nothing-new" and second.result is None
    late = new_calls(2)
    third = schedules.run_schedule(schedule, wait_seconds=1)
    assert exported_callids(third) == late
    entries = db.rows("SELECT * FROM export_history WHERE schedule_id = :s ORDER BY id", s=schedule)
    assert [e["total_records"] for e in entries] == [3, 2]
    assert entries[0]["id_through"] == entries[1]["id_after"]  # contiguous windows
    assert all(e["finalized"] and e["source"] == "schedule" for e in entries)
    assert schedules.list_schedules()[0]["watermark_id"] >= entries[1]["id_through"]


def test_each_schedule_has_its_own_watermark(schedule):
    calls = new_calls(2)
    other = schedules.save_schedule("daily-other", "cgr-csv", 86400, "scheduled/other")
    assert exported_callids(schedules.run_schedule(schedule, wait_seconds=1))[-2:] == calls
    assert exported_callids(schedules.run_schedule(other, wait_seconds=1))[-2:] == calls
    schedules.delete_schedule(other)


def test_an_in_flight_import_is_waited_for_so_no_cdr_is_missed(schedule, app):
    schedules.run_schedule(schedule, wait_seconds=1)  # start from an up-to-date watermark
    switch_id = ensure_switch("sched-switch", "10.9.9.9")
    url = db.engine().url
    conn = psycopg2.connect(
        dbname=url.database, user=url.username, host=url.query.get("host") or url.host, port=url.port
    )
    try:
        with conn.cursor() as cur:  # an import that took its id and has not committed yet ...
            cur.execute("SELECT ensure_cdr_partitions(%s, %s)", (START, START))
            cur.execute(
                """INSERT INTO cdr (switch_id, callid, starting_date, answered_date, billsec, sell_cost)
                           VALUES (%s, 'in-flight', %s, %s, 10, 1) RETURNING id""",
                (switch_id, START, START),
            )
            in_flight_id = cur.fetchone()[0]
        committed = new_calls(1)  # ... while a later import commits a higher id
        assert db.scalar("SELECT id FROM cdr WHERE callid = :c", c=committed[0]) > in_flight_id
        waiting = schedules.run_schedule(schedule, wait_seconds=0.3)
        assert waiting.status == "waiting" and waiting.result is None  # nothing past the in-flight id
        pending = db.rows(
            "SELECT watermark_id, pending_horizon, pending_holders FROM export_schedule WHERE id = :i", i=schedule
        )[0]
        assert pending["watermark_id"] < in_flight_id <= pending["pending_horizon"] and pending["pending_holders"]
        conn.commit()
    finally:
        conn.close()
    after = schedules.run_schedule(schedule, wait_seconds=1)
    assert sorted(exported_callids(after)) == sorted(["in-flight", *committed])
    assert schedules.run_schedule(schedule, wait_seconds=1).status == "nothing-new"


def test_an_id_taken_by_nextval_alone_also_holds_the_horizon(schedule, app):
    schedules.run_schedule(schedule, wait_seconds=1)
    url = db.engine().url
    conn = psycopg2.connect(
        dbname=url.database, user=url.username, host=url.query.get("host") or url.host, port=url.port
    )
    try:
        with conn.cursor() as cur:  # as an import that numbers its rows in a staging table first
            cur.execute("SELECT nextval(pg_get_serial_sequence('cdr', 'id'))")
        new_calls(1)
        assert schedules.run_schedule(schedule, wait_seconds=0.2).status == "waiting"
    finally:
        conn.rollback()
        conn.close()
    assert schedules.run_schedule(schedule, wait_seconds=1).status == "exported"


def test_a_crash_after_the_commit_is_finished_on_the_next_run(schedule, monkeypatch):
    schedules.run_schedule(schedule, wait_seconds=1)
    calls = new_calls(2)
    real_finalize = exporter.finalize_file

    def crash(*_args):
        raise SystemExit("power cut between the commit and the rename")

    monkeypatch.setattr(exporter, "finalize_file", crash)
    with pytest.raises(SystemExit):
        schedules.run_schedule(schedule, wait_seconds=1)
    entry = db.rows("SELECT * FROM export_history WHERE schedule_id = :s ORDER BY id DESC LIMIT 1", s=schedule)[0]
    assert not entry["finalized"] and Path(entry["temp_path"]).exists()
    monkeypatch.setattr(exporter, "finalize_file", real_finalize)
    outcome = schedules.run_due_schedules(now=datetime.now(UTC) + timedelta(hours=2), wait_seconds=1)
    assert outcome["repaired_files"] == 1
    repaired = exporter.history_entry(entry["id"])
    assert repaired["finalized"] and repaired["temp_path"] is None and not Path(entry["temp_path"]).exists()
    assert [line.split(",")[3] for line in Path(repaired["file_path"]).read_text().splitlines()] == calls
    assert (
        db.scalar(
            "SELECT count(*) FROM export_history WHERE schedule_id = :s AND total_records > 0 AND id > :id",
            s=schedule,
            id=entry["id"],
        )
        == 0
    )  # not exported twice


def test_a_crash_before_the_commit_loses_nothing(schedule, monkeypatch):
    schedules.run_schedule(schedule, wait_seconds=1)
    calls = new_calls(2)
    watermark = schedules.list_schedules()[0]["watermark_id"]

    def crash(*_args, **_kwargs):
        raise SystemExit("crash while recording")

    monkeypatch.setattr(exporter, "record_run", crash)
    with pytest.raises(SystemExit):
        schedules.run_schedule(schedule, wait_seconds=1)
    monkeypatch.undo()
    assert db.scalar("SELECT watermark_id FROM export_schedule WHERE id = :i", i=schedule) == watermark
    directory = exporter.export_root() / "scheduled"
    assert not list(directory.rglob(".*.part"))  # the temporary file went with the transaction
    assert exported_callids(schedules.run_schedule(schedule, wait_seconds=1)) == calls


def test_the_job_runs_each_schedule_once_per_period(schedule):
    new_calls(1)
    name = db.scalar("SELECT name FROM export_schedule WHERE id = :i", i=schedule)
    now = datetime(2030, 1, 1, 10, 30, tzinfo=UTC)
    assert name in [r.get("schedule") for r in schedules.run_due_schedules(now=now, wait_seconds=1)["runs"]]
    later = schedules.run_due_schedules(now=now + timedelta(minutes=10), wait_seconds=1)  # same hour: not due
    assert name not in [r.get("schedule") for r in later["runs"]]
    assert schedule in [due for due, _tick in schedules.due_schedules(now + timedelta(hours=1))]
    from jobs.scheduler import job_by_name

    assert job_by_name("export-schedules").period_seconds == 60


def test_rewind_is_an_explicit_re_export(schedule):
    calls = new_calls(2)
    schedules.run_schedule(schedule, wait_seconds=1)
    first_id = db.scalar("SELECT min(id) FROM cdr WHERE callid = ANY(:c)", c=calls)
    schedules.rewind_schedule(schedule, first_id - 1)
    assert exported_callids(schedules.run_schedule(schedule, wait_seconds=1)) == calls
