"""Saved import profiles: refused at save with field and reason, YAML out and in, the preview, and the
other ways in (import-cdr --profile, the watched folder, the push API ?profile=)."""

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.core import db
from data.ingest.formats import FormatError
from data.ingest.preview import preview_file
from data.ingest.profile_convert import date_converter
from data.ingest.profile_spec import ProfileError, profile_from_yaml, profile_to_yaml
from data.ingest.profile_store import delete_profile, get_profile, save_profile
from data.ingest.switches import rotate_push_key
from data.ingest.watch import import_watched_folder
from tests.ingest_helpers import calls, reset_calls

CUSTOM = (
    "call_uuid;from;to;start;talk;status;trunk\n"
    "u-1;1001;+34650104877;10/02/2020 22:41;01:05;ANSWERED;t1\n"
    "u-2;1002;+33142685300;10/02/2020 22:45;00:00;BUSY;t1\n"
    "u-3;1003;+442079460123;31/02/2020 22:50;00:00;NO ANSWER;t2\n"
)
CUSTOM_PROFILE = {
    "name": "pbx-export",
    "separator": ";",
    "fields": {
        "callid": "call_uuid",
        "caller_id_number": "from",
        "destination_number": r"~to:s/^\+(\d+)$/00${1}/",
        "starting_date": "start",
        "billsec": "talk",
        "disposition": "status",
    },
    "dates": "%d/%m/%Y %H:%M",
    "timezone": "Europe/Madrid",
    "duration_unit": "hh:mm:ss",
    "answered": "disposition=ANSWERED",
    "cause_map": {"field": "disposition", "values": {"ANSWERED": 16, "BUSY": 17, "NO ANSWER": 19}},
    "switch": "pbx-1",
}


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()
    db.execute("DELETE FROM import_profile")


@pytest.fixture
def custom_file(tmp_path):
    path = tmp_path / "pbx.csv"
    path.write_text(CUSTOM)
    return path


def test_a_bad_profile_is_refused_with_each_field_and_reason():
    bad = {
        "name": "x/y",
        "separator": ";;",
        "header": False,
        "fields": {"callid": "call_uuid", "starting_date": "~start:s/(/x/", "colour": "3"},
        "dates": "%d/%q",
        "timezone": "Mars/Olympus",
        "cause_map": {"field": "disposition", "values": {"BUSY": 300}},
    }
    with pytest.raises(ProfileError) as refused:
        save_profile(bad)
    where = dict(refused.value.problems)
    assert set(where) == {
        "name",
        "separator",
        "fields.callid",
        "fields.starting_date",
        "fields.colour",
        "dates",
        "timezone",
        "cause_map.values",
        "cause_map.field",
    }
    assert where["cause_map.field"] == "reads disposition, which has no rule in fields"
    assert "no header line" in where["fields.callid"] and "%q" in where["dates"]
    assert db.scalar("SELECT count(*) FROM import_profile") == 0
    with pytest.raises(ProfileError, match="built-in profile"):
        save_profile({**CUSTOM_PROFILE, "name": "cgr-csv"})


def test_a_saved_profile_goes_out_and_back_in_as_yaml():
    saved = save_profile(CUSTOM_PROFILE)
    text = profile_to_yaml(get_profile("pbx-export"))
    assert "separator: ;" in text.replace("'", "") and "kind" not in text  # defaults left out
    assert profile_from_yaml(text) == saved
    with pytest.raises(ProfileError, match="line 3: not valid YAML"):
        profile_from_yaml("name: a\nfields: [\n")
    assert delete_profile("pbx-export") and get_profile("pbx-export") is None


def test_the_custom_profile_imports_with_its_conversions(custom_file):
    from data.ingest import import_file

    summary = import_file(custom_file, profile=save_profile(CUSTOM_PROFILE))
    assert summary.line() == "accepted=2 duplicates=0 rejected=1"
    assert summary.reject_samples == [(4, "starting_date '2020-02-31 22:50:00' is not a date")]
    got = {
        k: (c["country_code"], c["hangup_cause_id"], c["billsec"], str(c["starting_date"])) for k, c in calls().items()
    }
    assert got == {
        "u-1": ("ES", 16, 65, "2020-02-10 21:41:00+00:00"),  # Madrid is UTC+1 in February
        "u-2": ("FR", 17, 0, "2020-02-10 21:45:00+00:00"),
    }
    assert calls()["u-1"]["switch_name"] == "pbx-1" and calls()["u-1"]["extradata"]["trunk"] == "t1"


