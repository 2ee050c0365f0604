"""Input formats: detection, and readers that turn a file into batches of staged rows.

Every reader streams: it never holds more than one batch of the input in memory. A batch is either

- raw CDR-Stats CSV records (``StageChunk.csv_data``), COPYed as they are: PostgreSQL parses them,
  which is the fast path for the common case of a plain CDR-Stats CSV file; or
- canonical rows (``fields.CANONICAL_FIELDS``) built in Python, in COPY text format
  (``StageChunk.copy_data``), for every other format and for CSV that the fast path refuses.

A row that cannot be read (wrong number of fields, not a mapping, ...) is still staged, with its
``problem`` set, so that it is counted and rejected in the same transaction as the rows around it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from data.ingest.fields import CANONICAL_FIELDS, CDR_STATS_FIELDS, SOURCE_TYPES

FORMATS = (
    "auto",
    "cdr-stats",
    "cdr-stats-csv",
    "cdr-stats-json",
    "cdr-stats-yaml",
    "cdr-stats-xlsx",
    "freeswitch-csv",
    "asterisk-csv",
)
BATCH_ROWS = 50_000  # rows per transaction: big enough for set-based SQL, small enough to keep memory flat
FAST_CHUNK_BYTES = 6 << 20  # about 50,000 CDR-Stats CSV lines
_FIELD_INDEX = {name: i for i, name in enumerate(CANONICAL_FIELDS)}
_DATE_LIKE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d")
_UUID_LIKE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ASTERISK_DISPOSITIONS = {
    "ANSWERED",
    "NO ANSWER",
    "BUSY",
    "FAILED",
    "CONGESTION",
    "CANCEL",
    "CANCELED",
    "CHANUNAVAIL",
    "NOANSWER",
    "ANSWER",
}


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
_COPY_WIDTH = 3 + len(CANONICAL_FIELDS)


def copy_line(lineno: int, raw: str, problem: str, values: list[str]) -> str:
    """One stage row in COPY text format (empty strings stand for missing values)."""
    cells = [str(lineno), raw, problem, *values]
    line = "\t".join(cells)
    if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != _COPY_WIDTH - 1 or "\x00" in line:
        line = "\t".join(c.replace("\x00", "").translate(_COPY_ESCAPES) for c in cells)
    return line + "\n"


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


def canonical_from_mapping(record: dict) -> tuple[list[str], str]:
    """A CDR given by field name (JSON, YAML, XLSX, push): canonical values, and a problem if any.

    Names outside the canonical fields are kept in ``extradata``.
    """
    values = empty_values()
    unknown = {}
    for key, value in record.items():
        name = str(key).strip().lower()
        if name in _FIELD_INDEX:
            values[_FIELD_INDEX[name]] = cell_text(value)
        elif value not in (None, ""):
            unknown[str(key)] = value
    if unknown:
        extradata = _merge_extradata(values[_FIELD_INDEX["extradata"]], unknown)
        if extradata is None:
            return values, "extradata is not a JSON object"
        values[_FIELD_INDEX["extradata"]] = extradata
    return values, ""


def _merge_extradata(text: str, more: dict) -> str | None:
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

    def add(self, lineno: int, raw: str, problem: str, values: list[str]) -> StageChunk | None:
        if not self.lines:
            self.first_line = lineno
        self.lines.append(copy_line(lineno, raw, problem, values))
        return self.flush() if len(self.lines) >= self.batch_rows else None

    def flush(self) -> StageChunk | None:
        if not self.lines:
            return None
        chunk = StageChunk(
            first_line=self.first_line,
            rows=len(self.lines),
            position=self.position(),
            copy_data="".join(self.lines).encode(),
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
    for lineno, raw, problem, values in rows:
        chunk = batcher.add(lineno, raw, problem, values)
        if chunk:
            yield chunk
    last = batcher.flush()
    if last:
        yield last


# --- Opening files ---


class CountingReader(io.RawIOBase):
    """Counts (and hashes) the bytes read from the file itself, before any decompression."""

    def __init__(self, raw):
        self.raw, self.count, self.sha = raw, 0, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.count += n
            self.sha.update(memoryview(buffer)[:n])
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_binary(path: Path) -> tuple[io.BufferedReader, CountingReader]:
    """The file's content (gunzipped when it is gzip) and the counter of the bytes read."""
    counter = CountingReader(open(path, "rb", buffering=0))
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), buffer_size=1 << 20), counter
    return buffered, counter


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _csv_fields(line: str) -> list[str]:
    return next(csv.reader([line]), [])


