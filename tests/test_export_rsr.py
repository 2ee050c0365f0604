"""CGR-RSR rules: parsing, Go-style template expansion, Go regexp translation, the slow-regexp guard."""

import re
import time

import pytest

from data.export.go_regexp import MAX_REGEXP_INPUT
from data.export.rsr import (
    RSRError,
    expand_go_template,
    parse_rsr,
    parse_rsr_list,
    split_rsr_list,
    translate_go_regexp,
    validate_rsr,
)

USES_DATABASE = False  # tells the project's conftest not to start PostgreSQL for this module


def apply(rule: str, value: str) -> str:
    return parse_rsr(rule).apply(value)


# --- plain and static rules --------------------------------------------------------------------------


def test_plain_field_id_passes_the_value_through():
    rsr = parse_rsr("destination")
    assert (rsr.field_id, rsr.is_static, rsr.regexp_rules) == ("destination", False, ())
    assert rsr.apply("1002") == "1002"


def test_static_rule_ignores_the_cdr_value():
    rsr = parse_rsr("^account:MasterAccount")
    assert rsr.field_id == "account"
    assert rsr.apply("First-Account123") == "MasterAccount"


def test_static_rule_value_may_hold_colons_and_may_be_empty():
    assert apply("^time:12:00:01", "x") == "12:00:01"
    assert apply("^tenant:", "x") == ""
    assert apply("^cgrates.org", "x") == "cgrates.org"  # CGRateS: no ':' means the id is the value


# --- regexp rules ------------------------------------------------------------------------------------


def test_regexp_rule_drops_the_text_around_the_match():
    assert apply(r"~destination:s/^\+49(\d+)/0$1/", "+4986517174963") == "086517174963"
    assert apply(r"~x:s/(\d+)/<$1>/", "ab12cd") == "<12>"


def test_regexp_rule_uses_the_first_match_only():
    assert apply(r"~x:s/(\d)/[$1]/", "a1b2") == "[1]"


def test_reference_example_with_a_valid_regexp():
    assert apply("~account:s/^.*(Account123)$/$1-processed/", "First-Account123") == "Account123-processed"


def test_no_match_leaves_the_value_unchanged():
    assert apply(r"~destination:s/^\+49(\d+)/0$1/", "+33612345678") == "+33612345678"


def test_chained_rules_apply_in_order_each_to_the_previous_result():
    rule = r"~destination:s/^\+(\d+)$/00$1/:s/^0049(\d+)$/0$1/"
    assert [part.template for part in parse_rsr(rule).regexp_rules] == ["00$1", "0$1"]
    assert apply(rule, "+4986517174963") == "086517174963"
    assert apply(rule, "+33612345678") == "0033612345678"  # second part does not match: unchanged


def test_escaped_slash_belongs_to_the_regexp():
    rule = r"~sip_uri:s/^https?:\/\/([^\/]+)\/.*$/$1/"
    assert parse_rsr(rule).regexp_rules[0].search == r"^https?:\/\/([^\/]+)\/.*$"
    assert apply(rule, "https://sip.example.com/calls/1") == "sip.example.com"


def test_slashes_in_the_template_escaped_or_not():
    assert apply(r"~day:s/^(\d{4})-(\d{2})-(\d{2})$/$3\/$2\/$1/", "2013-11-07") == "07/11/2013"
    assert apply(r"~day:s/^(\d{4})-(\d{2})-(\d{2})$/$3/$2/$1/", "2013-11-07") == "07/11/2013"


def test_empty_template_and_empty_value():
    assert apply(r"~x:s/^00(\d+)$//", "0049") == ""
    assert apply(r"~x:s/^$/none/", "") == "none"  # rules run on empty values too


