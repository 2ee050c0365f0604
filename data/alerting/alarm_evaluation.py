"""Alarm evaluation: each alarm evaluated once per closed period, notified, recorded.

An alarm compares a metric (ASR, ACD, NER, calls, minutes, cost, short-call %, PDD, the share of a
hangup cause, consecutive incomplete calls) of a scope (all traffic, a switch, a customer, an
accountcode, a country, a destination prefix) over its period (5 or 15 minutes, hour, day, week,
month, in the owner's time zone) with a threshold, or with the previous period / the same period a
week earlier. ``evaluate`` is the one rule used by the scheduled job, by "test alarm" and by tests.

Units: ASR, NER, short-call % and cause share are percentages (0–100); ACD and PDD seconds; cost in
the rating currency (a customer's alarm uses what they are charged, the sell cost).

Conditions are signed: "decreases by more than X" is (earlier − current) > X, "increases by more than
X" is (current − earlier) > X; the percentage forms are relative to the earlier value (an earlier value
of 0 cannot be compared: the evaluation is recorded as not computable and does not fire).

The minimum-attempts guard: a ratio metric (ASR, ACD, NER, short-call %, PDD, cause share) needs the
minimum in the current period, and for change conditions in the earlier one too; a volume metric
(calls, minutes, cost, CIC) needs it in the busier of the two periods, so "calls decrease by more
than 90 %" still fires when traffic stops, while a quiet night pages nobody.

Metrics come from the rollups (the minute table for 5-minute periods, the 15-minute "hour" table
otherwise: every zone's quarter hours are exact), or from ``cdr`` for a destination prefix and for
CIC. Every evaluation of a closed period is stored once (unique alarm, period start) in
``alarm_evaluation``; a firing notifies (unless dry run) at most once per period, and the first
computable evaluation that does not fire after a firing sends a "cleared" notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from data.alerting.alarm_mail import mail_text, payload
from data.alerting.alarms import _SELECT, CHANGE_CONDITIONS, METRICS, Alarm, _alarm, format_number, unit_text
from data.alerting.alert_settings import SETTING_DEFAULTS, get_settings
from data.core import db
from data.core.i18n import gettext as _
from data.core.i18n import speaking
from data.core.kpis import Totals
from data.core.rollups import HOUR, HOUR_ACCOUNT, MINUTE, MINUTE_ACCOUNT
from data.core.settings import load_settings
from data.reports.traffic import SUMS

log = logging.getLogger("dialstat.alarms")
UTC = timezone.utc
FIXED = {"5m": timedelta(minutes=5), "15m": timedelta(minutes=15), "hour": timedelta(hours=1)}
MAX_REPLAY_DAYS = 31
MAX_REPLAY_PERIODS = 6000


# --- periods, in the owner's time zone --------------------------------------------------------------------


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def _first_of_previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def latest_end(period: str, instant: datetime, tz: str) -> datetime:
    """The last period boundary at or before ``instant``: the end of the latest closed period."""
    zone = ZoneInfo(tz)
    instant = instant.astimezone(UTC)
    if period in ("5m", "15m"):  # every zone's offset is a whole number of quarter hours (and of 5 minutes)
        step = int(FIXED[period].total_seconds())
        return datetime.fromtimestamp(int(instant.timestamp()) // step * step, UTC)
    local = instant.astimezone(zone)
    if period == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if period == "week":
        day -= timedelta(days=day.weekday())  # ISO weeks: Monday to Sunday
    elif period == "month":
        day = day.replace(day=1)
    return _local_midnight(day, zone)


def period_start(period: str, end: datetime, tz: str) -> datetime:
    """The start of the period that ends at the boundary ``end``."""
    if period in FIXED:
        return end - FIXED[period]
    zone = ZoneInfo(tz)
    last_day = end.astimezone(zone).date()
    first = {"day": last_day - timedelta(days=1), "week": last_day - timedelta(days=7)}.get(
        period
    ) or _first_of_previous_month(last_day)
    return _local_midnight(first, zone)


def _week_earlier(instant: datetime, zone: ZoneInfo) -> datetime:
    """The same local time a week earlier (across a DST change it is not 168 hours)."""
    local = instant.astimezone(zone).replace(tzinfo=None) - timedelta(days=7)
    return local.replace(tzinfo=zone).astimezone(UTC)


def comparison_window(alarm: Alarm, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if alarm.compare_to == "week_before":
        return _week_earlier(start, alarm.zone), _week_earlier(end, alarm.zone)
    return period_start(alarm.period, start, alarm.timezone), start


# --- measuring ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    value: Decimal | None
    attempts: int
    available: bool = True  # False: the data needed is older than the per-minute rollups keep


def _scope_sql(alarm: Alarm, alias: str) -> tuple[str, dict]:
    parts, params = [], {}
    if not alarm.owner_is_admin:  # a customer's alarm never reads other customers' calls
        parts.append(f"{alias}.user_id = :owner_id")
        params["owner_id"] = alarm.user_id
    kind, value = alarm.scope_kind, alarm.scope_value
    if kind == "switch":
        parts.append(f"{alias}.switch_id = :scope_switch")
        params["scope_switch"] = int(value)
    elif kind == "customer":
        parts.append(f"{alias}.user_id = :scope_customer")
        params["scope_customer"] = int(value)
    elif kind == "accountcode":
        parts.append(f"{alias}.accountcode = :scope_accountcode")
        params["scope_accountcode"] = value
    elif kind == "country":
        parts.append(f"{alias}.country_code = :scope_country")
        params["scope_country"] = value
    elif kind == "prefix":
        parts.append(f"{alias}.normalised_number LIKE :scope_prefix")
        params["scope_prefix"] = value + "%"
    return " AND ".join(parts) or "TRUE", params


_WINDOWS = "SELECT * FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) AS p(ps, pe)"
# The rollups' measures computed from cdr rows (same definitions as data.core.rollups), for prefix scopes.
_ANSWERED = "(c.answered_date IS NOT NULL OR c.billsec > 0)"
_CDR_SUMS = f"""count(c.starting_date) AS attempts,
    count(*) FILTER (WHERE {_ANSWERED}) AS answered,
    count(*) FILTER (WHERE {_ANSWERED} OR h.ner_success) AS ner_success,
    COALESCE(sum(c.duration), 0) AS duration_sum, COALESCE(sum(c.billsec), 0) AS billsec_sum,
    count(*) FILTER (WHERE {_ANSWERED} AND c.billsec < :short_call_seconds) AS short_calls,
    COALESCE(sum(c.progresssec), 0) AS pdd_sum, count(c.progresssec) AS pdd_count,
    COALESCE(sum(c.buy_cost), 0) AS buy_cost, COALESCE(sum(c.sell_cost), 0) AS sell_cost,
    count(*) FILTER (WHERE c.hangup_cause_id = :cause) AS cause_attempts"""


def _sums(alarm: Alarm, windows: list[tuple[datetime, datetime]]) -> dict:
    """{(start, end): (Totals, cause attempts)} for each window."""
    params = {"starts": [w[0] for w in windows], "ends": [w[1] for w in windows], "cause": alarm.hangup_cause_id or -1}
    # Prefixes are not in any rollup, nor are accountcodes crossed with hangup causes: those read cdr.
    if alarm.scope_kind == "prefix" or (alarm.scope_kind == "accountcode" and alarm.metric == "cause_share"):
        where, extra = _scope_sql(alarm, "c")
        sql = f"""SELECT p.ps, p.pe, {_CDR_SUMS}
                  FROM ({_WINDOWS}) p
                  LEFT JOIN cdr c ON c.starting_date >= p.ps AND c.starting_date < p.pe AND {where}
                  LEFT JOIN hangup_cause h ON h.code = c.hangup_cause_id
                  GROUP BY p.ps, p.pe"""
        params["short_call_seconds"] = load_settings().short_call_seconds
    else:
        where, extra = _scope_sql(alarm, "r")
        by_accountcode = alarm.scope_kind == "accountcode"  # its rollups have no hangup cause (not needed here)
        minute, quarter = (MINUTE_ACCOUNT, HOUR_ACCOUNT) if by_accountcode else (MINUTE, HOUR)
        table = minute.name if alarm.period == "5m" else quarter.name
        cause = "0" if by_accountcode else "COALESCE(sum(r.attempts) FILTER (WHERE r.hangup_cause_id = :cause), 0)"
        sql = f"""SELECT p.ps, p.pe, {SUMS}, {cause} AS cause_attempts
                  FROM ({_WINDOWS}) p
                  LEFT JOIN {table} r ON r.bucket >= p.ps AND r.bucket < p.pe AND {where}
                  GROUP BY p.ps, p.pe"""
    return {(r["ps"], r["pe"]): (Totals.from_row(r), r["cause_attempts"] or 0) for r in db.rows(sql, **params, **extra)}


def _cic(alarm: Alarm, windows: list[tuple[datetime, datetime]]) -> dict:
    """{(start, end): (attempts, longest run of consecutive unanswered calls of one accountcode)}."""
    where, extra = _scope_sql(alarm, "c")
    rows = db.rows(
        f"""
        WITH p AS ({_WINDOWS}),
        calls AS (
            SELECT p.ps, p.pe, COALESCE(c.accountcode, '') AS ac, c.starting_date, c.id, {_ANSWERED} AS ok
            FROM p JOIN cdr c ON c.starting_date >= p.ps AND c.starting_date < p.pe WHERE {where}),
        islands AS (
            SELECT ps, pe, ac, ok,
                   row_number() OVER (PARTITION BY ps, pe, ac ORDER BY starting_date, id)
                   - row_number() OVER (PARTITION BY ps, pe, ac, ok ORDER BY starting_date, id) AS island
            FROM calls),
        runs AS (SELECT ps, pe, count(*) AS run FROM islands WHERE NOT ok GROUP BY ps, pe, ac, island),
        attempts AS (SELECT ps, pe, count(*) AS attempts FROM calls GROUP BY ps, pe),
        longest AS (SELECT ps, pe, max(run) AS cic FROM runs GROUP BY ps, pe)
        SELECT p.ps, p.pe, COALESCE(a.attempts, 0) AS attempts, COALESCE(l.cic, 0) AS cic
        FROM p LEFT JOIN attempts a ON a.ps = p.ps AND a.pe = p.pe
        LEFT JOIN longest l ON l.ps = p.ps AND l.pe = p.pe""",
        starts=[w[0] for w in windows],
        ends=[w[1] for w in windows],
        **extra,
    )
    return {(r["ps"], r["pe"]): (r["attempts"], r["cic"]) for r in rows}


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * 100


def metric_value(alarm: Alarm, totals: Totals, cause_attempts: int = 0) -> Decimal | None:
    """The metric of ``totals`` in the alarm's units (None when its denominator is zero)."""
    metric = alarm.metric
    if metric == "asr":
        return _percent(totals.asr)
    if metric == "acd":
        return totals.acd
    if metric == "ner":
        return _percent(totals.ner)
    if metric == "calls":
        return Decimal(totals.attempts)
    if metric == "minutes":
        return totals.minutes
    if metric == "cost":
        return totals.cost if alarm.owner_is_admin else totals.revenue  # a customer's cost is their price
    if metric == "short_calls":
        return _percent(totals.short_call_ratio)
    if metric == "pdd":
        return totals.pdd
    if metric == "cause_share":
        return _percent(Totals(attempts=totals.attempts, answered=cause_attempts).asr)
    raise ValueError(f"metric {metric!r} is not read from sums")


