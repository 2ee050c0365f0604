"""Export templates: CGRateS ``cdre`` profiles as dataclasses, loaded and validated from dict, JSON or YAML.

An :class:`ExportTemplate` is always valid: building one (directly or with :func:`load_cdre_profile`)
checks every setting and parses every RSR rule, and raises :class:`TemplateError` listing all problems,
each naming the field (section, index and tag) and the rule. So a template can be checked when it is
saved, with :func:`validate_cdre_profile`, instead of failing during an export.

Profile keys (CGRateS's, plus Dialstat's ``time_layout``, ``timezone``, ``usage_unit``)::

    export_format           *file_csv | csv, *file_fwv | fwv, *file_csv_fwv | csv_fwv (hybrid)
    field_separator         one character, "," by default
    cost_rounding_decimals  0..12, or -1 for no rounding (4 by default)
    cost_shift_digits       cost is multiplied by 10**digits (2 turns units into cents)
    cost_multiply_factor    cost is multiplied by it; 0 (default) means no multiplication
    mask_destination_id     name of the destination list whose prefixes get masked
    mask_length             how many trailing digits of a masked destination become "*"
    export_dir              where the scheduler writes the files
    header_fields, content_fields, trailer_fields: lists of fields (see ExportField)
    time_layout             Go layout for times ("2006-01-02T15:04:05Z07:00", or a name like "RFC3339")
    timezone                IANA name for times, "UTC" by default
    usage_unit              nanoseconds (default, as CGRateS) | seconds | minutes | hours
    spreadsheet_safe        true: cells a spreadsheet would evaluate (=, +, -, @...) are neutralised with a
                            leading apostrophe, plain numbers kept (data/export/safe_csv.py); false (default):
                            byte for byte what CGRateS writes. Downloads from the web page are always safe.

A whole CGRateS config (``{"cdre": {"*default": {...}}}``) is accepted too; ``profile`` picks the entry.

Limits, checked when a template is built (so when it is saved, from the UI, the shell or JSON-RPC), so that a
template that saved is one an export can use, in bounded time and space (docs/export.md):
``MAX_WIDTH`` per field and ``MAX_RECORD_WIDTH`` per record (the sum of a section's widths),
``MAX_FIELDS`` per section, ``MAX_LAYOUT`` characters in a time layout, ``MAX_VALUE`` in a field's value
(RSR rules), ``MAX_TAG`` in a tag, ``MAX_DIR`` in export_dir, and a cost_multiply_factor of at most
``MAX_FACTOR`` with at most ``MAX_FACTOR_DECIMALS`` decimals. Each problem names the field and the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .fields import RFC3339, USAGE_UNITS, ValueFormat, resolve_layout
from .rsr import RSRError, RSRField, parse_rsr, parse_rsr_list, split_rsr_list

# Each file format by its name and its CGRateS name (``*file_csv``).
EXPORT_FORMATS = {name: kind for kind in ("csv", "fwv", "csv_fwv") for name in (f"*file_{kind}", kind)}

FIELD_TYPES = ("*constant", "*filler", "*composed", "*datetime", "*handler", "*masked_destination")
CONTENT_HANDLERS = ("*export_id", "*time_now")  # the others need every CDR: header and trailer only
HANDLERS = (*CONTENT_HANDLERS, "*first_cdr_atime", "*last_cdr_atime", "*cdrs_number", "*cdrs_duration", "*cdrs_cost")
HEADER_TRAILER_TYPES = ("*constant", "*filler", "*handler")
STRIP_MODES = ("", "left", "right", "xleft", "xright")
PADDING_MODES = ("", "left", "right", "zeroleft")

DEFAULT_CSV_FIELDS = (
    "cgrid,mediation_runid,tor,accid,reqtype,direction,tenant,category,"
    "account,subject,destination,setup_time,answer_time,usage,cost"
)

MAX_WIDTH = 1024
MAX_RECORD_WIDTH = 8192
MAX_FIELDS = 200
MAX_LAYOUT = 100
MAX_VALUE = 2000
MAX_TAG = 100
MAX_DIR = 255
MAX_FACTOR = Decimal(1_000_000)
MAX_FACTOR_DECIMALS = 12

_FIELD_KEYS = ("tag", "type", "value", "width", "strip", "padding", "layout", "mandatory")
_PROFILE_KEY_ALIASES = {
    "cdr_format": "export_format",
    "export_path": "export_dir",
    "mask_destinationd_id": "mask_destination_id",
}
# CGRateS profile keys that do not change what a file export writes for voice CDRs.
_IGNORED_PROFILE_KEYS = frozenset(
    {
        "synchronous",
        "attempts",
        "tenant",
        "attributes_context",
        "usage_multiply_factor",
        "data_usage_multiply_factor",
        "sms_usage_multiply_factor",
        "mms_usage_multiply_factor",
        "generic_usage_multiply_factor",
    }
)


class TemplateError(ValueError):
    """An invalid export template; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid export template: " + "; ".join(self.problems))


