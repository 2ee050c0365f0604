"""Traffic reports over the rollups: totals, time series, breakdowns, comparisons, concurrency.

Every function takes the request's ``Scope`` (whose calls) and a ``ReportFilter`` (what the user
chose); ``report_where`` (data/core/report_filter.py) applies both in one place. Times are bucketed in
the scope's time zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from data.core import concurrency, db
from data.core.i18n import gettext
from data.core.kpis import Totals, kpi_numbers
from data.core.report_cache import cached
from data.core.report_filter import ReportFilter, report_where
from data.core.rollups import (
    DAY,
    DAY_KEY,
    HOUR,
    MEASURES,
    MINUTE,
    MINUTE_ACCOUNT,
    NARROW,
    calls_as_rows_sql,
    ready_timezones,
    rollup_params,
)
from data.core.scope import Scope
from data.reports import timeseries

SUMS = ", ".join(f"sum(r.{m}) AS {m}" for m in MEASURES)
UNITS = ("minute", "quarter", "hour", "day", "month")


# The narrow views, smallest first: a few hangup causes, more countries, the most accountcodes per bucket.
NARROW_BY_SIZE = ("cdr_rollup_hour_cause", "cdr_rollup_hour_country", "cdr_rollup_hour_traffic")
assert set(NARROW_BY_SIZE) == set(NARROW)


def _needed_columns(f: ReportFilter, dimension: str | None) -> set[str]:
    needed = {"user_id"}
    if f.switch_ids:
        needed.add("switch_id")
    if f.accountcodes:
        needed.add("accountcode")
    if dimension:
        needed.add(BREAKDOWNS[dimension][0].removeprefix("r."))
    return needed


def _rollup_source(scope: Scope, f: ReportFilter, needed: set[str]) -> tuple[str, str, dict]:
    """The smallest 15-minute rollup whose key holds ``needed``, its WHERE clause and parameters.

    An accountcode crossed with countries or causes is in no rollup (it would hold about a row per
    call): those sums are made from the calls themselves (``calls_as_rows_sql``), which select the
    range and the accountcodes inside, on cdr's indexed columns. Not repeating those conditions
    outside keeps the planner's row estimate right (else it sorts millions of calls to group them).
    """
    for name in NARROW_BY_SIZE:
        if needed <= set(NARROW[name]):
            return name, *report_where(scope, f)
    if needed <= set(HOUR.key):
        return HOUR.name, *report_where(scope, f)
    where, params = report_where(scope, replace(f, accountcodes=()), time_column=None)
    return calls_as_rows_sql(), where, {**params, **rollup_params(), "accountcodes": list(f.accountcodes)}


def _source(scope: Scope, f: ReportFilter, dimension: str | None = None, daily: bool = True) -> tuple[str, str, dict]:
    """The smallest rollup that holds what is asked, and its WHERE clause.

    The daily level when the range is whole local days of a zone kept there; else the narrowest
    15-minute table whose key has the grouping and filter columns (``_rollup_source``).
    """
    needed = _needed_columns(f, dimension)
    if daily and f.days is not None and needed <= set(DAY_KEY) and scope.timezone in ready_timezones():
        return DAY, *report_where(scope, f, time_column="day")
    return _rollup_source(scope, f, needed)


@cached
def totals(scope: Scope, f: ReportFilter) -> Totals:
    table, where, params = _source(scope, f)
    found = db.rows(f"SELECT {SUMS} FROM {table} r WHERE {where}", **params)
    return Totals.from_row(found[0])


def totals_of(rows: list[dict]) -> Totals:
    """The totals of complete breakdown rows (each call in exactly one row): no second query."""
    return Totals.from_row({m: sum((r[m] or 0) for r in rows) for m in MEASURES})


def local_period(value: datetime | date, tz: str) -> datetime:
    """A period's start as an aware local time: an instant from the 15-minute or minute levels (so the
    repeated hour of a day when clocks go back is two periods, told apart by their UTC offset), or a
    local day of the daily level."""
    zone = ZoneInfo(tz)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone)
    naive = value if isinstance(value, datetime) else datetime.combine(value, time.min)
    return naive.replace(tzinfo=zone)


def is_repeated_local_time(value: datetime) -> bool:
    """Whether the local wall-clock time of the aware ``value`` happens twice (clocks going back)."""
    return value.tzinfo is not None and value.replace(fold=0).utcoffset() != value.replace(fold=1).utcoffset()


def utc_offset_label(value: datetime) -> str:
    """ "UTC-04:00": the offset that tells the two repeated hours of a day apart."""
    minutes = int(value.utcoffset().total_seconds() // 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def period_label(value: datetime) -> str:
    """A local period start as charts and downloads show it; the repeated hour with its UTC offset."""
    text = value.replace(tzinfo=None).isoformat(sep=" ")
    return f"{text} ({utc_offset_label(value)})" if is_repeated_local_time(value) else text


@cached
def traffic_by_time(scope: Scope, f: ReportFilter, unit: str = "hour", split: str | None = None) -> list[dict]:
    """Sums per local ``unit`` (minute/hour/day/month), optionally one series per switch or customer.

    ``period`` is the local start of each unit, an aware datetime in the scope's zone: a day when
    clocks go back has 25 hours (the repeated one twice, with different UTC offsets), a day when
    they go forward 23.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    table, where, params = _source(scope, f, split, daily=unit in ("day", "month"))
    if unit == "minute":
        table, (where, params) = MINUTE_ACCOUNT.name if f.accountcodes else MINUTE.name, report_where(scope, f)
    # grouped by instant, not by local wall-clock time (which the repeated hour shares)
    period = "date_trunc(:unit, r.day::timestamp)" if table == DAY else "date_trunc(:unit, r.bucket, :tz)"
    if unit == "quarter":  # the 15-minute levels' own buckets (every zone's offset is whole quarter hours)
        period = "r.bucket"
    series, key, join = "''", "", ""  # with a split, ``series_key`` is the switch's or customer's id
    if split == "switch":
        series, key, join = "s.name", ", s.id AS series_key", "JOIN switch s ON s.id = r.switch_id"
    elif split == "customer":
        series, key = "COALESCE(u.username, '(no customer)')", ", r.user_id AS series_key"
        join = "LEFT JOIN app_user u ON u.id = r.user_id"
    rows = db.rows(
        f"""SELECT {period} AS period, {series} AS series{key}, {SUMS}
            FROM {table} r {join} WHERE {where}
            GROUP BY {"1, 2, 3" if key else "1, 2"} ORDER BY 1, 2""",
        unit=unit,
        **params,
    )
    for row in rows:
        row["period"] = local_period(row["period"], scope.timezone)
    return rows


