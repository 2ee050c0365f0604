"""Content records compiled once per export run: every field becomes a small closure over a row.

The writer (formats.py) calls :func:`compile_content` once, then runs one closure per field per CDR: no
per-row dispatch on field types, aliases, layouts or settings. The closures give the same text as
:func:`fields.field_text` (which stays the readable definition of every field id); the tests compare both
on many rows.

Rows are either mappings (``RowAccess()``; a missing key reads as None) or tuples in a known column
order (``RowAccess(columns)``), which is what the database path feeds: no dict per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any

from .cells import RECORD_DATA_ERRORS, ExportRecordError, csv_record, format_field_width
from .fields import (
    CGRATES_ALIASES,
    COLUMN_FIELDS,
    COMPUTED_FIELDS,
    CONSTANT_FIELDS,
    GO_LAYOUTS,
    USAGE_UNITS,
    UTC,
    ValueFormat,
    cdr_source_text,
    direction_text,
    extradata_mapping,
    format_cost,
    format_usage,
    go_time_string,
    mask_destination,
    parse_time,
    resolve_layout,
    time_formatter,
    value_as_text,
)
from .rsr import RSRField
from .templates import ExportField, ExportTemplate

Row = Any  # a Mapping or a tuple, as the RowAccess says
Cell = Callable[[Row, str], str]  # (row, cgrid) -> text


class RowAccess:
    """Reads row values by key: from mappings, or from tuples whose column order is ``columns``."""

    def __init__(self, columns: Sequence[str] | None = None):
        self.columns = tuple(columns) if columns is not None else None
        self._index = {name: index for index, name in enumerate(self.columns or ())}

    def getter(self, key: str) -> Callable[[Row], Any]:
        """A function giving the row's ``key`` (None when the row has no such key)."""
        if self.columns is None:
            return lambda row: row.get(key)
        index = self._index.get(key)
        return (lambda _row: None) if index is None else itemgetter(index)

    def has(self, key: str) -> bool | None:
        """Whether rows have ``key``; None for mappings, where it depends on the row."""
        return None if self.columns is None else key in self._index

    def field_getter(self, field_id: str) -> Callable[[Row], Any]:
        """A row key, else an ``extradata`` key (empty text when absent), as :func:`fields.field_value`."""
        if self.columns is None:

            def mapping_value(row):
                return row[field_id] if field_id in row else extradata_mapping(row.get("extradata")).get(field_id, "")

            return mapping_value
        if field_id in self._index:
            return itemgetter(self._index[field_id])
        extradata = self.getter("extradata")
        return lambda row: extradata_mapping(extradata(row)).get(field_id, "")


def cgrid_function(access: RowAccess) -> Callable[[Row], str]:
    """The row's cgrid, as :func:`fields.row_cgrid` (ValueError without callid or starting_date)."""
    callid_of, setup_of = access.getter("callid"), access.getter("starting_date")
    sha1 = hashlib.sha1

    def cgrid_of(row: Row) -> str:
        callid, setup = callid_of(row), setup_of(row)
        if not callid or setup is None:
            raise ValueError("CDR has no callid or starting_date, so no cgrid")
        return sha1((str(callid) + go_time_string(setup)).encode()).hexdigest()

    return cgrid_of


def _fixed_function(field_id: str) -> Cell | None:
    """The cgrid and the constant fields: their value is already their text."""
    if field_id == "cgrid":
        return lambda _row, cgrid: cgrid
    if field_id in CONSTANT_FIELDS:
        constant = CONSTANT_FIELDS[field_id]
        return lambda _row, _cgrid: constant
    return None


def value_function(field_id: str, access: RowAccess, default_tenant: str) -> Callable[[Row, str], Any]:
    """The raw value of a field id, as :func:`fields.field_value`."""
    field_id = CGRATES_ALIASES.get(field_id, field_id)
    fixed = _fixed_function(field_id)
    if fixed is not None:
        return fixed
    if field_id in COLUMN_FIELDS:
        column = access.getter(COLUMN_FIELDS[field_id])
        return lambda row, _cgrid: column(row)
    if field_id == "direction":
        direction = access.getter("direction")
        return lambda row, _cgrid: direction_text(direction(row))
    if field_id == "tenant":
        tenant = access.getter("tenant")
        return lambda row, _cgrid: tenant(row) or default_tenant
    if field_id == "cdrsource":
        type_name, type_id = access.getter("cdr_source_type_name"), access.getter("cdr_source_type")
        return lambda row, _cgrid: cdr_source_text(type_name(row), type_id(row))
    value = access.field_getter(field_id)
    return lambda row, _cgrid: value(row)