@dataclass(frozen=True)
class ExportField:
    """One field of a header, content or trailer record (CGRateS's cdre field).

    ``type``: ``*constant`` (``value`` as is), ``*filler`` (``value``, usually empty, padded on the right),
    ``*composed`` (the RSR rules of ``value``, ``,``/``;`` separated, concatenated), ``*datetime`` (one RSR
    rule read as a time and written with ``layout``), ``*handler`` (``value`` names an export statistic,
    e.g. ``*cdrs_number``) or ``*masked_destination`` (``1`` when the destination is masked, else ``0``).
    ``width`` 0 means no fixed width. ``layout`` is a Go time layout, or a usage unit for ``usage`` and
    ``*cdrs_duration``.
    """

    tag: str = ""
    type: str = "*composed"
    value: str = ""
    width: int = 0
    strip: str = ""
    padding: str = ""
    layout: str = ""
    mandatory: bool = False
    rsr_fields: tuple[RSRField, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.tag, str):
            problems.append("tag must be text")
        elif len(self.tag) > MAX_TAG:
            problems.append(f"tag is {len(self.tag)} characters long, over the limit of {MAX_TAG}")
        if self.type not in FIELD_TYPES:
            problems.append(f"unknown type {self.type!r} (expected one of {', '.join(FIELD_TYPES)})")
        if not isinstance(self.value, str) or not isinstance(self.layout, str):
            problems.append("value and layout must be text")
        else:
            if len(self.value) > MAX_VALUE:
                problems.append(f"value is {len(self.value)} characters long, over the limit of {MAX_VALUE}")
            if len(self.layout) > MAX_LAYOUT:
                problems.append(f"layout is {len(self.layout)} characters long, over the limit of {MAX_LAYOUT}")
        if isinstance(self.width, bool) or not isinstance(self.width, int) or not 0 <= self.width <= MAX_WIDTH:
            problems.append(f"width must be a whole number from 0 to {MAX_WIDTH}, not {self.width!r}")
        if self.strip not in STRIP_MODES:
            problems.append(f"unknown strip {self.strip!r} (expected left, right, xleft or xright)")
        if self.padding not in PADDING_MODES:
            problems.append(f"unknown padding {self.padding!r} (expected left, right or zeroleft)")
        if not isinstance(self.mandatory, bool):
            problems.append("mandatory must be true or false")
        if not problems:
            problems.extend(self._check_value())
        if problems:
            raise TemplateError([f"field {self.tag!r}: {problem}" for problem in problems])

    def _check_value(self) -> list[str]:
        if self.type in ("*composed", "*datetime"):
            if not self.value:
                return [f"{self.type} needs a value (RSR rules)"]
            try:
                rsr_fields = parse_rsr_list(self.value)
            except RSRError as exc:
                return [str(exc)]
            if self.type == "*datetime" and len(rsr_fields) != 1:
                return ["*datetime takes exactly one RSR rule"]
            object.__setattr__(self, "rsr_fields", rsr_fields)
        if self.type == "*handler":
            if self.value not in HANDLERS:
                return [f"unknown handler {self.value!r} (expected one of {', '.join(HANDLERS)})"]
            if self.value == "*cdrs_duration" and self.layout not in ("",) + USAGE_UNITS:
                return [f"*cdrs_duration layout must be a usage unit ({', '.join(USAGE_UNITS)})"]
        return []

    def to_dict(self) -> dict[str, Any]:
        """The field as CGRateS writes it (keys left at their defaults are omitted)."""
        data: dict[str, Any] = {"tag": self.tag, "type": self.type}
        defaults = {item.name: item.default for item in fields(ExportField)}
        for name in _FIELD_KEYS[2:]:
            if getattr(self, name) != defaults[name]:
                data[name] = getattr(self, name)
        return data


