"""CGRateS-format CSV made spreadsheet-safe (``data.core.spreadsheet``'s rule), record by record.

CGRateS-compatible exports are byte-for-byte CGRateS's by default. With the template's
``spreadsheet_safe`` switch, and always for a file downloaded from the web page, every record is read
back (Go's encoding/csv quoting, the template's separator) and a record with a cell a spreadsheet would
evaluate is written again with that cell neutralised; every other record is passed on as it was, byte
for byte. Fixed-width files are not for spreadsheets: they pass unchanged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from data.core.spreadsheet import is_formula, safe_text

from .cells import csv_record


def safe_records(lines: Iterable[str], separator: str = ",") -> Iterator[str]:
    """The CSV text of ``lines`` (each ending in ``\\n``), with the cells a spreadsheet would evaluate neutralised."""
    raw: list[str] = []

    def remembered():
        for line in lines:
            raw.append(line)
            yield line

    for cells in csv.reader(remembered(), delimiter=separator, quotechar='"', strict=False):
        text = "".join(raw)
        raw.clear()
        if any(is_formula(cell) for cell in cells):
            yield csv_record([safe_text(cell) for cell in cells], separator)
        else:
            yield text
    if raw:  # an unterminated quote at the end: left as it is
        yield "".join(raw)
