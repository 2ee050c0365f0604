"""CDR export writers (CSV, FWV, hybrid) and the field ids / value formatting they use."""

import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from data.export.fields import (
    ValueFormat,
    cgrid,
    field_text,
    field_value,
    format_cost,
    format_go_time,
    format_usage,
    go_time_string,
    mask_destination,
    parse_time,
)
from data.export.formats import (
    ExportError,
    ExportRecordError,
    csv_record,
    export_file_name,
    format_field_width,
    write_export,
)
from data.export.templates import CGR_CSV_TEMPLATE, load_cdre_profile

USES_DATABASE = False  # tells the project's conftest not to start PostgreSQL for this module

UTC = timezone.utc
SAMPLE_LINE = (  # the reference page's sample export line
    "dbafe9c8614c785a65aabd116dd3959c3c56f7f6,default,*voice,dsafdsaf,rated,*out,cgrates.org,call,"
    "1001,1001,1002,2013-11-07T08:42:25Z,2013-11-07T08:42:26Z,10000000000,1.0100\n"
)


def cdr(**overrides):
    """The reference page's sample CDR as a Dialstat row."""
    row = {
        "id": 1,
        "callid": "dsafdsaf",
        "switch_ip": "192.168.1.1",
        "accountcode": "1001",
        "tenant": "cgrates.org",
        "destination_number": "1002",
        "direction": "outbound",
        "starting_date": datetime(2013, 11, 7, 8, 42, 25, tzinfo=UTC),
        "answered_date": datetime(2013, 11, 7, 8, 42, 26, tzinfo=UTC),
        "billsec": 10,
        "sell_cost": Decimal("1.01"),
        "extradata": {},
    }
    row.update(overrides)
    return row


def export(template, rows, **kwargs):
    out = io.StringIO(newline="")
    summary = write_export(template, rows, out, **kwargs)
    return out.getvalue(), summary


# --- the reference sample ----------------------------------------------------------------------------


def test_reference_sample_line_byte_for_byte():
    assert CGR_CSV_TEMPLATE.cost_rounding_decimals == 4
    text, summary = export(CGR_CSV_TEMPLATE, [cdr()])
    assert text == SAMPLE_LINE
    assert summary.exported_cgrids == ["dbafe9c8614c785a65aabd116dd3959c3c56f7f6"]
    assert summary.total_records == 1 and summary.unexported == {}


def test_cgrid_is_sha1_of_callid_and_go_utc_time_string():
    setup = datetime(2013, 11, 7, 9, 42, 25, tzinfo=timezone(timedelta(hours=1)))
    assert go_time_string(setup) == "2013-11-07 08:42:25 +0000 UTC"
    assert cgrid("dsafdsaf", setup) == "dbafe9c8614c785a65aabd116dd3959c3c56f7f6"
    with_fraction = datetime(2013, 11, 7, 8, 42, 25, 500000, tzinfo=UTC)
    assert go_time_string(with_fraction) == "2013-11-07 08:42:25.5 +0000 UTC"


# --- field ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_id", "expected"),
    [
        ("mediation_runid", "default"),
        ("tor", "*voice"),
        ("accid", "dsafdsaf"),
        ("cdrhost", "192.168.1.1"),
        ("reqtype", "rated"),
        ("direction", "*out"),
        ("tenant", "cgrates.org"),
        ("category", "call"),
        ("account", "1001"),
        ("subject", "1001"),
        ("destination", "1002"),
        ("usage", 10),
        ("cost", Decimal("1.01")),
        ("Account", "1001"),  # CGRateS's capitalised names
        ("billsec", 10),  # Dialstat columns under their own names
        ("switch_ip", "192.168.1.1"),
    ],
)
def test_cgrates_field_ids_on_a_dialstat_row(field_id, expected):
    assert field_value(cdr(), field_id) == expected


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("outbound", "*out"), ("inbound", "*in"), (2, "*out"), (1, "*in"), ("in", "*in"), (None, "")],
)
def test_direction_values(direction, expected):
    assert field_value(cdr(direction=direction), "direction") == expected


