"""Rollups: sums and counts of calls per time bucket and dimensions, kept up to date incrementally.

Two tables with the same key (bucket, user, accountcode, switch, country, hangup cause, direction,
source type) and the same measures (sums and counts only; ratios are computed at query time in
``data.kpis``):

- ``cdr_rollup_minute``: one-minute buckets, kept ``ROLLUP_MINUTE_DAYS`` days;
- ``cdr_rollup_hour``: the hourly level, at 15-minute resolution so that every time zone's hours and
  days (Asia/Kolkata, Asia/Kathmandu) have exact boundaries.

The import adds its new calls in the same transaction that stores them (``add_to_rollups``), so a
call shows on the dashboard as soon as it is committed and the cost grows with the new rows only.
``rebuild_rollups`` recomputes any range exactly from ``cdr`` (deletes, re-rating, repair).
An advisory lock keeps the two apart: imports take it shared, a rebuild exclusively.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import text

from data import db
from data.settings import load_settings

_LOCK = "hashtext('dialstat:rollups')"


@dataclass(frozen=True)
class RollupTable:
    name: str
    bucket_sql: str  # maps cdr.starting_date to the bucket


MINUTE = RollupTable("cdr_rollup_minute", "date_trunc('minute', c.starting_date)")
HOUR = RollupTable("cdr_rollup_hour", "date_bin('15 minutes', c.starting_date, to_timestamp(0))")
TABLES = (MINUTE, HOUR)

KEY = ("bucket", "user_id", "accountcode", "switch_id", "country_code", "hangup_cause_id", "direction",
       "cdr_source_type")
MEASURES = ("attempts", "answered", "ner_success", "duration_sum", "billsec_sum", "short_calls", "pdd_sum",
            "pdd_count", "buy_cost", "sell_cost")


def _aggregate_sql(table: RollupTable, rows_sql: str) -> str:
    """Group cdr-shaped rows into the table's key, measures computed from each call.

    A call is answered when it has an answer time or billed seconds (never from the cause alone).
    NER counts answered calls plus those ended by the user (busy, no answer, rejected): the
    ``hangup_cause.ner_success`` causes.
    """
    answered = "(c.answered_date IS NOT NULL OR c.billsec > 0)"
    return f"""
        SELECT {table.bucket_sql} AS bucket,
               COALESCE(c.user_id, 0), COALESCE(c.accountcode, ''), c.switch_id, COALESCE(c.country_code, ''),
               COALESCE(c.hangup_cause_id, 0), c.direction, c.cdr_source_type,
               count(*),
               count(*) FILTER (WHERE {answered}),
               count(*) FILTER (WHERE {answered} OR h.ner_success),
               COALESCE(sum(c.duration), 0),
               COALESCE(sum(c.billsec), 0),
               count(*) FILTER (WHERE {answered} AND c.billsec < :short_call_seconds),
               COALESCE(sum(c.progresssec) FILTER (WHERE c.progresssec IS NOT NULL), 0),
               count(c.progresssec),
               COALESCE(sum(c.buy_cost), 0),
               COALESCE(sum(c.sell_cost), 0)
        FROM ({rows_sql}) c LEFT JOIN hangup_cause h ON h.code = c.hangup_cause_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"""  # a fixed order: concurrent imports lock keys alike, no deadlock


def _upsert_sql(table: RollupTable, rows_sql: str) -> str:
    updates = ", ".join(f"{m} = r.{m} + excluded.{m}" for m in MEASURES)
    return f"""
        INSERT INTO {table.name} AS r ({', '.join(KEY + MEASURES)})
        {_aggregate_sql(table, rows_sql)}
        ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"""


def _minute_cutoff_sql() -> str:
    return "now() - make_interval(days => :minute_days)"


def _params() -> dict:
    settings = load_settings()
    return {"short_call_seconds": settings.short_call_seconds, "minute_days": settings.rollup_minute_days}


def add_to_rollups(cur, rows_sql: str, params: dict | None = None) -> None:
    """Add the calls selected by ``rows_sql`` to every rollup, on the psycopg2 cursor ``cur``.

    ``rows_sql`` is a SELECT returning cdr-shaped columns (at least: starting_date, answered_date,
    accountcode, user_id, switch_id, country_code, hangup_cause_id, direction, cdr_source_type,
    duration, billsec, progresssec, buy_cost, sell_cost) for the rows just inserted into ``cdr``,
    with psycopg2 ``%(name)s`` parameters in ``params``.
    """
    values = {**(params or {}), **_params()}
    cur.execute(f"SELECT pg_advisory_xact_lock_shared({_LOCK})")
    cur.execute(_upsert_sql(HOUR, rows_sql).replace(":short_call_seconds", "%(short_call_seconds)s"), values)
    recent = f"SELECT * FROM ({rows_sql}) n WHERE n.starting_date >= now() - make_interval(days => %(minute_days)s)"
    cur.execute(_upsert_sql(MINUTE, recent).replace(":short_call_seconds", "%(short_call_seconds)s"), values)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def rebuild_rollups(start: date | datetime, end: date | datetime) -> dict:
    """Recompute both rollups exactly from ``cdr`` for the UTC days covering [start, end)."""
    first = _day_start(start if isinstance(start, date) and not isinstance(start, datetime) else start.date())
    last_day = end if isinstance(end, date) and not isinstance(end, datetime) else end.date()
    if isinstance(end, datetime) and end.time() != time.min:
        last_day += timedelta(days=1)
    last = _day_start(last_day)
    params = {**_params(), "start": first, "end": last}
    counts = {}
    with db.transaction() as conn:
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))
        for table in TABLES:
            lower = f"GREATEST(:start, {_minute_cutoff_sql()})" if table is MINUTE else ":start"
            conn.execute(text(f"DELETE FROM {table.name} WHERE bucket >= :start AND bucket < :end"), params)
            rows_sql = f"SELECT * FROM cdr WHERE starting_date >= {lower} AND starting_date < :end"
            result = conn.execute(text(f"INSERT INTO {table.name} ({', '.join(KEY + MEASURES)}) "
                                       f"{_aggregate_sql(table, rows_sql)}"), params)
            counts[table.name] = result.rowcount
        conn.execute(text(f"DELETE FROM {MINUTE.name} WHERE bucket < {_minute_cutoff_sql()}"), params)
    return counts


def refresh_recent_rollups() -> dict:
    """The scheduled refresh: rebuild yesterday and today (UTC) and drop expired minute rows."""
    today = datetime.now(timezone.utc).date()
    return rebuild_rollups(today - timedelta(days=1), today + timedelta(days=1))
