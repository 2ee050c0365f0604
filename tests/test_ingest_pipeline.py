"""The import pipeline: exact summaries, precise reject reasons, time zones, owners, dry runs, fast path."""

from decimal import Decimal

import pytest
from sqlalchemy import text

from data.core import db
from data.ingest import import_file, import_rows
from data.ingest.formats import FAST_CHUNK_BYTES
from tests.ingest_helpers import SAMPLES, calls, reset_calls

MIXED_REJECTS = [
    (7, "starting_date 'yesterday' is not a date"),
    (9, "expected 25 fields, found 24"),
    (10, "duration 'abc' is not a number of seconds"),
    (11, "callid is missing"),
    (12, "extradata is not a JSON object"),
    (14, "starting_date '2024-02-30 10:00:00' is not a date"),
    (15, "direction '3' is not 1 (inbound) or 2 (outbound)"),
]


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()


def test_a_file_of_good_duplicate_and_broken_rows(make_user):
    make_user("acme", accountcodes=("acme-01", "acme-02"))
    summary = import_file(SAMPLES / "cdr_stats_mixed.csv")
    assert summary.line() == "accepted=6 duplicates=1 rejected=7"
    assert summary.rows_read == 14 == summary.accepted + summary.duplicates + summary.rejected
    assert summary.reject_samples == MIXED_REJECTS

    stored = db.rows(
        "SELECT lineno, raw, reason FROM import_reject WHERE import_id = :id ORDER BY lineno", id=summary.import_id
    )
    assert [(r["lineno"], r["reason"]) for r in stored] == MIXED_REJECTS
    lines = (SAMPLES / "cdr_stats_mixed.csv").read_text().splitlines()
    assert [r["raw"] for r in stored] == [lines[n - 1] for n, _ in MIXED_REJECTS]

    batch = db.rows(
        "SELECT rows_read, accepted, duplicates, rejected, status FROM import_batch WHERE id = :id",
        id=summary.import_id,
    )[0]
    assert batch == {"rows_read": 14, "accepted": 6, "duplicates": 1, "rejected": 7, "status": "done"}

    got = {k: (c["country_code"], c["normalised_number"]) for k, c in calls().items()}
    assert got == {
        "mix-0001": ("GB", "442079460123"),
        "mix-0002": ("FR", "33142685300"),
        "mix-0003": ("DE", "4915112345678"),
        "mix-0004": ("US", "12125550123"),
        "mix-0005": ("ES", "34650104877"),
        "mix-0010": ("FR", "33612345678"),
    }
    stored_calls = calls()
    assert str(stored_calls["mix-0005"]["starting_date"]) == "2024-03-04 08:20:00+00:00"  # +01:00 offset kept
    assert stored_calls["mix-0010"]["extradata"] == {"codec": "PCMA", "note": "a, b"}
    assert stored_calls["mix-0003"]["sell_cost"] == Decimal("0.03")
    acme = db.scalar("SELECT id FROM app_user WHERE username = 'acme'")
    assert {k: c["user_id"] for k, c in stored_calls.items() if c["accountcode"].startswith("acme")} == {
        "mix-0001": acme,
        "mix-0002": acme,
        "mix-0003": acme,
    }
    assert stored_calls["mix-0004"]["user_id"] is None  # globex has no customer
    assert stored_calls["mix-0002"]["answered_date"] is None and stored_calls["mix-0001"]["answered_date"]
    assert {c["import_id"] for c in stored_calls.values()} == {summary.import_id}

    again = import_file(SAMPLES / "cdr_stats_mixed.csv")
    assert again.line() == "accepted=0 duplicates=7 rejected=7"


def test_naive_times_are_read_in_the_switch_time_zone():
    with db.transaction() as conn:
        conn.execute(text("INSERT INTO switch (name, ip, timezone) VALUES ('madrid', '10.5.5.5', 'Europe/Madrid')"))
    rows = [
        {"switch": "10.5.5.5", "callid": "tz-1", "starting_date": "2024-07-01 12:00:00", "duration": 5},  # CEST
        {"switch": "10.5.5.5", "callid": "tz-2", "starting_date": "2024-01-15 12:00:00", "duration": 5},  # CET
        {"switch": "10.5.5.5", "callid": "tz-3", "starting_date": "2024-07-01T12:00:00Z", "duration": 5},
        {"switch": "10.6.6.6", "callid": "tz-4", "starting_date": "2024-07-01 12:00:00", "duration": 5},  # new: UTC
        {"switch": "10.5.5.5", "callid": "tz-5", "starting_date": "1719835200", "duration": 5},  # epoch
    ]
    assert import_rows(rows, source="test").line() == "accepted=5 duplicates=0 rejected=0"
    got = {k: str(c["starting_date"]) for k, c in calls().items()}
    assert got == {
        "tz-1": "2024-07-01 10:00:00+00:00",
        "tz-2": "2024-01-15 11:00:00+00:00",
        "tz-3": "2024-07-01 12:00:00+00:00",
        "tz-4": "2024-07-01 12:00:00+00:00",
        "tz-5": "2024-07-01 12:00:00+00:00",
    }
    assert db.scalar("SELECT timezone FROM switch WHERE ip = '10.6.6.6'") == "UTC"


