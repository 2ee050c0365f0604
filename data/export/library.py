"""Stored export templates and destination (masking) lists: saved, listed, looked up, deleted, audited."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import yaml
from sqlalchemy import text

from data.core import audit, db

from .formats import ExportError
from .templates import BUILTIN_TEMPLATES, ExportTemplate, TemplateError, load_cdre_profile

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._*-]{0,99}")
_PREFIX = re.compile(r"\+?[0-9]{1,20}")


class ExportRefused(ExportError):
    """A request that cannot be carried out as asked (bad path, unknown template...); nothing was written."""


# --- Templates and masking lists -----------------------------------------------------------------


def parse_profile_text(source: str) -> dict:
    """A ``cdre`` profile from JSON or YAML text (the template editor, files); TemplateError if unreadable."""
    try:
        data = yaml.safe_load(source) if source.strip() else None
    except yaml.YAMLError as exc:
        raise TemplateError([f"cannot parse the profile: {exc}"]) from None
    if not isinstance(data, dict):
        raise TemplateError(["a cdre profile must be a mapping of settings (JSON object or YAML mapping)"])
    return data


def validate_template(name: str, profile: dict) -> ExportTemplate:
    """The template a profile makes, with every problem raised at once (TemplateError), as on save."""
    problems = []
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        problems.append("name: 1 to 100 letters, digits, spaces or . _ * - (starting with a letter or digit)")
    elif name in BUILTIN_TEMPLATES:
        problems.append(f"name: {name!r} is a built-in template")
    try:
        template = load_cdre_profile(profile, name=name if isinstance(name, str) else "custom")
    except TemplateError as exc:
        problems.extend(exc.problems)
        template = None
    if (
        template is not None
        and template.mask_destination_id
        and template.mask_destination_id not in {row["name"] for row in list_destination_lists()}
    ):
        problems.append(f"mask_destination_id: no destination list named {template.mask_destination_id!r}")
    if problems:
        raise TemplateError(problems)
    return template


def row_or_none(conn, sql: str, **params) -> dict | None:
    found = conn.execute(text(sql), params).mappings().first()
    return dict(found) if found is not None else None


def audit_change(conn, action: str, target_type: str, target_id, before: dict | None, after: dict | None) -> None:
    """Template, destination list and schedule changes, in the audit log as the logged-in admin (or "system")."""
    audit.record(conn, audit.current_actor(), action, target_type, target_id, before, after)


def save_template(name: str, profile: dict | str, user_id: int | None = None) -> ExportTemplate:
    """Validate and store (insert or replace) a template; TemplateError lists every problem."""
    if isinstance(profile, str):
        profile = parse_profile_text(profile)
    template = validate_template(name, profile)
    stored = template.to_cdre_profile()
    with db.transaction() as conn:
        before = row_or_none(conn, "SELECT profile FROM export_template WHERE name = :n FOR UPDATE", n=name)
        conn.execute(
            text(
                """INSERT INTO export_template (name, profile, created_by) VALUES (:n, CAST(:p AS jsonb), :u)
               ON CONFLICT (name) DO UPDATE SET profile = EXCLUDED.profile, updated_at = now()"""
            ),
            {"n": name, "p": json.dumps(stored), "u": user_id},
        )
        audit_change(conn, "update" if before else "create", "export_template", name, before, {"profile": stored})
    return template


def delete_template(name: str) -> None:
    used = [r["name"] for r in db.rows("SELECT name FROM export_schedule WHERE template_name = :n", n=name)]
    if used:
        raise ExportRefused(f"template {name!r} is used by the schedules {', '.join(used)}")
    with db.transaction() as conn:
        before = row_or_none(conn, "DELETE FROM export_template WHERE name = :n RETURNING profile", n=name)
        if before:
            audit_change(conn, "delete", "export_template", name, before, None)


def list_templates() -> list[dict]:
    """Built-in templates first, then the stored ones: name, builtin, profile (dict), updated_at."""
    builtin = [
        {"name": t.name, "builtin": True, "profile": t.to_cdre_profile(), "updated_at": None}
        for t in BUILTIN_TEMPLATES.values()
    ]
    stored = db.rows("SELECT name, false AS builtin, profile, updated_at FROM export_template ORDER BY name")
    return builtin + stored


def get_template(name: str) -> ExportTemplate:
    """A built-in or stored template by name; ExportRefused when there is none."""
    if name in BUILTIN_TEMPLATES:
        return BUILTIN_TEMPLATES[name]
    found = db.rows("SELECT profile FROM export_template WHERE name = :n", n=name)
    if not found:
        raise ExportRefused(f"no export template named {name!r}")
    return load_cdre_profile(found[0]["profile"], name=name)


def save_destination_list(name: str, prefixes: Iterable[str], description: str = "") -> list[str]:
    """Store a destination prefix list (masking); returns the cleaned prefixes. ExportRefused if invalid."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ExportRefused("a destination list name is 1 to 100 letters, digits, spaces or . _ * -")
    cleaned = sorted({p.strip() for p in prefixes if p and p.strip()})
    bad = [p for p in cleaned if not _PREFIX.fullmatch(p)]
    if bad:
        raise ExportRefused(f"prefixes are digits, with an optional leading +: {', '.join(bad)}")
    with db.transaction() as conn:
        before = row_or_none(
            conn, "SELECT prefixes, description FROM export_destination_list WHERE name = :n FOR UPDATE", n=name
        )
        conn.execute(
            text("""INSERT INTO export_destination_list (name, prefixes, description) VALUES (:n, :p, :d)
                             ON CONFLICT (name) DO UPDATE SET prefixes = EXCLUDED.prefixes,
                                 description = EXCLUDED.description, updated_at = now()"""),
            {"n": name, "p": cleaned, "d": description},
        )
        audit_change(
            conn,
            "update" if before else "create",
            "destination_list",
            name,
            before,
            {"prefixes": cleaned, "description": description},
        )
    return cleaned


