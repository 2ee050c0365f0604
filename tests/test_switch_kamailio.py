"""Real calls through a real switch: Kamailio 5.6 running docs/switches/kamailio.cfg unchanged, SIPp callers and
a SIPp carrier on loopback, the CDRs Kamailio's acc module writes collected with
docs/switches/kamailio-collector.sqlite.yaml, then checked in the store, on the dashboard's callback and the API.

The calls (12): answered and held 2 s (3, to Spain) and 4 s (2, to the UK), one answered after ringing 3 s
(France), 486 (2), 404, 503, and 2 cancelled after ringing 1.5 s (487).
"""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal

import pytest
import yaml

from data.core import db
from data.ingest import collectors
from tests.dash_client import dash_call
from tests.switch_processes import ROOT, Kamailio, sipp_uac, sipp_uas, stop

SWITCH_DOCS = ROOT / "docs" / "switches"
CALLS = 12


def sqlite_cdr_store(path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript((SWITCH_DOCS / "kamailio-cdr.sqlite.sql").read_text())


def collector_config(tmp_path, cdr_file) -> object:
    """The documented collector yaml, pointed at the test's file."""
    config = yaml.safe_load((SWITCH_DOCS / "kamailio-collector.sqlite.yaml").read_text())
    config["db_file"] = str(cdr_file)
    path = tmp_path / "kamailio-test.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for_rows(cdr_file, count: int, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    found = 0
    while time.monotonic() < deadline:
        with sqlite3.connect(cdr_file) as conn:
            found = conn.execute("SELECT count(*) FROM dialstat_cdr").fetchone()[0]
        if found >= count:
            return found
        time.sleep(0.2)
    return found


@pytest.fixture(scope="module")
def kamailio_calls(app, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kamailio")
    cdr_file = folder / "cdr.sqlite"
    sqlite_cdr_store(cdr_file)
    uas, uas_port = sipp_uas(folder)
    # One SIP worker: SQLite takes one writer at a time, and Kamailio's db_sqlite does not wait for a lock.
    kamailio = Kamailio(folder, f"sqlite:///{cdr_file}", uas_port, ("SHM_CHILDREN=1",))
    callers = []
    try:
        kamailio.start()
        port = kamailio.sip_port
        callers = [
            sipp_uac(folder, port, "uac_answered", "34911234567", "answer", calls=3, hold_ms=2000),
            sipp_uac(folder, port, "uac_answered", "442071234567", "answer", calls=2, hold_ms=4000),
            sipp_uac(folder, port, "uac_answered", "33142345678", "ring", hold_ms=1000, account="beta"),
            sipp_uac(folder, port, "uac_failed", "33142345679", "486", calls=2, account="beta"),
            sipp_uac(folder, port, "uac_failed", "33142345680", "404", account="beta"),
            sipp_uac(folder, port, "uac_failed", "33142345681", "503", account="beta"),
            sipp_uac(folder, port, "uac_cancel", "33142345682", "cancel", calls=2, hold_ms=1500, account="beta"),
        ]
        results = [caller.wait(60) for caller in callers]
        logs = {p.name: p.read_text(errors="replace")[-1500:] for p in folder.glob("uac-*errors.log")}
        assert results == [0] * len(callers), logs
        assert wait_for_rows(cdr_file, CALLS) == CALLS, kamailio.log()[-3000:]
        errors = [line for line in kamailio.log().splitlines() if " ERROR: " in line]
        assert errors == []  # no CDR write failed, no malformed SIP message
        summary = collectors.collect(collector_config(folder, cdr_file))
        yield {"summary": summary, "cdr_file": cdr_file, "folder": folder}
    finally:
        for caller in callers:
            stop(caller)
        kamailio.stop()
        stop(uas)


def test_every_call_is_collected_once(kamailio_calls, tmp_path):
    summary = kamailio_calls["summary"]
    assert (summary.accepted, summary.duplicates, summary.rejected) == (CALLS, 0, 0)
    again = collectors.collect(collector_config(tmp_path, kamailio_calls["cdr_file"]))
    assert (again.accepted, again.duplicates, again.rejected) == (0, 0, 0)  # the high-water mark held
    assert db.scalar("SELECT count(*) FROM cdr") == CALLS


def _calls() -> list[dict]:
    return db.rows(
        """SELECT destination_number, hangup_cause_id, billsec, duration, accountcode,
                  extract(epoch FROM answered_date - starting_date) AS ring,
                  extradata->>'sip_code' AS sip_code, c.country_code
             FROM cdr c ORDER BY destination_number, callid"""
    )


def test_sip_answers_become_q850_causes_through_the_sip_map(kamailio_calls):
    expected_sip = {"34911234567": "200", "442071234567": "200", "33142345678": "200", "33142345679": "486"}
    expected_sip |= {"33142345680": "404", "33142345681": "503", "33142345682": "487"}
    mapped = {r["sip_code"]: r["q850_code"] for r in db.rows("SELECT sip_code::text, q850_code FROM sip_cause")}
    # RFC 3398 8.2.6.1: 404 -> 1 (unallocated number), 486 -> 17 (user busy), 503 -> 41 (temporary failure)
    assert (mapped["404"], mapped["486"], mapped["503"]) == (1, 17, 41)
    for call in _calls():
        number = call["destination_number"]
        sip = expected_sip[number]
        if sip == "200":
            assert call["hangup_cause_id"] == 16, call
        else:
            assert call["sip_code"] == sip, call
            cause = mapped.get(sip, mapped.get(sip[0] + "00", 41))
            assert call["hangup_cause_id"] == cause, call
    by_cause = {
        r["hangup_cause_id"]: r["n"] for r in db.rows("SELECT hangup_cause_id, count(*) AS n FROM cdr GROUP BY 1")
    }
    assert by_cause == {16: 6, 17: 2, 1: 1, 41: 1, 487: 2}  # 487: FreeSWITCH's ORIGINATOR_CANCEL (no RFC 3398 row)


def test_billsec_and_post_dial_delay_within_a_second(kamailio_calls):
    held = {"34911234567": 2, "442071234567": 4, "33142345678": 1}
    calls = _calls()
    answered = [c for c in calls if c["destination_number"] in held]
    assert len(answered) == 6
    for call in answered:
        assert abs(call["billsec"] - held[call["destination_number"]]) <= 1, call
    (long_ring,) = [c for c in calls if c["destination_number"] == "33142345678"]
    assert abs(float(long_ring["ring"]) - 3) <= 1, long_ring  # the carrier rang 3 s before answering
    for call in calls:
        if call["destination_number"] not in held:
            assert call["billsec"] == 0, call
    cancelled = [c for c in calls if c["destination_number"] == "33142345682"]
    assert all(abs(c["duration"] - 1.5) <= 1 for c in cancelled), cancelled
    countries = {c["destination_number"][:2]: c["country_code"] for c in calls}
    assert countries == {"34": "ES", "44": "GB", "33": "FR"}, countries


def _expected_kpis() -> dict:
    calls = _calls()
    answered = [c for c in calls if c["hangup_cause_id"] == 16]
    ner_causes = {r["code"] for r in db.rows("SELECT code FROM hangup_cause WHERE ner_success")}
    return {
        "asr": Decimal(len(answered)) / len(calls),
        "acd": Decimal(sum(c["billsec"] for c in answered)) / len(answered),
        "ner": Decimal(sum(1 for c in calls if c["hangup_cause_id"] in ner_causes)) / len(calls),
    }


def test_asr_acd_ner_on_the_dashboard_and_the_api(kamailio_calls, admin_client, client):
    expected = _expected_kpis()
    assert expected["asr"] == Decimal("0.5")
    result = dash_call(admin_client, "refresh_dashboard", [None, None, None, None])
    assert result[("kpi-calls", "children")] == str(CALLS)
    assert result[("kpi-asr", "children")] == "50.0 %"
    assert result[("kpi-acd", "children")] == f"{expected['acd']:.0f} s"
    assert result[("kpi-ner", "children")] == f"{expected['ner'] * 100:.1f} %"

    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-secret").decode()}
    body = client.get("/api/v1/kpis", headers=auth).get_json()
    totals = body["totals"]
    assert totals["calls"] == CALLS and totals["answered"] == 6
    assert totals["asr"] == pytest.approx(float(expected["asr"]), abs=1e-4)
    assert totals["acd"] == pytest.approx(float(expected["acd"]), abs=0.05)
    assert totals["ner"] == pytest.approx(float(expected["ner"]), abs=1e-4)
