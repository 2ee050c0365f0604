"""The data version: a counter the import advances after each batch that stored calls is committed.

A page that shows calls keeps the version it drew and asks ``data_version()`` (one sequence read, no lock)
every few seconds; it redraws only when the version moved. Advanced after the commit, never inside the
transaction: a reader that sees the new version also sees the new calls.
"""

from __future__ import annotations

from data.core import db


def data_version() -> int:
    return int(db.scalar("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM cdr_data_version") or 0)


def advance_data_version(conn) -> None:
    """After a commit that stored calls (``conn`` is a psycopg2 connection; the sequence is not transactional)."""
    with conn.cursor() as cur:
        cur.execute("SELECT nextval('cdr_data_version')")
    conn.commit()
