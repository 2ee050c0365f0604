"""Switches as the reports show them: which a scope may see."""

from __future__ import annotations

from data.core import db
from data.core.scope import Scope


@db.reading
def switches_seen_by(scope: Scope, switch_id: int | None = None, limit: int | None = None, offset: int = 0):
    """Switches the scope may see, with their count: all for admins; for a customer, those that carried
    their calls (per the hour rollup)."""
    where = ["TRUE"]
    params: dict = {"limit": limit, "offset": offset}
    if not scope.is_admin:
        where.append("EXISTS (SELECT 1 FROM cdr_rollup_hour r WHERE r.switch_id = s.id AND r.user_id = :uid)")
        params["uid"] = scope.user_id
    if switch_id is not None:
        where.append("s.id = :id")
        params["id"] = switch_id
    condition = " AND ".join(where)
    count = db.scalar(f"SELECT count(*) FROM switch s WHERE {condition}", **params)
    rows = db.rows(
        f"""SELECT s.id, s.name, s.ip, s.timezone, t.name AS source_type FROM switch s
                       LEFT JOIN cdr_source_type t ON t.id = s.source_type WHERE {condition}
                       ORDER BY s.id LIMIT :limit OFFSET :offset""",
        **params,
    )
    return count, rows
