"""The bottom of the export package: fitting a value to a width, quoting a CSV cell, and the errors of one
record. The writers (formats.py, compiled.py, sqlrender.py) share these."""

from __future__ import annotations

from collections.abc import Iterable

# Errors that bad data in one CDR can cause (RSRError is a ValueError); they make that CDR unexported.
RECORD_DATA_ERRORS = (ValueError, ArithmeticError, TypeError)


class ExportError(Exception):
    """The export as a whole failed (e.g. its header or trailer cannot be built)."""


class ExportRecordError(ExportError):
    """One record cannot be written; for a CDR the writer reports it as unexported and goes on."""


def format_field_width(value: str, width: int, strip: str = "", padding: str = "", mandatory: bool = False) -> str:
    """Fit ``value`` to ``width`` characters the way CGRateS's FmtFieldWidth does.

    strip (value too long): ``right`` keeps the first ``width`` characters, ``left`` the last ones;
    ``xright``/``xleft`` keep one fewer and mark the cut end with ``x``. padding (value too short): ``left``
    adds spaces on the left, ``right`` on the right, ``zeroleft`` zeros on the left. Width 0 means any
    length. Raises :class:`ExportRecordError` when the value does not fit or is empty but mandatory.
    """
    if mandatory and not value:
        raise ExportRecordError("empty value for a mandatory field")
    if width == 0 or len(value) == width:
        return value
    if len(value) > width:
        if strip == "right":
            return value[:width]
        if strip == "xright":
            return value[: width - 1] + "x"
        if strip == "left":
            return value[len(value) - width :]
        if strip == "xleft":
            return "x" + value[len(value) - width + 1 :]
        raise ExportRecordError(f"value {value!r} is longer than the width {width} and no strip is set")
    if padding == "right":
        return value.ljust(width)
    if padding == "left":
        return value.rjust(width)
    if padding == "zeroleft":
        return value.rjust(width, "0")
    raise ExportRecordError(f"value {value!r} is shorter than the width {width} and no padding is set")


def csv_record(values: Iterable[str], separator: str = ",") -> str:
    """One CSV line, quoted as Go's encoding/csv does, ending in ``\\n``."""
    return separator.join(csv_cell(value, separator) for value in values) + "\n"


def csv_cell(value: str, separator: str) -> str:
    if value == "":
        return value
    if (
        value == "\\."  # Go quotes it so that PostgreSQL's COPY does not read it as end of data
        or separator in value
        or any(char in value for char in '"\r\n')
        or value[0].isspace()
    ):
        return '"' + value.replace('"', '""') + '"'
    return value
