"""Reading a file with an import profile, and scoring profiles against a file's first lines (``auto``).

The reader streams like the other formats (``formats.py``): CSV through Python's csv module with the
profile's separator, quote and encoding, JSON Lines and JSON arrays through ``documents.json_records``.
A JSON document whose records sit under ``record_path`` is parsed whole (its list must be found first).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data.ingest.documents import json_records
from data.ingest.formats import LineTracker, csv_records, open_binary
from data.ingest.profile_convert import CompiledProfile
from data.ingest.profile_spec import normalised, parse_field_rule
from data.ingest.rows import BATCH_ROWS, FIELD_INDEX, FormatError, Source, batches_from_rows, empty_values

_DATE_SHAPE = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d|^\d{9,16}(\.\d+)?$")
HEAD_BYTES = 64 << 10
SAMPLE_LINES = 5


def _encoding(profile: dict) -> str:
    name = str(profile["encoding"]).lower().replace("_", "-")
    return "utf-8-sig" if name in ("utf-8", "utf8") else profile["encoding"]


def csv_options(profile: dict) -> dict:
    if profile["quote"]:
        return {"delimiter": profile["separator"], "quotechar": profile["quote"], "skipinitialspace": True}
    return {"delimiter": profile["separator"], "quoting": csv.QUOTE_NONE}


def unwrapped(lines, profile: dict):
    """The lines, each replaced by the record it wraps when the profile has a ``line_pattern``."""
    if not profile["line_pattern"]:
        return lines
    pattern = re.compile(profile["line_pattern"])

    def inner(line: str) -> str:
        match = pattern.match(line.rstrip("\r\n"))
        return match.group(1) + "\n" if match else line

    return map(inner, lines)


def _csv_rows(text, profile: dict) -> tuple[CompiledProfile, Iterator[tuple[int, str, str, list[str]]]]:
    """The compiled profile (the header read) and the canonical rows of a CSV stream."""
    line = 1
    for _ in range(profile["skip_lines"]):
        if not text.readline():
            break
        line += 1
    options = csv_options(profile)
    tracker = LineTracker(text, line)
    records = csv_records(unwrapped(tracker, profile), **options)
    header = None
    if profile["header"]:
        first = next(records, [])
        tracker.take()
        header = [] if isinstance(first, csv.Error) else [h.strip() for h in first]
    compiled = CompiledProfile(profile, header)

    def rows():
        for record in records:
            lineno, raw = tracker.take()
            if isinstance(record, csv.Error):
                yield lineno, raw[:4000], f"not valid CSV ({record})", empty_values()
                continue
            if len(record) <= 1 and not (record and record[0].strip()):
                continue  # a blank line
            values, problem = compiled.convert(record)
            yield lineno, raw, problem, values

    return compiled, rows()


def _records_at(document, path: str):
    found = document
    for key in path.split("."):
        found = found.get(key) if isinstance(found, dict) else None
    if not isinstance(found, list):
        raise FormatError(f"no list of records at {path!r} (the profile's record path)")
    return found


def _json_rows(text, profile: dict) -> tuple[CompiledProfile, Iterator[tuple[int, str, str, list[str]]]]:
    compiled = CompiledProfile(profile)
    if profile["record_path"]:
        try:
            document = json.load(text)
        except ValueError as exc:
            raise FormatError(f"not valid JSON ({exc})") from exc
        found = _records_at(document, profile["record_path"])
        items = ((n, json.dumps(r, default=str)[:4000], r, None) for n, r in enumerate(found, 1))
    else:
        items = json_records(text)

    def rows():
        for lineno, raw, value, *index in items:
            if isinstance(value, Exception):
                yield lineno, raw, str(value), empty_values()
                continue
            values, problem = compiled.convert(value)
            yield (lineno, raw, problem, values, *[i for i in index if i is not None])

    return compiled, rows()


def open_profile_source(path: Path, profile: dict, batch_rows: int = BATCH_ROWS) -> tuple[Source, Callable[[], None]]:
    """The batches of ``path`` read with ``profile`` (checked before), and a function closing the file."""
    p = normalised(profile)
    stream, counter = open_binary(path)
    try:
        newline = "" if p["kind"] == "csv" else None
        text = io.TextIOWrapper(stream, encoding=_encoding(p), errors="replace", newline=newline)
        compiled, rows = (_csv_rows if p["kind"] == "csv" else _json_rows)(text, p)
        fields = compiled.fields
        chunks = batches_from_rows(rows, fields, lambda: counter.count, batch_rows)
        source = Source(
            f"profile:{p['name']}",
            chunks,
            fields,
            "switch" not in fields,
            int(compiled.base[FIELD_INDEX["cdr_source_type"]]),
            lambda: counter.sha.hexdigest(),
        )
        return source, text.close
    except BaseException:
        stream.close()
        raise


# --- Which profile fits a file ---


@dataclass
class ProfileFit:
    """How well a profile reads a file's first lines: what held and what did not."""

    name: str
    held: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        checks = len(self.held) + len(self.failed)
        return len(self.held) / checks if checks else 0.0

    @property
    def fits(self) -> bool:
        return not self.failed and bool(self.held)


