"""Export templates bounded at save (every way in: the store the UI uses, the shell, JSON-RPC), with the field and
the reason, and JSON-RPC never answering 500 to a request's content. Each case is one of the issue's probes: a width
of 100,000,000, a 220,000-character layout, cost_multiply_factor 1e999999, 10,000 content fields, an export_dir
outside EXPORT_DIR, a 5,000-character ExportDir, OrderIdStart -1e30, TimeStart "9999999999999999999999", the
CGRateS reference "*xml:CDRE-FW1" and an unknown field id."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.admin import api_tokens, users
from data.export import library
from data.export.templates import (
    CGR_CSV_TEMPLATE,
    MAX_FIELDS,
    MAX_LAYOUT,
    MAX_RECORD_WIDTH,
    MAX_WIDTH,
    TemplateError,
)
from tests.test_export_jsonrpc import call

BASE = CGR_CSV_TEMPLATE.to_cdre_profile()
FIELD = {"tag": "Account", "type": "*composed", "value": "account"}


def _problems(profile: dict) -> list[str]:
    with pytest.raises(TemplateError) as refused:
        library.save_template("bounded", profile)
    return refused.value.problems


@pytest.fixture(scope="module")
def admin_token(app):
    return api_tokens.create_token(users.get_user_by_name("admin").id, "limits")


def test_a_huge_width_is_refused_naming_the_field(app):
    problems = _problems({**BASE, "export_format": "*file_fwv", "content_fields": [{**FIELD, "width": 100_000_000}]})
    assert problems == [
        f"content_fields[0]: field 'Account': width must be a whole number from 0 to {MAX_WIDTH}, not 100000000"
    ]


def test_widths_adding_up_past_the_record_limit_are_refused(app):
    fields = [{**FIELD, "width": MAX_WIDTH, "padding": "right"} for _ in range(MAX_RECORD_WIDTH // MAX_WIDTH + 1)]
    problems = _problems({**BASE, "export_format": "*file_fwv", "content_fields": fields})
    assert any("content_fields: the widths add up to" in p and str(MAX_RECORD_WIDTH) in p for p in problems)


def test_a_long_time_layout_is_refused(app):
    assert _problems({**BASE, "time_layout": "2006" * 55_000}) == [
        f"time_layout is 220000 characters long, over the limit of {MAX_LAYOUT}"
    ]
    field = {"tag": "T", "type": "*datetime", "value": "setup_time", "layout": "2006" * 100}
    assert (
        "content_fields[0]: field 'T': layout is 400 characters long"
        in _problems({**BASE, "content_fields": [field]})[0]
    )


@pytest.mark.parametrize("factor", ["1e999999", "-1", "NaN", "1000001", "0.0000000000001", True])
def test_an_unusable_cost_factor_is_refused(app, factor):
    [problem] = _problems({**BASE, "cost_multiply_factor": factor})
    assert problem.startswith("cost_multiply_factor must be a number from 0 to 1000000")


def test_too_many_fields_are_refused(app):
    problems = _problems({**BASE, "content_fields": [FIELD] * 10_000})
    assert problems == [f"content_fields: 10000 fields, over the limit of {MAX_FIELDS}"]


def test_an_export_dir_outside_export_dir_is_refused_at_save(app):
    [problem] = _problems({**BASE, "export_dir": "/etc"})
    assert problem.startswith("export_dir: the export directory must be EXPORT_DIR")
    assert _problems({**BASE, "export_dir": "x" * 300})[0].startswith("export_dir is 300 characters long")


def test_an_unknown_field_id_is_refused_and_known_ones_saved(app):
    problems = _problems({**BASE, "content_fields": [FIELD, {"tag": "Oops", "type": "*composed", "value": "acount"}]})
    assert problems == [
        "content_fields[1] (tag 'Oops'): unknown field id 'acount' (not a CGRateS field, a CDR column, "
        "or a key of the extra data of recent calls)"
    ]
    known = [FIELD, {"tag": "C", "type": "*composed", "value": "caller_id_number"}, {"tag": "I", "value": "switch_ip"}]
    library.save_template("known-ids", {**BASE, "content_fields": [{"type": "*composed", **f} for f in known]})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    width=st.integers(min_value=-(10**12), max_value=10**12),
    layout=st.text(max_size=300),
    factor=st.one_of(st.decimals(allow_nan=True), st.text(max_size=20), st.integers()),
)
def test_a_template_that_saves_is_within_the_limits(app, width, layout, factor):
    profile = {
        **BASE,
        "export_format": "*file_fwv",
        "time_layout": layout or "x",
        "cost_multiply_factor": str(factor),
        "content_fields": [{**FIELD, "width": width, "padding": "right", "strip": "right"}],
    }
    try:
        saved = library.validate_template("hypo", profile)
    except TemplateError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
        return
    assert 0 <= saved.content_fields[0].width <= MAX_WIDTH and len(saved.time_layout) <= MAX_LAYOUT
    assert 0 <= saved.cost_multiply_factor <= 1_000_000


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"ExportTemplate": ",".join(["account"] * 5000)}, "5000 fields, over the limit"),
        ({"ExportDir": "d" * 5000}, "ExportDir: text of at most"),
        ({"OrderIdStart": -1e30}, "OrderIdStart: a whole number from 0"),
        ({"OrderIdStart": -(10**30)}, "OrderIdStart: a whole number from 0"),
        ({"TimeStart": "9999999999999999999999"}, "TimeStart"),
        ({"TimeStart": 9999999999999999999999}, "TimeStart"),
        ({"ExportTemplate": "*xml:CDRE-FW1"}, "no export template named 'CDRE-FW1'"),
        ({"ExportTemplate": "*cfg:nope"}, "no export template named 'nope'"),
        ({"ExportTemplate": "cgrid,acount"}, "unknown field id 'acount'"),
        ({"ExportFileName": ["x"]}, "ExportFileName"),
        ({"CdrFormat": ["csv"]}, "CdrFormat"),
        ({"MaskDestinationId": "m" * 500}, "MaskDestinationId"),
        ({"CostDecimals": 10**40}, "CostDecimals"),
        ({"FieldSeparator": "ab"}, "field_separator"),
    ],
)
def test_json_rpc_answers_an_error_object_never_500(client, admin_token, params, says):
    response = call(client, admin_token, "ApierV1.ExportCdrsToFile", params)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["result"] is None and says in body["error"], body["error"]


def test_a_profile_reference_loads_the_saved_template_of_that_id(app, client, admin_token):
    library.save_template("CDRE-FW1", BASE)
    body = call(client, admin_token, "ApierV1.ExportCdrsToFile", {"ExportTemplate": "*xml:CDRE-FW1"}).get_json()
    assert body["error"] is None and body["result"]["TotalRecords"] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["TimeStart", "TimeEnd", "ExportTemplate", "ExportDir", "OrderIdStart", "OrderIdEnd", "CostDecimals"]
            + ["MaskLength", "FieldSeparator", "CdrFormat", "Accounts", "ExportId", "ExportFileName"]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(10**30), max_value=10**30),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=40),
            st.lists(st.text(max_size=5), max_size=3),
        ),
        max_size=4,
    )
)
def test_no_parameters_make_json_rpc_answer_500(client, admin_token, params):
    response = call(client, admin_token, "ApierV1.ExportCdrsToFile", params)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["error"] is None) != (body["result"] is None)
    assert not (body["error"] or "").startswith("internal error")