def test_the_preview_shows_records_as_stored_with_problems_on_their_cells(custom_file):
    shown = preview_file(custom_file, profile=save_profile({**CUSTOM_PROFILE, "switch": "pbx-preview"}))
    assert shown["reader"] == "profile:pbx-export" and len(shown["rows"]) == 3
    first = shown["rows"][0]
    assert first["country"] == "Spain (ES)" and first["cause"].startswith("16 ")
    assert (
        first["answered"] is True and first["start"] == "2020-02-10 22:41:00" and first["timezone"] == "Europe/Madrid"
    )
    assert shown["rows"][1]["answered"] is False
    assert shown["problems"] == {(2, "start"): "starting_date '2020-02-31 22:50:00' is not a date"}
    assert db.scalar("SELECT count(*) FROM switch WHERE name = 'pbx-preview'") == 0  # a preview creates nothing


def test_auto_suggests_a_saved_profile(custom_file):
    save_profile(CUSTOM_PROFILE)
    shown = preview_file(custom_file)
    assert shown["reader"] == "profile:pbx-export"
    assert "'pbx-export' chosen" in shown["why"] and "6 of its 6 column names" in shown["why"]


def test_import_cdr_takes_a_profile_by_name_or_file(app, custom_file, tmp_path):
    save_profile(CUSTOM_PROFILE)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-cdr", str(custom_file), "--profile", "pbx-export", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "profile:pbx-export checked (dry run" in result.output and "accepted=2" in result.output
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text(profile_to_yaml({**CUSTOM_PROFILE, "name": "from-file"}))
    result = runner.invoke(args=["import-cdr", str(custom_file), "--profile", str(yaml_file)])
    assert result.exit_code == 0 and "accepted=2" in result.output
    result = runner.invoke(args=["import-cdr", str(custom_file), "--profile", "nope"])
    assert result.exit_code == 1 and "no import profile named 'nope'" in result.output


def test_the_watched_folder_reads_a_subfolder_with_its_profile(tmp_path):
    save_profile(CUSTOM_PROFILE)
    root = tmp_path / "watch"
    (root / "pbx-export").mkdir(parents=True)
    (root / "pbx-export" / "a.csv").write_text(CUSTOM)
    (root / "10.1.1.1").mkdir()
    (root / "10.1.1.1" / ".profile").write_text("pbx-export\n")
    (root / "10.1.1.1" / "b.csv").write_text(CUSTOM.replace("u-", "v-"))
    totals = import_watched_folder(root, settle=0)
    assert (totals["files"], totals["accepted"], totals["rejected"]) == (2, 4, 2)
    assert calls()["u-1"]["switch_name"] == "pbx-1" and calls()["v-1"]["switch_name"] == "10.1.1.1"


def test_the_push_api_reads_a_body_with_a_named_profile(client):
    save_profile(CUSTOM_PROFILE)
    _, key = rotate_push_key("10.2.2.2")
    headers = {"Authorization": f"Bearer {key}"}
    response = client.post("/api/v1/cdr?profile=pbx-export", data=CUSTOM, content_type="text/csv", headers=headers)
    assert response.status_code == 200 and response.json["accepted"] == 2 and response.json["rejected"] == 1
    assert calls()["u-1"]["switch_name"] == "10.2.2.2"
    response = client.post("/api/v1/cdr?profile=/etc/passwd", data=CUSTOM, headers=headers)
    assert response.status_code == 400 and "no import profile named" in response.json["error"]


def test_a_file_no_profile_fits_is_refused_naming_the_closest(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a;b\n1;2\n")
    with pytest.raises(FormatError, match="no import profile fits this file; the closest is"):
        preview_file(path)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(datetime(1969, 1, 1), datetime(2068, 12, 31)),
    st.sampled_from(["%d/%m/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%m-%d-%y %I:%M:%S %p", "%F %T"]),
)
def test_a_strftime_pattern_reads_what_strftime_writes(moment, pattern):
    """As strptime reads it: two-digit years 69 to 99 are 1969 to 1999, 00 to 68 are 2000 to 2068."""
    convert = date_converter(pattern)
    assert convert(moment.strftime(pattern)) == moment.strftime("%Y-%m-%d %H:%M:%S")


JSON_PROFILE = {
    "name": "json-cdrs",
    "kind": "jsonl",
    "fields": {
        "callid": "uuid",
        "caller_id_number": "caller.number",
        "destination_number": "dest",
        "starting_date": "start_epoch",
        "billsec": "billsec_ms",
        "hangup_cause": "cause",
    },
    "dates": "epoch",
    "duration_unit": "ms",
    "switch": "json-switch",
}
JSON_RECORDS = [
    {"uuid": "j-1", "caller": {"number": "1001"}, "dest": "0034650104877", "start_epoch": 1709287200,
     "billsec_ms": 60400, "cause": "NORMAL_CLEARING", "codec": "PCMA"},
    {"uuid": "j-2", "caller": {"number": "1002"}, "dest": "0033142685300", "start_epoch": "1709287320",
     "billsec_ms": 0, "cause": "USER_BUSY"},
    {"uuid": "j-3", "caller": {"number": "1003"}, "dest": "0033142685300", "start_epoch": "yesterday"},
]  # fmt: skip


@pytest.mark.parametrize("kind", ["jsonl", "json"])
def test_json_lines_and_a_json_document_under_a_record_path(tmp_path, kind):
    import json

    from data.ingest import import_file

    path = tmp_path / f"cdrs.{kind}"
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in JSON_RECORDS))
        profile = JSON_PROFILE
    else:
        path.write_text(json.dumps({"data": {"cdrs": JSON_RECORDS}}))
        profile = {**JSON_PROFILE, "kind": "json", "record_path": "data.cdrs"}
    summary = import_file(path, profile=save_profile({**profile, "name": f"json-{kind}"}))
    assert summary.line() == "accepted=2 duplicates=0 rejected=1"
    assert summary.reject_samples == [(3, "starting_date 'yesterday' is not an epoch")]
    got = {
        k: (c["country_code"], c["hangup_cause_id"], c["billsec"], str(c["starting_date"])) for k, c in calls().items()
    }
    assert got == {
        "j-1": ("ES", 16, 60, "2024-03-01 10:00:00+00:00"),
        "j-2": ("FR", 17, 0, "2024-03-01 10:02:00+00:00"),
    }
    assert calls()["j-1"]["caller_id_number"] == "1001" and calls()["j-1"]["extradata"]["codec"] == "PCMA"


