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
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from data.ingest.documents import json_records, mapping_rows, xlsx_records, yaml_records
from data.ingest.fields import CANONICAL_FIELDS, CDR_STATS_FIELDS, SOURCE_TYPES
from data.ingest.rows import (
    BATCH_ROWS,
    FIELD_INDEX,
    FormatError,
    Source,
    StageChunk,
    batches_from_rows,
    copy_line,
    empty_values,
    is_cdr_stats_header,
    with_extradata,
)

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
FAST_CHUNK_BYTES = 6 << 20  # about 50,000 CDR-Stats CSV lines
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
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


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
    if is_cdr_stats_header(fields):
        return "cdr-stats-csv"
    n = len(fields)
    if 13 <= n <= 15 and _DATE_LIKE.match(fields[4]) and _UUID_LIKE.match(fields[10].strip()):
        return "freeswitch-csv"
    if n >= 16 and _DATE_LIKE.match(fields[9]) and fields[14].strip().upper() in ASTERISK_DISPOSITIONS:
        return "asterisk-csv"
    if n == len(CDR_STATS_FIELDS) and _DATE_LIKE.match(fields[9]):
        return "cdr-stats-csv"
    raise FormatError(
        f"cannot tell the format of this file from its first line (it is none of {', '.join(FORMATS[1:])})"
    )


# --- CDR-Stats CSV: the fast path, and its Python twin ---


def _cdr_stats_columns(header: list[str] | None) -> tuple[tuple[str, ...], dict[int, str]]:
    """Canonical column per CSV position, and the positions of unknown columns (kept in extradata)."""
    if header is None:
        return CDR_STATS_FIELDS, {}
    columns, unknown = [], {}
    for i, name in enumerate(h.strip().lower() for h in header):
        if name in FIELD_INDEX and name not in columns:
            columns.append(name)
        else:
            columns.append("")
            unknown[i] = header[i].strip() or f"column_{i + 1}"
    return tuple(columns), unknown


def csv_records(lines: Iterable[str], **options) -> Iterator[list[str] | csv.Error]:
    """``csv.reader``'s records (``options``: its dialect settings), with a record it cannot read (a field over
    its size limit) given as the error: the reader starts afresh at the next line."""
    reader = csv.reader(lines, **options)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc


def _blank(fields: list[str]) -> bool:
    """An empty or whitespace-only line: not a record. A line of separators (``,,,``) is one, and is rejected."""
    return len(fields) <= 1 and not (fields and fields[0].strip())


def line_breaks(data: bytes) -> int:
    """Line breaks in ``data``, as Python's universal newlines count them (CRLF, LF, and a lone CR)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def has_lone_cr(data: bytes) -> bool:
    return b"\r" in data.replace(b"\r\n", b"")


def cdr_stats_csv_rows(
    lines: Iterable[str], first_line: int, columns: tuple[str, ...], unknown: dict[int, str]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """CDR-Stats CSV records (Python's csv module), with their line numbers and raw text."""

    def to_row(fields: list[str]) -> tuple[list[str], str]:
        values = empty_values()
        if len(fields) != len(columns):
            return values, f"expected {len(columns)} fields, found {len(fields)}"
        for i, name in enumerate(columns):
            if name:
                values[FIELD_INDEX[name]] = fields[i]
        return with_extradata(values, {unknown[i]: fields[i] for i in unknown if fields[i] != ""})

    return switch_csv_rows(lines, to_row, first_line)


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
    """Batches of a CDR-Stats CSV file: raw records for COPY when possible, Python-parsed otherwise.

    A file whose lines end with a lone CR (old Mac, some spreadsheets) is read by Python throughout: the
    COPY batches are cut at LF.
    """
    if has_lone_cr(stream.peek(64 << 10)[: 64 << 10]):
        return _cdr_stats_csv_text_chunks(stream, position)
    first = _strip_bom(stream.readline().decode("utf-8", errors="replace"))
    header_fields = _csv_fields(first)
    has_header = is_cdr_stats_header(header_fields)
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
            pos = position()
            if fast and _fast_path_ok(data):
                # COPY parses the records; the pipeline checks it found one per line, else uses the fallback.
                yield StageChunk(
                    first_line=line_no,
                    rows=data.count(b"\n"),
                    position=pos,
                    csv_data=data,
                    csv_columns=columns,
                    fields=fields,
                    fallback=lambda d=data, n=line_no, p=pos: python_chunk(d, n, p),
                )
            else:
                yield python_chunk(data, line_no, pos)
            line_no += line_breaks(data)

    return chunks(), fields


def _cdr_stats_csv_text_chunks(
    stream: io.BufferedReader, position: Callable[[], int]
) -> tuple[Iterator[StageChunk], frozenset[str]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    lines = iter(text)
    first = next(lines, "")
    header_fields = _csv_fields(first.rstrip("\r\n"))
    has_header = is_cdr_stats_header(header_fields)
    columns, unknown = _cdr_stats_columns(header_fields if has_header else None)
    fields = frozenset(c for c in columns if c)
    if has_header:
        rows = cdr_stats_csv_rows(lines, 2, columns, unknown)
    else:
        rows = cdr_stats_csv_rows(itertools.chain([first], lines), 1, columns, unknown)
    return batches_from_rows(rows, fields, position), fields


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
        values[FIELD_INDEX[canonical]] = f.get(name, "")
    values[FIELD_INDEX["cdr_source_type"]] = str(SOURCE_TYPES["freeswitch"])
    values[FIELD_INDEX["extradata"]] = _extradata(
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
        values[FIELD_INDEX[canonical]] = value
    uniqueid = f.get("uniqueid", "").strip()
    if uniqueid:
        # Asterisk 12+ writes a record per party A / party B pair, all with party A's uniqueid: ``sequence``
        # (newcdrcolumns) tells them apart; without it, party B's channel does.
        values[FIELD_INDEX["callid"]] = uniqueid
        values[FIELD_INDEX["record_tag"]] = f.get("sequence", "").strip() or f["dstchannel"].strip()
    else:
        values[FIELD_INDEX["callid"]] = "ast-" + hashlib.sha1("\x1f".join(fields).encode()).hexdigest()
    values[FIELD_INDEX["linkedid"]] = f.get("linkedid", "").strip()
    values[FIELD_INDEX["cdr_source_type"]] = str(SOURCE_TYPES["asterisk"])
    values[FIELD_INDEX["extradata"]] = _extradata(
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
                "record_tag",
                "linkedid",
                "cdr_source_type",
                "extradata",
            }
        ),
    ),
}


def switch_csv_rows(text: Iterable[str], to_row, first_line: int = 1) -> Iterator[tuple[int, str, str, list[str]]]:
    """CSV records with their line numbers and raw text, each made a row by ``to_row`` (values, problem); a
    record the csv module cannot read is a reject, a blank one is skipped."""
    tracker = LineTracker(text, first_line)
    for fields in csv_records(tracker):
        lineno, raw = tracker.take()
        if isinstance(fields, csv.Error):
            yield lineno, raw[:4000], f"not valid CSV ({fields})", empty_values()
        elif not _blank(fields):
            values, problem = to_row(fields)
            yield lineno, raw, problem, values


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
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            chunks = batches_from_rows(switch_csv_rows(text, to_row), fields, position, batch_rows)
            return Source(fmt, chunks, fields, True, source_type, checksum), text.close
        if fmt == "cdr-stats-json":
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
            rows = mapping_rows(json_records(text))
        elif fmt == "cdr-stats-yaml":
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace")
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
