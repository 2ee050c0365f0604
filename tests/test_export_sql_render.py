"""SQL rendering of export templates (sqlrender.py) against the Python writer, byte for byte: FWV, hybrid and
CSV templates on awkward CDRs (Unicode, padding and strip, regexps, NULLs, negative and zero costs, nanosecond
usage, time zones, values that do not fit), and the pieces it is built of (Go layouts, width fitting)."""

import io
import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from data.core import db
from data.core.settings import ROOT
from data.export import cdr_query, exporter, library, load_cdre_profile
from data.export.compiled import RowAccess
from data.export.fields import time_formatter
from data.export.formats import ExportRecordError, _ExportWriter, format_field_width
from data.export.sqlrender import fit_sql, go_layout_sql, sql_rendering
from tests.cdr_factory import AWKWARD_TEXTS, ensure_switch, insert_calls

# bench/export.py's own FWV template, so that what is tested here is what the benchmark measures.
BENCH_FWV_PROFILE = json.loads((ROOT / "bench" / "fwv_profile.json").read_text())

UTC = timezone.utc
BASE = datetime(2031, 2, 27, 22, 0, tzinfo=UTC)  # across a month end, leap-free February
WINDOW = cdr_query.ExportFilter(time_start=BASE, time_end=BASE + timedelta(days=10))


@pytest.fixture(scope="module")
def awkward(app):
    """1,500 answered CDRs with awkward values, some of which do not fit the templates' widths."""
    from data.admin import users

    rng = random.Random(31)
    customers = []
    for number, tenant in enumerate([None, "", "t\u00e9nant,one", "a-very-long-tenant-name.example.org"]):
        user = users.create_user(f"sqlrender{number}", "pass-word-1", "customer", accountcodes=(f"acc{number}",))
        db.execute("UPDATE app_user SET tenant = :t WHERE id = :id", t=tenant, id=user.id)
        customers.append((f"acc{number}", user.id))
    customers += [("", None), (None, None), ("\u00e91", None), ("123456789012345", None), (" 12", None)]
    switches = [ensure_switch("render-a", "192.168.1.1"), ensure_switch("render-b", "fe80::1:2:3:4")]
    calls = []
    for number in range(1500):
        start = BASE + timedelta(
            seconds=rng.randrange(86400 * 3), microseconds=rng.choice([0, 0, 500000, 123, 999999, 100000])
        )
        accountcode, user_id = rng.choice(customers)
        callid = rng.choice(AWKWARD_TEXTS + [f"call-{number}"] * 8 + ["9" * 200 + "x"]) + str(number)
        calls.append(
            {
                "switch_id": rng.choice(switches),
                "callid": callid,
                "starting_date": start,
                "answered_date": start + timedelta(seconds=rng.randrange(0, 40), microseconds=rng.choice([0, 7])),
                "duration": 10,
                "billsec": rng.choice([0, 1, 59, 60, 90, 100, 3599, 9999, 10000, 123456, rng.randrange(1, 4000)]),
                "progresssec": 1,
                "hangup_cause_id": 16,
                "direction": rng.choice([1, 2, 2]),
                "cdr_source_type": rng.choice([0, 1, 3]),
                "accountcode": accountcode,
                "user_id": user_id,
                "country_code": None,
                "buy_cost": None,
                "destination_number": rng.choice(
                    [
                        "34612345678",
                        "4986517174963",
                        "1002",
                        "",
                        None,
                        "+34 91",
                        "3461234567890123456789",
                        "\u0663\u0664",
                        "34",
                    ]
                ),
                "sell_cost": rng.choice(
                    [
                        None,
                        Decimal("0"),
                        Decimal("-0.00004"),
                        Decimal("0.00005"),
                        Decimal("-1.23456"),
                        Decimal("99999.99999"),
                        Decimal("123456789.12345"),
                        Decimal(rng.randrange(0, 10**7)) / 100000,
                    ]
                ),
            }
        )
    calls.append(dict(calls[0], callid="", starting_date=BASE + timedelta(hours=1)))  # no cgrid
    insert_calls(calls)
    db.execute(
        """UPDATE cdr SET extradata = jsonb_build_object('carrier', CASE WHEN id % 3 = 0 THEN 'Carrier\u00e9'
                  WHEN id % 3 = 1 THEN 'c' END) WHERE starting_date >= :b""",
        b=BASE,
    )
    for number, moment in enumerate(("infinity", "-infinity")):  # psycopg2 reads datetime.max and .min
        db.execute(
            "UPDATE cdr SET answered_date = CAST(:m AS timestamptz) WHERE callid = :c",
            m=moment,
            c=calls[10 + number]["callid"],
        )
    library.save_destination_list("RENDER", ["3461", "4986"])
    return calls