def head_text(head: bytes, profile: dict) -> list[str]:
    """The complete lines of the file's first bytes, decoded as the profile says."""
    text = head.decode(_encoding(profile), errors="replace")
    lines = text.splitlines(keepends=True)
    if len(head) >= HEAD_BYTES and lines:
        lines = lines[:-1]  # cut in the middle
    return lines


def _check_header(fit: ProfileFit, p: dict, header: list[str]) -> None:
    names = {h.strip() for h in header}
    wanted = []
    for rule in p["fields"].values():
        wanted += [c for c in parse_field_rule(rule).columns if not c.isdigit()]
    missing = sorted({c for c in wanted if c not in names})
    found = len(set(wanted)) - len(missing)
    if found:
        fit.held.append(f"{found} of its {len(set(wanted))} column names are in the header")
    if missing:
        fit.failed.append(f"the header has no {', '.join(repr(m) for m in missing[:5])}")


def _check_records(fit: ProfileFit, compiled: CompiledProfile, records: list) -> None:
    start = FIELD_INDEX["starting_date"]
    tried = 0
    for record in records[:SAMPLE_LINES]:
        values, problem = compiled.convert(record)
        tried += 1
        if problem and compiled.keep is not None and values[compiled.keep[0]].strip().upper() not in compiled.keep[1]:
            continue  # a record the profile says is not a call (Kamailio's BYE): not a misfit
        if problem:
            fit.failed.append(f"line {tried}: {problem}")
            return
        if not _DATE_SHAPE.match(values[start].strip()):
            fit.failed.append(f"starting_date {values[start][:40]!r} does not look like a date")
            return
    if tried:
        fit.held.append(f"starting_date reads as a date on the first {tried} records")


def score_profile(profile: dict, head: bytes) -> ProfileFit:
    """Check ``profile`` against the first bytes of a file (gunzipped): header names, columns, dates."""
    p = normalised(profile)
    fit = ProfileFit(p["name"])
    if p["kind"] != "csv":
        return _score_json(fit, p, head)
    lines = head_text(head, p)[p["skip_lines"] :]
    records = [r for r in csv_records(unwrapped(lines, p), **csv_options(p)) if not isinstance(r, csv.Error) and any(r)]
    header = None
    if p["header"]:
        if not records:
            fit.failed.append("the file has no header line")
            return fit
        header, records = [h.strip() for h in records[0]], records[1:]
        _check_header(fit, p, header)
        if fit.failed:
            return fit
    elif records and p["columns"]:
        width = len(records[0])
        if width == p["columns"]:
            fit.held.append(f"lines have {width} columns, as it expects")
        else:
            fit.failed.append(f"lines have {width} columns, it expects {p['columns']}")
            return fit
    try:
        compiled = CompiledProfile(p, header)
    except FormatError as exc:
        fit.failed.append(str(exc))
        return fit
    _check_records(fit, compiled, records)
    return fit


def _score_json(fit: ProfileFit, p: dict, head: bytes) -> ProfileFit:
    text = head.decode(_encoding(p), errors="replace").lstrip("\ufeff \r\n\t")
    if p["record_path"]:
        fit.failed.append("a JSON document under a record path is not scored on its first lines")
        return fit
    records = []
    for _line, _raw, value, _index in json_records(io.StringIO(text)):
        if isinstance(value, dict):
            records.append(value)
        if len(records) >= SAMPLE_LINES:
            break
    if not records:
        fit.failed.append("no JSON object in the first lines")
        return fit
    wanted = {c.split(".")[0] for rule in p["fields"].values() for c in parse_field_rule(rule).columns}
    missing = sorted(wanted - set(records[0]))
    if missing:
        fit.failed.append(f"the records have no {', '.join(repr(m) for m in missing[:5])}")
        return fit
    fit.held.append(f"the records have its {len(wanted)} keys")
    _check_records(fit, CompiledProfile(p), records)
    return fit


def choose_profile(head: bytes, profiles: list[dict]) -> tuple[dict | None, str]:
    """The profile that reads the file's first lines best, and why (or, when none does, the closest and
    what did not match)."""
    fits = []
    for profile in profiles:
        try:
            fits.append((score_profile(profile, head), profile))
        except (ValueError, LookupError) as exc:  # a profile the file's bytes break: it does not fit
            fits.append((ProfileFit(profile["name"], failed=[str(exc)]), profile))
    if not fits:
        return None, "no import profile to try"
    fits.sort(key=lambda f: (f[0].fits, f[0].score, len(f[0].held)), reverse=True)
    best, profile = fits[0]
    if best.fits:
        return profile, f"import profile {best.name!r} chosen: " + "; ".join(best.held)
    return None, (f"no import profile fits this file; the closest is {best.name!r}: " + "; ".join(best.failed))
