"""Alarms: every metric × condition on traffic built to cross and not cross the threshold, through the
job (the report holds the measured value); the minimum-attempts guard; CIC; notifications (raised,
cleared, dry run, once per period); week and month boundaries in the owner's time zone; "test alarm"."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from data.alerting import alarm_evaluation, alarms, alert_settings
from data.core import db
from data.core.scope import Scope
from tests.cdr_factory import UTC
from tests.test_alarm_support import make_call, spread, store, switch

ADMIN = Scope(user_id=None)
DAY = datetime(2024, 5, 6, tzinfo=UTC)  # a Monday
H0, H1, H2 = DAY + timedelta(hours=10), DAY + timedelta(hours=11), DAY + timedelta(hours=12)
DELAY = timedelta(seconds=alert_settings.SETTING_DEFAULTS["alarm_delay_seconds"])


def profile(
    sw: int,
    start: datetime,
    *,
    answered: int,
    short: int,
    billsec: int,
    busy: int,
    rejected: int,
    pdd: int,
    buy: str,
    sell: str,
    accountcode: str = "acc1",
) -> list[dict]:
    """One hour of traffic: answered calls (``short`` of them 3 s long), then unanswered ones in a row
    (``busy`` ended with cause 17, ``rejected`` with cause 34), so CIC = busy + rejected."""
    n = answered + busy + rejected
    times = spread(start, 3600, n)
    calls = []
    for i, when in enumerate(times):
        common = {
            "accountcode": accountcode,
            "progresssec": pdd,
            "country_code": "ES",
            "normalised_number": f"3465010{i:04d}",
            "destination_number": f"003465010{i:04d}",
        }
        if i < answered:
            calls.append(
                make_call(
                    sw,
                    when,
                    3 if i < short else billsec,
                    cause=16,
                    buy_cost=Decimal(buy),
                    sell_cost=Decimal(sell),
                    **common,
                )
            )
        else:
            calls.append(make_call(sw, when, 0, unanswered_cause=17 if i < answered + busy else 34, **common))
    return calls


# Expected values of each metric, worked out by hand from the profiles below.
LOW = {
    "asr": 50,
    "acd": Decimal("48.6"),
    "ner": 70,
    "calls": 20,
    "minutes": Decimal("8.1"),
    "cost": 1,
    "short_calls": 20,
    "pdd": 2,
    "cause_share": 20,
    "cic": 10,
}
HIGH = {
    "asr": 60,
    "acd": 101,
    "ner": 88,
    "calls": 50,
    "minutes": Decimal("50.5"),
    "cost": 15,
    "short_calls": Decimal(100) / 3,
    "pdd": 4,
    "cause_share": 28,
    "cic": 20,
}


@pytest.fixture(scope="module")
def traffic(app):
    sw = switch()
    low = {"answered": 10, "short": 2, "billsec": 60, "busy": 4, "rejected": 6, "pdd": 2, "buy": "0.1", "sell": "0.15"}
    high = {
        "answered": 30,
        "short": 10,
        "billsec": 150,
        "busy": 14,
        "rejected": 6,
        "pdd": 4,
        "buy": "0.5",
        "sell": "0.7",
    }
    store(profile(sw, H0, **low) + profile(sw, H1, **high) + profile(sw, H2, **low))
    return sw


def _cases():
    """(metric, condition, period end, threshold, fires): each side of each threshold, and the sign."""
    cases = []
    up, down = H2, DAY + timedelta(hours=13)  # periods ending there: LOW→HIGH (up), HIGH→LOW (down)
    for metric in alarms.METRICS:
        lo, hi = Decimal(LOW[metric]), Decimal(HIGH[metric])
        rise, rise_pct = hi - lo, (hi - lo) / lo * 100
        fall_pct = (hi - lo) / hi * 100
        cases += [
            (metric, "lt", up, hi * Decimal("1.01"), True),
            (metric, "lt", up, hi, False),
            (metric, "lt", up, hi * Decimal("0.99"), False),
            (metric, "gt", up, hi * Decimal("0.99"), True),
            (metric, "gt", up, hi, False),
            (metric, "gt", up, hi * Decimal("1.01"), False),
            (metric, "increase", up, rise * Decimal("0.99"), True),
            (metric, "increase", up, rise, False),
            (metric, "increase", down, 0, False),  # a fall is not an increase
            (metric, "decrease", down, rise * Decimal("0.99"), True),
            (metric, "decrease", down, rise * 1, False),
            (metric, "decrease", up, 0, False),  # a rise is not a decrease
            (metric, "increase_pct", up, rise_pct * Decimal("0.99"), True),
            (metric, "increase_pct", up, rise_pct * Decimal("1.01"), False),
            (metric, "increase_pct", down, 0, False),
            (metric, "decrease_pct", down, fall_pct * Decimal("0.99"), True),
            (metric, "decrease_pct", down, fall_pct * Decimal("1.01"), False),
            (metric, "decrease_pct", up, 0, False),
        ]
    return cases


def _new_alarm(accountcode: str | None = None, **values):
    """Save an alarm of ``values`` over the defaults; ``accountcode``: scoped to that accountcode."""
    if accountcode is not None:
        values.update(scope_kind="accountcode", scope_value=accountcode)
    defaults = {
        "name": "a",
        "metric": "calls",
        "period": "hour",
        "condition": "gt",
        "threshold": "0",
        "min_attempts": "10",
    }
    defaults.update({k: v for k, v in values.items()})
    if defaults["metric"] == "cause_share":
        defaults.setdefault("hangup_cause_id", 17)
    return alarms.save_alarm(ADMIN, {**defaults, "user_id": 1})


def test_every_metric_and_condition_fires_exactly_when_crossed(traffic):
    cases = _cases()
    rules = [
        alarms.Alarm(
            user_id=1,
            name=f"case {i}",
            metric=metric,
            period="hour",
            condition=condition,
            threshold=Decimal(threshold),
            hangup_cause_id=17 if metric == "cause_share" else None,
        )
        for i, (metric, condition, _, threshold, _) in enumerate(cases)
    ]
    columns = [c for c in alarms._ALARM_COLUMNS if c != "id"]
    values = ", ".join(f"%({c})s" for c in columns)
    with db.transaction() as conn:  # stored in one go: saving 180 alarms one by one is not under test
        conn.exec_driver_sql(
            f"INSERT INTO alarm ({', '.join(columns)}) VALUES ({values})",
            [{c: getattr(rule, c) for c in columns} for rule in rules],
        )
    found = db.rows(f"{alarms._SELECT} WHERE a.name LIKE 'case %'")
    stored = {a.name: a for a in map(alarms._alarm, found)}
    created = [(stored[f"case {i}"], end, fires) for i, (_, _, end, _, fires) in enumerate(cases)]
    for end in sorted({c[1] for c in created}):  # the job, right after each hour has closed
        alarm_evaluation.run_due(now=end + DELAY + timedelta(seconds=5))
    failures = []
    for alarm, end, fires in created:
        row = db.rows("SELECT * FROM alarm_evaluation WHERE alarm_id = :id AND period_end = :end", id=alarm.id, end=end)
        assert len(row) == 1, alarm.name
        row = row[0]
        expected = Decimal((HIGH if end == H2 else LOW)[alarm.metric])
        earlier = Decimal((LOW if end == H2 else HIGH)[alarm.metric])
        if (
            row["fired"] != fires
            or abs(row["measured"] - expected) > Decimal("1e-9")
            or abs(row["comparison"] - earlier) > Decimal("1e-9")
            or row["threshold"] != alarm.threshold
        ):
            failures.append((alarm.describe(), str(end), fires, row["fired"], row["measured"], row["reason"]))
    assert failures == []
    fired = {(r["alarm_id"], r["period_end"]): r for r in alarms.report(ADMIN, limit=10_000)}
    for alarm, end, fires in created:  # the report lists exactly the firings, with the measured value
        assert ((alarm.id, end) in fired) == fires
        if fires:
            expected = Decimal((HIGH if end == H2 else LOW)[alarm.metric])
            assert abs(fired[(alarm.id, end)]["measured"] - expected) < Decimal("1e-9")
    db.execute("UPDATE alarm SET status = 'inactive'")


def test_evaluate_is_the_same_rule_for_every_scope(traffic):
    other = switch("alarm-sw2", "10.9.0.2")
    store(
        [
            make_call(
                other,
                H1 + timedelta(minutes=m),
                30,
                accountcode="acc2",
                country_code="GB",
                normalised_number=f"44207946{m:04d}",
            )
            for m in range(7)
        ]
    )
    expectations = {
        ("all", ""): 57,
        ("switch", str(traffic)): 50,
        ("switch", str(other)): 7,
        ("accountcode", "acc2"): 7,
        ("country", "GB"): 7,
        ("country", "ES"): 50,
        ("prefix", "4420"): 7,
        ("prefix", "3465010"): 50,
        ("prefix", "9"): 0,
    }
    for (kind, value), calls in expectations.items():
        alarm = _new_alarm(name=f"scope {kind} {value}", scope_kind=kind, scope_value=value, status="inactive")
        ev = alarm_evaluation.evaluate(alarm, H2)
        assert ev.measured == calls, (kind, value)
    prefix = _new_alarm(name="prefix asr", metric="asr", scope_kind="prefix", scope_value="3465010", status="inactive")
    assert alarm_evaluation.evaluate(prefix, H2).measured == HIGH["asr"]  # from cdr: the rollups' definitions
    prefix_acd = alarms.with_changes(prefix, metric="acd")
    assert alarm_evaluation.evaluate(prefix_acd, H2).measured == HIGH["acd"]
    by_code = _new_alarm(name="acc1 busy", metric="cause_share", accountcode="acc1", status="inactive")
    assert alarm_evaluation.evaluate(by_code, H2).measured == HIGH["cause_share"]  # accountcode x cause: from cdr
    assert (
        alarm_evaluation.evaluate(alarms.with_changes(by_code, metric="asr"), H2).measured == HIGH["asr"]
    )  # its rollups


def test_the_minimum_attempts_guard(traffic):
    sw = traffic
    quiet = DAY + timedelta(days=1, hours=3)
    store(
        [make_call(sw, quiet + timedelta(minutes=i), 0, accountcode="night") for i in range(5)]
        + [make_call(sw, quiet - timedelta(hours=1) + timedelta(minutes=i), 60, accountcode="night") for i in range(3)]
    )
    end = quiet + timedelta(hours=1)
    asr = _new_alarm(
        name="night asr", metric="asr", condition="lt", threshold="50", accountcode="night", status="inactive"
    )
    ev = alarm_evaluation.evaluate(asr, end)
    assert (ev.fired, ev.computable, ev.measured) == (False, False, 0) and "minimum of 10" in ev.reason
    assert alarm_evaluation.evaluate(alarms.with_changes(asr, min_attempts=5), end).fired  # 5 attempts, ASR 0 %
    # Volume: the busier period counts, so a stop in traffic still fires, a quiet night does not.
    drop = _new_alarm(name="calls drop", metric="calls", condition="decrease_pct", threshold="90", status="inactive")
    ev = alarm_evaluation.evaluate(drop, DAY + timedelta(hours=14))  # 13:00–14:00 has no call; 12:00–13:00 had 20
    assert ev.fired and ev.measured == 0 and ev.comparison == 20
    night = alarms.with_changes(drop, scope_kind="accountcode", scope_value="night", condition="increase_pct")
    ev = alarm_evaluation.evaluate(night, end)  # 3 → 5 calls: +67 %, but never 10 attempts
    assert not ev.fired and not ev.computable
    # A percentage of an earlier 0 cannot be computed: recorded as such, never fires.
    ev = alarm_evaluation.evaluate(alarms.with_changes(drop, condition="increase_pct", threshold=Decimal(1)), H1)
    assert ev.comparison == 0 and not ev.fired and not ev.computable and "earlier value is 0" in ev.reason


def test_cic_is_the_longest_run_of_unanswered_calls_per_accountcode(traffic):
    sw = traffic
    start = DAY + timedelta(days=2, hours=9)
    # Interleaved in time: A runs 3 then 2 (an answered call between), B runs 5; together 10 in a row.
    pattern_a, pattern_b = [0, 0, 0, 60, 0, 0], [0, 0, 0, 0, 0]
    calls = [make_call(sw, start + timedelta(minutes=2 * i), b, accountcode="ca") for i, b in enumerate(pattern_a)]
    calls += [make_call(sw, start + timedelta(minutes=2 * i + 1), b, accountcode="cb") for i, b in enumerate(pattern_b)]
    store(calls)
    alarm = _new_alarm(name="cic", metric="cic", condition="gt", threshold="4", min_attempts="0", status="inactive")
    ev = alarm_evaluation.evaluate(alarm, start + timedelta(hours=1))
    assert ev.measured == 5 and ev.fired and ev.attempts == 11
    only_a = alarms.with_changes(alarm, scope_kind="accountcode", scope_value="ca")
    ev = alarm_evaluation.evaluate(only_a, start + timedelta(hours=1))
    assert ev.measured == 3 and not ev.fired


def test_notifications_raised_cleared_once_per_period_and_dry_run(traffic, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "data.core.mailer.queue_mail",
        lambda recipients, subject, text, **kw: sent.append((recipients, subject, kw)) or len(sent),
    )
    alarm = _new_alarm(name="asr watch", metric="asr", condition="lt", threshold="55", email_to="noc@example.com")
    quiet = _new_alarm(
        name="asr dry", metric="asr", condition="lt", threshold="55", email_to="noc@example.com", dry_run="1"
    )
    for end in (H1, H2, DAY + timedelta(hours=13)):  # ASR 50 (fires), 60 (cleared), 50 (fires again)
        alarm_evaluation.run_due(now=end + DELAY)
        alarm_evaluation.run_due(now=end + DELAY + timedelta(seconds=30))  # the same period again: nothing new
    events = db.rows(
        "SELECT alarm_id, event, fired, notified_at IS NOT NULL AS notified "
        "FROM alarm_evaluation WHERE alarm_id IN (:a, :b) AND period_end <= :last "
        "ORDER BY alarm_id, period_start",
        a=alarm.id,
        b=quiet.id,
        last=DAY + timedelta(hours=13),
    )
    assert [(e["event"], e["fired"], e["notified"]) for e in events if e["alarm_id"] == alarm.id] == [
        ("raised", True, True),
        ("cleared", False, True),
        ("raised", True, True),
    ]
    assert [(e["event"], e["notified"]) for e in events if e["alarm_id"] == quiet.id] == [
        ("raised", False),
        ("cleared", False),
        ("raised", False),
    ]  # dry run: recorded, never sent
    subjects = [s for _, s, _ in sent]
    assert len(sent) == 3 and subjects[0].startswith("[WARNING] asr watch") and subjects[1].startswith("Cleared")
    assert all(r == ["noc@example.com"] for r, _, _ in sent)
    assert len({kw["dedup_key"] for _, _, kw in sent}) == 3
    db.execute("UPDATE alarm SET status = 'inactive'")


def test_week_and_month_alarms_close_at_the_owners_midnight(traffic, make_user):
    from data.admin import users

    ny = users.create_user("ny-admin", "pass-word-1", "admin", timezone="America/New_York")
    kol = users.create_user("kol-admin", "pass-word-1", "admin", timezone="Asia/Kolkata")
    sw = traffic
    # New York: the last minutes of February (local) are already March in UTC.
    feb = [datetime(2024, 2, d, 15, tzinfo=UTC) for d in (1, 10, 20)]
    feb_end = datetime(2024, 2, 29, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # 2024-03-01 04:30 UTC
    march = datetime(2024, 3, 1, 0, 30, tzinfo=ZoneInfo("America/New_York"))
    store([make_call(sw, t, 60, accountcode="tz") for t in [*feb, feb_end, march]])
    month = alarms.save_alarm(
        ADMIN,
        {
            "name": "month",
            "metric": "calls",
            "period": "month",
            "condition": "gt",
            "threshold": "3",
            "min_attempts": "0",
            "scope_kind": "accountcode",
            "scope_value": "tz",
            "user_id": ny.id,
        },
    )
    assert month.timezone == "America/New_York"
    alarm_evaluation.run_due(now=datetime(2024, 3, 1, 4, 59, tzinfo=UTC) + DELAY)  # 23:59 on Feb 29 in New York
    first = db.rows("SELECT * FROM alarm_evaluation WHERE alarm_id = :id", id=month.id)
    assert [r["period_start"] for r in first] == [datetime(2024, 1, 1, 5, tzinfo=UTC)]  # January, not February
    alarm_evaluation.run_due(now=datetime(2024, 3, 1, 5, 1, tzinfo=UTC) + DELAY)  # 00:01 on March 1 in New York
    feb_row = db.rows(
        "SELECT * FROM alarm_evaluation WHERE alarm_id = :id AND period_start = :s",
        id=month.id,
        s=datetime(2024, 2, 1, 5, tzinfo=UTC),
    )[0]
    assert feb_row["period_end"] == datetime(2024, 3, 1, 5, tzinfo=UTC)
    assert feb_row["measured"] == 4 and feb_row["fired"]  # the 23:30 call is February's
    # March ends at 04:00 UTC: daylight saving time began in between.
    assert alarm_evaluation.windows_for(
        month, alarm_evaluation.latest_end("month", datetime(2024, 4, 2, tzinfo=UTC), ny.timezone)
    )[:2] == (
        datetime(2024, 3, 1, 5, tzinfo=UTC),
        datetime(2024, 4, 1, 4, tzinfo=UTC),
    )

    # Kolkata (+05:30): ISO weeks start on Monday 00:00 local = Sunday 18:30 UTC.
    kolkata = ZoneInfo("Asia/Kolkata")
    store(
        [
            make_call(sw, datetime(2024, 5, 6, 0, 10, tzinfo=kolkata), 60, accountcode="wk"),
            make_call(sw, datetime(2024, 5, 12, 23, 50, tzinfo=kolkata), 60, accountcode="wk"),
            make_call(sw, datetime(2024, 5, 13, 0, 10, tzinfo=kolkata), 60, accountcode="wk"),
            make_call(sw, datetime(2024, 5, 5, 23, 50, tzinfo=kolkata), 60, accountcode="wk"),
        ]
    )
    week = alarms.save_alarm(
        ADMIN,
        {
            "name": "week",
            "metric": "calls",
            "period": "week",
            "condition": "increase",
            "threshold": "0",
            "min_attempts": "0",
            "scope_kind": "accountcode",
            "scope_value": "wk",
            "user_id": kol.id,
        },
    )
    alarm_evaluation.run_due(
        now=datetime(2024, 5, 12, 18, 29, tzinfo=UTC) + DELAY
    )  # Sunday 23:59 local: week still open
    assert db.scalar("SELECT max(period_end) FROM alarm_evaluation WHERE alarm_id = :id", id=week.id) == datetime(
        2024, 5, 5, 18, 30, tzinfo=UTC
    )
    alarm_evaluation.run_due(now=datetime(2024, 5, 12, 18, 31, tzinfo=UTC) + DELAY)  # Monday 00:01 local
    row = db.rows("SELECT * FROM alarm_evaluation WHERE alarm_id = :id ORDER BY period_start DESC LIMIT 1", id=week.id)[
        0
    ]
    assert (row["period_start"], row["period_end"]) == (
        datetime(2024, 5, 5, 18, 30, tzinfo=UTC),
        datetime(2024, 5, 12, 18, 30, tzinfo=UTC),
    )
    assert (row["measured"], row["comparison"], row["fired"]) == (2, 1, True)
    db.execute("UPDATE alarm SET status = 'inactive'")


def test_day_periods_follow_dst_and_week_before_is_the_same_local_time():
    madrid = "Europe/Madrid"
    end = alarm_evaluation.latest_end("day", datetime(2024, 3, 31, 23, 30, tzinfo=UTC), madrid)  # 01:30 on April 1
    assert end == datetime(2024, 3, 31, 22, tzinfo=UTC)
    assert alarm_evaluation.period_start("day", end, madrid) == datetime(2024, 3, 30, 23, tzinfo=UTC)  # a 23-hour day
    hourly = alarms.Alarm(
        user_id=1,
        name="h",
        metric="calls",
        period="hour",
        condition="gt",
        threshold=Decimal(0),
        compare_to="week_before",
        timezone=madrid,
    )
    start, finish, cstart, cend = alarm_evaluation.windows_for(
        hourly, datetime(2024, 4, 2, 8, tzinfo=UTC)
    )  # 10:00 local
    assert (cstart, cend) == (datetime(2024, 3, 26, 8, tzinfo=UTC), datetime(2024, 3, 26, 9, tzinfo=UTC))  # 9:00+01
    kathmandu = alarm_evaluation.latest_end("hour", datetime(2024, 5, 6, 10, 20, tzinfo=UTC), "Asia/Kathmandu")
    assert kathmandu == datetime(2024, 5, 6, 10, 15, tzinfo=UTC)  # 16:00 at +05:45


def test_replay_lists_when_a_five_minute_alarm_would_have_fired(traffic):
    sw = traffic
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    base = alarm_evaluation.latest_end("5m", now - timedelta(hours=3), "UTC")
    calls, bad = [], {base + timedelta(minutes=35), base + timedelta(minutes=90)}
    for k in range(30):  # 30 periods of 5 minutes, 12 calls each, 8 answered except in the bad ones
        period = base + timedelta(minutes=5 * k)
        for i, when in enumerate(spread(period, 300, 12)):
            calls.append(make_call(sw, when, 0 if period in bad or i >= 8 else 40, accountcode="replay"))
    store(calls)
    rule = {
        "name": "replay",
        "metric": "asr",
        "period": "5m",
        "condition": "lt",
        "threshold": "30",
        "scope_kind": "accountcode",
        "scope_value": "replay",
        "min_attempts": "10",
    }
    alarm = alarms.build_alarm(ADMIN, {**rule, "user_id": 1})  # not saved: "test alarm" comes first
    results = alarm_evaluation.replay(alarm, 1, now=now)
    assert sorted(e.period_start for e in results if e.fired) == sorted(bad)
    assert len(results) in (287, 288)  # one day of 5-minute periods
    one = next(e for e in results if e.period_start == base + timedelta(minutes=35))
    assert one == alarm_evaluation.evaluate(alarm, one.period_end, now=now)  # the replay is the job's rule
    assert one.measured == 0 and one.attempts == 12


def test_the_alarm_email_goes_through_the_mail_outbox(traffic, smtp_server):
    alarm = _new_alarm(
        name="mail me",
        metric="calls",
        condition="gt",
        threshold="40",
        email_to="noc@example.com",
        severity="critical",
        accountcode="acc1",
    )
    alarm_evaluation.run_due(now=H2 + DELAY)  # 50 calls in 11:00–12:00
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message.envelope_to == ["noc@example.com"]
    assert message["Subject"].startswith("[Dialstat] [CRITICAL] mail me: Calls 50 > 40")
    body = message.get_body(("plain",)).get_content()
    assert "Measured: 50 over 50 attempts" in body and "Threshold: 40" in body
    alarms.set_status(ADMIN, alarm.id, "inactive")


def test_shell_commands(app, traffic):
    alarm = _new_alarm(name="cli", metric="calls", condition="gt", threshold="0", min_attempts="0", status="inactive")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["test-alarm", str(alarm.id), "--days", "1"])
    assert result.exit_code == 0 and "Calls of all traffic per hour is greater than 0" in result.output
    result = runner.invoke(args=["threats"])
    assert result.exit_code == 0, result.output
