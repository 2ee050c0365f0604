"""Alarms: the rules (a metric of a scope over a period, against a threshold or an earlier period), who may
see and change them, and the report of their firings. How a rule is evaluated: ``alarm_evaluation``.

Units: ASR, NER, short-call % and cause share are percentages (0–100); ACD and PDD seconds; cost in
the rating currency (a customer's alarm uses what they are charged, the sell cost).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import text

from data.core import db
from data.core.i18n import N_, current_language, number
from data.core.i18n import gettext as _
from data.core.mailer import parse_addresses
from data.core.scope import Scope


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str
    ratio: bool  # a ratio needs enough attempts in each period it is read from


# The labels are marked for the catalogs here and translated where they are shown (``gettext``).
METRICS = {
    "asr": Metric("ASR", "%", True),
    "acd": Metric(N_("ACD (ALOC)"), "s", True),
    "ner": Metric("NER", "%", True),
    "calls": Metric(N_("Calls"), "", False),
    "minutes": Metric(N_("Minutes"), "min", False),
    "cost": Metric(N_("Cost"), "", False),
    "short_calls": Metric(N_("Short-call %"), "%", True),
    "pdd": Metric("PDD", "s", True),
    "cause_share": Metric(N_("Share of a hangup cause"), "%", True),
    "cic": Metric(N_("Consecutive incomplete calls (per accountcode)"), "", False),
}
PERIODS = {
    "5m": N_("5 minutes"),
    "15m": N_("15 minutes"),
    "hour": N_("hour"),
    "day": N_("day"),
    "week": N_("week"),
    "month": N_("month"),
}
PER_PERIOD = {
    "5m": N_("per 5 minutes"),
    "15m": N_("per 15 minutes"),
    "hour": N_("per hour"),
    "day": N_("per day"),
    "week": N_("per week"),
    "month": N_("per month"),
}
CONDITIONS = {
    "lt": N_("is less than"),
    "gt": N_("is greater than"),
    "decrease": N_("decreases by more than"),
    "increase": N_("increases by more than"),
    "decrease_pct": N_("decreases by more than (%)"),
    "increase_pct": N_("increases by more than (%)"),
}
CHANGE_CONDITIONS = ("decrease", "increase", "decrease_pct", "increase_pct")
COMPARE_TO = {"previous": N_("the previous period"), "week_before": N_("the same period a week earlier")}
SCOPES = {
    "all": N_("All traffic"),
    "switch": N_("A switch"),
    "customer": N_("A customer"),
    "accountcode": N_("An accountcode"),
    "country": N_("A destination country"),
    "prefix": N_("A destination prefix"),
}
SCOPE_NAMES = {  # in a rule's description: "ASR of switch sbc-1 per hour ..."
    "switch": N_("switch %(name)s"),
    "customer": N_("customer %(name)s"),
    "accountcode": N_("accountcode %(name)s"),
    "country": N_("destination country %(name)s"),
    "prefix": N_("destination prefix %(name)s"),
}
SEVERITIES = ("warning", "critical")
SEVERITY_LABELS = {"warning": N_("warning"), "critical": N_("critical")}


class AlarmError(ValueError):
    """An alarm that cannot be saved, or that the user may not touch; the message is for the user."""


# --- the rule ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alarm:
    user_id: int  # the owner: their time zone, and their traffic only when they are a customer
    name: str
    metric: str
    period: str
    condition: str
    threshold: Decimal
    scope_kind: str = "all"
    scope_value: str = ""
    compare_to: str = "previous"
    hangup_cause_id: int | None = None
    min_attempts: int = 10
    severity: str = "warning"
    status: str = "active"
    dry_run: bool = False
    email_to: str = ""
    webhook_id: int | None = None
    description: str = ""
    id: int | None = None
    timezone: str = "UTC"
    owner_is_admin: bool = True
    scope_label: str = ""  # the switch's or customer's name (scope_value keeps its id)
    language: str | None = None  # the owner's: the alarm's notices are written in it

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        """The rule in words, in the current language: "ASR of all traffic per hour is less than 40 %"."""
        metric = METRICS[self.metric]
        what = (
            _(metric.label)
            if self.metric != "cause_share"
            else _("Share of hangup cause %(cause)s", cause=self.hangup_cause_id)
        )
        where = (
            _("all traffic")
            if self.scope_kind == "all"
            else _(SCOPE_NAMES[self.scope_kind], name=self.scope_label or self.scope_value)
        )
        unit = "%" if self.condition.endswith("_pct") else metric.unit
        condition = CONDITIONS[self.condition.removesuffix("_pct")]
        rule = _(
            "%(what)s of %(where)s %(period)s %(condition)s %(threshold)s",
            what=what,
            where=where,
            period=_(PER_PERIOD[self.period]),
            condition=_(condition),
            threshold=f"{format_number(self.threshold)}{(' ' + unit) if unit else ''}",
        )
        if self.condition in CHANGE_CONDITIONS:
            rule += _(" vs %(earlier)s", earlier=_(COMPARE_TO[self.compare_to]))
        return rule


_DERIVED = ("timezone", "owner_is_admin", "scope_label", "language")  # read with the alarm, not stored in it
_ALARM_COLUMNS = tuple(f.name for f in fields(Alarm) if f.name not in _DERIVED)
SCOPE_LABEL_SQL = """CASE a.scope_kind
    WHEN 'switch' THEN (SELECT s.name FROM switch s WHERE s.id::text = a.scope_value)
    WHEN 'customer' THEN (SELECT c.username FROM app_user c WHERE c.id::text = a.scope_value) END"""
_SELECT = f"""SELECT {", ".join("a." + c for c in _ALARM_COLUMNS)}, u.timezone, u.language,
                     (u.role = 'admin') AS owner_is_admin, u.username AS owner,
                     COALESCE({SCOPE_LABEL_SQL}, '') AS scope_label
              FROM alarm a JOIN app_user u ON u.id = a.user_id"""


def _alarm(row: dict) -> Alarm:
    values = {k: row[k] for k in _ALARM_COLUMNS + _DERIVED}
    values["threshold"] = Decimal(values["threshold"])
    return Alarm(**values)


def _visible(scope: Scope) -> tuple[str, dict]:
    if scope.is_admin:
        return "a.deleted_at IS NULL", {}
    return "a.deleted_at IS NULL AND a.user_id = :scope_user_id", {"scope_user_id": scope.user_id}


def list_alarms(scope: Scope) -> list[dict]:
    """The alarms the user may see (a customer: their own), with the last evaluation's state."""
    where, params = _visible(scope)
    rows = db.rows(
        f"""{_SELECT}
        LEFT JOIN LATERAL (SELECT e.fired AS last_fired, e.period_end AS last_period_end,
                                  e.measured AS last_measured, e.reason AS last_reason
                           FROM alarm_evaluation e WHERE e.alarm_id = a.id
                           ORDER BY e.period_start DESC LIMIT 1) last ON true
        WHERE {where} ORDER BY a.name, a.id""".replace(" FROM alarm a", ", last.* FROM alarm a", 1),
        **params,
    )
    for row in rows:
        row["rule"] = _alarm(row).describe()
    return rows


