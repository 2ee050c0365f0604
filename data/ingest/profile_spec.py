"""Import profiles: what an operator's CDR file looks like and where each Dialstat field comes from.

A profile is a plain mapping (stored as JSON in ``import_profile``, exchanged as YAML):

- the source shape: ``kind`` (``csv``, ``json`` or ``jsonl``); for CSV ``separator``, ``quote``, ``encoding``,
  ``skip_lines``, ``header`` (the first line names the columns) or ``names`` (the columns of a file without a
  header), ``line_pattern`` (a regular expression whose group is the record inside each line, for lines
  wrapped in other text) and ``columns`` (how many a line has: detection uses it); for JSON ``record_path``
  (dotted keys to the list of records);
- ``fields``: for each canonical field (``fields.CANONICAL_FIELDS``) a rule: a column by header name, by
  position (``3``: positions count from 1) or by key (JSON, dotted for nested objects); ``^value`` a
  constant; ``~column:s/regexp/template/`` an RSR expression (``data.export.rsr``, the rules CGRateS uses);
  a list of rules is their values joined;
- conversions: ``dates`` (``iso``, ``epoch``, ``epoch_ms``, ``epoch_us``, ``day-first``, ``month-first`` or
  a strftime pattern), ``timezone`` (the file's zone for times without an offset; empty: the switch's),
  ``duration_unit`` (``s``, ``ms``, ``hh:mm:ss``), ``answered`` (``billsec``, ``answer_time`` or
  ``FIELD=VALUE|VALUE``: answered, at the start time when the file has no answer time), ``keep``
  (``FIELD=VALUE|VALUE``: the records that are calls, the others are rejected saying so), ``cause_map``
  (``field``, ``values`` {file value: Q.850}, ``default``);
- ``extradata``: ``unmapped`` (every column no rule reads), ``none``, or a list of columns;
- ``switch``: the switch of rows that name none; ``source_type``: a name of ``fields.SOURCE_TYPES``.

``check_profile`` refuses a bad profile with every problem as (field, reason); what it accepts compiles.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from data.export.rsr import RSRError, parse_rsr
from data.ingest.documents import yaml_loader
from data.ingest.fields import CANONICAL_FIELDS, MAX_SWITCH_LENGTH, SOURCE_TYPES

KINDS = ("csv", "json", "jsonl")
DATE_MODES = ("iso", "epoch", "epoch_ms", "epoch_us", "day-first", "month-first")
DURATION_UNITS = ("s", "ms", "hh:mm:ss")
ANSWERED_RULES = ("billsec", "answer_time")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")
REQUIRED_FIELDS = ("callid", "starting_date")
DATE_FIELDS = ("starting_date", "answered_date", "ending_date")
DURATION_FIELDS = ("duration", "billsec", "progresssec", "answersec", "waitsec")
# Every setting a profile may hold, with its default.
DEFAULTS = {
    "name": "",
    "description": "",
    "kind": "csv",
    "separator": ",",
    "quote": '"',
    "encoding": "utf-8",
    "header": True,
    "skip_lines": 0,
    "columns": 0,
    "names": [],
    "line_pattern": "",
    "record_path": "",
    "fields": {},
    "dates": "iso",
    "timezone": "",
    "duration_unit": "s",
    "answered": "billsec",
    "keep": "",
    "cause_map": {},
    "extradata": "unmapped",
    "switch": "",
    "source_type": "csv",
}
STRFTIME_DIRECTIVES = frozenset("YymdHIMSfpbBzTFe%")


class ProfileError(ValueError):
    """A profile that cannot be used: ``problems`` are (field, reason) pairs, field as the editor names it."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{where}: {reason}" for where, reason in problems))


@dataclass(frozen=True)
class FieldRule:
    """Where one canonical field comes from: constants, columns and RSR rules, joined in order."""

    parts: tuple  # each: ("constant", text) | ("column", name_or_position) | ("rsr", RSRField)

    @property
    def columns(self) -> list[str]:
        return [p[1] if p[0] == "column" else p[1].field_id for p in self.parts if p[0] != "constant"]


def parse_field_rule(rule) -> FieldRule:
    """A field's rule (text, or a list of texts joined); raises ``ValueError`` saying what is wrong."""
    items = rule if isinstance(rule, list) else [rule]
    if not items:
        raise ValueError("an empty list of rules")
    parts = []
    for item in items:
        if not isinstance(item, str | int) or str(item).strip() == "":
            raise ValueError("empty: give a column, ^constant or ~column:s/regexp/template/")
        text = str(item).strip()
        if text.startswith("^"):
            static = parse_rsr(text)
            parts.append(("constant", static.static_value))
        elif text.startswith("~"):
            parts.append(("rsr", parse_rsr(text)))
        else:
            parts.append(("column", text))
    return FieldRule(tuple(parts))


