"""Housekeeping: database size and CDR counts per day, kept for the diagnostic page."""

from __future__ import annotations

from data.core import db


def take_db_snapshot() -> dict:
    """Record the database size and the calls per day (UTC) of the last 31 days."""
    with db.transaction() as conn:
        row = (
            conn.exec_driver_sql(
                """INSERT INTO db_snapshot (taken_at, database_bytes, cdr_rows, cdr_per_day)
               SELECT clock_timestamp(), pg_database_size(current_database()),
                      (SELECT count(*) FROM cdr),
                      COALESCE((SELECT jsonb_object_agg(day, calls) FROM (
                          SELECT to_char(starting_date AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS calls
                          FROM cdr WHERE starting_date >= now() - interval '31 days' GROUP BY 1) d), '{}'::jsonb)
               RETURNING database_bytes, cdr_rows"""
            )
            .mappings()
            .one()
        )
    return dict(row)


def latest_snapshot() -> dict | None:
    found = db.rows("SELECT * FROM db_snapshot ORDER BY taken_at DESC LIMIT 1")
    return found[0] if found else None