def test_tenant_source_and_extradata_lookups():
    row = cdr(tenant=None, cdr_source_type=3, extradata={"sip_code": "200"})
    assert field_value(row, "tenant", default_tenant="dialstat") == "dialstat"
    assert field_value(row, "cdrsource") == "3"
    assert field_value(cdr(cdr_source_type_name="freeswitch", cdr_source_type=3), "cdrsource") == "freeswitch"
    assert field_value(row, "sip_code") == "200"
    assert field_value(row, "no_such_field") == ""
    assert field_value(cdr(extradata='{"sip_code": "486"}'), "sip_code") == "486"  # undecoded JSON


def test_field_text_formats_times_usage_and_cost():
    value_format = ValueFormat(time_layout="2006-01-02 15:04:05", timezone=ZoneInfo("Europe/Berlin"))
    row = cdr()
    assert field_text(row, "setup_time", value_format) == "2013-11-07 09:42:25"
    assert field_text(row, "answered_date", value_format, layout="15:04") == "09:42"
    assert field_text(row, "usage", value_format) == "10000000000"
    assert field_text(row, "usage", value_format, layout="seconds") == "10"
    assert field_text(row, "cost", value_format) == "1.0100"
    assert field_text(cdr(answered_date=None, sell_cost=None), "answer_time", value_format) == ""
    assert field_text(cdr(sell_cost=None), "cost", value_format) == ""


@pytest.mark.parametrize(
    ("seconds", "unit", "expected"),
    [
        (10, "nanoseconds", "10000000000"),
        (10, "seconds", "10"),
        (90, "minutes", "1.5"),
        (100, "minutes", "1.666667"),
        (120, "minutes", "2"),
        (5400, "hours", "1.5"),
        (7200, "hours", "2"),
        (0, "minutes", "0"),
    ],
)
def test_usage_units(seconds, unit, expected):
    assert format_usage(seconds, unit) == expected


@pytest.mark.parametrize(
    ("cost", "decimals", "shift", "expected"),
    [
        ("1.01", 4, 0, "1.0100"),
        ("2.34565", 4, 0, "2.3457"),  # half up, not half even
        ("0.00005", 4, 0, "0.0001"),
        ("-0.00004", 4, 0, "0.0000"),  # no "-0.0000"
        ("1.01", 0, 2, "101"),  # in cents
        ("1.0150", -1, 0, "1.015"),  # -1: no rounding
        ("1234567.891", 2, 0, "1234567.89"),
    ],
)
def test_cost_formatting(cost, decimals, shift, expected):
    assert format_cost(Decimal(cost), decimals, shift) == expected


def test_destination_masking():
    assert mask_destination("4986517174963", 3) == "4986517174***"
    assert mask_destination("12", 5) == "**"
    value_format = ValueFormat(mask_length=4, mask_prefixes=("49", "33"))
    row = cdr(destination_number="4986517174963")
    assert field_text(row, "destination", value_format) == "498651717****"
    assert field_text(row, "destination_number", value_format) == "498651717****"
    assert field_text(cdr(destination_number="1002"), "destination", value_format) == "1002"


# --- Go time layouts ---------------------------------------------------------------------------------

MOMENT = datetime(2013, 11, 7, 8, 42, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("layout", "tz", "expected"),
    [
        ("2006-01-02T15:04:05Z07:00", UTC, "2013-11-07T08:42:05Z"),
        ("RFC3339", UTC, "2013-11-07T08:42:05Z"),
        ("RFC3339Nano", UTC, "2013-11-07T08:42:05.123456Z"),
        ("2006-01-02 15:04:05.000", UTC, "2013-11-07 08:42:05.123"),
        ("15:04:05,000000000", UTC, "08:42:05,123456000"),
        ("Mon Jan _2 15:04:05 2006", UTC, "Thu Nov  7 08:42:05 2013"),
        ("Monday January 2, 3:04PM", UTC, "Thursday November 7, 8:42AM"),
        ("06-1-2 3:4:5 pm", UTC, "13-11-7 8:42:5 am"),
        ("002 __2", UTC, "311 311"),
        ("_2006", UTC, "_2013"),
        ("020106150400", UTC, "071113084200"),  # CGRateS FWV layout: the trailing 00 is literal
        ("RFC1123", UTC, "Thu, 07 Nov 2013 08:42:05 UTC"),
        ("2006-01-02 15:04:05 -0700 MST", ZoneInfo("Europe/Berlin"), "2013-11-07 09:42:05 +0100 CET"),
        ("Z07:00|-07|-07:00:00|Z0700", ZoneInfo("Europe/Berlin"), "+01:00|+01|+01:00:00|+0100"),
        ("-0700 MST", timezone(timedelta(hours=5, minutes=30)), "+0530 +0530"),
        ("15:04 MST", ZoneInfo("America/New_York"), "03:42 EST"),
    ],
)
def test_go_layouts(layout, tz, expected):
    assert format_go_time(MOMENT, layout, tz) == expected


