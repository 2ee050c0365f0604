"""FreeSWITCH's mod_cdr_sqlite store, collected with docs/switches/freeswitch-collector.sqlite.yaml: the
module's own table (default_create_sql) and rows as its default template inserts them
(src/mod/event_handlers/mod_cdr_sqlite/mod_cdr_sqlite.c: INSERT INTO cdr VALUES ("${caller_id_name}", ...))."""

from __future__ import annotations

import sqlite3

import yaml

from data.core import db
from data.ingest import collectors
from tests.switch_processes import ROOT

FREESWITCH_TABLE = """CREATE TABLE cdr (
    caller_id_name VARCHAR,
    caller_id_number VARCHAR,
    destination_number VARCHAR,
    context VARCHAR,
    start_stamp DATETIME,
    answer_stamp DATETIME,
    end_stamp DATETIME,
    duration INTEGER,
    billsec INTEGER,
    hangup_cause VARCHAR,
    uuid VARCHAR,
    bleg_uuid VARCHAR,
    account_code VARCHAR
)"""
# (answer, billsec, cause) per call; the default template quotes every string with double quotes.
CALLS = [
    ("2026-12-01 10:00:05", 60, "NORMAL_CLEARING"),
    ("", 0, "USER_BUSY"),
    ("", 0, "NO_ANSWER"),
    ("", 0, "UNALLOCATED_NUMBER"),
    ("2026-12-01 10:04:02", 7, "NORMAL_CLEARING"),
]


def insert_like_mod_cdr_sqlite(path, first: int, count: int) -> None:
    with sqlite3.connect(path) as conn:
        for n in range(first, first + count):
            answer, billsec, cause = CALLS[n % len(CALLS)]
            start = f"2026-12-01 10:{n:02d}:00"
            end = f"2026-12-01 10:{n:02d}:{5 + billsec if billsec < 55 else 59:02d}"
            duration = 5 + billsec if answer else 5
            values = (
                f'"Desk {n}","100{n % 3}","3491{n:07d}","default","{start}","{answer}","{end}",'
                f'{duration},{billsec},"{cause}","3f1c0000-0000-4000-8000-{n:012d}","","acme"'
            )
            conn.execute(f"INSERT INTO cdr VALUES ({values})")


def test_mod_cdr_sqlite_store_collected_once(tmp_path):
    store = tmp_path / "cdr.db"
    with sqlite3.connect(store) as conn:
        conn.execute(FREESWITCH_TABLE)
    insert_like_mod_cdr_sqlite(store, 0, 10)
    config = yaml.safe_load((ROOT / "docs" / "switches" / "freeswitch-collector.sqlite.yaml").read_text())
    path = tmp_path / "fs-lon-1.yaml"
    path.write_text(yaml.safe_dump(config | {"db_file": str(store)}))

    assert collectors.collect(path).line() == "accepted=10 duplicates=0 rejected=0"
    insert_like_mod_cdr_sqlite(store, 10, 5)
    assert collectors.collect(path).line() == "accepted=5 duplicates=0 rejected=0"
    assert collectors.collect(path).line() == "accepted=0 duplicates=0 rejected=0"

    rows = db.rows(
        """SELECT hangup_cause_id, count(*) AS calls, sum(billsec) AS billsec,
                  count(answered_date) AS answered, min(accountcode) AS accountcode
             FROM cdr c JOIN switch s ON s.id = c.switch_id WHERE s.name = 'fs-lon-1'
            GROUP BY 1 ORDER BY 1"""
    )
    by_cause = {r["hangup_cause_id"]: (r["calls"], r["billsec"], r["answered"]) for r in rows}
    # Q.850: 16 normal clearing, 17 user busy, 19 no answer, 1 unallocated number.
    assert by_cause == {16: (6, 3 * 60 + 3 * 7, 6), 17: (3, 0, 0), 19: (3, 0, 0), 1: (3, 0, 0)}
    assert {r["accountcode"] for r in rows} == {"acme"}
