"""Export writers: CSV, fixed width (FWV) and hybrid CSV-FWV, streaming CDR rows to a text stream.

:func:`write_export` takes any iterable of CDR rows (a DB cursor's generator is fine) and writes one record
per CDR, so memory stays flat. Header and trailer records may use handlers (``*cdrs_number``,
``*cdrs_cost``...) that need every CDR, so when a template has any, the content is spooled to a temporary
file (in memory up to :data:`SPOOL_MEMORY_BYTES`, on disk beyond) and written after the header.

* CSV: fields joined by the template's separator, each line ending in ``\\n``; a field is quoted (inner
  quotes doubled) when it holds the separator, a quote, ``\\r`` or ``\\n``, starts with whitespace, or is
  ``\\.`` -- Go's ``encoding/csv`` rules, which CGRateS uses. Widths are not applied.
* FWV: fields fitted to their width (see :func:`format_field_width`) and concatenated, then ``\\n``.
* Hybrid CSV-FWV: CSV records of width-fitted fields.

Width counts characters (CGRateS counts bytes; the same for ASCII). A CDR that cannot be written (a value
too long without ``strip``, too short without ``padding``, empty but ``mandatory``, unreadable data) is
left out and reported in :attr:`ExportSummary.unexported`; it never stops the export. A header or trailer
that cannot be built raises :class:`ExportError` before anything is written to ``out``.

Open ``out`` with ``newline=""`` so that ``\\n`` is written as it is on every platform.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import islice, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TextIO

from .cells import RECORD_DATA_ERRORS, ExportError, ExportRecordError, csv_cell, csv_record, format_field_width
from .compiled import RowAccess, cgrid_function, compile_content
from .fields import (
    CGRATES_ALIASES,
    UTC,
    ValueFormat,
    exported_cost,
    format_cost,
    format_go_time,
    format_usage,
    resolve_layout,
)
from .safe_csv import safe_records
from .templates import ExportField, ExportTemplate

if TYPE_CHECKING:
    from .sqlrender import SqlRendering

SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
_COPY_CHUNK_CHARS = 64 * 1024
_RENDERED_BATCH = 200  # rows the database rendered, written and summed up at once (small: cache-friendly)
# PostgreSQL's infinite times as text, and as psycopg2 reads them.
_INFINITE_TIMES = {"infinity": datetime.max.replace(tzinfo=UTC), "-infinity": datetime.min.replace(tzinfo=UTC)}


@dataclass
class ExportSummary:
    """What an export wrote. ``total_records`` counts exported CDRs; ``total_cost`` is the exact sum of
    their costs after ``cost_multiply_factor`` (not rounded, not shifted: ``*cdrs_cost`` does that like
    it does for records); order ids are the CDR ``id``s."""

    export_id: str = ""
    total_records: int = 0
    total_cost: Decimal = Decimal(0)
    total_usage_seconds: int = 0
    first_order_id: int | None = None
    last_order_id: int | None = None
    first_answer_time: datetime | None = None
    last_answer_time: datetime | None = None
    exported_cgrids: list[str] = field(default_factory=list)
    unexported: dict[str, str] = field(default_factory=dict)  # cgrid (or "id:<id>") -> reason


def write_export(template: ExportTemplate, rows: Iterable[Mapping[str, Any]], out: TextIO, **options) -> ExportSummary:
    """Write ``rows`` (CDR dicts) to ``out`` with ``template``; returns the summary.

    ``export_id`` feeds ``*export_id``; ``now`` (default: the current time) feeds ``*time_now``;
    ``default_tenant`` is the ``tenant`` of rows without one; ``mask_prefixes`` are the prefixes of the
    template's ``mask_destination_id`` list. With ``keep_exported_cgrids=False`` the summary does not
    collect exported cgrids, for exports too big to hold them in memory. With ``columns``, rows are
    tuples of those columns in that order (what a database cursor gives) instead of dicts. With
    ``rendered`` (the template's SQL rendering), rows are records rendered by the database, whose
    ``columns`` store.rendered_query names.
    """
    if template.spreadsheet_safe and template.export_format != "fwv":  # written as CGRateS would, then made safe
        with tempfile.SpooledTemporaryFile(SPOOL_MEMORY_BYTES, mode="w+", encoding="utf-8", newline="") as plain:
            summary = _write_records(template, rows, plain, **options)
            plain.seek(0)
            out.writelines(safe_records(plain, template.field_separator))
        return summary
    return _write_records(template, rows, out, **options)


def _write_records(
    template: ExportTemplate,
    rows: Iterable[Mapping[str, Any]],
    out: TextIO,
    *,
    export_id: str = "",
    now: datetime | None = None,
    default_tenant: str = "",
    mask_prefixes: Sequence[str] = (),
    keep_exported_cgrids: bool = True,
    columns: Sequence[str] | None = None,
    rendered: SqlRendering | None = None,
) -> ExportSummary:
    value_format = template.value_format(default_tenant=default_tenant, mask_prefixes=mask_prefixes)
    writer = _ExportWriter(
        template, value_format, export_id, now or datetime.now(UTC), keep_exported_cgrids, RowAccess(columns)
    )
    if rendered is None:
        write_content = writer.write_content
    else:

        def write_content(rows, sink):
            writer.write_rendered(rows, sink, rendered)

    if not template.header_fields and not template.trailer_fields:
        write_content(rows, out)
        return writer.summary
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, mode="w+", encoding="utf-8", newline="") as spool:
        write_content(rows, spool)
        header = writer.summary_record(template.header_fields, "header")
        trailer = writer.summary_record(template.trailer_fields, "trailer")
        out.write(header)
        spool.seek(0)
        shutil.copyfileobj(spool, out, _COPY_CHUNK_CHARS)
        out.write(trailer)
    return writer.summary


def export_file_name(template: ExportTemplate, now: datetime) -> str:
    """``cdrs_<unix timestamp>.csv`` (``.fwv`` for fixed width), as CGRateS names its exports."""
    extension = "fwv" if template.export_format == "fwv" else "csv"
    return f"cdrs_{int(now.timestamp())}.{extension}"


def _is_bare_cgrid(export_field: ExportField, template: ExportTemplate) -> bool:
    """Whether the field writes the cgrid as it is: no rule around it, nothing to fit or quote."""
    rules = export_field.rsr_fields
    return (
        export_field.type == "*composed"
        and len(rules) == 1
        and not rules[0].is_static
        and not rules[0].regexp_rules
        and CGRATES_ALIASES.get(rules[0].field_id, rules[0].field_id) == "cgrid"
        and not export_field.mandatory
        and (template.export_format == "csv" or export_field.width in (0, 40))
        and (template.export_format == "fwv" or template.field_separator not in "0123456789abcdef")
    )


def _quoted(cell: Callable[[Any, str], str], separator: str) -> Callable[[Any, str], str]:
    return lambda row, cgrid: csv_cell(cell(row, cgrid), separator)


class _ExportWriter:
    """Renders records for one export run and keeps the statistics the handlers report."""

    def __init__(
        self,
        template: ExportTemplate,
        value_format: ValueFormat,
        export_id: str,
        now: datetime,
        keep_exported_cgrids: bool,
        access: RowAccess,
    ):
        self.template = template
        self.value_format = value_format
        self.export_id = export_id
        self.now = now
        self.keep_exported_cgrids = keep_exported_cgrids
        self.access = access
        self.summary = ExportSummary(export_id=export_id)

    def write_content(self, rows: Iterable[Any], sink: TextIO) -> None:  # noqa: C901 - one hot loop, on purpose
        access = self.access
        content = compile_content(
            self.template, self.value_format, access, export_id=self.export_id, handler_text=self._handler_text
        )
        record, cgrid_of = content.record, cgrid_function(access)
        id_of, answered_of = access.getter("id"), access.getter("answered_date")
        cost_of, billsec_of = access.getter("sell_cost"), access.getter("billsec")
        factor = self.value_format.cost_multiply_factor
        summary = self.summary
        unexported, cgrids = summary.unexported, summary.exported_cgrids
        keep_cgrids, write = self.keep_exported_cgrids, sink.write
        records, usage, total_cost = 0, 0, Decimal(0)
        first_id = last_id = first_answer = last_answer = None
        for row in rows:
            try:
                cgrid = cgrid_of(row)
            except RECORD_DATA_ERRORS as exc:
                unexported[f"id:{id_of(row)}"] = str(exc)
                continue
            try:
                line = record(row, cgrid)
            except (ExportRecordError, *RECORD_DATA_ERRORS) as exc:
                unexported[cgrid] = str(content.diagnose(row, cgrid, exc))
                continue
            try:
                cost = cost_of(row)
                if factor or (cost is not None and cost.__class__ is not Decimal):
                    cost = exported_cost(cost, factor)
                seconds = int(billsec_of(row) or 0)
            except RECORD_DATA_ERRORS as exc:
                unexported[cgrid] = f"unreadable CDR data: {exc}"
                continue
            write(line)
            records += 1
            usage += seconds
            if keep_cgrids:
                cgrids.append(cgrid)
            if cost is not None:
                total_cost += cost
            order_id = id_of(row)
            if order_id is not None:
                if first_id is None or order_id < first_id:
                    first_id = order_id
                if last_id is None or order_id > last_id:
                    last_id = order_id
            answered = answered_of(row)
            if isinstance(answered, datetime):
                if answered.tzinfo is None:
                    answered = answered.replace(tzinfo=UTC)
                if first_answer is None or answered < first_answer:
                    first_answer = answered
                if last_answer is None or answered > last_answer:
                    last_answer = answered
        self._add_to_summary(records, usage, total_cost, (first_id, last_id), (first_answer, last_answer))

    def write_rendered(self, rows: Iterable[Sequence[Any]], sink: TextIO, rendering: SqlRendering) -> None:  # noqa: C901
        """Write records rendered by the database (store.rendered_query): the pieces joined around the Python
        cells; a row the database flagged ``failed`` is rendered from its raw columns by the Python writer."""
        columns = self.access.columns
        position = {name: index for index, name in enumerate(columns)}
        first_piece = position["rendered piece 0"]
        failed_at = position.get("rendered failed")
        template, value_format = self.template, self.value_format
        compiled = dict(value_format=value_format, export_id=self.export_id, handler_text=self._handler_text)
        content = compile_content(template, access=self.access, **compiled)
        python_cells = [content.cells[index] for index in rendering.python_fields]
        if template.export_format != "fwv":  # CSV quoting of what Python renders; SQL quotes its own cells
            separator = template.field_separator
            python_cells = [(tag, _quoted(cell, separator)) for tag, cell in python_cells]
        # Python cells go between the pieces: piece 0, cell 0, piece 1, ...
        slots = [(tag, cell, first_piece + number + 1) for number, (tag, cell) in enumerate(python_cells)]
        last_piece = first_piece + len(slots)
        # The common case (cgr-csv): the cells are the bare cgrid, so the line is the pieces joined with it.
        cgrid_joins = bool(slots) and all(
            _is_bare_cgrid(template.content_fields[index], template) for index in rendering.python_fields
        )
        fallback = self._fallback_writer(columns, compiled) if failed_at is not None else None
        needs_cgrid = (
            self.keep_exported_cgrids
            or cgrid_joins
            or any(
                rule.field_id in ("cgrid", "CGRID")
                for index in rendering.python_fields
                for rule in template.content_fields[index].rsr_fields
            )
        )
        sha1 = hashlib.sha1
        unexported = self.summary.unexported
        errors = (ExportRecordError, *RECORD_DATA_ERRORS)

        def lines_of(batch: list, batch_cgrids: Iterable[str]) -> list[str]:
            """The lines of rows SQL rendered (raises what a Python cell raises)."""
            if not slots:
                return list(map(itemgetter(first_piece), batch))
            if cgrid_joins:
                pieces_of = itemgetter(*range(first_piece, last_piece + 1))
                return [cgrid.join(pieces_of(row)) for row, cgrid in zip(batch, batch_cgrids, strict=False)]
            if len(slots) == 1:
                ((_tag, cell, piece),) = slots
                return [
                    row[first_piece] + cell(row, cgrid) + row[piece]
                    for row, cgrid in zip(batch, batch_cgrids, strict=False)
                ]
            return [
                "".join(
                    [
                        row[first_piece],
                        *(text for _tag, cell, piece in slots for text in (cell(row, cgrid), row[piece])),
                    ]
                )
                for row, cgrid in zip(batch, batch_cgrids, strict=False)
            ]

        def first_failure(row: Sequence[Any], cgrid: str, error: Exception) -> str:
            """The reason the Python writer gives: the first field that fails (the SQL ones did not)."""
            for tag, cell, _piece in slots:
                try:
                    cell(row, cgrid)
                except errors as exc:
                    return f"field {tag!r}: {exc}"
            return str(error)

        def row_by_row(batch: list) -> tuple[list, list[str], list[str]]:
            """A batch with rows that are not simply written: each row on its own, the unexported listed."""
            exported, lines, batch_cgrids = [], [], []
            for row in batch:
                key = row[0]
                if key is None:
                    unexported[f"id:{row[1]}"] = "CDR has no callid or starting_date, so no cgrid"
                    continue
                cgrid = sha1(key.encode()).hexdigest()
                if failed_at is not None and row[failed_at]:
                    line = fallback(row, cgrid)
                    if line is None:
                        continue
                else:
                    try:
                        (line,) = lines_of([row], [cgrid])
                    except errors as exc:
                        unexported[cgrid] = first_failure(row, cgrid, exc)
                        continue
                exported.append(row)
                lines.append(line)
                batch_cgrids.append(cgrid)
            return exported, lines, batch_cgrids

        # Batches of rows, each written at once and summed up with built-ins: per row, only what must be.
        key_of, id_of, billsec_of, cost_of, answered_of = (itemgetter(index) for index in range(5))
        failed_of = itemgetter(failed_at) if failed_at is not None else None
        factor = self.value_format.cost_multiply_factor
        keep_cgrids, write = self.keep_exported_cgrids, sink.write
        records, usage, total_cost = 0, 0, Decimal(0)
        order_ids: list[int] = []
        answer_texts: list[str] = []  # text in UTC, that sorts as the time does (store.rendered_query)
        rows = iter(rows)
        while batch := list(islice(rows, _RENDERED_BATCH)):
            keys = list(map(key_of, batch))
            if None in keys or (failed_of is not None and any(map(failed_of, batch))):
                exported, lines, batch_cgrids = row_by_row(batch)
            else:
                batch_cgrids = [sha1(key.encode()).hexdigest() for key in keys] if needs_cgrid else None
                try:
                    exported, lines = batch, lines_of(batch, batch_cgrids or repeat(""))
                except errors:
                    exported, lines, batch_cgrids = row_by_row(batch)
            if not exported:
                continue
            write("".join(lines))
            records += len(exported)
            usage += sum(filter(None, map(billsec_of, exported)))
            costs = [cost for cost in map(cost_of, exported) if cost is not None]
            total_cost = sum([cost * factor for cost in costs] if factor else costs, total_cost)  # in order, as per row
            ids = list(map(id_of, exported))
            order_ids += (min(ids), max(ids))
            answered = [text for text in map(answered_of, exported) if text is not None]
            if answered:
                answer_texts += (min(answered), max(answered))
            if keep_cgrids:
                self.summary.exported_cgrids.extend(batch_cgrids)
        first_last_ids = (min(order_ids), max(order_ids)) if order_ids else (None, None)
        answer_times = tuple(
            _INFINITE_TIMES.get(text) or datetime.fromisoformat(text).replace(tzinfo=UTC)
            for text in ((min(answer_texts), max(answer_texts)) if answer_texts else ())
        )
        self._add_to_summary(records, usage, total_cost, first_last_ids, answer_times or (None, None))

    def _fallback_writer(self, columns: Sequence[str], compiled: dict) -> Callable[[Sequence[Any], str], str | None]:
        """The Python writer's record for a row the database could not render, from its ``fallback`` columns;
        None (and the row listed as unexported, with the Python writer's reason) when it cannot be written."""
        access = RowAccess(
            [name[len("fallback ") :] if name.startswith("fallback ") else f"rendered {name}" for name in columns]
        )
        content = compile_content(self.template, access=access, **compiled)
        unexported = self.summary.unexported

        def python_record(row: Sequence[Any], cgrid: str) -> str | None:
            try:
                return content.record(row, cgrid)
            except (ExportRecordError, *RECORD_DATA_ERRORS) as exc:
                unexported[cgrid] = str(content.diagnose(row, cgrid, exc))
                return None

        return python_record

    def _add_to_summary(self, records: int, usage: int, total_cost: Decimal, order_ids: tuple, answer_times: tuple):
        """Fold one pass's totals into the summary (the loops keep them in locals: they are the hot path)."""
        summary = self.summary
        summary.total_records += records
        summary.total_usage_seconds += usage
        summary.total_cost += total_cost
        summary.first_order_id, summary.last_order_id = order_ids
        summary.first_answer_time, summary.last_answer_time = answer_times

    def summary_record(self, export_fields: Sequence[ExportField], section: str) -> str:
        """The header or trailer record ("" when the template has none)."""
        if not export_fields:
            return ""
        try:
            return self._record(export_fields, self._text_without_row)
        except ExportRecordError as exc:
            raise ExportError(f"cannot build the export {section}: {exc}") from None

    def _record(self, export_fields: Sequence[ExportField], text_of: Callable[[ExportField], str]) -> str:
        fixed_width = self.template.export_format != "csv"
        cells = []
        for export_field in export_fields:
            # CGRateS pads fillers on the right whatever the template says.
            padding = "right" if export_field.type == "*filler" else export_field.padding
            try:
                cells.append(
                    format_field_width(
                        text_of(export_field),
                        export_field.width if fixed_width else 0,
                        export_field.strip,
                        padding,
                        export_field.mandatory,
                    )
                )
            except (ExportRecordError, *RECORD_DATA_ERRORS) as exc:
                raise ExportRecordError(f"field {export_field.tag!r}: {exc}") from None
        if self.template.export_format == "fwv":
            return "".join(cells) + "\n"
        return csv_record(cells, self.template.field_separator)

    def _text_without_row(self, export_field: ExportField) -> str:
        if export_field.type == "*handler":
            return self._handler_text(export_field)
        return export_field.value  # *constant, *filler

    def _handler_text(self, export_field: ExportField) -> str:
        handler = export_field.value
        summary = self.summary
        value_format = self.value_format
        if handler == "*export_id":
            return self.export_id
        if handler == "*cdrs_number":
            return str(summary.total_records)
        if handler == "*cdrs_duration":
            return format_usage(summary.total_usage_seconds, export_field.layout or value_format.usage_unit)
        if handler == "*cdrs_cost":
            return format_cost(summary.total_cost, value_format.cost_rounding_decimals, value_format.cost_shift_digits)
        moment = {
            "*time_now": self.now,
            "*first_cdr_atime": summary.first_answer_time,
            "*last_cdr_atime": summary.last_answer_time,
        }[handler]
        if moment is None:  # no answered CDR exported
            return ""
        return format_go_time(moment, self._time_layout(export_field), value_format.timezone)

    def _time_layout(self, export_field: ExportField) -> str:
        return resolve_layout(export_field.layout) if export_field.layout else self.value_format.time_layout