def fwv_field(tag, value, width, strip="", padding="", **extra):
    return {"tag": tag, "value": value, "width": width, "strip": strip, "padding": padding, **extra}


TEMPLATES = {
    "fwv-bench": BENCH_FWV_PROFILE,
    "fwv-everything": {
        "export_format": "*file_fwv",
        "mask_destination_id": "RENDER",
        "mask_length": 3,
        "cost_rounding_decimals": 2,
        "cost_multiply_factor": "1.5",
        "cost_shift_digits": 1,
        "header_fields": [
            {
                "tag": "First",
                "type": "*handler",
                "value": "*first_cdr_atime",
                "width": 36,
                "padding": "right",
                "layout": "Mon Jan _2 15:04:05.000000 MST 2006",
            }
        ],
        "content_fields": [
            fwv_field("Id", "cgrid", 10, "right"),
            fwv_field("Acc", "accid", 8, "xright", "left"),
            fwv_field("Account", "account", 5, "left", "zeroleft"),
            fwv_field("Regexp", r"~destination:s/^34(\d+)/0$1/", 12, "xleft", "right"),
            fwv_field("Dest", "destination", 6, "right", "right"),
            {"tag": "Masked", "type": "*masked_destination", "width": 2, "padding": "zeroleft"},
            fwv_field("Setup", "setup_time", 19, type="*datetime", layout="Jan _2 15:04:05.000"),
            fwv_field("Answer", "answer_time", 40, "", "right", layout="2006-01-02T15:04:05.999999999Z07:00"),
            fwv_field("Yday", "AnswerTime", 30, "right", "left", layout="002 __2 Monday January 3:04PM pm ,999"),
            fwv_field("Nanos", "usage", 15, "", "zeroleft"),
            fwv_field("Seconds", "usage", 4, "", "left", layout="seconds"),
            fwv_field("Minutes", "usage", 10, "", "left", layout="minutes"),
            fwv_field("Cost", "cost", 8, "", "left"),
            fwv_field("Dir", "Direction", 4, "right", "right"),
            fwv_field("Tenant", "tenant", 10, "right", "right"),
            fwv_field("Host", "cdrhost", 15, "", "left"),
            fwv_field("Source", "cdrsource", 10, "", "right"),
            fwv_field("Composed", "^p:<;accid;^s:>", 12, "xright", "right"),
            {"tag": "Filler", "type": "*filler", "width": 3},
            {"tag": "Const", "type": "*constant", "value": "ab", "width": 4, "padding": "left"},
            {
                "tag": "Export",
                "type": "*handler",
                "value": "*export_id",
                "width": 6,
                "strip": "left",
                "padding": "zeroleft",
            },
            fwv_field("Carrier", "carrier", 6, "right", "right"),
            fwv_field("Mandatory", "account", 4, "right", "right", mandatory=True),
        ],
        "trailer_fields": [
            {"tag": "N", "type": "*handler", "value": "*cdrs_number", "width": 8, "padding": "zeroleft"},
            {"tag": "Cost", "type": "*handler", "value": "*cdrs_cost", "width": 14, "padding": "left"},
            {"tag": "Usage", "type": "*handler", "value": "*cdrs_duration", "width": 20, "padding": "left"},
            {
                "tag": "Last",
                "type": "*handler",
                "value": "*last_cdr_atime",
                "width": 26,
                "padding": "left",
                "layout": "RFC3339Nano",
            },
        ],
    },
    "hybrid": {
        "export_format": "*file_csv_fwv",
        "field_separator": ";",
        "content_fields": [
            fwv_field("Acc", "accid", 10, "xright", "left"),
            fwv_field("Account", "account", 6, "left", "right"),
            fwv_field("Tenant", "tenant", 12, "right", "zeroleft"),
            fwv_field("Regexp", r"~accid:s/^(\w+)/$1;x/", 8, "right", "right"),
            fwv_field("Cost", "cost", 12, "", "left"),
            {"tag": "Sep", "type": "*constant", "value": "a;b", "width": 4, "padding": "right"},
            fwv_field("Answer", "answer_time", 20, "right", "right"),
        ],
    },
    "zones": {  # times in a zone other than UTC are Python cells; the rest is SQL
        "export_format": "*file_fwv",
        "timezone": "Asia/Kathmandu",
        "time_layout": "2006-01-02 15:04:05 -07:00",
        "content_fields": [
            fwv_field("Setup", "setup_time", 25, type="*datetime"),
            fwv_field("Answer", "answer_time", 30, "right", "right", layout="Jan 2 15:04:05.999 MST"),
            fwv_field("Acc", "accid", 12, "xleft", "right"),
        ],
    },
    "csv-mixed": {
        "field_separator": ",",
        "timezone": "America/New_York",
        "cost_rounding_decimals": -1,
        "usage_unit": "hours",
        "content_fields": [
            {"tag": "Acc", "value": "accid"},
            {"tag": "Id", "value": "cgrid"},
            {"tag": "Regexp", "value": r"~destination:s/^34(\d+)/0$1/"},
            {"tag": "Account", "value": "account", "mandatory": True},
            {"tag": "Usage", "value": "usage"},
            {"tag": "Cost", "value": "cost"},
            {"tag": "Answer", "value": "answer_time"},
            {"tag": "Nanos", "value": "usage", "layout": "nanoseconds"},
            {"tag": "Carrier", "value": "carrier"},
            {"tag": "Tenant", "value": "tenant"},
            {"tag": "Spaced", "value": "^s: ;usage"},
            {"tag": "Quoted", "value": '^q:";billsec;^e:"'},
            {"tag": "Const", "value": r"~reqtype:s/^(\w+)$/,$1/;^t:-;category"},
            {"tag": "Dir", "value": "direction"},
            {"tag": "Setup", "value": "setup_time", "layout": "Jan _2 15:04"},
            {"tag": "Setup2", "value": "setup_time", "layout": "2006-01-02 15:04"},
            {"tag": "Odd", "value": "cgrid_key;answered_text;failed;piece_0"},  # extradata keys, not the query's
        ],
    },
    "csv-semicolon": {  # cells that need no quotes with one separator need them with another
        "field_separator": ";",
        "time_layout": "2006;01;02",
        "content_fields": [
            {"tag": "Answer", "value": "answer_time"},
            {"tag": "Const", "value": "^x:a;^y: b"},
            {"tag": "Usage", "value": "^s: ;billsec"},
            {"tag": "Dir", "value": "direction"},
            {"tag": "Sep", "type": "*constant", "value": "x;y"},
            {"tag": "Acc", "value": "account"},
            {"tag": "Regexp", "value": r"~billsec:s/^(\d)(\d*)$/$1;$2/"},
        ],
    },
    "regexp-limit": {  # (\d+)(\d+)x takes values of up to 157 characters: longer callids are not exported
        "export_format": "*file_fwv",
        "content_fields": [
            fwv_field("Digits", r"~accid:s/(\d+)(\d+)x/$2/", 8, "left", "right"),
            fwv_field("Account", "account", 6, "right", "right"),
        ],
    },
    "too-narrow": {  # no strip: every account longer than 3 characters is left out
        "export_format": "*file_fwv",
        "content_fields": [
            fwv_field("Account", "account", 3, "", "right"),
            fwv_field("Acc", "accid", 5, "right", "left"),
        ],
    },
}


