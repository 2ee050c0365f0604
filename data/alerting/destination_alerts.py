"""Destination alerts: the blacklist and whitelist (by country or prefix) and the alert remove prefixes.

A call is matched on its destination in international format (``cdr.normalised_number``; the
dialled digits when the import could not normalise it):

1. The longest *alert remove prefix* the number starts with is stripped, once (a technical or
   outside-line prefix the switch leaves in front). When one was stripped, the country is looked up
   again from the remaining digits (the longest ``dial_prefix``); otherwise the stored country is used.
2. The call is *blacklisted* when a blacklist prefix starts the number or a blacklist country is its
   country, and no whitelist rule (prefix or country) matches it: **a whitelist match wins**.
   Prefix rules ignore internal numbers (fewer than PN_MIN_DIGITS digits: extensions).

At import, ``flag_staged_calls`` marks blacklisted calls (``destination_alert`` true, ``alert_reason``: the
most specific blacklist rule) and the calls a whitelist rule let through (``destination_alert`` false,
``alert_reason``: that whitelist rule) on the staged rows, set-based, before they are stored, and counts them
per rule and accountcode in ``destination_alert_event``. The ``alarms`` job e-mails the admins about
new events and posts them to the webhooks subscribed to ``destination_alert`` (``notify_pending``),
at most once per rule, accountcode and hour.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from data.core import db
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.setting_overrides import effective_number_plan

log = logging.getLogger("dialstat.destination_alerts")
LISTS = ("blacklist", "whitelist")
_DIGITS = re.compile(r"^[0-9]{1,20}$")


class RuleError(ValueError):
    """A rule that cannot be saved; the message is for the user."""


# --- the lists --------------------------------------------------------------------------------------------


def list_rules(which: str | None = None) -> list[dict]:
    return db.rows(
        """SELECT r.id, r.list, r.country_code, c.name AS country, r.prefix, r.description, r.created_at
                      FROM destination_rule r LEFT JOIN country c ON c.code = r.country_code
                      WHERE :which IS NULL OR r.list = :which
                      ORDER BY r.list, r.country_code NULLS LAST, r.prefix""",
        which=which,
    )


def add_rule(which: str, country_code: str | None = None, prefix: str | None = None, description: str = "") -> dict:
    """Add a country or a prefix (international format, digits only) to the blacklist or whitelist."""
    if which not in LISTS:
        raise RuleError(_("Choose the blacklist or the whitelist."))
    country_code = (country_code or "").strip().upper() or None
    prefix = re.sub(r"[\s+]", "", prefix or "") or None
    if (country_code is None) == (prefix is None):
        raise RuleError(_("Give either a country or a prefix."))
    if prefix is not None and not _DIGITS.match(prefix):
        raise RuleError(_("A prefix is 1 to 20 digits, in international format (e.g. 88216)."))
    if country_code is not None and not db.scalar("SELECT 1 FROM country WHERE code = :c", c=country_code):
        raise RuleError(_("Unknown country code %(code)s.", code=repr(country_code)))
    row = db.first(
        """INSERT INTO destination_rule (list, country_code, prefix, description)
           VALUES (:which, :country_code, :prefix, :description) ON CONFLICT DO NOTHING RETURNING *""",
        which=which,
        country_code=country_code,
        prefix=prefix,
        description=(description or "").strip()[:500],
    )
    if row is None:
        raise RuleError(_("That rule is already on the list."))
    return row


def delete_rule(rule_id: int) -> None:
    db.execute("DELETE FROM destination_rule WHERE id = :id", id=rule_id)


def list_remove_prefixes() -> list[dict]:
    return db.rows("SELECT prefix, description, created_at FROM alert_remove_prefix ORDER BY prefix")


def add_remove_prefix(prefix: str, description: str = "") -> None:
    prefix = re.sub(r"\s", "", prefix or "")
    if not _DIGITS.match(prefix):
        raise RuleError(_("An alert remove prefix is 1 to 20 digits."))
    if not db.execute(
        "INSERT INTO alert_remove_prefix (prefix, description) VALUES (:p, :d) ON CONFLICT DO NOTHING",
        p=prefix,
        d=(description or "").strip()[:500],
    ):
        raise RuleError(_("That prefix is already on the list."))


def delete_remove_prefix(prefix: str) -> None:
    db.execute("DELETE FROM alert_remove_prefix WHERE prefix = :p", p=prefix)


# --- matching one number (the page's "check a number" box; the SQL below does the same, set-based) --------


@dataclass(frozen=True)
class Match:
    number: str  # after the alert remove prefix
    removed: str | None
    country_code: str | None
    blacklisted_by: str | None
    whitelisted_by: str | None

    @property
    def flagged(self) -> bool:
        return self.blacklisted_by is not None and self.whitelisted_by is None


def _rule_label(rule: dict) -> str:
    if rule["prefix"]:
        return f"{rule['list']} prefix {rule['prefix']}"
    return f"{rule['list']} country {rule['country_code']}"


RULE_LABELS = {
    ("blacklist", "prefix"): N_("blacklist prefix %(value)s"),
    ("blacklist", "country"): N_("blacklist country %(value)s"),
    ("whitelist", "prefix"): N_("whitelist prefix %(value)s"),
    ("whitelist", "country"): N_("whitelist country %(value)s"),
}


def reason_label(reason: str | None) -> str:
    """A stored rule label ("blacklist prefix 88216": the CDR keeps it as it is) in the current language."""
    found = re.fullmatch(r"(blacklist|whitelist) (prefix|country) (\S+)", reason or "")
    if not found:
        return reason or ""
    return _(RULE_LABELS[(found[1], found[2])], value=found[3])


def check_number(number: str, country_code: str | None = None) -> Match:
    """Whether a call to ``number`` (international format) with ``country_code`` would be flagged."""
    digits = re.sub(r"[^0-9]", "", number or "")
    removed = max(
        (
            r["prefix"]
            for r in list_remove_prefixes()
            if digits.startswith(r["prefix"]) and len(digits) > len(r["prefix"])
        ),
        key=len,
        default=None,
    )
    if removed:
        digits = digits[len(removed) :]
        country_code = db.scalar(
            """SELECT country_code FROM dial_prefix WHERE :n LIKE prefix || '%'
                                    ORDER BY length(prefix) DESC LIMIT 1""",
            n=digits,
        )
    long_enough = len(digits) >= effective_number_plan().pn_min_digits
    found = {}
    for which in LISTS:
        rules = [
            r
            for r in list_rules(which)
            if (r["prefix"] and long_enough and digits.startswith(r["prefix"]))
            or (r["country_code"] and r["country_code"] == country_code)
        ]
        rules.sort(key=lambda r: -len(r["prefix"] or ""))  # the most specific first; a country last
        found[which] = _rule_label(rules[0]) if rules else None
    return Match(digits, removed, country_code, found["blacklist"], found["whitelist"])


# --- at import ----------------------------------------------------------------------------------------------


def _matches_sql(table: str) -> str:
    """(row key, reason, number, country, whitelisted_by) of the rows of ``table`` (cdr's columns) a blacklist rule
    matches, psycopg2 style; ``whitelisted_by`` is the whitelist rule that lets the call through (it wins).

    Each step is a MATERIALIZED CTE so that the number is worked out once per row, not at every use.
    """
    return f"""
        WITH src AS MATERIALIZED (
            SELECT c.switch_id, c.callid, c.record_tag, c.starting_date, COALESCE(c.accountcode, '') AS accountcode,
                   c.user_id,
                   c.import_id, c.country_code AS stored_country,
                   COALESCE(NULLIF(c.normalised_number, ''),
                            regexp_replace(COALESCE(c.destination_number, ''), '[^0-9]', '', 'g')) AS original
            FROM {table} c),
        n AS MATERIALIZED (
            SELECT src.*, strip.prefix AS removed,
                   CASE WHEN strip.prefix IS NULL THEN src.original
                        ELSE substr(src.original, length(strip.prefix) + 1) END AS num
            FROM src LEFT JOIN LATERAL (
                SELECT p.prefix FROM alert_remove_prefix p
                WHERE src.original LIKE p.prefix || '%%' AND length(src.original) > length(p.prefix)
                ORDER BY length(p.prefix) DESC LIMIT 1) strip ON true),
        m AS MATERIALIZED (
            SELECT n.*, CASE WHEN n.removed IS NULL THEN n.stored_country ELSE dp.country_code END AS country,
                   length(n.num) >= %(min_digits)s AS long_enough
            FROM n LEFT JOIN LATERAL (SELECT d.country_code FROM dial_prefix d
                                      WHERE n.removed IS NOT NULL AND n.num LIKE d.prefix || '%%'
                                      ORDER BY length(d.prefix) DESC LIMIT 1) dp ON true),
        hits AS MATERIALIZED (
            SELECT m.*, b.reason
            FROM m CROSS JOIN LATERAL (
                SELECT CASE WHEN r.prefix IS NOT NULL THEN 'blacklist prefix ' || r.prefix
                            ELSE 'blacklist country ' || r.country_code END AS reason
                FROM destination_rule r
                WHERE r.list = 'blacklist'
                  AND ((m.long_enough AND m.num LIKE r.prefix || '%%') OR r.country_code = m.country)
                ORDER BY length(r.prefix) DESC NULLS LAST LIMIT 1) b)
        SELECT h.switch_id, h.callid, h.record_tag, h.starting_date, h.accountcode, h.user_id, h.import_id, h.num,
               COALESCE(h.country, '') AS country, h.reason, w.whitelisted_by
        FROM hits h LEFT JOIN LATERAL (
            SELECT CASE WHEN r.prefix IS NOT NULL THEN 'whitelist prefix ' || r.prefix
                        ELSE 'whitelist country ' || r.country_code END AS whitelisted_by
            FROM destination_rule r
            WHERE r.list = 'whitelist'
              AND ((h.long_enough AND h.num LIKE r.prefix || '%%') OR r.country_code = h.country)
            ORDER BY length(r.prefix) DESC NULLS LAST LIMIT 1) w ON true
    """


def flag_staged_calls(cur, stage_table: str) -> int:
    """Flag the blacklisted calls of ``stage_table`` before they are stored; returns how many.

    Called by the ingest pipeline on its psycopg2 cursor, inside the batch's transaction, on a table
    with cdr's columns (``ingest_calls``) after rating and before the rows are inserted into ``cdr``
    (the INSERT must carry ``destination_alert`` and ``alert_reason``). Also records one
    ``destination_alert_event`` per rule, accountcode and country, which the alarms job notifies.
    Set-based; costs one cheap query when the blacklist is empty.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", stage_table):
        raise ValueError(f"not a table name: {stage_table!r}")
    cur.execute("SELECT EXISTS (SELECT 1 FROM destination_rule WHERE list = 'blacklist')")
    if not cur.fetchone()[0]:
        return 0
    params = {"min_digits": effective_number_plan().pn_min_digits}
    cur.execute(
        "CREATE TEMP TABLE IF NOT EXISTS destination_alert_hits (switch_id integer, callid text, record_tag text, "
        "starting_date timestamptz, accountcode text, user_id integer, import_id bigint, num text, "
        "country text, reason text, whitelisted_by text) ON COMMIT DELETE ROWS"
    )
    cur.execute("TRUNCATE destination_alert_hits")
    cur.execute(f"INSERT INTO destination_alert_hits {_matches_sql(stage_table)}", params)
    if not cur.rowcount:
        return 0
    # Blacklisted: destination_alert true and the blacklist rule. Let through by the whitelist: false and the
    # whitelist rule (a whitelist hit, shown on the call). Neither: both NULL.
    cur.execute(f"""UPDATE {stage_table} s SET destination_alert = h.whitelisted_by IS NULL,
                           alert_reason = COALESCE(h.whitelisted_by, h.reason)
                    FROM destination_alert_hits h
                    WHERE s.switch_id = h.switch_id AND s.callid = h.callid
                      AND s.record_tag IS NOT DISTINCT FROM h.record_tag""")
    cur.execute("""INSERT INTO destination_alert_event (reason, accountcode, user_id, country_code, calls, first_call,
                                                        last_call, sample_number, import_id)
                   SELECT reason, accountcode, min(user_id), country, count(*), min(starting_date),
                          max(starting_date), min(num), min(import_id)
                   FROM destination_alert_hits WHERE whitelisted_by IS NULL GROUP BY reason, accountcode, country
                   ORDER BY reason, accountcode, country""")
    cur.execute("SELECT count(*) FROM destination_alert_hits WHERE whitelisted_by IS NULL")
    flagged = cur.fetchone()[0]
    cur.execute("TRUNCATE destination_alert_hits")
    return flagged


def flag_stored_calls(start: datetime, end: datetime) -> int:
    """Apply the lists again to the calls already stored in [start, end) (after the lists changed).

    Only the flags change (set or cleared); no event is recorded.
    """
    params = {"start": start, "end": end, "min_digits": effective_number_plan().pn_min_digits}
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(
            """CREATE TEMP TABLE recheck_calls ON COMMIT DROP AS
                       SELECT * FROM cdr WHERE starting_date >= %(start)s AND starting_date < %(end)s""",
            params,
        )
        cur.execute(f"CREATE TEMP TABLE recheck_hits ON COMMIT DROP AS {_matches_sql('recheck_calls')}", params)
        cur.execute(
            """UPDATE cdr c SET destination_alert = CASE WHEN h.reason IS NOT NULL THEN h.whitelisted_by IS NULL END,
                              alert_reason = COALESCE(h.whitelisted_by, h.reason)
                       FROM recheck_calls r
                       LEFT JOIN recheck_hits h ON h.switch_id = r.switch_id AND h.callid = r.callid
                                             AND h.record_tag IS NOT DISTINCT FROM r.record_tag
                       WHERE c.starting_date >= %(start)s AND c.starting_date < %(end)s AND c.id = r.id
                         AND (c.alert_reason IS DISTINCT FROM COALESCE(h.whitelisted_by, h.reason))""",
            params,
        )
        cur.execute("SELECT count(*) FROM recheck_hits WHERE whitelisted_by IS NULL")
        return cur.fetchone()[0]


# --- reporting and notifying ------------------------------------------------------------------------------


def recent_events(limit: int = 200) -> list[dict]:
    return db.rows(
        """SELECT e.id, e.reason, e.accountcode, u.username AS customer, e.country_code, e.calls,
                             e.first_call, e.last_call, e.sample_number, e.created_at, e.notified_at
                      FROM destination_alert_event e LEFT JOIN app_user u ON u.id = e.user_id
                      ORDER BY e.id DESC LIMIT :limit""",
        limit=limit,
    )


def admin_recipients() -> list[str]:
    """The admins' addresses and the extra ``notify_emails`` setting."""
    from data.alerting.alert_settings import SETTING_DEFAULTS, get_settings
    from data.core.mailer import admin_addresses, parse_addresses

    extra = parse_addresses(get_settings(SETTING_DEFAULTS)["notify_emails"])[0]
    return list(dict.fromkeys([*admin_addresses(), *extra]))


def mail_text(alert: dict) -> tuple[str, str]:
    """A destination alert's e-mail (``notify_pending``'s payload) in the current language."""
    accountcode, calls, reason = alert["accountcode"], alert["calls"], reason_label(alert["reason"])
    who = _("accountcode %(code)s", code=accountcode) if accountcode else _("calls without accountcode")
    subject = _(
        "Destination alert: %(calls)s call(s) matched the %(rule)s (%(who)s)", calls=calls, rule=reason, who=who
    )
    body = "\n".join(
        [
            _(
                "%(calls)s call(s) from %(who)s went to destinations on the %(rule)s.",
                calls=calls,
                who=who,
                rule=reason,
            ),
            _(
                "First call: %(first)s UTC, last: %(last)s UTC.",
                first=f"{alert['first_call']:%Y-%m-%d %H:%M:%S}",
                last=f"{alert['last_call']:%Y-%m-%d %H:%M:%S}",
            ),
            _(
                "Countries: %(countries)s; example number: %(number)s.",
                countries=", ".join(code or "?" for code in alert["countries"]),
                number=alert["sample_number"],
            ),
            "",
            _("Flagged calls are marked on the CDR; see Destination alerts for the lists."),
        ]
    )
    return subject, body


def notify_pending(now: datetime | None = None) -> dict:
    """Notify the events not notified yet: one e-mail / POST per rule, accountcode and hour."""
    from data.alerting.webhooks import languages_of, notify

    now = now or datetime.now(timezone.utc)
    events = db.rows("""SELECT id, reason, accountcode, country_code, calls, first_call, last_call, sample_number,
                               created_at
                        FROM destination_alert_event WHERE notified_at IS NULL ORDER BY id LIMIT 1000""")
    groups: dict[tuple, list[dict]] = {}
    for event in events:
        hour = event["created_at"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H")
        groups.setdefault((event["reason"], event["accountcode"], hour), []).append(event)
    recipients = languages_of(admin_recipients()) if groups else {}
    sent = 0
    for (reason, accountcode, hour), items in groups.items():
        calls = sum(e["calls"] for e in items)
        first, last = min(e["first_call"] for e in items), max(e["last_call"] for e in items)
        payload = {
            "reason": reason,
            "accountcode": accountcode,
            "calls": calls,
            "first_call": first,
            "last_call": last,
            "countries": sorted({e["country_code"] for e in items}),
            "sample_number": items[0]["sample_number"],
        }
        result = notify(
            recipients,
            lambda payload=payload: mail_text(payload),
            "",
            event="destination_alert",
            payload=payload,
            dedup_key=f"destination-alert:{reason}:{accountcode}:{hour}",
            broadcast="destination_alert",
        )
        sent += bool(result["mail"] or result["webhooks"])
        db.execute(
            "UPDATE destination_alert_event SET notified_at = :now, notified_count = :n WHERE id = ANY(:ids)",
            now=now,
            n=int(bool(result["mail"])) + len(result["webhooks"]),
            ids=[e["id"] for e in items],
        )
    return {"events": len(events), "notifications": sent}