@db.reading
def measure(alarm: Alarm, windows: list[tuple[datetime, datetime]], now: datetime | None = None) -> dict:
    """{(start, end): Measure} of the alarm's metric over each window, in one query."""
    windows = list(dict.fromkeys(windows))
    result = {}
    if alarm.period == "5m" and alarm.scope_kind != "prefix" and alarm.metric != "cic":
        cutoff = (now or datetime.now(UTC)) - timedelta(days=load_settings().rollup_minute_days)
        for window in [w for w in windows if w[0] < cutoff]:
            result[window] = Measure(None, 0, available=False)
        windows = [w for w in windows if w[0] >= cutoff]
    if not windows:
        return result
    if alarm.metric == "cic":
        for window, (attempts, cic) in _cic(alarm, windows).items():
            result[window] = Measure(Decimal(cic), attempts)
    else:
        for window, (totals, cause_attempts) in _sums(alarm, windows).items():
            result[window] = Measure(metric_value(alarm, totals, cause_attempts), totals.attempts)
    return result


# --- evaluating -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    period_start: datetime
    period_end: datetime
    comparison_start: datetime
    comparison_end: datetime
    measured: Decimal | None
    comparison: Decimal | None
    threshold: Decimal
    fired: bool
    reason: str
    computable: bool = True
    attempts: int = 0
    comparison_attempts: int = 0