def export_text(run: exporter.ExportRun) -> tuple[str, object]:
    out = io.StringIO(newline="")
    with db.raw_connection() as conn:
        summary = exporter.stream_export(conn, run, out)
    return out.getvalue(), summary


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_sql_rendering_is_byte_identical_to_the_python_writer(awkward, name):
    template = load_cdre_profile(TEMPLATES[name], name=name)
    prefixes = library.mask_prefixes(template.mask_destination_id)
    value_format = template.value_format(default_tenant="dflt.org", mask_prefixes=prefixes)
    writer = _ExportWriter(template, value_format, "x", datetime.now(UTC), False, RowAccess())
    assert sql_rendering(template, value_format, writer._handler_text) is not None, "rendered by SQL"
    now = datetime(2031, 3, 9, 12, tzinfo=UTC)
    runs = [
        exporter.ExportRun(
            template,
            cdr_query.ExportFilter(),
            export_id="e;42",
            now=now,
            default_tenant="dflt.org",
            mask_prefixes=prefixes,
            sql_rendering=flag,
        )
        for flag in (True, False)
    ]
    (sql_text, sql_summary), (python_text, python_summary) = export_text(runs[0]), export_text(runs[1])
    assert sql_text == python_text
    assert sql_summary == python_summary
    assert sql_summary.total_records + len(sql_summary.unexported) == len(awkward)
    assert any(key.startswith("id:") for key in sql_summary.unexported)  # the CDRs without a callid
    if name in ("fwv-bench", "fwv-everything", "regexp-limit", "too-narrow"):  # some rows take the Python path
        assert len(sql_summary.unexported) > 2 and sql_summary.total_records > 100