@dataclass(frozen=True)
class ExportTemplate:
    """A validated export template (a CGRateS ``cdre`` profile); see the module docstring for the keys."""

    name: str = ""
    export_format: str = "csv"
    field_separator: str = ","
    cost_rounding_decimals: int = 4
    cost_shift_digits: int = 0
    cost_multiply_factor: Decimal = Decimal(0)
    mask_destination_id: str = ""
    mask_length: int = 0
    export_dir: str = ""
    header_fields: tuple[ExportField, ...] = ()
    content_fields: tuple[ExportField, ...] = ()
    trailer_fields: tuple[ExportField, ...] = ()
    time_layout: str = RFC3339
    timezone: str = "UTC"
    usage_unit: str = "nanoseconds"
    spreadsheet_safe: bool = False

    def __post_init__(self) -> None:
        problems: list[str] = []
        set_field = object.__setattr__  # frozen: normalise in place before anyone sees the instance
        if isinstance(self.export_format, str) and self.export_format in EXPORT_FORMATS:
            set_field(self, "export_format", EXPORT_FORMATS[self.export_format])
        else:
            expected = ", ".join(EXPORT_FORMATS)
            problems.append(f"unknown export_format {self.export_format!r} (expected {expected})")
        for name in ("header_fields", "content_fields", "trailer_fields"):
            set_field(self, name, tuple(getattr(self, name)))
        try:
            factor = _to_decimal(self.cost_multiply_factor)
            if (
                not factor.is_finite()
                or not 0 <= factor <= MAX_FACTOR
                or factor.as_tuple().exponent < -MAX_FACTOR_DECIMALS
            ):
                raise ValueError("out of bounds")
            set_field(self, "cost_multiply_factor", factor)
        except (InvalidOperation, TypeError, ValueError):
            shown = repr(self.cost_multiply_factor)
            shown = shown if len(shown) <= 40 else shown[:40] + "..."
            problems.append(
                f"cost_multiply_factor must be a number from 0 to {MAX_FACTOR} with at most "
                f"{MAX_FACTOR_DECIMALS} decimals, not {shown}"
            )
        problems.extend(self._check_settings())
        problems.extend(self._check_sections())
        if problems:
            raise TemplateError(problems)

    def _check_settings(self) -> list[str]:
        problems = []
        separator = self.field_separator
        if not isinstance(separator, str) or len(separator) != 1 or separator in '"\r\n':
            problems.append(f"field_separator must be one character, not a quote or newline: {separator!r}")
        for name, low, high in (
            ("cost_rounding_decimals", -1, 12),
            ("cost_shift_digits", -12, 12),
            ("mask_length", 0, 64),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{name} must be a whole number from {low} to {high}, not {value!r}")
        for name, limit in (
            ("name", MAX_TAG),
            ("mask_destination_id", MAX_TAG),
            ("export_dir", MAX_DIR),
            ("time_layout", MAX_LAYOUT),
            ("timezone", MAX_TAG),
        ):
            value = getattr(self, name)
            if not isinstance(value, str):
                problems.append(f"{name} must be text")
            elif len(value) > limit:
                problems.append(f"{name} is {len(value)} characters long, over the limit of {limit}")
            elif "\x00" in value:
                problems.append(f"{name} must not hold a NUL character")
        if not self.time_layout:
            problems.append("time_layout must not be empty")
        if isinstance(self.timezone, str):
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"unknown timezone {self.timezone!r}")
        if self.usage_unit not in USAGE_UNITS:
            problems.append(f"unknown usage_unit {self.usage_unit!r} (expected {', '.join(USAGE_UNITS)})")
        if not isinstance(self.spreadsheet_safe, bool):
            problems.append(f"spreadsheet_safe must be true or false, not {self.spreadsheet_safe!r}")
        return problems

    def _check_sections(self) -> list[str]:
        problems = []
        if not self.content_fields:
            problems.append("content_fields must not be empty")
        for section in ("header_fields", "content_fields", "trailer_fields"):
            section_fields = getattr(self, section)
            if len(section_fields) > MAX_FIELDS:
                problems.append(f"{section}: {len(section_fields)} fields, over the limit of {MAX_FIELDS}")
                continue
            record_width = sum(f.width for f in section_fields if isinstance(f, ExportField))
            if record_width > MAX_RECORD_WIDTH:
                problems.append(
                    f"{section}: the widths add up to {record_width} characters a record, "
                    f"over the limit of {MAX_RECORD_WIDTH}"
                )
            for index, export_field in enumerate(section_fields):
                if not isinstance(export_field, ExportField):
                    problems.append(f"{section}[{index}]: not an ExportField")
                    continue
                where = f"{section}[{index}] (tag {export_field.tag!r})"
                if section != "content_fields" and export_field.type not in HEADER_TRAILER_TYPES:
                    problems.append(f"{where}: {export_field.type} cannot be used in a header or trailer")
                if (
                    section == "content_fields"
                    and export_field.type == "*handler"
                    and export_field.value not in CONTENT_HANDLERS
                ):
                    problems.append(
                        f"{where}: handler {export_field.value} needs all CDRs; use it in the header or trailer"
                    )
        return problems

    def value_format(self, *, default_tenant: str = "", mask_prefixes: Sequence[str] = ()) -> ValueFormat:
        """Formatting settings for one export run."""
        return ValueFormat(
            time_layout=resolve_layout(self.time_layout),
            timezone=ZoneInfo(self.timezone),
            usage_unit=self.usage_unit,
            cost_rounding_decimals=self.cost_rounding_decimals,
            cost_shift_digits=self.cost_shift_digits,
            cost_multiply_factor=self.cost_multiply_factor,
            mask_length=self.mask_length,
            mask_prefixes=tuple(mask_prefixes),
            default_tenant=default_tenant,
        )

    def to_cdre_profile(self) -> dict[str, Any]:
        """The template as a JSON-ready ``cdre`` profile dict; :func:`load_cdre_profile` reads it back."""
        profile: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "name":
                continue
            if item.name.endswith("_fields"):
                value = [export_field.to_dict() for export_field in value]
            elif item.name == "export_format":
                value = "*file_" + value
            elif isinstance(value, Decimal):
                value = str(value)
            profile[item.name] = value
        return profile


