"""CGRateS field ids on a Dialstat CDR row, and the text formatting of their values.

A CDR row is a dict with Dialstat's ``cdr`` columns plus a few joined keys (``switch_ip``, ``tenant``,
``cdr_source_type_name``). :func:`field_value` gives the raw value of a field id; :func:`field_text` turns
it into the text an export writes, with the settings of a :class:`ValueFormat`:

* times (any datetime) use a Go reference-time layout (:func:`format_go_time`), RFC3339 in UTC by default;
  naive datetimes are taken as UTC;
* ``usage`` is billsec in ``nanoseconds`` (CGRateS's default), ``seconds``, ``minutes`` or ``hours``;
  minutes and hours are exact decimals rounded half-up to 6 places, trailing zeros dropped (90 s is
  ``1.5`` minutes, 100 s is ``1.666667``);
* ``cost`` is sell_cost times ``cost_multiply_factor`` (0 means none, as in CGRateS), shifted by
  ``cost_shift_digits`` and rounded half-up to ``cost_rounding_decimals`` (-1: no rounding, trailing zeros
  dropped); money is Decimal all the way, never float;
* ``destination`` and ``destination_number`` are masked when they start with one of ``mask_prefixes``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache, partial
from typing import Any

UTC = timezone.utc

GO_LAYOUTS = {
    "RFC3339": "2006-01-02T15:04:05Z07:00",
    "RFC3339Nano": "2006-01-02T15:04:05.999999999Z07:00",
    "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST",
    "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700",
    "RFC822": "02 Jan 06 15:04 MST",
    "RFC822Z": "02 Jan 06 15:04 -0700",
    "ANSIC": "Mon Jan _2 15:04:05 2006",
    "UnixDate": "Mon Jan _2 15:04:05 MST 2006",
    "Kitchen": "3:04PM",
    "DateTime": "2006-01-02 15:04:05",
    "DateOnly": "2006-01-02",
    "TimeOnly": "15:04:05",
}
RFC3339 = GO_LAYOUTS["RFC3339"]
GO_TIME_STRING_LAYOUT = "2006-01-02 15:04:05.999999999 -0700 MST"  # Go's Time.String()

USAGE_UNITS = ("nanoseconds", "seconds", "minutes", "hours")
_USAGE_DIVISORS = {"minutes": 60, "hours": 3600}
_FRACTION_PLACES = Decimal("0.000001")

# CGRateS's capitalised field names (newer configs, FWV samples) for the same ids.
CGRATES_ALIASES = {
    "CGRID": "cgrid",
    "RunID": "mediation_runid",
    "ToR": "tor",
    "OriginID": "accid",
    "OriginHost": "cdrhost",
    "Source": "cdrsource",
    "RequestType": "reqtype",
    "Direction": "direction",
    "Tenant": "tenant",
    "Category": "category",
    "Account": "account",
    "Subject": "subject",
    "Destination": "destination",
    "SetupTime": "setup_time",
    "AnswerTime": "answer_time",
    "Usage": "usage",
    "Cost": "cost",
}

_DIRECTIONS = {
    "outbound": "*out",
    "out": "*out",
    "*out": "*out",
    "2": "*out",  # cdr.direction: 1 in, 2 out
    "inbound": "*in",
    "in": "*in",
    "*in": "*in",
    "1": "*in",
}


@dataclass(frozen=True)
class ValueFormat:
    """How field values become text: the template's settings plus the export run's parameters."""

    time_layout: str = RFC3339
    timezone: tzinfo = UTC
    usage_unit: str = "nanoseconds"
    cost_rounding_decimals: int = 4
    cost_shift_digits: int = 0
    cost_multiply_factor: Decimal = Decimal(0)
    mask_length: int = 0
    mask_prefixes: tuple[str, ...] = ()
    default_tenant: str = ""

    def is_masked(self, destination: str) -> bool:
        if self.mask_length <= 0 or not self.mask_prefixes:
            return False
        return destination.startswith(self.mask_prefixes)


def cgrid(callid: str, setup_time: datetime) -> str:
    """CGRateS's CDR id: sha1 of the call id and the setup time as Go prints it in UTC."""
    return hashlib.sha1((callid + go_time_string(setup_time)).encode()).hexdigest()


