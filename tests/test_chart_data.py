"""Time buckets, ranges and drill-down addresses (data/reports/timeseries.py) and what the charts are drawn
from: every bucket present, each bucket's CDR search counting exactly its calls, zooms and relative ranges on
the rollups' 15-minute boundaries, round ticks on both axes, alarm firings on the charts of their metric."""

import math
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.figures import aligned_axes
from data.admin import users
from data.alerting import alarm_evaluation, alarms
from data.cdr_search.search import by_day_chart, search_criteria_from_query
from data.core.report_filter import ReportFilter, relative_range, report_range_from_query
from data.core.scope import Scope
from data.reports import timeseries
from data.reports.traffic import TOTAL, dashboard_report, traffic_chart_rows, unit_for_range, with_total
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.conftest import login
from tests.dash_client import dash_call

ADMIN = Scope(None, "UTC")
NOW = datetime.now(UTC)


def test_every_bucket_of_a_range_is_there_even_on_days_clocks_change():
    ny = "America/New_York"
    fall_back = ReportFilter.for_days(date(2026, 11, 1), date(2026, 11, 1), ny)
    assert len(timeseries.bucket_starts(fall_back, "hour", ny)) == 25
    spring = ReportFilter.for_days(date(2026, 3, 8), date(2026, 3, 8), ny)
    assert len(timeseries.bucket_starts(spring, "hour", ny)) == 23
    month = ReportFilter.for_days(date(2026, 3, 1), date(2026, 3, 31), ny)
    days = timeseries.bucket_starts(month, "day", ny)
    assert len(days) == 31 and all(d.hour == 0 for d in days)
    year = ReportFilter.for_days(date(2025, 12, 1), date(2026, 11, 30), ny)
    assert [m.month for m in timeseries.bucket_starts(year, "month", ny)] == [12, *range(1, 12)]
    filled = timeseries.zero_filled([], year, "month", ny)
    assert len(filled) == 12 and all(r["attempts"] == 0 for r in filled)


def test_bucket_and_range_addresses():
    tz = "Europe/Madrid"
    zone = ZoneInfo(tz)
    day = datetime(2026, 6, 3, tzinfo=zone)
    assert timeseries.bucket_query(day, "day", tz) == {"start": "2026-06-03", "end": "2026-06-03"}
    assert timeseries.bucket_query(day.replace(hour=23), "hour", tz) == {
        "start": "2026-06-03",
        "end": "2026-06-04",
        "from": "23:00",
        "to": "00:00",
    }
    assert timeseries.bucket_query(day.replace(day=1), "month", tz) == {"start": "2026-06-01", "end": "2026-06-30"}
    assert timeseries.zoom_query("2026-06-03 10:07:12.5", "2026-06-03 14:52", tz) == {
        "start": "2026-06-03",
        "end": "2026-06-03",
        "from": "10:00",
        "to": "15:00",
    }
    assert timeseries.zoom_query("2026-06-09", "2026-06-03 08:00", tz) == {"start": "2026-06-03", "end": "2026-06-09"}
    assert timeseries.zoom_query("not a date", "2026-06-03", tz) is None


def test_a_zoomed_range_and_a_relative_one_are_read_back_on_quarter_hours():
    scope = Scope(None, "Europe/Madrid")
    f = report_range_from_query({"start": "2026-06-03", "end": "2026-06-04", "from": "10:15", "to": "02:00"}, scope)
    assert (f.start, f.end, f.days) == (
        datetime(2026, 6, 3, 8, 15, tzinfo=timezone.utc),
        datetime(2026, 6, 4, 0, 0, tzinfo=timezone.utc),
        None,
    )
    now = datetime(2026, 6, 3, 10, 7, 30, tzinfo=timezone.utc)
    assert relative_range("now-1h", now) == (
        datetime(2026, 6, 3, 9, 0, tzinfo=timezone.utc),
        datetime(2026, 6, 3, 10, 15, tzinfo=timezone.utc),
    )
    relative = report_range_from_query({"preset": "now-15m", "switch": "3"}, scope, now=now)
    assert (relative.end - relative.start, relative.switch_ids) == (timedelta(minutes=30), (3,))
    assert unit_for_range(relative) == "quarter"


@given(st.floats(min_value=0, max_value=1e9), st.floats(min_value=0, max_value=1e9))
def test_both_axes_have_round_ticks_and_the_same_gridlines(left, right):
    left_axis, right_axis = aligned_axes(left, right)
    for axis, top in ((left_axis, left), (right_axis, right)):
        step = axis["dtick"]
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10))
        assert axis["range"][1] >= top * (1 - 1e-9) and axis["range"][0] == 0
    intervals = [axis["range"][1] / axis["dtick"] for axis in (left_axis, right_axis)]
    assert math.isclose(*intervals) and round(intervals[0]) <= 4


