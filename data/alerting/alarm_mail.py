"""An alarm's e-mail and webhook payload: what fired, in the words of the language it is written in (the
owner's: ``alarm_evaluation.notify``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_date

from data.alerting.alarms import SEVERITY_LABELS, Alarm, format_number, unit_text
from data.core.i18n import current_language, locale_of
from data.core.i18n import gettext as _


def period_label(alarm: Alarm, start: datetime, end: datetime) -> str:
    zone = alarm.zone
    first, last = start.astimezone(zone), end.astimezone(zone)
    if alarm.period in ("5m", "15m", "hour"):
        return f"{first:%Y-%m-%d %H:%M}–{last:%H:%M} {alarm.timezone}"
    if alarm.period == "day":
        return f"{first:%Y-%m-%d} ({alarm.timezone})"
    if alarm.period == "week":
        return _(
            "week %(week)s, %(first)s to %(last)s (%(zone)s)",
            week=f"{first:%G-W%V}",
            first=f"{first:%Y-%m-%d}",
            last=f"{(last - timedelta(days=1)):%Y-%m-%d}",
            zone=alarm.timezone,
        )
    month = format_date(first, "LLLL y", locale=locale_of(current_language()))  # "March 2026", "март 2026 г."
    return f"{month} ({alarm.timezone})"


def mail_text(alarm: Alarm, ev, event: str) -> tuple[str, str]:
    """The subject and body of an alarm's e-mail about ``ev`` (an ``alarm_evaluation.Evaluation``) in the current
    language."""
    period = period_label(alarm, ev.period_start, ev.period_end)
    name = repr(alarm.name)
    if event == "cleared":
        subject = _("Cleared: %(name)s (%(period)s)", name=alarm.name, period=period)
        lead = _("The alarm %(name)s no longer fires: %(reason)s.", name=name, reason=ev.reason)
    else:
        subject = f"[{alarm.severity.upper()}] {alarm.name}: {ev.reason}"
        lead = (
            _("The alarm %(name)s fired again: %(reason)s.", name=name, reason=ev.reason)
            if event == "firing"
            else _("The alarm %(name)s fired: %(reason)s.", name=name, reason=ev.reason)
        )
    unit = unit_text(alarm) if not alarm.condition.endswith("_pct") else " %"
    earlier = period_label(alarm, ev.comparison_start, ev.comparison_end)
    body = "\n".join(
        [
            lead,
            "",
            _("Rule: %(rule)s", rule=alarm.describe()),
            _("Period: %(period)s", period=period),
            _(
                "Measured: %(value)s over %(attempts)s attempts",
                value=f"{format_number(ev.measured)}{unit_text(alarm)}",
                attempts=ev.attempts,
            ),
            _(
                "Compared with: %(value)s (%(period)s, %(attempts)s attempts)",
                value=f"{format_number(ev.comparison)}{unit_text(alarm)}",
                period=earlier,
                attempts=ev.comparison_attempts,
            ),
            _("Threshold: %(threshold)s", threshold=f"{format_number(ev.threshold)}{unit}"),
            _("Severity: %(severity)s", severity=_(SEVERITY_LABELS.get(alarm.severity, alarm.severity))),
            "",
            _("The alarm report lists every firing: %(path)s", path="/alarm-report"),
        ]
    )
    return subject, body


def payload(alarm: Alarm, ev, evaluation_id: int) -> dict:
    """What the alarm's webhooks receive (identifiers and values; ``rule`` and ``reason`` as the e-mail writes them)."""
    return {
        "alarm": {
            "id": alarm.id,
            "name": alarm.name,
            "severity": alarm.severity,
            "metric": alarm.metric,
            "condition": alarm.condition,
            "period": alarm.period,
            "scope_kind": alarm.scope_kind,
            "scope_value": alarm.scope_value,
            "rule": alarm.describe(),
        },
        "evaluation": {
            "id": evaluation_id,
            "period_start": ev.period_start,
            "period_end": ev.period_end,
            "comparison_start": ev.comparison_start,
            "comparison_end": ev.comparison_end,
            "measured": ev.measured,
            "comparison": ev.comparison,
            "threshold": ev.threshold,
            "attempts": ev.attempts,
            "reason": ev.reason,
        },
    }