def load_cdre_profile(
    source: Mapping[str, Any] | str | os.PathLike, *, name: str | None = None, profile: str | None = None
) -> ExportTemplate:
    """Build a template from a ``cdre`` profile: a dict, or the path of a JSON or YAML file.

    Raises :class:`TemplateError` with every problem found (bad keys, settings, fields and RSR rules).
    """
    if isinstance(source, Mapping):
        data: Any = source
        default_name = "custom"
    else:
        path = Path(source)
        data = _read_profile_file(path)
        default_name = path.stem
    if isinstance(data, Mapping) and isinstance(data.get("cdre"), Mapping):
        data, default_name = _pick_profile(data["cdre"], profile)
    if not isinstance(data, Mapping):
        raise TemplateError(["a cdre profile must be a mapping of settings"])
    return _template_from_mapping(data, name or str(data.get("name") or default_name))


def validate_cdre_profile(source: Mapping[str, Any] | str | os.PathLike, *, profile: str | None = None) -> list[str]:
    """Every problem in a profile (empty when it is valid), for checks at save time."""
    try:
        load_cdre_profile(source, profile=profile)
    except TemplateError as exc:
        return exc.problems
    return []


def template_from_rsr_list(text: str, *, name: str = "rpc", base: ExportTemplate | None = None) -> ExportTemplate:
    """A CSV template with one column per rule of ``text`` (the JSON-RPC ``ExportTemplate`` parameter).

    Settings other than the columns come from ``base`` (by default the built-in ``cgr-csv`` template).
    """
    try:
        rules = split_rsr_list(text)
        content = tuple(ExportField(tag=parse_rsr(rule).field_id, type="*composed", value=rule) for rule in rules)
    except RSRError as exc:
        raise TemplateError([str(exc)]) from None
    if base is None:
        return ExportTemplate(name=name, content_fields=content)
    return replace(base, name=name, content_fields=content)


