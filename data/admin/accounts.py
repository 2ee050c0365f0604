"""Administration: users and customers (role, accountcodes, groups, VoIP plan), switches, re-assigning calls.

Every change runs in one transaction with its audit row (``data.core.audit``). Errors a form should show
are ``ValueError`` with a readable message.

Accountcodes: a customer owns several; an accountcode belongs to one customer. Giving a code to a
customer can re-assign the calls already stored with it (``reassign=True``): ``cdr.user_id`` is
updated, and the rollup rows of those codes are moved to the new owner. ``user_id`` is part of the
rollup key, so a moved row is merged into the row the new owner may already have for the same key
(``INSERT ... ON CONFLICT DO UPDATE`` adding the measures), in the same transaction. Taking a code
away with ``reassign=True`` leaves its calls without a customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from data.admin import acl, lockout
from data.admin.users import ROLES
from data.core import audit, db, rollups
from data.core.i18n import gettext as _
from data.core.i18n import valid_language
from data.core.rollups import HOUR_ACCOUNT
from data.rating.rerate_queue import queue_customer_rerate

USERNAME = re.compile(r"^[\w.@+-]{1,150}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_ACCOUNTCODE = 80


# ---------------------------------------------------------------------------------------------------------
# Validation


def valid_timezone(name: str | None) -> str:
    if not name or name not in _timezones():
        raise ValueError(f"unknown time zone {name!r}")
    ZoneInfo(name)
    return name


_TZ: set[str] | None = None


def _timezones() -> set[str]:
    global _TZ
    if _TZ is None:
        _TZ = set(available_timezones()) | {"UTC"}
    return _TZ


def timezone_names() -> list[str]:
    return sorted(_timezones())


def check_password(password: str | None) -> str:
    if not password or len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ValueError(_("the password is too long"))
    return password


def _check_email(email: str | None) -> str | None:
    email = (email or "").strip() or None
    if email and not EMAIL.match(email):
        raise ValueError(f"{email!r} is not an e-mail address")
    return email


def parse_accountcodes(value: str | Iterable[str] | None) -> list[str]:
    """Accountcodes from a list or a text (commas, spaces or new lines between them), unique, in order."""
    if value is None:
        return []
    parts = re.split(r"[,\s;]+", value) if isinstance(value, str) else list(value)
    codes = list(dict.fromkeys(str(p).strip() for p in parts if str(p).strip()))
    too_long = [c for c in codes if len(c) > MAX_ACCOUNTCODE]
    if too_long:
        raise ValueError(f"accountcodes have at most {MAX_ACCOUNTCODE} characters")
    return codes


# ---------------------------------------------------------------------------------------------------------
# Users


_USER_COLUMNS = """u.id, u.username, u.email, u.full_name, u.role, u.timezone, u.language, u.is_active, u.voip_plan_id,
    u.created_at, u.last_login_at,
    COALESCE((SELECT array_agg(a.accountcode ORDER BY a.accountcode) FROM user_accountcode a
              WHERE a.user_id = u.id), '{}') AS accountcodes,
    COALESCE((SELECT array_agg(ug.group_id ORDER BY ug.group_id) FROM user_group ug
              WHERE ug.user_id = u.id), '{}') AS group_ids,
    COALESCE((SELECT array_agg(g.name ORDER BY g.name) FROM user_group ug JOIN acl_group g ON g.id = ug.group_id
              WHERE ug.user_id = u.id), '{}') AS groups"""


def _user_columns() -> str:
    """The user columns, with the mail work's report addresses when that column is there."""
    extra = ", COALESCE(u.report_emails, '{}') AS report_emails" if _has_column("app_user", "report_emails") else ""
    return _USER_COLUMNS + extra


def list_users() -> list[dict]:
    return db.rows(
        f"SELECT {_user_columns()}, p.name AS voip_plan FROM app_user u "
        "LEFT JOIN voip_plan p ON p.id = u.voip_plan_id ORDER BY u.role, u.username"
    )


def user_detail(user_id: int) -> dict | None:
    found = db.rows(f"SELECT {_user_columns()} FROM app_user u WHERE u.id = :id", id=user_id)
    return found[0] if found else None