def unit_for_range(f: ReportFilter) -> str:
    """Quarter hours up to 6 hours, hourly up to 3 days, daily up to 3 months, monthly beyond."""
    span = f.end - f.start
    if span <= timedelta(hours=6):
        return "quarter"
    if span <= timedelta(days=3):
        return "hour"
    if span <= timedelta(days=93):
        return "day"
    return "month"


BREAKDOWNS = {
    "hangup_cause": (
        "r.hangup_cause_id",
        "LEFT JOIN hangup_cause h ON h.code = r.hangup_cause_id",
        "COALESCE(h.name, 'cause ' || r.hangup_cause_id || ' (unknown)')",
    ),
    "country": (
        "r.country_code",
        "LEFT JOIN country c ON c.code = r.country_code",
        "COALESCE(c.name, NULLIF(r.country_code, ''), 'Unknown')",
    ),
    "switch": ("r.switch_id", "JOIN switch s ON s.id = r.switch_id", "s.name"),
    "customer": ("r.user_id", "LEFT JOIN app_user u ON u.id = r.user_id", "COALESCE(u.username, '(no customer)')"),
    "accountcode": ("r.accountcode", "", "COALESCE(NULLIF(r.accountcode, ''), '(none)')"),
}


@cached
def breakdown(
    scope: Scope, f: ReportFilter, dimension: str, order_by: str = "attempts", limit: int | None = None
) -> list[dict]:
    """Sums per hangup cause, country, switch, customer or accountcode, largest first."""
    key, join, label = BREAKDOWNS[dimension]
    if order_by not in MEASURES:
        raise ValueError(f"cannot order by {order_by!r}")
    table, where, params = _source(scope, f, dimension)
    extra = ", max(c.alpha3) AS alpha3, r.country_code AS code" if dimension == "country" else f", {key} AS code"
    rows = db.rows(
        f"""SELECT {label} AS label{extra}, {SUMS}
            FROM {table} r {join} WHERE {where}
            GROUP BY {key}, {label} ORDER BY {order_by} DESC, label
            {"LIMIT :limit" if limit else ""}""",
        limit=limit,
        **params,
    )
    return rows