def get_alarm(scope: Scope, alarm_id: int) -> Alarm:
    where, params = _visible(scope)
    found = db.rows(f"{_SELECT} WHERE a.id = :id AND {where}", id=alarm_id, **params)
    if not found:
        raise AlarmError(_("No such alarm."))
    return _alarm(found[0])


def _decimal(value, name: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError) as exc:
        raise AlarmError(_("%(name)s must be a number.", name=name)) from exc
    if not number.is_finite():
        raise AlarmError(_("%(name)s must be a number.", name=name))
    return number


def _form_getter(values: dict):
    def get(key, default=None):
        value = values.get(key, default)
        return value.strip() if isinstance(value, str) else value

    return get


def _checked_rule(get) -> dict:
    """Metric, period, condition, threshold, comparison and cause of the form, checked."""
    metric, period, condition = get("metric"), get("period"), get("condition")
    if metric not in METRICS:
        raise AlarmError(_("Choose a metric."))
    if period not in PERIODS:
        raise AlarmError(_("Choose a period."))
    if condition not in CONDITIONS:
        raise AlarmError(_("Choose a condition."))
    if get("threshold") in (None, ""):
        raise AlarmError(_("Give a threshold."))
    threshold = _decimal(get("threshold"), _("The threshold"))
    if condition in CHANGE_CONDITIONS and threshold < 0:
        raise AlarmError(_("A change is measured with its sign: give a threshold of 0 or more."))
    compare_to = get("compare_to") or "previous"
    if compare_to not in COMPARE_TO:
        raise AlarmError(_("Choose what to compare with."))
    if period == "month" and compare_to == "week_before":
        raise AlarmError(_("A month is compared with the previous month, not with a week earlier."))
    cause = get("hangup_cause_id")
    if metric == "cause_share":
        if cause in (None, "") or not str(cause).isdigit():
            raise AlarmError(_("Choose the hangup cause whose share is measured."))
        cause = int(cause)
    else:
        cause = None
    return {
        "metric": metric,
        "period": period,
        "condition": condition,
        "threshold": threshold,
        "compare_to": compare_to,
        "hangup_cause_id": cause,
    }