def _is_cdr_stats_header(fields: list[str]) -> bool:
    names = {f.strip().lower() for f in fields}
    return {"callid", "starting_date"} <= names


def detect_format(head: bytes, name: str = "") -> str:
    """The format of a file from its first bytes (already gunzipped) and its name.

    - a zip file (XLSX) → cdr-stats-xlsx; JSON (``[`` or ``{`` first) → cdr-stats-json; YAML (``---`` or
      ``- key: value`` first) → cdr-stats-yaml;
    - CSV whose first line names ``callid`` and ``starting_date`` → cdr-stats (CSV with its header);
    - CSV without a header, by the shape of its first row: 13 to 15 fields with a date in the 5th and a
      UUID in the 11th → freeswitch-csv; 16 or more fields with dates in the 10th and a disposition in
      the 15th → asterisk-csv; 25 fields with a date in the 10th → cdr-stats without its header.
    """
    lower = name.lower().removesuffix(".gz")
    if head.startswith(b"PK\x03\x04") or lower.endswith(".xlsx"):
        return "cdr-stats-xlsx"
    text = _strip_bom(head.decode("utf-8", errors="replace")).lstrip()
    if text.startswith(("[", "{")) or lower.endswith((".json", ".jsonl")):
        return "cdr-stats-json"
    if lower.endswith((".yaml", ".yml")) or re.match(r"^(#[^\n]*\n\s*)*(---|-\s+\w+\s*:)", text):
        return "cdr-stats-yaml"
    first = text.splitlines()[0] if text else ""
    fields = _csv_fields(first)
    if _is_cdr_stats_header(fields):
        return "cdr-stats-csv"
    n = len(fields)
    if 13 <= n <= 15 and _DATE_LIKE.match(fields[4]) and _UUID_LIKE.match(fields[10].strip()):
        return "freeswitch-csv"
    if n >= 16 and _DATE_LIKE.match(fields[9]) and fields[14].strip().upper() in ASTERISK_DISPOSITIONS:
        return "asterisk-csv"
    if n == len(CDR_STATS_FIELDS) and _DATE_LIKE.match(fields[9]):
        return "cdr-stats-csv"
    raise FormatError(
        f"cannot tell the format of this file from its first line: give --format ({', '.join(FORMATS[1:])})"
    )


# --- CDR-Stats CSV: the fast path, and its Python twin ---


def _cdr_stats_columns(header: list[str] | None) -> tuple[tuple[str, ...], dict[int, str]]:
    """Canonical column per CSV position, and the positions of unknown columns (kept in extradata)."""
    if header is None:
        return CDR_STATS_FIELDS, {}
    columns, unknown = [], {}
    for i, name in enumerate(h.strip().lower() for h in header):
        if name in _FIELD_INDEX and name not in columns:
            columns.append(name)
        else:
            columns.append("")
            unknown[i] = header[i].strip() or f"column_{i + 1}"
    return tuple(columns), unknown


