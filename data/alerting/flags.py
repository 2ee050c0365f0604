"""Flagged calls: what the destination lists and threat control say about a stored call, as SQL over ``cdr``.

- **blacklist**: the import flagged the call (``destination_alert`` true; ``alert_reason`` names the rule);
- **whitelist**: a blacklist rule matched but a whitelist rule let the call through (``destination_alert``
  false; ``alert_reason`` names the whitelist rule), see ``destination_alerts``;
- **threat**: the call is one of the calls of a recorded threat (``threat_event``): inside its window and
  matching its filters (accountcode, country, switch, number, numbers, prefix, short calls), the same calls
  threat control counts for it.

The CDR search filters on them (``flag_condition``), the grid and the exports show them (``flag_text_sql``:
e.g. ``blacklist: blacklist country SL; threat: high_cost``), and customers see them on their own calls.
"""

from __future__ import annotations

FLAGS = {
    "any": "Any flag",
    "blacklist": "Blacklisted",
    "whitelist": "Whitelisted",
    "threat": "Threat",
}
ANSWERED = "({a}.answered_date IS NOT NULL OR {a}.billsec > 0)"

# One threat_event "t" whose window and filters hold the call "{a}" (threat_detectors.Threat.filters).
_THREAT_MATCH = """{a}.starting_date >= t.window_start AND {a}.starting_date < t.window_end
    AND (t.details->'filters'->>'accountcode' IS NULL OR t.details->'filters'->>'accountcode' = {a}.accountcode)
    AND (t.details->'filters'->>'country' IS NULL OR t.details->'filters'->>'country' = trim({a}.country_code))
    AND (t.details->'filters'->>'switch_id' IS NULL
         OR (t.details->'filters'->>'switch_id')::integer = {a}.switch_id)
    AND (t.details->'filters'->>'number' IS NULL OR t.details->'filters'->>'number' = {a}.normalised_number)
    AND (t.details->'filters'->'numbers' IS NULL OR t.details->'filters'->'numbers' ? {a}.normalised_number)
    AND (t.details->'filters'->>'prefix' IS NULL
         OR {a}.normalised_number LIKE (t.details->'filters'->>'prefix') || '%%')
    AND (COALESCE((t.details->'filters'->>'short')::boolean, false) = false
         OR ({answered} AND {a}.billsec < (t.details->'filters'->>'short_seconds')::integer))"""


def threat_match(alias: str = "c") -> str:
    """The condition on ``threat_event t`` holding the call ``alias`` (``%%`` for psycopg2-style callers
    is written as ``%`` by :func:`plain`)."""
    return _THREAT_MATCH.format(a=alias, answered=ANSWERED.format(a=alias))


def plain(sql: str) -> str:
    """SQL for SQLAlchemy ``text()`` (named parameters), where ``%`` needs no doubling."""
    return sql.replace("%%", "%")


def flag_condition(flag: str, alias: str = "c") -> str | None:
    """The WHERE condition of calls with ``flag`` (one of FLAGS), None for an unknown flag."""
    conditions = {
        "blacklist": f"{alias}.destination_alert IS TRUE",
        "whitelist": f"({alias}.destination_alert IS FALSE AND {alias}.alert_reason IS NOT NULL)",
        "threat": plain(f"EXISTS (SELECT 1 FROM threat_event t WHERE {threat_match(alias)})"),
    }
    if flag == "any":
        return f"({alias}.alert_reason IS NOT NULL OR {conditions['threat']})"
    return conditions.get(flag)


def flag_text_sql(alias: str = "c", psycopg: bool = False) -> str:
    """A text expression naming the call's flags ("blacklist: <rule>; threat: <kinds>"), NULL when none."""
    sql = f"""NULLIF(concat_ws('; ',
        CASE WHEN {alias}.destination_alert THEN 'blacklist: ' || {alias}.alert_reason
             WHEN {alias}.alert_reason IS NOT NULL THEN 'whitelist: ' || {alias}.alert_reason END,
        (SELECT 'threat: ' || string_agg(DISTINCT t.kind, ', ') FROM threat_event t WHERE {threat_match(alias)})
    ), '')"""
    return sql if psycopg else plain(sql)
