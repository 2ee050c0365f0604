"""The other ways in: the CDR-Pusher table, the watched folder, HTTP push, and collectors on switch stores."""

import base64
import json
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from data.core import db
from data.core.settings import load_settings
from data.ingest.cdr_import import move_pending
from data.ingest.collectors import collect, mysql_url
from data.ingest.switches import rotate_push_key
from data.ingest.watch import import_watched_folder
from tests.ingest_helpers import SAMPLES, calls, reset_calls


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()


# --- cdr_import (a running CDR-Pusher fills it) ---


def _pusher_insert(rows: list[tuple]) -> None:
    with db.transaction() as conn:
        conn.execute(
            text("""INSERT INTO cdr_import (switch, cdr_source_type, callid, caller_id_number, caller_id_name,
                                 destination_number, starting_date, duration, billsec, hangup_cause_id, accountcode,
                                 extradata)
                             VALUES (:sw, 3, :callid, '1001', 'Alice', :dst, :start, :dur, :bill, 16, 'acme-01',
                                     '{"answer_stamp": "x"}')"""),
            [{"sw": "10.4.4.4", "callid": c, "dst": d, "start": s, "dur": 30, "bill": b} for c, d, s, b in rows],
        )


def test_the_cdr_import_table_is_moved_and_flagged_in_the_same_transaction():
    _pusher_insert(
        [
            ("push-1", "+34650104877", "2024-03-01 10:00:00+00", 20),
            ("push-2", "+33142685300", "2024-03-01 10:01:00+00", 0),
            ("push-3", "+4915112345678", "2024-03-01 10:02:00+00", 25),
        ]
    )
    summary = move_pending(batch_rows=2)  # two batches
    assert summary.line() == "accepted=3 duplicates=0 rejected=0"
    assert db.scalar("SELECT count(*) FROM cdr_import WHERE NOT imported") == 0
    assert {k: c["country_code"] for k, c in calls().items()} == {"push-1": "ES", "push-2": "FR", "push-3": "DE"}
    assert calls()["push-1"]["extradata"] == {"answer_stamp": "x"}
    assert move_pending() is None

    _pusher_insert(
        [
            ("push-3", "+4915112345678", "2024-03-01 10:02:00+00", 25),  # pushed twice
            ("push-4", "+4915112345678", "2024-03-01 10:03:00+00", 25),
        ]
    )
    assert move_pending().line() == "accepted=1 duplicates=1 rejected=0"
    with db.transaction() as conn:  # CDR-Stats' "reimport everything"
        conn.execute(text("UPDATE cdr_import SET imported = false"))
    assert move_pending().line() == "accepted=0 duplicates=5 rejected=0"


# --- Watched folder ---


def test_the_watched_folder_imports_and_sorts_files():
    root = load_settings().import_dir
    shutil.rmtree(root, ignore_errors=True)
    (root / "fs-lon-1").mkdir(parents=True)
    shutil.copy(SAMPLES / "cdr_stats_reference.csv", root / "reference.csv")
    shutil.copy(SAMPLES / "freeswitch_cdr.csv", root / "fs-lon-1" / "Master.csv")
    (root / "notes.txt").write_text("not a CDR file\n")
    (root / "still-copying.csv.part").write_text("x")
    totals = import_watched_folder(root, settle=0)
    assert totals == {"files": 2, "failed": 1, "accepted": 10, "duplicates": 0, "rejected": 0}
    assert sorted(p.name.split("-", 1)[1] for p in (root / "done").iterdir()) == ["Master.csv", "reference.csv"]
    failed = sorted(p.name.split("-", 1)[1] for p in (root / "failed").iterdir())
    assert failed == ["notes.txt", "notes.txt.error.txt"]
    assert (root / "still-copying.csv.part").exists() and not list((root / "processing").iterdir())
    assert {c["switch_name"] for k, c in calls().items() if len(k) == 36 and k.startswith("3f1c")} == {"fs-lon-1"}
    assert import_watched_folder(root, settle=0)["files"] == 0


# --- HTTP push ---


@pytest.fixture
def push_key():
    _, key = rotate_push_key("fs-lon-1")
    return key


