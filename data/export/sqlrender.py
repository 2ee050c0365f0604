"""CSV records rendered by PostgreSQL, for the templates simple enough (the built-in ``cgr-csv`` is one).

Python formatting tops out well below 100,000 CDRs a second; PostgreSQL formats faster and on another
core. For an eligible template, :func:`sql_rendering` gives SQL expressions that produce each record as
text, split around the cgrid: the cgrid is sha1, which PostgreSQL has no built-in function for, so
Python hashes the ``key`` expression (callid and the setup time as Go prints it) and joins
``pieces`` with the cgrid. Everything else, CSV quoting included, happens in the database.

The output is byte-identical to the Python writer (tests/test_export_sql_render.py compares both on
thousands of varied CDRs). A template is eligible when its format is CSV and every content field is a
constant, a filler, a run-constant handler, ``*masked_destination``, or a ``*composed`` field of static
rules and plain field ids (no regexp) from :data:`SQL_FIELDS`, without ``mandatory``, with times in
RFC3339 UTC and usage in nanoseconds or seconds, and the cgrid alone in its field. Anything else takes
the Python path, with the same result, more slowly.

The SQL refers to a row ``c`` with the CDR's columns and the joined ``switch_ip``, ``cdr_source_type_name``
and ``tenant`` (store.py sorts those rows in a subquery and renders on top, so that the rendered text is
not what gets sorted).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .fields import CGRATES_ALIASES, COLUMN_FIELDS, CONSTANT_FIELDS, RFC3339, USAGE_UNITS, ValueFormat, _is_utc
from .templates import ExportField, ExportTemplate

# Code points str.isspace() accepts: a CSV cell starting with one is quoted (formats._csv_cell).
SPACE_CODES = tuple(code for code in range(sys.maxunicode + 1) if chr(code).isspace())

# Dialstat columns a field id may name directly, by kind.
# (Not country_code: char(2) loses trailing blanks when cast to text, the Python path keeps them.)
_TEXT_COLUMNS = ("callid", "caller_id_number", "caller_id_name", "normalised_number", "dialcode", "accountcode")
_INTEGER_COLUMNS = ("id", "switch_id", "cdr_source_type", "duration", "billsec", "progresssec", "answersec",
                    "waitsec", "hangup_cause_id", "direction", "user_id", "carrier_id", "rating_status",
                    "import_id")  # fmt: skip
_NUMERIC_COLUMNS = ("buy_rate", "buy_cost", "sell_rate", "sell_cost")
_TIME_COLUMNS = ("starting_date", "answered_date")
_JOINED_COLUMNS = ("switch_ip", "cdr_source_type_name", "tenant")
SQL_FIELDS = frozenset(
    {"cgrid", "direction", "tenant", "cdrsource", "destination_number", *CONSTANT_FIELDS, *COLUMN_FIELDS,
     *_TEXT_COLUMNS, *_INTEGER_COLUMNS, *_NUMERIC_COLUMNS, *_TIME_COLUMNS, *_JOINED_COLUMNS}
)  # fmt: skip
_TIME_TEXT_CHARS = frozenset("0123456789-:TZ")
_NUMBER_CHARS = frozenset("0123456789.-")


@dataclass
class SqlRendering:
    """SQL for one template run: ``key`` (cgrid input, NULL without a cgrid) and the record ``pieces``."""

    key: str
    pieces: list[str]
    params: dict = field(default_factory=dict)
    columns: set[str] = field(default_factory=set)  # the row keys the values read from ``c``
    values: list[tuple[str, str]] = field(default_factory=list)  # (alias, SQL over c) computed once per row, in x


class _Ineligible(Exception):
    pass


def sql_rendering(template: ExportTemplate, value_format: ValueFormat,
                  handler_text: Callable[[ExportField], str]) -> SqlRendering | None:  # fmt: skip
    """SQL rendering the template's content records, or None when the template needs the Python path."""
    try:
        return _Renderer(template, value_format, handler_text).render()
    except _Ineligible:
        return None


