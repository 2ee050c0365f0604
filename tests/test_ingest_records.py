"""Every record a switch writes is stored exactly once, and one bad value is one reject (issue #15)."""

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from data.core import db
from data.core.settings import load_settings
from data.ingest import import_file
from data.ingest.calls import unique_call_totals
from data.ingest.collectors import CollectorError, collect, load_config
from data.ingest.switches import rotate_push_key
from tests.ingest_helpers import SAMPLES, reset_calls


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()


def _stored() -> tuple[int, int]:
    return db.scalar("SELECT count(*) FROM cdr"), db.scalar("SELECT count(*) FROM cdr_call_key")


def _rejects() -> list[tuple]:
    return [
        (r["lineno"], r["record_index"], r["reason"])
        for r in db.rows("SELECT lineno, record_index, reason FROM import_reject ORDER BY lineno, record_index, id")
    ]


# --- Multi-record calls ---


def test_asterisk_13_writes_several_records_per_call_and_each_is_stored_once():
    """tests/samples/asterisk13_master.csv is written from the Asterisk 12 CDR specification (cdr_csv with
    newcdrcolumns: peeraccount, linkedid, sequence): a queue ringing two members through Local/ channels,
    a Dial forked to three phones (one answers), a fork nobody answers, an attended transfer, two plain calls."""
    summary = import_file(SAMPLES / "asterisk13_master.csv", switch="pbx-1")
    assert (summary.format, summary.line()) == ("asterisk-csv", "accepted=14 duplicates=0 rejected=0")
    assert _stored() == (14, 14)
    records = db.rows("SELECT callid, record_tag, linkedid, billsec FROM cdr ORDER BY record_tag::int")
    assert [r["record_tag"] for r in records] == [
        str(n) for n in (20, 21, 22, 23, 30, 31, 32, 33, 34, 40, 41, 42, 50, 51)
    ]
    answered_fork = next(r for r in records if r["record_tag"] == "31")
    assert (answered_fork["callid"], answered_fork["billsec"]) == ("1714986600.32", 60)  # the leg that was answered
    calls = db.rows("""SELECT linkedid, count(*) AS records, bool_or(answered_date IS NOT NULL) AS answered
                       FROM cdr GROUP BY linkedid ORDER BY linkedid""")
    assert [(c["linkedid"], c["records"], c["answered"]) for c in calls] == [
        ("1714986000.16", 4, True),  # queue: caller -> Local;1 twice, Local;2 -> member twice
        ("1714986600.32", 3, True),  # fork, one answered
        ("1714987200.36", 2, False),  # fork, none answered
        ("1714987800.48", 3, True),  # attended transfer
        ("1714988400.64", 1, True),
        ("1714988700.66", 1, False),
    ]
    # Yeti's unique calls: a call is answered when any of its records is; billsec is the caller's own time.
    totals = unique_call_totals(datetime(2024, 5, 6, tzinfo=timezone.utc), datetime(2024, 5, 7, tzinfo=timezone.utc))
    assert totals == {"calls": 6, "records": 14, "answered": 4, "ner_success": 6, "billsec": 180 + 60 + 56 + 240 + 60}
    assert db.scalar("SELECT count(*) FROM cdr WHERE answered_date IS NOT NULL") == 7  # per record: 7 of 14
    again = import_file(SAMPLES / "asterisk13_master.csv", switch="pbx-1")
    assert again.line() == "accepted=0 duplicates=14 rejected=0"
    assert _stored() == (14, 14)


