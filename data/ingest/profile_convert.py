"""A profile compiled once into a converter: file records (CSV lists or JSON objects) → canonical values.

Everything that can be prepared is prepared here, once per file: column names resolved to positions,
RSR regexps compiled, the date pattern turned into one regular expression, maps into dicts. Converting
a record is then list indexing, at most one compiled ``match`` per converted value and dict lookups.
What the set-based SQL already does (ISO dates, epochs by their digit count, the switch's zone, causes
from FreeSWITCH names, dispositions and SIP codes) is left to it.

A value that cannot be converted makes the record's problem, worded ``FIELD 'value' …`` so that the
preview can show it on its cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

from data.export.rsr import RSRError
from data.ingest.fields import CANONICAL_FIELDS, SOURCE_TYPES
from data.ingest.profile_spec import DATE_FIELDS, DURATION_FIELDS, normalised, parse_field_rule
from data.ingest.rows import FIELD_INDEX, FormatError, cell_text, empty_values, with_extradata

_MONTHS = {m: i for i, m in enumerate(("jan feb mar apr may jun jul aug sep oct nov dec").split(), start=1)}
_DIRECTIVE_PATTERNS = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d{2})",
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "e": r"\s?(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "I": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
    "f": r"(?P<f>\d{1,9})",
    "p": r"(?P<p>[AaPp][Mm])",
    "b": r"(?P<b>[A-Za-z]{3})",
    "B": r"(?P<b>[A-Za-z]{3})[A-Za-z]*",
    "z": r"(?P<z>Z|[+-]\d\d:?\d\d)",
    "%": "%",
}
_EXPANSIONS = {"T": "%H:%M:%S", "F": "%Y-%m-%d"}
_YEAR_FIRST = re.compile(
    r"^(?P<Y>\d{4})[./-](?P<m>\d{1,2})[./-](?P<d>\d{1,2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:[.,](?P<f>\d{1,9}))?)?\s*(?P<p>[AaPp][Mm])?)?"
    r"\s*(?P<z>Z|[+-]\d\d:?\d\d)?$"
)
_DAY_OR_MONTH_FIRST = (
    r"^(?P<{a}>\d{{1,2}})[./-](?P<{b}>\d{{1,2}})[./-](?P<Y>\d{{4}}|\d{{2}})"
    r"(?:[ T]+(?P<H>\d{{1,2}}):(?P<M>\d{{1,2}})(?::(?P<S>\d{{1,2}})(?:[.,](?P<f>\d{{1,9}}))?)?\s*(?P<p>[AaPp][Mm])?)?"
    r"\s*(?P<z>Z|[+-]\d\d:?\d\d)?$"
)


class ValueProblem(ValueError):
    """A value a profile cannot convert: the record's problem."""


def strftime_regex(pattern: str) -> re.Pattern:
    """One regular expression reading ``pattern`` as strptime does (numbers with or without their zero)."""
    for short, long in _EXPANSIONS.items():
        pattern = pattern.replace("%" + short, long)
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "%" and i + 1 < len(pattern):
            out.append(_DIRECTIVE_PATTERNS[pattern[i + 1]])
            i += 2
            continue
        out.append(r"\s+" if char.isspace() else re.escape(char))
        i += 1
    return re.compile("^\\s*" + "".join(out) + "\\s*$")


def _iso_from_match(groups: dict) -> str | None:
    """'YYYY-MM-DD HH:MM:SS[.f][±hh:mm]' from a date match's groups; None when a part is out of range."""
    written = groups.get("Y") or groups["y"]
    year = int(written)
    if len(written) == 2:  # as strptime's %y: 69 and below are 20xx
        year += 2000 if year < 69 else 1900
    month = int(groups["m"]) if groups.get("m") else _MONTHS.get((groups.get("b") or "").lower(), 0)
    day, hour = int(groups["d"]), int(groups.get("H") or 0)
    minute, second = int(groups.get("M") or 0), int(groups.get("S") or 0)
    meridiem = (groups.get("p") or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 59):
        return None
    text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    if groups.get("f"):
        text += "." + groups["f"]
    zone = groups.get("z")
    if zone:
        text += "Z" if zone == "Z" else zone
    return text