def parse_report_emails(value: str | Iterable[str] | None) -> list[str]:
    """Extra addresses the user's mailed reports go to (besides their own); ValueError names bad ones."""
    from data.core.mailer import parse_addresses

    valid, invalid = parse_addresses(value or [])
    if invalid:
        raise ValueError(f"not an e-mail address: {', '.join(invalid)}")
    if len(valid) > 20:
        raise ValueError(_("at most 20 report addresses"))
    return valid


def _set_report_emails(conn, user_id: int, value) -> None:
    if value is None or not _has_column("app_user", "report_emails"):
        return
    conn.execute(
        text("UPDATE app_user SET report_emails = :e WHERE id = :id"), {"e": parse_report_emails(value), "id": user_id}
    )


def _user_snapshot(conn, user_id: int) -> dict | None:
    row = conn.execute(text(f"SELECT {_user_columns()} FROM app_user u WHERE u.id = :id"), {"id": user_id}).mappings()
    row = row.first()
    if row is None:
        return None
    snap = dict(row)
    for key in ("created_at", "last_login_at"):
        snap.pop(key, None)
    return snap


def list_voip_plans() -> list[dict]:
    return db.rows("SELECT id, name FROM voip_plan ORDER BY name")


def accountcode_owners(codes: Iterable[str]) -> dict[str, dict]:
    """Who owns each of ``codes`` now: {code: {"user_id", "username"}}."""
    return {
        r["accountcode"]: r
        for r in db.rows(
            "SELECT a.accountcode, a.user_id, u.username FROM user_accountcode a JOIN app_user u ON u.id = a.user_id "
            "WHERE a.accountcode = ANY(:codes)",
            codes=list(codes),
        )
    }


def calls_with_accountcodes(codes: Iterable[str]) -> int:
    """How many stored calls carry ``codes`` (from the hourly rollup: no scan of ``cdr``)."""
    codes = list(codes)
    if not codes:
        return 0
    return int(
        db.scalar(
            f"SELECT COALESCE(sum(attempts), 0) FROM {HOUR_ACCOUNT.name} WHERE accountcode = ANY(:codes)", codes=codes
        )
        or 0
    )


def create_user(
    actor,
    *,
    username: str,
    password: str,
    role: str = "customer",
    email: str | None = None,
    full_name: str = "",
    timezone: str = "UTC",
    language: str | None = None,
    accountcodes: Iterable[str] | str = (),
    group_ids: Iterable[int] = (),
    voip_plan_id: int | None = None,
    is_active: bool = True,
    reassign: bool = True,
    report_emails: str | Iterable[str] | None = None,
) -> int:
    """Create a user; returns its id. ``reassign``: the calls already stored with its accountcodes become its."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise ValueError(_("the username is 1 to 150 letters, digits and . @ + - _"))
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    check_password(password)
    codes = parse_accountcodes(accountcodes)
    try:
        with db.transaction() as conn:
            user_id = conn.execute(
                text("""INSERT INTO app_user (username, email, full_name, password_hash, role, timezone, language,
                                              is_active, voip_plan_id, password_changed_at)
                        VALUES (:u, :e, :n, :h, :r, :tz, :lang, :active, :plan, now()) RETURNING id"""),
                {
                    "u": username,
                    "e": _check_email(email),
                    "n": (full_name or "").strip(),
                    "h": generate_password_hash(password),
                    "r": role,
                    "tz": valid_timezone(timezone),
                    "lang": valid_language(language),
                    "active": bool(is_active),
                    "plan": voip_plan_id,
                },
            ).scalar()
            moved = _set_accountcodes(conn, user_id, codes, reassign) if codes else {}
            if voip_plan_id is not None:  # calls it took over are priced on its plan
                moved["rerate"] = queue_customer_rerate(conn, user_id, f"new customer on VoIP plan {voip_plan_id}")
            acl.set_user_groups(conn, user_id, group_ids)
            _set_report_emails(conn, user_id, report_emails)
            after = _user_snapshot(conn, user_id)
            if moved.get("moved_calls"):
                after["moved_calls"] = moved["moved_calls"]
            audit.record(conn, actor, "create", "user", user_id, None, after)
    except IntegrityError as exc:
        raise ValueError(_integrity_message(exc, username)) from exc
    rollups.use_timezone(timezone)  # daily rollups are kept for every zone in use
    return user_id


def _integrity_message(exc: IntegrityError, username: str = "") -> str:
    message = str(exc.orig)
    if "app_user_username_key" in message:
        return f"the username {username!r} is taken"
    if "voip_plan" in message:
        return "unknown VoIP plan"
    return "the change conflicts with existing data"


EDITABLE = ("username", "email", "full_name", "role", "timezone", "language", "is_active", "voip_plan_id")


def _checked_fields(changes: dict) -> dict:
    """The ``EDITABLE`` fields of ``changes``, checked and cleaned, as columns of ``app_user``."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    values = {}
    if "username" in changes:
        if not USERNAME.match((changes["username"] or "").strip()):
            raise ValueError(_("the username is 1 to 150 letters, digits and . @ + - _"))
        values["username"] = changes["username"].strip()
    if "email" in changes:
        values["email"] = _check_email(changes["email"])
    if "full_name" in changes:
        values["full_name"] = (changes["full_name"] or "").strip()[:200]
    if "role" in changes:
        if changes["role"] not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        values["role"] = changes["role"]
    if "timezone" in changes:
        values["timezone"] = valid_timezone(changes["timezone"])
    if "language" in changes:
        values["language"] = valid_language(changes["language"])
    if "is_active" in changes:
        values["is_active"] = bool(changes["is_active"])
    if "voip_plan_id" in changes:
        values["voip_plan_id"] = int(changes["voip_plan_id"]) if changes["voip_plan_id"] not in (None, "") else None
    return values


