"""Time and size bounds of an export and of the live preview: stopped with a clear message, query cancelled.

A template's limits (templates.py) bound what one CDR can cost; these bound a whole run: an export stops
after ``EXPORT_MAX_SECONDS`` or ``EXPORT_MAX_BYTES`` written, the live preview after ``PREVIEW_SECONDS``
or ``PREVIEW_MAX_CHARACTERS``. PostgreSQL's ``statement_timeout`` cancels a query (or a fetch of its
cursor) that runs past the time bound; the output is checked as it is written, once a
``CHECK_EVERY`` characters, so the check costs nothing per record. Either way the run raises
:class:`ExportBounded` and its transaction ends, which ends the query.
"""

from __future__ import annotations

import time
from typing import TextIO

from .library import ExportRefused

PREVIEW_SECONDS = 10
PREVIEW_MAX_CHARACTERS = 2_000_000
CHECK_EVERY = 1 << 20


class ExportBounded(ExportRefused):
    """A run stopped at its time or size bound."""


class BoundedOutput:
    """A text sink that raises :class:`ExportBounded` past ``max_characters`` or ``max_seconds``."""

    def __init__(self, out: TextIO, max_seconds: float, max_characters: int, what: str = "the export"):
        self._out, self._what = out, what
        self._max_seconds, self._max_characters = max_seconds, max_characters
        self._deadline = time.monotonic() + max_seconds if max_seconds > 0 else None
        self._written = 0
        self._next_check = min(CHECK_EVERY, max_characters) if max_characters > 0 else CHECK_EVERY

    def write(self, text: str) -> int:
        self._written += len(text)
        if self._written >= self._next_check:
            self.check()
        return self._out.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def check(self) -> None:
        if 0 < self._max_characters < self._written:
            raise ExportBounded(
                f"{self._what} stopped: it passed {self._max_characters:,} characters "
                "(narrow the range or the template's fields)"
            )
        self.check_time()
        self._next_check = self._written + CHECK_EVERY
        if self._max_characters > 0:
            self._next_check = min(self._next_check, self._max_characters + 1)

    def check_time(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise ExportBounded(timed_out(self._what, self._max_seconds))

    def __getattr__(self, name):  # flush, fileno...: the real sink's
        return getattr(self._out, name)


def timed_out(what: str, seconds: float) -> str:
    return f"{what} stopped: it took longer than {seconds:g} s and its query was cancelled (narrow the range)"


def statement_timeout_sql(seconds: float) -> str:
    """``SET LOCAL statement_timeout`` for a bound (0: none)."""
    return f"SET LOCAL statement_timeout = {int(seconds * 1000) if seconds > 0 else 0}"
