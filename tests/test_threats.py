"""Threat control: each detector on traffic built to cross and not cross its limit, the ranking (how far
over the limit, then cost at risk; unrated calls shown as such), the columns counting the calls the
description counts, the links to the CDR search, and the job (recorded once per hour, notified)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest

from components.alarms import at_risk_cell
from data.alerting import threat_detectors, threats
from data.core import db
from tests.cdr_factory import UTC
from tests.test_alarm_support import make_call, spread, store, switch

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
S = dict(threats.DEFAULTS)


@pytest.fixture(scope="module")
def sw(app):
    return switch("threat-sw", "10.8.0.1")


def subjects(found) -> set[str]:
    return {t.subject for t in found}


def calls(sw, start, seconds, n, billsec=60, **extra):
    return [make_call(sw, when, billsec, **extra) for when in spread(start, seconds, n)]


def test_velocity_per_accountcode_and_country(sw):
    recent = NOW - timedelta(minutes=4)
    store(
        calls(sw, recent, 240, 160, accountcode="vel-fast", country_code="ES")  # 160 calls in 5 min > 150
        + calls(sw, recent, 240, 140, accountcode="vel-slow", country_code="ES")  # 140 < 150
        + calls(sw, recent, 240, 35, billsec=600, accountcode="vel-long", country_code="ES")
    )  # 350 min > 300
    found = threat_detectors.velocity(NOW, S)
    assert {"accountcode vel-fast", "accountcode vel-long"} <= subjects(found)
    assert "accountcode vel-slow" not in subjects(found)
    fast = next(t for t in found if t.subject == "accountcode vel-fast")
    assert fast.score == pytest.approx(160 / 150) and "160 calls in the last 5 minutes" in fast.detail
    long = next(t for t in found if t.subject == "accountcode vel-long")
    assert "minutes" in long.title
    # Per destination country: 335 calls to Spain in 5 minutes, above a limit of 300, not of 400.
    assert "country ES" in subjects(threat_detectors.velocity(NOW, {**S, "velocity_country_calls_5": 300}))
    assert "country ES" not in subjects(threat_detectors.velocity(NOW, {**S, "velocity_country_calls_5": 400}))
    assert "accountcode vel-fast" not in subjects(
        threat_detectors.velocity(NOW, {**S, "velocity_accountcode_calls_5": 0})
    )


def test_spike_against_the_same_hour_of_previous_days(sw):
    end = threat_detectors._floor_quarter(NOW)
    start = end - timedelta(hours=1)
    rows = []
    for k in range(0, 11):
        day = start - timedelta(days=k)
        rows += calls(sw, day, 3600, 10 + k % 3, accountcode="spk-up")  # 10..12 calls a day
        rows += calls(sw, day, 3600, 100, accountcode="spk-steady")  # the same every day: no spike
    rows += calls(sw, start + timedelta(seconds=1), 3500, 90, accountcode="spk-up")  # now: 100 or so
    store(rows)
    found = threat_detectors.spike(NOW, S)
    assert "accountcode spk-up" in subjects(found) and "accountcode spk-steady" not in subjects(found)
    up = next(t for t in found if t.subject == "accountcode spk-up")
    assert "median of 11" in up.detail and up.score >= 1
    median, mad, score = threat_detectors.robust_score(100, [10, 11, 12, 10, 11, 12, 10, 11, 12, 10])
    assert (median, mad) == (11, 1) and score == pytest.approx((100 - 11) / (1.4826 * 1.1))
    assert "accountcode spk-up" not in subjects(threat_detectors.spike(NOW, {**S, "spike_min_calls": 150}))
    assert "accountcode spk-up" not in subjects(threat_detectors.spike(NOW, {**S, "spike_ratio": 10}))


def test_new_destination_country(sw):
    rows = []
    for k in range(2, 12):  # ten days of history to Spain
        rows += calls(sw, NOW - timedelta(days=k), 600, 3, accountcode="nc-old", country_code="ES")
        rows += calls(sw, NOW - timedelta(days=k), 600, 3, accountcode="nc-few", country_code="ES")
    for k in range(2, 5):  # 30 calls, but on three days only: not enough history to call anything new
        rows += calls(sw, NOW - timedelta(days=k), 600, 10, accountcode="nc-short", country_code="ES")
    rows += calls(sw, NOW - timedelta(hours=5), 600, 6, accountcode="nc-old", country_code="JP")  # new
    rows += calls(sw, NOW - timedelta(hours=5), 600, 6, accountcode="nc-old", country_code="ES")  # known
    rows += calls(sw, NOW - timedelta(hours=5), 600, 4, accountcode="nc-few", country_code="JP")  # too few calls
    rows += calls(sw, NOW - timedelta(hours=5), 600, 9, accountcode="nc-short", country_code="JP")
    rows += calls(sw, NOW - timedelta(hours=5), 600, 9, accountcode="nc-fresh", country_code="JP")  # no history
    store(rows)
    found = threat_detectors.new_country(NOW, S)
    candidates = {
        f"accountcode {a} to {c}"
        for a, c in (("nc-old", "JP"), ("nc-old", "ES"), ("nc-few", "JP"), ("nc-short", "JP"), ("nc-fresh", "JP"))
    }
    assert subjects(found) & candidates == {"accountcode nc-old to JP"}
    assert "Japan" in next(t for t in found if t.subject == "accountcode nc-old to JP").title
    assert subjects(threat_detectors.new_country(NOW, {**S, "new_country_min_calls": 7})) & candidates == set()


def test_high_cost_destinations(sw):
    threat_detectors.add_high_cost_prefix("4470", "UK personal numbers")
    at = NOW - timedelta(hours=2)
    store(
        calls(sw, at, 60, 4, accountcode="hc", normalised_number="449001234567", sell_rate=Decimal("1.5"))
        + calls(sw, at, 60, 3, accountcode="hc", normalised_number="881631234567", sell_rate=Decimal("6"))
        + calls(sw, at, 60, 3, accountcode="hc", normalised_number="447012345678")
        + calls(sw, at, 60, 5, accountcode="hc", normalised_number="34901123456")  # shared cost
        + calls(sw, at, 60, 2, accountcode="hc2", normalised_number="33899123456")  # premium, 2 calls
        + calls(sw, at, 60, 20, accountcode="hc", normalised_number="34650104877")
    )  # an ordinary mobile
    report = {
        (r["accountcode"], r["category"]): r for r in threat_detectors.high_cost_report(NOW - timedelta(hours=24), NOW)
    }
    assert set(report) == {
        ("hc", "premium rate"),
        ("hc", "satellite"),
        ("hc", "admin list 4470"),
        ("hc", "shared cost"),
        ("hc2", "premium rate"),
    }
    assert report[("hc", "satellite")]["calls"] == 3 and report[("hc", "satellite")]["at_risk"] == 18  # 3 min × 6
    assert report[("hc", "premium rate")]["minutes"] == 4
    found = threat_detectors.high_cost(NOW, S)
    assert subjects(found) == {
        "accountcode hc premium rate",
        "accountcode hc satellite",
        "accountcode hc admin list 4470",
        "accountcode hc shared cost",
    }
    # The columns count the calls the description counts (those to the category's numbers), not every call of
    # the accountcode (it made 20 ordinary calls more); calls without a price are counted, not priced at 0.
    ranked = {t.subject: t for t in threats.detect(NOW, kinds={"high_cost"})}
    premium = ranked["accountcode hc premium rate"]
    assert premium.detail.startswith("4 call(s), 4 min") and (premium.calls, premium.minutes) == (4, 4)
    personal = ranked["accountcode hc admin list 4470"]
    assert (personal.calls, personal.cost_at_risk, personal.unrated_calls) == (3, 0, 3)
    cell = at_risk_cell(personal.as_dict())
    assert cell.children == "unrated"
    assert list(ranked) == [t.subject for t in sorted(ranked.values(), key=threats.rank_key)]
    assert (
        threat_detectors.number_category("8821612345678") == "satellite"
        and threat_detectors.number_category("34650104877") is None
    )


def test_short_call_bursts_and_repeated_numbers(sw):
    recent = NOW - timedelta(minutes=10)
    store(
        calls(sw, recent, 540, 40, billsec=2, accountcode="sb")  # 40 short of 45 answered
        + calls(sw, recent, 540, 5, billsec=90, accountcode="sb")
        + calls(sw, recent, 540, 40, billsec=2, accountcode="sb-mixed")  # 40 short of 100 answered
        + calls(sw, recent, 540, 60, billsec=90, accountcode="sb-mixed")
        + calls(sw, recent, 540, 20, billsec=2, accountcode="sb-few")
        + calls(sw, NOW - timedelta(hours=2), 7000, 60, accountcode="rp", normalised_number="447700900999")
        + calls(sw, NOW - timedelta(hours=2), 7000, 45, accountcode="rp", normalised_number="447700900111")
    )
    bursts = threat_detectors.short_burst(NOW, S)
    assert subjects(bursts) & {"accountcode sb", "accountcode sb-mixed", "accountcode sb-few"} == {"accountcode sb"}
    repeated = threat_detectors.repeat_number(NOW, S)
    assert subjects(repeated) & {"number 447700900999", "number 447700900111"} == {"number 447700900999"}
    link = threats.cdr_search_link(next(t for t in repeated if t.subject == "number 447700900999"), "Europe/Paris")
    query = parse_qs(urlparse(link).query)
    assert link.startswith("/cdrs?") and query["dst"] == ["447700900999"] and query["dst_op"] == ["ends"]
    assert query["accountcode"] == ["rp"] and set(query) >= {"start", "end", "from", "to"}
    burst_link = parse_qs(urlparse(threats.cdr_search_link(bursts[0])).query)
    assert burst_link["answered"] == ["1"] and burst_link["billsec_op"] == ["le"]


def test_ranked_by_how_far_over_the_limit_then_cost_at_risk_and_the_job_records_and_notifies_once(sw, monkeypatch):
    found = threats.detect(NOW)
    assert [threats.rank_key(t) for t in found] == sorted(threats.rank_key(t) for t in found)
    satellite = next(t for t in found if t.subject == "accountcode hc satellite")
    assert satellite.cost_at_risk == 18  # minutes × sell rate of the satellite calls
    sent = []
    monkeypatch.setattr(
        "data.core.mailer.queue_mail", lambda recipients, subject, text, **kw: sent.append(subject) or 1
    )
    db.execute("UPDATE app_user SET email = 'admin@example.com' WHERE username = 'admin'")
    first = threats.run_job(NOW)
    again = threats.run_job(NOW + timedelta(seconds=1))  # the same hour: flood control
    assert first["new"] == len(found) and again["new"] == 0 and len(sent) == len(found)
    assert db.scalar("SELECT count(*) FROM threat_event") == len(found)
    assert len(threats.history()) == len(found)
