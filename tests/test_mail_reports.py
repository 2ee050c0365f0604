"""Mailed reports over real calls and a real SMTP server: content equal to SQL over ``cdr``, customer scope,
the admin's per-customer table, the preview equal to the mail, schedules, the dispatcher racing itself."""

from __future__ import annotations

import csv
import io
import random
import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from data.core import db
from data.mail import reports
from data.mail.reports import period_containing, report_period
from tests.cdr_factory import ensure_switch, insert_calls, random_calls
from tests.conftest import login
from tests.dash_client import dash_call

TZ = "Europe/Madrid"


@pytest.fixture(scope="module")
def world(app):
    """Two customers and an admin; calls yesterday (local), the day before and a week before."""
    alice = reports.report_user(_make("alice", "alice@example.com", ("ACC-A",)))
    bob = reports.report_user(_make("bob", "bob@example.com", ("ACC-B",)))
    db.execute("UPDATE app_user SET email = 'boss@example.com', timezone = :tz WHERE username = 'admin'", tz=TZ)
    admin = reports.report_user_by_name("admin")
    switch = ensure_switch()
    rng = random.Random(6)
    day = reports.local_today(TZ) - timedelta(days=1)
    start = datetime.combine(day - timedelta(days=7), time.min, ZoneInfo(TZ))
    calls = random_calls(900, [switch], start, 8, rng, accounts=[("ACC-A", alice.id), ("ACC-B", bob.id), ("", None)])
    insert_calls(calls)
    return {"alice": alice, "bob": bob, "admin": admin, "day": day}


def _make(username, email, codes):
    from data.admin import users

    return users.create_user(username, "pass-word-1", "customer", email=email, timezone=TZ, accountcodes=codes).id


def _bounds(day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(TZ)
    return (datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone))


def _sql_totals(day: date, user_id: int | None) -> dict:
    start, end = _bounds(day)
    return db.rows(
        """SELECT count(*) AS calls, count(*) FILTER (WHERE answered_date IS NOT NULL OR billsec > 0) AS answered,
                  COALESCE(sum(billsec), 0) AS billsec, COALESCE(sum(sell_cost), 0) AS sell,
                  COALESCE(sum(buy_cost), 0) AS buy
           FROM cdr WHERE starting_date >= :s AND starting_date < :e AND (CAST(:u AS int) IS NULL OR user_id = :u)""",
        s=start,
        e=end,
        u=user_id,
    )[0]


def _parts(message) -> dict:
    found = {}
    for part in message.walk():
        if not part.is_multipart():
            key = part.get_filename() if part.get_content_disposition() == "attachment" else part.get_content_type()
            found[key] = part
    return found


def _csv_rows(message) -> list[dict]:
    attachment = next(p for p in message.walk() if p.get_content_disposition() == "attachment")
    assert attachment.get_content_type() == "text/csv"
    return list(csv.DictReader(io.StringIO(attachment.get_payload(decode=True).decode())))


def _check_kpis(row: dict, expected: dict, cost_key: str) -> None:
    assert int(row["calls"]) == expected["calls"]
    assert int(row["answered"]) == expected["answered"]
    assert Decimal(row["minutes"]) == round(Decimal(expected["billsec"]) / 60, 2)
    assert Decimal(row["cost"]) == round(Decimal(expected[cost_key]), 5)
    if expected["calls"]:
        assert Decimal(row["asr"]) == round(Decimal(expected["answered"]) / expected["calls"], 4)


