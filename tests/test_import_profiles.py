"""The built-in import profiles, each on a sample written from its format's public definition, and the
cgr-csv round trip. Where each sample's layout comes from is said in each test."""

from datetime import timedelta

import pytest

from data.core import db
from data.ingest import import_file
from data.ingest.formats import FormatError
from data.ingest.profile_choice import suggest
from data.ingest.profile_store import get_profile
from tests.ingest_helpers import SAMPLES, calls, reset_calls

PROFILES = SAMPLES / "profiles"


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()


def _summary(path, profile, switch="10.7.7.7"):
    summary = import_file(path, switch=switch, profile=get_profile(profile))
    assert summary.format == f"profile:{profile}"
    return summary


def _by_callid(*fields):
    return {k: tuple(str(c[f]) if f.endswith("_date") else c[f] for f in fields) for k, c in calls().items()}


def test_asterisk_cdr_custom_with_the_sample_mapping():
    # Layout: the Master.csv line of Asterisk's configs/samples/cdr_custom.conf.sample (legacy mapping):
    # clid, src, dst, dcontext, channel, dstchannel, lastapp, lastdata, start, answer, end, duration,
    # billsec, disposition, amaflags, accountcode, uniqueid, userfield, sequence (CSV_QUOTE'd but the last).
    summary = _summary(PROFILES / "asterisk_cdr_custom.csv", "asterisk-cdr-custom")
    assert summary.line() == "accepted=4 duplicates=0 rejected=0"
    got = _by_callid("country_code", "hangup_cause_id", "accountcode", "caller_id_name", "billsec", "duration")
    assert got == {
        "1714986000.1": ("ES", 16, "acme-01", "Alice", 120, 127),
        "1714986300.3": ("FR", 17, "acme-01", "Bob", 0, 20),
        "1714986600.5": ("CA", 19, "acme-02", "Carol", 0, 30),
        "1714986900.7": ("GB", 41, "acme-02", "Dave", 0, 1),
    }
    answered = calls()["1714986000.1"]
    assert str(answered["starting_date"]) == "2024-05-06 09:00:00+00:00"
    assert str(answered["answered_date"]) == "2024-05-06 09:00:07+00:00"
    assert answered["record_tag"] == "3" and answered["cdr_source_type"] == 4
    assert answered["extradata"]["lastapp"] == "Dial" and answered["extradata"]["disposition"] == "ANSWERED"


def test_asterisk_cdr_csv_with_newcdrcolumns_reads_as_the_built_in_format_does():
    # Layout: cdr/cdr_csv.c with loguniqueid, loguserfield and newcdrcolumns (peeraccount, linkedid,
    # sequence appended); the sample is the existing Asterisk 13 queue call of tests/samples.
    import_file(SAMPLES / "asterisk13_master.csv", switch="10.7.7.7")
    by_format = _records()
    reset_calls()
    summary = _summary(SAMPLES / "asterisk13_master.csv", "asterisk-cdr-csv")
    assert summary.rejected == 0 and summary.accepted == summary.rows_read == len(by_format)
    assert _records() == by_format


def _records() -> dict:
    """Every stored record (several may share a callid) by (callid, record_tag)."""
    fields = ("hangup_cause_id", "billsec", "duration", "linkedid", "starting_date", "answered_date", "country_code")
    return {(c["callid"], c["record_tag"]): tuple(str(c[f]) for f in fields) for c in db.rows("SELECT * FROM cdr")}


def test_freeswitch_example_template():
    # Layout: the "example" template of FreeSWITCH's conf/vanilla/autoload_configs/cdr_csv.conf.xml (15 quoted
    # fields: caller_id_name … accountcode, read_codec, write_codec); sample tests/samples/freeswitch_cdr.csv.
    summary = _summary(SAMPLES / "freeswitch_cdr.csv", "freeswitch-csv-example", switch="fs-lon-1")
    assert summary.line() == "accepted=5 duplicates=0 rejected=0"
    _check_freeswitch_calls(seconds=True)


def _check_freeswitch_calls(seconds: bool) -> None:
    got = {k[-2:]: (c["country_code"], c["hangup_cause_id"], c["billsec"], c["duration"]) for k, c in calls().items()}
    assert got == {
        "01": ("ES", 16, 60, 65),
        "03": ("FR", 17, 0, 20),
        "04": ("CA", 19, 0, 30),
        "05": (None, 16, 60, 62),
        "07": ("GB", 1, 0, 1),
    }
    answered = calls()["3f1c0c2e-8d5a-4c1e-9a0e-2b6f7c1d9e01"]
    assert str(answered["starting_date"]) == "2024-03-01 10:00:00+00:00"
    assert str(answered["answered_date"]) == ("2024-03-01 10:00:05+00:00" if seconds else "2024-03-01 10:00:00+00:00")
    assert answered["cdr_source_type"] == 3 and answered["caller_id_name"] == "Alice"
    assert calls()["3f1c0c2e-8d5a-4c1e-9a0e-2b6f7c1d9e05"]["caller_id_name"] == "Carol, Sales"


def test_freeswitch_sql_template():
    # Layout: the "sql" template of the same cdr_csv.conf.xml: INSERT INTO cdr VALUES ("…",…, "${accountcode}");
    # with 13 values (note the space before the last one); same calls as freeswitch_cdr.csv.
    summary = _summary(PROFILES / "freeswitch_sql_template.csv", "freeswitch-csv-sql", switch="fs-lon-1")
    assert summary.line() == "accepted=5 duplicates=0 rejected=0"
    _check_freeswitch_calls(seconds=True)
    assert calls()["3f1c0c2e-8d5a-4c1e-9a0e-2b6f7c1d9e01"]["accountcode"] == "acme-01"