def _matching_dates(regexps: tuple[re.Pattern, ...], wanted: str) -> Callable[[str], str]:
    def convert(value: str) -> str:
        for regexp in regexps:
            match = regexp.match(value)
            if match:
                iso = _iso_from_match(match.groupdict())
                if iso is None:
                    raise ValueProblem(f"'{value[:60]}' is not a date ({wanted}): a part is out of range")
                return iso
        raise ValueProblem(f"'{value[:60]}' does not match {wanted}")

    return convert


def _epoch(divisor: int) -> Callable[[str], str]:
    def convert(value: str) -> str:
        value = value.strip()
        try:
            number = int(value) if value.isdigit() else float(value)
        except ValueError:
            raise ValueProblem(f"'{value[:60]}' is not an epoch") from None
        if number == 0:
            return ""  # FreeSWITCH writes 0 for a call never answered
        seconds, rest = divmod(number, divisor)
        try:
            moment = datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueProblem(f"'{value[:60]}' is out of range for an epoch") from None
        fraction = f".{int(rest * 1_000_000 // divisor):06d}" if rest else ""
        return f"{moment:%Y-%m-%d %H:%M:%S}{fraction}+00:00"

    return convert


def date_converter(dates: str) -> Callable[[str], str] | None:
    """Text → the ISO text the SQL reads, for a profile's ``dates``; None: the value goes as it is."""
    if dates == "iso":
        return None
    if dates in ("epoch", "epoch_ms", "epoch_us"):
        return _epoch({"epoch": 1, "epoch_ms": 1000, "epoch_us": 1_000_000}[dates])
    if dates in ("day-first", "month-first"):
        order = ("d", "m") if dates == "day-first" else ("m", "d")
        regexp = re.compile(_DAY_OR_MONTH_FIRST.format(a=order[0], b=order[1]))
        wanted = "DD/MM/YYYY hh:mm[:ss]" if dates == "day-first" else "MM/DD/YYYY hh:mm[:ss]"
        return _matching_dates((_YEAR_FIRST, regexp), wanted)
    regexp = strftime_regex(dates)
    if set(regexp.groupindex) <= set(_PLAIN_PARTS):
        return _plain_dates(regexp, dates)
    return _matching_dates((regexp,), dates)


_PLAIN_PARTS = ("Y", "m", "d", "H", "M", "S", "f", "z")


def _plain_dates(regexp: re.Pattern, wanted: str) -> Callable[[str], str]:
    """The common case (numbers only): the parts padded into ISO text; the SQL checks their ranges."""
    missing = "".join(f"(?P<{name}>)" for name in _PLAIN_PARTS if name not in regexp.groupindex)
    complete = re.compile(regexp.pattern.removesuffix("\\s*$") + missing + "\\s*$")

    def convert(value: str) -> str:
        match = complete.match(value)
        if match is None:
            raise ValueProblem(f"'{value[:60]}' does not match {wanted}")
        year, month, day, hour, minute, second, fraction, zone = match.group(*_PLAIN_PARTS)
        text = f"{year}-{month:0>2}-{day:0>2} {hour:0>2}:{minute:0>2}:{second:0>2}"
        if fraction:
            text += "." + fraction
        return text + zone if zone else text

    return convert


def duration_converter(unit: str) -> Callable[[str], str] | None:
    if unit == "s":
        return None
    if unit == "ms":

        def milliseconds(value: str) -> str:
            try:
                return str(round(float(value) / 1000))
            except ValueError:
                raise ValueProblem(f"'{value[:60]}' is not a number of milliseconds") from None

        return milliseconds

    def clock(value: str) -> str:
        parts = value.strip().split(":")
        if not 2 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
            raise ValueProblem(f"'{value[:60]}' is not hh:mm:ss")
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + int(part)
        return str(seconds)

    return clock