def test_answered_comes_from_the_answer_time_or_billsec_never_the_cause_alone():
    rows = [
        {
            "switch": "s",
            "callid": "a-1",
            "starting_date": "2024-03-01 10:00:00",
            "duration": 30,
            "billsec": 0,
            "hangup_cause_id": 16,
        },  # NORMAL_CLEARING but never answered
        {
            "switch": "s",
            "callid": "a-2",
            "starting_date": "2024-03-01 10:00:00",
            "duration": 30,
            "billsec": 20,
            "hangup_cause_id": 17,
        },
        {
            "switch": "s",
            "callid": "a-3",
            "starting_date": "2024-03-01 10:00:00",
            "duration": 0,
            "billsec": 0,
            "answered_date": "2024-03-01 10:00:04",
        },  # answered, 0 s billed
    ]
    import_rows(rows, source="test")
    got = {k: (str(c["answered_date"]), c["hangup_cause_id"]) for k, c in calls().items()}
    assert got == {
        "a-1": ("None", 16),
        "a-2": ("2024-03-01 10:00:10+00:00", 17),
        "a-3": ("2024-03-01 10:00:04+00:00", 16),
    }


def test_dry_run_stores_nothing():
    summary = import_file(SAMPLES / "cdr_stats_mixed.csv", dry_run=True)
    assert summary.line() == "accepted=6 duplicates=1 rejected=7"  # the same counts, nothing kept
    assert db.scalar("SELECT count(*) FROM cdr") == 0
    assert db.scalar("SELECT count(*) FROM import_batch") == 0
    assert db.scalar("SELECT count(*) FROM import_reject") == 0


def test_fast_and_python_paths_store_the_same_calls(tmp_path):
    """A clean CDR-Stats CSV is COPYed as it is; a file with one bad line in a batch goes through Python."""
    header, *lines = (SAMPLES / "cdr_stats_mixed.csv").read_text().splitlines()
    good = [line for n, line in enumerate(lines, start=2) if n not in {n for n, _ in MIXED_REJECTS} and n != 8]
    (tmp_path / "clean.csv").write_text("\n".join([header, *good]) + "\n")
    fast = import_file(tmp_path / "clean.csv")
    first = {k: {c: v for c, v in row.items() if c not in ("id", "import_id")} for k, row in calls().items()}
    reset_calls()
    (tmp_path / "bad.csv").write_text("\n".join([header, *good, "oops"]) + "\n")
    slow = import_file(tmp_path / "bad.csv")
    second = {k: {c: v for c, v in row.items() if c not in ("id", "import_id")} for k, row in calls().items()}
    assert (fast.line(), slow.line()) == ("accepted=6 duplicates=0 rejected=0", "accepted=6 duplicates=0 rejected=1")
    assert first == second


def test_a_file_of_several_batches_counts_every_line(tmp_path):
    header = (SAMPLES / "cdr_stats_reference.csv").read_text().splitlines()[0]
    name = "Front desk " * 30  # long rows: two batches without too many rows
    row = (
        '10.7.7.7,1,big-{n:06d},904151440,"' + name + '",+34650104877,,,,2024-03-0{d} 12:13:10,55,50,,,,16,,2,,'
        "1000,,,,,{{}}"
    )
    lines = [row.format(n=n, d=1 + n % 9) for n in range(20_000)]
    lines[15_000] = "broken"
    path = tmp_path / "big.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    assert path.stat().st_size > FAST_CHUNK_BYTES  # more than one batch
    summary = import_file(path)
    assert summary.line() == "accepted=19999 duplicates=0 rejected=1"
    assert db.rows("SELECT lineno, reason FROM import_reject") == [
        {"lineno": 15_002, "reason": "expected 25 fields, found 1"}
    ]