def test_asterisk_without_sequence_tells_records_apart_by_party_b(tmp_path):
    lines = [
        '"","1001","300","from-internal","""A"" <1001>","PJSIP/1001-1","PJSIP/301-2","Dial","x","2024-05-06 09:10:00",'
        '"","2024-05-06 09:10:06",6,0,"NO ANSWER","DOCUMENTATION","1714986600.32",""',
        '"","1001","300","from-internal","""A"" <1001>","PJSIP/1001-1","PJSIP/302-3","Dial","x","2024-05-06 09:10:00",'
        '"2024-05-06 09:10:02","2024-05-06 09:10:06",6,4,"ANSWERED","DOCUMENTATION","1714986600.32",""',
    ]
    path = tmp_path / "Master.csv"
    path.write_text("\n".join(lines) + "\n")
    assert import_file(path, switch="pbx-2").line() == "accepted=2 duplicates=0 rejected=0"
    assert import_file(path, switch="pbx-2").line() == "accepted=0 duplicates=2 rejected=0"


@pytest.fixture
def push_key():
    _, key = rotate_push_key("fs-par-1")
    return key


def test_freeswitch_a_and_b_legs_are_two_records_of_one_call(client, push_key):
    a_leg = json.loads((SAMPLES / "mod_json_cdr.json").read_text())
    a_uuid = a_leg["variables"]["uuid"]
    a_leg["variables"]["bleg_uuid"] = "b-leg-0001"
    b_leg = json.loads(json.dumps(a_leg))
    b_leg["variables"].update(uuid="b-leg-0001", originating_leg_uuid=a_uuid, direction="inbound")
    del b_leg["variables"]["bleg_uuid"]
    b_leg["callflow"][0]["caller_profile"]["uuid"] = "b-leg-0001"
    headers = {"Authorization": f"Bearer {push_key}"}
    for document in (a_leg, b_leg):
        assert client.post("/api/v1/cdr", json=document, headers=headers).get_json()["accepted"] == 1
    legs = db.rows("SELECT callid, linkedid FROM cdr ORDER BY callid")
    assert [(r["callid"], r["linkedid"]) for r in legs] == [(a_uuid, a_uuid), ("b-leg-0001", a_uuid)]
    for document in (a_leg, b_leg):
        assert client.post("/api/v1/cdr", json=document, headers=headers).get_json()["duplicates"] == 1
    assert _stored() == (2, 2)


def test_freeswitch_csv_legs_are_keyed_by_their_own_uuid(tmp_path):
    line = (SAMPLES / "freeswitch_cdr.csv").read_text().splitlines()[0]
    fields = line.split('","')
    b_leg = line.replace(fields[10], "6a7b8c9d-0000-4000-8000-00000000000b")  # the B leg: its own uuid
    path = tmp_path / "Master.csv"
    path.write_text(line + "\n" + b_leg + "\n")
    assert import_file(path, switch="fs-1").line() == "accepted=2 duplicates=0 rejected=0"
    assert import_file(path, switch="fs-1").line() == "accepted=0 duplicates=2 rejected=0"