def update_user(
    actor,
    user_id: int,
    *,
    accountcodes: Iterable[str] | str | None = None,
    group_ids: Iterable[int] | None = None,
    password: str | None = None,
    reassign: bool = True,
    report_emails: str | Iterable[str] | None = None,
    **changes,
) -> dict:
    """Change a user's fields (``EDITABLE``), accountcodes, groups or password; returns what moved.

    An admin cannot demote or disable themselves (there would be no way back for the last admin).
    """
    actor_id = getattr(actor, "id", None)
    if actor_id == user_id and (changes.get("role", "admin") != "admin" or changes.get("is_active", True) is False):
        raise ValueError(_("you cannot demote or disable your own account"))
    values = _checked_fields(changes)
    if password is not None:
        check_password(password)
    result: dict = {}
    try:
        with db.transaction() as conn:
            before = _update_row(conn, "app_user", user_id, values, _user_snapshot)
            if password is not None:
                conn.execute(
                    text("UPDATE app_user SET password_hash = :h, password_changed_at = now() WHERE id = :id"),
                    {"h": generate_password_hash(password), "id": user_id},
                )
            if accountcodes is not None:
                result = _set_accountcodes(conn, user_id, parse_accountcodes(accountcodes), reassign)
            if group_ids is not None:
                acl.set_user_groups(conn, user_id, group_ids)
            _set_report_emails(conn, user_id, report_emails)
            after = _user_snapshot(conn, user_id)
            if password is not None:
                after["password_changed"] = True
            if result.get("moved_calls"):
                after["moved_calls"] = result["moved_calls"]
            if before["voip_plan_id"] != after["voip_plan_id"] or (result.get("moved_calls") and after["voip_plan_id"]):
                # a new plan, or calls taken over: their prices are those of the plan once re-rated
                result["rerate"] = queue_customer_rerate(
                    conn, user_id, f"VoIP plan {before['voip_plan_id']} -> {after['voip_plan_id']}"
                )
            if after != before:
                audit.record(conn, actor, "update", "user", user_id, before, after)
    except IntegrityError as exc:
        raise ValueError(_integrity_message(exc, values.get("username", ""))) from exc
    if "timezone" in values:
        rollups.use_timezone(values["timezone"])  # daily rollups are kept for every zone in use
    if password is not None:  # an admin setting a new password also lifts a login lockout
        lockout.clear(after["username"])
    return result


