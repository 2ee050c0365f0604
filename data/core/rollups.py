"""Rollups: sums and counts of calls per time bucket and dimensions, kept up to date incrementally.

All levels hold the same measures (sums and counts only; ratios are computed at query time in
``data.core.kpis``):

- ``cdr_rollup_minute``: one-minute buckets, kept ``ROLLUP_MINUTE_DAYS`` days (dashboard, alarms);
- ``cdr_rollup_hour``: the hourly level, at 15-minute resolution so that every time zone's hours
  and days (Asia/Kolkata +05:30, Asia/Kathmandu +05:45) have exact boundaries;
  both keyed on bucket, customer, switch, country, hangup cause, direction and source type;
- ``cdr_rollup_minute_account`` and ``cdr_rollup_hour_traffic``: the same two resolutions per
  customer, accountcode and switch (accountcode alarms, threat detectors, accountcode filters);
- ``cdr_rollup_hour_country`` and ``cdr_rollup_hour_cause``: narrow sums of the hour level;
- ``cdr_rollup_day``: local days of each time zone in use (``rollup_timezone``), keyed on zone,
  day, customer, switch, country and hangup cause: long ranges read a few rows per day.

The import adds its new calls in the same transaction that stores them (``add_to_rollups``), so a
call shows as soon as it is committed and the cost grows with the new rows only.
``rebuild_rollups`` recomputes any range exactly from ``cdr`` (deletes, re-rating, repair).
An advisory lock keeps writers apart: one import, re-assignment or rebuild at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import text

from data.core import concurrency, db
from data.core.settings import load_settings

_LOCK = "hashtext('dialstat:rollups')"

_MINUTE_BUCKET = "date_trunc('minute', c.starting_date)"
_QUARTER_BUCKET = "date_bin('15 minutes', c.starting_date, to_timestamp(0))"
KEY = ("bucket", "user_id", "switch_id", "country_code", "hangup_cause_id", "direction", "cdr_source_type")
ACCOUNT_KEY = ("bucket", "user_id", "accountcode", "switch_id")
MEASURES = (
    "attempts",
    "answered",
    "ner_success",
    "duration_sum",
    "billsec_sum",
    "short_calls",
    "pdd_sum",
    "pdd_count",
    "buy_cost",
    "sell_cost",
)


@dataclass(frozen=True)
class RollupTable:
    """A rollup summed straight from calls: its key and how a call's start maps to its bucket."""

    name: str
    key: tuple
    bucket_sql: str
    minute_level: bool  # kept ROLLUP_MINUTE_DAYS days only


MINUTE = RollupTable("cdr_rollup_minute", KEY, _MINUTE_BUCKET, True)
HOUR = RollupTable("cdr_rollup_hour", KEY, _QUARTER_BUCKET, False)
MINUTE_ACCOUNT = RollupTable("cdr_rollup_minute_account", ACCOUNT_KEY, _MINUTE_BUCKET, True)
HOUR_ACCOUNT = RollupTable("cdr_rollup_hour_traffic", ACCOUNT_KEY, _QUARTER_BUCKET, False)
TABLES = (HOUR, HOUR_ACCOUNT, MINUTE, MINUTE_ACCOUNT)  # the levels a rebuild sums from calls
DAY = "cdr_rollup_day"

# The 15-minute tables reports choose from (``data.reports.traffic._source``), by key. Traffic per accountcode
# is summed from calls; the country and cause views are sums of the hour level's rows.
NARROW = {
    HOUR_ACCOUNT.name: ACCOUNT_KEY,
    "cdr_rollup_hour_country": ("bucket", "user_id", "switch_id", "country_code"),
    "cdr_rollup_hour_cause": ("bucket", "user_id", "switch_id", "hangup_cause_id"),
}
FROM_HOUR = {name: key for name, key in NARROW.items() if name != HOUR_ACCOUNT.name}
DAY_KEY = ("tz", "day", "user_id", "switch_id", "country_code", "hangup_cause_id")
KEYS = {**{t.name: t.key for t in TABLES}, **NARROW, DAY: DAY_KEY}  # every rollup table and its key