def row_cgrid(row: Mapping[str, Any]) -> str:
    """The cgrid of a CDR row; ValueError when it has no callid or starting_date."""
    if not row.get("callid") or row.get("starting_date") is None:
        raise ValueError("CDR has no callid or starting_date, so no cgrid")
    return cgrid(str(row["callid"]), row["starting_date"])


def go_time_string(moment: datetime) -> str:
    """``moment`` in UTC as Go's ``Time.String()`` writes it: ``2013-11-07 08:42:25 +0000 UTC``."""
    if not moment.microsecond and moment.tzinfo is not None and not moment.utcoffset():
        return moment.isoformat(" ", "seconds")[:19] + " +0000 UTC"  # the common case, 10x faster
    return format_go_time(moment, GO_TIME_STRING_LAYOUT, UTC)


def field_value(row: Mapping[str, Any], field_id: str, *, default_tenant: str = "") -> Any:
    """The raw value of ``field_id`` (a CGRateS id, a row key, or an ``extradata`` key) for ``row``."""
    field_id = CGRATES_ALIASES.get(field_id, field_id)
    if field_id in CONSTANT_FIELDS:
        return CONSTANT_FIELDS[field_id]
    if field_id in COLUMN_FIELDS:
        return row.get(COLUMN_FIELDS[field_id])
    computed = COMPUTED_FIELDS.get(field_id)
    if computed is not None:
        return computed(row, default_tenant)
    if field_id in row:
        return row[field_id]
    return _extradata(row).get(field_id, "")


def field_text(row: Mapping[str, Any], field_id: str, value_format: ValueFormat, layout: str = "") -> str:
    """The text of ``field_id`` for ``row``.

    ``layout`` is the template field's own time layout, or usage unit for ``usage``.
    """
    field_id = CGRATES_ALIASES.get(field_id, field_id)
    value = field_value(row, field_id, default_tenant=value_format.default_tenant)
    if value is None:
        return ""
    if field_id == "usage":
        return format_usage(value, layout if layout in USAGE_UNITS else value_format.usage_unit)
    if field_id == "cost":
        cost = exported_cost(value, value_format.cost_multiply_factor)
        return format_cost(cost, value_format.cost_rounding_decimals, value_format.cost_shift_digits)
    if field_id in ("destination", "destination_number"):
        destination = str(value)
        if value_format.is_masked(destination):
            return mask_destination(destination, value_format.mask_length)
        return destination
    if isinstance(value, datetime):
        time_layout = layout if layout and layout not in USAGE_UNITS else value_format.time_layout
        return format_go_time(value, time_layout, value_format.timezone)
    return value_as_text(value)


def value_as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return format_go_time(value, RFC3339, UTC)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def exported_cost(cost: Any, multiply_factor: Decimal) -> Decimal | None:
    """The CDR's cost as exported, before shifting and rounding (None when the CDR has no cost)."""
    if cost is None or cost == "":
        return None
    cost = cost if isinstance(cost, Decimal) else Decimal(str(cost))
    return cost * multiply_factor if multiply_factor else cost


def format_cost(cost: Decimal | None, rounding_decimals: int, shift_digits: int = 0) -> str:
    if cost is None:
        return ""
    cost = cost.scaleb(shift_digits)
    if rounding_decimals < 0:
        cost = cost.normalize()
    else:
        cost = cost.quantize(Decimal(1).scaleb(-rounding_decimals), rounding=ROUND_HALF_UP)
    if cost.is_zero():
        cost = cost.copy_abs()  # no "-0.0000"
    return format(cost, "f")


