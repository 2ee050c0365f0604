"""Saved CDR searches: per user, a name and the search's query string (filters and columns, as in the URL).

Saving a name the user already has replaces that search. Opening one is going to ``/cdrs`` with its query
string: the search page reads every filter from there, with the opener's own scope (a saved search never
widens what anyone sees).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import text as sql_text

from data.core import db
from data.core.i18n import gettext as _

MAX_NAME = 80
MAX_QUERY = 8000
MAX_PER_USER = 200


class SavedSearchError(ValueError):
    """A search that cannot be saved; the message is for the user."""


def clean_query(query: str | None) -> str:
    """The query string without its ``?``, re-encoded (nothing but key=value pairs)."""
    pairs = parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
    return urlencode(pairs)


def list_saved(user_id: int) -> list[dict]:
    return db.rows(
        "SELECT id, name, query, updated_at FROM saved_search WHERE user_id = :uid ORDER BY lower(name), id",
        uid=user_id,
    )


def save_search(user_id: int, name: str | None, query: str | None) -> dict:
    """Save (or replace, by name) the user's search; returns the row."""
    name = " ".join((name or "").split())
    if not name:
        raise SavedSearchError(_("Give the search a name."))
    if len(name) > MAX_NAME:
        raise SavedSearchError(_("A name has at most %(most)s characters.", most=MAX_NAME))
    text = clean_query(query)
    if len(text) > MAX_QUERY:
        raise SavedSearchError(_("This search is too long to save."))
    full = db.scalar(
        """SELECT count(*) >= :most AND NOT bool_or(name = :name) FROM saved_search WHERE user_id = :uid""",
        uid=user_id,
        name=name,
        most=MAX_PER_USER,
    )
    if full:
        raise SavedSearchError(_("At most %(most)s saved searches: delete one first.", most=MAX_PER_USER))
    with db.transaction() as conn:
        row = conn.execute(
            sql_text(
                """INSERT INTO saved_search (user_id, name, query) VALUES (:uid, :name, :query)
                   ON CONFLICT (user_id, name) DO UPDATE SET query = EXCLUDED.query, updated_at = now()
                   RETURNING id, name, query, updated_at"""
            ),
            {"uid": user_id, "name": name, "query": text},
        ).one()
    return dict(row._mapping)


def get_saved(user_id: int, saved_id) -> dict | None:
    """One of the user's own saved searches (None for anyone else's, or an id that is not a number)."""
    try:
        saved_id = int(saved_id)
    except (TypeError, ValueError):
        return None
    found = db.rows(
        "SELECT id, name, query FROM saved_search WHERE id = :id AND user_id = :uid", id=saved_id, uid=user_id
    )
    return found[0] if found else None


def delete_saved(user_id: int, saved_id) -> bool:
    """Delete one of the user's own saved searches (False for anyone else's, or an id that is not a number)."""
    found = get_saved(user_id, saved_id)
    return found is not None and (
        db.execute("DELETE FROM saved_search WHERE id = :id AND user_id = :uid", id=found["id"], uid=user_id) > 0
    )
