"""Rollups: sums and counts of calls per time bucket and dimensions, kept up to date incrementally.

Three levels, all holding the same measures (sums and counts only; ratios are computed at query
time in ``data.kpis``):

- ``cdr_rollup_minute``: one-minute buckets, kept ``ROLLUP_MINUTE_DAYS`` days (dashboard, alarms);
- ``cdr_rollup_hour``: the hourly level, at 15-minute resolution so that every time zone's hours
  and days (Asia/Kolkata +05:30, Asia/Kathmandu +05:45) have exact boundaries;
  both keyed on bucket, customer, accountcode, switch, country, hangup cause, direction, source type;
- ``cdr_rollup_day``: local days of each time zone in use (``rollup_timezone``), keyed on zone,
  day, customer, switch, country and hangup cause: long ranges read a few rows per day.

The import adds its new calls in the same transaction that stores them (``add_to_rollups``), so a
call shows as soon as it is committed and the cost grows with the new rows only.
``rebuild_rollups`` recomputes any range exactly from ``cdr`` (deletes, re-rating, repair).
An advisory lock keeps the two apart: imports take it shared, a rebuild exclusively.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import text

from data import concurrency, db
from data.settings import load_settings

_LOCK = "hashtext('dialstat:rollups')"


@dataclass(frozen=True)
class RollupTable:
    name: str
    bucket_sql: str  # maps cdr.starting_date to the bucket


MINUTE = RollupTable("cdr_rollup_minute", "date_trunc('minute', c.starting_date)")
HOUR = RollupTable("cdr_rollup_hour", "date_bin('15 minutes', c.starting_date, to_timestamp(0))")
TABLES = (MINUTE, HOUR)  # the two levels with every dimension
DAY = "cdr_rollup_day"

KEY = ("bucket", "user_id", "accountcode", "switch_id", "country_code", "hangup_cause_id", "direction",
       "cdr_source_type")
# Narrow views of the hour level, for the questions reports ask most (a few rows per bucket, where
# the full key holds about one row per call): traffic per accountcode and switch, per country, per cause.
NARROW = {
    "cdr_rollup_hour_traffic": ("bucket", "user_id", "accountcode", "switch_id"),
    "cdr_rollup_hour_country": ("bucket", "user_id", "switch_id", "country_code"),
    "cdr_rollup_hour_cause": ("bucket", "user_id", "switch_id", "hangup_cause_id"),
}
DAY_KEY = ("tz", "day", "user_id", "switch_id", "country_code", "hangup_cause_id")
MEASURES = ("attempts", "answered", "ner_success", "duration_sum", "billsec_sum", "short_calls", "pdd_sum",
            "pdd_count", "buy_cost", "sell_cost")


def _measures_sql() -> str:
    """Each measure from cdr-shaped rows ``c`` joined to ``hangup_cause h``.

    A call is answered when it has an answer time or billed seconds (never from the cause alone).
    NER counts answered calls plus those ended by the user (busy, no answer, rejected): the
    ``hangup_cause.ner_success`` causes.
    """
    answered = "(c.answered_date IS NOT NULL OR c.billsec > 0)"
    return f"""count(*),
               count(*) FILTER (WHERE {answered}),
               count(*) FILTER (WHERE {answered} OR h.ner_success),
               COALESCE(sum(c.duration), 0),
               COALESCE(sum(c.billsec), 0),
               count(*) FILTER (WHERE {answered} AND c.billsec < :short_call_seconds),
               COALESCE(sum(c.progresssec), 0),
               count(c.progresssec),
               COALESCE(sum(c.buy_cost), 0),
               COALESCE(sum(c.sell_cost), 0)"""


def _aggregate_sql(table: RollupTable, rows_sql: str) -> str:
    return f"""
        SELECT {table.bucket_sql} AS bucket,
               COALESCE(c.user_id, 0), COALESCE(c.accountcode, ''), c.switch_id, COALESCE(c.country_code, ''),
               COALESCE(c.hangup_cause_id, 0), c.direction, c.cdr_source_type,
               {_measures_sql()}
        FROM ({rows_sql}) c LEFT JOIN hangup_cause h ON h.code = c.hangup_cause_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"""  # a fixed order: concurrent imports lock keys alike, no deadlock


def _regroup_sql(source: str, key_sql: tuple, where: str = "") -> str:
    """Sum rows of the full hour-level key (``source``) into a coarser key, in key order."""
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    positions = ", ".join(str(i + 1) for i in range(len(key_sql)))
    return f"SELECT {', '.join(key_sql)}, {sums} FROM {source} {where} GROUP BY {positions} ORDER BY {positions}"


def _day_key_sql(bucket: str = "bucket") -> tuple:
    """The daily key from a 15-minute bucket: exact, as a quarter hour lies in one local day of any zone."""
    return ("z.tz", f"({bucket} AT TIME ZONE z.tz)::date", "user_id", "switch_id", "country_code", "hangup_cause_id")


def _upsert_sql(name: str, key: tuple, select_sql: str) -> str:
    updates = ", ".join(f"{m} = r.{m} + excluded.{m}" for m in MEASURES)
    return f"""
        INSERT INTO {name} AS r ({', '.join(key + MEASURES)})
        {select_sql}
        ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"""


def _minute_cutoff_sql() -> str:
    return "now() - make_interval(days => :minute_days)"


def _params() -> dict:
    settings = load_settings()
    return {"short_call_seconds": settings.short_call_seconds, "minute_days": settings.rollup_minute_days}


def _psycopg(sql: str) -> str:
    return sql.replace(":short_call_seconds", "%(short_call_seconds)s").replace(":minute_days", "%(minute_days)s")


def add_to_rollups(cur, rows_sql: str, params: dict | None = None) -> None:
    """Add the calls selected by ``rows_sql`` to every rollup, on the psycopg2 cursor ``cur``.

    ``rows_sql`` is a SELECT returning cdr-shaped columns (at least: starting_date, answered_date,
    accountcode, user_id, switch_id, country_code, hangup_cause_id, direction, cdr_source_type,
    duration, billsec, progresssec, buy_cost, sell_cost) for the rows just inserted into ``cdr``,
    with psycopg2 ``%(name)s`` parameters in ``params``. The new calls are grouped once into the
    hour level's key; every coarser rollup is summed from that.
    """
    values = {**(params or {}), **_params()}
    cur.execute(f"SELECT pg_advisory_xact_lock_shared({_LOCK})")
    cur.execute("DROP TABLE IF EXISTS pg_temp.rollup_batch")
    cur.execute(_psycopg(f"CREATE TEMP TABLE rollup_batch ({', '.join(KEY + MEASURES)}) ON COMMIT DROP AS "
                         f"{_aggregate_sql(HOUR, rows_sql)}"), values)
    cur.execute(_upsert_sql(HOUR.name, KEY, "SELECT * FROM rollup_batch ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"))
    for name, key in NARROW.items():
        cur.execute(_upsert_sql(name, key, _regroup_sql("rollup_batch", key)))
    cur.execute(_upsert_sql(DAY, DAY_KEY, _regroup_sql("rollup_batch CROSS JOIN rollup_timezone z", _day_key_sql())))
    recent = f"SELECT * FROM ({rows_sql}) n WHERE n.starting_date >= {_minute_cutoff_sql()}"
    cur.execute(_psycopg(_upsert_sql(MINUTE.name, KEY, _aggregate_sql(MINUTE, recent))), values)
    cur.execute("DROP TABLE rollup_batch")
    concurrency.mark_changed(cur, rows_sql, values)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _as_day(value: date | datetime, round_up: bool = False) -> date:
    if isinstance(value, datetime):
        return value.date() + timedelta(days=1 if round_up and value.time() != time.min else 0)
    return value


def _rebuild_days(conn, first: datetime, last: datetime, tz: str | None = None) -> int:
    """Recompute the local days touching [first, last) of every zone (or ``tz``) from the hour level."""
    zones = "rollup_timezone" if tz is None else "(SELECT CAST(:tz AS text) AS tz)"
    days = f"""SELECT z.tz, d::date AS day,
                      (d::date::timestamp AT TIME ZONE z.tz) AS day_start,
                      ((d::date + 1)::timestamp AT TIME ZONE z.tz) AS day_end
               FROM {zones} z,
                    generate_series((CAST(:first AS timestamptz) AT TIME ZONE z.tz)::date,
                                    (CAST(:last AS timestamptz) AT TIME ZONE z.tz)::date, interval '1 day') d"""
    params = {"first": first, "last": last, "tz": tz}
    conn.execute(text(f"DELETE FROM {DAY} r USING ({days}) x WHERE r.tz = x.tz AND r.day = x.day"), params)
    source = f"({days}) z JOIN {HOUR.name} r ON r.bucket >= z.day_start AND r.bucket < z.day_end"
    return conn.execute(text(f"INSERT INTO {DAY} ({', '.join(DAY_KEY + MEASURES)}) "
                             + _regroup_sql(source, _day_key_sql("r.bucket"))), params).rowcount


def rebuild_rollups(start: date | datetime, end: date | datetime) -> dict:
    """Recompute every rollup exactly from ``cdr`` for the UTC days covering [start, end)."""
    first, last = _day_start(_as_day(start)), _day_start(_as_day(end, round_up=True))
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
        for name, key in NARROW.items():
            conn.execute(text(f"DELETE FROM {name} WHERE bucket >= :start AND bucket < :end"), params)
            counts[name] = conn.execute(text(f"INSERT INTO {name} ({', '.join(key + MEASURES)}) " + _regroup_sql(
                HOUR.name, key, "WHERE bucket >= :start AND bucket < :end")), params).rowcount
        counts[DAY] = _rebuild_days(conn, first, last)
        conn.execute(text("""INSERT INTO concurrency_change (switch_id, first_minute, last_minute)
                             SELECT id, :start, :end FROM switch"""), params)
    return counts


def refresh_recent_rollups() -> dict:
    """The scheduled refresh: rebuild yesterday and today (UTC), drop expired minute rows, fill new zones."""
    today = datetime.now(timezone.utc).date()
    counts = rebuild_rollups(today - timedelta(days=1), today + timedelta(days=1))
    counts["zones_filled"] = fill_new_timezones()
    return counts


def use_timezone(tz: str) -> None:
    """Keep daily rollups for ``tz`` from now on (a user chose it); ``fill_new_timezones`` backfills it."""
    db.execute("INSERT INTO rollup_timezone (tz, ready) VALUES (:tz, false) ON CONFLICT DO NOTHING", tz=tz)


def fill_new_timezones() -> int:
    """Backfill the daily rollups of zones added since the last run, from the hour level."""
    filled = 0
    for zone in db.rows("SELECT tz FROM rollup_timezone WHERE NOT ready"):
        with db.transaction() as conn:
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))
            span = conn.execute(text(f"SELECT min(bucket), max(bucket) FROM {HOUR.name}")).one()
            if span[0] is not None:
                _rebuild_days(conn, span[0], span[1] + timedelta(minutes=15), zone["tz"])
            conn.execute(text("UPDATE rollup_timezone SET ready = true WHERE tz = :tz"), zone)
        filled += 1
    return filled


def ready_timezones() -> set[str]:
    return {r["tz"] for r in db.rows("SELECT tz FROM rollup_timezone WHERE ready")}
