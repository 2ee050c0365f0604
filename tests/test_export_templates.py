"""Export templates: the cdre profile model, loading from dict / JSON / YAML, save-time validation."""

import json
from decimal import Decimal

import pytest

from data.export import templates

USES_DATABASE = False  # tells the project's conftest not to start PostgreSQL for this module

PROFILE = {
    "export_format": "*file_fwv",
    "field_separator": ";",
    "cost_rounding_decimals": 2,
    "cost_shift_digits": 2,
    "cost_multiply_factor": 1.1,
    "mask_destination_id": "PREMIUM",
    "mask_length": 3,
    "export_dir": "/var/spool/dialstat/export",
    "time_layout": "DateTime",
    "timezone": "Europe/Berlin",
    "usage_unit": "seconds",
    "header_fields": [{"tag": "Type", "type": "*constant", "value": "10", "width": 2}],
    "content_fields": [
        {"tag": "Account", "type": "*composed", "value": "account", "width": 30, "padding": "left"},
        {
            "tag": "Destination",
            "type": "*composed",
            "value": r"~destination:s/^\+49(\d{1,3})(\d+)/0$1$2/",
            "width": 20,
            "strip": "xright",
            "padding": "right",
            "mandatory": True,
        },
        {"tag": "Answer", "type": "*datetime", "value": "answer_time", "layout": "020106150405", "width": 12},
    ],
    "trailer_fields": [
        {"tag": "Count", "type": "*handler", "value": "*cdrs_number", "width": 6, "padding": "zeroleft"},
        {"tag": "Filler", "type": "*filler", "width": 10},
    ],
}


def problems_of(profile) -> list[str]:
    with pytest.raises(templates.TemplateError) as caught:
        templates.load_cdre_profile(profile)
    assert caught.value.problems == templates.validate_cdre_profile(profile)
    return caught.value.problems


# --- loading -----------------------------------------------------------------------------------------


def test_load_profile_from_a_dict():
    template = templates.load_cdre_profile(PROFILE, name="carrier-fwv")
    assert template.name == "carrier-fwv"
    assert template.export_format == "fwv"
    assert template.field_separator == ";"
    assert (template.cost_rounding_decimals, template.cost_shift_digits) == (2, 2)
    assert template.cost_multiply_factor == Decimal("1.1")  # exactly, not the float's 1.100000000000000088...
    assert (template.mask_destination_id, template.mask_length) == ("PREMIUM", 3)
    assert (template.time_layout, template.timezone) == ("DateTime", "Europe/Berlin")
    assert template.usage_unit == "seconds"
    assert template.content_fields[0] == templates.ExportField(
        tag="Account", type="*composed", value="account", width=30, padding="left"
    )
    destination = template.content_fields[1]
    assert (destination.strip, destination.mandatory) == ("xright", True)
    assert [rsr.field_id for rsr in destination.rsr_fields] == ["destination"]
    assert template.trailer_fields[1].type == "*filler"
    assert template.value_format().time_layout == "2006-01-02 15:04:05"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("*file_csv", "csv"),
        ("csv", "csv"),
        ("*file_fwv", "fwv"),
        ("fwv", "fwv"),
        ("*file_csv_fwv", "csv_fwv"),
        ("csv_fwv", "csv_fwv"),
    ],
)
def test_export_format_names(given, normalised):
    assert templates.load_cdre_profile({**PROFILE, "export_format": given}).export_format == normalised


def test_load_profile_from_json_and_yaml_files(tmp_path):
    json_path = tmp_path / "carrier.json"
    json_path.write_text(json.dumps(PROFILE))
    from_json = templates.load_cdre_profile(json_path)
    assert from_json.name == "carrier"
    assert from_json.cost_multiply_factor == Decimal("1.1")

    yaml_path = tmp_path / "carrier.yaml"
    yaml_path.write_text(
        "export_format: '*file_fwv'\n"
        "field_separator: ';'\n"
        "cost_rounding_decimals: 2\n"
        "cost_shift_digits: 2\n"
        "cost_multiply_factor: 1.1\n"
        "mask_destination_id: PREMIUM\n"
        "mask_length: 3\n"
        "export_dir: /var/spool/dialstat/export\n"
        "time_layout: DateTime\n"
        "timezone: Europe/Berlin\n"
        "usage_unit: seconds\n"
        "header_fields:\n"
        "  - {tag: Type, type: '*constant', value: '10', width: 2}\n"
        "content_fields:\n"
        "  - {tag: Account, type: '*composed', value: account, width: 30, padding: left}\n"
        "  - tag: Destination\n"
        "    type: '*composed'\n"
        "    value: '~destination:s/^\\+49(\\d{1,3})(\\d+)/0$1$2/'\n"
        "    width: 20\n"
        "    strip: xright\n"
        "    padding: right\n"
        "    mandatory: true\n"
        "  - {tag: Answer, type: '*datetime', value: answer_time, layout: '020106150405', width: 12}\n"
        "trailer_fields:\n"
        "  - {tag: Count, type: '*handler', value: '*cdrs_number', width: 6, padding: zeroleft}\n"
        "  - {tag: Filler, type: '*filler', width: 10}\n"
    )
    from_yaml = templates.load_cdre_profile(yaml_path, name="carrier")
    assert from_yaml == from_json == templates.load_cdre_profile(PROFILE, name="carrier")


