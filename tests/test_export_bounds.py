"""The live preview and exports stop at a time and size bound with a clear message, and their PostgreSQL query is
cancelled (a width of 100,000,000 once ran an export's backend at 100 % CPU for a minute and gave a 500 MB preview;
the template limits now refuse it, and these bounds stop whatever still takes too long or writes too much)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from data.core import db
from data.export import bounds, cdr_query, exporter
from data.export.templates import CGR_CSV_TEMPLATE
from tests.cdr_factory import ensure_switch, insert_calls
from tests.test_export_db import SETUP, sample_cdr


@pytest.fixture(scope="module")
def calls(app):
    switch_id = ensure_switch("bound-switch", "192.168.7.1")
    insert_calls([sample_cdr(switch_id, None, callid=f"bound-{i}", billsec=10 + i) for i in range(50)])


def _run():
    return exporter.adhoc_run(
        CGR_CSV_TEMPLATE, cdr_query.ExportFilter(time_start=SETUP, time_end=SETUP + timedelta(hours=1))
    )


def _cdr_locked(seconds: float):
    """Hold an exclusive lock on the cdr table for ``seconds`` (a query that cannot finish in time)."""
    locked, done = threading.Event(), threading.Event()

    def hold():
        with db.raw_connection() as conn, conn.cursor() as cur:
            cur.execute("LOCK TABLE cdr IN ACCESS EXCLUSIVE MODE")
            locked.set()
            done.wait(seconds)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    locked.wait(10)
    return done, thread


def _backends_waiting() -> int:
    return db.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )


def test_the_preview_stops_past_its_size(calls, monkeypatch):
    monkeypatch.setattr(exporter, "PREVIEW_MAX_CHARACTERS", 300)
    with pytest.raises(bounds.ExportBounded, match="the preview stopped: it passed 300 characters"):
        exporter.preview(CGR_CSV_TEMPLATE)
    assert len(exporter.preview(CGR_CSV_TEMPLATE, limit=1)["text"]) < 300


def test_the_preview_stops_past_its_time_and_its_query_is_cancelled(calls, monkeypatch):
    monkeypatch.setattr(exporter, "PREVIEW_SECONDS", 1)
    done, thread = _cdr_locked(30)
    try:
        with pytest.raises(bounds.ExportBounded, match="the preview stopped: it took longer than 1 s"):
            exporter.preview(CGR_CSV_TEMPLATE)
        assert _backends_waiting() == 0  # no query of the preview left waiting
    finally:
        done.set()
        thread.join()


def test_an_export_stops_past_its_size_and_leaves_no_file(calls, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPORT_MAX_BYTES", "1000")
    before = db.scalar("SELECT count(*) FROM export_history")
    with pytest.raises(bounds.ExportBounded, match="the export stopped: it passed 1,000 characters"):
        exporter.export_to_file(_run(), exporter.Actor("ui", "admin"), directory="bounded")
    assert db.scalar("SELECT count(*) FROM export_history") == before
    assert not list((exporter.export_root() / "bounded").glob("*"))


def test_an_export_stops_past_its_time_and_its_query_is_cancelled(calls, monkeypatch):
    monkeypatch.setenv("EXPORT_MAX_SECONDS", "1")
    done, thread = _cdr_locked(30)
    try:
        with pytest.raises(bounds.ExportBounded, match="the export stopped: it took longer than 1 s"):
            exporter.export_to_file(_run(), exporter.Actor("ui", "admin"), directory="bounded-time")
        assert _backends_waiting() == 0
    finally:
        done.set()
        thread.join()


def test_within_the_bounds_an_export_is_whole(calls):
    result = exporter.export_to_file(_run(), exporter.Actor("ui", "admin"), directory="bounded-ok")
    assert result.summary.total_records == 50 and len(result.path.read_text().splitlines()) == 50
