"""Hours across DST: a day when clocks go back has 25 hourly buckets (the repeated hour twice, labelled
with its UTC offset), a day when they go forward 23: the overview's series, the dashboard, the API and
the mailed daily report. The daily comparison lays days over each other by hour of day: the repeated
hour's two hours are summed into that hour, the skipped hour is zero (docs/reports.md)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from data.core import db
from data.core.report_filter import ReportFilter
from data.core.rollups import use_timezone
from data.core.scope import Scope
from data.mail.reports import Period, traffic_rows
from data.reports.traffic import (
    chart_rows,
    dashboard_breakdowns,
    hourly_profile,
    hourly_series,
    traffic_by_time,
)
from tests.cdr_factory import call, ensure_switch, insert_calls

# (zone, the day clocks go back, the repeated local hour, the day clocks go forward)
ZONES = [
    ("America/New_York", date(2026, 11, 1), 1, date(2026, 3, 8)),
    ("Europe/Berlin", date(2026, 10, 25), 2, date(2026, 3, 29)),
    ("Australia/Sydney", date(2026, 4, 5), 2, date(2026, 10, 4)),
]


@pytest.fixture(scope="module")
def calls(app):
    """One call every 15 minutes over each DST day of each zone (UTC), two in each zone's repeated hours."""
    switch = ensure_switch()
    rows = []
    for tz, back, _, forward in ZONES:
        for day in (back, forward):
            f = ReportFilter.for_days(day, day, tz)
            moment = f.start
            while moment < f.end:
                rows.append(call(switch, moment + timedelta(minutes=1), billsec=30))
                moment += timedelta(minutes=15)
    insert_calls(rows)
    for tz, *_ in ZONES:
        use_timezone(tz)
    return rows


@pytest.mark.parametrize("tz,back,repeated,forward", ZONES)
def test_the_overview_series_has_25_and_23_hours(calls, tz, back, repeated, forward):
    scope = Scope(user_id=None, timezone=tz)
    rows = traffic_by_time.uncached(scope, ReportFilter.for_days(back, back, tz), "hour")
    assert len(rows) == 25 and all(r["attempts"] == 4 for r in rows)
    same_hour = [r["period"] for r in rows if r["period"].hour == repeated]
    assert len(same_hour) == 2 and same_hour[0].utcoffset() - same_hour[1].utcoffset() == timedelta(hours=1)
    labels = [r["period"] for r in chart_rows(rows, "period", scope)]
    assert len(set(labels)) == 25
    offsets = {label for label in labels if "(UTC" in label}
    assert len(offsets) == 2 and all(f" {repeated:02d}:00:00 (UTC" in label for label in offsets)

    spring = traffic_by_time.uncached(scope, ReportFilter.for_days(forward, forward, tz), "hour")
    assert len(spring) == 23 and len({r["period"] for r in spring}) == 23
    assert not any("(UTC" in r["period"] for r in chart_rows(spring, "period", scope))


@pytest.mark.parametrize("tz,back,repeated,forward", ZONES)
def test_the_dashboard_and_the_mailed_report_have_every_hour(calls, tz, back, repeated, forward):
    scope = Scope(user_id=None, timezone=tz)
    assert len(dashboard_breakdowns(scope, ReportFilter.for_days(back, back, tz))["hour"]) == 25
    assert len(dashboard_breakdowns(scope, ReportFilter.for_days(forward, forward, tz))["hour"]) == 23
    rows, unit = traffic_rows(scope, Period("daily", back, back))
    assert unit == "hour" and len(rows) == 25 and sum(r["attempts"] for r in rows) == 100
    assert [r["label"] for r in rows if r["label"].startswith(f"{repeated:02d}")] == [
        f"{repeated:02d} (UTC{offset})" for offset in _offsets(tz, back, repeated)
    ]
    spring, _ = traffic_rows(scope, Period("daily", forward, forward))
    assert len(spring) == 23 and sum(r["attempts"] for r in spring) == 92
    assert len(hourly_series(scope, ReportFilter.for_days(forward, forward, tz))) == 23


@pytest.mark.parametrize("tz,back,repeated,forward", ZONES)
def test_the_daily_comparison_maps_the_repeated_hour_onto_its_hour_of_day(calls, tz, back, repeated, forward):
    scope = Scope(user_id=None, timezone=tz)
    profile = hourly_profile(scope, [back, forward], ReportFilter.for_days(back, forward, tz))
    fall = {r["hour"]: r for r in profile if r["day"] == back}
    assert len(fall) == 24 and fall[repeated]["attempts"] == 8 and fall[repeated]["hours"] == 2
    spring = {r["hour"]: r for r in profile if r["day"] == forward}
    skipped = [h for h, r in spring.items() if r["hours"] == 0]
    assert len(skipped) == 1 and spring[skipped[0]]["attempts"] == 0


def test_the_api_gives_25_hours_with_their_offsets(calls, client):
    tz, back, repeated, _ = ZONES[0]
    db.execute("UPDATE app_user SET timezone = :tz WHERE username = 'admin'", tz=tz)
    try:
        import base64

        auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-secret").decode()}
        response = client.get(
            "/api/v1/kpis", headers=auth, query_string={"group_by": "hour", "from": str(back), "to": str(back)}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        periods = [r["period"] for r in response.get_json()["results"]]
        assert len(periods) == 25
        assert [p for p in periods if "T01:00:00" in p] == ["2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"]
    finally:
        db.execute("UPDATE app_user SET timezone = 'UTC' WHERE username = 'admin'")


def _offsets(tz: str, day: date, hour: int) -> list[str]:
    zone = ZoneInfo(tz)
    found = []
    for fold in (0, 1):
        offset = datetime(day.year, day.month, day.day, hour, tzinfo=zone, fold=fold).utcoffset()
        minutes = int(offset.total_seconds() // 60)
        found.append(f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    return found