def test_kamailio_acc_records_are_keyed_by_callid_and_record_kind():
    """collection_cdrs (the reference's table) merges acc's cdrs and missed_calls: a forked INVITE gives a
    missed_calls row per unanswered branch and a cdrs row for the answered one, all with one Call-ID."""
    with db.transaction() as conn:
        conn.execute(
            text("""DROP SCHEMA IF EXISTS kam_rec CASCADE; CREATE SCHEMA kam_rec;
            CREATE TABLE kam_rec.collection_cdrs (
                id bigserial PRIMARY KEY, cdr_id bigint NOT NULL DEFAULT 0, src_username varchar(64),
                dst_username varchar(64), call_start_time timestamp NOT NULL, duration integer NOT NULL DEFAULT 0,
                sip_call_id varchar(128) NOT NULL, sip_to_tag varchar(128) NOT NULL DEFAULT '',
                sip_code char(3) NOT NULL DEFAULT '', flag_imported integer NOT NULL DEFAULT 0);
            INSERT INTO kam_rec.collection_cdrs (cdr_id, src_username, dst_username, call_start_time, duration,
                                                 sip_call_id, sip_to_tag, sip_code) VALUES
                (0, 'alice', '+442079460123', '2024-03-02 09:00:00', 0, 'fork@pbx', 'tag-1', '486'),
                (0, 'alice', '+442079460123', '2024-03-02 09:00:00', 0, 'fork@pbx', 'tag-2', '480'),
                (7, 'alice', '+442079460123', '2024-03-02 09:00:00', 42, 'fork@pbx', 'tag-3', '200')""")
        )
    config = Path(load_settings().var_dir) / "kam-records.yaml"
    config.write_text(f"""storage_source: "postgres"
db_dns: "{db.engine().url.render_as_string(hide_password=False).replace("+psycopg2", "")}"
db_table: "kam_rec.collection_cdrs"
db_flag_field: "flag_imported"
cdr_fields:
    - {{orig_field: sip_call_id, dest_field: callid}}
    - {{orig_field: "CASE WHEN cdr_id > 0 THEN 'cdr' ELSE 'missed ' || sip_to_tag END", dest_field: record_tag}}
    - {{orig_field: src_username, dest_field: caller_id_number}}
    - {{orig_field: dst_username, dest_field: destination_number}}
    - {{orig_field: sip_code, dest_field: sip_code}}
    - {{orig_field: duration, dest_field: billsec}}
    - {{orig_field: call_start_time, dest_field: starting_date}}
switch_ip: "10.40.0.9"
cdr_source_type: 6
""")
    try:
        assert collect(config).line() == "accepted=3 duplicates=0 rejected=0"
        tags = db.rows("SELECT record_tag, hangup_cause_id, billsec FROM cdr ORDER BY record_tag")
        assert [(r["record_tag"], r["hangup_cause_id"], r["billsec"]) for r in tags] == [
            ("cdr", 16, 42),
            ("missed tag-1", 17, 0),
            ("missed tag-2", 18, 0),  # 480: no user responding (sip-to-q850.csv)
        ]
        db.execute("UPDATE kam_rec.collection_cdrs SET flag_imported = 0")
        assert collect(config).line() == "accepted=0 duplicates=3 rejected=0"
        assert _stored() == (3, 3)
    finally:
        with db.transaction() as conn:
            conn.execute(text("DROP SCHEMA kam_rec CASCADE"))
        config.unlink()


# --- Records, not lines ---


def _cdr(callid: str, **more) -> dict:
    return {
        "switch": "10.9.9.9",
        "callid": callid,
        "destination_number": "+34650104877",
        "starting_date": "2024-03-01 10:00:00",
        "duration": 10,
        "billsec": 5,
        **more,
    }


def test_a_one_line_json_array_stores_a_repeated_call_once(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps([_cdr("j-1"), _cdr("j-1"), _cdr("j-2")]))
    assert import_file(path).line() == "accepted=2 duplicates=1 rejected=0"
    assert _stored() == (2, 2)
    flow = tmp_path / "one.yaml"
    flow.write_text("[" + ", ".join(json.dumps(_cdr(c)) for c in ("y-1", "y-1", "y-2")) + "]\n")
    assert import_file(flow, "cdr-stats-yaml").line() == "accepted=2 duplicates=1 rejected=0"
    assert _stored() == (4, 4)


def test_rejects_of_a_one_line_document_are_one_per_record(tmp_path):
    records = [_cdr(f"r-{n}", starting_date="never") for n in range(6)]
    records.insert(3, _cdr("r-good"))
    path = tmp_path / "seven.json"
    path.write_text(json.dumps(records))
    summary = import_file(path)
    assert summary.line() == "accepted=1 duplicates=0 rejected=6"
    assert _rejects() == [(1, 1, "starting_date 'never' is not a date")] + [
        (1, i, f"record {i} of the line: starting_date 'never' is not a date") for i in (2, 3, 5, 6, 7)
    ]
    assert summary.reject_samples[-1] == (1, "record 7 of the line: starting_date 'never' is not a date")


# --- One bad value is one reject ---

HEADER = "switch,callid,destination_number,starting_date,duration,billsec,accountcode,sell_rate"