def test_load_a_whole_cgrates_config_with_old_key_names():
    config = {
        "cdre": {
            "*default": {
                "cdr_format": "fwv",
                "export_path": "/tmp/out",
                "content_fields": [{"tag": "Account", "value": "Account"}],
            }
        }
    }
    template = templates.load_cdre_profile(config)
    assert (template.name, template.export_format, template.export_dir) == ("*default", "fwv", "/tmp/out")


def test_pick_one_of_several_cgrates_profiles():
    config = {
        "cdre": {
            "a": {"content_fields": [{"value": "accid"}]},
            "b": {"content_fields": [{"value": "cost"}]},
        }
    }
    assert templates.load_cdre_profile(config, profile="b").content_fields[0].value == "cost"
    with pytest.raises(templates.TemplateError, match="several cdre profiles"):
        templates.load_cdre_profile(config)


def test_unreadable_files_are_template_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(templates.TemplateError, match="cannot parse"):
        templates.load_cdre_profile(broken)
    with pytest.raises(templates.TemplateError, match="cannot read"):
        templates.load_cdre_profile(tmp_path / "missing.yaml")


def test_round_trip_through_a_cdre_profile_dict():
    template = templates.load_cdre_profile(PROFILE, name="carrier")
    profile = template.to_cdre_profile()
    json.dumps(profile)  # JSON-ready, e.g. for a database column
    assert profile["export_format"] == "*file_fwv"
    assert profile["content_fields"][0] == {
        "tag": "Account",
        "type": "*composed",
        "value": "account",
        "width": 30,
        "padding": "left",
    }
    assert templates.load_cdre_profile(profile, name="carrier") == template


# --- save-time validation ----------------------------------------------------------------------------


def test_bad_rsr_rule_is_reported_with_section_tag_rule_and_offset():
    profile = {
        **PROFILE,
        "content_fields": [
            {"tag": "Account", "value": "account"},
            {"tag": "Destination", "value": "~account:s/^*+(Account123)$/$1-processed/"},
        ],
    }
    assert problems_of(profile) == [
        "content_fields[1]: field 'Destination': RSR rule '~account:s/^*+(Account123)$/$1-processed/', "
        "offset 12: nothing to repeat"
    ]


def test_all_problems_are_collected():
    profile = {
        "export_format": "*file_xml",
        "field_separator": "",
        "cost_rounding_decimals": 20,
        "cost_multiply_factor": "abc",
        "timezone": "Mars/Olympus",
        "usage_unit": "fortnights",
        "surprise": 1,
        "header_fields": [{"tag": "Acc", "type": "*composed", "value": "account"}],
        "content_fields": [
            {"tag": "Width", "value": "account", "width": -1},
            {"tag": "Strip", "value": "account", "strip": "middle", "padding": "centre"},
            {"tag": "Typo", "value": "account", "widht": 10},
            {"tag": "Count", "type": "*handler", "value": "*cdrs_number"},
            {"tag": "Handler", "type": "*handler", "value": "*no_such_handler"},
            {"tag": "Type", "type": "*http_post", "value": "x"},
            {"tag": "Empty", "type": "*composed"},
            {"tag": "Dates", "type": "*datetime", "value": "setup_time;answer_time"},
            {"tag": "Slow", "value": "~x:s/(a+)+$/y/"},
            "not a field",
        ],
    }
    problems = problems_of(profile)
    expected_fragments = [
        "unknown setting 'surprise'",
        "content_fields[0]: field 'Width': width must be a whole number from 0 to 1024, not -1",
        "content_fields[1]: field 'Strip': unknown strip 'middle'",
        "content_fields[1]: field 'Strip': unknown padding 'centre'",
        "content_fields[2]: unsupported keys 'widht'",
        "content_fields[4]: field 'Handler': unknown handler '*no_such_handler'",
        "content_fields[5]: field 'Type': unknown type '*http_post'",
        "content_fields[6]: field 'Empty': *composed needs a value",
        "content_fields[7]: field 'Dates': *datetime takes exactly one RSR rule",
        "content_fields[8]: field 'Slow': RSR rule '~x:s/(a+)+$/y/', offset 9: a repeated group",
        "content_fields[9]: a field must be a mapping",
        "unknown export_format '*file_xml'",
        "cost_multiply_factor must be a number",
        "field_separator must be one character",
        "cost_rounding_decimals must be a whole number from -1 to 12, not 20",
        "unknown timezone 'Mars/Olympus'",
        "unknown usage_unit 'fortnights'",
        "header_fields[0] (tag 'Acc'): *composed cannot be used in a header or trailer",
        "content_fields[3] (tag 'Count'): handler *cdrs_number needs all CDRs",
    ]
    for fragment in expected_fragments:
        assert any(fragment in problem for problem in problems), fragment
    assert len(problems) == len(expected_fragments)


