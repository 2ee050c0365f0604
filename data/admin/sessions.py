"""Server-side login sessions: one row per login, ended by logout, a new password, an admin or idleness.

The session cookie (signed, but readable) carries only a random token; the row is found by its sha256.
A session is accepted while its row exists, its user is active, it was seen within
``SESSION_IDLE_MINUTES`` and began within ``SESSION_MAX_HOURS``. ``last_seen_at`` is written at most
once a minute per session (``SEEN_EVERY_SECONDS``), so most requests read one row and write nothing.
Ending a session deletes its row: a copy of the cookie is worth nothing afterwards. A new password or a
deactivated account deletes every row of the user (a trigger, whatever changed it: the user_session
migration).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import text

from data.admin import users
from data.core import audit, db
from data.core.settings import load_settings

SEEN_EVERY_SECONDS = 60
MAX_USER_AGENT = 300


@dataclass(frozen=True)
class Found:
    """A live session and its user, as the user loader needs them."""

    session_id: int
    user: users.User
    seen_long_ago: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user_id: int, address: str | None, user_agent: str | None) -> str:
    """Open a session for ``user_id``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO user_session (token_hash, user_id, address, user_agent) VALUES (:h, :u, :a, :ua)",
        h=_hash(token),
        u=user_id,
        a=(address or "")[:64] or None,
        ua=(user_agent or "")[:MAX_USER_AGENT] or None,
    )
    return token


def find(token: str | None) -> Found | None:
    """The live session of ``token`` with its active user, else None (expired ones are deleted)."""
    if not token or len(token) > 100:
        return None
    ops = load_settings().ops
    found = db.rows(
        """SELECT s.id AS session_id, u.id, u.username, u.email, u.role, u.timezone, u.is_active AS active, u.language,
                  s.last_seen_at < now() - make_interval(secs => :every) AS seen_long_ago,
                  s.last_seen_at < now() - make_interval(mins => :idle)
                      OR s.created_at < now() - make_interval(hours => :max_hours) AS expired
           FROM user_session s JOIN app_user u ON u.id = s.user_id
           WHERE s.token_hash = :h""",
        h=_hash(token),
        every=SEEN_EVERY_SECONDS,
        idle=ops.session_idle_minutes,
        max_hours=ops.session_max_hours,
    )
    if not found:
        return None
    row = found[0]
    if row.pop("expired"):
        db.execute("DELETE FROM user_session WHERE id = :id", id=row["session_id"])
        return None
    if not row["active"]:
        return None
    session_id, seen_long_ago = row.pop("session_id"), row.pop("seen_long_ago")
    return Found(session_id, users.User(**row), seen_long_ago)


def touch(session_id: int) -> None:
    """Record that the session was used now (callers do it at most once a minute)."""
    db.execute("UPDATE user_session SET last_seen_at = now() WHERE id = :id", id=session_id)


def end(token: str | None) -> None:
    """End the session of ``token`` (logout)."""
    if token:
        db.execute("DELETE FROM user_session WHERE token_hash = :h", h=_hash(token))


def end_one(actor, session_id: int) -> bool:
    """End one of ``actor``'s own sessions (the profile page); False when it is not theirs or gone."""
    with db.transaction() as conn:
        ended = conn.execute(
            text("DELETE FROM user_session WHERE id = :id AND user_id = :u"), {"id": session_id, "u": actor.id}
        ).rowcount
        if ended:
            audit.record(conn, actor, "end-session", "user", actor.id, None, {"session_id": session_id})
    return ended > 0


def end_all(actor, user_id: int, keep_token: str | None = None) -> int:
    """End every session of ``user_id`` (an admin's "end sessions"), except ``keep_token``'s; returns how many."""
    with db.transaction() as conn:
        ended = conn.execute(
            text("DELETE FROM user_session WHERE user_id = :u AND token_hash <> :keep"),
            {"u": user_id, "keep": _hash(keep_token) if keep_token else ""},
        ).rowcount
        audit.record(conn, actor, "end-sessions", "user", user_id, None, {"sessions": ended})
    return ended


def sessions_of(user_id: int) -> list[dict]:
    """A user's live sessions, most recently seen first (never the tokens)."""
    ops = load_settings().ops
    return db.rows(
        """SELECT id, created_at, last_seen_at, address, user_agent FROM user_session
           WHERE user_id = :u AND last_seen_at >= now() - make_interval(mins => :idle)
             AND created_at >= now() - make_interval(hours => :max_hours)
           ORDER BY last_seen_at DESC, id DESC""",
        u=user_id,
        idle=ops.session_idle_minutes,
        max_hours=ops.session_max_hours,
    )


def session_id_of(token: str | None) -> int | None:
    return db.scalar("SELECT id FROM user_session WHERE token_hash = :h", h=_hash(token)) if token else None


def purge_expired() -> int:
    """Delete sessions past their idle or total lifetime (housekeeping)."""
    ops = load_settings().ops
    return db.execute(
        """DELETE FROM user_session WHERE last_seen_at < now() - make_interval(mins => :idle)
                                          OR created_at < now() - make_interval(hours => :max_hours)""",
        idle=ops.session_idle_minutes,
        max_hours=ops.session_max_hours,
    )