def _csv(tmp_path, *rows: str, name="hostile.csv", newline="\n", prefix="") -> Path:
    path = tmp_path / name
    path.write_bytes((prefix + newline.join([HEADER, *rows]) + newline).encode())
    return path


def test_each_bad_value_is_one_reject_naming_line_field_and_reason(tmp_path):
    path = _csv(
        tmp_path,
        "10.1.1.1,ok-1,+34650104877,2024-03-01 10:00:00,10,5,,",
        "10.1.1.1,tz-1,+34650104877,2024-03-01 10:00:00+99:00,10,5,,",
        "10.1.1.1,acct-1,+34650104877,2024-03-01 10:00:00,10,5," + "A" * 9000 + ",",
        "10.1.1.1,over-1,+34650104877,2024-03-01 10:00:00,99999999999,5,,",
        "10.1.1.1,over-2,+34650104877,2024-03-01 10:00:00,10,5,,1e999",
        "10.1.1.1,year-0,+34650104877,0000-01-01 10:00:00,10,5,,",
        "10.1.1.1," + "c" * 300 + ",+34650104877,2024-03-01 10:00:00,10,5,,",
        "10.1.1.1,num-1," + "4" * 200 + ",2024-03-01 10:00:00,10,5,,",
        "10.1.1.1,ok-2,+34650104877,2024-03-01 10:00:00+01:00,10,5,,0.01",
        "S" * 9000 + ",sw-1,+34650104877,2024-03-01 10:00:00,10,5,,",
    )
    summary = import_file(path)
    assert summary.line() == "accepted=2 duplicates=0 rejected=8"
    assert _rejects() == [
        (3, None, "starting_date '2024-03-01 10:00:00+99:00' is not a date"),
        (4, None, "accountcode is longer than 80 characters"),
        (5, None, "duration '99999999999' is not a number of seconds"),
        (6, None, "sell_rate '1e999' is not a number"),
        (7, None, "starting_date '0000-01-01 10:00:00' is not a date"),
        (8, None, "callid is longer than 255 characters"),
        (9, None, "destination_number is longer than 128 characters"),
        (11, None, "switch is longer than 80 characters"),
    ]
    assert _stored() == (2, 2)


def test_nul_and_lone_surrogates_in_json_are_rejects(tmp_path):
    path = tmp_path / "hostile.json"
    path.write_text(
        "\n".join(
            [
                json.dumps(_cdr("nul-key", **{"note\u0000": "x"})),
                '{"switch": "10.9.9.9", "callid": "surrogate", "caller_id_name": "\\ud800", '
                '"destination_number": "1", "starting_date": "2024-03-01 10:00:00"}',
                json.dumps(_cdr("extradata-nul", extradata='{"a": "\\u0000"}')),
                json.dumps(_cdr("deep", extradata={"a": json.loads("[" * 100 + "]" * 100)})),
                json.dumps(_cdr("fine")),
            ]
        )
        + "\n"
    )
    summary = import_file(path)
    assert summary.line() == "accepted=1 duplicates=0 rejected=4"
    assert [(line, reason) for line, _, reason in _rejects()] == [
        (1, "the field name 'note\\x00' holds a NUL character"),
        (2, "caller_id_name is not valid Unicode (a lone surrogate)"),
        (3, "extradata is not a JSON object"),
        (4, "extradata is nested deeper than 32 levels"),
    ]