def test_nine_fraction_layout_drops_zeros_and_the_dot():
    assert format_go_time(datetime(2013, 11, 7, 8, 42, 5, tzinfo=UTC), "05.999") == "05"
    assert format_go_time(datetime(2013, 11, 7, 8, 42, 5, 100000, tzinfo=UTC), "05.999") == "05.1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-11-07T08:42:26Z", datetime(2013, 11, 7, 8, 42, 26, tzinfo=UTC)),
        ("2013-11-07T09:42:26+01:00", datetime(2013, 11, 7, 8, 42, 26, tzinfo=UTC)),
        ("2013-11-07 08:42:26.5", datetime(2013, 11, 7, 7, 42, 26, 500000, tzinfo=UTC)),  # in the given tz
        ("2013-11-07 08:42:26 +0000 UTC", datetime(2013, 11, 7, 8, 42, 26, tzinfo=UTC)),
        ("1383813746", datetime(2013, 11, 7, 8, 42, 26, tzinfo=UTC)),
        ("", None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, ZoneInfo("Europe/Berlin")) == expected


def test_parse_time_rejects_garbage():
    with pytest.raises(ValueError, match="as a time"):
        parse_time("yesterday")


# --- CSV ---------------------------------------------------------------------------------------------


def test_csv_quoting_follows_go_encoding_csv():
    values = ["a,b", 'say "hi"', "line\nbreak", " lead", "plain", "", "\\.", "tail "]
    assert csv_record(values) == '"a,b","say ""hi""","line\nbreak"," lead",plain,,"\\.",tail \n'
    assert csv_record(["a,b", "c;d"], ";") == 'a,b;"c;d"\n'


def test_csv_with_other_separator_and_header_record():
    template = load_cdre_profile(
        {
            "export_format": "*file_csv",
            "field_separator": ";",
            "header_fields": [
                {"tag": "H1", "type": "*constant", "value": "accid"},
                {"tag": "H2", "type": "*constant", "value": "cost;eur"},
            ],
            "content_fields": [
                {"tag": "accid", "value": "accid"},
                {"tag": "cost", "value": "cost", "width": 20},  # widths do not apply to plain CSV
            ],
        }
    )
    text, _ = export(template, [cdr(), cdr(callid='with "quote"', sell_cost=Decimal("2"))])
    assert text == 'accid;"cost;eur"\ndsafdsaf;1.0100\n"with ""quote""";2.0000\n'


def test_csv_without_header_streams_each_record_as_it_is_read():
    out = io.StringIO(newline="")

    def rows():
        for number in range(3):
            assert out.getvalue().count("\n") == number  # earlier records already written
            yield cdr(id=number, callid=f"call-{number}")

    summary = write_export(CGR_CSV_TEMPLATE, rows(), out)
    assert summary.total_records == 3
    assert out.getvalue().count("\n") == 3


def test_regexp_and_static_rules_in_csv_columns():
    template = load_cdre_profile(
        {
            "content_fields": [
                {"tag": "Destination", "value": r"~destination:s/^\+49(\d+)/0$1/"},
                {"tag": "Account", "value": "^account:MasterAccount"},
                {"tag": "Composed", "value": "accid;^sep:-;~cdrhost:s/^(\\d+)\\..*$/$1/"},
            ]
        }
    )
    text, _ = export(template, [cdr(destination_number="+4986517174963")])
    assert text == "086517174963,MasterAccount,dsafdsaf-192\n"


# --- fixed width -------------------------------------------------------------------------------------

