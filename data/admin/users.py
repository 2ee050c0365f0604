"""Users, roles, passwords and the accountcodes a customer owns.

Sessions are rows of their own (``data.admin.sessions``): any new password — self-service, an admin's, a
reset link, the shell — deletes the user's sessions (a trigger), and the session that made the change
gets a new one (``routes.auth.renew_session``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_login import UserMixin
from sqlalchemy import text
from werkzeug.security import check_password_hash, generate_password_hash

from data.core import db, rollups
from data.core.i18n import gettext as _

ROLES = ("admin", "customer")
# Checked against when the username does not exist, so a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


@dataclass
class User(UserMixin):
    id: int
    username: str
    email: str | None
    role: str
    timezone: str
    active: bool = True
    language: str | None = None  # None: the browser's Accept-Language decides

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active


_COLUMNS = "id, username, email, role, timezone, is_active AS active, language"


def get_user(user_id: int) -> User | None:
    found = db.rows(f"SELECT {_COLUMNS} FROM app_user WHERE id = :id", id=user_id)
    return User(**found[0]) if found else None


def get_user_by_name(username: str) -> User | None:
    found = db.rows(f"SELECT {_COLUMNS} FROM app_user WHERE username = :u", u=username)
    return User(**found[0]) if found else None


def authenticate(username: str, password: str) -> User | None:
    found = db.rows(f"SELECT {_COLUMNS}, password_hash FROM app_user WHERE username = :u", u=username)
    if not found:
        check_password_hash(_DUMMY_HASH, password)
        return None
    row = found[0]
    if not check_password_hash(row.pop("password_hash"), password) or not row["active"]:
        return None
    return User(**row)


def record_login(user_id: int) -> None:
    db.execute("UPDATE app_user SET last_login_at = now() WHERE id = :id", id=user_id)


def user_id_by_name_or_id(value: str) -> int | None:
    """A user named by username or by id (the username wins when both match)."""
    return db.scalar(
        "SELECT id FROM app_user WHERE username = :v OR id::text = :v ORDER BY username = :v DESC LIMIT 1", v=value
    )


def active_user_ids() -> list[int]:
    return [r["id"] for r in db.rows("SELECT id FROM app_user WHERE is_active ORDER BY id")]


def create_user(
    username: str,
    password: str,
    role: str,
    *,
    email: str | None = None,
    timezone: str = "UTC",
    accountcodes: tuple[str, ...] = (),
) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not username or not password:
        raise ValueError(_("username and password are required"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    with db.transaction() as conn:
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM app_user WHERE username = :u)"), {"u": username}).scalar():
            raise ValueError(f"username {username!r} is taken")
        owned = conn.execute(
            text(
                "SELECT c.accountcode, u.username FROM user_accountcode c JOIN app_user u ON u.id = c.user_id "
                "WHERE c.accountcode = ANY(:codes) ORDER BY c.accountcode"
            ),
            {"codes": list(accountcodes)},
        ).all()
        if owned:
            taken = ", ".join(f"{code!r} (owned by {owner!r})" for code, owner in owned)
            raise ValueError(f"accountcode already owned: {taken}")
        user_id = conn.execute(
            text(
                "INSERT INTO app_user (username, email, password_hash, role, timezone) "
                "VALUES (:u, :e, :h, :r, :tz) RETURNING id"
            ),
            {"u": username, "e": email, "h": generate_password_hash(password), "r": role, "tz": timezone},
        ).scalar()
        for code in accountcodes:
            conn.execute(
                text("INSERT INTO user_accountcode (accountcode, user_id) VALUES (:c, :id)"), {"c": code, "id": user_id}
            )
        conn.execute(text("INSERT INTO rollup_timezone (tz) VALUES (:tz) ON CONFLICT DO NOTHING"), {"tz": timezone})
        # CDRs already stored for these accountcodes now belong to this customer, their rollup sums too.
        if accountcodes:
            with conn.connection.cursor() as cur:
                rollups.move_calls(cur, "accountcode = ANY(%(codes)s)", {"codes": list(accountcodes)}, user_id)
    return get_user(user_id)


def set_password(user_id: int, password: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            text("UPDATE app_user SET password_hash = :h WHERE id = :id"),
            {"h": generate_password_hash(password), "id": user_id},
        )


def accountcodes_of(user_id: int) -> list[str]:
    return [
        r["accountcode"]
        for r in db.rows(
            "SELECT accountcode FROM user_accountcode WHERE user_id = :id ORDER BY accountcode", id=user_id
        )
    ]


def ensure_first_admin(username: str, password: str | None) -> str | None:
    """Create the first admin on an empty user table. Returns the generated password, if one was made."""
    with db.transaction() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('dialstat:first-admin'))"))
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM app_user)")).scalar():
            return None
        generated = None
        if not password:
            password = generated = secrets.token_urlsafe(12)
        conn.execute(
            text("INSERT INTO app_user (username, password_hash, role) VALUES (:u, :h, 'admin')"),
            {"u": username, "h": generate_password_hash(password)},
        )
    return generated