# --- loading helpers ------------------------------------------------------------------------------


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float, str)):
        return Decimal(str(value))  # str() first: Decimal(1.1) would keep the float's binary error
    raise TypeError("not a number")


def _read_profile_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, parse_float=Decimal)
        return yaml.safe_load(text)  # YAML also reads JSON
    except (ValueError, yaml.YAMLError) as exc:
        raise TemplateError([f"cannot parse {path}: {exc}"]) from None


def _pick_profile(profiles: Mapping[str, Any], wanted: str | None) -> tuple[Any, str]:
    if wanted is None:
        if "*default" in profiles:
            wanted = "*default"
        elif len(profiles) == 1:
            wanted = next(iter(profiles))
        else:
            raise TemplateError([f"several cdre profiles ({', '.join(profiles)}): say which one"])
    if wanted not in profiles:
        raise TemplateError([f"no cdre profile named {wanted!r}"])
    return profiles[wanted], wanted


def _template_from_mapping(data: Mapping[str, Any], name: str) -> ExportTemplate:
    problems: list[str] = []
    settings: dict[str, Any] = {"name": name}
    known = {item.name for item in fields(ExportTemplate)} - {"name"}
    for key, value in data.items():
        key = _PROFILE_KEY_ALIASES.get(key, key)
        if key.endswith("_fields") and key in known:
            settings[key] = _fields_from_list(key, value, problems)
        elif key in known:
            settings[key] = value
        elif key not in _IGNORED_PROFILE_KEYS and key != "name":
            problems.append(f"unknown setting {key!r}")
    try:
        template = ExportTemplate(**settings)
    except TemplateError as exc:
        problems.extend(exc.problems)
    if problems:
        raise TemplateError(problems)
    return template


def _fields_from_list(section: str, items: Any, problems: list[str]) -> tuple[ExportField, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        problems.append(f"{section} must be a list of fields")
        return ()
    result = []
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: a field must be a mapping")
            result.append(_STAND_IN_FIELD)
            continue
        unknown = sorted(set(item) - set(_FIELD_KEYS))
        if unknown:
            problems.append(f"{where}: unsupported keys {', '.join(map(repr, unknown))}")
            result.append(_STAND_IN_FIELD)
            continue
        try:
            result.append(ExportField(**{key: value for key, value in item.items() if value is not None}))
        except TemplateError as exc:
            problems.extend(f"{where}: {problem}" for problem in exc.problems)
            # A neutral stand-in keeps the indices of the template-level checks right; the template is
            # never returned since there are problems.
            result.append(_STAND_IN_FIELD)
    return tuple(result)


_STAND_IN_FIELD = ExportField(type="*constant")
CGR_CSV_TEMPLATE = template_from_rsr_list(DEFAULT_CSV_FIELDS, name="cgr-csv")
BUILTIN_TEMPLATES = {CGR_CSV_TEMPLATE.name: CGR_CSV_TEMPLATE}
