"""Records rendered by PostgreSQL: CSV, fixed width (FWV) and hybrid, field by field where SQL can do it.

Python formatting tops out well below 100,000 CDRs a second; PostgreSQL formats faster and on another
core. :func:`sql_rendering` turns a template's content record into SQL: each field is rendered in SQL
when it is one of the kinds below, else in Python (a "Python cell"), so a template is rendered in SQL as
far as it can be and the rest costs what it costs in the Python writer. The record comes out as
``pieces``: SQL text between the Python cells (one piece when there is none). Python computes the
Python cells with the writer's own compiled functions (compiled.py) on raw columns the query also
returns, and joins.

Rendered in SQL: constants, fillers, run-constant handlers and ``*masked_destination``; ``*composed``
fields of static rules and plain field ids from :data:`SQL_FIELDS` (no regexp); ``*datetime`` fields of a
time column without regexp; times in UTC with any Go layout :func:`go_layout_sql` can translate; usage
in nanoseconds or seconds; costs rounded (``cost_rounding_decimals`` >= 0). Width fitting (strip,
padding), ``mandatory`` and CSV quoting are SQL too. Everything else is a Python cell: regexps
(PostgreSQL's are not RE2, a match can differ), the cgrid (sha1, which PostgreSQL has no built-in
function for), time zones other than UTC (PostgreSQL's zone data may differ from Python's), extradata
keys...

A row SQL cannot render exactly -- a value that does not fit its width and may not be cut or padded, a
mandatory field that is empty -- gets a NULL piece (``||`` propagates NULL on purpose); the query then
also returns that row's raw columns and the writer renders it in Python, error message included. So SQL
only has to be exact on the rows it renders, and the output is byte-identical to the Python writer
(tests/test_export_db.py and tests/test_export_sql_render.py compare both on awkward CDRs).

The SQL refers to a row ``c`` with the CDR's columns and the joined ``switch_ip``, ``cdr_source_type_name``
and ``tenant``; values computed once per row live in the fenced subquery ``x`` (see store.rendered_query).
The database must use UTF8, so that lengths count characters as Python does (store checks).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from data.core.cdr_columns import PRICE_COLUMNS, SECONDS_COLUMNS

from .cells import ExportRecordError, csv_cell, format_field_width
from .fields import (
    _MONTHS,
    _WEEKDAYS,
    CGRATES_ALIASES,
    COLUMN_FIELDS,
    CONSTANT_FIELDS,
    RFC3339,
    USAGE_UNITS,
    ValueFormat,
    _format_element,
    _is_utc,
    _layout_elements,
    resolve_layout,
)
from .rsr import RSRField
from .templates import ExportField, ExportTemplate

# Code points str.isspace() accepts: a CSV cell starting with one is quoted (cells.csv_cell).
SPACE_CODES = tuple(code for code in range(sys.maxunicode + 1) if chr(code).isspace())

# Dialstat columns a field id may name directly, by kind.
# (Not country_code: char(2) loses trailing blanks when cast to text, the Python path keeps them.)
_TEXT_COLUMNS = ("callid", "caller_id_number", "caller_id_name", "normalised_number", "dialcode", "accountcode")
_INTEGER_COLUMNS = (
    "id",
    "switch_id",
    "cdr_source_type",
    *SECONDS_COLUMNS,
    "hangup_cause_id",
    "direction",
    "user_id",
    "carrier_id",
    "rating_status",
    "import_id",
)
_TIME_COLUMNS = ("starting_date", "answered_date")
_JOINED_COLUMNS = ("switch_ip", "cdr_source_type_name", "tenant")
SQL_FIELDS = frozenset(
    {
        "cgrid",
        "direction",
        "tenant",
        "cdrsource",
        "destination_number",
        *CONSTANT_FIELDS,
        *COLUMN_FIELDS,
        *_TEXT_COLUMNS,
        *_INTEGER_COLUMNS,
        *PRICE_COLUMNS,
        *_TIME_COLUMNS,
        *_JOINED_COLUMNS,
    }
) - {"cgrid"}
_TIME_TEXT_CHARS = frozenset("0123456789-:TZ")
_NUMBER_CHARS = frozenset("0123456789.-")
_DIRECTION_CHARS = frozenset("*inout0123456789-")  # *in, *out, or the number
_DIGITS = frozenset("0123456789")
_NAME_CHARS = frozenset("".join(_MONTHS + _WEEKDAYS) + "AMPamp")  # month and day names, AM/PM

# Go layout elements as to_char patterns (English names: no TM prefix). FM drops to_char's padding.
_TO_CHAR = {
    "January": "FMMonth",
    "Jan": "Mon",
    "Monday": "FMDay",
    "Mon": "Dy",
    "01": "MM",
    "1": "FMMM",
    "02": "DD",
    "2": "FMDD",
    "002": "DDD",
    "15": "HH24",
    "03": "HH12",
    "3": "FMHH12",
    "04": "MI",
    "4": "FMMI",
    "05": "SS",
    "5": "FMSS",
    "06": "YY",
    "2006": "YYYY",
    "PM": "AM",
    "pm": "am",
}
_SPACE_PADDED = {"_2": ("FMDD", 2), "__2": ("FMDDD", 3)}  # Go pads these with spaces, to_char cannot


@dataclass
class SqlRendering:
    """SQL for one template run.

    ``key`` is the cgrid's input (NULL without a cgrid); ``pieces`` the record's text around the Python
    cells (``python_fields``: indexes into the template's content fields); a NULL piece means the row
    must be rendered in Python, which only happens when ``can_fail``.
    """

    key: str
    pieces: list[str]
    python_fields: list[int] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    columns: set[str] = field(default_factory=set)  # the row keys the SQL reads from ``c``
    values: list[tuple[str, str]] = field(default_factory=list)  # (alias, SQL over c) computed once per row, in x
    can_fail: bool = False


class _PythonCell(Exception):
    """This field is rendered in Python."""


def sql_rendering(
    template: ExportTemplate, value_format: ValueFormat, handler_text: Callable[[ExportField], str]
) -> SqlRendering | None:
    """SQL rendering the template's content records, or None when SQL would render no field of it."""
    return _Renderer(template, value_format, handler_text).render()


class _Renderer:
    def __init__(self, template: ExportTemplate, value_format: ValueFormat, handler_text: Callable[[ExportField], str]):
        self.template = template
        self.value_format = value_format
        self.handler_text = handler_text
        self.separator = template.field_separator
        self.csv = template.export_format != "fwv"
        self.fixed_width = template.export_format != "csv"
        self.params: dict = {}
        self.columns: set[str] = {"callid", "starting_date"}
        self.values: dict[str, str] = {}  # SQL expression over c -> its alias in the fenced subquery x
        self.free_cells: list[str] = []  # CSV cells that may need quoting
        self.can_fail = False

    def render(self) -> SqlRendering | None:
        pieces: list[list[tuple[str, str]]] = [[]]  # each piece: (plain term, quoted term)
        python_fields: list[int] = []
        sql_cells = 0
        for index, export_field in enumerate(self.template.content_fields):
            if index and self.csv:
                literal = self._literal(self.separator)
                pieces[-1].append((literal, literal))
            try:
                terms = self._cell(export_field)
            except _PythonCell:
                python_fields.append(index)
                pieces.append([])
                continue
            sql_cells += not terms[0].startswith("%(")  # a literal alone is not worth a query
            pieces[-1].append(terms)
        if not sql_cells:
            return None
        newline = self._literal("\n")
        pieces[-1].append((newline, newline))
        setup = self._time_text("starting_date")
        key = self._value(f"CASE WHEN c.callid <> '' THEN c.callid || {setup} || ' +0000 UTC' END")
        return SqlRendering(
            key,
            [self._piece(terms) for terms in pieces],
            python_fields,
            self.params,
            self.columns,
            [(alias, expression) for expression, alias in self.values.items()],
            self.can_fail,
        )

    # --- one field ------------------------------------------------------------------------------------

    def _cell(self, export_field: ExportField) -> tuple[str, str]:
        """The field's SQL: (plain term, term quoted for CSV when it needs it); _PythonCell if it cannot."""

        kind = export_field.type
        # CGRateS pads fillers on the right whatever the template says.
        padding = "right" if kind == "*filler" else export_field.padding
        width = export_field.width if self.fixed_width else 0
        texts = [_constant_text(rule) for rule in export_field.rsr_fields] if kind == "*composed" else []
        if kind in ("*constant", "*filler", "*handler") or (kind == "*composed" and None not in texts):
            if kind == "*handler":
                text = self.handler_text(export_field)
            elif kind == "*composed":
                text = "".join(texts)  # type: ignore[arg-type]
            else:
                text = export_field.value
            try:
                text = format_field_width(text, width, export_field.strip, padding, export_field.mandatory)
            except ExportRecordError:
                raise _PythonCell from None  # fails on every row, as the Python writer says
            literal = self._literal(csv_cell(text, self.separator) if self.csv else text)
            return literal, literal
        if kind == "*masked_destination":
            text, safe_chars = self._masked_flag(), frozenset("01")
        elif kind == "*composed":
            text, safe_chars = self._composed(export_field)
        elif kind == "*datetime":
            text, safe_chars = self._datetime(export_field), None
        else:
            raise _PythonCell
        cell = self._fit(self._value(text), width, export_field.strip, padding, export_field.mandatory)
        if width and padding in ("left", "right"):
            safe_chars = None  # spaces: a leading one needs quotes
        elif width and safe_chars is not None:
            safe_chars = safe_chars | {"0", "x"}
        if not self.csv or (safe_chars is not None and self.separator not in safe_chars):
            return cell, cell
        self.free_cells.append(cell)
        self.params.setdefault("separator", self.separator)
        needs = (
            f"strpos({cell}, '\"') + strpos({cell}, E'\\n') + strpos({cell}, E'\\r') "
            f"+ strpos({cell}, %(separator)s) > 0 OR {self._leading_space_or_end_of_copy(cell)}"
        )
        return cell, f"""CASE WHEN {needs} THEN '"' || replace({cell}, '"', '""') || '"' ELSE {cell} END"""

    def _fit(self, cell: str, width: int, strip: str, padding: str, mandatory: bool) -> str:
        sql, can_fail = fit_sql(cell, width, strip, padding, mandatory)
        self.can_fail = self.can_fail or can_fail
        return sql

    def _composed(self, export_field: ExportField) -> tuple[str, frozenset[str] | None]:
        """The rules' texts concatenated (SQL over c, never NULL), and the characters it can hold."""
        terms, safe_chars = [], frozenset()
        for rule in export_field.rsr_fields:
            text = _constant_text(rule)
            if text is not None:
                terms.append(self._literal(text))
                chars = _safe_chars(text)
                safe_chars = None if safe_chars is None or chars is None else safe_chars | chars
                continue
            if rule.regexp_rules:
                raise _PythonCell
            expression, chars = self._row_text(rule.field_id, export_field.layout)
            terms.append(expression)
            safe_chars = None if safe_chars is None or chars is None else safe_chars | chars
        return " || ".join(f"({term})" for term in terms), safe_chars

    def _datetime(self, export_field: ExportField) -> str:
        (rule,) = export_field.rsr_fields
        column = COLUMN_FIELDS.get(CGRATES_ALIASES.get(rule.field_id, rule.field_id), rule.field_id)
        if rule.is_static or rule.regexp_rules or column not in _TIME_COLUMNS:
            raise _PythonCell
        layout = resolve_layout(export_field.layout) if export_field.layout else self.value_format.time_layout
        return self._time(column, layout)

    # --- values of field ids ----------------------------------------------------------------------------

    def _row_text(self, field_id: str, layout: str) -> tuple[str, frozenset[str] | None]:
        """SQL text of a field id over c (never NULL), and the characters it can hold (None: any)."""
        field_id = CGRATES_ALIASES.get(field_id, field_id)
        if field_id not in SQL_FIELDS:
            raise _PythonCell
        value_format = self.value_format
        if field_id == "usage":
            unit = layout if layout in USAGE_UNITS else value_format.usage_unit
            self.columns.add("billsec")
            if unit == "nanoseconds":
                return "coalesce((c.billsec::bigint * 1000000000)::text, '')", _NUMBER_CHARS
            if unit == "seconds":
                return "coalesce(c.billsec::text, '')", _NUMBER_CHARS
            raise _PythonCell
        if field_id == "cost":
            return self._cost(), _NUMBER_CHARS
        if field_id in ("destination", "destination_number"):
            return self._destination(), None
        if field_id == "direction":
            self.columns.add("direction")
            return (
                "coalesce(CASE c.direction WHEN 1 THEN '*in' WHEN 2 THEN '*out' ELSE c.direction::text END, '')",
                _DIRECTION_CHARS,
            )
        if field_id == "tenant":
            self.columns.add("tenant")
            return f"coalesce(nullif(c.tenant, ''), {self._literal(value_format.default_tenant)})", None
        if field_id == "cdrsource":
            self.columns.update(("cdr_source_type_name", "cdr_source_type"))
            return "coalesce(nullif(c.cdr_source_type_name, ''), c.cdr_source_type::text, '')", None
        column = COLUMN_FIELDS.get(field_id, field_id)
        self.columns.add(column)
        if column in _TIME_COLUMNS:
            time_layout = resolve_layout(layout if layout and layout not in USAGE_UNITS else value_format.time_layout)
            return self._time(column, time_layout), _layout_chars(time_layout)
        if column in _INTEGER_COLUMNS:
            return f"coalesce(c.{column}::text, '')", _NUMBER_CHARS
        return f"coalesce(c.{column}::text, '')", None  # text and numeric columns

    def _time(self, column: str, layout: str) -> str:
        """A time column in a Go layout, in UTC ('' when NULL)."""
        if not _is_utc(self.value_format.timezone):
            raise _PythonCell  # PostgreSQL's zone data may differ from Python's: not for billing
        self.columns.add(column)
        if layout == RFC3339:  # the default: cheaper than to_char
            expression = f"overlay(left({self._time_text(column)}, 19) placing 'T' from 11) || 'Z'"
        else:
            expression = go_layout_sql(
                f"({self._time_value(column)} AT TIME ZONE 'UTC')", layout, self.value_format.timezone, self._literal
            )
            if expression is None:
                raise _PythonCell
        return expression if column == "starting_date" else f"coalesce({expression}, '')"  # starting_date: NOT NULL

    def _time_text(self, column: str) -> str:
        """A time as ``2013-11-07 08:42:25.5`` in UTC: PostgreSQL's ISO output (DateStyle ISO, set by the
        caller) drops trailing zeros of the fraction as Go does, and is cheaper than to_char."""
        return f"({self._time_value(column)} AT TIME ZONE 'UTC')::text"

    @staticmethod
    def _time_value(column: str) -> str:
        """The column, with an infinite time as the Python writer gets it (psycopg2 reads datetime.max or .min).
        (starting_date is always finite: the partitions are bounded.)"""
        if column == "starting_date":
            return f"c.{column}"
        return (
            f"CASE WHEN c.{column} = 'infinity' THEN timestamptz '9999-12-31 23:59:59.999999+00' "
            f"WHEN c.{column} = '-infinity' THEN timestamptz '0001-01-01 00:00:00+00' ELSE c.{column} END"
        )

    def _cost(self) -> str:
        value_format = self.value_format
        if value_format.cost_rounding_decimals < 0:
            raise _PythonCell
        self.columns.add("sell_cost")
        cost = "c.sell_cost"
        if value_format.cost_multiply_factor:
            cost = f"({cost} * {self._literal(value_format.cost_multiply_factor)}::numeric)"
        if value_format.cost_shift_digits:
            cost = f"({cost} * power(10::numeric, {int(value_format.cost_shift_digits)}))"
        return f"coalesce(round({cost}, {int(value_format.cost_rounding_decimals)})::text, '')"

    def _mask_condition(self) -> str | None:
        value_format = self.value_format
        self.columns.add("destination_number")
        if value_format.mask_length <= 0 or not value_format.mask_prefixes:
            return None
        return f"c.destination_number ^@ ANY({self._literal(list(value_format.mask_prefixes))}::text[])"

    def _destination(self) -> str:
        condition = self._mask_condition()
        if condition is None:
            return "coalesce(c.destination_number, '')"
        length = int(self.value_format.mask_length)
        return (
            f"coalesce(CASE WHEN {condition} THEN left(c.destination_number, "
            f"greatest(length(c.destination_number) - {length}, 0)) || "
            f"repeat('*', least({length}, length(c.destination_number))) ELSE c.destination_number END, '')"
        )

    def _masked_flag(self) -> str:
        condition = self._mask_condition()
        if condition is None:
            return "'0'"
        return f"CASE WHEN coalesce({condition}, false) THEN '1' ELSE '0' END"

    # --- pieces and CSV quoting ----------------------------------------------------------------------------

    def _piece(self, terms: list[tuple[str, str]]) -> str:
        plain = _concat([term for term, _quoted in terms])
        if not self.free_cells or all(term == quoted for term, quoted in terms):
            return plain
        return f"CASE WHEN {self._row_needs_quotes()} THEN {_concat([q for _t, q in terms])} ELSE {plain} END"

    def _row_needs_quotes(self) -> str:
        """One test per row: does any cell that may need quoting need it? (Then every cell is checked.)"""
        specials = "".join("\\" + c if c in "]\\^-[" else c for c in dict.fromkeys('"\r\n' + self.separator))
        self.params.setdefault("special_chars", f"[{specials}]")
        cells = list(dict.fromkeys(self.free_cells))
        tests = [f"{_concat(cells)} ~ %(special_chars)s"]
        tests += [self._leading_space_or_end_of_copy(cell) for cell in cells]
        return "(" + " OR ".join(tests) + ")"

    def _leading_space_or_end_of_copy(self, cell: str) -> str:
        self.params.setdefault("backslash_dot", "\\.")
        return f"ascii({cell}) IN ({', '.join(map(str, SPACE_CODES))}) OR {cell} = %(backslash_dot)s"

    def _literal(self, text) -> str:
        name = f"r{len(self.params)}"
        self.params[name] = text
        return f"%({name})s"

    def _value(self, expression: str) -> str:
        """``expression`` (over the row ``c``) computed once per row, in the subquery ``x``."""
        if expression.startswith("%(") and expression.endswith(")s") or expression == "'0'":
            return expression  # a literal
        if expression not in self.values:
            self.values[expression] = f"v{len(self.values)}"
        return f"x.{self.values[expression]}"


def _constant_text(rule: RSRField) -> str | None:
    """The text of a rule that is the same for every CDR (static, or a constant field id), else None."""
    if rule.is_static:
        return rule.apply("")
    field_id = CGRATES_ALIASES.get(rule.field_id, rule.field_id)
    if field_id not in CONSTANT_FIELDS:
        return None
    try:
        return rule.apply(CONSTANT_FIELDS[field_id])
    except ValueError:
        return None  # a regexp input limit: the Python cell says so for every CDR


def _safe_chars(text: str) -> frozenset[str] | None:
    """The characters of ``text``, None when one of them can make a CSV cell need quotes by itself."""
    if any(char in '"\\\r\n' or char.isspace() for char in text):
        return None
    return frozenset(text)


def _layout_chars(layout: str) -> frozenset[str] | None:
    """The characters a time in a Go layout can hold, in UTC (None: any, for space-padded elements)."""
    chars: set[str] = set()
    for is_element, text in _layout_elements(layout):
        if not is_element:
            literal = _safe_chars(text)
            if literal is None:
                return None
            chars |= literal
        elif text in ("_2", "__2"):
            return None  # padded with spaces
        elif text[0] in ".,":  # fractional seconds
            chars |= {text[0], *_DIGITS}
        elif text == "MST" or text[0] in "-Z":  # in UTC: the zone's name, or an offset
            chars |= set("UTC+-:Z") | _DIGITS
        else:
            chars |= _NAME_CHARS if text[0].isalpha() else _DIGITS
    return frozenset(chars)


def fit_sql(cell: str, width: int, strip: str, padding: str, mandatory: bool) -> tuple[str, bool]:
    """cells.format_field_width in SQL over the text ``cell``: NULL where it would raise (the row then
    takes the Python writer); and whether it can be NULL."""
    can_fail = mandatory
    if mandatory:
        cell = f"nullif({cell}, '')"
    if not width:
        return cell, can_fail
    pad = {
        "left": f"lpad({cell}, {width})",
        "right": f"rpad({cell}, {width})",
        "zeroleft": f"lpad({cell}, {width}, '0')",
    }.get(padding)
    if pad is not None and strip == "right":
        return pad, can_fail  # lpad and rpad cut longer text on the right
    cut = {
        "right": f"left({cell}, {width})",
        "xright": f"left({cell}, {width - 1}) || 'x'",
        "left": f"right({cell}, {width})",
        "xleft": f"'x' || right({cell}, {width - 1})",
    }.get(strip)
    can_fail = can_fail or cut is None or pad is None
    longer = f"WHEN length({cell}) > {width} THEN {cut or 'NULL'}"
    if pad is not None:
        return f"CASE {longer} ELSE {pad} END", can_fail
    return f"CASE {longer} WHEN length({cell}) = {width} THEN {cell} END", can_fail


def go_layout_sql(moment: str, layout: str, tz, literal: Callable[[str], str]) -> str | None:
    """SQL formatting ``moment`` (a timestamp without time zone, already in ``tz``, a UTC zone) with a Go
    layout as fields.time_formatter does; None when the layout has an element SQL does not write the same.

    Offsets and zone names are constant in UTC: Python's own formatter writes them once.
    """
    terms: list[str] = []
    patterns: list[str] = []  # to_char patterns and quoted literals, one to_char call for a run of them

    def flush() -> None:
        if patterns:
            terms.append(f"to_char({moment}, {literal(''.join(patterns))})")
            patterns.clear()

    def add_text(text: str) -> None:
        if not text:
            return
        if '"' in text or "\\" in text:  # to_char would read them: keep them out of its pattern
            flush()
            terms.append(literal(text))
        else:
            patterns.append(f'"{text}"')

    sample = datetime(2001, 2, 3, 4, 5, 6, tzinfo=tz)
    for is_element, text in _layout_elements(layout):
        if not is_element:
            add_text(text)
        elif text in _TO_CHAR:
            if patterns and not patterns[-1].startswith('"'):
                patterns.append('""')  # keeps "DD" then "DDD" from reading as "DDDDD"
            patterns.append(_TO_CHAR[text])
        elif text in _SPACE_PADDED:
            pattern, width = _SPACE_PADDED[text]
            flush()
            terms.append(f"lpad(to_char({moment}, '{pattern}'), {width})")
        elif text[0] in ".,":  # fractional seconds: a run of 0s (kept) or 9s (trailing zeros dropped)
            digits = len(text) - 1
            fraction = f"FF{min(digits, 6)}"  # to_char truncates, as Go does; digits past 6 are zeros
            if text[1] == "0":
                add_text(text[0])
                patterns.append(fraction)
                add_text("0" * max(digits - 6, 0))
            else:
                flush()
                digits_sql = f"nullif(rtrim(to_char({moment}, '{fraction}'), '0'), '')"
                terms.append(f"coalesce({literal(text[0])} || {digits_sql}, '')")
        elif text[0] in "-Z" or text == "MST":
            add_text(_format_element(sample, text))
        else:
            return None
    flush()
    return " || ".join(terms) if terms else literal("")


def _concat(terms: list[str]) -> str:
    """The terms joined with ``||``: NULL when one is NULL (a row SQL cannot render), in parentheses."""
    if not terms:
        return "''"
    return "(" + " || ".join(terms) + ")"