def text_function(field_id: str, value_format: ValueFormat, layout: str, access: RowAccess) -> Cell:
    """The text of a field id, as :func:`fields.field_text` with the same arguments."""
    field_id = CGRATES_ALIASES.get(field_id, field_id)
    fixed = _fixed_function(field_id)
    if fixed is not None:
        return fixed
    value_of = value_function(field_id, access, value_format.default_tenant)
    to_text = _text_converter(field_id, value_format, layout)
    if field_id in COLUMN_FIELDS or (field_id not in COMPUTED_FIELDS and access.has(field_id)):
        column = access.getter(COLUMN_FIELDS.get(field_id, field_id))  # read the column straight away
        return lambda row, _cgrid: to_text(column(row))
    return lambda row, cgrid: to_text(value_of(row, cgrid))


def _text_converter(field_id: str, value_format: ValueFormat, layout: str) -> Callable[[Any], str]:
    if field_id == "usage":
        unit = layout if layout in USAGE_UNITS else value_format.usage_unit
        if unit == "nanoseconds":
            return lambda value: "" if value is None else str(int(value) * 1_000_000_000)
        return lambda value: "" if value is None else format_usage(value, unit)
    if field_id == "cost":
        return _cost_converter(value_format)
    if field_id in ("destination", "destination_number"):
        return _destination_converter(value_format)
    time_layout = layout if layout and layout not in USAGE_UNITS else value_format.time_layout
    format_time = time_formatter(time_layout, value_format.timezone)

    def as_text(value: Any) -> str:
        if value.__class__ is str:
            return value
        if value is None:
            return ""
        if isinstance(value, datetime):
            return format_time(value)
        return value_as_text(value)

    return as_text


def _cost_converter(value_format: ValueFormat) -> Callable[[Any], str]:
    factor, decimals, shift = (
        value_format.cost_multiply_factor,
        value_format.cost_rounding_decimals,
        value_format.cost_shift_digits,
    )

    def general(value: Any) -> str:
        if value is None or value == "":
            return ""
        cost = value if isinstance(value, Decimal) else Decimal(str(value))
        return format_cost(cost * factor if factor else cost, decimals, shift)

    if factor or shift or decimals < 0:
        return general
    quantum = Decimal(1).scaleb(-decimals)
    as_text = str if decimals <= 6 else (lambda cost: format(cost, "f"))  # str() is plain up to 6 places

    def rounded(value: Any) -> str:
        if value.__class__ is not Decimal:
            return general(value)
        cost = value.quantize(quantum, rounding=ROUND_HALF_UP)
        return as_text(cost if cost else cost.copy_abs())  # no "-0.0000"

    return rounded


def _destination_converter(value_format: ValueFormat) -> Callable[[Any], str]:
    if value_format.mask_length <= 0 or not value_format.mask_prefixes:
        return lambda value: "" if value is None else (value if value.__class__ is str else str(value))
    prefixes, length = tuple(value_format.mask_prefixes), value_format.mask_length

    def masked(value: Any) -> str:
        if value is None:
            return ""
        destination = str(value)
        return mask_destination(destination, length) if destination.startswith(prefixes) else destination

    return masked


def rsr_function(rsr: RSRField, value_format: ValueFormat, layout: str, access: RowAccess) -> Cell | str:
    """One RSR rule of a ``*composed`` field: its constant text when static, else a cell function."""
    if rsr.is_static:
        return rsr.apply("")
    text = text_function(rsr.field_id, value_format, layout, access)
    if not rsr.regexp_rules:
        return text
    apply = rsr.apply
    return lambda row, cgrid: apply(text(row, cgrid))


def fit_function(width: int, strip: str, padding: str, mandatory: bool) -> Callable[[str], str] | None:
    """Width fitting of :func:`cells.format_field_width` for one field; None when it changes nothing."""

    if width == 0 and not mandatory:
        return None

    def exact(value: str) -> str:
        return format_field_width(value, width, strip, padding, mandatory)

    if mandatory or padding not in ("left", "right", "zeroleft") or strip not in ("left", "right", "xleft", "xright"):
        return exact  # can raise: the exact function says why
    if strip == "right":  # cut on the right, then pad
        if padding == "right":
            return lambda value: value[:width].ljust(width)
        fill = "0" if padding == "zeroleft" else " "
        return lambda value: value[:width].rjust(width, fill)
    justify = str.ljust if padding == "right" else str.rjust
    fill = "0" if padding == "zeroleft" else " "
    if strip == "left":
        return lambda value: value[len(value) - width :] if len(value) > width else justify(value, width, fill)
    kept = width - 1  # xleft and xright keep one character fewer, for the x
    if strip == "xleft":
        return lambda value: "x" + value[len(value) - kept :] if len(value) > width else justify(value, width, fill)
    return lambda value: value[:kept] + "x" if len(value) > width else justify(value, width, fill)  # xright


def compile_content(
    template: ExportTemplate,
    value_format: ValueFormat,
    access: RowAccess,
    *,
    export_id: str,
    handler_text: Callable[[ExportField], str],
) -> CompiledContent:
    return CompiledContent(template, value_format, access, export_id, handler_text)