def format_usage(seconds: Any, unit: str) -> str:
    seconds = int(seconds)
    if unit == "nanoseconds":
        return str(seconds * 1_000_000_000)
    if unit == "seconds":
        return str(seconds)
    if unit not in _USAGE_DIVISORS:
        raise ValueError(f"unknown usage unit {unit!r}")
    value = (Decimal(seconds) / _USAGE_DIVISORS[unit]).quantize(_FRACTION_PLACES, rounding=ROUND_HALF_UP)
    return format(value.normalize(), "f")


def mask_destination(destination: str, mask_length: int) -> str:
    """Replace the last ``mask_length`` characters with ``*``."""
    masked = min(max(mask_length, 0), len(destination))
    return destination[: len(destination) - masked] + "*" * masked


# --- CGRateS ids ------------------------------------------------------------------------------------


def extradata_mapping(extradata: Any) -> Mapping[str, Any]:
    """A CDR's ``extradata`` as a mapping: decoded when it is JSON text, empty when it is anything else."""
    if isinstance(extradata, str):  # JSON text when the driver did not decode it
        try:
            extradata = json.loads(extradata)
        except ValueError:
            return {}
    return extradata if isinstance(extradata, Mapping) else {}


def _extradata(row: Mapping[str, Any]) -> Mapping[str, Any]:
    return extradata_mapping(row.get("extradata"))


def direction_text(value: Any) -> str:
    if value is None:
        return ""
    return _DIRECTIONS.get(str(value).strip().lower(), str(value))


def cdr_source_text(type_name: Any, type_id: Any) -> str:
    if type_name:
        return str(type_name)
    return "" if type_id is None else str(type_id)


def _cdr_source(row: Mapping[str, Any]) -> str:
    return cdr_source_text(row.get("cdr_source_type_name"), row.get("cdr_source_type"))


# CGRateS ids: constants, Dialstat columns under another name, and the few computed ones. The compiled
# writer (compiled.py) reads the same tables, so a field id means the same thing on both paths.
CONSTANT_FIELDS = {"mediation_runid": "default", "tor": "*voice", "reqtype": "rated", "category": "call"}
COLUMN_FIELDS = {
    "accid": "callid",
    "cdrhost": "switch_ip",
    "account": "accountcode",
    "subject": "accountcode",
    "destination": "destination_number",
    "setup_time": "starting_date",
    "answer_time": "answered_date",
    "usage": "billsec",
    "cost": "sell_cost",
}
COMPUTED_FIELDS = {
    "cgrid": lambda row, _tenant: row_cgrid(row),
    "direction": lambda row, _tenant: direction_text(row.get("direction")),
    "tenant": lambda row, tenant: row.get("tenant") or tenant,
    "cdrsource": lambda row, _tenant: _cdr_source(row),
}
CGRATES_FIELD_IDS = frozenset(CONSTANT_FIELDS) | frozenset(COLUMN_FIELDS) | frozenset(COMPUTED_FIELDS)


# --- Go reference-time layouts ----------------------------------------------------------------------

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Layout elements starting with each character, longest first, as Go's nextStdChunk tries them.
_LAYOUT_ELEMENTS = {
    "J": ("January", "Jan"),
    "M": ("Monday", "Mon", "MST"),
    "0": ("01", "02", "03", "04", "05", "06", "002"),
    "1": ("15", "1"),
    "2": ("2006", "2"),
    "_": ("__2", "_2"),
    "3": ("3",),
    "4": ("4",),
    "5": ("5",),
    "P": ("PM",),
    "p": ("pm",),
    "-": ("-07:00:00", "-070000", "-07:00", "-0700", "-07"),
    "Z": ("Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07"),
}


def resolve_layout(layout: str) -> str:
    """A Go layout, with Go's constant names (``RFC3339``, ``DateTime``...) replaced by their layouts."""
    return GO_LAYOUTS.get(layout, layout)