def _checked_scope(get, owner_id: int, owner_is_admin: bool) -> dict:
    """The traffic the alarm watches, checked against what exists and what the owner may watch."""
    scope_kind = get("scope_kind") or "all"
    scope_value = str(get("scope_value") or "").strip()
    if scope_kind not in SCOPES:
        raise AlarmError(_("Choose a scope."))
    if scope_kind == "all":
        scope_value = ""
    elif not scope_value:
        raise AlarmError(_("%(scope)s: give its value.", scope=_(SCOPES[scope_kind])))
    label = ""
    if scope_kind in ("switch", "customer"):
        scope_value, label = _named_scope(scope_kind, scope_value)
    if scope_kind == "country":
        scope_value = scope_value.upper()
        if not db.scalar("SELECT 1 FROM country WHERE code = :c", c=scope_value):
            raise AlarmError(_("Unknown country code %(code)s.", code=repr(scope_value)))
    if scope_kind == "prefix" and not re.fullmatch(r"[0-9]{1,20}", scope_value):
        raise AlarmError(_("A destination prefix is digits only, in international format (e.g. 4420)."))
    if not owner_is_admin:
        if scope_kind == "customer":
            raise AlarmError(_("Your alarms cover your own traffic: choose another scope."))
        if scope_kind == "accountcode" and not db.scalar(
            "SELECT 1 FROM user_accountcode WHERE accountcode = :c AND user_id = :u", c=scope_value, u=owner_id
        ):
            raise AlarmError(_("That accountcode is not yours."))
    return {"scope_kind": scope_kind, "scope_value": scope_value, "scope_label": label}


NO_SUCH = {"switch": N_("No switch named %(name)s."), "customer": N_("No customer named %(name)s.")}
_NAMED = {  # scope kind -> the id and name of what it names, by name (case-insensitive) or by id
    "switch": """SELECT id, name FROM switch
                 WHERE lower(name) = lower(:v) OR id::text = :v ORDER BY lower(name) <> lower(:v)""",
    "customer": """SELECT id, username AS name FROM app_user WHERE role = 'customer'
                   AND (lower(username) = lower(:v) OR id::text = :v) ORDER BY lower(username) <> lower(:v)""",
}


def _named_scope(kind: str, value: str) -> tuple[str, str]:
    """A switch or customer typed by name (or chosen by id) as (its id, its name)."""
    found = db.rows(_NAMED[kind] + " LIMIT 1", v=value)
    if not found:
        raise AlarmError(_(NO_SUCH[kind], name=repr(value)))
    return str(found[0]["id"]), found[0]["name"]


def _checked_delivery(get, scope: Scope) -> dict:
    """Minimum attempts, severity, status and where notices go, checked."""
    try:
        min_attempts = int(get("min_attempts", 10) if get("min_attempts") not in (None, "") else 10)
    except (TypeError, ValueError) as exc:
        raise AlarmError(_("The minimum number of attempts must be a whole number.")) from exc
    if min_attempts < 0:
        raise AlarmError(_("The minimum number of attempts cannot be negative."))
    severity = get("severity") or "warning"
    if severity not in SEVERITIES:
        raise AlarmError(_("Choose a severity."))
    status = get("status") or "active"
    if status not in ("active", "inactive"):
        raise AlarmError(_("Choose a status."))
    emails = get("email_to") or ""
    if isinstance(emails, (list, tuple)):
        emails = ", ".join(emails)
    valid, invalid = parse_addresses(emails)
    if invalid:
        raise AlarmError(_("Not an e-mail address: %(addresses)s", addresses=", ".join(invalid)))
    webhook_id = get("webhook_id")
    webhook_id = int(webhook_id) if webhook_id not in (None, "") and str(webhook_id).isdigit() else None
    if webhook_id is not None and not scope.is_admin:
        raise AlarmError(_("Only administrators can send alarms to webhooks."))
    return {
        "min_attempts": min_attempts,
        "severity": severity,
        "status": status,
        "email_to": ", ".join(valid),
        "webhook_id": webhook_id,
    }


