"""Rates a customer sees: the sell rates in force on a VoIP plan, searched and sorted; banned prefixes.

Customer-facing functions only ever read the plan of the scope's own user (``voip_plan_of``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from data.core import db
from data.core.scope import Scope


def search_condition(search: str) -> tuple[str, dict]:
    """Digits match the rates whose prefix starts with them or is a head of them (a number finds its
    rates); other text matches the destination, the country name or the country code."""
    search = (search or "").strip()
    if not search:
        return "TRUE", {}
    digits = search.lstrip("+")
    if digits.isdigit():
        return ("(r.prefix LIKE :digits || '%' OR :digits LIKE r.prefix || '%')", {"digits": digits})
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (
        "(r.destination ILIKE :pattern OR r.country_code IN "
        "(SELECT code FROM country WHERE name ILIKE :pattern OR code = upper(:exact)))",
        {"pattern": pattern, "exact": search},
    )


def voip_plan_of(scope: Scope, voip_plan_id: int | None = None) -> int | None:
    """The VoIP plan a scope may read: a customer's own (whatever is asked), or the one an admin picks."""
    if not scope.is_admin:
        return db.scalar("SELECT voip_plan_id FROM app_user WHERE id = :id", id=scope.user_id)
    return voip_plan_id


RATE_SORT_FIELDS = {
    "prefix": "prefix",
    "retail_rate": "retail_rate",
    "destination": "destination",
    "country": "country",
}


@db.reading
def customer_rates(
    scope: Scope,
    *,
    voip_plan_id: int | None = None,
    search: str = "",
    dialcode: str = "",
    number: str | None = None,
    at: datetime | None = None,
    sort_field: str = "prefix",
    order: str = "asc",
    limit: int | None = 5000,
) -> list[dict]:
    """The sell rates of a VoIP plan in force at ``at`` (now by default), one per prefix, banned
    prefixes left out. Customers get their own plan's, whatever ``voip_plan_id`` says. ``dialcode``
    keeps the prefixes starting with it, ``number`` the prefixes it starts with (CDR-Stats' voip-rate
    filters)."""
    plan = voip_plan_of(scope, voip_plan_id)
    if plan is None:
        return []
    condition, params = search_condition(search)
    if dialcode:
        condition += " AND r.prefix LIKE :dialcode || '%'"
        params["dialcode"] = dialcode
    if number:
        condition += " AND :number LIKE r.prefix || '%'"
        params["number"] = number
    sort = RATE_SORT_FIELDS.get(sort_field, "prefix")
    direction = "DESC" if str(order).lower() == "desc" else "ASC"
    return db.rows(
        f"""
        SELECT * FROM (
            SELECT DISTINCT ON (r.prefix) r.prefix, r.destination, r.country_code, c.name AS country,
                   r.rate AS retail_rate, r.connection_fee, r.increment_first, r.increment_next,
                   r.effective_from, r.effective_to, p.currency
            FROM voip_plan_rate_plan m
            JOIN rate_plan p ON p.id = m.rate_plan_id AND p.kind = 'retail'
            JOIN rate r ON r.rate_plan_id = p.id
            LEFT JOIN country c ON c.code = r.country_code
            WHERE m.voip_plan_id = :plan
              AND r.effective_from <= :at AND (r.effective_to IS NULL OR r.effective_to > :at)
              AND {condition}
              AND NOT EXISTS (SELECT 1 FROM voip_plan_ban_plan vb JOIN ban_prefix b ON b.ban_plan_id = vb.ban_plan_id
                              WHERE vb.voip_plan_id = :plan AND r.prefix LIKE b.prefix || '%')
            ORDER BY r.prefix, r.rate, r.connection_fee
        ) rates
        ORDER BY {sort} {direction}, prefix LIMIT :limit""",
        plan=plan,
        at=at or datetime.now(timezone.utc),
        limit=limit,
        **params,
    )


def banned_prefix(voip_plan_id: int, number: str) -> str | None:
    """The shortest ban prefix of the plan that ``number`` starts with, if any."""
    return db.scalar(
        """SELECT b.prefix FROM voip_plan_ban_plan vb JOIN ban_prefix b ON b.ban_plan_id = vb.ban_plan_id
                        WHERE vb.voip_plan_id = :plan AND :number LIKE b.prefix || '%'
                        ORDER BY length(b.prefix) LIMIT 1""",
        plan=voip_plan_id,
        number=number,
    )