DASHBOARD_PARTS = ("hour", "hangup_cause", "switch")


def dashboard_breakdowns(scope: Scope, f: ReportFilter) -> dict[str, list[dict]]:
    """Sums per local hour, per hangup cause and per switch, in one query (one pass over the cause view).

    The same rows as ``traffic_by_time(scope, f, "hour")``, ``breakdown(scope, f, "hangup_cause")`` and
    ``breakdown(scope, f, "switch")``, in the same order.
    """
    table, where, params = _rollup_source(scope, f, _needed_columns(f, "hangup_cause") | {"switch_id"})
    period = "date_trunc('hour', r.bucket, :tz)"  # an instant: the repeated hour of a 25-hour day is two
    found = db.rows(
        f"""SELECT g.*, CASE g.part WHEN 'hangup_cause' THEN COALESCE(h.name, 'cause ' || g.hangup_cause_id)
                                    WHEN 'switch' THEN s.name END AS label
            FROM (SELECT CASE WHEN GROUPING(r.hangup_cause_id) = 0 THEN 'hangup_cause'
                              WHEN GROUPING(r.switch_id) = 0 THEN 'switch' ELSE 'hour' END AS part,
                         {period} AS period, r.hangup_cause_id, r.switch_id, {SUMS}
                  FROM {table} r WHERE {where}
                  GROUP BY GROUPING SETS (({period}), (r.hangup_cause_id), (r.switch_id))) g
            LEFT JOIN hangup_cause h ON g.part = 'hangup_cause' AND h.code = g.hangup_cause_id
            LEFT JOIN switch s ON g.part = 'switch' AND s.id = g.switch_id
            WHERE g.part <> 'switch' OR s.id IS NOT NULL
            ORDER BY g.part, g.period, g.attempts DESC, label""",
        **params,
    )
    parts: dict[str, list[dict]] = {part: [] for part in DASHBOARD_PARTS}
    for row in found:
        part = row.pop("part")
        cause, switch, period_value, label = (
            row.pop("hangup_cause_id"),
            row.pop("switch_id"),
            row.pop("period"),
            row.pop("label"),
        )
        if part == "hour":
            parts[part].append({"period": local_period(period_value, scope.timezone), "series": "", **row})
        else:
            parts[part].append({"label": label, "code": cause if part == "hangup_cause" else switch, **row})
    return parts


# The rows charts draw, kept as such: a dashboard or overview asked again within the TTL costs no query and
# no KPI arithmetic, and the kept rows (floats and strings, no Decimal) are cheap to read back.


@cached
def dashboard_report(scope: Scope, f: ReportFilter, data_version: int | None = None) -> dict:
    """What the dashboard shows: the totals, and the rows of its four charts as drawn and downloaded, each
    with the CDR search address of its calls (``href``). ``data_version`` (data.live.freshness) is only part of
    the cache key: calls imported since are a new question, not a cached answer."""
    parts = dashboard_breakdowns(scope, f)
    tz = scope.timezone

    def linked(rows: list[dict], key: str) -> list[dict]:
        drawn = chart_rows(rows, "label", scope)
        for row in drawn:
            code = row.get("code")
            row["href"] = timeseries.cdr_search_href(f, tz, **{key: code}) if code not in (None, "") else None
        return drawn

    return {
        "totals": totals_of(parts["hangup_cause"]),
        "hourly": time_chart_rows(parts["hour"], f, "hour", scope),
        "causes": linked(parts["hangup_cause"], "cause"),
        "countries": linked(breakdown.uncached(scope, f, "country", limit=10), "country"),
        "switches": linked(parts["switch"], "switch"),
    }


@cached
def traffic_chart_rows(scope: Scope, f: ReportFilter, unit: str = "hour", split: str | None = None) -> list[dict]:
    """``traffic_by_time`` as chart rows (``chart_rows``), every bucket of the range (zeros where no calls), each
    with ``partial`` (the bucket has not ended) and ``href`` (the CDR search of its calls): what the overview
    draws and downloads."""
    return time_chart_rows(traffic_by_time.uncached(scope, f, unit, split), f, unit, scope, split)