FWV_TIME = "020106150400"
FWV_PROFILE = {
    "export_format": "*file_fwv",
    "cost_rounding_decimals": 4,
    "header_fields": [
        {"tag": "TypeOfRecord", "type": "*constant", "value": "10", "width": 2},
        {"tag": "Filler1", "type": "*filler", "width": 3},
        {
            "tag": "FileSeqNr",
            "type": "*handler",
            "value": "*export_id",
            "width": 5,
            "strip": "right",
            "padding": "zeroleft",
        },
        {"tag": "LastCdr", "type": "*handler", "value": "*last_cdr_atime", "width": 12, "layout": FWV_TIME},
        {"tag": "Created", "type": "*handler", "value": "*time_now", "width": 12, "layout": FWV_TIME},
    ],
    "content_fields": [
        {"tag": "TypeOfRecord", "type": "*constant", "value": "20", "width": 2},
        {"tag": "Account", "type": "*composed", "value": "account", "width": 12, "strip": "left", "padding": "right"},
        {
            "tag": "Destination",
            "type": "*composed",
            "value": r"~destination:s/^\+49(\d+)/0$1/",
            "width": 10,
            "strip": "xright",
            "padding": "right",
        },
        {"tag": "CallId", "type": "*composed", "value": "accid", "width": 8, "strip": "xleft", "padding": "left"},
        {"tag": "SetupTime", "type": "*datetime", "value": "setup_time", "width": 12, "layout": FWV_TIME},
        {
            "tag": "Duration",
            "type": "*composed",
            "value": "usage",
            "width": 6,
            "padding": "zeroleft",
            "layout": "seconds",
        },
        {"tag": "Cost", "type": "*composed", "value": "cost", "width": 9, "padding": "zeroleft", "mandatory": True},
    ],
    "trailer_fields": [
        {"tag": "TypeOfRecord", "type": "*constant", "value": "90", "width": 2},
        {"tag": "NumberOfRecords", "type": "*handler", "value": "*cdrs_number", "width": 6, "padding": "zeroleft"},
        {
            "tag": "CdrsDuration",
            "type": "*handler",
            "value": "*cdrs_duration",
            "width": 8,
            "padding": "zeroleft",
            "layout": "seconds",
        },
        {"tag": "TotalCost", "type": "*handler", "value": "*cdrs_cost", "width": 10, "padding": "left"},
        {"tag": "FirstCdr", "type": "*handler", "value": "*first_cdr_atime", "width": 12, "layout": FWV_TIME},
    ],
}

FWV_ROWS = [
    cdr(
        id=7,
        destination_number="+4986517174963",
        starting_date=datetime(2013, 11, 7, 8, 42, 20, tzinfo=UTC),
        sell_cost=Decimal("2.34567"),
    ),
    cdr(id=8, callid="bad", accountcode="1003", sell_cost=None),  # mandatory cost missing
    cdr(
        id=9,
        callid="aaa2-very-long-callid",
        accountcode="account-with-long-name",
        starting_date=datetime(2013, 11, 7, 7, 42, 20, tzinfo=UTC),
        answered_date=datetime(2013, 11, 7, 7, 42, 26, tzinfo=UTC),
        billsec=300,
        sell_cost=Decimal("1.40001"),
    ),
]


def test_fwv_header_content_trailer_exact_lines():
    template = load_cdre_profile(FWV_PROFILE)
    now = datetime(2013, 11, 8, 10, 0, tzinfo=UTC)
    text, summary = export(template, iter(FWV_ROWS), export_id="fwv_12345", now=now)
    assert text.split("\n") == [
        "10   fwv_1071113084200081113100000",
        "201001        086517174xdsafdsaf0711130842000000100002.3457",
        "20th-long-name1002      x-callid0711130742000003000001.4000",
        "9000000200000310    3.7457071113074200",
        "",
    ]
    bad_cgrid = cgrid("bad", FWV_ROWS[1]["starting_date"])
    assert summary.unexported == {bad_cgrid: "field 'Cost': empty value for a mandatory field"}
    assert summary.exported_cgrids == [
        cgrid("dsafdsaf", FWV_ROWS[0]["starting_date"]),
        cgrid("aaa2-very-long-callid", FWV_ROWS[2]["starting_date"]),
    ]
    assert summary.total_records == 2
    assert summary.total_cost == Decimal("3.74568")
    assert summary.total_usage_seconds == 310
    assert (summary.first_order_id, summary.last_order_id) == (7, 9)
    assert summary.first_answer_time == datetime(2013, 11, 7, 7, 42, 26, tzinfo=UTC)
    assert summary.last_answer_time == datetime(2013, 11, 7, 8, 42, 26, tzinfo=UTC)


