"""Switches (the telephone systems CDRs come from)."""
from __future__ import annotations

from data import db
from data.scope import Scope


def calls_per_switch(scope: Scope) -> list[dict]:
    """Number of stored calls per switch that the scope may see."""
    condition, params = scope.cdr_filter("c")
    return db.rows(
        f"""SELECT s.id, s.name, s.ip, count(c.id) AS calls
            FROM switch s LEFT JOIN cdr c ON c.switch_id = s.id AND {condition}
            GROUP BY s.id ORDER BY calls DESC, s.name""",
        **params,
    )