# --- Go template expansion ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$1", "49"),
        ("${1}x", "49x"),
        ("$1x", ""),  # the group name is "1x": no such group
        ("$2$1", "8649"),
        ("$$1", "$1"),
        ("$$", "$"),
        ("cost: 5$", "cost: 5$"),  # $ at the end is kept
        ("$-1", "$-1"),  # $ followed by no name is kept
        ("${1", "${1"),  # unclosed brace: the $ is kept
        ("${}", "${}"),
        ("$0", "+4986"),
        ("$01", ""),  # leading zero: a name, not group 1
        ("$9", ""),  # out of range
        ("${cc}-$rest", "49-86"),
        ("$cc_x", ""),  # underscore is part of the name
        ("[$unknown]", "[]"),
    ],
)
def test_expand_follows_go_regexp_expand(template, expected):
    match = re.search(r"\+(?P<cc>\d{2})(?P<rest>\d+)", "tel:+4986")
    assert expand_go_template(template, match) == expected


def test_expand_unmatched_optional_group_is_empty():
    match = re.search(r"(a)?(b)", "b")
    assert expand_go_template("[$1|$2]", match) == "[|b]"


def test_go_named_groups_both_spellings():
    assert apply(r"~x:s/^(?P<cc>\d{2})/${cc}-/", "4986") == "49-"
    assert apply(r"~x:s/^(?<cc>\d{2})/${cc}-/", "4986") == "49-"  # Go 1.22 syntax


# --- invalid rules: clear errors with the offset ---------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "position", "reason"),
    [
        ("~account:s/^*+(Account123)$/$1-processed/", 12, "nothing to repeat"),  # the reference's example
        (r"~destination:s/(\d+/x/", 15, "missing closing )"),
        (r"~destination:s/\d+)/x/", 18, "unexpected )"),
        ("~destination", 12, "missing ':s/search/template/' part"),
        ("~destination:s/abc", 18, "missing '/' after the search regexp"),
        ("~destination:s/abc/", 19, "missing closing '/' after the template"),
        ("~destination:s/a/b/c", 19, "unexpected text 'c' after the closing '/'"),
        ("~:s/a/b/", 1, "missing field id"),
        ("~x:s//b/", 5, "empty search regexp"),
        ("~x:s/a/b/:s/c[/d/", 13, "missing closing ]"),  # error in the second part
        (r"~x:s/(a)\1/b/", 8, "backreferences are not supported"),
        ("~x:s/a(?=b)/c/", 6, "lookaround assertions are not supported"),
        ("~x:s/a(?i)b/c/", 6, "only supported at the start"),
        ("~x:s/a{2,1}/c/", 6, "invalid repeat count"),
        ("~x:s/a**/c/", 7, "invalid nested repetition operator"),
        (r"~x:s/\pL/c/", 5, "Unicode classes"),
        ("", 0, "empty field rule"),
        ("^:value", 1, "missing field id"),
        ("dest ination", 4, "whitespace in field id"),
    ],
)
def test_invalid_rules_name_the_rule_and_the_offset(rule, position, reason):
    with pytest.raises(RSRError) as caught:
        parse_rsr(rule)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.rule, error.position) == (rule, position)
    assert reason in error.reason
    assert f"RSR rule '{rule}', offset {position}: " in str(error)


def test_validate_rsr_is_the_save_time_check():
    validate_rsr(r"~destination:s/^\+49(\d+)/0$1/")
    with pytest.raises(RSRError, match="nothing to repeat"):
        validate_rsr("~account:s/^*+(Account123)$/$1-processed/")


# --- Go (RE2) vs Python re ---------------------------------------------------------------------------


def test_dollar_is_the_end_of_the_text_as_in_go():
    assert apply("~x:s/a$/b/", "a\n") == "a\n"  # Python's own $ would match before the newline
    assert apply("~x:s/(?m)a$/b/", "a\nz") == "b"


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (r"~x:s/^(\d+)\z/<$1>/", "123", "<123>"),
        (r"~x:s/^([[:digit:]]+)([[:alpha:]]*)$/$2$1/", "12ab", "ab12"),
        (r"~x:s/\Q1+1\E(.*)/$1/", "1+1=2", "=2"),
        (r"~x:s/(?i)^abc(.*)/$1/", "ABCdef", "def"),
        (r"~x:s/\x{41}(.)/$1/", "AB", "B"),
        (r"~x:s/\101(.)/$1/", "AB", "B"),  # octal escape, not a backreference
        (r"~x:s/^(\d+)/$1/", "١٢٣", "١٢٣"),  # \d is ASCII only in Go: no match, unchanged
        (r"~x:s/a{,2}/z/", "a{,2}", "z"),  # {,2} is a literal in Go
    ],
)
def test_go_regexp_syntax_is_translated(rule, value, expected):
    assert apply(rule, value) == expected


