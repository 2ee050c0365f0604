"""Saved import profiles (``import_profile``) beside the built-in ones; resolving ``--profile NAME|FILE``."""

from __future__ import annotations

import json
from pathlib import Path

from data.core import db
from data.ingest.profile_builtin import BUILTIN_NAMES, BUILTIN_PROFILES
from data.ingest.profile_convert import CompiledProfile
from data.ingest.profile_spec import ProfileError, check_profile, normalised, parse_field_rule, profile_from_yaml
from data.ingest.rows import FormatError


def saved_profiles() -> list[dict]:
    return [
        {**normalised(r["definition"]), "name": r["name"]}
        for r in db.rows("SELECT name, definition FROM import_profile ORDER BY name")
    ]


def all_profiles() -> list[dict]:
    """Built-in profiles first, then the saved ones."""
    return [normalised(p) for p in BUILTIN_PROFILES] + saved_profiles()


def profile_names() -> list[tuple[str, bool]]:
    """(name, built in) of every profile."""
    return [(p["name"], True) for p in BUILTIN_PROFILES] + [
        (r["name"], False) for r in db.rows("SELECT name FROM import_profile ORDER BY name")
    ]


def get_profile(name: str) -> dict | None:
    for profile in BUILTIN_PROFILES:
        if profile["name"] == name:
            return normalised(profile)
    found = db.rows("SELECT name, definition FROM import_profile WHERE name = :n", n=name)
    return {**normalised(found[0]["definition"]), "name": found[0]["name"]} if found else None


def save_profile(profile: dict, user_id: int | None = None, replacing: str | None = None) -> dict:
    """Check and store a profile (a new one, or ``replacing`` the one of that name); ``ProfileError`` says
    what is wrong, field by field, and nothing is stored."""
    checked = check_profile(profile)
    compiles(checked)
    if checked["name"] in BUILTIN_NAMES:
        raise ProfileError([("name", f"{checked['name']!r} is a built-in profile: choose another name")])
    taken = db.scalar("SELECT count(*) FROM import_profile WHERE name = :n", n=checked["name"])
    if taken and checked["name"] != replacing:
        raise ProfileError([("name", f"a profile named {checked['name']!r} exists already")])
    with db.transaction() as conn:
        if replacing and replacing != checked["name"]:
            conn.exec_driver_sql("DELETE FROM import_profile WHERE name = %(n)s", {"n": replacing})
        conn.exec_driver_sql(
            """INSERT INTO import_profile (name, definition, updated_by) VALUES (%(n)s, %(d)s, %(u)s)
               ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now(),
                   updated_by = EXCLUDED.updated_by""",
            {"n": checked["name"], "d": json.dumps(checked), "u": user_id},
        )
    return checked


def compiles(profile: dict) -> None:
    """Compile the profile against a file that has every column it names: what passed the check must."""
    named = [c for rule in profile["fields"].values() for c in parse_field_rule(rule).columns if not c.isdigit()]
    header = sorted(set(named) | {str(c) for c in profile["extradata"] if isinstance(profile["extradata"], list)})
    try:
        CompiledProfile(profile, header if profile["header"] else None)
    except (FormatError, ValueError) as exc:
        raise ProfileError([("profile", str(exc))]) from exc


def delete_profile(name: str) -> bool:
    return db.execute("DELETE FROM import_profile WHERE name = :n", n=name) > 0


def resolve_profile(name_or_file: str) -> dict:
    """A profile by name, or read from a YAML file; ``ProfileError`` when there is none or it is bad."""
    found = get_profile(name_or_file)
    if found is not None:
        return found
    path = Path(name_or_file)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return profile_from_yaml(path.read_text(encoding="utf-8"))
    known = ", ".join(name for name, _ in profile_names())
    raise ProfileError([("profile", f"no import profile named {name_or_file!r} (known: {known})")])