_DESTINATION_LIST = "SELECT name, prefixes, description, updated_at FROM export_destination_list"


def list_destination_lists() -> list[dict]:
    return db.rows(f"{_DESTINATION_LIST} ORDER BY name")


def get_destination_list(name: str) -> dict | None:
    found = db.rows(f"{_DESTINATION_LIST} WHERE name = :n", n=name)
    return found[0] if found else None


def mask_prefixes(list_name: str) -> tuple[str, ...]:
    """The prefixes of a destination list ("" names none); ExportRefused for an unknown list."""
    if not list_name:
        return ()
    found = get_destination_list(list_name)
    if found is None:
        raise ExportRefused(f"no destination list named {list_name!r}")
    return tuple(found["prefixes"])


# --- Destination lists: what the Exports page's editor needs besides save and list -------------------


def prefixes_from_text(value: str | None) -> list[str]:
    """Prefixes typed in a form: separated by commas, semicolons, spaces or new lines."""
    return [p for p in re.split(r"[\s,;]+", value or "") if p]


def templates_masking_with(list_name: str) -> list[str]:
    """The stored templates whose ``mask_destination_id`` names this destination list."""
    return [
        r["name"]
        for r in db.rows(
            "SELECT name FROM export_template WHERE profile->>'mask_destination_id' = :n ORDER BY name", n=list_name
        )
    ]


def delete_destination_list(name: str) -> None:
    """Delete a destination list; ExportRefused when it is unknown or a stored template masks with it
    (that template could no longer export)."""
    with db.transaction() as conn:
        deleted = row_or_none(
            conn,
            """DELETE FROM export_destination_list d WHERE d.name = :n AND NOT EXISTS (
                                    SELECT 1 FROM export_template t WHERE t.profile->>'mask_destination_id' = d.name)
                                RETURNING d.prefixes, d.description""",
            n=name,
        )
        if deleted:
            audit_change(conn, "delete", "destination_list", name, deleted, None)
    if deleted is None:
        masking = templates_masking_with(name)
        if masking:
            raise ExportRefused(f"destination list {name!r} is used by the templates {', '.join(masking)}")
        raise ExportRefused(f"no destination list named {name!r}")
