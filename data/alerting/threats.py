"""Threat control: abnormal traffic found in the recent calls, ranked by the money at risk.

Each detector returns ``Threat`` objects; ``detect`` runs them all and ranks the threats by their
estimated cost at risk (the minutes of the calls concerned × their sell rate), then by how far they
are over their limit. Thresholds are ``alert_setting`` rows with the defaults of ``DEFAULTS``
(documented in docs/alarms.md); a limit of 0 turns a check off.

- **velocity**: calls, minutes or cost of an accountcode or a destination country in the sliding
  5, 15 and 60 minutes ending now (minute rollups), above a limit;
- **spike**: the last hour of an accountcode, destination country or switch far above the same hour
  of the previous 28 days: robust z-score (x − median) / (1.4826 × MAD), with a minimum volume, a
  minimum ratio to the median and a minimum of days of history (days before any traffic was stored
  are not counted as zeros);
- **new country**: an accountcode with history calling a country it has not called in 30 days;
- **high cost**: calls to premium-rate and shared-cost numbers (``phonenumbers``), satellite
  networks (+870, +881, +88216) and the admin's list of high-cost prefixes;
- **short-call burst**: many answered calls shorter than SHORT_CALL_SECONDS from one accountcode;
- **repeated number**: one number dialled many times in the last hour.

The ``threats`` job records each new threat in ``threat_event`` (the history) and notifies the
admins and the webhooks subscribed to ``threat`` — once per threat and hour.
"""

from __future__ import annotations

import functools
import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlalchemy import text

from data.alerting.alarms import get_settings, save_settings
from data.core import db
from data.core.rollups import HOUR_ACCOUNT, MINUTE, MINUTE_ACCOUNT

UTC = timezone.utc
WINDOWS = (5, 15, 60)
SATELLITE_PREFIXES = {
    "870": "Inmarsat",
    "881": "Global Mobile Satellite System (Iridium, Globalstar)",
    "88216": "Thuraya",
}
KINDS = {
    "velocity": "Velocity",
    "spike": "Spike against baseline",
    "new_country": "New destination country",
    "high_cost": "High-cost destination",
    "short_burst": "Short-call burst",
    "repeat_number": "Repeated number",
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
LABELS = {
    "spike_min_calls": "Spike: minimum calls in the hour",
    "spike_score": "Spike: minimum robust z-score",
    "spike_ratio": "Spike: minimum ratio to the median",
    "spike_min_history_days": "Spike: minimum days of history",
    "new_country_window_hours": "New country: recent window (hours)",
    "new_country_history_days": "New country: history (days)",
    "new_country_min_history_calls": "New country: minimum history calls of the accountcode",
    "new_country_min_history_days": "New country: minimum days with calls of the accountcode",
    "new_country_min_calls": "New country: minimum calls to the new country",
    "high_cost_window_hours": "High cost: window (hours)",
    "high_cost_min_calls": "High cost: minimum calls per accountcode",
    "short_burst_window_minutes": "Short-call burst: window (minutes)",
    "short_burst_min_calls": "Short-call burst: minimum short calls",
    "short_burst_ratio": "Short-call burst: minimum share of answered calls",
    "repeat_window_minutes": "Repeated number: window (minutes)",
    "repeat_min_calls": "Repeated number: minimum calls to one number",
}
for _key in DEFAULTS:
    if _key.startswith("velocity_"):
        _, _dim, _measure, _w = _key.split("_")
        LABELS[_key] = f"Velocity: {_measure} per {_dim} in {_w} min"


def settings() -> dict:
    return get_settings(DEFAULTS)


def save(values: dict) -> dict:
    return save_settings(values, DEFAULTS)


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
                        f"{measure.capitalize()} of {_subject(dim, row['key'])} in {row['win']} minutes",
                        f"{_num(value)} {measure} in the last {row['win']} minutes (limit {_num(limit)})",
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
                        f"{measure.capitalize()} of {label} far above its usual hour",
                        f"{_num(value)} {measure} in the hour against a median of {_num(median)} "
                        f"(MAD {_num(mad)}, robust z {score:.1f}) over {len(history)} days",
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
            f"Accountcode {r['accountcode']} calls {r['country'] or r['country_code']} for the first time",
            f"{r['calls']} call(s) to {r['country'] or r['country_code']} since "
            f"{r['first_call']:%Y-%m-%d %H:%M} UTC; none in the {s['new_country_history_days']} days before",
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
        raise ValueError("A high-cost prefix is 1 to 20 digits, in international format.")
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
        filters = {"accountcode": row["accountcode"]}
        if len(row["prefix"]) >= 3:
            filters["prefix"] = row["prefix"]
        threats.append(
            Threat(
                "high_cost",
                f"accountcode {row['accountcode']} {row['category']}",
                f"Accountcode {row['accountcode']} calls {row['category']} numbers",
                f"{row['calls']} call(s), {_num(row['minutes'])} min to {row['numbers']} {row['category']} number(s) "
                f"({row['countries'] or 'unknown country'}), e.g. +{row['sample_number']}",
                start,
                end,
                filters,
                score=row["calls"] / max(s["high_cost_min_calls"], 1),
            )
        )
    return threats


# --- short-call bursts and repeated numbers ---------------------------------------------------------------


def short_burst(now: datetime, s: dict) -> list[Threat]:
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
                f"Burst of short calls from accountcode {r['accountcode']}",
                f"{r['short']} very short answered calls of {r['answered']} answered ({share:.0%}) in "
                f"{s['short_burst_window_minutes']} minutes",
                start,
                end,
                {"accountcode": r["accountcode"], "short": True},
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
                f"+{r['number']} dialled {r['calls']} times",
                f"{r['calls']} calls to +{r['number']} in {s['repeat_window_minutes']} minutes"
                + (f" from accountcode(s) {', '.join(codes[:5])}" if codes else ""),
                start,
                end,
                filters,
                score=r["calls"] / max(s["repeat_min_calls"], 1),
            )
        )
    return threats


