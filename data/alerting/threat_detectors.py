"""The threat detectors: each looks at the recent calls for one kind of abnormal traffic and returns
``Threat`` objects (``threats`` lists them, ranks what they find and runs the job); the high-cost
prefix list.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import phonenumbers
from phonenumbers import PhoneNumberType

from data.alerting.threat_texts import MEASURE_TITLES, MEASURES, category_label
from data.core import db
from data.core.i18n import gettext as _
from data.core.rollups import HOUR_ACCOUNT, MINUTE, MINUTE_ACCOUNT

UTC = timezone.utc
WINDOWS = (5, 15, 60)
SATELLITE_PREFIXES = {
    "870": "Inmarsat",
    "881": "Global Mobile Satellite System (Iridium, Globalstar)",
    "88216": "Thuraya",
}

DEFAULTS: dict[str, float | int] = {
    **{f"velocity_accountcode_calls_{w}": v for w, v in zip(WINDOWS, (150, 300, 900), strict=True)},
    **{f"velocity_accountcode_minutes_{w}": v for w, v in zip(WINDOWS, (300, 750, 2500), strict=True)},
    **{f"velocity_accountcode_cost_{w}": v for w, v in zip(WINDOWS, (30.0, 75.0, 250.0), strict=True)},
    **{f"velocity_country_calls_{w}": v for w, v in zip(WINDOWS, (600, 1500, 5000), strict=True)},
    **{f"velocity_country_minutes_{w}": v for w, v in zip(WINDOWS, (1500, 4000, 12000), strict=True)},
    **{f"velocity_country_cost_{w}": v for w, v in zip(WINDOWS, (150.0, 400.0, 1200.0), strict=True)},
    "spike_min_calls": 60,  # the hour needs at least this many calls ...
    "spike_score": 6.0,  # ... a robust z-score of at least this ...
    "spike_ratio": 3.0,  # ... and at least this many times the median of the same hour
    "spike_min_history_days": 3,  # days of stored traffic needed before a baseline is trusted
    "new_country_window_hours": 24,
    "new_country_history_days": 30,
    "new_country_min_history_calls": 20,  # an accountcode needs this much history for "new" to mean anything ...
    "new_country_min_history_days": 5,  # ... on at least this many different days
    "new_country_min_calls": 5,  # calls to the new country in the window
    "high_cost_window_hours": 24,
    "high_cost_min_calls": 3,
    "short_burst_window_minutes": 15,
    "short_burst_min_calls": 30,
    "short_burst_ratio": 0.5,  # short calls / answered calls
    "repeat_window_minutes": 180,
    "repeat_min_calls": 50,
}


@dataclass
class Threat:
    kind: str
    subject: str  # what it is about, e.g. "accountcode 1001"
    title: str
    detail: str
    window_start: datetime
    window_end: datetime
    filters: dict = field(default_factory=dict)  # accountcode, country, switch_id, number, prefix
    calls: int = 0
    minutes: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    cost_at_risk: Decimal = Decimal(0)
    score: float = 0.0  # how far over its limit (1 = at the limit)
    unrated_calls: int = 0  # answered calls without a price: the cost at risk leaves them out

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "title": self.title,
            "detail": self.detail,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "filters": self.filters,
            "calls": self.calls,
            "minutes": self.minutes,
            "cost": self.cost,
            "cost_at_risk": self.cost_at_risk,
            "score": round(self.score, 2),
            "unrated_calls": self.unrated_calls,
        }


def _floor_minute(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def _floor_quarter(instant: datetime) -> datetime:
    instant = _floor_minute(instant)
    return instant.replace(minute=instant.minute // 15 * 15)


def _subject(dim: str, value) -> str:
    return {
        "accountcode": f"accountcode {value}",
        "country": f"country {value}",
        "switch": f"switch {value}",
        "number": f"number {value}",
    }[dim]


_DIM_COLUMNS = {"accountcode": "accountcode", "country": "country_code", "switch": "switch_id"}
# The smallest rollups keyed on each dimension, per minute and per quarter hour.
_MINUTE_TABLES = {"accountcode": MINUTE_ACCOUNT.name, "country": MINUTE.name}
_QUARTER_TABLES = {
    "accountcode": HOUR_ACCOUNT.name,
    "country": "cdr_rollup_hour_country",
    "switch": "cdr_rollup_hour_cause",
}


# --- velocity -------------------------------------------------------------------------------------------


def velocity(now: datetime, s: dict) -> list[Threat]:
    """Calls, minutes or cost per accountcode / destination country in sliding windows, above the limits."""
    end = _floor_minute(now) + timedelta(minutes=1)  # the minute under way counts
    found: dict[tuple, Threat] = {}
    for dim in ("accountcode", "country"):
        column = _DIM_COLUMNS[dim]
        longest = end - timedelta(minutes=max(WINDOWS))
        rows = db.rows(
            f"""
            SELECT r.{column} AS key, w.minutes AS win, sum(r.attempts) AS calls, sum(r.billsec_sum) / 60.0 AS minutes,
                   sum(r.buy_cost) AS cost
            FROM unnest(CAST(:windows AS int[])) AS w(minutes)
            JOIN {_MINUTE_TABLES[dim]} r ON r.bucket >= CAST(:end AS timestamptz) - make_interval(mins => w.minutes)
                                    AND r.bucket < :end
            WHERE r.bucket >= :longest AND r.{column} <> ''
            GROUP BY 1, 2""",
            windows=list(WINDOWS),
            end=end,
            longest=longest,
        )
        for row in rows:
            for measure in ("calls", "minutes", "cost"):
                limit = s[f"velocity_{dim}_{measure}_{row['win']}"]
                value = Decimal(row[measure] or 0)
                if not limit or value <= Decimal(str(limit)):
                    continue
                ratio = float(value / Decimal(str(limit)))
                current = found.get((dim, row["key"]))
                if current is None or ratio > current.score:
                    start = end - timedelta(minutes=row["win"])
                    found[(dim, row["key"])] = Threat(
                        "velocity",
                        _subject(dim, row["key"]),
                        _(
                            "%(measure)s of %(subject)s in %(window)s minutes",
                            measure=_(MEASURE_TITLES[measure]),
                            subject=_subject(dim, row["key"]),
                            window=row["win"],
                        ),
                        _(
                            "%(value)s %(measure)s in the last %(window)s minutes (limit %(limit)s)",
                            value=count_text(value),
                            measure=_(MEASURES[measure]),
                            window=row["win"],
                            limit=count_text(limit),
                        ),
                        start,
                        end,
                        {dim: row["key"]},
                        score=ratio,
                    )
    return list(found.values())


# --- spike against the baseline -------------------------------------------------------------------------


def robust_score(value: float, history: list[float]) -> tuple[float, float, float]:
    """(median, MAD, robust z-score) of ``value`` against ``history``; the MAD has a floor so that a flat
    history (MAD 0) still gives a finite score: max(MAD, 10 % of the median, 1)."""
    median = statistics.median(history)
    mad = statistics.median(abs(h - median) for h in history)
    scale = 1.4826 * max(mad, 0.1 * median, 1.0)
    return median, mad, (value - median) / scale


def spike(now: datetime, s: dict) -> list[Threat]:
    """The last hour of each accountcode, country and switch against the same hour of 28 days."""
    end = _floor_quarter(now)
    start = end - timedelta(hours=1)
    threats = []
    covered = {
        r["k"]
        for r in db.rows(
            """
        SELECT d.k FROM generate_series(1, 28) AS d(k)
        WHERE EXISTS (SELECT 1 FROM cdr_rollup_hour r
                      WHERE r.bucket >= CAST(:start AS timestamptz) - make_interval(days => d.k)
                        AND r.bucket < CAST(:end AS timestamptz) - make_interval(days => d.k))""",
            start=start,
            end=end,
        )
    }
    if len(covered) < s["spike_min_history_days"]:
        return []
    for dim, column in _DIM_COLUMNS.items():
        rows = db.rows(
            f"""
            SELECT r.{column}::text AS key, d.k, sum(r.attempts) AS calls, sum(r.billsec_sum) / 60.0 AS minutes
            FROM generate_series(0, 28) AS d(k)
            JOIN {_QUARTER_TABLES[dim]} r ON r.bucket >= CAST(:start AS timestamptz) - make_interval(days => d.k)
                                  AND r.bucket < CAST(:end AS timestamptz) - make_interval(days => d.k)
            WHERE r.{column}::text <> ''
              AND r.{column} IN (SELECT {column} FROM {_QUARTER_TABLES[dim]} WHERE bucket >= :start AND bucket < :end
                                 GROUP BY 1 HAVING sum(attempts) >= :min_calls)
            GROUP BY 1, 2""",
            start=start,
            end=end,
            min_calls=s["spike_min_calls"],
        )
        by_key: dict[str, dict[int, dict]] = {}
        for row in rows:
            by_key.setdefault(row["key"], {})[row["k"]] = row
        for key, days in by_key.items():
            now_row = days.get(0)
            if now_row is None:
                continue
            for measure in ("calls", "minutes"):
                value = float(now_row[measure] or 0)
                history = [float((days.get(k) or {}).get(measure) or 0) for k in sorted(covered)]
                median, mad, score = robust_score(value, history)
                if measure == "calls" and value < s["spike_min_calls"]:
                    continue
                if score < s["spike_score"] or value < s["spike_ratio"] * median or value <= 0:
                    continue
                label = _subject(dim, _switch_name(key) if dim == "switch" else key)
                threats.append(
                    Threat(
                        "spike",
                        label,
                        _(
                            "%(measure)s of %(subject)s far above its usual hour",
                            measure=_(MEASURE_TITLES[measure]),
                            subject=label,
                        ),
                        _(
                            "%(value)s %(measure)s in the hour against a median of %(median)s (MAD %(mad)s, "
                            "robust z %(score)s) over %(days)s days",
                            value=count_text(value),
                            measure=_(MEASURES[measure]),
                            median=count_text(median),
                            mad=count_text(mad),
                            score=f"{score:.1f}",
                            days=len(history),
                        ),
                        start,
                        end,
                        {"switch_id" if dim == "switch" else dim: int(key) if dim == "switch" else key},
                        score=score / s["spike_score"],
                    )
                )
                break
    return threats


@functools.lru_cache(maxsize=256)
def _switch_name_cached(switch_id: str) -> str:
    return db.scalar("SELECT name FROM switch WHERE id = :id", id=int(switch_id)) or switch_id


def _switch_name(switch_id: str) -> str:
    return _switch_name_cached(str(switch_id))


# --- new destination country ----------------------------------------------------------------------------


def new_country(now: datetime, s: dict) -> list[Threat]:
    """Accountcodes with history (calls on several days) calling a country they have not called in the
    last 30 days."""
    end = now.astimezone(UTC)
    start = end - timedelta(hours=s["new_country_window_hours"])
    history_start = start - timedelta(days=s["new_country_history_days"])
    # No rollup crosses accountcodes with countries (it would hold about a row per call): the recent
    # pairs come from the calls of the window, and "called before" is one probe of the index on cdr
    # (accountcode, country_code, starting_date) per pair.
    rows = db.rows(
        """
        WITH recent AS (
            SELECT accountcode, country_code, count(*) AS calls, min(starting_date) AS first_call
            FROM cdr WHERE starting_date >= :start AND starting_date < :end AND accountcode <> '' AND country_code <> ''
            GROUP BY 1, 2),
        known AS (  -- the accountcode's history: calls, and on how many different (UTC) days
            SELECT accountcode, sum(attempts) AS calls, count(DISTINCT date_trunc('day', bucket, 'UTC')) AS days
            FROM cdr_rollup_hour_traffic
            WHERE bucket >= :history_start AND bucket < :start AND accountcode IN (SELECT accountcode FROM recent)
            GROUP BY 1)
        SELECT r.accountcode, r.country_code, r.calls, r.first_call, c.name AS country
        FROM recent r JOIN known k ON k.accountcode = r.accountcode
        LEFT JOIN country c ON c.code = r.country_code
        WHERE NOT EXISTS (SELECT 1 FROM cdr h WHERE h.accountcode = r.accountcode AND h.country_code = r.country_code
                            AND h.starting_date >= :history_start AND h.starting_date < :start)
          AND r.calls >= :min_calls AND k.calls >= :min_history AND k.days >= :min_days""",
        start=start,
        end=end,
        history_start=history_start,
        min_history=s["new_country_min_history_calls"],
        min_calls=max(s["new_country_min_calls"], 1),
        min_days=s["new_country_min_history_days"],
    )
    return [
        Threat(
            "new_country",
            f"accountcode {r['accountcode']} to {r['country_code']}",
            _(
                "Accountcode %(accountcode)s calls %(country)s for the first time",
                accountcode=r["accountcode"],
                country=r["country"] or r["country_code"],
            ),
            _(
                "%(calls)s call(s) to %(country)s since %(since)s UTC; none in the %(days)s days before",
                calls=r["calls"],
                country=r["country"] or r["country_code"],
                since=f"{r['first_call']:%Y-%m-%d %H:%M}",
                days=s["new_country_history_days"],
            ),
            start,
            end,
            {"accountcode": r["accountcode"], "country": r["country_code"]},
            score=1.0,
        )
        for r in rows
    ]


# --- high-cost destinations -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=200_000)
def number_category(number: str) -> str | None:
    """'premium rate', 'shared cost' or 'satellite' for a number in international format, else None."""
    if not number or len(number) < 7 or not number.isdigit():
        return None
    for prefix in sorted(SATELLITE_PREFIXES, key=len, reverse=True):
        if number.startswith(prefix):
            return "satellite"
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.PREMIUM_RATE:
        return "premium rate"
    if kind == PhoneNumberType.SHARED_COST:
        return "shared cost"
    return None


def list_high_cost_prefixes() -> list[dict]:
    return db.rows("SELECT prefix, description, created_at FROM high_cost_prefix ORDER BY prefix")


def add_high_cost_prefix(prefix: str, description: str = "") -> None:
    prefix = "".join((prefix or "").split()).lstrip("+")
    if not prefix.isdigit() or len(prefix) > 20:
        raise ValueError(_("A high-cost prefix is 1 to 20 digits, in international format."))
    db.execute(
        "INSERT INTO high_cost_prefix (prefix, description) VALUES (:p, :d) "
        "ON CONFLICT (prefix) DO UPDATE SET description = excluded.description",
        p=prefix,
        d=description or "",
    )


def delete_high_cost_prefix(prefix: str) -> None:
    db.execute("DELETE FROM high_cost_prefix WHERE prefix = :p", p=prefix)


def high_cost_report(start: datetime, end: datetime) -> list[dict]:
    """Calls and cost to high-cost destinations in [start, end), per accountcode and category."""
    admin = {r["prefix"]: r["description"] for r in list_high_cost_prefixes()}
    rows = db.rows(
        """
        SELECT c.normalised_number AS number, COALESCE(c.accountcode, '') AS accountcode,
               max(c.country_code) AS country, count(*) AS calls, COALESCE(sum(c.billsec), 0) / 60.0 AS minutes,
               COALESCE(sum(c.buy_cost), 0) AS cost, COALESCE(sum(c.sell_cost), 0) AS revenue,
               COALESCE(sum(COALESCE(c.billsec / 60.0 * c.sell_rate, c.sell_cost)), 0) AS at_risk
        FROM cdr c WHERE c.starting_date >= :start AND c.starting_date < :end AND c.normalised_number IS NOT NULL
          AND length(c.normalised_number) >= 7
        GROUP BY 1, 2""",
        start=start,
        end=end,
    )
    totals: dict[tuple, dict] = {}
    for row in rows:
        number = row["number"]
        own = max((p for p in admin if number.startswith(p)), key=len, default=None)
        category = f"admin list {own}" if own else number_category(number)
        if category is None:
            continue
        entry = totals.setdefault(
            (row["accountcode"], category),
            {
                "accountcode": row["accountcode"],
                "category": category,
                "calls": 0,
                "minutes": Decimal(0),
                "cost": Decimal(0),
                "revenue": Decimal(0),
                "at_risk": Decimal(0),
                "numbers": set(),
                "countries": set(),
            },
        )
        for measure in ("calls", "minutes", "cost", "revenue", "at_risk"):
            entry[measure] += row[measure]
        entry["numbers"].add(number)
        if row["country"]:
            entry["countries"].add(row["country"].strip())
    result = []
    for entry in totals.values():
        numbers = sorted(entry.pop("numbers"))
        entry["numbers"] = len(numbers)
        entry["number_list"] = numbers
        entry["sample_number"] = numbers[0]
        entry["prefix"] = _common_prefix(numbers)
        entry["countries"] = ", ".join(sorted(entry["countries"]))
        result.append(entry)
    return sorted(result, key=lambda e: (-e["at_risk"], -e["calls"], e["accountcode"]))


def _common_prefix(numbers: list[str]) -> str:
    first, last = min(numbers), max(numbers)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def high_cost(now: datetime, s: dict) -> list[Threat]:
    end = now.astimezone(UTC)
    start = end - timedelta(hours=s["high_cost_window_hours"])
    threats = []
    for row in high_cost_report(start, end):
        if row["calls"] < s["high_cost_min_calls"] or not row["accountcode"]:
            continue
        # The calls counted are those to the category's numbers, not every call of the accountcode: the
        # numbers themselves are the filter (the prefix too, for the CDR search's link), so that the threat's
        # calls, minutes and cost are those of its description.
        filters = {"accountcode": row["accountcode"], "numbers": row["number_list"]}
        if len(row["prefix"]) >= 3:
            filters["prefix"] = row["prefix"]
        threats.append(
            Threat(
                "high_cost",
                f"accountcode {row['accountcode']} {row['category']}",
                _(
                    "Accountcode %(accountcode)s calls %(category)s numbers",
                    accountcode=row["accountcode"],
                    category=category_label(row["category"]),
                ),
                _(
                    "%(calls)s call(s), %(minutes)s min to %(numbers)s %(category)s number(s) (%(countries)s), "
                    "e.g. +%(sample)s",
                    calls=row["calls"],
                    minutes=count_text(row["minutes"]),
                    numbers=row["numbers"],
                    category=category_label(row["category"]),
                    countries=row["countries"] or _("unknown country"),
                    sample=row["sample_number"],
                ),
                start,
                end,
                filters,
                score=row["calls"] / max(s["high_cost_min_calls"], 1),
            )
        )
    return threats


# --- short-call bursts and repeated numbers ---------------------------------------------------------------


def short_burst(now: datetime, s: dict) -> list[Threat]:
    from data.core.settings import load_settings

    short_seconds = load_settings().short_call_seconds  # what the rollups counted as short
    end = _floor_minute(now) + timedelta(minutes=1)
    start = end - timedelta(minutes=s["short_burst_window_minutes"])
    rows = db.rows(
        """SELECT accountcode, sum(short_calls) AS short, sum(answered) AS answered, sum(attempts) AS calls
                      FROM cdr_rollup_minute_account WHERE bucket >= :start AND bucket < :end AND accountcode <> ''
                      GROUP BY 1 HAVING sum(short_calls) >= :min_calls""",
        start=start,
        end=end,
        min_calls=max(s["short_burst_min_calls"], 1),
    )
    threats = []
    for r in rows:
        share = r["short"] / r["answered"] if r["answered"] else 0
        if share < s["short_burst_ratio"]:
            continue
        threats.append(
            Threat(
                "short_burst",
                f"accountcode {r['accountcode']}",
                _("Burst of short calls from accountcode %(accountcode)s", accountcode=r["accountcode"]),
                _(
                    "%(short)s very short answered calls of %(answered)s answered (%(share)s) in %(window)s minutes",
                    short=r["short"],
                    answered=r["answered"],
                    share=f"{share:.0%}",
                    window=s["short_burst_window_minutes"],
                ),
                start,
                end,
                {"accountcode": r["accountcode"], "short": True, "short_seconds": short_seconds},
                score=r["short"] / max(s["short_burst_min_calls"], 1),
            )
        )
    return threats


def repeat_number(now: datetime, s: dict) -> list[Threat]:
    end = now.astimezone(UTC)
    start = end - timedelta(minutes=s["repeat_window_minutes"])
    rows = db.rows(
        """SELECT normalised_number AS number, count(*) AS calls,
                             array_agg(DISTINCT COALESCE(accountcode, '')) AS accountcodes
                      FROM cdr WHERE starting_date >= :start AND starting_date < :end
                        AND normalised_number IS NOT NULL AND normalised_number <> ''
                      GROUP BY 1 HAVING count(*) >= :min_calls""",
        start=start,
        end=end,
        min_calls=max(s["repeat_min_calls"], 1),
    )
    threats = []
    for r in rows:
        codes = [c for c in r["accountcodes"] if c]
        filters = {"number": r["number"]}
        if len(codes) == 1:
            filters["accountcode"] = codes[0]
        threats.append(
            Threat(
                "repeat_number",
                f"number {r['number']}",
                _("+%(number)s dialled %(calls)s times", number=r["number"], calls=r["calls"]),
                _(
                    "%(calls)s calls to +%(number)s in %(window)s minutes",
                    calls=r["calls"],
                    number=r["number"],
                    window=s["repeat_window_minutes"],
                )
                + (_(" from accountcode(s) %(codes)s", codes=", ".join(codes[:5])) if codes else ""),
                start,
                end,
                filters,
                score=r["calls"] / max(s["repeat_min_calls"], 1),
            )
        )
    return threats


def count_text(value) -> str:
    value = float(value)
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 100 else f"{value:,.2f}"