def time_chart_rows(rows: list[dict], f: ReportFilter, unit: str, scope: Scope, split: str | None = None) -> list[dict]:
    """Sums per bucket (``traffic_by_time``) as chart rows over every bucket of ``f``, with ``partial`` and
    ``href`` (data/reports/timeseries.py)."""
    tz = scope.timezone
    filled = timeseries.zero_filled(rows, f, unit, tz)
    drawn, base = chart_rows(filled, "period", scope), timeseries.base_query(f, tz, drop=split)
    for row, source in zip(drawn, filled, strict=True):
        row["partial"] = timeseries.is_partial(source["period"], unit, tz)
        row["href"] = timeseries.bucket_href(f, tz, source["period"], unit, split, source.get("series_key"), base)
    return drawn


@cached
def filter_options(scope: Scope) -> dict[str, list[dict]]:
    """Switches, customers and accountcodes the scope may filter on."""
    if scope.is_admin:
        switches = db.rows("SELECT id AS value, name AS label FROM switch ORDER BY name")
        customers = db.rows(
            "SELECT id AS value, username AS label FROM app_user WHERE role = 'customer' ORDER BY username"
        )
        codes = db.rows("SELECT accountcode AS value, accountcode AS label FROM user_accountcode ORDER BY 1")
    else:
        switches = db.rows(
            """SELECT s.id AS value, s.name AS label FROM switch s
               WHERE EXISTS (SELECT 1 FROM cdr_rollup_hour r WHERE r.switch_id = s.id AND r.user_id = :uid)
               ORDER BY s.name""",
            uid=scope.user_id,
        )
        customers = []
        codes = db.rows(
            "SELECT accountcode AS value, accountcode AS label FROM user_accountcode WHERE user_id = :uid ORDER BY 1",
            uid=scope.user_id,
        )
    return {"switches": switches, "customers": customers, "accountcodes": codes}


def cost_seen_by(scope: Scope, t: Totals):
    """What a call cost, as the viewer knows it: the buy cost for admins, the price they pay for customers."""
    return t.cost if scope.is_admin else t.revenue


def chart_rows(rows: list[dict], label_key: str, scope: Scope) -> list[dict]:
    """Report rows as drawn and downloaded: the label, the sums and the KPIs computed from them.

    Customers see what they are charged as "cost", and never the buy side or the margin. Every value
    is a plain int, float or str (no Decimal), so Dash's orjson encoder takes the response as it is.
    """
    table = []
    for row in rows:
        t = Totals.from_row(row)
        table.append(
            {
                label_key: period_label(row[label_key]) if isinstance(row[label_key], datetime) else row[label_key],
                **({"series": row["series"]} if row.get("series") else {}),
                **({"code": row["code"]} if "code" in row else {}),
                **({"alpha3": row["alpha3"]} if "alpha3" in row else {}),
                **kpi_numbers(t),
                "cost": round(float(cost_seen_by(scope, t)), 5),
                **(
                    {"revenue": round(float(t.revenue), 5), "margin": round(float(t.margin), 5)}
                    if scope.is_admin
                    else {}
                ),
            }
        )
    return table


def top_with_other(rows: list[dict], metric: str, top: int = 10) -> list[dict]:
    """The ``top`` rows by ``metric`` and the rest summed as "Other" (in the reader's language: called where the
    rows are shown, never inside a cached report)."""
    ranked = sorted(rows, key=lambda r: r[metric] or 0, reverse=True)
    head, rest = ranked[:top], ranked[top:]
    if rest:
        other = {"label": gettext("Other"), "code": None, "alpha3": None}
        other.update({m: sum((r[m] or 0) for r in rest) for m in MEASURES})
        head.append(other)
    return head


def local_hours(f: ReportFilter, tz: str) -> list[datetime]:
    """The local hours of ``f`` as aware local datetimes: 25 on a day clocks go back, 23 when they go forward."""
    zone, hours = ZoneInfo(tz), []
    moment = f.start.astimezone(timezone.utc)
    while moment < f.end:
        hours.append(moment.astimezone(zone))
        moment += timedelta(hours=1)
    return hours


def hourly_series(scope: Scope, f: ReportFilter) -> list[dict]:
    """Sums per local hour of ``f`` with hours without calls as zeros: one row per hour that happened, so
    a 25-hour day has 25 rows (``label`` "01" and "01 (UTC-05:00)"...), a 23-hour day 23."""
    found = {r["period"]: r for r in traffic_by_time.uncached(scope, f, "hour")}
    rows = []
    for hour in local_hours(f, scope.timezone):
        label = f"{hour:%H}" + (f" ({utc_offset_label(hour)})" if is_repeated_local_time(hour) else "")
        rows.append({**found.get(hour, dict.fromkeys(MEASURES, 0)), "period": hour, "label": label, "series": ""})
    return rows