def test_the_rows_sql_cannot_render_are_reported_as_the_python_writer_does(awkward):
    template = load_cdre_profile(TEMPLATES["regexp-limit"])
    _text, summary = export_text(exporter.ExportRun(template, WINDOW))
    reasons = set(summary.unexported.values())
    assert any(reason.startswith("field 'Digits': RSR rule") and "at most 157" in reason for reason in reasons)
    template = load_cdre_profile(TEMPLATES["too-narrow"])
    _text, summary = export_text(exporter.ExportRun(template, WINDOW))
    assert "field 'Account': value 'acc1' is longer than the width 3 and no strip is set" in summary.unexported.values()


def test_an_unrenderable_constant_leaves_every_cdr_out_on_both_paths(awkward):
    template = load_cdre_profile(
        {
            "export_format": "*file_fwv",
            "content_fields": [
                {"tag": "C", "type": "*constant", "value": "abc", "width": 2},
                fwv_field("A", "account", 4, "right", "left"),
            ],
        }
    )
    (sql_text, sql_summary), (python_text, python_summary) = (
        export_text(exporter.ExportRun(template, cdr_query.ExportFilter(), sql_rendering=flag))
        for flag in (True, False)
    )
    assert sql_text == python_text == "" and sql_summary == python_summary
    assert len(sql_summary.unexported) == len(awkward)


# --- the pieces ----------------------------------------------------------------------------------------

MOMENTS = [
    datetime(2031, 1, 1, 0, 0, 0),
    datetime(2031, 12, 31, 23, 59, 59, 999999),
    datetime(2032, 2, 29, 12, 0, 0, 5),
    datetime(2031, 7, 4, 11, 5, 9, 120000),
    datetime(99, 3, 9, 13, 0, 1, 100),
    datetime(1999, 10, 10, 0, 30),
]
LAYOUTS = [
    "RFC3339",
    "RFC3339Nano",
    "RFC1123",
    "RFC1123Z",
    "RFC822",
    "RFC822Z",
    "ANSIC",
    "UnixDate",
    "Kitchen",
    "DateTime",
    "DateOnly",
    "TimeOnly",
    "020106150405",
    "20060102150405",
    "2006-01-02T15:04:05.000Z07:00",
    "Jan _2 15:04:05.000000",
    "002 __2 Monday January 3:04:05 PM pm",
    ".9 .99 .999999 .9999999 ,000000000",
    '"quoted" \\back\\ 2006',
    "Mon Jan 2 15:04:05 -0700 MST 2006",
    "-07 -07:00:00 Z070000 Z07",
    "1 2 3 4 5 06",
    "DDD MM HH24 YYYY",
    "03:04:05PM -07:00 -070000",
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_go_layouts_in_sql_match_python(app, layout):
    from data.export.fields import resolve_layout

    params: dict = {}

    def literal(text):
        params[f"p{len(params)}"] = text
        return f"%(p{len(params) - 1})s"

    expression = go_layout_sql("t", resolve_layout(layout), UTC, literal)
    assert expression is not None
    values = ", ".join(f"(%(m{index})s::timestamp)" for index in range(len(MOMENTS)))
    params.update({f"m{index}": moment for index, moment in enumerate(MOMENTS)})
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {expression} FROM (VALUES {values}) v(t)", params)
        rendered = [row[0] for row in cur.fetchall()]
    assert rendered == [time_formatter(layout, UTC)(moment) for moment in MOMENTS]


FIT_VALUES = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "abcdefgh",
    "\u00e9\u00e9\u00e9",
    "\U0001f4de\U0001f4de",
    " x ",
    "-1.5",
    "e\u0301",
]