@pytest.mark.parametrize("factor", ["abc", "-1", "NaN", "Infinity", True, [1]])
def test_cost_multiply_factor_must_be_a_finite_number_not_below_zero(factor):
    assert problems_of({**PROFILE, "cost_multiply_factor": factor}) == [
        f"cost_multiply_factor must be a number from 0 to 1000000 with at most 12 decimals, not {factor!r}"
    ]


def test_content_fields_are_required():
    assert problems_of({"export_format": "csv"}) == ["content_fields must not be empty"]


def test_valid_profile_has_no_problems():
    assert templates.validate_cdre_profile(PROFILE) == []


def test_templates_built_in_code_are_validated_too():
    with pytest.raises(templates.TemplateError, match="unknown usage_unit"):
        templates.ExportTemplate(content_fields=[templates.ExportField(value="accid")], usage_unit="days")
    with pytest.raises(templates.TemplateError, match="field 'X': unknown strip"):
        templates.ExportField(tag="X", value="accid", strip="both")
    with pytest.raises(templates.TemplateError, match=r"content_fields\[0\]: not an ExportField"):
        templates.ExportTemplate(content_fields=[{"value": "accid"}])
    with pytest.raises(templates.TemplateError, match="unknown export_format"):
        templates.ExportTemplate(content_fields=[templates.ExportField(value="accid")], export_format=["csv"])


# --- JSON-RPC ExportTemplate parameter and the built-in template ------------------------------------


def test_template_from_rsr_list():
    template = templates.template_from_rsr_list(r"cgrid,accid;~destination:s/^(\d{1,3})(\d+)$/0$2/,^tor:*voice")
    assert [field.tag for field in template.content_fields] == ["cgrid", "accid", "destination", "tor"]
    assert template.content_fields[2].value == r"~destination:s/^(\d{1,3})(\d+)$/0$2/"
    assert (template.export_format, template.field_separator) == ("csv", ",")
    assert template.cost_rounding_decimals == 4


def test_template_from_rsr_list_keeps_the_base_settings():
    base = templates.load_cdre_profile({**PROFILE, "export_format": "csv", "header_fields": [], "trailer_fields": []})
    template = templates.template_from_rsr_list("accid,cost", name="rpc", base=base)
    assert template.field_separator == ";" and template.cost_shift_digits == 2
    assert [field.value for field in template.content_fields] == ["accid", "cost"]


def test_template_from_rsr_list_reports_bad_rules():
    with pytest.raises(templates.TemplateError) as caught:
        templates.template_from_rsr_list(r"accid,~x:s/(\d+/$1/")
    assert caught.value.problems == [r"RSR rule '~x:s/(\d+/$1/', offset 5: missing closing )"]


def test_builtin_cgr_csv_template():
    assert templates.BUILTIN_TEMPLATES["cgr-csv"] is templates.CGR_CSV_TEMPLATE
    assert ",".join(field.value for field in templates.CGR_CSV_TEMPLATE.content_fields) == templates.DEFAULT_CSV_FIELDS
    assert templates.DEFAULT_CSV_FIELDS.startswith("cgrid,mediation_runid,tor,accid,reqtype,direction,tenant,")
    assert (templates.CGR_CSV_TEMPLATE.export_format, templates.CGR_CSV_TEMPLATE.usage_unit) == ("csv", "nanoseconds")
    assert templates.CGR_CSV_TEMPLATE.time_layout == "2006-01-02T15:04:05Z07:00"
    assert templates.CGR_CSV_TEMPLATE.timezone == "UTC"
    assert templates.CGR_CSV_TEMPLATE.header_fields == () and templates.CGR_CSV_TEMPLATE.trailer_fields == ()