class CompiledProfile:
    """One profile, ready for one file: ``convert(record) -> (canonical values, problem)``.

    ``header``: the file's column names (CSV with a header), else None; JSON records are read by key.
    """

    def __init__(self, profile: dict, header: list[str] | None = None):
        self.profile = p = normalised(profile)
        self.by_key = p["kind"] != "csv"
        header = header or p["names"] or None
        self.positions = {name.strip(): i for i, name in reversed(list(enumerate(header or [])))}
        self.header = header
        self.base = empty_values()
        self.base[FIELD_INDEX["cdr_source_type"]] = str(SOURCE_TYPES[p["source_type"]])
        self.plain: list[tuple[int, object]] = []  # (field index, column index or key)
        self.computed: list[tuple[int, Callable]] = []
        self.used: set = set()
        self.need = 0
        for name, rule in p["fields"].items():
            self._add_field(name, parse_field_rule(rule))
        self.converters = self._converters()
        self.answered = self._answered_rule()
        self.causes = self._cause_map()
        self.keep = None
        if p["keep"]:
            name, _, kept = p["keep"].partition("=")
            self.keep = FIELD_INDEX[name.strip()], frozenset(v.strip().upper() for v in kept.split("|"))
        self.extra = self._extra_columns()

    # -- columns --

    def column(self, reference: str, where: str):
        """A column reference → its position (CSV) or key path (JSON); FormatError when the file lacks it."""
        if self.by_key:
            return tuple(reference.split(".")) if "." in reference else reference
        if reference in self.positions:
            index = self.positions[reference]
        elif reference.isdigit():
            index = int(reference) - 1
        else:
            raise FormatError(f"the file has no column {reference!r} ({where})")
        self.need = max(self.need, index + 1)
        return index

    def _value_getter(self, index) -> Callable:
        if isinstance(index, tuple):

            def nested(record, path=index):
                value = record
                for key in path:
                    value = value.get(key) if isinstance(value, dict) else None
                return cell_text(value)

            return nested
        if self.by_key:
            return lambda record, key=index: cell_text(record.get(key))
        return lambda record, i=index: record[i]

    def _add_field(self, name: str, rule) -> None:
        field_index = FIELD_INDEX[name]
        getters = []
        for part in rule.parts:
            if part[0] == "constant":
                getters.append(lambda _record, text=part[1]: text)
                continue
            reference = part[1] if part[0] == "column" else part[1].field_id
            index = self.column(reference, f"fields.{name}")
            self.used.add(index)
            getter = self._value_getter(index)
            if part[0] == "rsr":
                getter = _rsr_getter(getter, part[1], name)
            getters.append(getter)
        if len(rule.parts) == 1 and rule.parts[0][0] == "constant":
            self.base[field_index] = rule.parts[0][1]
        elif len(rule.parts) == 1 and rule.parts[0][0] == "column" and not self.by_key:
            self.plain.append((field_index, self.column(rule.parts[0][1], f"fields.{name}")))
        elif len(getters) == 1:
            self.computed.append((field_index, getters[0]))
        else:
            self.computed.append((field_index, lambda record, gs=tuple(getters): "".join(g(record) for g in gs)))

    # -- conversions --

    def _converters(self) -> list[tuple[int, str, Callable]]:
        found = []
        dates = date_converter(self.profile["dates"])
        durations = duration_converter(self.profile["duration_unit"])
        for name in self.profile["fields"]:
            convert = dates if name in DATE_FIELDS else durations if name in DURATION_FIELDS else None
            if convert is not None:
                found.append((FIELD_INDEX[name], name, convert))
        return found

    def _answered_rule(self) -> Callable[[list[str]], None] | None:
        rule = self.profile["answered"]
        billsec, answered = FIELD_INDEX["billsec"], FIELD_INDEX["answered_date"]
        if rule == "billsec":
            return None
        if rule == "answer_time":
            test_index, accepted = answered, None
        else:
            name, _, values = rule.partition("=")
            test_index = FIELD_INDEX[name.strip()]
            accepted = frozenset(v.strip().upper() for v in values.split("|"))

        start = FIELD_INDEX["starting_date"]

        def apply(values: list[str]) -> None:
            value = values[test_index].strip()
            if accepted is None and value:
                return
            if accepted is not None and value.upper() in accepted:
                if not values[answered].strip():
                    values[answered] = values[start]  # answered, at a time the file does not give
                return
            values[billsec] = "0"  # not answered by the profile's rule: no billed time, no answer time
            values[answered] = ""

        return apply

    def _cause_map(self) -> tuple[int, dict, str] | None:
        cause_map = self.profile["cause_map"]
        if not cause_map:
            return None
        values = {str(k).strip().upper(): str(v) for k, v in cause_map["values"].items()}
        default = cause_map.get("default")
        return FIELD_INDEX[cause_map["field"]], values, "" if default in (None, "") else str(default)

    def _extra_columns(self) -> list[tuple[str, object]]:
        setting = self.profile["extradata"]
        if setting == "none":
            return []
        if isinstance(setting, list):
            return [(str(c), self.column(str(c), "extradata")) for c in setting]
        if self.by_key:
            return [("*", None)]  # every key no rule reads
        if self.header:
            return [(name or f"column_{i + 1}", i) for i, name in enumerate(self.header) if i not in self.used]
        width = self.profile["columns"] or self.need
        return [(f"column_{i + 1}", i) for i in range(width) if i not in self.used]

    # -- one record --

    def convert(self, record) -> tuple[list[str], str]:
        values = self.base.copy()
        if self.by_key:
            if not isinstance(record, dict):
                return values, "not a CDR (expected an object)"
        elif len(record) < self.need:
            return values, f"expected at least {self.need} columns, found {len(record)}"
        try:
            for field_index, column in self.plain:
                values[field_index] = record[column]
            for field_index, getter in self.computed:
                values[field_index] = getter(record)
            for field_index, name, convert in self.converters:
                value = values[field_index]
                if value and not value.isspace():
                    try:
                        values[field_index] = convert(value)
                    except ValueProblem as exc:
                        raise ValueProblem(f"{name} {exc}") from None
        except ValueProblem as exc:
            return values, str(exc)
        if self.keep is not None and values[self.keep[0]].strip().upper() not in self.keep[1]:
            keep_index = self.keep[0]
            return values, (
                f"{CANONICAL_FIELDS[keep_index]} '{values[keep_index][:60]}' is not a call this profile keeps "
                f"(keep: {self.profile['keep']})"
            )
        if self.causes is not None:
            self._map_cause(values)
        if self.answered is not None:
            self.answered(values)
        if self.extra:
            return self._with_extradata(values, record)
        return values, ""

    def _map_cause(self, values: list[str]) -> None:
        source, mapping, default = self.causes
        raw = values[source].strip().upper()
        cause = FIELD_INDEX["hangup_cause_id"]
        if raw:
            values[cause] = mapping.get(raw, default) or values[cause]

    def _with_extradata(self, values: list[str], record) -> tuple[list[str], str]:
        if self.extra[0][0] == "*":
            extra = {k: v for k, v in record.items() if k not in self.used and v not in (None, "")}
        else:
            extra = {}
            for name, index in self.extra:
                value = record[index] if not self.by_key and index < len(record) else ""
                if self.by_key:
                    value = self._value_getter(index)(record)
                if value != "":
                    extra[name] = value
        return with_extradata(values, extra)

    @property
    def fields(self) -> frozenset[str]:
        """The canonical fields this profile fills (the SQL reads only those)."""
        filled = set(self.profile["fields"]) | {"cdr_source_type"}
        if self.extra:
            filled.add("extradata")
        if self.causes is not None:
            filled.add("hangup_cause_id")
        if self.answered is not None:
            filled |= {"billsec", "answered_date"}
        return frozenset(filled)


def _rsr_getter(getter: Callable, rule, name: str) -> Callable:
    def apply(record) -> str:
        try:
            return rule.apply(getter(record))
        except RSRError as exc:
            raise ValueProblem(f"{name}: {exc.reason}") from None

    return apply