@pytest.fixture(scope="module")
def traffic(app):
    switches = [ensure_switch("drill-a", "10.8.0.1"), ensure_switch("drill-b", "10.8.0.2")]
    owner = users.create_user("drill-cust", "drill-cust-pw-1", "customer", accountcodes=("d-1",))
    rows = []
    for i in range(60):
        start = NOW - timedelta(days=i % 9, hours=i % 23, minutes=7 * i % 60)
        extra = {"accountcode": "d-1", "user_id": owner.id} if i % 3 else {}
        rows.append(call(switches[i % 2], start, billsec=(i % 4) * 20, cause=16 if i % 5 else 17, **extra))
    insert_calls(rows)
    return {"switches": switches, "owner": owner}


def _search_count(href: str, scope: Scope) -> int:
    criteria = search_criteria_from_query(parse_qs(urlsplit(href).query), scope)
    return by_day_chart.uncached(scope, criteria)["count"]


@pytest.mark.parametrize("split", [None, "switch", "customer"])
@pytest.mark.parametrize("days", [0, 8])
def test_each_bucket_opens_the_search_of_exactly_its_calls(traffic, split, days):
    today = NOW.date()
    f = ReportFilter.for_days(today - timedelta(days=days), today, "UTC")
    unit = unit_for_range(f)
    rows = traffic_chart_rows.uncached(ADMIN, f, unit, split)
    assert len({r["period"] for r in rows}) == len(timeseries.bucket_starts(f, unit, "UTC"))
    counted = [r for r in rows if r["calls"] and r["href"]]
    assert counted
    for row in counted:
        assert _search_count(row["href"], ADMIN) == row["calls"], row
    assert [r["partial"] for r in rows if r.get("series") in (None, rows[-1].get("series"))][-1]


@pytest.mark.parametrize("split", ["switch", "customer"])
def test_a_split_over_a_range_without_calls_draws_zeros_without_links(traffic, split):
    # found by bench/reports.py: "the last 6 hours" per switch on a store whose calls ended earlier was an HTTP 500
    empty = ReportFilter.for_days(date(2001, 1, 1), date(2001, 1, 2), "UTC")
    rows = traffic_chart_rows.uncached(ADMIN, empty, "hour", split)
    assert len(rows) == 48 and not any(r["calls"] for r in rows)
    assert all(r["href"] is None for r in rows)


def test_the_dashboard_bars_and_slices_open_their_calls(traffic):
    f = timeseries.last_whole_hours(24, "UTC")
    report = dashboard_report.uncached(ADMIN, f)
    assert len(report["hourly"]) == 24 and report["hourly"][-1]["partial"]
    assert not any(r["partial"] for r in report["hourly"][:-1])
    for part in ("hourly", "causes", "switches", "countries"):
        for row in report[part]:
            if row["calls"]:
                assert _search_count(row["href"], ADMIN) == row["calls"], (part, row)
    customer = Scope(traffic["owner"].id, "UTC")
    for row in dashboard_report.uncached(customer, f)["switches"]:
        assert _search_count(row["href"], customer) == row["calls"]


def test_alarm_firings_are_marked_on_the_charts_of_their_metric(traffic):
    alarm = alarms.save_alarm(
        ADMIN,
        {
            "name": "busy hour",
            "metric": "calls",
            "period": "hour",
            "condition": "gt",
            "threshold": "0",
            "min_attempts": "1",
            "user_id": 1,
        },
    )
    end = datetime.combine(NOW.date(), time(NOW.hour), UTC)
    for hours in range(1, 24):
        alarm_evaluation.record(alarm, alarm_evaluation.evaluate(alarm, end - timedelta(hours=hours)))
    fired = alarms.report(ADMIN, end - timedelta(hours=24), end)
    assert fired
    marks = alarms.firings_on_chart(ADMIN, end - timedelta(hours=24), end)
    assert set(marks) == {"calls"} and len(marks["calls"]) == len(fired)
    assert all(m["label"].startswith("busy hour") for m in marks["calls"])


def test_concurrent_calls_get_a_total_line_with_two_switches_or_more():
    one = [{"minute": 1, "switch": "a", "peak": 3}, {"minute": 2, "switch": "a", "peak": 1}]
    assert with_total(one, "minute") == one
    two = one + [{"minute": 1, "switch": "b", "peak": 2}, {"minute": 2, "switch": "b", "peak": 0}]
    totals = [r for r in with_total(two, "minute") if r["switch"] == TOTAL]
    assert totals == [{"minute": 1, "switch": TOTAL, "peak": 5}, {"minute": 2, "switch": TOTAL, "peak": 1}]