def hourly_profile(scope: Scope, days: list[date], f_template: ReportFilter, now: datetime | None = None) -> list[dict]:
    """Sums by local hour of day (0–23, hours without calls as zeros) for each of ``days``: the daily
    comparison, which lays days over each other by hour of day.

    On the day clocks go back, the repeated hour's two hours are summed into that hour of day (its
    row says so in ``hours``: 2); on the day they go forward, the skipped hour shows zero (``hours``:
    0). ``hourly_series`` keeps every hour apart. Hours that have not begun are ``future`` (drawn as
    nothing, not as zeros), the hour in progress ``partial``; ``href`` is the CDR search of an hour's calls.
    """
    now = now or datetime.now(timezone.utc)
    zone, rows = ZoneInfo(scope.timezone), []
    for day in days:
        f = ReportFilter.for_days(
            day,
            day,
            scope.timezone,
            switch_ids=f_template.switch_ids,
            user_ids=f_template.user_ids,
            accountcodes=f_template.accountcodes,
        )
        table, where, params = _source(scope, f, daily=False)
        found = {
            r["hour"]: r
            for r in db.rows(
                f"""SELECT extract(hour FROM r.bucket AT TIME ZONE :tz)::int AS hour, {SUMS}
                FROM {table} r WHERE {where} GROUP BY 1""",
                **params,
            )
        }
        label = f"{day.isoformat()} {day.strftime('%a')}"
        happened = [h.hour for h in local_hours(f, scope.timezone)]
        base = timeseries.base_query(f, scope.timezone)
        for hour in range(24):
            start = datetime.combine(day, time(hour), zone)
            rows.append(
                {
                    **found.get(hour, {m: 0 for m in MEASURES}),
                    "day": day,
                    "series": label,
                    "hour": hour,
                    "hours": happened.count(hour),
                    "future": start > now,
                    "partial": start <= now < start + timedelta(hours=1),
                    "href": timeseries.bucket_href(f, scope.timezone, start, "hour", None, None, base),
                }
            )
    return rows


def concurrent_calls(scope: Scope, f: ReportFilter) -> list[dict]:
    """Peak simultaneous calls per local minute and switch (see ``data.core.concurrency``)."""
    if f.accountcodes or len(f.user_ids) > 1:
        return concurrency.live_peaks(scope, f.start, f.end, f.switch_ids, f.user_ids, f.accountcodes)
    return concurrency.stored_peaks(scope, f.start, f.end, f.switch_ids, f.user_ids)


def peak_per_hour(minute_rows: list[dict]) -> list[dict]:
    """The highest per-minute peak of each hour and switch (for long ranges)."""
    peaks: dict[tuple, int] = {}
    for row in minute_rows:
        key = (row["minute"].replace(minute=0), row["switch"])
        peaks[key] = max(peaks.get(key, 0), row["peak"])
    return [{"hour": hour, "switch": switch, "peak": peak} for (hour, switch), peak in sorted(peaks.items())]


def with_quiet_minutes(minute_rows: list[dict], start: datetime, end: datetime, tz: str) -> list[dict]:
    """Per-minute peaks with the minutes of no calls as zeros, for every switch seen."""
    zone = ZoneInfo(tz)
    peaks = {(r["minute"], r["switch"]): r["peak"] for r in minute_rows}
    switches = sorted({r["switch"] for r in minute_rows})
    minute = start.replace(second=0, microsecond=0)
    rows = []
    while minute < end:
        local = minute.astimezone(zone).replace(tzinfo=None)
        rows += [{"minute": local, "switch": s, "peak": peaks.get((local, s), 0)} for s in switches]
        minute += timedelta(minutes=1)
    return rows


TOTAL = "All switches (sum of peaks)"


def with_total(rows: list[dict], key: str) -> list[dict]:
    """Per-switch peaks with a "Total" series: per ``key`` (minute or hour), the sum of the switches' peaks
    (an upper bound of the network's peak when the switches peak at different moments). Only for two or
    more switches."""
    if len({r["switch"] for r in rows}) < 2:
        return rows
    totals: dict = {}
    for row in rows:
        totals[row[key]] = totals.get(row[key], 0) + row["peak"]
    return rows + [{key: moment, "switch": TOTAL, "peak": peak} for moment, peak in totals.items()]