# A call's value for each key column; missing values are keyed as 0 or ''.
_KEY_SQL = {
    "user_id": "COALESCE(c.user_id, 0)",
    "accountcode": "COALESCE(c.accountcode, '')",
    "switch_id": "c.switch_id",
    "country_code": "COALESCE(c.country_code, '')",
    "hangup_cause_id": "COALESCE(c.hangup_cause_id, 0)",
    "direction": "c.direction",
    "cdr_source_type": "c.cdr_source_type",
}


def _call_measures() -> dict[str, str]:
    """Each measure of one call (a row ``c`` of cdr): the rollups hold their sums.

    A call is answered when it has an answer time or billed seconds (never from the cause alone).
    NER counts answered calls plus those ended by the user (busy, no answer, rejected): the
    ``hangup_cause.ner_success`` causes, passed as ``:ner_causes`` (cheaper than a join per call).
    """
    answered = "(c.answered_date IS NOT NULL OR c.billsec > 0)"
    return {
        "attempts": "1",
        "answered": f"{answered}::int",
        "ner_success": f"({answered} OR COALESCE(c.hangup_cause_id = ANY(:ner_causes), false))::int",
        "duration_sum": "c.duration",
        "billsec_sum": "c.billsec",
        "short_calls": f"({answered} AND c.billsec < :short_call_seconds)::int",
        "pdd_sum": "COALESCE(c.progresssec, 0)",
        "pdd_count": "(c.progresssec IS NOT NULL)::int",
        "buy_cost": "COALESCE(c.buy_cost, 0)",
        "sell_cost": "COALESCE(c.sell_cost, 0)",
    }


assert tuple(_call_measures()) == MEASURES  # the temporary batches take the sums by position


def _aggregate_sql(table: RollupTable, rows_sql: str, sign: str = "") -> str:
    """The calls of ``rows_sql`` summed into ``table``'s key, in key order.

    Grouped by hashing, then the (fewer) groups sorted: upserts in key order touch the index pages
    in sequence, several times faster than in hash order. (Without MATERIALIZED the planner sorts
    every call to group them, which costs more than the grouping.)
    """
    key_sql = ", ".join([f"{table.bucket_sql} AS bucket", *(_KEY_SQL[k] for k in table.key[1:])])
    positions = ", ".join(str(i + 1) for i in range(len(table.key)))
    return f"""
        WITH g AS MATERIALIZED (
            SELECT {key_sql}, {", ".join(f"{sign}sum({sql})" for sql in _call_measures().values())}
            FROM ({rows_sql}) c
            GROUP BY {positions})
        SELECT * FROM g ORDER BY {positions}"""


def calls_as_rows_sql() -> str:
    """The calls of ``:accountcodes`` in ``[:start, :end)``'s quarter hours as one-call rows with every
    rollup column (``:short_call_seconds`` and ``:ner_causes`` come from ``rollup_params()``).

    For the questions no rollup answers, accountcodes crossed with countries or causes: summing these
    rows gives what a rollup with that key would hold. The conditions on cdr's own columns let its
    accountcode index find the calls.
    """
    keys = ", ".join(f"{sql} AS {column}" for column, sql in _KEY_SQL.items())
    measures = ", ".join(f"{sql} AS {name}" for name, sql in _call_measures().items())
    first_quarter = (
        "date_bin('15 minutes', CAST(:{0} AS timestamptz) - interval '1 microsecond', to_timestamp(0))"
        " + interval '15 minutes'"
    )  # the first call whose bucket is >= :{0}
    return f"""(SELECT {_QUARTER_BUCKET} AS bucket, {keys}, {measures}
                FROM cdr c
                WHERE (c.accountcode = ANY(:accountcodes) OR (c.accountcode IS NULL AND '' = ANY(:accountcodes)))
                  AND c.starting_date >= {first_quarter.format("start")}
                  AND c.starting_date < {first_quarter.format("end")})"""


def _regroup_sql(source: str, key_sql: tuple, where: str = "") -> str:
    """Sum rows of the hour level's key (``source``) into a coarser key, in key order."""
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    positions = ", ".join(str(i + 1) for i in range(len(key_sql)))
    return f"SELECT {', '.join(key_sql)}, {sums} FROM {source} {where} GROUP BY {positions} ORDER BY {positions}"