DETECTORS = {
    "velocity": velocity,
    "spike": spike,
    "new_country": new_country,
    "high_cost": high_cost,
    "short_burst": short_burst,
    "repeat_number": repeat_number,
}


# --- ranking ----------------------------------------------------------------------------------------------


def _exposure(threat: Threat) -> None:
    """Fill the threat's calls, minutes, cost and cost at risk (minutes × sell rate) from its calls."""
    parts = ["c.starting_date >= :start", "c.starting_date < :end"]
    params = {"start": threat.window_start, "end": threat.window_end}
    f = threat.filters
    if "accountcode" in f:
        parts.append("c.accountcode = :accountcode")
        params["accountcode"] = f["accountcode"]
    if "country" in f:
        parts.append("c.country_code = :country")
        params["country"] = f["country"]
    if "switch_id" in f:
        parts.append("c.switch_id = :switch_id")
        params["switch_id"] = f["switch_id"]
    if "number" in f:
        parts.append("c.normalised_number = :number")
        params["number"] = f["number"]
    if "prefix" in f:
        parts.append("c.normalised_number LIKE :prefix")
        params["prefix"] = f["prefix"] + "%"
    if f.get("short"):
        parts.append("(c.answered_date IS NOT NULL OR c.billsec > 0) AND c.billsec < :short_seconds")
        from data.core.settings import load_settings

        params["short_seconds"] = load_settings().short_call_seconds
    row = db.rows(
        f"""SELECT count(*) AS calls, COALESCE(sum(c.billsec), 0) / 60.0 AS minutes,
                             COALESCE(sum(c.buy_cost), 0) AS cost,
                             COALESCE(sum(COALESCE(c.billsec / 60.0 * c.sell_rate, c.sell_cost)), 0) AS at_risk
                      FROM cdr c WHERE {" AND ".join(parts)}""",
        **params,
    )[0]
    threat.calls, threat.minutes, threat.cost = row["calls"], Decimal(row["minutes"]), Decimal(row["cost"])
    threat.cost_at_risk = Decimal(row["at_risk"]).quantize(Decimal("0.00001"))