def test_the_cli_prints_the_summary_of_a_hostile_file(app, tmp_path):
    path = _csv(tmp_path, "10.1.1.1,tz-2,+34650104877,2024-03-01 10:00:00-99:30,10,5,,")
    result = app.test_cli_runner().invoke(args=["import-cdr", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 2: starting_date '2024-03-01 10:00:00-99:30' is not a date" in result.output
    assert result.output.strip().endswith("accepted=0 duplicates=0 rejected=1")


# --- CSV as spreadsheets and switches write it ---


def test_csv_line_endings_bom_and_line_breaks_inside_quotes(tmp_path):
    rows = [
        '10.1.1.1,cr-1,+34650104877,2024-03-01 10:00:00,10,5,"acme\rsplit",',
        '10.1.1.1,cr-2,+34650104877,2024-03-01 10:00:00,10,5,"acme\nsplit",',
        "10.1.1.1,cr-3,+34650104877,2024-03-01 10:00:00,10,5,,",
    ]
    for name, newline in (("cr.csv", "\r"), ("lf.csv", "\n"), ("crlf.csv", "\r\n")):
        reset_calls()
        summary = import_file(_csv(tmp_path, *rows, name=name, newline=newline, prefix="\ufeff"))
        assert summary.line() == "accepted=3 duplicates=0 rejected=0", name
        codes = {r["callid"]: r["accountcode"] for r in db.rows("SELECT callid, accountcode FROM cdr")}
        assert codes == {"cr-1": "acme\rsplit", "cr-2": "acme\nsplit", "cr-3": None}, name
    reset_calls()
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        (HEADER + "\r\n" + rows[2] + "\r" + rows[2].replace("cr-3", "cr-4") + "\n" + "garbage" + "\r\n").encode()
    )
    assert import_file(mixed).line() == "accepted=2 duplicates=0 rejected=1"
    assert _rejects() == [(4, None, "expected 8 fields, found 1")]


def test_a_line_of_separators_is_a_rejected_record(tmp_path):
    path = _csv(tmp_path, "10.1.1.1,s-1,+34650104877,2024-03-01 10:00:00,10,5,,", ",,,,,,,", "", "   ")
    summary = import_file(path)
    assert (summary.rows_read, summary.line()) == (2, "accepted=1 duplicates=0 rejected=1")
    asterisk = tmp_path / "Master.csv"
    asterisk.write_text((SAMPLES / "asterisk_master.csv").read_text().splitlines()[0] + "\n" + "," * 17 + "\n")
    summary = import_file(asterisk, "asterisk-csv", switch="pbx-3")
    assert (summary.rows_read, summary.rejected) == (2, 1)


# --- Safe YAML ---


def test_a_yaml_alias_bomb_is_refused_within_a_second(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("- " + "\n  ".join(lines) + "\n")
    assert bomb.stat().st_size < 1000
    started = time.monotonic()
    summary = import_file(bomb, "cdr-stats-yaml")
    assert time.monotonic() - started < 1.0
    assert summary.line() == "accepted=0 duplicates=0 rejected=1"
    assert "aliases" in _rejects()[0][2]


# --- Push ---


@pytest.mark.parametrize(
    "body",
    [
        '{"variables": [1, 2]}',
        '{"variables": "abc"}',
        '{"callflow": 5, "variables": {"uuid": "x"}}',
        "[" * 5000 + "]" * 5000,
        '{"extradata": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}",
        "[" * 100 + "]" * 100,
    ],
)
def test_malformed_push_bodies_answer_400(client, push_key, body):
    response = client.post(
        "/api/v1/cdr", data=body, content_type="application/json", headers={"Authorization": f"Bearer {push_key}"}
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]


def test_push_bad_values_are_rejects_not_errors(client, push_key):
    body = (
        '[{"callid": "s-1", "caller_id_name": "\\ud800", "starting_date": "2024-03-01 10:00:00"},'
        ' {"callid": "s-2", "note\\u0000": 1, "starting_date": "2024-03-01 10:00:00"},'
        ' {"callid": "s-3", "starting_date": "2024-03-01 10:00:00+99:00"},'
        ' {"callid": "s-4", "starting_date": "2024-03-01 10:00:00"}]'
    )
    response = client.post(
        "/api/v1/cdr", data=body, content_type="application/json", headers={"Authorization": f"Bearer {push_key}"}
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["accepted"], answer["rejected"]) == (1, 3)
    assert [r["record"] for r in answer["rejects"]] == [1, 2, 3]


def test_push_bodies_over_the_limit_answer_413(client, push_key):
    from routes.api_push import MAX_BODY_BYTES

    response = client.post(
        "/api/v1/cdr",
        data=b" " * (MAX_BODY_BYTES + 1),
        content_type="application/json",
        headers={"Authorization": f"Bearer {push_key}"},
    )
    assert response.status_code == 413


# --- Collector configs ---


def test_a_relative_db_file_is_read_from_the_configs_folder(tmp_path, monkeypatch):
    import sqlite3

    folder = tmp_path / "etc"
    (folder / "sqlitedb").mkdir(parents=True)
    with sqlite3.connect(folder / "sqlitedb" / "cdr.db") as conn:
        conn.execute("CREATE TABLE cdr (uuid text, start_stamp text)")
        conn.execute("INSERT INTO cdr VALUES ('rel-1', '2024-03-01 10:00:00')")
    config = folder / "cdr-pusher.yaml"
    config.write_text("""storage_source: "sqlite3"
db_file: "./sqlitedb/cdr.db"
db_table: "cdr"
cdr_fields:
    - {orig_field: uuid, dest_field: callid}
    - {orig_field: start_stamp, dest_field: starting_date}
switch_ip: "10.50.0.1"
""")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    assert collect(config).line() == "accepted=1 duplicates=0 rejected=0"
    (folder / "sqlitedb" / "cdr.db").unlink()
    with pytest.raises(CollectorError, match=r"^db_file .*/etc/sqlitedb/cdr\.db: no such file$"):
        load_config(config)


def test_a_missing_store_is_one_line_in_the_cli(app, tmp_path):
    config = tmp_path / "gone.yaml"
    config.write_text('storage_source: "sqlite3"\ndb_file: "missing.db"\ncdr_fields: []\n')
    result = app.test_cli_runner().invoke(args=["collect", str(config)])
    assert result.exit_code != 0
    assert result.output.strip() == f"Error: db_file {tmp_path / 'missing.db'}: no such file"


# --- The upload ---


def test_uploads_of_hostile_files_end_with_their_counts(tmp_path):
    import base64

    from data.ingest.uploads import import_progress, start_upload_import

    cr_only = _csv(tmp_path, "10.1.1.1,up-1,+34650104877,2024-03-01 10:00:00,10,5,,", ",,,,,,,", newline="\r")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('- a: &a ["x","x"]\n  b: &b [*a,*a]\n  c: [*b,*b]\n')
    for path, counts in ((cr_only, (1, 0, 1)), (bomb, (0, 0, 1))):
        payload = "data:application/octet-stream;base64," + base64.b64encode(path.read_bytes()).decode()
        import_id = start_upload_import(path.name, payload, "auto", None, None)
        deadline = time.monotonic() + 30
        while (progress := import_progress(import_id))["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert progress["state"] == "done", progress
        assert (progress["accepted"], progress["duplicates"], progress["rejected"]) == counts


def test_a_json_element_too_deep_to_decode_is_one_reject_and_the_array_goes_on(tmp_path):
    deep = '{"extradata": ' + '{"a": ' * 3000 + '"]"' + "}" * 3000 + "}"
    path = tmp_path / "deep.json"
    path.write_text("[" + deep + ", " + json.dumps(_cdr("after-deep")) + "]")
    assert import_file(path).line() == "accepted=1 duplicates=0 rejected=1"
    assert _rejects() == [(1, 1, "nested deeper than 32 levels")]


def test_a_bad_element_of_a_json_array_is_one_reject_and_the_array_goes_on(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        "[" + json.dumps(_cdr("before")) + ', {"callid": "x",, "a": [1]}, ' + json.dumps(_cdr("after")) + "]"
    )
    assert import_file(path).line() == "accepted=2 duplicates=0 rejected=1"
    assert _rejects()[0][:2] == (1, 2) and "not valid JSON" in _rejects()[0][2]