def normalised(profile: dict) -> dict:
    """The profile with every setting present (defaults filled in), unknown keys kept for the check."""
    merged = {**DEFAULTS, **{k: v for k, v in profile.items() if v is not None}}
    merged["fields"] = {str(k).strip(): v for k, v in (merged.get("fields") or {}).items() if v not in ("", None)}
    return merged


def _check_source(p: dict, problems: list) -> None:
    if p["kind"] not in KINDS:
        problems.append(("kind", f"{p['kind']!r} is not one of {', '.join(KINDS)}"))
    if p["kind"] == "csv":
        if not isinstance(p["separator"], str) or len(p["separator"]) != 1 or p["separator"] in "\r\n":
            problems.append(("separator", "one character (a tab is \\t)"))
        if not isinstance(p["quote"], str) or len(p["quote"]) > 1 or (p["quote"] and p["quote"] == p["separator"]):
            problems.append(("quote", "one character other than the separator, or empty for none"))
    try:
        codecs.lookup(str(p["encoding"]))
    except LookupError:
        problems.append(("encoding", f"{p['encoding']!r} is not an encoding Python knows (utf-8, latin-1, cp1252…)"))
    for key, top in (("skip_lines", 1000), ("columns", 1000)):
        if not isinstance(p[key], int) or isinstance(p[key], bool) or not 0 <= p[key] <= top:
            problems.append((key, f"a whole number from 0 to {top}"))
    if not isinstance(p["names"], list) or not all(isinstance(n, str) and n.strip() for n in p["names"]):
        problems.append(("names", "a list of column names"))
    elif p["header"] and p["names"]:
        problems.append(("names", "only for a file without a header line"))
    if not isinstance(p["header"], bool):
        problems.append(("header", "true or false"))
    if p["line_pattern"]:
        try:
            if re.compile(str(p["line_pattern"])).groups != 1:
                problems.append(("line_pattern", "needs exactly one group: the record's text inside the line"))
        except re.error as exc:
            problems.append(("line_pattern", f"not a regular expression ({exc})"))
    if p["record_path"] and not re.fullmatch(r"[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*", str(p["record_path"])):
        problems.append(("record_path", "dotted keys, like cdrs or data.records"))


def _check_column(where: str, column: str, p: dict, problems: list) -> None:
    if p["kind"] != "csv":
        return
    if column.isdigit():
        if int(column) < 1:
            problems.append((where, "column positions count from 1"))
        elif p["columns"] and int(column) > p["columns"]:
            problems.append((where, f"column {column} is past the {p['columns']} columns a line has"))
    elif not p["header"] and column not in p["names"]:
        problems.append((where, f"no column is named {column!r} (the file has no header line: give its position)"))


def _check_fields(p: dict, problems: list) -> None:
    fields = p["fields"]
    if not isinstance(fields, dict):
        problems.append(("fields", "a mapping of Dialstat field to rule"))
        return
    for name in fields:
        if name not in CANONICAL_FIELDS:
            problems.append((f"fields.{name}", f"not a Dialstat field (one of {', '.join(CANONICAL_FIELDS)})"))
    for name in REQUIRED_FIELDS:
        if name not in fields:
            problems.append((f"fields.{name}", "required: every call needs it"))
    for name, rule in fields.items():
        try:
            parsed = parse_field_rule(rule)
        except (RSRError, ValueError) as exc:
            problems.append((f"fields.{name}", str(exc)))
            continue
        for column in parsed.columns:
            _check_column(f"fields.{name}", column, p, problems)


def check_date_format(dates: str) -> str:
    """Why ``dates`` is not a date setting, or ''."""
    if dates in DATE_MODES:
        return ""
    if not isinstance(dates, str) or "%" not in dates:
        return f"one of {', '.join(DATE_MODES)}, or a strftime pattern such as %Y/%m/%d %H:%M"
    directives = re.findall(r"%(.)", dates.replace("%%", ""))
    unknown = sorted({d for d in directives if d not in STRFTIME_DIRECTIVES})
    if unknown:
        return f"the pattern uses {', '.join('%' + d for d in unknown)}: Dialstat reads %" + " %".join(
            sorted(STRFTIME_DIRECTIVES - {"%"})
        )
    present = set(directives) | ({"Y", "m", "d"} if "F" in directives else set())
    if not ({"Y", "y"} & present and {"m", "b", "B"} & present and {"d", "e"} & present):
        return "the pattern must hold a year, a month and a day"
    return ""