def test_fwv_bad_cdr_is_reported_and_the_export_goes_on():
    template = load_cdre_profile(
        {
            "export_format": "fwv",
            "content_fields": [{"tag": "Account", "value": "account", "width": 4, "padding": "left"}],
        }
    )
    rows = [
        cdr(id=1, callid="a"),
        cdr(id=2, callid="b", accountcode="100200"),
        cdr(id=3, callid="c"),
        cdr(id=4, starting_date=None),
        cdr(id=5, callid="e", billsec="ten"),
    ]
    text, summary = export(template, rows)
    assert text == "1001\n1001\n"
    assert summary.total_records == 2
    assert summary.unexported == {
        cgrid("b", rows[1]["starting_date"]): "field 'Account': value '100200' is longer than the width 4 "
        "and no strip is set",
        "id:4": "CDR has no callid or starting_date, so no cgrid",
        cgrid("e", rows[4]["starting_date"]): "unreadable CDR data: invalid literal for int() with base 10: 'ten'",
    }


def test_fwv_value_shorter_than_width_without_padding_is_an_error():
    with pytest.raises(ExportRecordError, match="shorter than the width 6 and no padding"):
        format_field_width("1001", 6)


@pytest.mark.parametrize(
    ("value", "width", "strip", "padding", "expected"),
    [
        ("1234567", 5, "right", "", "12345"),
        ("1234567", 5, "left", "", "34567"),
        ("1234567", 5, "xright", "", "1234x"),
        ("1234567", 5, "xleft", "", "x4567"),
        ("123", 5, "", "left", "  123"),
        ("123", 5, "", "right", "123  "),
        ("123", 5, "", "zeroleft", "00123"),
        ("12345", 5, "", "", "12345"),
        ("anything", 0, "", "", "anything"),
    ],
)
def test_field_width_strip_and_padding(value, width, strip, padding, expected):
    assert format_field_width(value, width, strip, padding) == expected


def test_header_error_raises_and_writes_nothing():
    template = load_cdre_profile(
        {
            "export_format": "fwv",
            "header_fields": [{"tag": "Seq", "type": "*handler", "value": "*export_id", "width": 3}],
            "content_fields": [{"tag": "Account", "value": "account"}],
        }
    )
    out = io.StringIO()
    with pytest.raises(ExportError, match="cannot build the export header: field 'Seq'"):
        write_export(template, [cdr()], out, export_id="too-long")
    assert out.getvalue() == ""


def test_header_and_trailer_are_written_for_an_empty_export():
    template = load_cdre_profile(
        {
            "export_format": "fwv",
            "header_fields": [
                {"tag": "First", "type": "*handler", "value": "*first_cdr_atime", "width": 4, "padding": "right"}
            ],
            "content_fields": [{"tag": "Account", "value": "account"}],
            "trailer_fields": [
                {"tag": "Count", "type": "*handler", "value": "*cdrs_number", "width": 3, "padding": "zeroleft"}
            ],
        }
    )
    text, summary = export(template, [])
    assert text == "    \n000\n"
    assert summary.total_cost == 0 and summary.first_order_id is None


# --- hybrid CSV-FWV, masking, datetime fields ---------------------------------------------------------


def test_hybrid_csv_fwv_fits_fields_then_quotes_as_csv():
    template = load_cdre_profile(
        {
            "export_format": "*file_csv_fwv",
            "field_separator": ";",
            "header_fields": [
                {"tag": "H1", "type": "*constant", "value": "ID", "width": 10, "padding": "left"},
                {"tag": "H2", "type": "*constant", "value": "COST", "width": 8, "padding": "right"},
            ],
            "content_fields": [
                {"tag": "CallId", "value": "accid", "width": 10, "padding": "right"},
                {"tag": "Cost", "value": "cost", "width": 8, "padding": "zeroleft"},
            ],
            "trailer_fields": [
                {"tag": "Count", "type": "*handler", "value": "*cdrs_number", "width": 4, "padding": "zeroleft"}
            ],
        }
    )
    text, _ = export(template, [cdr(sell_cost=Decimal("2.34567"))])
    assert text == '"        ID";COST    \ndsafdsaf  ;002.3457\n0001\n'


