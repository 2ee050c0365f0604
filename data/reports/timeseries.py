"""Time buckets of a report range: every bucket drawn (a bucket without calls is a zero, not a gap joined by a
line), the current one marked as partial, and the query keys that select a bucket's calls or a zoomed range.

Buckets are local periods of the scope's time zone: minutes, quarter hours, hours (a day when clocks go back
has 25), days or months. ``traffic_by_time`` (data/reports/traffic.py) sums the calls; ``zero_filled`` adds what it left
out. The keys are those ``report_filter_from_query`` and the CDR search read: ``start``/``end`` (local days,
inclusive) and ``from``/``to`` (HH:MM on the first and last day).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from data.core.report_filter import ReportFilter, quarter_floor
from data.core.rollups import MEASURES

STEP = {"minute": timedelta(minutes=1), "quarter": timedelta(minutes=15), "hour": timedelta(hours=1)}


def floor_local(moment: datetime, unit: str, zone: ZoneInfo) -> datetime:
    """The local start of the ``unit`` holding the instant ``moment``, as an aware local datetime."""
    local = moment.astimezone(zone)
    if unit == "minute":
        return local.replace(second=0, microsecond=0)
    if unit == "quarter":
        return quarter_floor(local)
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date() if unit == "day" else local.date().replace(day=1)
    return datetime.combine(day, time.min, zone)


def next_bucket(start: datetime, unit: str, zone: ZoneInfo) -> datetime:
    """The start of the bucket after the one starting at ``start`` (local, aware)."""
    if unit in STEP:  # fixed lengths: step in UTC, so the repeated hour of a 25-hour day is a bucket of its own
        return (start.astimezone(timezone.utc) + STEP[unit]).astimezone(zone)
    day = start.date()
    following = day + timedelta(days=1) if unit == "day" else (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(following, time.min, zone)


def bucket_starts(f: ReportFilter, unit: str, tz: str) -> list[datetime]:
    """The local starts of every ``unit`` bucket that overlaps ``f``'s range, in order."""
    zone = ZoneInfo(tz)
    starts, current = [], floor_local(f.start, unit, zone)
    while current < f.end:
        starts.append(current)
        current = next_bucket(current, unit, zone)
    return starts


def zero_filled(rows: list[dict], f: ReportFilter, unit: str, tz: str) -> list[dict]:
    """``traffic_by_time`` rows with a row of zeros for every bucket (and series) without calls, in time order.

    Each series seen gets every bucket; with no calls at all, one unnamed series of zeros is drawn."""
    found = {(r["period"], r.get("series") or ""): r for r in rows}
    keys = {r.get("series") or "": r.get("series_key") for r in rows} or {"": None}
    return [
        found.get((start, name)) or {"period": start, "series": name, "series_key": key, **dict.fromkeys(MEASURES, 0)}
        for start in bucket_starts(f, unit, tz)
        for name, key in keys.items()
    ]


def is_partial(start: datetime, unit: str, tz: str, now: datetime | None = None) -> bool:
    """Whether the bucket starting at ``start`` has not ended yet (its calls so far are not its total)."""
    return next_bucket(start, unit, ZoneInfo(tz)) > (now or datetime.now(timezone.utc))


def local_text(moment: datetime, tz: str) -> str:
    """An instant as the local date-time text charts put on their axes."""
    return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat(sep=" ")