def test_width_fitting_in_sql_matches_python(app):
    cases = [
        (width, strip, padding, mandatory)
        for width in (0, 1, 2, 3, 5)
        for strip in ("", "left", "right", "xleft", "xright")
        for padding in ("", "left", "right", "zeroleft")
        for mandatory in (False, True)
    ]
    selects = [fit_sql("v", *case)[0] for case in cases]
    values = ", ".join(f"(%(v{index})s::text)" for index in range(len(FIT_VALUES)))
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(selects)} FROM (VALUES {values}) t(v)",
            {f"v{index}": value for index, value in enumerate(FIT_VALUES)},
        )
        rows = cur.fetchall()
    for value, row in zip(FIT_VALUES, rows, strict=True):
        for case, rendered in zip(cases, row, strict=True):
            try:
                expected = format_field_width(value, *case)
            except ExportRecordError:
                expected = None
                assert fit_sql("v", *case)[1], f"{case} can fail"
            assert rendered == expected, (value, case)


# --- the Python writer's fast paths against the exact functions ------------------------------------


def test_compiled_width_fitting_matches_format_field_width():
    from data.export.compiled import fit_function

    for width in (0, 1, 2, 3, 5):
        for strip in ("", "left", "right", "xleft", "xright"):
            for padding in ("", "left", "right", "zeroleft"):
                for mandatory in (False, True):
                    fit = fit_function(width, strip, padding, mandatory)
                    for value in FIT_VALUES:
                        try:
                            expected = format_field_width(value, width, strip, padding, mandatory)
                        except ExportRecordError:
                            expected = None
                        try:
                            fitted = value if fit is None else fit(value)
                        except ExportRecordError:
                            fitted = None
                        assert fitted == expected, (value, width, strip, padding, mandatory)


@pytest.mark.parametrize("layout", ["020106150405", "20060102150405", "2006-01-02 15:04:05", "%Y 2006 %% 01", "002"])
def test_numeric_layouts_match_the_element_by_element_formatter(layout):
    from zoneinfo import ZoneInfo

    from data.export.fields import _format_element, _layout_elements

    def by_element(moment, tz):
        moment = moment.astimezone(tz)
        return "".join(_format_element(moment, text) if element else text for element, text in _layout_elements(layout))

    rng = random.Random(5)
    for tz in (UTC, ZoneInfo("Asia/Kathmandu"), ZoneInfo("America/New_York")):
        formatter = time_formatter(layout, tz)
        assert formatter.__name__ == "numeric_layout"
        for _ in range(500):
            moment = datetime(rng.randrange(2, 9999), 1, 1, tzinfo=UTC) + timedelta(
                seconds=rng.randrange(366 * 86400), microseconds=rng.randrange(10**6)
            )
            assert formatter(moment) == by_element(moment, tz)
            assert formatter(moment.replace(tzinfo=None)) == by_element(moment, tz)  # naive: UTC


def test_the_characters_a_layout_can_write_are_all_known():
    """A time cell is left out of the CSV quoting checks when its characters cannot need quotes."""
    from data.export.fields import resolve_layout
    from data.export.sqlrender import _layout_chars

    for layout in LAYOUTS:
        chars = _layout_chars(resolve_layout(layout))
        for moment in MOMENTS:
            text = time_formatter(layout, UTC)(moment)
            assert chars is None or set(text) <= chars, (layout, text)
            assert chars is not None or any(char.isspace() or char in '"\\' for char in text) or "_2" in layout


def test_the_benchmark_templates_leave_python_only_what_sql_cannot_do(app):
    """What keeps bench/export.py's templates fast: only the regexp field (FWV) and the cgrid (cgr-csv) are
    Python cells, and cgr-csv has no row SQL could fail on (no raw columns fetched for the fallback)."""
    from data.export import CGR_CSV_TEMPLATE

    fwv = load_cdre_profile(TEMPLATES["fwv-bench"])
    for template, python_tags, can_fail in ((fwv, ["Destination"], True), (CGR_CSV_TEMPLATE, ["cgrid"], False)):
        rendering = sql_rendering(template, template.value_format(default_tenant="t"), lambda _field: "bench")
        assert [template.content_fields[index].tag for index in rendering.python_fields] == python_tags
        assert rendering.can_fail is can_fail
