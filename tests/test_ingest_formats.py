"""Every input format imports with the right counts, countries and causes; detection; gzip."""

import gzip
import shutil

import pytest

from data.ingest import FormatError, import_file
from data.ingest.formats import detect_format
from tests.ingest_helpers import SAMPLES, calls, reset_calls


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()


def test_the_reference_example_imports_with_countries():
    summary = import_file(SAMPLES / "cdr_stats_reference.csv")
    assert (summary.format, summary.line()) == ("cdr-stats-csv", "accepted=5 duplicates=0 rejected=0")
    stored = calls()
    assert {c["country_code"] for c in stored.values()} == {"ES"}
    first = stored["96aa82fe-7bd1-11e5-a230-5c514f6a0f72"]
    assert (first["normalised_number"], first["dialcode"], first["duration"], first["billsec"]) == (
        "34798400122",
        "34",
        55,
        50,
    )
    assert first["switch_name"] == "127.0.0.1" and first["direction"] == 1 and first["hangup_cause_id"] == 16
    assert str(first["starting_date"]) == "2015-10-21 12:13:10+00:00"
    assert str(first["answered_date"]) == "2015-10-21 12:13:15+00:00"  # start + (duration - billsec)


def test_reimporting_a_file_accepts_nothing():
    import_file(SAMPLES / "cdr_stats_reference.csv")
    assert import_file(SAMPLES / "cdr_stats_reference.csv").line() == "accepted=0 duplicates=5 rejected=0"


def test_freeswitch_csv_maps_causes_and_needs_a_switch():
    with pytest.raises(FormatError, match="which switch the calls come from"):
        import_file(SAMPLES / "freeswitch_cdr.csv")
    summary = import_file(SAMPLES / "freeswitch_cdr.csv", switch="fs-lon-1")
    assert (summary.format, summary.line()) == ("freeswitch-csv", "accepted=5 duplicates=0 rejected=0")
    stored = calls()
    by_uuid = {k[-2:]: v for k, v in stored.items()}
    assert [(by_uuid[k]["country_code"], by_uuid[k]["hangup_cause_id"]) for k in ("01", "03", "04", "05", "07")] == [
        ("ES", 16),
        ("FR", 17),
        ("CA", 19),
        (None, 16),
        ("GB", 1),
    ]
    internal = by_uuid["05"]
    assert internal["normalised_number"] == "2001" and internal["caller_id_name"] == "Carol, Sales"
    answered = by_uuid["01"]
    assert str(answered["answered_date"]) == "2024-03-01 10:00:05+00:00" and answered["billsec"] == 60
    assert answered["extradata"]["read_codec"] == "PCMA" and answered["extradata"]["hangup_cause"] == "NORMAL_CLEARING"
    assert by_uuid["03"]["answered_date"] is None
    assert {c["cdr_source_type"] for c in stored.values()} == {3}
    assert {c["switch_name"] for c in stored.values()} == {"fs-lon-1"}


def test_asterisk_master_csv_maps_dispositions_and_keeps_them():
    summary = import_file(SAMPLES / "asterisk_master.csv", switch="10.9.9.9")
    assert (summary.format, summary.line()) == ("asterisk-csv", "accepted=6 duplicates=0 rejected=0")
    stored = calls()
    got = {k: (c["country_code"], c["hangup_cause_id"], c["extradata"]["disposition"]) for k, c in stored.items()}
    assert got == {
        "1709287200.1": ("ES", 16, "ANSWERED"),
        "1709287320.3": ("FR", 17, "BUSY"),
        "1709287380.5": ("CA", 19, "NO ANSWER"),
        "1709287440.7": ("DE", 34, "CONGESTION"),
        "1709287500.9": ("IT", 41, "FAILED"),
        "1709287560.11": (None, 16, "ANSWERED"),
    }
    alice = stored["1709287200.1"]
    assert alice["caller_id_name"] == "Alice" and alice["caller_id_number"] == "1001"
    assert alice["extradata"]["lastapp"] == "Dial" and alice["accountcode"] == "acme-01"
    assert stored["1709287500.9"]["extradata"]["userfield"] == "vip"
    assert {c["cdr_source_type"] for c in stored.values()} == {4}


def test_cdr_stats_json_yaml_and_xlsx(tmp_path):
    summary = import_file(SAMPLES / "cdr_stats.json")
    assert (summary.format, summary.line()) == ("cdr-stats-json", "accepted=3 duplicates=0 rejected=1")
    assert summary.reject_samples == [(13, "starting_date 'tomorrow' is not a date")]
    stored = calls()
    assert {k: c["country_code"] for k, c in stored.items()} == {
        "json-0001": "DE",
        "json-0002": "FR",
        "json-0003": "CN",
    }
    assert stored["json-0001"]["extradata"] == {"codec": "PCMA"}

    summary = import_file(SAMPLES / "cdr_stats.yaml")
    assert (summary.format, summary.line()) == ("cdr-stats-yaml", "accepted=2 duplicates=0 rejected=0")
    assert calls("c.callid LIKE 'yaml-%%'")["yaml-0002"]["extradata"] == {"note": "no answer"}

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    lines = (SAMPLES / "cdr_stats_reference.csv").read_text().splitlines()
    for line in lines:
        sheet.append([int(v) if v.isdigit() and len(v) < 6 else v for v in line.split(",")])
    book.save(tmp_path / "cdrs.xlsx")
    summary = import_file(tmp_path / "cdrs.xlsx")
    assert (summary.format, summary.line()) == ("cdr-stats-xlsx", "accepted=5 duplicates=0 rejected=0")


def test_gzip_input(tmp_path):
    target = tmp_path / "master.csv.gz"
    with open(SAMPLES / "asterisk_master.csv", "rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    summary = import_file(target, switch="pbx")
    assert (summary.format, summary.line()) == ("asterisk-csv", "accepted=6 duplicates=0 rejected=0")


@pytest.mark.parametrize(
    "sample,expected",
    [
        ("cdr_stats_reference.csv", "cdr-stats-csv"),
        ("cdr_stats_mixed.csv", "cdr-stats-csv"),
        ("freeswitch_cdr.csv", "freeswitch-csv"),
        ("asterisk_master.csv", "asterisk-csv"),
        ("cdr_stats.json", "cdr-stats-json"),
        ("cdr_stats.yaml", "cdr-stats-yaml"),
    ],
)
def test_detection_by_content(sample, expected):
    head = (SAMPLES / sample).read_bytes()[:4096]
    assert detect_format(head, "upload.bin") == expected


def test_detection_of_a_headerless_cdr_stats_file_and_refusal_of_an_unknown_one():
    line = (SAMPLES / "cdr_stats_reference.csv").read_text().splitlines()[1]
    assert detect_format(line.encode(), "x.csv") == "cdr-stats-csv"
    with pytest.raises(FormatError, match="cannot tell the format of this file"):
        detect_format(b"a;b;c\n1;2;3\n", "x.csv")