@lru_cache(maxsize=256)
def _layout_elements(layout: str) -> tuple[tuple[bool, str], ...]:
    """Split a layout into (is_element, text) chunks."""
    chunks: list[tuple[bool, str]] = []
    literal_start = index = 0
    while index < len(layout):
        element = _element_at(layout, index)
        if element is None:
            index += 1
            continue
        if literal_start < index:
            chunks.append((False, layout[literal_start:index]))
        chunks.append((True, element))
        index += len(element)
        literal_start = index
    if literal_start < len(layout):
        chunks.append((False, layout[literal_start:]))
    return tuple(chunks)


def _element_at(layout: str, index: int) -> str | None:
    char = layout[index]
    if char in ".,":  # fractional seconds: a run of 0s or 9s not followed by another digit
        run = re.match(r"0+|9+", layout[index + 1 :])
        if run and not layout[index + 1 + run.end() : index + 2 + run.end()].isdigit():
            return layout[index : index + 1 + run.end()]
        return None
    if char == "_" and layout.startswith("_2006", index):
        return None  # a literal "_" then the year, as in Go
    for element in _LAYOUT_ELEMENTS.get(char, ()):
        if layout.startswith(element, index):
            return element
    return None


def format_go_time(moment: datetime, layout: str, tz: tzinfo = UTC) -> str:
    """Format ``moment`` (naive means UTC) in ``tz`` with a Go reference-time layout."""
    return time_formatter(layout, tz)(moment)


@lru_cache(maxsize=256)
def time_formatter(layout: str, tz: tzinfo = UTC) -> Callable[[datetime], str]:
    """A function formatting datetimes (naive means UTC) in ``tz`` with a Go layout, prepared once.

    RFC3339 in UTC, the default of every template, takes a fast path through ``isoformat``.
    """
    layout = resolve_layout(layout)
    if layout == RFC3339 and _is_utc(tz):

        def rfc3339_utc(moment: datetime) -> str:
            if moment.utcoffset():  # aware and not in UTC (naive and UTC give None and 0)
                moment = moment.astimezone(UTC)
            return moment.isoformat("T", "seconds")[:19] + "Z"

        return rfc3339_utc
    elements = _layout_elements(layout)
    parts = tuple(
        (_ELEMENT_FORMATTERS.get(text) or partial(_format_element, element=text)) if is_element else text
        for is_element, text in elements
    )

    def go_layout(moment: datetime) -> str:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(tz)
        return "".join([part if part.__class__ is str else part(moment) for part in parts])

    if not all(text in _STRFTIME for is_element, text in elements if is_element):
        return go_layout
    # Numbers only (like 20060102150405): one strftime call, several times faster.
    strftime_format = "".join(_STRFTIME[text] if element else text.replace("%", "%%") for element, text in elements)

    def numeric_layout(moment: datetime) -> str:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(tz)
        if moment.year < 1000:  # the C library does not pad %Y to 4 digits
            return "".join([part if part.__class__ is str else part(moment) for part in parts])
        return moment.strftime(strftime_format)

    return numeric_layout


# Layout elements strftime writes the same way (numbers, zero-padded; %Y only from year 1000).
_STRFTIME = {"01": "%m", "02": "%d", "06": "%y", "15": "%H", "04": "%M", "05": "%S", "2006": "%Y", "002": "%j"}


def _is_utc(tz: tzinfo) -> bool:
    return tz is UTC or getattr(tz, "key", None) in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu")


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


def _year_day(moment: datetime) -> int:
    return moment.timetuple().tm_yday