@pytest.mark.parametrize(
    ("dates", "text", "iso"),
    [
        ("day-first", "10/02/2020 22:41", "2020-02-10 22:41:00"),
        ("month-first", "02/10/2020 10:41:05 PM", "2020-02-10 22:41:05"),
        ("day-first", "2020/2/10 22:41", "2020-02-10 22:41:00"),
        ("epoch_ms", "1581374460123", "2020-02-10 22:41:00.123000+00:00"),
        ("epoch_us", "1581374460000000", "2020-02-10 22:41:00+00:00"),
        ("%d %b %Y %I:%M %p", "10 Feb 2020 10:41 pm", "2020-02-10 22:41:00"),
        ("%FT%T%z", "2020-02-10T22:41:00+0100", "2020-02-10 22:41:00+0100"),
    ],
)
def test_date_conversions(dates, text, iso):
    assert date_converter(dates)(text) == iso


def test_the_preview_reads_built_in_formats_too():
    from tests.ingest_helpers import SAMPLES

    shown = preview_file(SAMPLES / "cdr_stats_mixed.csv")
    assert shown["reader"] == "cdr-stats-csv" and 0 < len(shown["rows"]) <= 20
    assert shown["problems"] and all(column for _, column in shown["problems"])
    shown = preview_file(SAMPLES / "freeswitch_cdr.csv", switch="fs-preview")
    assert shown["reader"] == "freeswitch-csv" and [r["country"] for r in shown["rows"]][:2] == [
        "Spain (ES)",
        "France (FR)",
    ]
    assert calls() == {}


def test_a_web_dry_run_leaves_its_summary_for_any_web_worker(custom_file):
    import base64
    import time

    from data.ingest.uploads import dry_run_result, import_progress, save_upload, start_upload_import

    payload = "data:text/csv;base64," + base64.b64encode(custom_file.read_bytes()).decode()
    token = save_upload("pbx.csv", payload).name
    profile = save_profile(CUSTOM_PROFILE)
    import_id = start_upload_import("pbx.csv", None, "auto", None, None, token=token, profile=profile, dry_run=True)
    deadline = time.monotonic() + 30
    while (summary := dry_run_result(import_id)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert summary.line() == "accepted=2 duplicates=0 rejected=1" and summary.rows_read == 3
    assert summary.reject_samples == [(4, "starting_date '2020-02-31 22:50:00' is not a date")]
    assert import_progress(import_id) is None and calls() == {}  # nothing stored, the dry run's row gone