def build_alarm(scope: Scope, values: dict, owner=None) -> Alarm:
    """An ``Alarm`` from form values, checked, for the user of ``scope``: what they may create.

    A customer's alarm is theirs: its scope is their traffic (a switch, country, prefix or one of
    their accountcodes within it), it has no webhook, and its cost is what they are charged.
    """
    get = _form_getter(values)
    owner_id = scope.user_id if not scope.is_admin else (owner.id if owner else values.get("user_id"))
    if owner_id is None:
        raise AlarmError(_("The alarm has no owner."))
    owner_row = db.rows("SELECT id, role, timezone FROM app_user WHERE id = :id", id=owner_id)
    if not owner_row:
        raise AlarmError(_("No such user."))
    name = get("name") or ""
    if not name:
        raise AlarmError(_("Give the alarm a name."))
    rule = _checked_rule(get)
    owner_is_admin = owner_row[0]["role"] == "admin"
    watched = _checked_scope(get, owner_id, owner_is_admin)
    return Alarm(
        user_id=owner_id,
        name=name[:200],
        **rule,
        **watched,
        **_checked_delivery(get, scope),
        dry_run=bool(get("dry_run")),
        description=(get("description") or "")[:2000],
        id=int(values["id"]) if values.get("id") not in (None, "") else None,
        timezone=owner_row[0]["timezone"],
        owner_is_admin=owner_is_admin,
    )


def save_alarm(scope: Scope, values: dict) -> Alarm:
    """Create (no ``id``) or update an alarm the user may edit; returns it as stored.

    A new alarm belongs to ``values["user_id"]`` (an admin may choose; a customer's is theirs); an
    edited one keeps its owner.
    """
    if values.get("id") not in (None, ""):
        values = {**values, "user_id": get_alarm(scope, int(values["id"])).user_id}
    alarm = build_alarm(scope, values)
    columns = [c for c in _ALARM_COLUMNS if c != "id"]
    params = {c: getattr(alarm, c) for c in columns}
    with db.transaction() as conn:
        if alarm.id is None:
            alarm_id = conn.execute(
                text(
                    f"INSERT INTO alarm ({', '.join(columns)}) VALUES "
                    f"({', '.join(':' + c for c in columns)}) RETURNING id"
                ),
                params,
            ).scalar()
        else:
            get_alarm(scope, alarm.id)  # exists and visible to this user
            sets = ", ".join(f"{c} = :{c}" for c in columns if c != "user_id")
            alarm_id = conn.execute(
                text(f"UPDATE alarm SET {sets}, updated_at = now() WHERE id = :id AND deleted_at IS NULL RETURNING id"),
                {**params, "id": alarm.id},
            ).scalar()
    return get_alarm(scope, alarm_id)


def delete_alarm(scope: Scope, alarm_id: int) -> None:
    """Soft delete: the alarm stops and disappears from the list; its history stays in the report."""
    get_alarm(scope, alarm_id)
    db.execute("UPDATE alarm SET deleted_at = now(), status = 'inactive' WHERE id = :id", id=alarm_id)


def set_status(scope: Scope, alarm_id: int, status: str) -> None:
    if status not in ("active", "inactive"):
        raise AlarmError(_("Unknown status."))
    get_alarm(scope, alarm_id)
    db.execute("UPDATE alarm SET status = :s, updated_at = now() WHERE id = :id", s=status, id=alarm_id)


# --- the report -------------------------------------------------------------------------------------------


