"""Canonical rows: the batch a reader gives (``StageChunk``), CDRs given by field name turned into canonical
values with what PostgreSQL could not store found first, and rows written as COPY text.

The bottom of the ingest's readers: ``formats`` (detection, CSV, switch formats) and ``documents`` (JSON,
YAML, XLSX) build on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from data.ingest.fields import CANONICAL_FIELDS, MAX_NESTING

BATCH_ROWS = 50_000  # rows per transaction: big enough for set-based SQL, small enough to keep memory flat
FIELD_INDEX = {name: i for i, name in enumerate(CANONICAL_FIELDS)}


class FormatError(ValueError):
    """The input is not in a format Dialstat reads (said before anything is imported)."""


@dataclass
class StageChunk:
    """One batch of input rows, ready for the stage table."""

    first_line: int  # line (or record) number of its first row
    rows: int  # data rows it holds: each ends accepted, duplicate or rejected
    position: int = 0  # input bytes read once this batch is done (progress)
    csv_data: bytes | None = None  # fast path: CDR-Stats CSV records, one per line, no header
    csv_columns: tuple[str, ...] = ()
    copy_data: bytes | None = None  # canonical rows: lineno, raw, problem, CANONICAL_FIELDS (COPY text)
    fields: frozenset[str] = frozenset(CANONICAL_FIELDS)  # canonical fields the source can fill
    fallback: Callable[[], StageChunk] | None = None  # the same rows parsed in Python
    after_store: Callable | None = None  # called with the cursor in the batch's transaction
    stage_sql: tuple[str, dict] | None = None  # or: an INSERT filling the stage from another table


@dataclass
class Source:
    """An opened input: its format and the batches it gives."""

    format: str
    chunks: Iterator[StageChunk]
    fields: frozenset[str]
    needs_switch: bool  # the format has no switch column: rows take the import's switch
    source_type: int
    checksum: Callable[[], str] = lambda: ""
    extra: dict = field(default_factory=dict)


# --- Canonical rows → COPY text ---

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_WIDTH = 4 + len(CANONICAL_FIELDS)
_NULL = "\\N"


def copy_line(lineno: int, raw: str, problem: str, values: list[str], recidx: int | None = None) -> str:
    """One stage row in COPY text format (empty strings stand for missing values; ``recidx``: the record's
    place among the records starting on its line, for formats that can put several on one)."""
    cells = [raw, problem, *values]
    line = "\t".join(cells)
    if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != _COPY_WIDTH - 3 or "\x00" in line:
        line = "\t".join(c.replace("\x00", "").translate(_COPY_ESCAPES) for c in cells)
    return f"{lineno}\t{_NULL if recidx is None else recidx}\t{line}\n"


def empty_values() -> list[str]:
    return [""] * len(CANONICAL_FIELDS)


def cell_text(value) -> str:
    """A value read from JSON, YAML or a spreadsheet, as the text the SQL conversion expects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def _text_problem(text: str) -> str:
    if "\x00" in text:
        return "holds a NUL character"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "is not valid Unicode (a lone surrogate)"
    return ""


def mapping_problem(record: dict) -> str:
    """What PostgreSQL could not store in a CDR given by field name: nesting deeper than ``MAX_NESTING``,
    a NUL character or a lone surrogate in a name or a value (JSON's ``\\u0000``, ``\\ud800``)."""
    stack = [(str(key), value, 1) for key, value in record.items()]
    for key in record:
        problem = _text_problem(str(key))
        if problem:
            return f"the field name {ascii(str(key))[:60]} {problem}"
    while stack:
        field_name, value, depth = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                return f"{ascii(field_name)[1:-1][:60]} {problem}"
        elif isinstance(value, dict | list):
            if depth >= MAX_NESTING:
                return f"{ascii(field_name)[1:-1][:60]} is nested deeper than {MAX_NESTING} levels"
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None:
                    problem = _text_problem(str(key))
                    if problem:
                        return f"a name inside {ascii(field_name)[1:-1][:60]} {problem}"
                stack.append((field_name, item, depth + 1))
    return ""


def canonical_from_mapping(record: dict) -> tuple[list[str], str]:
    """A CDR given by field name (JSON, YAML, XLSX, push): canonical values, and a problem if any.

    Names outside the canonical fields are kept in ``extradata``.
    """
    values = empty_values()
    problem = mapping_problem(record)
    if problem:
        return values, problem
    unknown = {}
    for key, value in record.items():
        name = str(key).strip().lower()
        if name in FIELD_INDEX:
            values[FIELD_INDEX[name]] = cell_text(value)
        elif value not in (None, ""):
            unknown[str(key)] = value
    return with_extradata(values, unknown)


def with_extradata(values: list[str], extra: dict) -> tuple[list[str], str]:
    """``values`` with ``extra`` (columns Dialstat has no field for) merged into their extradata, and the
    record's problem: "" or, when its own extradata is not a JSON object, that."""
    if extra:
        merged = merge_extradata(values[FIELD_INDEX["extradata"]], extra)
        if merged is None:
            return values, "extradata is not a JSON object"
        values[FIELD_INDEX["extradata"]] = merged
    return values, ""


def merge_extradata(text: str, more: dict) -> str | None:
    base = {}
    if text and text != "{}":
        try:
            base = json.loads(text)
        except ValueError:
            return None
        if not isinstance(base, dict):
            return None
    return json.dumps({**base, **more}, separators=(",", ":"), default=str)


class RowBatcher:
    """Groups canonical rows into COPY-text batches."""

    def __init__(self, fields: frozenset[str], batch_rows: int = BATCH_ROWS, position: Callable[[], int] = lambda: 0):
        self.fields, self.batch_rows, self.position = fields, batch_rows, position
        self.lines: list[str] = []
        self.first_line = 0

    def add(
        self, lineno: int, raw: str, problem: str, values: list[str], recidx: int | None = None
    ) -> StageChunk | None:
        if not self.lines:
            self.first_line = lineno
        self.lines.append(copy_line(lineno, raw, problem, values, recidx))
        return self.flush() if len(self.lines) >= self.batch_rows else None

    def flush(self) -> StageChunk | None:
        if not self.lines:
            return None
        chunk = StageChunk(
            first_line=self.first_line,
            rows=len(self.lines),
            position=self.position(),
            copy_data="".join(self.lines).encode(errors="replace"),  # lone surrogates are rejected before
            fields=self.fields,
        )
        self.lines = []
        return chunk


def batches_from_rows(
    rows: Iterable[tuple[int, str, str, list[str]]],
    fields: frozenset[str],
    position: Callable[[], int] = lambda: 0,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[StageChunk]:
    batcher = RowBatcher(fields, batch_rows, position)
    for row in rows:  # (lineno, raw, problem, values[, recidx])
        chunk = batcher.add(*row)
        if chunk:
            yield chunk
    last = batcher.flush()
    if last:
        yield last


def is_cdr_stats_header(fields: list[str]) -> bool:
    names = {f.strip().lower() for f in fields}
    return {"callid", "starting_date"} <= names