def test_customer_daily_report(world, smtp_server):
    alice, day = world["alice"], world["day"]
    reports.save_mail_settings(alice.id, ["alice.boss@example.com"], ["daily"])
    alice = reports.report_user(alice.id)
    result = reports.send_report_now(alice, "daily")
    assert result["state"]["sent_at"] is not None
    [mail] = smtp_server.messages
    assert sorted(mail.envelope_to) == ["alice.boss@example.com", "alice@example.com"]
    assert mail["Subject"] == f"[Dialstat] Daily report {day.isoformat()} (alice)"
    parts = _parts(mail)
    html, text = parts["text/html"].get_content(), parts["text/plain"].get_content()
    assert parts["image/png"].get_payload(decode=True).startswith(b"\x89PNG")
    assert f'src="cid:{reports.CHART_CID}"' in html
    assert parts["image/png"]["Content-ID"] == "<traffic-chart@dialstat>"
    assert f"dialstat-daily-{day.isoformat()}-alice.csv" in parts

    rows = _csv_rows(mail)
    expected = _sql_totals(day, alice.id)
    assert expected["calls"] > 20
    total = next(r for r in rows if r["section"] == "total")
    _check_kpis(total, expected, "sell")  # a customer's cost is what they are charged
    assert "revenue" not in total and "margin" not in total
    before, week = [r for r in rows if r["section"] == "comparison"]
    _check_kpis(before, _sql_totals(day - timedelta(days=1), alice.id), "sell")
    _check_kpis(week, _sql_totals(day - timedelta(days=7), alice.id), "sell")
    assert sum(int(r["calls"]) for r in rows if r["section"] == "status") == expected["calls"]
    assert next(r for r in rows if r["section"] == "status" and r["label"] == "Answered")["calls"] == str(
        expected["answered"]
    )
    assert sum(int(r["calls"]) for r in rows if r["section"] == "hangup_cause") == expected["calls"]
    assert sum(int(r["calls"]) for r in rows if r["section"] == "hour") == expected["calls"]
    assert not [r for r in rows if r["section"] == "customer"]

    start, end = _bounds(day)
    countries = db.rows(
        """SELECT COALESCE(c.name, 'Unknown') AS name, count(*) AS calls FROM cdr
                           LEFT JOIN country c ON c.code = cdr.country_code
                           WHERE user_id = :u AND starting_date >= :s AND starting_date < :e
                           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5""",
        u=alice.id,
        s=start,
        e=end,
    )
    assert [(r["label"], int(r["calls"])) for r in rows if r["section"] == "country"] == [
        (c["name"], c["calls"]) for c in countries
    ]

    last = db.rows(
        """SELECT destination_number, starting_date AT TIME ZONE :tz AS t FROM cdr
                      WHERE user_id = :u AND starting_date >= :s AND starting_date < :e
                      ORDER BY starting_date DESC, id DESC LIMIT 10""",
        tz=TZ,
        u=alice.id,
        s=start,
        e=end,
    )
    for call in last:
        assert f"{call['t']:%Y-%m-%d %H:%M:%S}" in html and f"{call['t']:%Y-%m-%d %H:%M:%S}" in text
    # only alice's calls: bob's and the unowned calls' times of that day are nowhere
    others = db.rows(
        """SELECT starting_date AT TIME ZONE :tz AS t FROM cdr WHERE user_id IS DISTINCT FROM :u
                        AND starting_date >= :s AND starting_date < :e""",
        tz=TZ,
        u=alice.id,
        s=start,
        e=end,
    )
    assert not any(f"{o['t']:%Y-%m-%d %H:%M:%S}" in html for o in others)
    assert "Per customer" not in html and "bob" not in html and "bob" not in text
    assert f"{expected['calls']:,}" in text and "Last 10 calls" in text and "Top 5 countries" in text
    assert (
        f'<td style="padding:4px 8px;border-bottom:1px solid #dee2e6;text-align:right;white-space:nowrap;">'
        f"{expected['calls']:,}</td>" in html
    )