class _Renderer:
    def __init__(self, template: ExportTemplate, value_format: ValueFormat,
                 handler_text: Callable[[ExportField], str]):  # fmt: skip
        self.template = template
        self.value_format = value_format
        self.handler_text = handler_text
        self.separator = template.field_separator
        self.params: dict = {}
        self.columns: set[str] = {"callid", "starting_date"}
        self.values: dict[str, str] = {}  # SQL expression -> its alias in the fenced subquery x
        self.free_cells: list[str] = []  # cells that may need CSV quoting

    def render(self) -> SqlRendering:
        from .formats import _csv_cell

        template = self.template
        if template.export_format != "csv" or self.separator in "0123456789abcdef":
            raise _Ineligible
        pieces: list[list[tuple[str, str]]] = [[]]  # each piece: (plain term, quoted term)
        for index, export_field in enumerate(template.content_fields):
            if index:
                literal = self._literal(self.separator)
                pieces[-1].append((literal, literal))
            if export_field.mandatory:
                raise _Ineligible
            kind = export_field.type
            if kind in ("*constant", "*filler", "*handler"):
                text = export_field.value if kind != "*handler" else self.handler_text(export_field)
                literal = self._literal(_csv_cell(text, self.separator))
                pieces[-1].append((literal, literal))
            elif kind == "*masked_destination":
                flag = self._masked_flag()
                pieces[-1].append((flag, flag))
            elif kind == "*composed":
                rules = export_field.rsr_fields
                if any(rule.regexp_rules for rule in rules):
                    raise _Ineligible
                ids = [CGRATES_ALIASES.get(rule.field_id, rule.field_id) for rule in rules if not rule.is_static]
                if "cgrid" in ids:
                    if len(rules) != 1:
                        raise _Ineligible
                    pieces.append([])  # the cgrid goes between this piece and the next
                    continue
                pieces[-1].append(self._composed(export_field))
            else:
                raise _Ineligible
        newline = self._literal("\n")
        pieces[-1].append((newline, newline))
        callid, setup = self._value("c.callid"), self._time_text("starting_date")
        key = f"CASE WHEN {callid} <> '' THEN {callid} || {setup} || ' +0000 UTC' END"
        return SqlRendering(key, [self._piece(terms) for terms in pieces], self.params, self.columns,
                            [(alias, expression) for expression, alias in self.values.items()])  # fmt: skip

    def _piece(self, terms: list[tuple[str, str]]) -> str:
        plain = _concat([term for term, _quoted in terms])
        if not self.free_cells or all(term == quoted for term, quoted in terms):
            return plain
        return f"CASE WHEN {self._row_needs_quotes()} THEN {_concat([q for _t, q in terms])} ELSE {plain} END"

    def _row_needs_quotes(self) -> str:
        """One test per row: does any cell that may need quoting need it? (Then every cell is checked.)"""
        specials = "".join("\\" + c if c in "]\\^-[" else c for c in dict.fromkeys('"\r\n' + self.separator))
        self.params.setdefault("special_chars", f"[{specials}]")
        tests = [f"{_concat(self.free_cells)} ~ %(special_chars)s"]
        tests += [self._leading_space_or_end_of_copy(cell) for cell in self.free_cells]
        return "(" + " OR ".join(tests) + ")"

    def _leading_space_or_end_of_copy(self, cell: str) -> str:
        self.params.setdefault("backslash_dot", "\\.")
        return f"ascii({cell}) IN ({', '.join(map(str, SPACE_CODES))}) OR {cell} = %(backslash_dot)s"

    def _literal(self, text: str) -> str:
        name = f"r{len(self.params)}"
        self.params[name] = text
        return f"%({name})s"

    def _value(self, expression: str) -> str:
        """``expression`` (over the row ``c``) computed once per row, in the subquery ``x``."""
        if expression not in self.values:
            self.values[expression] = f"v{len(self.values)}"
        return f"x.{self.values[expression]}"

    def _time_text(self, column: str) -> str:
        """A time as ``2013-11-07 08:42:25.5`` in UTC: PostgreSQL's ISO output (DateStyle ISO, set by the
        caller) drops trailing zeros of the fraction as Go does, and is cheaper than to_char."""
        return self._value(f"(c.{column} AT TIME ZONE 'UTC')::text")

    def _composed(self, export_field: ExportField) -> tuple[str, str]:
        """A whole cell: the rules' texts concatenated; and the cell quoted when it needs it."""
        terms, may_need_quotes = [], False
        for rule in export_field.rsr_fields:
            if rule.is_static:
                text = rule.apply("")
                terms.append(self._literal(text))
                may_need_quotes = may_need_quotes or bool(text)
                continue
            expression, safe_chars = self._text(rule.field_id, export_field.layout)
            terms.append(expression)
            may_need_quotes = may_need_quotes or safe_chars is None or self.separator in safe_chars
        cell = terms[0] if len(terms) == 1 else _concat(terms)
        if not may_need_quotes:
            return cell, cell
        self.free_cells.append(cell)
        self.params.setdefault("separator", self.separator)
        needs = (f"strpos({cell}, '\"') + strpos({cell}, E'\\n') + strpos({cell}, E'\\r') "
                 f"+ strpos({cell}, %(separator)s) > 0 OR {self._leading_space_or_end_of_copy(cell)}")
        return cell, f"""CASE WHEN {needs} THEN '"' || replace({cell}, '"', '""') || '"' ELSE {cell} END"""

    def _text(self, field_id: str, layout: str) -> tuple[str, frozenset[str] | None]:
        """SQL text of a field id (never NULL), and the characters it can hold (None: any)."""
        expression, safe_chars = self._row_text(field_id, layout)
        if expression.startswith("%("):  # a literal
            return expression, safe_chars
        if expression.startswith("overlay("):  # built on the setup/answer time value
            return expression, safe_chars
        return self._value(expression), safe_chars

    def _row_text(self, field_id: str, layout: str) -> tuple[str, frozenset[str] | None]:
        field_id = CGRATES_ALIASES.get(field_id, field_id)
        if field_id not in SQL_FIELDS:
            raise _Ineligible
        value_format = self.value_format
        if field_id in CONSTANT_FIELDS:
            return self._literal(CONSTANT_FIELDS[field_id]), None
        if field_id == "usage":
            unit = layout if layout in USAGE_UNITS else value_format.usage_unit
            self.columns.add("billsec")
            if unit == "nanoseconds":
                return "coalesce((c.billsec::bigint * 1000000000)::text, '')", _NUMBER_CHARS
            if unit == "seconds":
                return "coalesce(c.billsec::text, '')", _NUMBER_CHARS
            raise _Ineligible
        if field_id == "cost":
            return self._cost(), _NUMBER_CHARS
        if field_id in ("destination", "destination_number"):
            return self._destination(), None
        if field_id == "direction":
            self.columns.add("direction")
            return ("coalesce(CASE c.direction WHEN 1 THEN '*in' WHEN 2 THEN '*out' ELSE c.direction::text END, '')",
                    None)  # fmt: skip
        if field_id == "tenant":
            self.columns.add("tenant")
            return f"coalesce(nullif(c.tenant, ''), {self._literal(value_format.default_tenant)})", None
        if field_id == "cdrsource":
            self.columns.update(("cdr_source_type_name", "cdr_source_type"))
            return "coalesce(nullif(c.cdr_source_type_name, ''), c.cdr_source_type::text, '')", None
        column = COLUMN_FIELDS.get(field_id, field_id)
        self.columns.add(column)
        if column in _TIME_COLUMNS:
            time_layout = layout if layout and layout not in USAGE_UNITS else value_format.time_layout
            if time_layout not in (RFC3339, "RFC3339") or not _is_utc(value_format.timezone):
                raise _Ineligible
            return f"overlay(left({self._time_text(column)}, 19) placing 'T' from 11) || 'Z'", _TIME_TEXT_CHARS
        if column in _INTEGER_COLUMNS:
            return f"coalesce(c.{column}::text, '')", _NUMBER_CHARS
        return f"coalesce(c.{column}::text, '')", None  # text and numeric columns

    def _cost(self) -> str:
        value_format = self.value_format
        if value_format.cost_rounding_decimals < 0:
            raise _Ineligible
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
        return (f"coalesce(CASE WHEN {condition} THEN left(c.destination_number, "
                f"greatest(length(c.destination_number) - {length}, 0)) || "
                f"repeat('*', least({length}, length(c.destination_number))) ELSE c.destination_number END, '')")

    def _masked_flag(self) -> str:
        condition = self._mask_condition()
        if condition is None:
            return "'0'"
        return self._value(f"CASE WHEN coalesce({condition}, false) THEN '1' ELSE '0' END")


def _concat(terms: list[str]) -> str:
    """concat() of SQL terms (NULL counts as empty), nested past PostgreSQL's 100 arguments."""
    if not terms:
        return "''"
    if len(terms) == 1:
        return f"concat({terms[0]})"
    if len(terms) > 100:
        return _concat([_concat(terms[i : i + 100]) for i in range(0, len(terms), 100)])
    return f"concat({', '.join(terms)})"