def _day_key_sql(bucket: str = "bucket") -> tuple:
    """The daily key from a 15-minute bucket: exact, as a quarter hour lies in one local day of any zone."""
    return ("z.tz", f"({bucket} AT TIME ZONE z.tz)::date", "user_id", "switch_id", "country_code", "hangup_cause_id")


def _upsert_sql(name: str, key: tuple, select_sql: str) -> str:
    updates = ", ".join(f"{m} = r.{m} + excluded.{m}" for m in MEASURES)
    return f"""
        INSERT INTO {name} AS r ({", ".join(key + MEASURES)})
        {select_sql}
        ON CONFLICT ({", ".join(key)}) DO UPDATE SET {updates}"""


def _minute_cutoff_sql() -> str:
    return "now() - make_interval(days => :minute_days)"


def rollup_params() -> dict:
    settings = load_settings()
    return {
        "short_call_seconds": settings.short_call_seconds,
        "minute_days": settings.rollup_minute_days,
        "ner_causes": [r["code"] for r in db.rows("SELECT code FROM hangup_cause WHERE ner_success")],
    }


def _psycopg(sql: str) -> str:
    for name in ("short_call_seconds", "minute_days", "ner_causes"):
        sql = sql.replace(f":{name}", f"%({name})s")
    return sql


def add_to_rollups(cur, rows_sql: str, params: dict | None = None) -> None:
    """Add the calls selected by ``rows_sql`` to every rollup, on the psycopg2 cursor ``cur``.

    ``rows_sql`` is a SELECT returning cdr-shaped columns (at least: starting_date, answered_date,
    accountcode, user_id, switch_id, country_code, hangup_cause_id, direction, cdr_source_type,
    duration, billsec, progresssec, buy_cost, sell_cost) for the rows just inserted into ``cdr``,
    with psycopg2 ``%(name)s`` parameters in ``params``.
    """
    _apply(cur, rows_sql, params, "")
    concurrency.mark_changed(cur, rows_sql, params)


def take_from_rollups(cur, rows_sql: str, params: dict | None = None) -> None:
    """Take stored calls out of every rollup (before they change owner); rows left empty go."""
    _apply(cur, rows_sql, params, "-")


def move_calls(cur, where_sql: str, params: dict, user_id: int | None) -> int:
    """Give the stored calls matching ``where_sql`` (on ``cdr``'s columns, psycopg2 parameters) to
    ``user_id`` (None: no customer), moving their sums in every rollup level, on ``cur``'s transaction:
    taken out under their old owners, added back under the new one. Returns how many calls moved.

    Every change of owner goes through here (a new customer's accountcodes, adding, removing or
    re-assigning one, deleting a customer), so reports never show calls under a former owner.
    """
    # Taken out and stored again rather than updated in place: a table distributed by customer (Citus,
    # docs/scaling.md) cannot update its distribution column, and here it costs the same (user_id is indexed).
    cur.execute(
        f"""CREATE TEMP TABLE moved_calls ON COMMIT DROP AS WITH taken AS (
                DELETE FROM cdr WHERE ({where_sql}) AND user_id IS DISTINCT FROM %(move_to)s RETURNING *)
            SELECT * FROM taken""",
        {**params, "move_to": user_id},
    )
    moved = cur.rowcount
    if moved:
        take_from_rollups(cur, "SELECT * FROM moved_calls")
        cur.execute("UPDATE moved_calls SET user_id = %(move_to)s", {"move_to": user_id})
        cur.execute("INSERT INTO cdr SELECT * FROM moved_calls")
        add_to_rollups(cur, "SELECT * FROM moved_calls")
    cur.execute("DROP TABLE moved_calls")
    return moved


def remove_from_rollups(cur, rows_sql: str, params: dict | None = None) -> None:
    """Take calls that are being deleted out of every rollup level (rows left empty go), and have the
    concurrency job recompute the minutes they covered; same cursor and transaction as the DELETE."""
    _apply(cur, rows_sql, params, "-")
    concurrency.mark_changed(cur, rows_sql, params)


def _quarter_of(key: tuple) -> tuple:
    return (_QUARTER_BUCKET.replace("c.starting_date", "bucket"), *key[1:])


