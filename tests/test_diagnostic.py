"""The Diagnostic page's data: database, calls per day and switch, import backlog, rollup lag, jobs, mail, disk."""

from datetime import datetime, timedelta, timezone

import pytest

from data.admin import diagnostics
from data.core import db, job_runs
from jobs.runner import run_job
from jobs.scheduler import scheduled_jobs
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.dash_client import dash_call

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def seeded(app):
    switch = ensure_switch("diag-sw", "10.90.0.1")
    insert_calls(
        [
            call(switch, NOW - timedelta(days=d, minutes=5), callid=f"diag-{d}-{i}")
            for d in (0, 1)
            for i in range(3 if d else 2)
        ]
    )
    db.execute("""INSERT INTO cdr_import (switch, callid, caller_id_number, caller_id_name, destination_number,
                                          starting_date, duration, billsec, imported)
                  SELECT '10.90.0.1', 'pending-' || g, '1', 'x', '34650', now(), 10, 5, g > 4
                  FROM generate_series(1, 7) g""")
    return switch


def test_database_section_lists_the_partitions_and_the_size(seeded):
    info = diagnostics.database()
    assert info["version"] and info["bytes"] > 0
    assert any(p["name"] == f"cdr_y{NOW:%Y}m{NOW:%m}" for p in info["partitions"])
    assert any(t["name"] == "cdr" for t in info["tables"])


def test_calls_per_day_and_switch_and_the_import_backlog(seeded):
    rows = diagnostics.calls_per_day_and_switch()
    per_day = {r["day"]: r["calls"] for r in rows if r["switch"] == "diag-sw"}
    assert per_day[(NOW - timedelta(minutes=5)).date()] == 2
    assert per_day[(NOW - timedelta(days=1, minutes=5)).date()] == 3
    imports = diagnostics.imports()
    assert imports["backlog"] == 4 and imports["oldest_pending"] is not None


def test_rollup_lag_is_zero_when_the_rollups_are_current_and_shows_when_they_are_not(seeded):
    assert diagnostics.rollup_lag()["lag_seconds"] == 0
    db.execute("DELETE FROM cdr_rollup_minute WHERE bucket > now() - interval '1 hour'")
    lag = diagnostics.rollup_lag()
    assert lag["lag_seconds"] is None or lag["lag_seconds"] > 0 or lag["missing"]


def test_jobs_show_runs_durations_and_the_last_failure(seeded):
    def boom():
        raise RuntimeError("disk on fire")

    run_job("housekeeping", boom, datetime(2026, 1, 1, tzinfo=timezone.utc))
    run_job("refresh-rollups", lambda: {"ok": 1}, datetime(2026, 1, 1, tzinfo=timezone.utc))
    db.execute("UPDATE job_run SET started_at = now() - interval '1 minute'")
    jobs = {j["job"]: j for j in diagnostics.jobs(scheduled_jobs())}
    assert jobs["housekeeping"]["failed_24h"] == 1 and "disk on fire" in jobs["housekeeping"]["last_error"]
    assert jobs["refresh-rollups"]["last_status"] == "ok" and jobs["refresh-rollups"]["avg_seconds"] is not None
    assert job_runs.recent_runs("housekeeping")[0]["status"] == "failed"


def test_mail_settings_hide_the_password_and_disk_space_is_measured(seeded, monkeypatch):
    monkeypatch.setenv("MAIL_PASSWORD", "smtp-secret")
    mail = diagnostics.mail_configuration()
    assert mail["settings"]["MAIL_PASSWORD"] == "set" and "smtp-secret" not in str(mail)
    disk = diagnostics.disk()
    assert disk and all(d["free"] > 0 and 0 < d["free_ratio"] <= 1 for d in disk)
    assert diagnostics.human_bytes(1536) == "1.5 kB"


def test_the_test_mail_button_sends_through_the_smtp_server(app, seeded, admin_client, smtp_server):
    result = dash_call(admin_client, "send_test_mail", [1], ["ops@example.com"])
    assert "Sent" in str(result[("diagnostic-mail-result", "children")])
    assert smtp_server.messages[-1]["To"] == "ops@example.com"
    bad = dash_call(admin_client, "send_test_mail", [1], ["not an address"])
    assert "is not an e-mail address" in str(bad[("diagnostic-mail-result", "children")])


def test_the_page_renders_every_section(app, seeded, admin_client):
    text = str(dash_call(admin_client, "refresh_diagnostic", [None]))
    for fragment in ("PostgreSQL", "cdr_import backlog", "housekeeping", "MAIL_SERVER", "Free", "diag-sw"):
        assert fragment in text, fragment