class CompiledContent:
    """The content record of a template as one function ``record(row, cgrid) -> line``."""

    def __init__(
        self,
        template: ExportTemplate,
        value_format: ValueFormat,
        access: RowAccess,
        export_id: str,
        handler_text: Callable[[ExportField], str],
    ):
        self.template = template
        self.value_format = value_format
        self.access = access
        self.handler_text = handler_text
        # *datetime rules read times from text; RFC3339Nano in UTC reads back without loss.
        self.time_source_format = replace(value_format, time_layout=GO_LAYOUTS["RFC3339Nano"], timezone=UTC)
        fixed_width = template.export_format != "csv"
        self.cells: list[tuple[str, Cell]] = []
        for export_field in template.content_fields:
            # CGRateS pads fillers on the right whatever the template says.
            padding = "right" if export_field.type == "*filler" else export_field.padding
            fit = fit_function(
                export_field.width if fixed_width else 0, export_field.strip, padding, export_field.mandatory
            )
            self.cells.append((export_field.tag, _fitted(self._cell(export_field), fit)))
        self.record = self._record_function()

    def diagnose(self, row: Row, cgrid: str, error: Exception) -> Exception:
        """The error of the first field that fails on ``row``, naming the field, as the writer reports it."""

        for tag, cell in self.cells:
            try:
                cell(row, cgrid)
            except (ExportRecordError, *RECORD_DATA_ERRORS) as exc:
                return ExportRecordError(f"field {tag!r}: {exc}")
        return error

    def _record_function(self) -> Callable[[Row, str], str]:

        cells = tuple(cell for _tag, cell in self.cells)
        if self.template.export_format == "fwv":
            return lambda row, cgrid: "".join([cell(row, cgrid) for cell in cells]) + "\n"
        separator = self.template.field_separator
        separators, separator_space = len(cells) - 1, separator + " "
        if not separator.isprintable() or separator.isspace():
            return lambda row, cgrid: csv_record([cell(row, cgrid) for cell in cells], separator)

        def csv_line(row: Row, cgrid: str) -> str:
            values = [cell(row, cgrid) for cell in cells]
            line = separator.join(values)
            # A line of printable ASCII without quotes, backslashes (the \. cell), a cell starting with a space
            # or a separator inside a cell needs no quoting (cells.csv_cell); else take the exact way.
            if (
                line.isascii()
                and line.isprintable()
                and line.count(separator) == separators
                and not ('"' in line or "\\" in line or separator_space in line or line[:1] == " ")
            ):
                return line + "\n"
            return csv_record(values, separator)

        return csv_line

    def _cell(self, export_field: ExportField) -> Cell | str:
        kind = export_field.type
        if kind == "*composed":
            parts = [
                rsr_function(rsr, self.value_format, export_field.layout, self.access)
                for rsr in export_field.rsr_fields
            ]
            if all(isinstance(part, str) for part in parts):
                return "".join(parts)
            if len(parts) == 1:
                return parts[0]
            functions = [(lambda _row, _cgrid, text=part: text) if isinstance(part, str) else part for part in parts]
            return lambda row, cgrid: "".join([function(row, cgrid) for function in functions])
        if kind == "*datetime":
            return self._datetime_cell(export_field)
        if kind == "*masked_destination":
            destination = value_function("destination", self.access, "")
            is_masked = self.value_format.is_masked
            return lambda row, cgrid: "1" if is_masked(value_as_text(destination(row, cgrid))) else "0"
        if kind == "*handler":  # *export_id and *time_now only: the same for every record of the run
            return self.handler_text(export_field)
        return export_field.value  # *constant, *filler

    def _datetime_cell(self, export_field: ExportField) -> Cell:
        rsr = export_field.rsr_fields[0]
        tz = self.value_format.timezone
        layout = resolve_layout(export_field.layout) if export_field.layout else self.value_format.time_layout
        out = time_formatter(layout, tz)
        raw = None if rsr.is_static else value_function(rsr.field_id, self.access, self.value_format.default_tenant)
        source = None if rsr.is_static else text_function(rsr.field_id, self.time_source_format, "", self.access)
        no_regexp = not rsr.regexp_rules

        def datetime_cell(row: Row, cgrid: str) -> str:
            value = None if raw is None else raw(row, cgrid)
            if no_regexp and isinstance(value, datetime):
                moment: datetime | None = value
            else:
                moment = parse_time(rsr.apply("" if source is None else source(row, cgrid)), tz)
            return "" if moment is None else out(moment)

        return datetime_cell


def _fitted(cell: Cell | str, fit: Callable[[str], str] | None) -> Cell:
    if isinstance(cell, str):
        if fit is None:
            return lambda _row, _cgrid: cell
        try:
            fitted = fit(cell)
        except Exception:  # the record fails the same way for every CDR: keep the error per CDR
            return lambda _row, _cgrid: fit(cell)
        return lambda _row, _cgrid: fitted
    if fit is None:
        return cell
    return lambda row, cgrid: fit(cell(row, cgrid))
