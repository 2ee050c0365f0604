"""Forgotten passwords: a single-use link that expires, sent by e-mail.

``request_reset`` takes a username or an e-mail address and, when it names one active account with
an e-mail address, stores the sha256 of a random token (the token itself is only in the mail) and
queues the mail. It returns nothing the caller could show: the page says the same whatever happened,
so it reveals nothing about which accounts exist.

``reset_password`` accepts a token once, before it expires (``PASSWORD_RESET_MINUTES``): it sets
the password, marks the token used, cancels every other pending token of the user and clears the
login lockout, in one transaction (``SELECT ... FOR UPDATE``: two tabs cannot both use it).
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from sqlalchemy import text
from werkzeug.security import generate_password_hash

from data.admin import lockout
from data.admin.accounts import check_password
from data.core import audit, db
from data.core.settings import load_settings

log = logging.getLogger("dialstat")
MAX_PENDING_PER_HOUR = 3  # mails per account and hour, whatever the requests


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _find_account(identifier: str) -> dict | None:
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 254:
        return None
    found = db.rows(
        """SELECT id, username, email FROM app_user
           WHERE is_active AND email IS NOT NULL AND email <> '' AND (username = :v OR lower(email) = lower(:v))
           ORDER BY (username = :v) DESC, id""",
        v=identifier,
    )
    if len(found) != 1 and not (found and found[0]["username"] == identifier):
        return None  # unknown, or an address shared by several accounts: nothing to say which
    return found[0]


def request_reset(identifier: str, base_url: str) -> None:
    """Mail a reset link to the account named by ``identifier`` (username or e-mail), if there is one."""
    account = _find_account(identifier)
    if account is None:
        log.info("password reset asked for an unknown or mail-less account")
        return
    minutes = load_settings().ops.password_reset_minutes
    token = secrets.token_urlsafe(32)
    with db.transaction() as conn:
        recent = conn.execute(
            text("SELECT count(*) FROM password_reset WHERE user_id = :id AND created_at > now() - interval '1 hour'"),
            {"id": account["id"]},
        ).scalar()
        if recent >= MAX_PENDING_PER_HOUR:
            log.warning("password reset for user %s: %s links in the last hour, no more", account["id"], recent)
            return
        conn.execute(
            text(
                "INSERT INTO password_reset (token_hash, user_id, expires_at) "
                "VALUES (:h, :id, now() + make_interval(mins => :m))"
            ),
            {"h": _hash(token), "id": account["id"], "m": minutes},
        )
        audit.record(conn, None, "request-password-reset", "user", account["id"], None, {"expires_in_minutes": minutes})
    link = f"{base_url.rstrip('/')}/password-reset/{token}"
    body = (
        f"Hello {account['username']},\n\n"
        f"Someone (probably you) asked to reset the password of your Dialstat account {account['username']!r}.\n"
        f"Open this link within {minutes} minutes to choose a new password (it works once):\n\n{link}\n\n"
        "If you did not ask for this, ignore this e-mail: your password stays as it is.\n"
    )
    from data.core.mailer import queue_mail

    queue_mail([account["email"]], "Reset your password", body, dedup_key=f"password-reset:{_hash(token)[:32]}")


def check_token(token: str) -> int | None:
    """The user id of a valid (unused, unexpired) token, else None."""
    if not token or len(token) > 200:
        return None
    return db.scalar(
        """SELECT r.user_id FROM password_reset r JOIN app_user u ON u.id = r.user_id
                        WHERE r.token_hash = :h AND r.used_at IS NULL AND r.expires_at > now() AND u.is_active""",
        h=_hash(token),
    )


def reset_password(token: str, new_password: str) -> bool:
    """Set the password with a valid token (used up); False when the token is not (or no longer) valid.

    Raises ValueError when the password does not follow the rules (the token stays valid).
    """
    check_password(new_password)
    if not token or len(token) > 200:
        return False
    with db.transaction() as conn:
        row = (
            conn.execute(
                text("""SELECT r.user_id, u.username FROM password_reset r
                                   JOIN app_user u ON u.id = r.user_id
                                   WHERE r.token_hash = :h AND r.used_at IS NULL AND r.expires_at > now()
                                     AND u.is_active FOR UPDATE OF r"""),
                {"h": _hash(token)},
            )
            .mappings()
            .first()
        )
        if row is None:
            return False
        conn.execute(text("UPDATE password_reset SET used_at = now() WHERE token_hash = :h"), {"h": _hash(token)})
        conn.execute(
            text("UPDATE password_reset SET used_at = now() WHERE user_id = :id AND used_at IS NULL"),
            {"id": row["user_id"]},
        )
        conn.execute(
            text("UPDATE app_user SET password_hash = :p, password_changed_at = now() WHERE id = :id"),
            {"p": generate_password_hash(new_password), "id": row["user_id"]},
        )
        audit.record(conn, None, "reset-password", "user", row["user_id"], None, {"password_changed": True})
    lockout.clear(row["username"])
    return True


def purge_expired(days: int = 7) -> int:
    return db.execute("DELETE FROM password_reset WHERE expires_at < now() - make_interval(days => :d)", d=days)
