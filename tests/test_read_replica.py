"""Reports on a read replica: a real hot standby of the test server, made with the embedded PostgreSQL's own
``pg_basebackup -R`` and streaming from it over its Unix socket (docs/scaling.md, *Read replicas*)."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.cdr_factory import call, ensure_switch, insert_calls
from tests.conftest import TEST_VAR
from tests.dash_client import dash_call

# docs/scaling.md: a call committed on the primary shows on a replica's dashboard within this many seconds.
FRESHNESS_SECONDS = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def standby(app):
    from data.core import db
    from data.core.embedded_db import start_standby

    # Replay conflicts are cancelled after 0.2 s here (not 30 s) so the conflict test is quick.
    replica = start_standby(
        TEST_VAR / "pgdata", TEST_VAR / "replica", _free_port(), {"max_standby_streaming_delay": "200ms"}
    )
    db.use_replicas((replica.url,))
    yield replica
    db.use_replicas(())
    if replica.is_running():
        replica.stop("immediate")
    shutil.rmtree(TEST_VAR / "replica", ignore_errors=True)


def _caught_up(replica_url: str, timeout: float = 10.0) -> None:
    """Wait until the standby replayed everything the primary wrote so far."""
    from sqlalchemy import create_engine

    from data.core import db

    target = db.scalar("SELECT pg_current_wal_insert_lsn()::text")  # commits the tests do not wait to flush
    engine = create_engine(replica_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.exec_driver_sql("SELECT pg_last_wal_replay_lsn() >= %(t)s::pg_lsn", {"t": target}).scalar():
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the standby did not catch up")


def _wait_for_query_on(standby, text: str, timeout: float = 20.0) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(standby.url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND strpos(query, %(t)s) > 0 "
                    "AND pid <> pg_backend_pid()",
                    {"t": text},
                ).scalar():
                    return
            time.sleep(0.02)
    finally:
        engine.dispose()
    raise AssertionError(f"no query with {text!r} running on the standby")


def _attempts(client) -> int:
    result = dash_call(client, "refresh_dashboard", [None, None, None, None])
    return int(str(result[("kpi-calls", "children")]).replace(",", ""))


def test_read_database_url_holds_one_replica_or_several():
    from data.core.db import read_database_urls

    assert read_database_urls(None) == ()
    assert read_database_urls("postgres://r1/dialstat") == ("postgresql+psycopg2://r1/dialstat",)
    several = read_database_urls("postgresql://u:pw@r1:5433/dialstat, postgresql://r2/dialstat\npostgresql://r3/d")
    assert several == (
        "postgresql+psycopg2://u:pw@r1:5433/dialstat",
        "postgresql+psycopg2://r2/dialstat",
        "postgresql+psycopg2://r3/d",
    )


def test_reads_go_to_the_replica_and_writes_to_the_primary(standby):
    from data.core import db

    in_recovery = db.reading(lambda: db.scalar("SELECT pg_is_in_recovery()"))
    assert in_recovery() is True
    assert db.scalar("SELECT pg_is_in_recovery()") is False  # outside ``reading``: the primary
    assert db.execute("UPDATE app_user SET email = email WHERE username = 'admin'") == 1


def test_a_report_is_served_by_the_replica(standby):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from data.core.report_filter import ReportFilter
    from data.core.scope import Scope
    from data.reports import traffic

    switch = ensure_switch()
    now = datetime.now(timezone.utc)
    insert_calls([call(switch, now - timedelta(minutes=m), billsec=30) for m in range(1, 6)])
    _caught_up(standby.url)
    scope = Scope(user_id=None)
    seen = []

    def record(conn, cursor, statement, *_):
        seen.append((cursor.connection.info.host, cursor.connection.info.port, statement))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        totals = traffic.totals(scope, ReportFilter.last_hours(24))
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert totals.attempts == 5  # the standby replayed the calls
    report_queries = [(host, port) for host, port, statement in seen if "cdr_rollup" in statement]
    assert report_queries == [(str(standby.socket_dir), standby.port)] * len(report_queries) != []


def test_a_new_call_shows_on_the_replicas_dashboard_within_the_freshness_goal(standby, admin_client):
    switch = ensure_switch()
    before = _attempts(admin_client)
    insert_calls([call(switch, datetime.now(timezone.utc) - timedelta(seconds=30), billsec=12)])
    committed = time.monotonic()
    while _attempts(admin_client) != before + 1:
        assert time.monotonic() - committed < FRESHNESS_SECONDS, "the new call did not show on the replica in time"
        time.sleep(0.02)


def test_a_report_cancelled_by_a_replay_conflict_is_run_once_more(standby, caplog):
    from data.core import db

    attempts = []

    @db.reading
    def slow_report():
        attempts.append(time.monotonic())
        return db.scalar("SELECT count(*) FROM (SELECT pg_sleep(1.5)) s, cdr_rollup_hour")

    done = {}
    reader = threading.Thread(target=lambda: done.setdefault("value", slow_report()))
    with caplog.at_level(logging.WARNING, logger="dialstat.db"):
        reader.start()
        _wait_for_query_on(standby, "pg_sleep(1.5)")  # the first attempt holds its lock on the standby
        with db.transaction() as conn:  # replayed on the standby: the lock conflicts with the report's
            conn.exec_driver_sql("LOCK TABLE cdr_rollup_hour IN ACCESS EXCLUSIVE MODE")
        reader.join(30)
    assert len(attempts) == 2, "the cancelled report was not run again"
    assert done["value"] is not None
    assert any("replay conflict" in r.getMessage() for r in caplog.records)


def test_a_replica_down_sends_reads_to_the_primary_with_a_warning(standby, admin_client, caplog):
    from data.core import db

    in_recovery = db.reading(lambda: db.scalar("SELECT pg_is_in_recovery()"))
    assert in_recovery() is True
    standby.stop("immediate")
    try:
        with caplog.at_level(logging.WARNING, logger="dialstat.db"):
            assert in_recovery() is False  # answered by the primary
            assert _attempts(admin_client) >= 0  # the dashboard still draws
        assert any("is down" in r.getMessage() and "primary" in r.getMessage() for r in caplog.records)
        page = dash_call(admin_client, "refresh_diagnostic", [None])
        assert "DOWN: reads go to the primary" in str(page[("diagnostic-database", "children")])
    finally:
        standby.start()
    db.PROBE_SECONDS, probe = 0, db.PROBE_SECONDS
    try:
        deadline = time.monotonic() + 30
        while in_recovery() is not True:  # back on the replica once it answers again
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        db.PROBE_SECONDS = probe
