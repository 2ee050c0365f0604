"""delete-cdrs removes calls, their keys and their rollup share in one transaction; re-importing restores them."""

from datetime import date, datetime, timedelta, timezone

import pytest

from data.core import db
from data.core.rollups import KEYS, MEASURES, rebuild_rollups
from data.ingest import import_file
from tests.ingest_helpers import SAMPLES, reset_calls

CDR_COLUMNS = (
    "switch_id, callid, record_tag, linkedid, starting_date, answered_date, duration, billsec, "
    "hangup_cause_id, country_code, destination_number, accountcode, user_id, extradata::text"
)


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()
    for table in KEYS:
        db.execute(f"DELETE FROM {table}")


def snapshot() -> dict:
    state = {
        "cdr": [
            tuple(r.values()) for r in db.rows(f"SELECT {CDR_COLUMNS} FROM cdr ORDER BY switch_id, callid, record_tag")
        ],
        "keys": [tuple(r.values()) for r in db.rows("SELECT switch_id, callid FROM cdr_call_key ORDER BY 1, 2")],
    }
    for table, key in KEYS.items():
        columns = ", ".join(key + MEASURES)
        state[table] = [
            tuple(r.values())
            for r in db.rows(f"SELECT {columns} FROM {table} WHERE attempts <> 0 ORDER BY {', '.join(key)}")
        ]
    return state


def _recent_file(tmp_path):
    """Calls of the last hours, so that the minute levels (kept ROLLUP_MINUTE_DAYS) take part too."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    lines = ["switch,callid,destination_number,starting_date,duration,billsec,accountcode,hangup_cause_id"]
    for n in range(40):
        start = now - timedelta(hours=3, minutes=7 * n)
        lines.append(
            f"10.3.3.{n % 3},recent-{n},+3465010{n:04d},{start:%Y-%m-%d %H:%M:%S},{n * 3},{n * 2 % 7},"
            f"acct-{n % 4},{16 if n % 5 else 17}"
        )
    path = tmp_path / "recent.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, (now - timedelta(days=1)).date(), now.date()


def test_delete_then_reimport_gives_the_same_calls_keys_and_rollups(app, tmp_path):
    recent, first, last = _recent_file(tmp_path)
    import_file(SAMPLES / "asterisk13_master.csv", switch="pbx-del")
    import_file(SAMPLES / "cdr_stats_reference.csv")
    import_file(recent)
    before = snapshot()
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["delete-cdrs", "--from", "2024-05-06", "--to", "2024-05-06", "--dry-run"])
    assert dry.output.strip() == "would delete calls=14 keys=14"
    assert snapshot() == before

    result = runner.invoke(args=["delete-cdrs", "--from", "2024-05-06", "--to", "2024-05-06", "--switch", "pbx-del"])
    assert result.output.strip() == "deleted calls=14 keys=14", result.output
    result = runner.invoke(args=["delete-cdrs", "--from", str(first), "--to", str(last), "--switch", "10.3.3.1"])
    assert result.output.strip().startswith("deleted calls=13 keys=13"), result.output
    after = snapshot()
    assert len(after["cdr"]) == len(before["cdr"]) - 27 and len(after["keys"]) == len(after["cdr"])
    rebuild_rollups(date(2015, 1, 1), date.today() + timedelta(days=1))
    assert snapshot() == after  # the incremental delete equals a rebuild

    assert (
        import_file(SAMPLES / "asterisk13_master.csv", switch="pbx-del").line() == "accepted=14 duplicates=0 rejected=0"
    )
    assert import_file(recent).line() == "accepted=13 duplicates=27 rejected=0"
    assert snapshot() == before


def test_delete_names_what_it_cannot_find(app):
    result = app.test_cli_runner().invoke(
        args=["delete-cdrs", "--from", "2024-01-01", "--to", "2024-01-02", "--switch", "nowhere"]
    )
    assert result.exit_code != 0 and "no switch 'nowhere'" in result.output
