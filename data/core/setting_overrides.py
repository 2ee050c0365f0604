"""Settings changed in the UI, kept in the ``setting`` table, over the environment's values.

Only the number plan is editable today. ``load_settings()`` stays what the environment says (it
never touches the database); code that normalises numbers asks :func:`effective_number_plan`, which
is ``load_settings().number_plan`` with the stored overrides applied. Saving a value equal to the
environment's removes the override.
"""

from __future__ import annotations

import dataclasses
import json
import re

from sqlalchemy import text

from data.core import audit, db
from data.core.normalise import pattern_regex
from data.core.settings import NumberPlan, load_settings

PREFIX = "number_plan."
FIELDS = {  # field -> (label, kind)
    "prefix_to_ignore": ("PREFIX_TO_IGNORE", "prefixes"),
    "pn_min_digits": ("PN_MIN_DIGITS", "int"),
    "pn_max_digits": ("PN_MAX_DIGITS", "int"),
    "local_dialcode": ("LOCAL_DIALCODE", "digits"),
    "prefix_limit_min": ("PREFIX_LIMIT_MIN", "int"),
    "prefix_limit_max": ("PREFIX_LIMIT_MAX", "int"),
    "international_prefixes": ("INTERNATIONAL_PREFIXES", "prefixes"),
    "internal_patterns": ("INTERNAL_PATTERNS", "patterns"),
}
_PREFIX_ITEM = re.compile(r"^\+?[0-9]{1,12}$|^\+$")


def overrides() -> dict:
    """The stored number plan overrides: {field: value}."""
    found = db.rows("SELECT key, value FROM setting WHERE key LIKE :p", p=PREFIX + "%")
    result = {}
    for row in found:
        name = row["key"][len(PREFIX) :]
        if name in FIELDS:
            value = row["value"]
            result[name] = tuple(value) if FIELDS[name][1] in ("prefixes", "patterns") else value
    return result


def effective_number_plan(base: NumberPlan | None = None) -> NumberPlan:
    """The number plan in force: the environment's (or ``base``), with the UI's overrides."""
    base = base or load_settings().number_plan
    try:
        stored = overrides()
    except Exception:  # no setting table yet (before the migration): the environment alone
        return base
    return dataclasses.replace(base, **stored)


def parse_value(name: str, raw) -> object:
    """A form value as the plan's type; ValueError with a readable message when it is not one."""
    label, kind = FIELDS[name]
    if kind == "prefixes":
        items = raw if isinstance(raw, (list, tuple)) else re.split(r"[,\s]+", str(raw or ""))
        prefixes = tuple(dict.fromkeys(str(p).strip() for p in items if str(p).strip()))
        bad = [p for p in prefixes if not _PREFIX_ITEM.match(p)]
        if bad:
            raise ValueError(f"{label}: {', '.join(bad)} are not prefixes (digits, optionally after '+')")
        return prefixes
    if kind == "patterns":
        items = raw if isinstance(raw, (list, tuple)) else re.split(r"[,\s]+", str(raw or ""))
        patterns = tuple(dict.fromkeys(str(p).strip().upper() for p in items if str(p).strip()))
        for pattern in patterns:
            try:
                pattern_regex(pattern)
            except ValueError as exc:
                raise ValueError(f"{label}: {exc}") from None
        return patterns
    if kind == "int":
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise ValueError(f"{label} must be a whole number") from None
        if not 0 <= value <= 30:
            raise ValueError(f"{label} must be between 0 and 30")
        return value
    value = str(raw or "").strip()
    if not re.fullmatch(r"[0-9]{0,6}", value):
        raise ValueError(f"{label} must be up to 6 digits")
    return value


def validate_plan(plan: NumberPlan) -> None:
    if plan.pn_min_digits > plan.pn_max_digits:
        raise ValueError("PN_MIN_DIGITS cannot be larger than PN_MAX_DIGITS")
    if plan.prefix_limit_min > plan.prefix_limit_max:
        raise ValueError("PREFIX_LIMIT_MIN cannot be larger than PREFIX_LIMIT_MAX")


def plan_from_form(values: dict) -> NumberPlan:
    """The plan the form describes (fields missing from ``values`` keep the current value)."""
    current = effective_number_plan()
    parsed = {name: parse_value(name, values[name]) for name in FIELDS if name in values}
    plan = dataclasses.replace(current, **parsed)
    validate_plan(plan)
    return plan


def save_number_plan(actor, values: dict) -> NumberPlan:
    """Store the form's number plan as overrides of the environment; audited. Returns the plan in force."""
    plan = plan_from_form(values)
    env_plan = load_settings().number_plan
    with db.transaction() as conn:
        before = {name: _jsonable(getattr(effective_number_plan(), name)) for name in FIELDS}
        for name in FIELDS:
            value = getattr(plan, name)
            if value == getattr(env_plan, name):
                conn.execute(text("DELETE FROM setting WHERE key = :k"), {"k": PREFIX + name})
            else:
                conn.execute(
                    text("""INSERT INTO setting (key, value, updated_at, updated_by)
                                     VALUES (:k, CAST(:v AS jsonb), now(), :by)
                                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now(),
                                         updated_by = excluded.updated_by"""),
                    {"k": PREFIX + name, "v": json.dumps(_jsonable(value)), "by": getattr(actor, "id", None)},
                )
        after = {name: _jsonable(getattr(plan, name)) for name in FIELDS}
        if after != before:
            audit.record(conn, actor, "update", "setting", "number_plan", before, after)
    return effective_number_plan()


def reset_number_plan(actor) -> NumberPlan:
    """Drop every override: the environment's plan is in force again."""
    with db.transaction() as conn:
        before = {name: _jsonable(getattr(effective_number_plan(), name)) for name in FIELDS}
        conn.execute(text("DELETE FROM setting WHERE key LIKE :p"), {"p": PREFIX + "%"})
        env_plan = load_settings().number_plan
        after = {name: _jsonable(getattr(env_plan, name)) for name in FIELDS}
        if after != before:
            audit.record(conn, actor, "reset", "setting", "number_plan", before, after)
    return load_settings().number_plan


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def describe_plan(plan: NumberPlan) -> list[dict]:
    """The plan's values with their environment names and whether the UI overrides them."""
    env_plan = load_settings().number_plan
    rows = []
    for name, (label, _) in FIELDS.items():
        value = getattr(plan, name)
        rows.append(
            {
                "field": name,
                "name": label,
                "value": ",".join(value) if isinstance(value, tuple) else value,
                "overridden": value != getattr(env_plan, name),
            }
        )
    return rows
