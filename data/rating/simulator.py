"""The rate simulator: what one call would cost, priced by the import's own rating statements.

Public: ``simulate_call``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from psycopg2 import sql

from data.core import db
from data.rating.rater import _OWN_PLAN, MAX_PREFIX_LENGTH, RatingStatus, _rate_table, billed_seconds, call_cost

_SIMULATION_SQL = """
CREATE TEMP TABLE simulated_call ON COMMIT DROP AS
SELECT %(number)s::text AS normalised_number, %(country)s::text AS country_code,
       %(at)s::timestamptz AS starting_date, %(billsec)s::integer AS billsec,
       %(plan)s::integer AS voip_plan_id, NULL::numeric(14, 5) AS buy_rate, NULL::numeric(14, 5) AS buy_cost,
       NULL::numeric(14, 5) AS sell_rate, NULL::numeric(14, 5) AS sell_cost, NULL::integer AS carrier_id,
       NULL::smallint AS rating_status
"""

# Each rate plan's own longest matching price in force at the time, and the plan's matching bans.
_CANDIDATES_SQL = """
SELECT DISTINCT ON (p.kind, rp.id) p.kind, rp.id AS rate_plan_id, rp.name AS rate_plan, p.provider_id,
       pr.name AS carrier, p.provider_priority, p.prefix, r.destination, p.rate, p.connection_fee,
       p.increment_first, p.increment_next
FROM voip_plan_price p
LEFT JOIN rate r ON r.id = p.rate_id
LEFT JOIN rate_plan rp ON rp.id = r.rate_plan_id
LEFT JOIN provider pr ON pr.id = p.provider_id
WHERE p.voip_plan_id = %(plan)s AND p.prefix = ANY(%(heads)s)
  AND p.effective_from <= %(at)s AND (p.effective_to IS NULL OR p.effective_to > %(at)s)
