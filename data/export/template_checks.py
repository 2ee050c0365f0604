"""The checks of a template at save time that need the database or the settings: field ids and export_dir.

A field id must name something an export can read: a CGRateS field (``cgrid``, ``Account``...), a column of
the stored calls, a joined value (``switch_ip``, ``tenant``...) or a key of the calls' extra data — the
keys found in the newest ``EXTRADATA_SAMPLE`` calls, since extra data is free-form. Anything else would
be an empty column in every record, so it is refused with the field and the id.
"""

from __future__ import annotations

from pathlib import Path

from data.core import db
from data.core.settings import load_settings

from .fields import CGRATES_ALIASES, CGRATES_FIELD_IDS
from .templates import ExportTemplate, TemplateError

EXTRADATA_SAMPLE = 10_000
JOINED_KEYS = frozenset({"switch_ip", "cdr_source_type_name", "tenant"})


def extradata_keys() -> frozenset[str]:
    """The keys of the extra data of the newest calls."""
    return frozenset(
        row["key"]
        for row in db.rows(
            """SELECT DISTINCT k AS key FROM (SELECT extradata FROM cdr ORDER BY id DESC LIMIT :n) c,
                      jsonb_object_keys(CASE jsonb_typeof(c.extradata) WHEN 'object' THEN c.extradata
                                        ELSE '{}'::jsonb END) k""",
            n=EXTRADATA_SAMPLE,
        )
    )


def unknown_field_ids(template: ExportTemplate, cdr_columns: frozenset[str]) -> list[str]:
    """One problem per field whose rules read an id no export can fill."""
    known = CGRATES_FIELD_IDS | frozenset(CGRATES_ALIASES) | cdr_columns | JOINED_KEYS
    problems, extra = [], None
    for section in ("header_fields", "content_fields", "trailer_fields"):
        for index, export_field in enumerate(getattr(template, section)):
            for rule in export_field.rsr_fields:
                if rule.is_static or rule.field_id in known:
                    continue
                if extra is None:
                    extra = extradata_keys()
                if rule.field_id not in extra:
                    problems.append(
                        f"{section}[{index}] (tag {export_field.tag!r}): unknown field id {rule.field_id!r} "
                        "(not a CGRateS field, a CDR column, or a key of the extra data of recent calls)"
                    )
    return problems


def check_field_ids(template: ExportTemplate, cdr_columns: frozenset[str]) -> None:
    problems = unknown_field_ids(template, cdr_columns)
    if problems:
        raise TemplateError(problems)


def export_dir_problems(directory: str) -> list[str]:
    """export_dir must be EXPORT_DIR or a directory inside it (as ``exporter.resolve_export_dir`` runs it)."""
    if not directory:
        return []
    root = Path(load_settings().export_dir).resolve()
    candidate = Path(directory)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if resolved != root and not resolved.is_relative_to(root):
        return [f"export_dir: the export directory must be EXPORT_DIR ({root}) or a directory inside it"]
    return []
