"""Notices that reach nobody: said when a rule is saved, and listed when something fired without a notice.

An alarm e-mails its own addresses, else its owner's; it may also POST to a webhook. Blacklist hits and
threats e-mail the admins with an address and the ``notify_emails`` setting, and POST to the webhooks
subscribed to them. When none of these exists the firing is only in the reports: ``alarm_warning`` and
``broadcast_warning`` say so before it happens, ``unnotified`` lists what fired and notified nobody
(``notified_count`` 0, migration 0020).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from data.alerting.alarm_evaluation import recipients
from data.alerting.alarms import Alarm, get_alarm, list_alarms
from data.alerting.destination_alerts import admin_recipients, reason_label
from data.alerting.webhooks import subscribers
from data.core import db
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import Scope

BROADCAST_WARNINGS = {  # whole sentences: each language words its subject its own way
    "destination_alert": N_(
        "Blacklist hits notify nobody: no admin has an e-mail address, the extra addresses (notify_emails) are "
        "empty and no webhook receives them."
    ),
    "threat": N_(
        "Threats notify nobody: no admin has an e-mail address, the extra addresses (notify_emails) are empty "
        "and no webhook receives them."
    ),
}


def alarm_warning(alarm: Alarm) -> str | None:
    """Why the alarm would notify nobody (no address and no webhook), or None."""
    if alarm.webhook_id or recipients(alarm):
        return None
    owner = db.scalar("SELECT username FROM app_user WHERE id = :id", id=alarm.user_id)
    return _(
        "This alarm notifies nobody: its recipients are empty and %(owner)s has no e-mail address. It will only "
        "show in the alarm report: add recipients, an address in the profile, or a webhook.",
        owner=owner,
    )


def broadcast_warning(kind: str) -> str | None:
    """Why blacklist hits (``destination_alert``) or threats (``threat``) would notify nobody, or None."""
    if admin_recipients() or subscribers(kind):
        return None
    return _(BROADCAST_WARNINGS[kind])


def rule_warnings(scope: Scope) -> list[str]:
    """The active alarms (a customer: their own) that would notify nobody, and for admins the blacklist hits
    and threats when nobody receives them."""
    warnings = [
        f"“{row['name']}”: {warning}"
        for row in list_alarms(scope)
        if row["status"] == "active" and not row["dry_run"] and (warning := alarm_warning(get_alarm(scope, row["id"])))
    ]
    if scope.is_admin:
        warnings += [w for w in (broadcast_warning(kind) for kind in BROADCAST_WARNINGS) if w]
    return warnings


def unnotified(scope: Scope, days: int = 7, now: datetime | None = None) -> list[dict]:
    """What fired in the last ``days`` and notified nobody: alarm firings (a customer: their own alarms'),
    and for admins blacklist hits and threats. Newest first; ``kind``, ``name``, ``at``, ``detail``."""
    since = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    owner = "" if scope.is_admin else "AND a.user_id = :scope_user_id"
    found = db.rows(
        f"""SELECT 'alarm' AS kind, a.name, e.period_end AS at, e.reason AS detail
            FROM alarm_evaluation e JOIN alarm a ON a.id = e.alarm_id
            WHERE e.notified_count = 0 AND e.period_end >= :since {owner}""",
        since=since,
        scope_user_id=scope.user_id,
    )
    if scope.is_admin:
        hits = db.rows(
            """SELECT 'blacklist' AS kind, reason AS name, created_at AS at, calls, accountcode
               FROM destination_alert_event WHERE notified_count = 0 AND created_at >= :since""",
            since=since,
        )
        found += [
            {
                "kind": hit["kind"],
                "name": reason_label(hit["name"]),
                "at": hit["at"],
                "detail": _(
                    "%(calls)s call(s) from accountcode %(code)s",
                    calls=hit["calls"],
                    code=hit["accountcode"] or _("(none)"),
                ),
            }
            for hit in hits
        ]
        found += db.rows(
            """SELECT 'threat' AS kind, subject AS name, detected_at AS at, details->>'detail' AS detail
               FROM threat_event WHERE notified_count = 0 AND detected_at >= :since""",
            since=since,
        )
    return sorted(found, key=lambda r: r["at"], reverse=True)