def test_freeswitch_file_saved_again_by_a_spreadsheet():
    # The example-template file opened and saved by a spreadsheet: quotes only around "Carol, Sales", CRLF
    # line ends, times as 2024/3/1 10:00 (no seconds, no zero padding), as issue #18 saw them.
    summary = _summary(PROFILES / "freeswitch_spreadsheet.csv", "freeswitch-csv-spreadsheet", switch="fs-lon-1")
    assert summary.line() == "accepted=5 duplicates=0 rejected=0"
    _check_freeswitch_calls(seconds=False)


def test_kamailio_acc_rows_exported_as_csv():
    # Layout: Kamailio's acc table (utils/kamctl/mysql/acc-create.sql: id, method, from_tag, to_tag, callid,
    # sip_code, sip_reason, time) plus the db_extra columns of the default kamailio.cfg (src_user, src_domain,
    # src_ip, dst_ouser, dst_user, dst_domain), exported with a header; one INVITE row per call attempt, a BYE
    # row for the answered call's end.
    summary = _summary(PROFILES / "kamailio_acc.csv", "kamailio-acc-csv", switch="kamailio-1")
    assert summary.line() == "accepted=3 duplicates=0 rejected=1"
    assert summary.reject_samples == [
        (3, "record_tag 'BYE' is not a call this profile keeps (keep: record_tag=INVITE)")
    ]
    got = _by_callid("country_code", "hangup_cause_id", "caller_id_number", "record_tag", "starting_date")
    assert got == {
        "5b1f7e2c-0a41@10.0.0.5": ("ES", 16, "1001", "INVITE", "2024-05-06 09:00:00+00:00"),
        "9c2e11d4-77f0@10.0.0.5": ("FR", 17, "1002", "INVITE", "2024-05-06 09:05:00+00:00"),
        "e03f9a6b-12cd@10.0.0.6": ("GB", 1, "1003", "INVITE", "2024-05-06 09:10:00+00:00"),
    }
    answered = calls()["5b1f7e2c-0a41@10.0.0.5"]
    assert answered["answered_date"] == answered["starting_date"] and answered["extradata"]["sip_code"] == "200"
    assert calls()["9c2e11d4-77f0@10.0.0.5"]["answered_date"] is None


def test_cdr_stats_2_column_mapped_import():
    # Layout: CDR-Stats 2.x "Import CDR" (cdr/admin.py import_cdr) with its default mapping column-1 …
    # column-17 in the order of cdr/constants.py CDR_FIELD_LIST; times are FreeSWITCH *_uepoch values
    # (microseconds; 0 for a call never answered), hangup_cause_id a Q.850 code.
    summary = _summary(PROFILES / "cdr_stats_2_import.csv", "cdr-stats-2-import")
    assert summary.line() == "accepted=3 duplicates=0 rejected=0"
    got = {
        k[-2:]: (c["country_code"], c["hangup_cause_id"], c["direction"], c["billsec"], c["duration"])
        for k, c in calls().items()
    }
    assert got == {"01": ("ES", 16, 2, 60, 65), "02": ("FR", 17, 2, 0, 20), "03": ("CA", 19, 1, 0, 30)}
    first = calls()["2f6d8a1c-3b7e-4c2d-9e41-0a5b6c7d8e01"]
    assert str(first["starting_date"]) == "2024-03-01 10:00:00+00:00"
    assert str(first["answered_date"]) == "2024-03-01 10:00:05+00:00"
    assert first["extradata"]["billmsec"] == "60000"
    assert calls()["2f6d8a1c-3b7e-4c2d-9e41-0a5b6c7d8e02"]["answered_date"] is None


def test_cgr_csv_export_imports_back_into_the_same_calls(tmp_path):
    # Layout: CGRateS cdre's cgr-csv (reference/cgrates-cdr-exporter.txt), written by Dialstat's own default
    # export template; Dialstat exports answered calls only (as CGRateS's cdre exports rated ones).
    from data.export import cdr_query, exporter
    from data.export.templates import CGR_CSV_TEMPLATE

    import_file(SAMPLES / "freeswitch_cdr.csv", switch="fs-lon-1")
    fields = ("starting_date", "answered_date", "billsec", "destination_number", "accountcode", "country_code")
    before = _by_callid(*fields)
    start = min(c["starting_date"] for c in calls().values())
    run = exporter.adhoc_run(
        CGR_CSV_TEMPLATE, cdr_query.ExportFilter(time_start=start, time_end=start + timedelta(hours=1))
    )
    exported = exporter.export_to_file(run, exporter.Actor("ui", "admin"), directory="profile-round-trip").path
    lines = exported.read_text().splitlines()
    assert len(lines) == 2  # the two answered calls
    reset_calls()
    summary = _summary(exported, "cgr-csv", switch="fs-lon-1")
    assert summary.line() == "accepted=2 duplicates=0 rejected=0"
    after = _by_callid(*fields)
    assert after == {k: v for k, v in before.items() if v[1] != "None"}
    assert {c["switch_name"] for c in calls().values()} == {"fs-lon-1"}


def test_auto_names_the_profile_it_chose_and_why():
    chosen = suggest(PROFILES / "asterisk_cdr_custom.csv")
    assert chosen["profile"] == "asterisk-cdr-custom"
    assert "19 columns" in chosen["why"] and "starting_date reads as a date" in chosen["why"]
    summary = import_file(PROFILES / "kamailio_acc.csv", switch="kamailio-1")
    assert summary.format == "profile:kamailio-acc-csv" and summary.accepted == 3


def test_auto_names_the_closest_profile_when_none_fits(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("id,method,callid,sip_code,when\n1,INVITE,abc@h,200,yesterday\n")
    with pytest.raises(FormatError, match="closest is 'kamailio-acc-csv': the header has no"):
        import_file(odd, switch="x")