def report(
    scope: Scope,
    start: datetime | None = None,
    end: datetime | None = None,
    alarm_id: int | None = None,
    unacknowledged_only: bool = False,
    include_dry_run: bool = True,
    limit: int = 500,
) -> list[dict]:
    """Every evaluation that fired (newest first), with what was measured, for the alarms the user sees."""
    parts, params = ["e.fired"], {"limit": limit}
    if not scope.is_admin:
        parts.append("a.user_id = :scope_user_id")
        params["scope_user_id"] = scope.user_id
    if start:
        parts.append("e.period_end > :start")
        params["start"] = start
    if end:
        parts.append("e.period_start < :end")
        params["end"] = end
    if alarm_id:
        parts.append("e.alarm_id = :alarm_id")
        params["alarm_id"] = alarm_id
    if unacknowledged_only:
        parts.append("e.acknowledged_at IS NULL")
    if not include_dry_run:
        parts.append("NOT e.dry_run")
    return db.rows(
        f"""
        SELECT e.id, e.alarm_id, a.name AS alarm, a.metric, a.condition, a.deleted_at IS NOT NULL AS alarm_deleted,
               e.period_start, e.period_end, e.comparison_start, e.comparison_end, e.measured, e.comparison,
               e.threshold, e.attempts, e.comparison_attempts, e.reason, e.rule, e.severity, e.dry_run, e.event,
               e.evaluated_at, e.notified_at, e.acknowledged_at, ack.username AS acknowledged_by, u.timezone,
               (SELECT min(n.period_start) FROM alarm_evaluation n WHERE n.alarm_id = e.alarm_id
                  AND n.period_start > e.period_start AND n.event = 'cleared') AS cleared_at
        FROM alarm_evaluation e JOIN alarm a ON a.id = e.alarm_id JOIN app_user u ON u.id = a.user_id
        LEFT JOIN app_user ack ON ack.id = e.acknowledged_by
        WHERE {" AND ".join(parts)}
        ORDER BY e.period_start DESC, e.id DESC LIMIT :limit""",
        **params,
    )


def evaluations(scope: Scope, alarm_id: int, limit: int = 200) -> list[dict]:
    """The whole history of one alarm (fired or not), newest first."""
    where, params = _visible(scope)
    if not db.scalar(
        f"SELECT 1 FROM alarm a WHERE a.id = :id AND {where.replace('a.deleted_at IS NULL', 'TRUE')}",
        id=alarm_id,
        **params,
    ):
        raise AlarmError(_("No such alarm."))
    return db.rows(
        """SELECT id, period_start, period_end, measured, comparison, threshold, attempts, computable,
                             fired, reason, event, evaluated_at, notified_at, acknowledged_at
                      FROM alarm_evaluation WHERE alarm_id = :id ORDER BY period_start DESC LIMIT :limit""",
        id=alarm_id,
        limit=limit,
    )


def acknowledge(scope: Scope, evaluation_id: int, user_id: int) -> bool:
    """Mark a firing as seen; a customer only their own alarms'. Returns False when nothing changed."""
    params = {"id": evaluation_id, "by": user_id}
    owner = ""
    if not scope.is_admin:
        owner = "AND a.user_id = :scope_user_id"
        params["scope_user_id"] = scope.user_id
    return (
        db.execute(
            f"""UPDATE alarm_evaluation e SET acknowledged_at = now(), acknowledged_by = :by
                          FROM alarm a WHERE a.id = e.alarm_id AND e.id = :id AND e.fired
                            AND e.acknowledged_at IS NULL {owner}""",
            **params,
        )
        > 0
    )


def with_changes(alarm: Alarm, **changes) -> Alarm:
    return replace(alarm, **changes)


def unit_text(alarm: Alarm) -> str:
    """The unit of the alarm's metric after a number: " %", " s", "" for a count."""
    unit = METRICS[alarm.metric].unit
    return f" {unit}" if unit else ""


def format_number(value) -> str:
    """A measured value as alarms and their notices show it: "–" for none, whole numbers with separators."""
    if value is None:
        return "–"
    value = Decimal(value)
    language = current_language()
    if value == value.to_integral_value():
        return number(value, language)
    if abs(value) >= 1:
        return number(value, language, 2)
    return f"{value:.4g}".replace(".", number(1.5, language, 1)[1])  # the locale's decimal sign


# Overview metrics an alarm's firings are drawn on (the alarm's metric -> the chart's metric).
CHARTED = {
    "calls": "calls",
    "minutes": "minutes",
    "asr": "asr",
    "acd": "acd",
    "pdd": "pdd",
    "short_calls": "short_call_ratio",
}


def firings_on_chart(scope: Scope, start: datetime, end: datetime, limit: int = 50) -> dict[str, list[dict]]:
    """The firings (not dry runs) of alarms the user sees between ``start`` and ``end``, per charted metric:
    ``at`` the end of the period that fired, in the scope's local time, and ``label`` what fired."""
    zone = ZoneInfo(scope.timezone)
    marks: dict[str, list[dict]] = {}
    for row in report(scope, start, end, include_dry_run=False, limit=limit):
        metric = CHARTED.get(row["metric"])
        if metric and row["event"] != "cleared":
            at = min(row["period_end"], end).astimezone(zone).replace(tzinfo=None).isoformat(sep=" ")
            marks.setdefault(metric, []).append({"at": at, "label": f"{row['alarm']}: {row['reason'] or _('fired')}"})
    return marks