def judge(alarm: Alarm, current: Measure, earlier: Measure, windows: tuple) -> Evaluation:
    """The rule itself: does ``current`` (against ``earlier``) cross the alarm's threshold?"""
    start, end, cstart, cend = windows
    x, unit = alarm.threshold, unit_text(alarm)

    def result(fired: bool, reason: str, computable: bool = True) -> Evaluation:
        return Evaluation(
            start,
            end,
            cstart,
            cend,
            current.value,
            earlier.value,
            x,
            fired,
            reason,
            computable,
            current.attempts,
            earlier.attempts,
        )

    if not current.available or not earlier.available:
        return result(False, _("not computable: per-minute data that old is no longer kept"), False)
    change = alarm.condition in CHANGE_CONDITIONS
    minimum = alarm.min_attempts
    if METRICS[alarm.metric].ratio:
        short = current.attempts < minimum or (change and earlier.attempts < minimum)
    else:
        short = max(current.attempts, earlier.attempts) < minimum
    if short:
        return result(
            False,
            _(
                "below the minimum of %(minimum)s attempts (current %(current)s, earlier %(earlier)s)",
                minimum=minimum,
                current=current.attempts,
                earlier=earlier.attempts,
            ),
            False,
        )
    value, before = current.value, earlier.value
    if value is None:
        return result(False, _("not computable: no value in the current period"), False)
    label = _(METRICS[alarm.metric].label)
    if alarm.condition == "lt":
        fired = value < x
        return result(fired, f"{label} {format_number(value)}{unit} {'<' if fired else '≥'} {format_number(x)}{unit}")
    if alarm.condition == "gt":
        fired = value > x
        return result(fired, f"{label} {format_number(value)}{unit} {'>' if fired else '≤'} {format_number(x)}{unit}")
    if before is None:
        return result(False, _("not computable: no value in the earlier period"), False)
    change = value - before if alarm.condition.startswith("increase") else before - value
    if alarm.condition in ("decrease", "increase"):
        delta, delta_unit = change, unit
    elif before == 0:
        return result(False, _("not computable: the earlier value is 0, a percentage of it is undefined"), False)
    else:
        delta, delta_unit = change / abs(before) * 100, " %"
    fell = alarm.condition.startswith("decrease")
    fired = delta > x
    values = {
        "label": label,
        "delta": f"{format_number(delta)}{delta_unit}",
        "before": format_number(before),
        "value": format_number(value),
        "threshold": f"{format_number(x)}{delta_unit}",
    }
    if fell:
        reason = (
            _("%(label)s fell by %(delta)s (%(before)s → %(value)s), more than %(threshold)s", **values)
            if fired
            else _("%(label)s fell by %(delta)s (%(before)s → %(value)s), not more than %(threshold)s", **values)
        )
    else:
        reason = (
            _("%(label)s rose by %(delta)s (%(before)s → %(value)s), more than %(threshold)s", **values)
            if fired
            else _("%(label)s rose by %(delta)s (%(before)s → %(value)s), not more than %(threshold)s", **values)
        )
    return result(fired, reason)


