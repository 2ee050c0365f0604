"""CDR-Stats documents: JSON (an array, or JSON Lines), YAML (a list) and XLSX (a sheet with the header row),
each record with its line and its place on the line; a record that cannot be read is one reject.

JSON is streamed; a YAML file is parsed whole (PyYAML has no streaming reader), with aliases refused.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from data.ingest.fields import MAX_NESTING
from data.ingest.rows import FormatError, canonical_from_mapping, cell_text, empty_values, is_cdr_stats_header


class _OnLine:
    """Numbers the records starting on the same line: 1, 2, ... (a one-line JSON array holds them all)."""

    def __init__(self):
        self.line, self.index = 0, 0

    def __call__(self, line: int) -> int:
        self.index = self.index + 1 if line == self.line else 1
        self.line = line
        return self.index


def json_records(text: io.TextIOBase) -> Iterator[tuple[int, str, object, int]]:
    """(line, raw, value, index on the line) of each element of a JSON array, or of each line of JSON Lines,
    streamed."""
    decoder = json.JSONDecoder()
    buffer, line, offset = "", 1, 0
    started = in_array = False
    on_line = _OnLine()
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
            except RecursionError:  # too deep for the decoder: skipped by its brackets when they close
                value, end = ValueError(f"nested deeper than {MAX_NESTING} levels"), _nested_end(buffer, offset)
            except ValueError as exc:  # in an array, a bad element with closed brackets is skipped by them
                closed = in_array and buffer[offset] in "[{"
                value, end = ValueError(f"not valid JSON ({exc.msg})"), _nested_end(buffer, offset) if closed else -1
            if end < 0:
                if more and len(buffer) - offset < (16 << 20):
                    break  # the element goes on in the next read
                bad_end = buffer.find("\n", offset)
                bad_end = len(buffer) if bad_end < 0 else bad_end
                yield line, buffer[offset:bad_end][:4000], value, on_line(line)
                if in_array:
                    return  # the rest of the array cannot be found reliably
                line += 1
                offset = bad_end
                continue
            raw = buffer[offset:end]
            yield line, raw, value, on_line(line)
            line += raw.count("\n")
            offset = end
        if not more:
            return


def _nested_end(text: str, start: int) -> int:
    """Where the JSON array or object starting at ``start`` ends (brackets counted outside strings), or -1."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        char = text[i]
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def mapping_rows(
    records: Iterable[tuple[int, str, object, int | None]],
) -> Iterator[tuple[int, str, str, list[str], int | None]]:
    for lineno, raw, record, index in records:
        raw = raw if len(raw) < 4000 else raw[:4000]
        if isinstance(record, Exception):
            yield lineno, raw, str(record), empty_values(), index
        elif not isinstance(record, dict):
            yield lineno, raw, "not a CDR (expected an object of CDR-Stats fields)", empty_values(), index
        else:
            values, problem = canonical_from_mapping(record)
            yield lineno, raw, problem, values, index


def yaml_loader(stream):
    """PyYAML's safe loader without aliases: an alias is refused where it stands, so that a few hundred bytes
    of nested aliases ("billion laughs") cannot expand into gigabytes. CDR files have no use for them."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not accepted", event.start_mark)
            return super().compose_node(parent, index)

    return NoAliasLoader(stream)


def yaml_records(stream) -> Iterator[tuple[int, str, object, int]]:
    """Each item of a YAML list of CDRs, with its line and its index on the line. YAML has no streaming reader:
    the file is parsed whole. A file that cannot be parsed is one reject (its line, the parser's reason)."""
    import yaml

    loader = yaml_loader(stream)
    on_line = _OnLine()
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            reason = getattr(exc, "problem", None) or str(exc)
            yield line, "", ValueError(f"not valid YAML ({reason})"), on_line(line)
            return
        except RecursionError:
            yield 1, "", ValueError(f"nested deeper than {MAX_NESTING} levels"), 1
            return
        if node is None:
            return
        if not isinstance(node, yaml.SequenceNode):
            line = node.start_mark.line + 1
            yield line, "", ValueError("not a list of CDRs (a CDR-Stats YAML file is a list)"), on_line(line)
            return
        for item in node.value:
            line = item.start_mark.line + 1
            try:
                value = loader.construct_object(item, deep=True)
                raw = json.dumps(value, default=str, separators=(",", ":"))
            except yaml.YAMLError as exc:
                value, raw = ValueError(f"not a CDR ({getattr(exc, 'problem', None) or exc})"), ""
            except (RecursionError, ValueError):
                value, raw = ValueError(f"nested deeper than {MAX_NESTING} levels"), ""
            yield line, raw, value, on_line(line)
    finally:
        loader.dispose()


def xlsx_records(path: Path) -> Iterator[tuple[int, str, object, None]]:
    """Rows of the first sheet as mappings (its first row is the header), read in streaming mode."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [cell_text(c).strip() for c in next(rows, ())]
        if not is_cdr_stats_header(header):
            raise FormatError("the first row of the sheet must be the CDR-Stats header (callid, starting_date, ...)")
        for number, row in enumerate(rows, start=2):
            if row is None or all(c in (None, "") for c in row):
                continue
            raw = ",".join(cell_text(c) for c in row)
            if len(row) > len(header) and any(c not in (None, "") for c in row[len(header) :]):
                yield number, raw, ValueError(f"expected {len(header)} fields, found {len(row)}"), None
                continue
            yield number, raw, {h: c for h, c in zip(header, row, strict=False) if h}, None
    finally:
        book.close()
