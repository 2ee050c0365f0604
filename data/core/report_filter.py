"""The one report filter: what the user chose (a range of local days or an interval, switches, customers,
accountcodes, call ids), parsed once from a request's arguments, and turned into SQL in one place.

``report_filter_from_query`` reads the keys every surface shares (the filter bar's URL and inputs, the CDR
search's query string, the REST API): ``preset`` or ``start``/``end`` (local days, inclusive), ``switch``
(ids), ``customer`` (ids; admins only: the scope decides whose calls anyone sees), ``accountcode`` (any
text: chosen from the list or typed, linked to a customer or not), ``callid`` (per call: only queries over
``cdr`` apply it, the rollups keep no call ids). Each
surface then adds its own keys (the search's times of day, the API's date-times). ``report_where`` turns a
filter and the server-side ``Scope`` into SQL conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from data.core.scope import Scope

MAX_ACCOUNTCODE = 80  # longer values cannot be accountcodes (the import's limit): cut, not looked up
MAX_CALLID = 255
MAX_CALLIDS = 100


@dataclass(frozen=True)
class ReportFilter:
    """A half-open UTC interval plus optional switch / customer / accountcode filters."""

    start: datetime
    end: datetime
    switch_ids: tuple[int, ...] = ()
    user_ids: tuple[int, ...] = ()
    accountcodes: tuple[str, ...] = ()
    callids: tuple[str, ...] = ()  # per call: applied to ``cdr`` only (time_column "starting_date")
    days: tuple[date, date] | None = field(default=None, compare=False)  # the local days, when whole days

    @classmethod
    def for_days(cls, first: date, last: date, tz: str, **filters) -> ReportFilter:
        """Local days ``first`` to ``last`` inclusive, in time zone ``tz`` (DST days are 23 or 25 h)."""
        zone = ZoneInfo(tz)
        start = datetime.combine(first, time.min, zone).astimezone(timezone.utc)
        end = datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(timezone.utc)
        return cls(start, end, days=(first, last), **filters)

    @classmethod
    def last_hours(cls, hours: int, now: datetime | None = None, **filters) -> ReportFilter:
        now = now or datetime.now(timezone.utc)
        return cls(now - timedelta(hours=hours), now, **filters)


def report_where(
    scope: Scope, f: ReportFilter, alias: str = "r", time_column: str | None = "bucket"
) -> tuple[str, dict]:
    """The SQL conditions (and parameters) of the scope and the filter over a rollup level or ``cdr`` (alias
    ``alias``): ``time_column`` is the column the range applies to, ``"day"`` for the daily level (whole
    local days of the scope's zone), None when the source applies the range itself."""
    condition, params = scope.cdr_filter(alias)
    if time_column == "day":  # the daily level: the scope's zone, whole local days
        parts = [condition, f"{alias}.tz = :tz", f"{alias}.day >= :first_day", f"{alias}.day <= :last_day"]
        params.update(first_day=f.days[0], last_day=f.days[1])
    elif time_column is None:
        parts = [condition]
    else:
        parts = [condition, f"{alias}.{time_column} >= :start", f"{alias}.{time_column} < :end"]
    params.update(start=f.start, end=f.end, tz=scope.timezone)
    callids = f.callids if time_column == "starting_date" else ()  # only ``cdr`` has a call's id
    lists = (("switch_id", "switch_ids", f.switch_ids), ("user_id", "user_ids", f.user_ids))
    lists += (("accountcode", "accountcodes", f.accountcodes), ("callid", "callids", callids))
    add_any_of(parts, params, alias, lists)
    return " AND ".join(parts), params


def add_any_of(parts: list[str], params: dict, alias: str, lists) -> None:
    """Add ``alias.column = ANY(:name)`` for each ``(column, name, values)`` whose values are not empty."""
    for column, name, values in lists:
        if values:
            parts.append(f"{alias}.{column} = ANY(:{name})")
            params[name] = list(values)


def preset_range(preset: str | None, today: date) -> tuple[date, date]:
    """First and last local day of a named range; the default is the last 7 days."""
    first_of_month = today.replace(day=1)
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if preset == "30d":
        return today - timedelta(days=29), today
    if preset == "this-month":
        return first_of_month, today
    if preset == "last-month":
        last = first_of_month - timedelta(days=1)
        return last.replace(day=1), last
    if preset in RELATIVE_PRESETS:  # the local days a relative range touches
        return today - timedelta(days=max(RELATIVE_PRESETS[preset].days, 1)), today
    if preset == "12m":  # this month and the 11 before it: twelve months, the current one partial
        months = today.year * 12 + today.month - 1 - 11
        return date(months // 12, months % 12 + 1, 1), today
    return today - timedelta(days=6), today


# Relative ranges (Grafana's "last 15 minutes" ...): from the 15-minute boundary before ``now - length`` to the
# end of the current quarter hour, so the rollups (15-minute buckets) sum exactly the range shown.
RELATIVE_PRESETS = {
    "now-15m": timedelta(minutes=15),
    "now-1h": timedelta(hours=1),
    "now-6h": timedelta(hours=6),
    "now-24h": timedelta(hours=24),
    "now-7d": timedelta(days=7),
    "now-30d": timedelta(days=30),
}
QUARTER = timedelta(minutes=15)


def quarter_floor(moment: datetime) -> datetime:
    """``moment`` down to its 15-minute boundary (the rollups' bucket)."""
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def relative_range(preset: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The UTC interval of a relative preset (``RELATIVE_PRESETS``) at ``now``."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return quarter_floor(now - RELATIVE_PRESETS[preset]), quarter_floor(now) + QUARTER


def user_today(scope: Scope) -> date:
    return datetime.now(ZoneInfo(scope.timezone)).date()


def _values(args: Mapping, key: str) -> list[str]:
    value = args.get(key)
    if hasattr(args, "getlist"):  # a werkzeug MultiDict: every value of a repeated key
        value = args.getlist(key)
    items = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    return [str(item).strip() for item in items]


def query_value(args: Mapping, key: str) -> str | None:
    """The first value of ``key``, stripped; None when absent or empty."""
    values = _values(args, key)
    return values[0] or None if values else None


def query_list(args: Mapping, key: str) -> list[str]:
    """Every value of ``key``, comma-separated values split."""
    return [part.strip() for value in _values(args, key) for part in value.split(",") if part.strip()]


def query_ids(args: Mapping, key: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(v) for v in query_list(args, key) if v.isdigit() and len(v) <= 9))


def query_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def report_filter_from_query(args: Mapping, scope: Scope, today: date | None = None) -> ReportFilter:
    """The shared keys of ``args`` (a dict, a werkzeug MultiDict or ``parse_qs`` output; values may be lists)
    as a filter over the scope's local days. Values that cannot be read are ignored."""
    first, last = preset_range(query_value(args, "preset"), today or user_today(scope))
    start_day, end_day = query_day(query_value(args, "start")), query_day(query_value(args, "end"))
    if start_day and end_day and not query_value(args, "preset"):
        first, last = sorted((start_day, end_day))
    return ReportFilter.for_days(
        first,
        last,
        scope.timezone,
        switch_ids=query_ids(args, "switch"),
        user_ids=query_ids(args, "customer") if scope.is_admin else (),
        accountcodes=tuple(dict.fromkeys(v[:MAX_ACCOUNTCODE] for v in query_list(args, "accountcode"))),
        callids=tuple(dict.fromkeys(v[:MAX_CALLID] for v in query_list(args, "callid")))[:MAX_CALLIDS],
    )


def local_time(value: str | None) -> time | None:
    """ "HH:MM" (seconds, if sent, dropped) as a time; None when absent or unreadable."""
    try:
        parsed = time.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None
    return parsed.replace(second=0, microsecond=0) if parsed else None


def report_range_from_query(args: Mapping, scope: Scope, now: datetime | None = None) -> ReportFilter:
    """What the report pages read: ``report_filter_from_query``'s keys, plus the relative presets
    (``RELATIVE_PRESETS``) and ``from``/``to`` (HH:MM on the first and last day, as the CDR search reads them:
    a zoomed range or a drilled-down bucket). A range that is no longer whole days has no ``days``."""
    preset = query_value(args, "preset")
    days = report_filter_from_query(
        args, scope, (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(scope.timezone)).date()
    )
    if preset in RELATIVE_PRESETS:
        start, end = relative_range(preset, now)
        return ReportFilter(start, end, days.switch_ids, days.user_ids, days.accountcodes)
    time_from, time_to = local_time(query_value(args, "from")), local_time(query_value(args, "to"))
    if preset or not (time_from or time_to):
        return days
    zone = ZoneInfo(scope.timezone)
    first, last = days.days
    start = datetime.combine(first, time_from, zone).astimezone(timezone.utc) if time_from else days.start
    end = datetime.combine(last, time_to, zone).astimezone(timezone.utc) if time_to else days.end
    return ReportFilter(start, max(start, end), days.switch_ids, days.user_ids, days.accountcodes)