def cdr_stats_csv_rows(
    lines: Iterable[str], first_line: int, columns: tuple[str, ...], unknown: dict[int, str]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """CDR-Stats CSV records (Python's csv module), with their line numbers and raw text."""
    tracker = LineTracker(lines, first_line)
    for fields in csv.reader(tracker):
        lineno, raw = tracker.take()
        if not any(f.strip() for f in fields):
            continue  # blank line
        values = empty_values()
        if len(fields) != len(columns):
            yield lineno, raw, f"expected {len(columns)} fields, found {len(fields)}", values
            continue
        for i, name in enumerate(columns):
            if name:
                values[_FIELD_INDEX[name]] = fields[i]
        problem = ""
        if unknown:
            extra = {unknown[i]: fields[i] for i in unknown if fields[i] != ""}
            if extra:
                merged = _merge_extradata(values[_FIELD_INDEX["extradata"]], extra)
                if merged is None:
                    problem = "extradata is not a JSON object"
                else:
                    values[_FIELD_INDEX["extradata"]] = merged
        yield lineno, raw, problem, values


class LineTracker:
    """Feeds lines to ``csv.reader`` and remembers which lines (and raw text) made each record."""

    def __init__(self, lines: Iterable[str], first_line: int):
        self.lines, self.next_line, self.pending = iter(lines), first_line, []
        self.record_line = first_line

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        if not self.pending:
            self.record_line = self.next_line
        self.pending.append(line)
        self.next_line += 1
        return line

    def take(self) -> tuple[int, str]:
        raw = "".join(self.pending).rstrip("\r\n")
        self.pending = []
        return self.record_line, raw


def _fast_path_ok(chunk: bytes) -> bool:
    """Bytes COPY can take as CSV records one per line; anything odd goes through Python instead."""
    return b"\x00" not in chunk and b"\\." not in chunk and b"\r" not in chunk.replace(b"\r\n", b"")


def _complete_records(data: bytes, carry_holder: list[bytes], stream, chunk_bytes: int) -> bytes:
    """Extend ``data`` line by line while a quoted field is open (an odd number of quotes so far)."""
    quotes = data.count(b'"')
    carry = carry_holder[0]
    while quotes % 2:
        nl = carry.find(b"\n")
        if nl < 0:
            more = stream.read(chunk_bytes)
            if not more:
                data, carry = data + carry, b""
                break
            carry += more
            continue
        line, carry = carry[: nl + 1], carry[nl + 1 :]
        data += line
        quotes += line.count(b'"')
    carry_holder[0] = carry
    return data


def cdr_stats_csv_chunks(
    stream: io.BufferedReader, position: Callable[[], int], chunk_bytes: int = FAST_CHUNK_BYTES
) -> tuple[Iterator[StageChunk], frozenset[str]]:
    """Batches of a CDR-Stats CSV file: raw records for COPY when possible, Python-parsed otherwise."""
    first = _strip_bom(stream.readline().decode("utf-8", errors="replace"))
    header_fields = _csv_fields(first)
    has_header = _is_cdr_stats_header(header_fields)
    columns, unknown = _cdr_stats_columns(header_fields if has_header else None)
    fields = frozenset(c for c in columns if c)
    pending_first = b"" if has_header else first.encode()
    fast = not unknown

    def python_chunk(data: bytes, first_line: int, pos: int) -> StageChunk:
        lines = io.StringIO(data.decode("utf-8", errors="replace"), newline="")
        rows = list(cdr_stats_csv_rows(lines, first_line, columns, unknown))
        lines_out = "".join(copy_line(*row) for row in rows)
        return StageChunk(
            first_line=first_line, rows=len(rows), position=pos, copy_data=lines_out.encode(), fields=fields
        )

    def chunks() -> Iterator[StageChunk]:
        line_no = 2 if has_header else 1
        carry = pending_first
        while True:
            block = stream.read(chunk_bytes)
            data = carry + block
            if not data:
                return
            if block:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
                data = _complete_records(data, carry_holder := [carry], stream, chunk_bytes)
                carry = carry_holder[0]
            else:
                carry = b""
                if not data.endswith(b"\n"):
                    data += b"\n"
            lines = data.count(b"\n")
            pos = position()
            if fast and _fast_path_ok(data):
                # COPY parses the records; the pipeline checks it found one per line, else uses the fallback.
                yield StageChunk(
                    first_line=line_no,
                    rows=lines,
                    position=pos,
                    csv_data=data,
                    csv_columns=columns,
                    fields=fields,
                    fallback=lambda d=data, n=line_no, p=pos: python_chunk(d, n, p),
                )
            else:
                yield python_chunk(data, line_no, pos)
            line_no += lines

    return chunks(), fields


# --- Switch formats (no header) ---

FREESWITCH_CSV_FIELDS = (
    "caller_id_name",
    "caller_id_number",
    "destination_number",
    "context",
    "start_stamp",
    "answer_stamp",
    "end_stamp",
    "duration",
    "billsec",
    "hangup_cause",
    "uuid",
    "bleg_uuid",
    "accountcode",
    "read_codec",
    "write_codec",
)
ASTERISK_CSV_FIELDS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
)
_CLID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


def _extradata(pairs: dict) -> str:
    kept = {k: v for k, v in pairs.items() if v not in ("", None)}
    return json.dumps(kept, separators=(",", ":")) if kept else "{}"


def freeswitch_csv_row(fields: list[str]) -> tuple[list[str], str]:
    """A mod_cdr_csv line (default template) as canonical values."""
    if not 13 <= len(fields) <= 15:
        return empty_values(), f"expected 13 to 15 fields (mod_cdr_csv default template), found {len(fields)}"
    f = dict(zip(FREESWITCH_CSV_FIELDS, fields, strict=False))
    values = empty_values()
    for canonical, name in (
        ("caller_id_name", "caller_id_name"),
        ("caller_id_number", "caller_id_number"),
        ("destination_number", "destination_number"),
        ("starting_date", "start_stamp"),
        ("answered_date", "answer_stamp"),
        ("ending_date", "end_stamp"),
        ("duration", "duration"),
        ("billsec", "billsec"),
        ("hangup_cause", "hangup_cause"),
        ("callid", "uuid"),
        ("accountcode", "accountcode"),
    ):
        values[_FIELD_INDEX[canonical]] = f.get(name, "")
    values[_FIELD_INDEX["cdr_source_type"]] = str(SOURCE_TYPES["freeswitch"])
    values[_FIELD_INDEX["extradata"]] = _extradata(
        {k: f.get(k) for k in ("context", "bleg_uuid", "read_codec", "write_codec")}
    )
    return values, ""


