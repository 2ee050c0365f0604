"""API tokens: long random secrets for machine clients (JSON-RPC now, the REST API later).

A token is shown once, when it is created; only its sha256 is stored, so a database leak does not leak
usable tokens. A token acts as its user: it works while the token is not revoked and the user is active,
with the user's role. ``Authorization: Bearer <token>`` carries it (see ``bearer_token``).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import text

from data.admin import users
from data.core import audit, db

TOKEN_PREFIX = "dst_"  # makes a leaked token easy to recognise (secret scanners, logs)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(user_id: int, name: str = "") -> str:
    """Create a token for ``user_id`` and return it in clear: the only time it can be seen."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO api_token (user_id, token_hash, name) VALUES (:u, :h, :n)",
        u=user_id,
        h=hash_token(plaintext),
        n=name,
    )
    return plaintext


def user_for_token(plaintext: str | None) -> users.User | None:
    """The active user an active token belongs to (and its use recorded), else None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    with db.transaction() as conn:
        user_id = conn.execute(
            text(
                """UPDATE api_token t SET last_used_at = now()
               FROM app_user u
               WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.id = t.user_id AND u.is_active
               RETURNING t.user_id"""
            ),
            {"h": hash_token(plaintext)},
        ).scalar()
    return users.get_user(user_id) if user_id is not None else None


def revoke_token(token_id: int) -> bool:
    """Revoke a token; False when there is no such active token."""
    return db.execute("UPDATE api_token SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL", id=token_id) > 0


def create_own_token(user, name: str) -> str:
    """A user makes a token for themselves (profile page): created and audited."""
    token = create_token(user.id, name)
    with db.transaction() as conn:
        audit.record(conn, user, "create-api-token", "user", user.id, None, {"name": name})
    return token


def revoke_own_token(user, token_id: int) -> bool:
    """A user revokes one of their own tokens (profile page): revoked and audited; False if not theirs."""
    if token_id not in {t["id"] for t in tokens_of(user.id)}:
        return False
    revoke_token(token_id)
    with db.transaction() as conn:
        audit.record(conn, user, "revoke-api-token", "user", user.id, None, {"token_id": token_id})
    return True


def tokens_of(user_id: int) -> list[dict]:
    """A user's tokens (never the secrets), newest first."""
    return db.rows(
        """SELECT id, name, created_at, last_used_at, revoked_at FROM api_token
                      WHERE user_id = :u ORDER BY created_at DESC, id DESC""",
        u=user_id,
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