def test_masked_destination_and_masked_flag():
    template = load_cdre_profile(
        {
            "mask_destination_id": "PREMIUM",
            "mask_length": 3,
            "content_fields": [
                {"tag": "Destination", "value": "destination"},
                {"tag": "Masked", "type": "*masked_destination"},
            ],
        }
    )
    rows = [cdr(callid="a", destination_number="4986517174963"), cdr(callid="b", destination_number="1002")]
    text, _ = export(template, rows, mask_prefixes=["4986", "33"])
    assert text == "4986517174***,1\n1002,0\n"


def test_datetime_fields_with_layout_timezone_and_text_sources():
    template = load_cdre_profile(
        {
            "timezone": "Europe/Berlin",
            "content_fields": [
                {"tag": "Answer", "type": "*datetime", "value": "answer_time", "layout": "2006-01-02 15:04:05 MST"},
                {"tag": "Billed", "type": "*datetime", "value": "billed_at", "layout": "RFC3339"},
                {
                    "tag": "Day",
                    "type": "*datetime",
                    "value": r"~setup_time:s/^(\d{4}-\d{2}-\d{2}).*/$1 00:00:00/",
                    "layout": "02.01.2006 15:04",
                },
            ],
        }
    )
    text, summary = export(
        template,
        [cdr(extradata={"billed_at": "2013-11-07 10:00:00"}), cdr(callid="x", extradata={"billed_at": "not a time"})],
    )
    assert text == "2013-11-07 09:42:26 CET,2013-11-07T10:00:00+01:00,07.11.2013 00:00\n"
    assert list(summary.unexported.values()) == ["field 'Billed': cannot read 'not a time' as a time"]


def test_cost_multiply_and_shift_apply_to_records_and_totals():
    template = load_cdre_profile(
        {
            "cost_rounding_decimals": 0,
            "cost_shift_digits": 2,
            "cost_multiply_factor": "1.2",
            "content_fields": [{"tag": "Cost", "value": "cost"}],
            "trailer_fields": [{"tag": "Total", "type": "*handler", "value": "*cdrs_cost"}],
        }
    )
    text, summary = export(template, [cdr(callid="a"), cdr(callid="b", sell_cost=Decimal("0.05"))])
    assert text == "121\n6\n127\n"  # 1.01*1.2=1.212 -> 121 cents; 0.05*1.2=0.06 -> 6; total 1.272 -> 127
    assert summary.total_cost == Decimal("1.272")  # exact, in currency units


def test_rsr_input_limit_makes_one_cdr_unexported():
    template = load_cdre_profile({"content_fields": [{"tag": "Note", "value": r"~note:s/\d*\d*x/y/"}]})
    rows = [cdr(callid="a", extradata={"note": "12x"}), cdr(callid="b", extradata={"note": "1" * 5000})]
    text, summary = export(template, rows)
    assert text == "y\n"
    assert "at most" in summary.unexported[cgrid("b", rows[1]["starting_date"])]


def test_summary_can_skip_collecting_cgrids_and_file_names():
    _, summary = export(CGR_CSV_TEMPLATE, [cdr()], keep_exported_cgrids=False, export_id="e1")
    assert summary.exported_cgrids == [] and summary.total_records == 1 and summary.export_id == "e1"
    now = datetime(2013, 11, 10, 17, 32, 4, tzinfo=UTC)
    assert export_file_name(CGR_CSV_TEMPLATE, now) == "cdrs_1384104724.csv"
    assert export_file_name(load_cdre_profile(FWV_PROFILE), now) == "cdrs_1384104724.fwv"


def test_large_export_with_header_spools_to_disk(monkeypatch):
    import data.export.formats as formats

    monkeypatch.setattr(formats, "SPOOL_MEMORY_BYTES", 1024)  # roll over to a real temporary file early
    template = load_cdre_profile({**FWV_PROFILE, "content_fields": FWV_PROFILE["content_fields"][:2]})
    rows = (cdr(id=number, callid=f"c{number}") for number in range(2000))
    text, summary = export(template, rows, export_id="big", now=datetime(2013, 11, 8, tzinfo=UTC))
    lines = text.split("\n")
    assert summary.total_records == 2000 and len(lines) == 2003
    assert lines[0].startswith("10   00big")
    assert lines[1] == "201001        "
    assert lines[-2].startswith("90002000")