def asterisk_csv_row(fields: list[str]) -> tuple[list[str], str]:
    """A Master.csv line (cdr_csv) as canonical values; without ``uniqueid`` the callid is made from the line."""
    if len(fields) < 16:
        return empty_values(), f"expected at least 16 fields (Asterisk Master.csv), found {len(fields)}"
    f = dict(zip(ASTERISK_CSV_FIELDS, fields, strict=False))
    values = empty_values()
    clid = _CLID.match(f["clid"])
    for canonical, value in (
        ("accountcode", f["accountcode"]),
        ("caller_id_number", f["src"]),
        ("caller_id_name", clid.group(1).strip() if clid else f["clid"]),
        ("destination_number", f["dst"]),
        ("channel", f["channel"]),
        ("starting_date", f["start"]),
        ("answered_date", f["answer"]),
        ("ending_date", f["end"]),
        ("duration", f["duration"]),
        ("billsec", f["billsec"]),
        ("disposition", f["disposition"]),
    ):
        values[_FIELD_INDEX[canonical]] = value
    callid = f.get("uniqueid") or "ast-" + hashlib.sha1("\x1f".join(fields).encode()).hexdigest()
    values[_FIELD_INDEX["callid"]] = callid
    values[_FIELD_INDEX["cdr_source_type"]] = str(SOURCE_TYPES["asterisk"])
    values[_FIELD_INDEX["extradata"]] = _extradata(
        {
            k: f.get(k)
            for k in (
                "dcontext",
                "clid",
                "dstchannel",
                "lastapp",
                "lastdata",
                "amaflags",
                "userfield",
                "peeraccount",
                "linkedid",
                "sequence",
            )
        }
    )
    return values, ""


SWITCH_CSV = {
    "freeswitch-csv": (
        freeswitch_csv_row,
        SOURCE_TYPES["freeswitch"],
        frozenset(
            {
                "caller_id_name",
                "caller_id_number",
                "destination_number",
                "starting_date",
                "answered_date",
                "ending_date",
                "duration",
                "billsec",
                "hangup_cause",
                "callid",
                "accountcode",
                "cdr_source_type",
                "extradata",
            }
        ),
    ),
    "asterisk-csv": (
        asterisk_csv_row,
        SOURCE_TYPES["asterisk"],
        frozenset(
            {
                "accountcode",
                "caller_id_number",
                "caller_id_name",
                "destination_number",
                "channel",
                "starting_date",
                "answered_date",
                "ending_date",
                "duration",
                "billsec",
                "disposition",
                "callid",
                "cdr_source_type",
                "extradata",
            }
        ),
    ),
}


def switch_csv_rows(text: Iterable[str], to_row) -> Iterator[tuple[int, str, str, list[str]]]:
    tracker = LineTracker(text, 1)
    for fields in csv.reader(tracker):
        lineno, raw = tracker.take()
        if not any(f.strip() for f in fields):
            continue
        values, problem = to_row(fields)
        yield lineno, raw, problem, values


# --- CDR-Stats JSON, YAML and XLSX ---


def json_records(text: io.TextIOBase) -> Iterator[tuple[int, str, object]]:
    """(line, raw, value) of each element of a JSON array, or of each line of JSON Lines, streamed."""
    decoder = json.JSONDecoder()
    buffer, line, offset = "", 1, 0
    started = in_array = False
    while True:
        more = text.read(1 << 16)
        buffer = buffer[offset:] + more
        offset = 0
        while True:
            while offset < len(buffer) and buffer[offset] in " \t\r\n,\ufeff":
                line += buffer[offset] == "\n"
                offset += 1
            if offset >= len(buffer):
                break
            if not started:
                started = True
                if buffer[offset] == "[":
                    in_array = True
                    offset += 1
                    continue
            if in_array and buffer[offset] == "]":
                return
            try:
                value, end = decoder.raw_decode(buffer, offset)
            except ValueError as exc:
                if more and len(buffer) - offset < (16 << 20):
                    break  # the element goes on in the next read
                bad_end = buffer.find("\n", offset)
                bad_end = len(buffer) if bad_end < 0 else bad_end
                yield line, buffer[offset:bad_end], ValueError(f"not valid JSON ({exc.msg})")
                if in_array:
                    return  # the rest of the array cannot be found reliably
                line += 1
                offset = bad_end
                continue
            raw = buffer[offset:end]
            yield line, raw, value
            line += raw.count("\n")
            offset = end
        if not more:
            return


