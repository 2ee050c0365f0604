"""Threat control: abnormal traffic found in the recent calls, ranked by the money at risk.

Each detector returns ``Threat`` objects; ``detect`` runs them all and ranks the threats by how far
they are over their limit, then by their estimated cost at risk (the minutes of the calls concerned ×
their sell rate; unknown when the calls are unrated, so it cannot rank first). Thresholds are
``alert_setting`` rows with the defaults of ``DEFAULTS`` (documented in docs/alarms.md); a limit of 0
turns a check off.

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

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import text

from data.alerting.alert_settings import get_settings, save_settings
from data.alerting.threat_detectors import (
    DEFAULTS,
    Threat,
    count_text,
    high_cost,
    new_country,
    repeat_number,
    short_burst,
    spike,
    velocity,
)
from data.core import db
from data.core.i18n import DEFAULT_LANGUAGE, current_language
from data.core.i18n import gettext as _

UTC = timezone.utc


def settings() -> dict:
    return get_settings(DEFAULTS)


def save(values: dict) -> dict:
    return save_settings(values, DEFAULTS)


DETECTORS = {
    "velocity": velocity,
    "spike": spike,
    "new_country": new_country,
    "high_cost": high_cost,
    "short_burst": short_burst,
    "repeat_number": repeat_number,
}


# --- ranking ----------------------------------------------------------------------------------------------


# A threat's filters that name one value of a ``cdr`` column.
_EQUAL_FILTERS = {
    "accountcode": "accountcode",
    "country": "country_code",
    "switch_id": "switch_id",
    "number": "normalised_number",
}


def _exposure(threat: Threat) -> None:
    """Fill the threat's calls, minutes, cost and cost at risk (minutes × sell rate) from its calls."""
    parts = ["c.starting_date >= :start", "c.starting_date < :end"]
    params = {"start": threat.window_start, "end": threat.window_end}
    f = threat.filters
    for name, column in _EQUAL_FILTERS.items():
        if name in f:
            parts.append(f"c.{column} = :{name}")
            params[name] = f[name]
    if "numbers" in f:
        parts.append("c.normalised_number = ANY(:numbers)")
        params["numbers"] = list(f["numbers"])
    if "prefix" in f:
        parts.append("c.normalised_number LIKE :prefix")
        params["prefix"] = f["prefix"] + "%"
    if f.get("short"):
        parts.append("(c.answered_date IS NOT NULL OR c.billsec > 0) AND c.billsec < :short_seconds")
        params["short_seconds"] = f.get("short_seconds") or _short_seconds()
    row = db.rows(
        f"""SELECT count(*) AS calls, COALESCE(sum(c.billsec), 0) / 60.0 AS minutes,
                             COALESCE(sum(c.buy_cost), 0) AS cost,
                             COALESCE(sum(COALESCE(c.billsec / 60.0 * c.sell_rate, c.sell_cost)), 0) AS at_risk,
                             count(*) FILTER (WHERE c.billsec > 0 AND c.sell_rate IS NULL AND c.sell_cost IS NULL)
                                 AS unrated_calls
                      FROM cdr c WHERE {" AND ".join(parts)}""",
        **params,
    )[0]
    threat.calls, threat.minutes, threat.cost = row["calls"], Decimal(row["minutes"]), Decimal(row["cost"])
    threat.cost_at_risk = Decimal(row["at_risk"]).quantize(Decimal("0.00001"))
    threat.unrated_calls = row["unrated_calls"]


def rank_key(threat: Threat) -> tuple:
    """How threats are ranked: how far over its limit first (a threat on unrated calls, whose cost at risk
    is unknown, is not ranked as harmless), then the cost at risk, then the kind and subject."""
    return (-round(threat.score, 1), -threat.cost_at_risk, threat.kind, threat.subject)


@db.reading
def detect(now: datetime | None = None, kinds=None, s: dict | None = None) -> list[Threat]:
    """Every current threat, ranked by how far over its limit, then by estimated cost at risk (``rank_key``)."""
    now = now or datetime.now(UTC)
    s = s or settings()
    threats = []
    for kind, detector in DETECTORS.items():
        if kinds is None or kind in kinds:
            threats.extend(detector(now, s))
    for threat in threats:
        _exposure(threat)
    return sorted(threats, key=rank_key)


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


# --- the scheduled job ------------------------------------------------------------------------------------


def run_job(now: datetime | None = None) -> dict:
    """The ``threats`` job: detect, record new threats (once per threat and hour), notify them."""
    from data.alerting.destination_alerts import admin_recipients
    from data.alerting.webhooks import languages_of, notify

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
        recipients = languages_of(admin_recipients()) if recipients is None else recipients
        sent = notify(
            recipients,
            lambda threat=threat: mail_text(threat, now),
            "",
            event=f"threat.{threat.kind}",
            payload={"threat": threat.as_dict()},
            dedup_key=f"threat:{flood_key}",
            broadcast="threat",
        )
        db.execute(
            "UPDATE threat_event SET notified_at = now(), notified_count = :n WHERE id = :id",
            id=event_id,
            n=int(bool(sent["mail"])) + len(sent["webhooks"]),
        )
    return {"threats": len(threats), "new": new}


def mail_text(threat: Threat, now: datetime) -> tuple[str, str]:
    """A new threat's e-mail in the current language (its title and detail are texts: the job detected it in
    English, another language detects it again in that language)."""
    written = threat
    if current_language() != DEFAULT_LANGUAGE:
        written = {t.key: t for t in detect(now, kinds=[threat.kind])}.get(threat.key, threat)
    body = "\n".join(
        [
            written.detail,
            "",
            _(
                "Calls: %(calls)s, minutes: %(minutes)s, estimated cost at risk: %(at_risk)s",
                calls=threat.calls,
                minutes=count_text(threat.minutes),
                at_risk=count_text(threat.cost_at_risk),
            ),
            _(
                "Window: %(start)s to %(end)s UTC",
                start=f"{threat.window_start:%Y-%m-%d %H:%M}",
                end=f"{threat.window_end:%H:%M}",
            ),
            _("Calls: %(link)s", link=cdr_search_link(threat)),
        ]
    )
    return _("Threat: %(title)s", title=written.title), body


def history(limit: int = 200) -> list[dict]:
    return db.rows(
        """SELECT id, kind, subject, detected_at, window_start, window_end, cost_at_risk, details,
                             notified_at FROM threat_event ORDER BY detected_at DESC, id DESC LIMIT :limit""",
        limit=limit,
    )