def windows_for(alarm: Alarm, period_end: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    end = period_end.astimezone(UTC)
    start = period_start(alarm.period, end, alarm.timezone)
    return (start, end, *comparison_window(alarm, start, end))


def evaluate(
    alarm: Alarm, period_end: datetime, measurements: dict | None = None, now: datetime | None = None
) -> Evaluation:
    """Evaluate the alarm over the period ending at ``period_end`` (a boundary of its period).

    ``measurements`` ({(start, end): Measure}, from ``measure``) saves the queries when many periods
    are evaluated at once ("test alarm"); without it the two windows are measured now.
    """
    windows = windows_for(alarm, period_end)
    current, earlier = (windows[0], windows[1]), (windows[2], windows[3])
    if measurements is None or current not in measurements or earlier not in measurements:
        measurements = measure(alarm, [current, earlier], now=now)
    return judge(alarm, measurements[current], measurements[earlier], windows)


def replay(alarm: Alarm, days: int, now: datetime | None = None) -> list[Evaluation]:
    """ "Test alarm": every period of the last ``days`` days evaluated as the job would (newest first)."""
    now = now or datetime.now(UTC)
    days = max(1, min(int(days), MAX_REPLAY_DAYS))
    since = now - timedelta(days=days)
    ends = []
    end = latest_end(alarm.period, now, alarm.timezone)
    while len(ends) < MAX_REPLAY_PERIODS:
        start = period_start(alarm.period, end, alarm.timezone)
        if start < since:
            break
        ends.append(end)
        end = start
    all_windows = [windows_for(alarm, e) for e in ends]
    wanted = [w for ws in all_windows for w in ((ws[0], ws[1]), (ws[2], ws[3]))]
    measurements = measure(alarm, wanted, now=now)
    return [evaluate(alarm, e, measurements, now=now) for e in ends]


# --- the scheduled job --------------------------------------------------------------------------------------


def _active_alarms() -> list[tuple[Alarm, datetime | None, bool | None]]:
    """Active alarms, each with the start of its latest evaluated period and whether the latest
    computable evaluation fired (None: none yet)."""
    rows = db.rows(f"""{_SELECT.replace(" FROM alarm a", ", last.last_start, state.was_firing FROM alarm a", 1)}
        LEFT JOIN LATERAL (SELECT max(e.period_start) AS last_start FROM alarm_evaluation e
                           WHERE e.alarm_id = a.id) last ON true
        LEFT JOIN LATERAL (SELECT e.fired AS was_firing FROM alarm_evaluation e WHERE e.alarm_id = a.id AND e.computable
                           ORDER BY e.period_start DESC LIMIT 1) state ON true
        WHERE a.status = 'active' AND a.deleted_at IS NULL AND u.is_active ORDER BY a.id""")
    return [(_alarm(r), r["last_start"], r["was_firing"]) for r in rows]


def _previous_state(alarm_id: int, start: datetime) -> bool | None:
    """Whether the latest computable evaluation before ``start`` fired (None: there is none)."""
    return db.scalar(
        """SELECT fired FROM alarm_evaluation WHERE alarm_id = :id AND period_start < :start
                        AND computable ORDER BY period_start DESC LIMIT 1""",
        id=alarm_id,
        start=start,
    )


def event_of(ev: Evaluation, was_firing: bool | None) -> str | None:
    """raised (fires after not firing), firing (fires again), cleared (computable, no longer fires), or None."""
    if ev.fired:
        return "firing" if was_firing else "raised"
    return "cleared" if ev.computable and was_firing else None


def record(alarm: Alarm, ev: Evaluation, was_firing: bool | None = ...) -> tuple[int, str | None] | None:
    """Store an evaluation once (unique alarm and period); returns (id, event), None when already stored."""
    if was_firing is ...:
        was_firing = _previous_state(alarm.id, ev.period_start)
    event = event_of(ev, was_firing)
    with db.transaction() as conn:
        evaluation_id = conn.execute(
            text(
                """INSERT INTO alarm_evaluation (alarm_id, period_start, period_end, comparison_start, comparison_end,
                   measured, comparison, threshold, attempts, comparison_attempts, computable, fired, reason,
                   rule, severity, dry_run, event)
               VALUES (:alarm_id, :ps, :pe, :cs, :ce, :measured, :comparison, :threshold, :attempts, :cattempts,
                   :computable, :fired, :reason, :rule, :severity, :dry_run, :event)
               ON CONFLICT (alarm_id, period_start) DO NOTHING RETURNING id"""
            ),
            {
                "alarm_id": alarm.id,
                "ps": ev.period_start,
                "pe": ev.period_end,
                "cs": ev.comparison_start,
                "ce": ev.comparison_end,
                "measured": ev.measured,
                "comparison": ev.comparison,
                "threshold": ev.threshold,
                "attempts": ev.attempts,
                "cattempts": ev.comparison_attempts,
                "computable": ev.computable,
                "fired": ev.fired,
                "reason": ev.reason,
                "rule": alarm.describe(),
                "severity": alarm.severity,
                "dry_run": alarm.dry_run,
                "event": event,
            },
        ).scalar()
    return None if evaluation_id is None else (evaluation_id, event)


def notification_count(sent: dict) -> int:
    """What ``webhooks.notify`` queued: the e-mail (one, to every recipient) and each webhook POST."""
    return int(bool(sent.get("mail"))) + len(sent.get("webhooks") or [])


def recipients(alarm: Alarm) -> list[str]:
    """Who an alarm e-mails: its own addresses, else its owner's."""
    return _recipients(alarm)


def _recipients(alarm: Alarm) -> list[str]:
    from data.core.mailer import parse_addresses

    emails = parse_addresses(alarm.email_to)[0]
    if not emails:
        owner_email = db.scalar("SELECT email FROM app_user WHERE id = :id", id=alarm.user_id)
        emails = parse_addresses(owner_email or "")[0]
    return emails


def notify(alarm: Alarm, ev: Evaluation, event: str, evaluation_id: int) -> dict:
    """The e-mail and the webhook POST of an alarm raised, still firing, or cleared."""
    from data.alerting.webhooks import notify as send

    return send(
        {alarm.language: _recipients(alarm)},
        lambda: mail_text(alarm, ev, event),
        "",
        event=f"alarm.{event}",
        payload=payload(alarm, ev, evaluation_id),
        dedup_key=f"alarm:{alarm.id}:{ev.period_start.isoformat()}:{event}",
        webhook_ids=[alarm.webhook_id] if alarm.webhook_id else [],
    )


def run_due(now: datetime | None = None) -> dict:
    """The ``alarms`` job: evaluate each active alarm's latest closed period, once, and notify."""
    now = now or datetime.now(UTC)
    delay = timedelta(seconds=get_settings(SETTING_DEFAULTS)["alarm_delay_seconds"])
    counts = {"evaluated": 0, "fired": 0, "notified": 0, "errors": 0}
    for alarm, last_start, was_firing in _active_alarms():
        try:
            end = latest_end(alarm.period, now - delay, alarm.timezone)
            start = period_start(alarm.period, end, alarm.timezone)
            if last_start is not None and last_start >= start:
                continue  # evaluated already (the unique key would refuse it anyway)
            with speaking(alarm.language):  # its reason and rule as its owner reads them, in the report and mail
                ev = evaluate(alarm, end, now=now)
                stored = record(alarm, ev, was_firing)
            if stored is None:
                continue
            evaluation_id, event = stored
            counts["evaluated"] += 1
            counts["fired"] += ev.fired
            if event and not alarm.dry_run:
                sent = notify(alarm, ev, event, evaluation_id)
                db.execute(
                    "UPDATE alarm_evaluation SET notified_at = now(), notified_count = :n WHERE id = :id",
                    id=evaluation_id,
                    n=notification_count(sent),
                )
                counts["notified"] += 1
        except Exception:  # one broken alarm (a zone removed from the system, ...) must not stop the others
            log.exception("alarm %s could not be evaluated", alarm.id)
            counts["errors"] += 1
    return counts