# Go's numeric elements by the quantity they print, each with its format: zero-padded, plain or space-padded.
_NUMBER_ELEMENTS = (
    (lambda m: m.month, {"01": "02d", "1": "d"}),
    (lambda m: m.day, {"02": "02d", "2": "d", "_2": "2d"}),
    (_year_day, {"002": "03d", "__2": "3d"}),
    (lambda m: m.hour, {"15": "02d"}),
    (_hour12, {"03": "02d", "3": "d"}),
    (lambda m: m.minute, {"04": "02d", "4": "d"}),
    (lambda m: m.second, {"05": "02d", "5": "d"}),
    (lambda m: m.year % 100, {"06": "02d"}),
    (lambda m: m.year, {"2006": "04d"}),
)
_ELEMENT_FORMATTERS = {
    "January": lambda m: _MONTHS[m.month - 1],
    "Jan": lambda m: _MONTHS[m.month - 1][:3],
    "Monday": lambda m: _WEEKDAYS[m.weekday()],
    "Mon": lambda m: _WEEKDAYS[m.weekday()][:3],
    "PM": lambda m: "PM" if m.hour >= 12 else "AM",
    "pm": lambda m: "pm" if m.hour >= 12 else "am",
} | {
    element: lambda m, value=value, spec=spec: format(value(m), spec)
    for value, formats in _NUMBER_ELEMENTS
    for element, spec in formats.items()
}


def _format_element(moment: datetime, element: str) -> str:
    formatter = _ELEMENT_FORMATTERS.get(element)
    if formatter is not None:
        return formatter(moment)
    offset = int((moment.utcoffset() or timedelta(0)).total_seconds())
    if element == "MST":
        name = moment.tzname() or ""
        if name and not name.startswith(("UTC+", "UTC-")):
            return name
        return _format_offset(offset, "-0700")  # Go prints the offset when the zone has no name
    if element[0] in "-Z":
        return _format_offset(offset, element)
    return _format_fraction(moment.microsecond * 1000, element)


def _format_offset(offset: int, element: str) -> str:
    if offset == 0 and element.startswith("Z"):
        return "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    hours, minutes, seconds = offset // 3600, offset // 60 % 60, offset % 60
    colon = ":" if ":" in element else ""
    text = f"{sign}{hours:02d}"
    if len(element.replace(":", "")) > 3:  # not the short -07 form
        text += f"{colon}{minutes:02d}"
    if len(element.replace(":", "")) > 5:  # with seconds
        text += f"{colon}{seconds:02d}"
    return text


def _format_fraction(nanoseconds: int, element: str) -> str:
    separator, digits = element[0], min(len(element) - 1, 9)
    text = f"{nanoseconds:09d}"[:digits]
    if element[1] == "9":  # trailing zeros dropped, and the separator too when nothing is left
        text = text.rstrip("0")
        return separator + text if text else ""
    return separator + text


# --- parsing times back ------------------------------------------------------------------------------

_TIME_TEXT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r" ?(Z|[+-]\d{2}:?\d{2})? ?([A-Za-z][A-Za-z0-9+_/-]*)?"
)


def parse_time(text: str, tz: tzinfo = UTC) -> datetime | None:
    """Parse a time as CGRateS accepts it: RFC3339, SQL datetime, Go's Time.String(), or a unix timestamp.

    Times without an offset are in ``tz``. Empty text gives None; anything else raises ValueError.
    """
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return datetime.fromtimestamp(0, UTC) + timedelta(seconds=float(text))
    match = _TIME_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"cannot read {text!r} as a time")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    microseconds = int((match.group(7) or "0").ljust(9, "0")[:6])
    zone = tz
    if match.group(8) is None and match.group(9) not in (None, "UTC", "GMT"):
        raise ValueError(f"cannot read {text!r} as a time: zone {match.group(9)!r} without an offset")
    if match.group(8) == "Z" or (match.group(8) is None and match.group(9)):
        zone = UTC
    elif match.group(8):
        sign = -1 if match.group(8)[0] == "-" else 1
        digits = match.group(8)[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(year, month, day, hour, minute, second, microseconds, tzinfo=zone)
