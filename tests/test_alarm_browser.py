"""In a real browser: create an alarm, run "test alarm" before saving it, let the job evaluate it, see the
firing in the alarm report and acknowledge it; then the destination alerts and threat control pages."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from data.alerting import alarm_evaluation, alert_settings
from data.core import db
from tests.cdr_factory import UTC
from tests.test_alarm_support import make_call, spread, store, switch


@pytest.fixture(scope="module")
def traffic(app):
    """Two days of hourly calls from accountcode "pw": half answered, except in three hours (and the
    last closed one) where none is."""
    sw = switch("browser-alarm-sw", "10.6.0.1")
    now = datetime.now(UTC)
    last = alarm_evaluation.latest_end(
        "hour", now - timedelta(seconds=alert_settings.SETTING_DEFAULTS["alarm_delay_seconds"]), "UTC"
    )
    bad = {last - timedelta(hours=h) for h in (1, 5, 9, 30)}
    calls = []
    for h in range(1, 48):
        hour = last - timedelta(hours=h)
        calls += [
            make_call(sw, when, 0 if hour in bad or i % 2 else 45, accountcode="pw")
            for i, when in enumerate(spread(hour, 3600, 8))
        ]
    store(calls)
    return {"bad": bad, "last": last}


def _choose(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.get_by_role("option", name=option, exact=True).click()


def test_create_test_and_report_an_alarm_then_the_admin_pages(page, traffic):
    page.goto("/login?next=/alarms")  # straight to the page after logging in
    page.fill("#username", "admin")
    page.fill("#password", "admin-secret")
    page.click("button[type=submit]")
    page.wait_for_selector("#alarm-name")
    page.fill("#alarm-name", "Browser ASR")
    _choose(page, "alarm-scope-kind", "An accountcode")
    page.fill("#alarm-scope-value", "pw")
    page.fill("#alarm-threshold", "20")
    page.fill("#alarm-min-attempts", "5")
    page.click("#alarm-test")
    summary = page.wait_for_selector("#alarm-test-summary", timeout=15_000)
    assert "would have fired 4 time(s)" in summary.inner_text()  # the last closed hour is in the replay too
    assert page.locator("#alarm-test-table tbody tr").count() == 4
    assert db.scalar("SELECT count(*) FROM alarm") == 0  # tested, not saved
    page.click("#alarm-save")
    page.wait_for_selector("#alarm-saved")
    page.wait_for_selector("#alarm-list-table >> text=Browser ASR")
    alarm_id = db.scalar("SELECT id FROM alarm WHERE name = 'Browser ASR'")
    assert alarm_id

    assert alarm_evaluation.run_due()["fired"] == 1  # the scheduled job, once the hour has closed
    page.goto("/alarm-report")
    row = page.wait_for_selector("#alarm-report-table tbody tr", timeout=15_000)
    text = row.inner_text()
    assert "Browser ASR" in text and "ASR 0 %" in text
    page.click("#alarm-report-table button:has-text('Acknowledge')")
    page.wait_for_selector("#alarm-report-table >> text=admin")
    assert db.scalar("SELECT acknowledged_by FROM alarm_evaluation WHERE alarm_id = :id AND fired", id=alarm_id) == 1

    # The admins' pages: a blacklist prefix added and checked, then threat control.
    page.goto("/destination-alerts")
    page.wait_for_selector("#rule-prefix")
    page.fill("#rule-prefix", "88216")
    page.fill("#rule-description", "Thuraya")
    page.click("#rule-add")
    page.wait_for_selector("#rule-table >> text=prefix 88216")
    page.fill("#check-number", "+8821612345678")
    page.click("#check-button")
    assert "Flagged: blacklist prefix 88216" in page.wait_for_selector("#check-verdict").inner_text()
    page.goto("/threats")
    page.wait_for_selector("#threats-current p, #threats-table", timeout=15_000)
    page.wait_for_selector("#high-cost-list")
    assert page.console_errors == []