def _set_accountcodes(conn, user_id: int, codes: list[str], reassign: bool) -> dict:
    """Make ``codes`` exactly the user's accountcodes (taking them from other customers if needed)."""
    current = set(
        conn.execute(text("SELECT accountcode FROM user_accountcode WHERE user_id = :id"), {"id": user_id}).scalars()
    )
    added = [c for c in codes if c not in current]
    removed = sorted(current - set(codes))
    if removed:
        conn.execute(
            text("DELETE FROM user_accountcode WHERE user_id = :id AND accountcode = ANY(:codes)"),
            {"id": user_id, "codes": removed},
        )
    if added:
        conn.execute(
            text("""INSERT INTO user_accountcode (accountcode, user_id) VALUES (:c, :id)
                             ON CONFLICT (accountcode) DO UPDATE SET user_id = excluded.user_id"""),
            [{"c": c, "id": user_id} for c in added],
        )
    moved = 0
    if reassign:
        if added:
            moved += reassign_calls(conn, added, user_id)
        if removed:
            moved += reassign_calls(conn, removed, None)
    return {"added": added, "removed": removed, "moved_calls": moved}


def reassign_calls(conn, codes: list[str], user_id: int | None) -> int:
    """Give the stored calls with ``codes`` (and their rollup sums) to ``user_id`` (None: no customer).

    Returns the number of calls whose owner changed. Runs on ``conn``, in the caller's transaction:
    the calls are taken out of every rollup under their old owners and added back under the new one
    (``data.core.rollups``, which also has the concurrency job recompute the minutes they cover).
    """
    if not codes:
        return 0
    with conn.connection.cursor() as cur:  # the rollups work on the DB-API cursor, in this same transaction
        return rollups.move_calls(cur, "accountcode = ANY(%(codes)s)", {"codes": codes}, user_id)


def delete_customer(actor, user_id: int) -> dict:
    """Delete a customer; their stored calls stay, with no customer, and their rollup sums move with them
    in the same transaction. Admins are not deleted here (demote first)."""
    with db.transaction() as conn:
        before = _user_snapshot(conn, user_id)
        if before is None:
            raise ValueError(_("no such user"))
        if before["role"] != "customer":
            raise ValueError(_("only customers are deleted; demote an admin first"))
        with conn.connection.cursor() as cur:
            moved = rollups.move_calls(cur, "user_id = %(old_owner)s", {"old_owner": user_id}, None)
        conn.execute(text("DELETE FROM app_user WHERE id = :id"), {"id": user_id})
        audit.record(conn, actor, "delete", "user", user_id, before, {"moved_calls": moved})
    return {"moved_calls": moved}