def mapping_rows(records: Iterable[tuple[int, str, object]]) -> Iterator[tuple[int, str, str, list[str]]]:
    for lineno, raw, record in records:
        if isinstance(record, Exception):
            yield lineno, raw, str(record), empty_values()
        elif not isinstance(record, dict):
            yield lineno, raw, "not a CDR (expected an object of CDR-Stats fields)", empty_values()
        else:
            values, problem = canonical_from_mapping(record)
            yield lineno, raw if len(raw) < 4000 else raw[:4000], problem, values


def yaml_records(stream) -> Iterator[tuple[int, str, object]]:
    """Each item of a YAML list of CDRs, with its line. YAML has no streaming reader: the file is parsed whole."""
    import yaml

    loader = yaml.SafeLoader(stream)
    try:
        node = loader.get_single_node()
        if node is None:
            return
        if not isinstance(node, yaml.SequenceNode):
            raise FormatError("a CDR-Stats YAML file is a list of CDRs")
        for item in node.value:
            value = loader.construct_object(item, deep=True)
            yield item.start_mark.line + 1, json.dumps(value, default=str, separators=(",", ":")), value
    except yaml.YAMLError as exc:
        raise FormatError(f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def xlsx_records(path: Path) -> Iterator[tuple[int, str, object]]:
    """Rows of the first sheet as mappings (its first row is the header), read in streaming mode."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [cell_text(c).strip() for c in next(rows, ())]
        if not _is_cdr_stats_header(header):
            raise FormatError("the first row of the sheet must be the CDR-Stats header (callid, starting_date, ...)")
        for number, row in enumerate(rows, start=2):
            if row is None or all(c in (None, "") for c in row):
                continue
            raw = ",".join(cell_text(c) for c in row)
            if len(row) > len(header) and any(c not in (None, "") for c in row[len(header) :]):
                yield number, raw, ValueError(f"expected {len(header)} fields, found {len(row)}")
                continue
            yield number, raw, {h: c for h, c in zip(header, row, strict=False) if h}
    finally:
        book.close()


# --- Entry point ---


def open_source(path: Path, fmt: str = "auto", batch_rows: int = BATCH_ROWS) -> tuple[Source, Callable[[], None]]:
    """The batches of a file in format ``fmt`` (or the detected one), and a function closing it."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    stream, counter = open_binary(path)
    try:
        head = stream.peek(64 << 10)[: 64 << 10]
        if fmt in ("auto", "cdr-stats"):
            detected = detect_format(head, path.name)
            if fmt == "cdr-stats" and not detected.startswith("cdr-stats"):
                raise FormatError(f"this file looks like {detected}, not CDR-Stats fields")
            fmt = detected
        position = lambda: counter.count  # noqa: E731
        checksum = lambda: counter.sha.hexdigest()  # noqa: E731
        if fmt == "cdr-stats-csv":
            chunks, fields = cdr_stats_csv_chunks(stream, position)
            return Source(
                "cdr-stats-csv", chunks, fields, "switch" not in fields, SOURCE_TYPES["csv"], checksum
            ), stream.close
        if fmt in SWITCH_CSV:
            to_row, source_type, fields = SWITCH_CSV[fmt]
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
            chunks = batches_from_rows(switch_csv_rows(text, to_row), fields, position, batch_rows)
            return Source(fmt, chunks, fields, True, source_type, checksum), text.close
        if fmt == "cdr-stats-json":
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
            rows = mapping_rows(json_records(text))
        elif fmt == "cdr-stats-yaml":
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
            rows = mapping_rows(yaml_records(text))
        else:  # cdr-stats-xlsx: openpyxl reads the zip itself
            stream.close()
            counter = CountingReader(open(path, "rb", buffering=0))
            while counter.read(1 << 20):
                pass  # checksum and size of the file; the sheet is then streamed by openpyxl
            counter.close()
            rows = mapping_rows(xlsx_records(path))
            text = None
        fields = frozenset(CANONICAL_FIELDS)
        chunks = batches_from_rows(rows, fields, position, batch_rows)
        return Source(fmt, chunks, fields, False, SOURCE_TYPES["csv"], checksum), (text.close if text else stream.close)
    except BaseException:
        stream.close()
        raise
