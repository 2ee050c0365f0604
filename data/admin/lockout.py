"""Lockout after repeated failed logins, shared by every worker and host through the database.

Failures are counted per username as typed, whether the account exists or not, so that a lockout
says nothing about which accounts exist. After ``LOCKOUT_FAILURES`` failures in a row the name is
locked for ``LOCKOUT_MINUTES``: even the right password is refused until then. A successful login
(or a password reset, or an admin) clears the count. Per-address rate limiting of the login form is
Flask-Limiter's job (``routes.auth``).
"""

from __future__ import annotations

from data.core import db
from data.core.settings import load_settings

MAX_NAME = 150


def _key(username: str) -> str:
    return (username or "").strip()[:MAX_NAME]


def is_locked(username: str) -> bool:
    return bool(db.scalar("SELECT locked_until > now() FROM login_failure WHERE username = :u", u=_key(username)))


def record_failure(username: str) -> bool:
    """Count a failed login; returns True when the name is now locked."""
    ops = load_settings().ops
    if ops.lockout_failures <= 0 or not _key(username):
        return False
    with db.transaction() as conn:
        locked = conn.exec_driver_sql(
            """INSERT INTO login_failure AS f (username, failures, last_failure_at) VALUES (%(u)s, 1, now())
               ON CONFLICT (username) DO UPDATE SET
                   failures = CASE WHEN f.locked_until IS NOT NULL AND f.locked_until <= now() THEN 1
                                   ELSE f.failures + 1 END,
                   locked_until = CASE WHEN f.locked_until IS NOT NULL AND f.locked_until <= now() THEN NULL
                                       ELSE f.locked_until END,
                   last_failure_at = now()
               RETURNING failures""",
            {"u": _key(username)},
        ).scalar()
        if locked >= ops.lockout_failures:
            conn.exec_driver_sql(
                "UPDATE login_failure SET locked_until = now() + make_interval(mins => %(m)s) "
                "WHERE username = %(u)s AND (locked_until IS NULL OR locked_until <= now())",
                {"u": _key(username), "m": ops.lockout_minutes},
            )
            return True
    return False


def clear(username: str) -> None:
    db.execute("DELETE FROM login_failure WHERE username = :u", u=_key(username))


def locked_names() -> list[dict]:
    return db.rows(
        "SELECT username, failures, last_failure_at, locked_until FROM login_failure "
        "WHERE locked_until > now() ORDER BY locked_until DESC"
    )