def set_own_profile(user, **changes) -> None:
    """Self-service: a user changes their ``email``, ``full_name``, ``timezone`` or ``language`` (audited, actor =
    the user); a change given as None is no change ("" for language: follow the browser)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if set(changes) - {"email", "full_name", "timezone", "language"}:
        raise ValueError(f"cannot change {', '.join(sorted(changes))} on your own profile")
    if changes:
        update_user(user, user.id, **changes)


def change_own_password(user, current_password: str, new_password: str) -> None:
    """Self-service: the current password must be right; the new one follows the rules."""
    from data.admin import users

    if users.authenticate(user.username, current_password or "") is None:
        raise ValueError(_("the current password is wrong"))
    check_password(new_password)
    if new_password == current_password:
        raise ValueError(_("the new password is the same as the current one"))
    with db.transaction() as conn:
        conn.execute(
            text("UPDATE app_user SET password_hash = :h, password_changed_at = now() WHERE id = :id"),
            {"h": generate_password_hash(new_password), "id": user.id},
        )
        audit.record(conn, user, "change-password", "user", user.id, None, {"password_changed": True})


# ---------------------------------------------------------------------------------------------------------
# Switches


SWITCH_COLUMNS = "s.id, s.name, s.ip, s.source_type, t.name AS source_type_name, s.timezone, s.created_at"


def list_switches() -> list[dict]:
    has_key = ", (s.push_key_hash IS NOT NULL) AS has_push_key" if _has_column("switch", "push_key_hash") else ""
    return db.rows(
        f"SELECT {SWITCH_COLUMNS}{has_key} FROM switch s "
        "LEFT JOIN cdr_source_type t ON t.id = s.source_type ORDER BY s.name"
    )


def source_types() -> list[dict]:
    return db.rows("SELECT id, name FROM cdr_source_type ORDER BY id")


def _switch_snapshot(conn, switch_id: int) -> dict | None:
    row = (
        conn.execute(text("SELECT id, name, ip, source_type, timezone FROM switch WHERE id = :id"), {"id": switch_id})
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _switch_values(name, ip, source_type, timezone) -> dict:
    values = {}
    if name is not None:
        if not str(name).strip():
            raise ValueError(_("a switch needs a name"))
        values["name"] = str(name).strip()[:200]
    if ip is not None:
        if not str(ip).strip():
            raise ValueError(_("a switch needs an IP address (or host name)"))
        values["ip"] = str(ip).strip()[:200]
    if source_type is not None:
        values["source_type"] = int(source_type)
    if timezone is not None:
        values["timezone"] = valid_timezone(timezone)
    return values


def _switch_integrity(exc: IntegrityError) -> str:
    message = str(exc.orig)
    if "switch_name_key" in message:
        return "another switch has this name"
    if "switch_ip_key" in message:
        return "another switch has this IP address"
    if "source_type" in message:
        return "unknown source type"
    return "the change conflicts with existing data"


def create_switch(actor, name: str, ip: str, source_type: int = 0, timezone: str = "UTC") -> int:
    values = _switch_values(name, ip, source_type, timezone)
    try:
        with db.transaction() as conn:
            switch_id = conn.execute(
                text(
                    "INSERT INTO switch (name, ip, source_type, timezone) "
                    "VALUES (:name, :ip, :source_type, :timezone) RETURNING id"
                ),
                values,
            ).scalar()
            audit.record(conn, actor, "create", "switch", switch_id, None, _switch_snapshot(conn, switch_id))
    except IntegrityError as exc:
        raise ValueError(_switch_integrity(exc)) from exc
    return switch_id


def _update_row(conn, table: str, row_id: int, values: dict, snapshot) -> dict:
    """Set ``values`` on one row and return ``snapshot(conn, id)`` as it was before; the column names come from
    this module's own checks, never from input."""
    before = snapshot(conn, row_id)
    if before is None:
        raise ValueError(f"no such {'user' if table == 'app_user' else table}")
    if values:
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        conn.execute(text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row_id})
    return before


def update_switch(
    actor,
    switch_id: int,
    name: str | None = None,
    ip: str | None = None,
    source_type: int | None = None,
    timezone: str | None = None,
) -> None:
    values = _switch_values(name, ip, source_type, timezone)
    try:
        with db.transaction() as conn:
            before = _update_row(conn, "switch", switch_id, values, _switch_snapshot)
            after = _switch_snapshot(conn, switch_id)
            if after != before:
                audit.record(conn, actor, "update", "switch", switch_id, before, after)
    except IntegrityError as exc:
        raise ValueError(_switch_integrity(exc)) from exc


def rotate_switch_key(actor, switch_id: int) -> str:
    """A new push API key for the switch (the old one stops working); returned once, only its hash is kept."""
    from data.ingest.switches import rotate_push_key

    found = db.rows("SELECT id, name, ip FROM switch WHERE id = :id", id=switch_id)
    if not found:
        raise ValueError(_("no such switch"))
    switch, key = rotate_push_key(found[0]["ip"])
    if switch["id"] != switch_id:  # the ip of another switch's name: never expected, but never rotate the wrong one
        raise ValueError(_("could not identify the switch"))
    with db.transaction() as conn:
        audit.record(conn, actor, "rotate-push-key", "switch", switch_id, None, {"push_key": "rotated"})
    return key


_COLUMNS_CACHE: dict[tuple[str, str], bool] = {}


def _has_column(table: str, column: str) -> bool:
    if (table, column) not in _COLUMNS_CACHE:
        _COLUMNS_CACHE[(table, column)] = bool(
            db.scalar(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = :t AND column_name = :c)",
                t=table,
                c=column,
            )
        )
    return _COLUMNS_CACHE[(table, column)]


def hangup_causes() -> list[dict]:
    return db.rows("SELECT code, name, class, sip_response, ner_success FROM hangup_cause ORDER BY code")