def test_push_needs_a_valid_key(client, push_key):
    body = (SAMPLES / "mod_json_cdr.json").read_bytes()
    assert client.post("/api/v1/cdr", data=body, content_type="application/json").status_code == 401
    wrong = push_key[:-4] + "AAAA"
    response = client.post(
        "/api/v1/cdr", data=body, content_type="application/json", headers={"Authorization": f"Bearer {wrong}"}
    )
    assert response.status_code == 401
    assert db.scalar("SELECT count(*) FROM cdr") == 0
    assert db.scalar("SELECT push_key_hash FROM switch WHERE name = 'fs-lon-1'") != push_key  # only a hash


def test_push_mod_json_cdr_in_its_three_encodings(client, push_key):
    document = json.loads((SAMPLES / "mod_json_cdr.json").read_text())
    response = client.post("/api/v1/cdr", json=document, headers={"Authorization": f"Bearer {push_key}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["accepted"] == 1
    call = calls()["9f1d2c3b-4a5e-6f70-8192-a3b4c5d6e7f8"]
    assert (call["country_code"], call["hangup_cause_id"], call["duration"], call["billsec"]) == ("ES", 16, 65, 60)
    assert str(call["starting_date"]) == "2024-03-01 11:00:00.123456+00:00"  # start_uepoch
    assert call["switch_name"] == "fs-lon-1" and call["cdr_source_type"] == 3 and call["accountcode"] == "acme-01"
    assert call["extradata"]["read_codec"] == "PCMA" and call["extradata"]["core-uuid"].startswith("5b8c")

    form = "cdr=" + quote(json.dumps(document))  # mod_json_cdr's default: URL-encoded form field
    response = client.post(
        "/api/v1/cdr", data=form, content_type="application/x-www-form-urlencoded", headers={"X-Dialstat-Key": push_key}
    )
    assert response.get_json()["duplicates"] == 1
    encoded = base64.b64encode(
        json.dumps({**document, "variables": {**document["variables"], "uuid": "b64-call"}}).encode()
    ).decode()
    response = client.post("/api/v1/cdr", data={"cdr": encoded}, auth=("fs-lon-1", push_key))  # Basic auth
    assert response.get_json()["accepted"] == 1


def test_push_a_list_of_cdr_stats_cdrs(client, push_key):
    cdrs = [
        {
            "callid": "p-1",
            "destination_number": "+447700900123",
            "starting_date": "2024-03-01 10:00:00",
            "duration": 10,
            "billsec": 8,
            "switch": "10.0.0.66",
        },  # another switch: stored on the key's
        {"callid": "p-2", "destination_number": "+447700900123", "starting_date": "not yet", "duration": 1},
    ]
    response = client.post("/api/v1/cdr", json=cdrs, headers={"Authorization": f"Bearer {push_key}"})
    assert response.get_json() | {"import_id": 0} == {
        "import_id": 0,
        "accepted": 1,
        "duplicates": 0,
        "rejected": 1,
        "rejects": [{"record": 2, "reason": "starting_date 'not yet' is not a date"}],
    }
    assert calls()["p-1"]["switch_name"] == "fs-lon-1"
    assert (
        client.post(
            "/api/v1/cdr",
            data="[1, 2",
            content_type="application/json",
            headers={"Authorization": f"Bearer {push_key}"},
        ).status_code
        == 400
    )


# --- Collectors ---

FREESWITCH_SCHEMA = """CREATE TABLE cdr (caller_id_name VARCHAR, caller_id_number VARCHAR, destination_number VARCHAR,
    context VARCHAR, start_stamp DATETIME, answer_stamp DATETIME, end_stamp DATETIME, duration INTEGER,
    billsec INTEGER, hangup_cause VARCHAR, hangup_cause_q850 INTEGER, uuid VARCHAR, bleg_uuid VARCHAR,
    account_code VARCHAR)"""
PUSHER_FREESWITCH_FIELDS = """
cdr_fields:
    - orig_field: uuid
      dest_field: callid
      type_field: string
    - orig_field: caller_id_name
      dest_field: caller_id_name
      type_field: string
    - orig_field: caller_id_number
      dest_field: caller_id_number
      type_field: string
    - orig_field: destination_number
      dest_field: destination_number
      type_field: string
    - orig_field: hangup_cause_q850
      dest_field: hangup_cause_id
      type_field: int
    - orig_field: duration
      dest_field: duration
      type_field: int
    - orig_field: billsec
      dest_field: billsec
      type_field: int
    - orig_field: "datetime(start_stamp)"
      dest_field: starting_date
      type_field: date
    - orig_field: "datetime(answer_stamp)"
      dest_field: extradata
      type_field: jsonb
    - orig_field: "datetime(end_stamp)"
      dest_field: extradata
      type_field: jsonb
"""


def _fs_calls(db_file: Path, first: int, count: int) -> None:
    with sqlite3.connect(db_file) as conn:
        conn.executemany(
            "INSERT INTO cdr (caller_id_name, caller_id_number, destination_number, context, start_stamp, "
            "answer_stamp, "
            "end_stamp, duration, billsec, hangup_cause, hangup_cause_q850, uuid, bleg_uuid, account_code) "
            "VALUES ('Outbound Call', '800123123', ?, 'default', ?, ?, ?, 50, 50, 'NORMAL_CLEARING', 16, ?, '', '')",
            [
                (
                    "34650881188",
                    f"2024-03-01 17:{n % 60:02d}:01",
                    f"2024-03-01 17:{n % 60:02d}:01",
                    f"2024-03-01 17:{n % 60:02d}:51",
                    f"fs-{n:05d}",
                )
                for n in range(first, first + count)
            ],
        )


@pytest.mark.parametrize("flag_field", ["flag_imported", ""])
def test_a_freeswitch_sqlite_collector_reads_new_rows_only(tmp_path, flag_field):
    db_file = tmp_path / "cdr.db"
    with sqlite3.connect(db_file) as conn:
        conn.execute(FREESWITCH_SCHEMA)
    _fs_calls(db_file, 0, 250)
    config = tmp_path / "cdr-pusher.yaml"
    config.write_text(f"""storage_source: "sqlite3"
db_file: "{db_file}"
db_table: "cdr"
db_flag_field: "{flag_field}"
max_fetch_batch: 100
heartbeat: 1
{PUSHER_FREESWITCH_FIELDS}
storage_destination: "postgres"
pg_datasourcename: "user=postgres password=password host=localhost port=5432 dbname=cdr-pusher sslmode=disable"
table_destination: "cdr_import"
switch_ip: "10.30.0.1"
cdr_source_type: 3
""")
    assert collect(config).line() == "accepted=250 duplicates=0 rejected=0"
    assert collect(config).line() == "accepted=0 duplicates=0 rejected=0"  # nothing new: nothing read
    _fs_calls(db_file, 250, 30)
    assert collect(config).line() == "accepted=30 duplicates=0 rejected=0"
    stored = calls()
    assert len(stored) == 280 and {c["country_code"] for c in stored.values()} == {"ES"}
    first = stored["fs-00000"]
    assert first["extradata"] == {
        "datetime(answer_stamp)": "2024-03-01 17:00:01",
        "datetime(end_stamp)": "2024-03-01 17:00:51",
    }
    assert first["switch_name"] == "10.30.0.1" and first["cdr_source_type"] == 3
    if flag_field:
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("SELECT count(*) FROM cdr WHERE flag_imported = 1").fetchone() == (280,)


def test_a_kamailio_collection_cdrs_collector_maps_sip_codes():
    """Kamailio's collection_cdrs (the reference's table, in PostgreSQL types) in its own schema."""
    with db.transaction() as conn:
        conn.execute(
            text("""DROP SCHEMA IF EXISTS kamailio_test CASCADE; CREATE SCHEMA kamailio_test;
            CREATE TABLE kamailio_test.collection_cdrs (
                id bigserial PRIMARY KEY, cdr_id bigint NOT NULL DEFAULT 0,
                src_username varchar(64) NOT NULL DEFAULT '',
                src_domain varchar(128) NOT NULL DEFAULT '', dst_username varchar(64) NOT NULL DEFAULT '',
                dst_domain varchar(128) NOT NULL DEFAULT '', dst_ousername varchar(64) NOT NULL DEFAULT '',
                call_start_time timestamp NOT NULL, duration integer NOT NULL DEFAULT 0,
                sip_call_id varchar(128) NOT NULL DEFAULT '', sip_from_tag varchar(128) NOT NULL DEFAULT '',
                sip_to_tag varchar(128) NOT NULL DEFAULT '', src_ip varchar(64) NOT NULL DEFAULT '',
                cost integer NOT NULL DEFAULT 0, rated integer NOT NULL DEFAULT 0, sip_code char(3) NOT NULL DEFAULT '',
                sip_reason varchar(32) NOT NULL DEFAULT '', created timestamp NOT NULL DEFAULT now(),
                flag_imported integer NOT NULL DEFAULT 0)""")
        )

    def add(rows):
        with db.transaction() as conn:
            conn.execute(
                text("""INSERT INTO kamailio_test.collection_cdrs (src_username, dst_username, call_start_time,
                                     duration, sip_call_id, sip_code, sip_reason)
                                 VALUES (:src, :dst, :start, :dur, :callid, :code, :reason)"""),
                rows,
            )

    add(
        [
            {
                "src": "alice",
                "dst": "+442079460123",
                "start": "2024-03-02 09:00:00",
                "dur": 42,
                "callid": "k-1@pbx",
                "code": "200",
                "reason": "OK",
            },
            {
                "src": "bob",
                "dst": "+33142685300",
                "start": "2024-03-02 09:01:00",
                "dur": 0,
                "callid": "k-2@pbx",
                "code": "486",
                "reason": "Busy Here",
            },
            {
                "src": "bob",
                "dst": "+33142685300",
                "start": "2024-03-02 09:02:00",
                "dur": 0,
                "callid": "k-3@pbx",
                "code": "487",
                "reason": "Request Terminated",
            },
            {
                "src": "carol",
                "dst": "+4930123456",
                "start": "2024-03-02 09:03:00",
                "dur": 0,
                "callid": "k-4@pbx",
                "code": "499",
                "reason": "Odd",
            },
        ]
    )
    config = Path(load_settings().var_dir) / "kamailio.yaml"
    config.write_text(f"""storage_source: "postgres"
db_dns: "{db.engine().url.render_as_string(hide_password=False).replace("+psycopg2", "")}"
db_table: "kamailio_test.collection_cdrs"
db_flag_field: "flag_imported"
max_fetch_batch: 3
cdr_fields:
    - orig_field: sip_call_id
      dest_field: callid
      type_field: string
    - orig_field: src_username
      dest_field: caller_id_number
      type_field: string
    - orig_field: dst_username
      dest_field: destination_number
      type_field: string
    - orig_field: sip_code
      dest_field: sip_code
      type_field: string
    - orig_field: CAST(duration AS INTEGER)
      dest_field: duration
      type_field: int
    - orig_field: CAST(duration AS INTEGER)
      dest_field: billsec
      type_field: int
    - orig_field: call_start_time
      dest_field: starting_date
      type_field: date
switch_ip: "10.40.0.1"
cdr_source_type: 6
""")
    assert collect(config).line() == "accepted=4 duplicates=0 rejected=0"
    got = {
        k: (c["country_code"], c["hangup_cause_id"], c["extradata"]["sip_code"], c["billsec"])
        for k, c in calls().items()
    }
    assert got == {
        "k-1@pbx": ("GB", 16, "200", 42),
        "k-2@pbx": ("FR", 17, "486", 0),
        "k-3@pbx": ("FR", 487, "487", 0),
        "k-4@pbx": ("DE", 41, "499", 0),
    }  # 499: the 4xx class
    add(
        [
            {
                "src": "dave",
                "dst": "+34650104877",
                "start": "2024-03-02 09:04:00",
                "dur": 5,
                "callid": "k-5@pbx",
                "code": "200",
                "reason": "OK",
            }
        ]
    )
    assert collect(config).line() == "accepted=1 duplicates=0 rejected=0"
    assert collect(config).line() == "accepted=0 duplicates=0 rejected=0"
    assert db.scalar("SELECT count(*) FROM kamailio_test.collection_cdrs WHERE flag_imported = 1") == 5
    with db.transaction() as conn:
        conn.execute(text("DROP SCHEMA kamailio_test CASCADE"))


def test_mysql_dsn_of_cdr_pusher_configs():
    assert (
        mysql_url("root:secret@tcp(db.example.com:3307)/asteriskcdrdb")
        == "mysql+pymysql://root:secret@db.example.com:3307/asteriskcdrdb"
    )
    assert mysql_url("username:password@/database") == "mysql+pymysql://username:password@localhost/database"
