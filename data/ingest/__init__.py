"""CDR ingestion and mediation: files, switch databases, the CDR-Pusher table, HTTP push, a watched folder.

Public entry points (see ``docs/ingestion.md``):

- ``import_file(path, fmt="auto", switch=None, dry_run=False) -> ImportSummary``
- ``import_rows(records, source=..., switch=None) -> ImportSummary`` (mappings of CDR-Stats field names)
- ``normalise_number(number, plan) -> NormalisedNumber`` (explains each step)
"""

from data.core.normalise import NormalisedNumber, normalise_number
from data.ingest.formats import FORMATS, FormatError
from data.ingest.imports import ImportSummary
from data.ingest.pipeline import import_file, import_rows

__all__ = [
    "FORMATS",
    "FormatError",
    "ImportSummary",
    "NormalisedNumber",
    "import_file",
    "import_rows",
    "normalise_number",
]