def _check_conversions(p: dict, problems: list) -> None:
    reason = check_date_format(p["dates"])
    if reason:
        problems.append(("dates", reason))
    if p["timezone"]:
        try:
            ZoneInfo(str(p["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(("timezone", f"{p['timezone']!r} is not a time zone (Europe/Paris, UTC…)"))
    if p["duration_unit"] not in DURATION_UNITS:
        problems.append(("duration_unit", f"one of {', '.join(DURATION_UNITS)}"))
    answered = p["answered"]
    if answered not in ANSWERED_RULES:
        field_name, eq, values = str(answered).partition("=")
        if not eq or field_name.strip() not in CANONICAL_FIELDS or not values.strip():
            problems.append(("answered", "billsec, answer_time, or FIELD=VALUE|VALUE (disposition=ANSWERED)"))
    if p["keep"]:
        field_name, eq, values = str(p["keep"]).partition("=")
        if not eq or field_name.strip() not in CANONICAL_FIELDS or not values.strip():
            problems.append(("keep", "FIELD=VALUE|VALUE: the records that are calls (record_tag=INVITE)"))
    _check_cause_map(p["cause_map"], problems)
    _check_rule_fields(p, problems)
    if p["source_type"] not in SOURCE_TYPES:
        problems.append(("source_type", f"one of {', '.join(SOURCE_TYPES)}"))
    if len(str(p["switch"])) > MAX_SWITCH_LENGTH:
        problems.append(("switch", f"at most {MAX_SWITCH_LENGTH} characters"))
    extradata = p["extradata"]
    if extradata not in ("unmapped", "none") and not (
        isinstance(extradata, list) and all(isinstance(c, str | int) for c in extradata)
    ):
        problems.append(("extradata", "unmapped, none, or a list of columns"))


def _check_cause_map(cause_map, problems: list) -> None:
    if not cause_map:
        return
    if not isinstance(cause_map, dict) or cause_map.get("field") not in CANONICAL_FIELDS:
        problems.append(("cause_map.field", "the Dialstat field whose values are mapped (disposition, sip_code…)"))
        return
    values = cause_map.get("values") or {}
    if not isinstance(values, dict) or not values:
        problems.append(("cause_map.values", "a mapping of the file's value to a Q.850 cause (ANSWERED: 16)"))
        return
    codes = [*values.values(), *([cause_map["default"]] if cause_map.get("default") not in (None, "") else [])]
    for code in codes:
        if not str(code).isdigit() or not 1 <= int(code) <= 127:
            problems.append(("cause_map.values", f"{code!r} is not a Q.850 cause (1 to 127)"))


def _check_rule_fields(p: dict, problems: list) -> None:
    """The fields ``answered``, ``keep`` and ``cause_map`` read must have a rule, else every record would
    look unanswered, be rejected, or keep its cause."""
    named = [("keep", str(p["keep"]).partition("=")[0].strip())] if p["keep"] else []
    if p["answered"] not in ANSWERED_RULES:
        named.append(("answered", str(p["answered"]).partition("=")[0].strip()))
    if isinstance(p["cause_map"], dict) and p["cause_map"].get("field"):
        named.append(("cause_map.field", p["cause_map"]["field"]))
    fields = p["fields"] if isinstance(p["fields"], dict) else {}
    for where, name in named:
        if name in CANONICAL_FIELDS and name not in fields:
            problems.append((where, f"reads {name}, which has no rule in fields"))


def check_profile(profile: dict) -> dict:
    """The profile, normalised; raises ``ProfileError`` with each problem as (field, reason)."""
    if not isinstance(profile, dict):
        raise ProfileError([("profile", "a mapping of settings")])
    p = normalised(profile)
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(p) - set(DEFAULTS))
    if unknown:
        problems.append(("profile", f"unknown settings: {', '.join(unknown)}"))
    if not isinstance(p["name"], str) or not NAME_PATTERN.match(p["name"]):
        problems.append(("name", "1 to 63 letters, digits, spaces, dots, dashes or underscores"))
    _check_source(p, problems)
    _check_fields(p, problems)
    _check_conversions(p, problems)
    if problems:
        raise ProfileError(problems)
    return p


def profile_to_yaml(profile: dict) -> str:
    """The profile as YAML, only the settings that differ from the defaults (plus name and fields)."""
    import yaml

    p = normalised(profile)
    kept = {k: v for k, v in p.items() if k in ("name", "fields") or v != DEFAULTS.get(k)}
    return yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, default_flow_style=False)


def profile_from_yaml(text: str) -> dict:
    """A profile read from YAML and checked (``ProfileError`` names what is wrong)."""
    import yaml

    try:
        loaded = yaml_loader(text).get_single_data()  # safe, and without aliases (no "billion laughs")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise ProfileError([(where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})")]) from exc
    return check_profile(loaded)