def test_translate_go_regexp_reports_the_python_pattern():
    python_pattern, max_input = translate_go_regexp(r"^(?<cc>\d+)\z")
    assert python_pattern == r"^(?P<cc>\d+)\Z"
    assert max_input == MAX_REGEXP_INPUT


# --- guard against slow regexps ----------------------------------------------------------------------


@pytest.mark.parametrize("search", ["(a+)+$", "(a*)*b", "(a|aa)+$", "((a+)?)+", "(a?){2,9}", "(x+x+)+y"])
def test_nested_repetition_is_rejected_when_the_rule_is_parsed(search):
    rule = f"~x:s/{search}/y/"
    with pytest.raises(RSRError, match="repeated group may not contain") as caught:
        parse_rsr(rule)
    assert caught.value.rule == rule
    assert rule[caught.value.position] in "+*{"  # points at the outer repetition


def test_fixed_or_optional_groups_are_fine():
    assert apply(r"~x:s/^(\d{3})+$/ok/", "123456") == "ok"
    assert apply(r"~x:s/^(\+|00)?(\d+)$/$2/", "004912") == "4912"


def test_polynomial_regexp_gets_an_input_limit_and_fails_fast():
    rsr = parse_rsr(r"~x:s/\d*\d*x/y/")
    limit = rsr.regexp_rules[0].max_input_length
    assert 64 <= limit < MAX_REGEXP_INPUT
    started = time.perf_counter()
    assert rsr.apply("1" * limit) == "1" * limit  # worst case at the limit: no match, and quick
    with pytest.raises(RSRError, match="at most"):
        rsr.apply("1" * 5000)  # would take tens of seconds in Python's re
    assert time.perf_counter() - started < 2


def test_simple_rules_take_values_up_to_the_hard_limit():
    rsr = parse_rsr(r"~destination:s/^\+49(\d+)/0$1/")
    assert rsr.apply("+49" + "1" * (MAX_REGEXP_INPUT - 3)) == "0" + "1" * (MAX_REGEXP_INPUT - 3)
    with pytest.raises(RSRError, match=f"at most {MAX_REGEXP_INPUT}"):
        rsr.apply("+49" + "1" * MAX_REGEXP_INPUT)


def test_too_many_variable_repetitions_are_rejected_as_too_complex():
    with pytest.raises(RSRError, match="too complex"):
        parse_rsr(r"~x:s/\d+\d+\d+\d+x/y/")


# --- lists -------------------------------------------------------------------------------------------


def test_split_list_on_commas_and_semicolons_with_spaces():
    assert split_rsr_list("cgrid, accid;destination") == ["cgrid", "accid", "destination"]


def test_split_list_keeps_separators_inside_regexp_parts():
    text = r"accid,~destination:s/^(\d{1,3})(\d+)$/$1;$2/,~x:s/a/b/:s/c{1,2}/d/,cost"
    assert split_rsr_list(text) == [
        "accid",
        r"~destination:s/^(\d{1,3})(\d+)$/$1;$2/",
        "~x:s/a/b/:s/c{1,2}/d/",
        "cost",
    ]
    assert [rsr.field_id for rsr in parse_rsr_list(text)] == ["accid", "destination", "x", "cost"]


def test_empty_list_item_is_an_error():
    with pytest.raises(RSRError, match="empty field") as caught:
        split_rsr_list("cgrid,,accid")
    assert caught.value.position == 6