def _apply(cur, rows_sql: str, params: dict | None, sign: str) -> None:
    """Add (``sign`` "") or subtract ("-") calls.

    The calls are summed twice, into the two minute-level keys; every other level is a sum of those
    fewer rows: a minute lies in one quarter hour, a quarter hour in one local day of any zone.
    Minute rows older than ``ROLLUP_MINUTE_DAYS`` only reach the 15-minute and daily levels.
    """
    values = {**(params or {}), **rollup_params()}
    # One writer of rollup rows at a time (imports already commit one by one), and never during a
    # rebuild: the upserts need no lock ordering between writers.
    cur.execute(f"SELECT pg_advisory_xact_lock({_LOCK})")
    written = {}  # table: (its rows just written, key)

    def write(name: str, key: tuple, select_sql: str) -> None:
        rows = f"{name}_batch"
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{rows}")
        cur.execute(
            _psycopg(f"CREATE TEMP TABLE {rows} ({', '.join(key + MEASURES)}) ON COMMIT DROP AS {select_sql}"), values
        )
        if name in (MINUTE.name, MINUTE_ACCOUNT.name):
            rows = f"(SELECT * FROM {rows} WHERE bucket >= {_minute_cutoff_sql()})"
        cur.execute(_psycopg(_upsert_sql(name, key, f"SELECT * FROM {rows} b")), values)
        written[name] = (rows, key)

    for minute, quarter in ((MINUTE, HOUR), (MINUTE_ACCOUNT, HOUR_ACCOUNT)):
        write(minute.name, minute.key, _aggregate_sql(minute, rows_sql, sign))
        write(quarter.name, quarter.key, _regroup_sql(f"{minute.name}_batch", _quarter_of(quarter.key)))
    for name, key in FROM_HOUR.items():
        write(name, key, _regroup_sql(f"{HOUR.name}_batch", key))
    write(DAY, DAY_KEY, _regroup_sql(f"{HOUR.name}_batch CROSS JOIN rollup_timezone z", _day_key_sql()))
    if sign == "-":
        for name, (rows, key) in written.items():
            match = " AND ".join(f"r.{k} = b.{k}" for k in key)
            cur.execute(_psycopg(f"DELETE FROM {name} r USING {rows} b WHERE {match} AND r.attempts = 0"), values)
    cur.execute(f"DROP TABLE {', '.join(f'{name}_batch' for name in written)}")


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
    return conn.execute(
        text(f"INSERT INTO {DAY} ({', '.join(DAY_KEY + MEASURES)}) " + _regroup_sql(source, _day_key_sql("r.bucket"))),
        params,
    ).rowcount


def rebuild_rollups(start: date | datetime, end: date | datetime) -> dict:
    """Recompute every rollup exactly from ``cdr`` for the UTC days covering [start, end)."""
    first, last = _day_start(_as_day(start)), _day_start(_as_day(end, round_up=True))
    params = {**rollup_params(), "start": first, "end": last}
    counts = {}
    with db.transaction() as conn:
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK})"))
        for table in TABLES:
            lower = f"GREATEST(:start, {_minute_cutoff_sql()})" if table.minute_level else ":start"
            conn.execute(text(f"DELETE FROM {table.name} WHERE bucket >= :start AND bucket < :end"), params)
            rows_sql = f"SELECT * FROM cdr WHERE starting_date >= {lower} AND starting_date < :end"
            result = conn.execute(
                text(f"INSERT INTO {table.name} ({', '.join(table.key + MEASURES)}) {_aggregate_sql(table, rows_sql)}"),
                params,
            )
            counts[table.name] = result.rowcount
            if table.minute_level:
                conn.execute(text(f"DELETE FROM {table.name} WHERE bucket < {_minute_cutoff_sql()}"), params)
        for name, key in FROM_HOUR.items():
            conn.execute(text(f"DELETE FROM {name} WHERE bucket >= :start AND bucket < :end"), params)
            counts[name] = conn.execute(
                text(
                    f"INSERT INTO {name} ({', '.join(key + MEASURES)}) "
                    + _regroup_sql(HOUR.name, key, "WHERE bucket >= :start AND bucket < :end")
                ),
                params,
            ).rowcount
        counts[DAY] = _rebuild_days(conn, first, last)
        conn.execute(
            text("""INSERT INTO concurrency_change (switch_id, first_minute, last_minute)
                             SELECT id, :start, :end FROM switch"""),
            params,
        )
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