def test_admin_daily_report_has_everything_and_a_table_per_customer(world, smtp_server, app):
    day = world["day"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-daily-report", "--user", "admin"])
    assert result.exit_code == 0, result.output
    assert f"admin: daily report {day.isoformat()} to boss@example.com: sent (250 2.0.0" in result.output
    [mail] = smtp_server.messages
    assert mail["Subject"] == f"[Dialstat] Daily report {day.isoformat()} (all customers)"
    rows = _csv_rows(mail)
    expected = _sql_totals(day, None)
    total = next(r for r in rows if r["section"] == "total")
    _check_kpis(total, expected, "buy")
    assert Decimal(total["revenue"]) == round(Decimal(expected["sell"]), 5)
    customers = {r["label"]: int(r["calls"]) for r in rows if r["section"] == "customer"}
    assert customers == {
        "alice": _sql_totals(day, world["alice"].id)["calls"],
        "bob": _sql_totals(day, world["bob"].id)["calls"],
        "(no customer)": expected["calls"]
        - _sql_totals(day, world["alice"].id)["calls"]
        - _sql_totals(day, world["bob"].id)["calls"],
    }
    html = _parts(mail)["text/html"].get_content()
    assert "Per customer" in html and "alice" in html and "bob" in html


def test_send_daily_report_for_a_given_date(world, smtp_server, app):
    day = world["day"] - timedelta(days=7)
    result = app.test_cli_runner().invoke(args=["send-daily-report", "--user", "bob", "--date", day.isoformat()])
    assert result.exit_code == 0, result.output
    [mail] = smtp_server.messages
    assert mail["Subject"] == f"[Dialstat] Daily report {day.isoformat()} (bob)"
    total = next(r for r in _csv_rows(mail) if r["section"] == "total")
    _check_kpis(total, _sql_totals(day, world["bob"].id), "sell")


def test_report_goes_out_without_the_chart_when_it_cannot_be_drawn(world, smtp_server, monkeypatch):
    import data.mail.render

    def broken(_data):
        raise RuntimeError("no renderer")

    monkeypatch.setattr(data.mail.render, "render_chart_png", broken)
    reports.send_report_now(world["bob"], "daily")
    [mail] = smtp_server.messages
    parts = _parts(mail)
    assert "image/png" not in parts and "<img" not in parts["text/html"].get_content()
    assert "could not be drawn" in parts["text/html"].get_content()
    assert f"dialstat-daily-{world['day'].isoformat()}-bob.csv" in parts


def test_preview_is_the_mailed_html(world, smtp_server, app):
    client = app.test_client()
    login(client, "alice", "pass-word-1")
    preview = dash_call(client, "preview_mail_report", ["daily"])[("mail-report-preview", "srcDoc")]
    reports.send_report_now(reports.report_user(world["alice"].id), "daily", flood_control=False)
    mailed = _parts(smtp_server.messages[-1])["text/html"].get_content()
    assert preview.count('src="data:image/png;base64,') == 1
    start = preview.index('src="data:image/png;base64,') + len('src="')
    image_ref = preview[start : preview.index('"', start)]
    # equal but for the image's source, and for the line breaks that SMTP carries as CRLF
    assert preview.replace(image_ref, "IMAGE") == mailed.replace("\r\n", "\n").replace(
        f"cid:{reports.CHART_CID}", "IMAGE"
    )


def test_mail_report_page_in_a_browser(world, page, smtp_server):
    from tests.conftest import browser_login

    browser_login(page, "alice", "pass-word-1")
    page.goto("/mail-report")
    frame = page.frame_locator("#mail-report-preview")
    frame.locator("h1").wait_for(timeout=20_000)
    assert frame.locator("h1").inner_text() == f"Daily report · {period_containing('daily', world['day']).label}"
    assert frame.locator("img").evaluate("img => img.complete && img.naturalWidth") == 680  # the chart shows
    assert "Outbox" not in page.locator("#navbar-collapse").inner_text()  # admins only
    page.click("#mail-report-send")
    page.wait_for_selector("#mail-report-send-status .alert")
    assert "Sent to alice@example.com" in page.locator("#mail-report-send-status").inner_text()
    assert [m["Subject"] for m in smtp_server.messages] == [
        f"[Dialstat] Daily report {world['day'].isoformat()} (alice)"
    ]
    assert page.console_errors == []


def test_settings_page_edits_only_the_own_settings(world, app):
    client = app.test_client()
    login(client, "bob", "pass-word-1")
    saved = dash_call(client, "save_mail_report_settings", [1], ["bob2@example.com\nnot-an-address", ["daily"]])
    assert "not an e-mail address: not-an-address" in str(saved)
    saved = dash_call(
        client, "save_mail_report_settings", [1], ["bob2@example.com, bob3@example.com", ["weekly", "monthly", "bogus"]]
    )
    assert "Saved" in str(saved)
    bob = reports.report_user(world["bob"].id)
    assert bob.report_emails == ("bob2@example.com", "bob3@example.com")
    assert reports.schedules_of(bob.id) == {"daily": False, "weekly": True, "monthly": True}
    assert reports.report_user(world["alice"].id).report_emails != ("bob2@example.com", "bob3@example.com")
    reports.save_mail_settings(bob.id, [], ["daily"])


def test_send_now_from_the_page_has_flood_control(world, app, smtp_server):
    client = app.test_client()
    login(client, "bob", "pass-word-1")
    first = dash_call(client, "send_mail_report_now", [1], ["weekly"])
    second = dash_call(client, "send_mail_report_now", [2], ["weekly"])
    assert "Sent to bob@example.com" in str(first)
    assert "less than a minute ago" in str(second) or "Sent to" in str(second)  # a new minute may have begun
    assert all(m.envelope_to == ["bob@example.com"] for m in smtp_server.messages)
    assert smtp_server.messages[0]["Subject"].startswith("[Dialstat] Weekly report ")


def test_periods():
    assert report_period("daily", date(2026, 3, 1)) == period_containing("daily", date(2026, 2, 28))
    week = report_period("weekly", date(2026, 11, 18))  # a Wednesday
    assert (week.first, week.last, week.short) == (date(2026, 11, 9), date(2026, 11, 15), "2026-W46")
    assert report_period("weekly", date(2026, 11, 16)).first == date(2026, 11, 9)  # Monday: last week
    month = report_period("monthly", date(2026, 3, 1))
    assert (month.first, month.last, month.short) == (date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert report_period("monthly", date(2026, 1, 15)).first == date(2025, 12, 1)
    assert [p.first for _, p in month.comparisons()] == [date(2026, 1, 1), date(2025, 2, 1)]


def test_dispatcher_sends_each_report_once_per_period_after_six(world, smtp_server):
    alice = world["alice"]
    reports.save_mail_settings(alice.id, [], ["daily", "weekly"])
    db.execute("UPDATE app_user SET is_active = false WHERE id <> :id", id=alice.id)
    try:
        zone = ZoneInfo(TZ)
        today = world["day"] + timedelta(days=1)
        early = datetime.combine(today, time(5, 59), zone)
        assert reports.dispatch_reports(early) == {"queued": 0, "already_queued": 0}
        at_seven = datetime.combine(today, time(7, 0), zone)
        assert reports.dispatch_reports(at_seven) == {"queued": 2, "already_queued": 0}
        assert reports.dispatch_reports(at_seven + timedelta(hours=3)) == {"queued": 0, "already_queued": 0}
        subjects = sorted(m["Subject"] for m in smtp_server.messages)
        week = report_period("weekly", today)
        assert subjects == [
            f"[Dialstat] Daily report {world['day'].isoformat()} (alice)",
            f"[Dialstat] Weekly report {week.short} (alice)",
        ]
        keys = {r["dedup_key"] for r in db.rows("SELECT dedup_key FROM mail_outbox WHERE dedup_key LIKE 'report:%'")}
        assert keys == {
            f"report:{alice.id}:daily:{world['day'].isoformat()}",
            f"report:{alice.id}:weekly:{week.first.isoformat()}",
        }
    finally:
        db.execute("UPDATE app_user SET is_active = true")


def test_two_dispatchers_racing_queue_one_mail(world, smtp_server):
    bob = world["bob"]
    reports.save_mail_settings(bob.id, [], ["daily"])
    db.execute("UPDATE app_user SET is_active = false WHERE id <> :id", id=bob.id)
    try:
        now = datetime.combine(world["day"] + timedelta(days=1), time(8, 0), ZoneInfo(TZ))
        barrier = threading.Barrier(3)
        results, errors = [], []

        def dispatcher():
            barrier.wait()
            try:
                results.append(reports.dispatch_reports(now))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=dispatcher) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sum(r["queued"] for r in results) == 1
        assert [m["Subject"] for m in smtp_server.messages] == [
            f"[Dialstat] Daily report {world['day'].isoformat()} (bob)"
        ]
    finally:
        db.execute("UPDATE app_user SET is_active = true")


@pytest.fixture(autouse=True)
def _empty_outbox():
    db.execute("DELETE FROM mail_outbox")
    yield
