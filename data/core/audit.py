"""The audit log: who changed what, when, with the object before and after.

``record`` is called in the same transaction as the change it describes, so a change is never
stored without its audit row (nor the other way round). Secrets (password hashes, keys, tokens)
are never written: callers pass snapshots without them, and ``_clean`` drops the known names.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from data.core import db

SECRET_KEYS = {"password", "password_hash", "push_key_hash", "token", "token_hash", "key"}


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    return str(value)


def _clean(snapshot: dict | None) -> str | None:
    if snapshot is None:
        return None
    return json.dumps(
        {k: v for k, v in snapshot.items() if k not in SECRET_KEYS}, default=_json_default, sort_keys=True
    )


def _request_context() -> tuple[str | None, str | None]:
    """The request id and client address of the current request, if there is one."""
    try:
        from flask import g, has_request_context, request
    except ImportError:  # pragma: no cover
        return None, None
    if not has_request_context():
        return None, None
    return getattr(g, "request_id", None), request.remote_addr


def actor_of(user) -> tuple[int | None, str]:
    """(id, name) of whoever makes a change: a user, or "system" for shell commands and jobs."""
    if user is None or not getattr(user, "is_authenticated", True):
        return None, "system"
    return getattr(user, "id", None), getattr(user, "username", None) or "system"


def current_actor():
    """The logged-in user of the current request, or None (shell commands, jobs: recorded as "system")."""
    try:
        from flask import has_request_context
        from flask_login import current_user
    except ImportError:  # pragma: no cover
        return None
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user._get_current_object()


_INSERT = """INSERT INTO audit_log (actor_id, actor, action, target_type, target_id, before, after, request_id, ip)
             VALUES (%(actor_id)s, %(actor)s, %(action)s, %(target_type)s, %(target_id)s, CAST(%(before)s AS jsonb),
                     CAST(%(after)s AS jsonb), %(request_id)s, %(ip)s)"""


def _row(actor, action: str, target_type: str, target_id, before: dict | None, after: dict | None) -> dict:
    actor_id, actor_name = actor_of(actor)
    request_id, ip = _request_context()
    return {
        "actor_id": actor_id,
        "actor": actor_name,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "before": _clean(before),
        "after": _clean(after),
        "request_id": request_id,
        "ip": ip,
    }


def record(
    conn, actor, action: str, target_type: str, target_id, before: dict | None = None, after: dict | None = None
) -> None:
    """Add an audit row on ``conn`` (a SQLAlchemy connection in the change's transaction)."""
    conn.exec_driver_sql(_INSERT, _row(actor, action, target_type, target_id, before, after))


def record_on_cursor(
    cursor, actor, action: str, target_type: str, target_id, before: dict | None = None, after: dict | None = None
) -> None:
    """``record`` on a DBAPI (psycopg2) cursor, for changes made through ``db.raw_connection`` (COPY)."""
    cursor.execute(_INSERT, _row(actor, action, target_type, target_id, before, after))


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    """The keys whose values differ between two snapshots."""
    before, after = before or {}, after or {}
    return sorted(
        k
        for k in set(before) | set(after)
        if k not in SECRET_KEYS
        and json.dumps(before.get(k), default=_json_default, sort_keys=True)
        != json.dumps(after.get(k), default=_json_default, sort_keys=True)
    )


def recent(
    limit: int = 200, target_type: str | None = None, actor: str | None = None, target_id: str | None = None
) -> list[dict]:
    """The newest audit rows first, optionally for one kind of object, one object or one actor."""
    return db.rows(
        """SELECT id, at, actor_id, actor, action, target_type, target_id, before, after, request_id, ip
           FROM audit_log
           WHERE (CAST(:target_type AS text) IS NULL OR target_type = :target_type)
             AND (CAST(:target_id AS text) IS NULL OR target_id = :target_id)
             AND (CAST(:actor AS text) IS NULL OR actor = :actor)
           ORDER BY at DESC, id DESC LIMIT :limit""",
        target_type=target_type,
        target_id=target_id,
        actor=actor,
        limit=max(1, min(int(limit), 5000)),
    )


def summary(row: dict) -> str:
    """One line saying what changed, for the audit page."""
    fields = changed_fields(row.get("before"), row.get("after"))
    if row.get("before") is None and row.get("after") is not None:
        return "created"
    if row.get("after") is None and row.get("before") is not None:
        return "deleted"
    return (
        ", ".join(
            f"{f}: {_short((row.get('before') or {}).get(f))} → {_short((row.get('after') or {}).get(f))}"
            for f in fields
        )
        or "no field changed"
    )


def _short(value) -> str:
    text_value = json.dumps(value, default=_json_default, ensure_ascii=False) if not isinstance(value, str) else value
    return text_value if len(text_value) <= 60 else text_value[:57] + "…"