ORDER BY p.kind, rp.id, length(p.prefix) DESC
"""


def _internal_sides(plan: int, at: datetime, billsec: int) -> dict:
    """The internal rates a call of ``plan`` at ``at`` is priced with (the rating's own choice: the
    cheapest retail one, the cheapest carrier one), or a rate of 0 where the plan has none."""
    found = db.rows(
        """SELECT DISTINCT ON (p.kind) p.kind, p.rate, p.connection_fee, p.increment_first, p.increment_next,
                  rp.name AS rate_plan, pr.name AS carrier, p.provider_id
           FROM voip_plan_internal_price p JOIN rate r ON r.id = p.rate_id JOIN rate_plan rp ON rp.id = r.rate_plan_id
           LEFT JOIN provider pr ON pr.id = p.provider_id
           WHERE p.voip_plan_id = :plan AND p.effective_from <= :at AND (p.effective_to IS NULL OR p.effective_to > :at)
           ORDER BY p.kind, p.rate, p.connection_fee, p.provider_priority NULLS FIRST, p.provider_id, p.rate_id""",
        plan=plan,
        at=at,
    )
    sides = {}
    for kind in ("retail", "carrier"):
        row = next((r for r in found if r["kind"] == kind), None) or {
            "rate": Decimal(0),
            "connection_fee": Decimal(0),
            "increment_first": 0,
            "increment_next": 1,
            "rate_plan": None,
            "carrier": None,
        }
        billed = billed_seconds(billsec, row["increment_first"], row["increment_next"])
        sides[kind] = {
            **row,
            "prefix": "internal rate" if row["rate_plan"] else "none: internal calls cost 0",
            "billed_seconds": billed,
        }
    return sides


def simulate_call(
    scope, number: str, billsec: int, *, at: datetime | None = None, voip_plan_id: int | None = None
) -> dict:
    """What a call to ``number`` lasting ``billsec`` seconds at ``at`` (now) costs on a VoIP plan: the
    customer's own, or the one an admin picks. Priced by the import's own rating (one row through the
    same statements), with every candidate carrier beside it. Customers see the sell side only."""
    from data.core.normalise import INTERNAL, normalise_number
    from data.core.setting_overrides import effective_number_plan
    from data.rating.rates import voip_plan_of

    if billsec < 0:
        raise ValueError("the duration cannot be negative")
    at = at or datetime.now(timezone.utc)
    plan = voip_plan_of(scope, voip_plan_id)
    normalised = normalise_number(number, effective_number_plan())
    digits = normalised.normalised or ""
    result = {
        "number": number,
        "normalised": normalised.normalised,
        "country_code": normalised.country_code,
        "country": db.scalar("SELECT name FROM country WHERE code = :c", c=normalised.country_code),
        "billsec": billsec,
        "at": at,
        "voip_plan_id": plan,
        "voip_plan": None,
        "currency": None,
        "status": RatingStatus.NO_PLAN,
        "sell": None,
        "buy": None,
        "candidates": [],
        "banned_prefix": None,
        "margin": None,
        "margin_percent": None,
        # an internal call: why (the normalisation step that classed it), and its internal rates
        "internal": next((step for step in normalised.steps if "internal call" in step), None)
        if normalised.kind == INTERNAL
        else None,
    }
    if plan is None:
        if normalised.kind == INTERNAL:
            result["status"] = RatingStatus.INTERNAL
        return result
    # an internal number matches no prefix: no prefix candidates to show
    heads = (
        [] if normalised.kind == INTERNAL else [digits[:k] for k in range(1, min(len(digits), MAX_PREFIX_LENGTH) + 1)]
    )
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(
            _SIMULATION_SQL,
            {"number": digits or None, "country": normalised.country_code, "at": at, "billsec": billsec, "plan": plan},
        )
        _rate_table(cur, sql.Identifier("simulated_call"), _OWN_PLAN)
        cur.execute("SELECT sell_rate, sell_cost, buy_rate, buy_cost, carrier_id, rating_status FROM simulated_call")
        sell_rate, sell_cost, buy_rate, buy_cost, carrier_id, status = cur.fetchone()
        cur.execute(_CANDIDATES_SQL, {"plan": plan, "heads": heads, "at": at})
        columns = [c.name for c in cur.description]
        candidates = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        cur.execute(
            "SELECT v.name, (SELECT min(p.currency) FROM voip_plan_rate_plan m JOIN rate_plan p "
            "ON p.id = m.rate_plan_id WHERE m.voip_plan_id = v.id) FROM voip_plan v WHERE v.id = %s",
            (plan,),
        )
        result["voip_plan"], result["currency"] = cur.fetchone()
    for candidate in candidates:
        if candidate["kind"] != "ban":
            billed = billed_seconds(billsec, candidate["increment_first"], candidate["increment_next"])
            candidate.update(
                billed_seconds=billed, cost=call_cost(candidate["rate"], candidate["connection_fee"], billed)
            )
    result["status"] = RatingStatus(status)
    if result["status"] == RatingStatus.INTERNAL:
        internal = _internal_sides(plan, at, billsec)
        result["sell"] = {**internal["retail"], "cost": sell_cost}
        if scope.is_admin:
            result["buy"] = {**internal["carrier"], "cost": buy_cost}
            result["margin"] = sell_cost - buy_cost
        return result
    bans = [c for c in candidates if c["kind"] == "ban"]
    result["banned_prefix"] = min((c["prefix"] for c in bans), key=len) if bans else None
    retail = sorted((c for c in candidates if c["kind"] == "retail"), key=lambda c: -len(c["prefix"]))
    result["sell"] = next((c for c in retail if c["rate"] == sell_rate), None) if sell_rate is not None else None
    if result["sell"] is not None:
        result["sell"] = {**result["sell"], "cost": sell_cost}
    if not scope.is_admin:
        return result  # the buy side (carriers, their prices, the margin) is the operator's business
    carriers = sorted(
        (c for c in candidates if c["kind"] == "carrier"),
        key=lambda c: (-len(c["prefix"]), c["rate"], c["provider_priority"], c["provider_id"]),
    )
    for candidate in carriers:
        candidate["chosen"] = candidate["provider_id"] == carrier_id and candidate["rate"] == buy_rate
    result["candidates"] = carriers
    chosen = next((c for c in carriers if c["chosen"]), None)
    result["buy"] = {**chosen, "cost": buy_cost} if chosen else None
    if sell_cost is not None and buy_cost is not None:
        result["margin"] = sell_cost - buy_cost
        result["margin_percent"] = (result["margin"] * 100 / sell_cost).quantize(Decimal("0.01")) if sell_cost else None
    return result
