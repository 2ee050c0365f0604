"""Concurrent calls: the peak number of simultaneous calls per minute and switch.

Peaks are not sums, so no rollup can add them up. Imports mark the time span their calls cover
(``mark_changed``); the ``concurrent-calls`` job recomputes the peaks of those minutes from ``cdr``
into ``concurrent_calls_minute`` — per switch for everyone (user 0) and per customer — within a
minute of the import. Reports read that table; a filter it cannot answer (accountcodes) is computed
live from ``cdr`` with the same SQL.

A call occupies [start, start + duration). At equal instants ends are counted before starts, so a
call that ends exactly when another begins does not overlap it. The peak of a minute is the highest
level reached in it, including the level carried in from the minute before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from data.core import db
from data.core.report_filter import ReportFilter, report_where
from data.core.scope import Scope

MAX_CALL_SECONDS = 4 * 3600  # calls that started this long before a range are not looked for


def _peaks_sql(where: str, columns: tuple[str, ...]) -> str:
    """Peaks per minute in [:start, :end) of the calls ``c`` matching ``where``, per ``columns`` of cdr."""
    group = ", ".join(columns)
    return f"""
        WITH calls AS (
            SELECT {", ".join("c." + col for col in columns)},
                   c.starting_date AS s, c.starting_date + make_interval(secs => c.duration) AS e
            FROM cdr c
            WHERE {where} AND c.duration > 0
              AND c.starting_date >= CAST(:start AS timestamptz) - make_interval(secs => {MAX_CALL_SECONDS})
              AND c.starting_date < :end
              AND c.starting_date + make_interval(secs => c.duration) > :start),
        events AS (
            SELECT {group}, s AS t, 1 AS delta FROM calls
            UNION ALL SELECT {group}, e, -1 FROM calls),
        levels AS (  -- simultaneous events of a kind share one level (the frame includes peers): deterministic
            SELECT {group}, t, delta,
                   sum(delta) OVER (PARTITION BY {group} ORDER BY t, delta) AS level
            FROM events),
        per_minute AS (  -- highest level reached by an event inside each minute, and the level at its end
            SELECT {group}, date_trunc('minute', t) AS minute, max(level) AS peak, min(t) AS first_t,
                   (array_agg(level ORDER BY t DESC, delta DESC))[1] AS closing
            FROM levels GROUP BY {group}, date_trunc('minute', t)),
        carried AS (  -- minutes with events, plus the level carried into each from the previous one
            SELECT {group}, minute, peak, first_t,
                   COALESCE(lag(closing) OVER (PARTITION BY {group} ORDER BY minute), 0) AS opening,
                   lead(minute) OVER (PARTITION BY {group} ORDER BY minute) AS next_minute, closing
            FROM per_minute)
        SELECT * FROM (
            -- a call ending exactly at the minute's start is not in it: then the events say it all
            SELECT {group}, minute, GREATEST(peak, CASE WHEN first_t = minute THEN 0 ELSE opening END) AS peak
            FROM carried
            UNION ALL  -- quiet minutes keep the level of the last event before them
            SELECT {group}, g, closing FROM carried,
                   generate_series(minute + interval '1 minute',
                                   COALESCE(next_minute, CAST(:end AS timestamptz)) - interval '1 minute',
                                   interval '1 minute') AS g
            WHERE closing > 0
        ) m
        WHERE m.minute >= date_trunc('minute', CAST(:start AS timestamptz)) AND m.minute < :end"""


def live_peaks(scope: Scope, start: datetime, end: datetime, switch_ids=(), user_ids=(), accountcodes=()) -> list[dict]:
    """Peaks computed now from ``cdr`` (any filter)."""
    chosen = ReportFilter(start, end, tuple(switch_ids), tuple(user_ids), tuple(accountcodes))
    condition, params = report_where(scope, chosen, alias="c", time_column=None)  # the peaks SQL takes the range
    return db.rows(
        f"""SELECT p.minute AT TIME ZONE :tz AS minute, s.name AS switch, p.peak
            FROM ({_peaks_sql(condition, ("switch_id",))}) p JOIN switch s ON s.id = p.switch_id
            ORDER BY 1, 2""",
        **params,
    )


def stored_peaks(scope: Scope, start: datetime, end: datetime, switch_ids=(), user_ids=()) -> list[dict]:
    """Peaks from ``concurrent_calls_minute``: everyone's (admins) or one customer's."""
    user = scope.user_id if scope.user_id is not None else (user_ids[0] if len(user_ids) == 1 else 0)
    if scope.user_id is None and len(user_ids) > 1:
        raise ValueError("stored peaks are for everyone or one customer")
    return db.rows(
        f"""SELECT p.minute AT TIME ZONE :tz AS minute, s.name AS switch, p.peak
            FROM concurrent_calls_minute p JOIN switch s ON s.id = p.switch_id
            WHERE p.user_id = :user AND p.minute >= date_trunc('minute', CAST(:start AS timestamptz))
              AND p.minute < :end AND p.peak > 0 {"AND p.switch_id = ANY(:switch_ids)" if switch_ids else ""}
            ORDER BY 1, 2""",
        user=user,
        start=start,
        end=end,
        tz=scope.timezone,
        switch_ids=list(switch_ids),
    )


def mark_changed(cur, rows_sql: str, params: dict | None = None) -> None:
    """Record the minutes the new calls cover (psycopg2 cursor, inside the import's transaction)."""
    cur.execute(
        f"""INSERT INTO concurrency_change (switch_id, first_minute, last_minute)
            SELECT n.switch_id, date_trunc('minute', min(n.starting_date)),
                   date_trunc('minute', max(n.starting_date + make_interval(secs => n.duration)))
            FROM ({rows_sql}) n WHERE n.duration > 0 GROUP BY n.switch_id""",
        params or {},
    )


def refresh_concurrency() -> dict:
    """Recompute the peaks of every minute marked changed since the last run."""
    minutes = 0
    with db.transaction() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('dialstat:concurrency'))"))
        spans = (
            conn.execute(
                text(
                    """WITH taken AS (DELETE FROM concurrency_change RETURNING switch_id, first_minute, last_minute)
               SELECT switch_id, min(first_minute) AS first, max(last_minute) + interval '1 minute' AS last
               FROM taken GROUP BY switch_id"""
                )
            )
            .mappings()
            .all()
        )
        for span in spans:
            params = {"start": span["first"], "end": span["last"], "switch": span["switch_id"]}
            conn.execute(
                text("""DELETE FROM concurrent_calls_minute WHERE switch_id = :switch
                                 AND minute >= :start AND minute < :end"""),
                params,
            )
            where = "c.switch_id = :switch"
            conn.execute(
                text(f"""
                INSERT INTO concurrent_calls_minute (minute, switch_id, user_id, peak)
                SELECT minute, switch_id, 0, peak FROM ({_peaks_sql(where, ("switch_id",))}) p WHERE peak > 0
                UNION ALL
                SELECT minute, switch_id, user_id, peak
                FROM ({_peaks_sql(where + " AND c.user_id IS NOT NULL", ("switch_id", "user_id"))}) p
                WHERE peak > 0"""),
                params,
            )
            minutes += int((span["last"] - span["first"]).total_seconds() // 60)
    return {"switches": len(spans), "minutes": minutes}
