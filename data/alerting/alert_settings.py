"""Settings shared by alarms, threat control and destination alerts, kept in the ``setting`` table."""

from __future__ import annotations

from sqlalchemy import text

from data.alerting.alarms import AlarmError
from data.core import db
from data.core.i18n import gettext as _

SETTING_DEFAULTS = {
    # Seconds after a period closes before it is evaluated: calls are stored when they end.
    "alarm_delay_seconds": 120,
    # Extra addresses for threat and destination-alert e-mails (the admins' addresses are always used).
    "notify_emails": "",
}


# --- settings shared by alarms, threat control and destination alerts -------------------------------------


def get_settings(defaults: dict) -> dict:
    """``defaults`` overridden by the values stored in ``alert_setting`` (same types as the defaults)."""
    stored = {
        r["key"]: r["value"]
        for r in db.rows("SELECT key, value FROM alert_setting WHERE key = ANY(:k)", k=list(defaults))
    }
    result = {}
    for key, default in defaults.items():
        value = stored.get(key, default)
        try:
            result[key] = type(default)(value) if value is not None else default
        except (TypeError, ValueError):
            result[key] = default
    return result


def save_settings(values: dict, defaults: dict) -> dict:
    """Store the values of known keys (converted to the default's type); returns the settings in force."""
    clean = {}
    for key, value in values.items():
        if key not in defaults or value is None:
            continue
        try:
            converted = type(defaults[key])(value)
        except (TypeError, ValueError) as exc:
            raise AlarmError(_("%(key)s: %(value)s is not a valid value", key=key, value=repr(value))) from exc
        if isinstance(converted, (int, float)) and converted < 0:
            raise AlarmError(_("%(key)s: must not be negative", key=key))
        clean[key] = converted
    import json

    with db.transaction() as conn:
        for key, value in clean.items():
            conn.execute(
                text(
                    "INSERT INTO alert_setting (key, value) VALUES (:k, CAST(:v AS jsonb)) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()"
                ),
                {"k": key, "v": json.dumps(value)},
            )
    return get_settings(defaults)