def test_the_overview_lays_the_previous_period_and_alarm_firings_on_its_charts(app, traffic):
    client = app.test_client()
    assert login(client, "admin", "admin-secret").status_code == 302
    today = NOW.date()
    args = [str(today - timedelta(days=4)), str(today), None, None, None, None, "switch", True]
    result = dash_call(client, "refresh_overview", args)
    calls = result[("overview-calls-graph", "figure")]
    previous = [t for t in calls["data"] if t["name"] == "previous period"]
    assert len(previous) == 1 and len(previous[0]["x"]) == 5  # five days laid on the five days shown
    earlier = ReportFilter.for_days(today - timedelta(days=9), today - timedelta(days=5), "UTC")
    assert sum(previous[0]["y"]) == sum(r["calls"] for r in traffic_chart_rows.uncached(ADMIN, earlier, "day"))
    dark = dash_call(client, "refresh_overview", [*args, None, True])[("overview-asr-graph", "figure")]
    assert dark["layout"]["template"]["layout"]["font"]["color"] == "#dee2e6"
    flags = [a for a in calls["layout"]["annotations"] if a.get("name") == "alarm"]
    assert flags == [] or all("busy hour" in a["hovertext"] for a in flags)


def test_the_cdr_search_report_by_day_has_every_day_of_its_range(traffic):
    today = NOW.date()
    query = {"start": [str(today - timedelta(days=29))], "end": [str(today)], "switch": [str(traffic["switches"][0])]}
    chart = by_day_chart.uncached(ADMIN, search_criteria_from_query(query, ADMIN))
    assert [r["period"] for r in chart["rows"]] == [str(today - timedelta(days=d)) for d in range(29, -1, -1)]
    assert sum(r["calls"] for r in chart["rows"]) == chart["count"] == 30
    assert sum(1 for r in chart["rows"] if r["calls"] == 0) >= 20  # nine days of calls in thirty


def _alarm_flags(figure: dict) -> list[str]:
    return [a["hovertext"] for a in figure["layout"]["annotations"] if a.get("name") == "alarm"]


def test_the_dashboard_marks_asr_firings_on_its_asr_chart_within_its_range_and_scope(app, traffic):
    owner, hour = traffic["owner"], datetime.combine(NOW.date(), time(NOW.hour), UTC)
    switch = ensure_switch("drill-c", "10.8.0.3")
    # the customer's own calls in the last hours: half answered
    insert_calls(
        [
            call(
                switch,
                hour - timedelta(hours=h, minutes=-10),
                billsec=30 * (h % 2),
                accountcode="d-1",
                user_id=owner.id,
            )
            for h in range(1, 7)
        ]
    )

    rule = {"metric": "asr", "period": "hour", "condition": "lt", "threshold": "101", "min_attempts": "1", "user_id": 1}

    def asr_alarm(name: str, user_id: int):
        return alarms.save_alarm(ADMIN, {**rule, "name": name, "user_id": user_id})

    watched, own, old = asr_alarm("ASR watch", 1), asr_alarm("my ASR", owner.id), asr_alarm("old ASR", 1)
    calls = alarms.save_alarm(ADMIN, {**rule, "metric": "calls", "condition": "gt", "threshold": "0", "name": "calls"})
    for h in range(0, 7):
        for alarm in (watched, own, calls):
            alarm_evaluation.record(alarm, alarm_evaluation.evaluate(alarm, hour - timedelta(hours=h)))
    for h in range(72, 96):  # three days ago: outside the dashboard's 24 hours
        alarm_evaluation.record(old, alarm_evaluation.evaluate(old, hour - timedelta(hours=h)))
    fired = {r["alarm"] for r in alarms.report(ADMIN, hour - timedelta(days=5), hour + timedelta(hours=1))}
    assert {"ASR watch", "my ASR", "old ASR"} <= fired

    admin = app.test_client()
    assert login(admin, "admin", "admin-secret").status_code == 302
    result = dash_call(admin, "refresh_dashboard", [None, None, None, None])
    flags = _alarm_flags(result[("dashboard-asr-graph", "figure")])
    assert {f.split(":")[0] for f in flags} == {"ASR watch", "my ASR"}  # not the firings of three days ago
    hourly = _alarm_flags(result[("dashboard-hourly-graph", "figure")])
    assert any(f.startswith("calls:") for f in hourly) and not any("ASR" in f for f in hourly)  # calls, not ASR
    shapes = result[("dashboard-asr-graph", "figure")]["layout"]["shapes"]
    assert sum(1 for s in shapes if s["type"] == "line") == len(flags)

    customer = app.test_client()
    assert login(customer, owner.username, "drill-cust-pw-1").status_code == 302
    flags = _alarm_flags(
        dash_call(customer, "refresh_dashboard", [None, None, None, None])[("dashboard-asr-graph", "figure")]
    )
    assert flags and {f.split(":")[0] for f in flags} == {"my ASR"}  # the customer's own alarm only