def detect(now: datetime | None = None, kinds=None, s: dict | None = None) -> list[Threat]:
    """Every current threat, ranked by estimated cost at risk, then by how far over its limit."""
    now = now or datetime.now(UTC)
    s = s or settings()
    threats = []
    for kind, detector in DETECTORS.items():
        if kinds is None or kind in kinds:
            threats.extend(detector(now, s))
    for threat in threats:
        _exposure(threat)
    return sorted(threats, key=lambda t: (-t.cost_at_risk, -t.score, t.kind, t.subject))


def cdr_search_link(threat: Threat | dict, tz: str = "UTC") -> str:
    """The CDR search (``/cdrs``) showing the threat's calls: its window and filters, in the viewer's zone."""
    t = threat.as_dict() if isinstance(threat, Threat) else threat
    zone = ZoneInfo(tz)
    start = t["window_start"].astimezone(zone)
    end = t["window_end"].astimezone(zone)
    if end.second or end.microsecond:
        end = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    query = {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}", "from": f"{start:%H:%M}", "to": f"{end:%H:%M}"}
    f = t["filters"]
    if "accountcode" in f:
        query["accountcode"] = f["accountcode"]
    if "country" in f:
        query["country"] = f["country"]
    if "switch_id" in f:
        query["switch"] = str(f["switch_id"])
    if "number" in f:
        query.update(dst=f["number"], dst_op="ends")  # the number as dialled may carry 00 or + in front
    elif "prefix" in f:
        query.update(dst=f["prefix"], dst_op="contains")
    if f.get("short"):
        query.update(answered="1", billsec=str(_short_seconds() - 1), billsec_op="le")
    return "/cdrs?" + urlencode(query)


def _short_seconds() -> int:
    from data.core.settings import load_settings

    return load_settings().short_call_seconds


def _num(value) -> str:
    value = float(value)
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 100 else f"{value:,.2f}"


# --- the scheduled job ------------------------------------------------------------------------------------


def run_job(now: datetime | None = None) -> dict:
    """The ``threats`` job: detect, record new threats (once per threat and hour), notify them."""
    from data.alerting.destination_alerts import admin_recipients
    from data.alerting.webhooks import notify

    now = now or datetime.now(UTC)
    threats = detect(now)
    new = 0
    recipients = None
    for threat in threats:
        flood_key = f"{threat.key}:{now.astimezone(UTC):%Y-%m-%dT%H}"
        with db.transaction() as conn:
            event_id = conn.execute(
                text("""INSERT INTO threat_event (kind, subject, flood_key, detected_at,
                                                 window_start, window_end, cost_at_risk, details)
                                VALUES (:kind, :subject, :key, :now, :ws, :we, :risk, CAST(:details AS jsonb))
                                ON CONFLICT (flood_key) DO NOTHING RETURNING id"""),
                {
                    "kind": threat.kind,
                    "subject": threat.subject,
                    "key": flood_key,
                    "now": now,
                    "ws": threat.window_start,
                    "we": threat.window_end,
                    "risk": threat.cost_at_risk,
                    "details": json.dumps(threat.as_dict(), default=str),
                },
            ).scalar()
        if event_id is None:
            continue
        new += 1
        recipients = admin_recipients() if recipients is None else recipients
        body = "\n".join(
            [
                threat.detail,
                "",
                f"Calls: {threat.calls}, minutes: {_num(threat.minutes)}, "
                f"estimated cost at risk: {_num(threat.cost_at_risk)}",
                f"Window: {threat.window_start:%Y-%m-%d %H:%M} to {threat.window_end:%H:%M} UTC",
                f"Calls: {cdr_search_link(threat)}",
            ]
        )
        notify(
            recipients,
            f"Threat: {threat.title}",
            body,
            event=f"threat.{threat.kind}",
            payload={"threat": threat.as_dict()},
            dedup_key=f"threat:{flood_key}",
            broadcast="threat",
        )
        db.execute("UPDATE threat_event SET notified_at = now() WHERE id = :id", id=event_id)
    return {"threats": len(threats), "new": new}


def history(limit: int = 200) -> list[dict]:
    return db.rows(
        """SELECT id, kind, subject, detected_at, window_start, window_end, cost_at_risk, details,
                             notified_at FROM threat_event ORDER BY detected_at DESC, id DESC LIMIT :limit""",
        limit=limit,
    )
