"""Destination alerts: blacklist and whitelist by country or prefix (the whitelist wins), alert remove
prefixes, flagging at import (set-based, same answer as the one-number check), and the notices."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from data.alerting import destination_alerts
from data.core import db
from tests.cdr_factory import UTC
from tests.test_alarm_support import make_call, store, switch


@pytest.fixture(scope="module")
def lists(app):
    destination_alerts.add_rule("blacklist", country_code="KP", description="no North Korea")
    destination_alerts.add_rule("blacklist", prefix="88216", description="Thuraya")
    destination_alerts.add_rule("blacklist", prefix="44", description="UK")
    destination_alerts.add_rule("whitelist", prefix="4420", description="London is fine")
    destination_alerts.add_rule("blacklist", country_code="CU")
    destination_alerts.add_rule("whitelist", country_code="CU", description="a whitelisted country wins too")
    destination_alerts.add_remove_prefix("999", "tech prefix")
    return True


def test_rules_are_checked(lists):
    with pytest.raises(destination_alerts.RuleError):
        destination_alerts.add_rule("blacklist", country_code="KP")  # already there
    with pytest.raises(destination_alerts.RuleError):
        destination_alerts.add_rule("blacklist", country_code="FR", prefix="33")
    with pytest.raises(destination_alerts.RuleError):
        destination_alerts.add_rule("greylist", prefix="33")
    with pytest.raises(destination_alerts.RuleError):
        destination_alerts.add_rule("blacklist", prefix="33a")
    with pytest.raises(destination_alerts.RuleError):
        destination_alerts.add_rule("blacklist", country_code="XX")


@pytest.mark.parametrize(
    "number, country, flagged, reason",
    [
        ("850212345678", "KP", True, "blacklist country KP"),
        ("8821612345678", None, True, "blacklist prefix 88216"),
        ("447700900123", "GB", True, "blacklist prefix 44"),
        ("442079460000", "GB", False, None),  # the whitelisted 4420 wins over the blacklisted 44
        ("5372345678", "CU", False, None),  # a whitelisted country wins over the same blacklisted country
        ("33142278186", "FR", False, None),
        ("9998821612345678", None, True, "blacklist prefix 88216"),  # 999 removed first
        ("999850212345678", "ZZ", True, "blacklist country KP"),  # the country found again after the removal
        ("4420", None, False, None),  # an extension, not a number: prefixes do not apply
    ],
)
def test_one_number(lists, number, country, flagged, reason):
    match = destination_alerts.check_number(number, country)
    assert match.flagged == flagged
    if flagged:
        assert match.blacklisted_by == reason


def test_calls_are_flagged_at_import_and_the_sql_agrees_with_the_check(lists, monkeypatch):
    sw = switch()
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(hours=1)
    numbers = [
        ("850212345678", "KP"),
        ("8821612345678", None),
        ("447700900123", "GB"),
        ("442079460000", "GB"),
        ("5372345678", "CU"),
        ("33142278186", "FR"),
        ("9998821612345678", None),
        ("999850212345678", None),
        ("4420", None),
        ("34650104877", "ES"),
    ]
    calls = []
    for i in range(200):
        number, country = rng.choice(numbers)
        calls.append(
            make_call(
                sw,
                start + timedelta(seconds=i),
                rng.choice([0, 30]),
                normalised_number=number,
                destination_number="00" + number,
                country_code=country,
                accountcode=rng.choice(["x1", "x2", None]),
            )
        )
    counts = []
    store(calls, stage_hook=lambda cur, table: counts.append(destination_alerts.flag_staged_calls(cur, table)))
    stored = db.rows(
        "SELECT normalised_number, country_code, destination_alert, alert_reason FROM cdr WHERE switch_id = :sw", sw=sw
    )
    assert len(stored) == 200
    checked = {}
    for row in stored:
        key = (row["normalised_number"], row["country_code"] and row["country_code"].strip())
        match = checked[key] = checked.get(key) or destination_alerts.check_number(*key)
        assert bool(row["destination_alert"]) == match.flagged, row
        whitelist_hit = match.whitelisted_by if match.blacklisted_by else None  # let through: shown on the call
        assert row["alert_reason"] == (match.blacklisted_by if match.flagged else whitelist_hit)
    assert counts == [sum(1 for r in stored if r["destination_alert"])]
    events = db.rows(
        "SELECT reason, accountcode, sum(calls) AS calls FROM destination_alert_event GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert sum(e["calls"] for e in events) == counts[0]
    assert {e["accountcode"] for e in events} <= {"x1", "x2", ""}
    # Rules changed afterwards: the stored calls can be checked again.
    destination_alerts.add_rule("whitelist", prefix="88216")
    assert destination_alerts.flag_stored_calls(start, start + timedelta(hours=1)) == counts[0] - sum(
        1 for r in stored if r["alert_reason"] == "blacklist prefix 88216"
    )
    assert db.scalar("SELECT count(*) FROM cdr WHERE alert_reason = 'blacklist prefix 88216'") == 0
    # The notices: one per rule, accountcode and hour, to the admins and the extra addresses.
    sent = []
    monkeypatch.setattr(
        "data.core.mailer.queue_mail",
        lambda recipients, subject, text, **kw: sent.append((recipients, subject, kw["dedup_key"])) or len(sent),
    )
    db.execute("UPDATE app_user SET email = 'admin@example.com' WHERE username = 'admin'")
    from data.alerting import alert_settings

    alert_settings.save_settings({"notify_emails": "soc@example.com"}, alert_settings.SETTING_DEFAULTS)
    result = destination_alerts.notify_pending()
    assert result["events"] == len(db.rows("SELECT id FROM destination_alert_event"))
    assert len(sent) == len(events) and all(r == ["admin@example.com", "soc@example.com"] for r, _, _ in sent)
    assert destination_alerts.notify_pending() == {"events": 0, "notifications": 0}


def test_records_of_one_call_are_flagged_each_on_its_own_destination(lists):
    """Several records share a switch, a callid and a start (Asterisk 12+: a queue ringing a member, then a
    forward abroad); only the record that went to a blacklisted number is flagged, at import and again."""
    sw = switch()
    start = datetime.now(UTC) - timedelta(minutes=30)
    records = [
        make_call(sw, start, 30, callid="q-1", record_tag="1", normalised_number="2001", destination_number="2001"),
        make_call(sw, start, 0, callid="q-1", record_tag="2", normalised_number="850212345678", country_code="KP"),
    ]
    store(records, stage_hook=destination_alerts.flag_staged_calls)
    flagged = lambda: {  # noqa: E731
        r["record_tag"]: r["alert_reason"]
        for r in db.rows("SELECT record_tag, alert_reason FROM cdr WHERE switch_id = :sw AND callid = 'q-1'", sw=sw)
    }
    assert flagged() == {"1": None, "2": "blacklist country KP"}
    db.execute("UPDATE cdr SET destination_alert = NULL, alert_reason = NULL WHERE callid = 'q-1'")
    destination_alerts.flag_stored_calls(start - timedelta(minutes=1), start + timedelta(minutes=1))
    assert flagged() == {"1": None, "2": "blacklist country KP"}


def test_nothing_is_flagged_without_a_blacklist(app):
    db.execute("DELETE FROM destination_rule WHERE list = 'blacklist'")
    sw = switch()
    counts = []
    store(
        [make_call(sw, datetime.now(UTC), 10, normalised_number="850212345678", country_code="KP")],
        stage_hook=lambda cur, table: counts.append(destination_alerts.flag_staged_calls(cur, table)),
    )
    assert counts == [0]


def test_the_import_pipeline_flags_blacklisted_calls(app):
    """A real import: the pipeline flags after rating and stores the two columns."""
    from data.ingest import pipeline

    destination_alerts.add_rule("blacklist", country_code="SL")
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    records = [
        {
            "switch": "10.9.9.9",
            "callid": f"wire-{i}",
            "caller_id_number": "100",
            "destination_number": number,
            "starting_date": (when + timedelta(seconds=i)).isoformat(),
            "duration": "30",
            "billsec": "20",
            "hangup_cause_id": "16",
            "accountcode": "wired",
        }
        for i, number in enumerate(["+23276123456", "0023276123457", "+34650104877"])
    ]
    summary = pipeline.import_rows(records, source="test", switch="10.9.9.9")
    assert summary.accepted == 3
    flagged = db.rows(
        "SELECT destination_number, alert_reason FROM cdr WHERE callid LIKE 'wire-%' "
        "AND destination_alert ORDER BY callid"
    )
    assert [r["alert_reason"] for r in flagged] == ["blacklist country SL"] * 2
    assert db.scalar("SELECT calls FROM destination_alert_event WHERE accountcode = 'wired'") == 2