def _hhmm(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def range_query(start: datetime, end: datetime, tz: str) -> dict[str, str]:
    """The query keys of the local interval [``start``, ``end``): whole days as ``start``/``end`` alone, else
    with ``from``/``to`` times (an end at midnight is 00:00 of the next day)."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone), end.astimezone(zone)
    midnight = time.min
    if first.time() == midnight and last.time() == midnight:
        return {"start": first.date().isoformat(), "end": (last.date() - timedelta(days=1)).isoformat()}
    return {"start": first.date().isoformat(), "end": last.date().isoformat(), "from": _hhmm(first), "to": _hhmm(last)}


def bucket_query(start: datetime, unit: str, tz: str) -> dict[str, str]:
    """The query keys selecting exactly the calls of the bucket starting at ``start``."""
    return range_query(start, next_bucket(start, unit, ZoneInfo(tz)), tz)


def filter_query(f: ReportFilter, tz: str) -> dict[str, str]:
    """The query keys of a report filter's range (with its switches, customers and accountcodes)."""
    keys = range_query(f.start, f.end, tz)
    if f.switch_ids:
        keys["switch"] = ",".join(map(str, f.switch_ids))
    if f.user_ids:
        keys["customer"] = ",".join(map(str, f.user_ids))
    if f.accountcodes:
        keys["accountcode"] = ",".join(f.accountcodes)
    return keys


def zoom_query(x0: str, x1: str, tz: str) -> dict[str, str] | None:
    """The range keys for a zoom from ``x0`` to ``x1`` (the chart's local date-times as plotly sends them):
    widened to whole days when it spans two days or more, else to 15-minute boundaries. None when unreadable."""
    try:
        first, last = sorted(datetime.fromisoformat(v.strip()[:19].replace("T", " ")) for v in (x0, x1))
    except (AttributeError, ValueError):
        return None
    zone = ZoneInfo(tz)
    if last - first >= timedelta(days=2):
        return {"start": first.date().isoformat(), "end": last.date().isoformat()}
    start = quarter_floor(first)
    end = quarter_floor(last) + (timedelta(minutes=15) if last != quarter_floor(last) else timedelta(0))
    end = max(end, start + timedelta(minutes=15))
    return range_query(start.replace(tzinfo=zone), end.replace(tzinfo=zone), tz)


def previous_period(f: ReportFilter, tz: str) -> tuple[ReportFilter, timedelta]:
    """The range of the same length just before ``f`` (whole days stay whole days), and the shift between them."""
    if f.days is not None:
        first, last = f.days
        length = (last - first).days + 1
        before = ReportFilter.for_days(
            first - timedelta(days=length),
            first - timedelta(days=1),
            tz,
            switch_ids=f.switch_ids,
            user_ids=f.user_ids,
            accountcodes=f.accountcodes,
        )
        return before, timedelta(days=length)
    shift = f.end - f.start
    return ReportFilter(f.start - shift, f.start, f.switch_ids, f.user_ids, f.accountcodes), shift


RANGE_KEYS = ("start", "end", "from", "to", "preset")
CDR_SEARCH = "/cdrs"


def cdr_search_href(f: ReportFilter, tz: str, **keys) -> str:
    """The CDR search of ``f``'s calls narrowed by ``keys`` (e.g. ``cause``, ``country``, ``switch``)."""
    return f"{CDR_SEARCH}?{urlencode({**filter_query(f, tz), **{k: str(v) for k, v in keys.items()}})}"


def bucket_href(
    f: ReportFilter, tz: str, start: datetime, unit: str, split: str | None, key, base: str | None = None
) -> str | None:
    """The CDR search of one bucket's calls within ``f`` (and of one switch or customer of a split); None for
    calls the search cannot select (those of no customer) and for the zeros drawn when a split found no calls
    at all (no switch or customer to name). ``base``: ``base_query(f, tz)``, when known."""
    if split in ("switch", "customer") and key is None:
        return None
    end = next_bucket(start, unit, ZoneInfo(tz))
    # the range keys are digits, "-" and ":" (nothing to quote): only the filter's own keys are encoded, once
    keys = range_query(max(start, f.start), min(end, f.end), tz)
    if split in ("switch", "customer"):
        keys[split] = str(int(key))
    own = "&".join(f"{k}={v}" for k, v in keys.items())
    base = base_query(f, tz, drop=split) if base is None else base
    return f"{CDR_SEARCH}?{own}&{base}" if base else f"{CDR_SEARCH}?{own}"


def base_query(f: ReportFilter, tz: str, drop: str | None = None) -> str:
    """``f``'s keys but its range (and ``drop``, the split's key), encoded: what every bucket's address shares."""
    return urlencode({k: v for k, v in filter_query(f, tz).items() if k not in RANGE_KEYS and k != drop})


def last_whole_hours(hours: int, tz: str, now: datetime | None = None, **filters) -> ReportFilter:
    """The last ``hours`` local hours up to the end of the current one (which is partial): the dashboard's
    range, on hour boundaries so that each hourly bar is a whole hour but the last."""
    zone = ZoneInfo(tz)
    end = next_bucket(floor_local(now or datetime.now(timezone.utc), "hour", zone), "hour", zone)
    end = end.astimezone(timezone.utc)
    return ReportFilter(end - timedelta(hours=hours), end, **filters)
