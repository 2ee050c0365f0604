"""Why a stored call costs what it costs: the rate the rating chose (prefix, destination, rate plan and its
currency), the billed seconds from the increments, and the cost the formula gives (``rater.billed_seconds``,
``rater.call_cost``: the same formula as the import's SQL).

The rate is found again from the call's plan, number and start: the retail price in force with the longest
prefix the number starts with and the rate stored on the call (the carrier's, for the buy side). When the
rates changed since the call was rated, the stored price is kept and the explanation says so.
"""

from __future__ import annotations

from decimal import Decimal

from data.core import db
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.rating.rater import RatingStatus, billed_seconds, call_cost

STATUS_TEXT = {
    RatingStatus.RATED: N_("rated"),
    RatingStatus.NO_RETAIL_RATE: N_("not rated: the customer's plan has no retail rate for this number"),
    RatingStatus.NO_CARRIER_RATE: N_("sell price found; no carrier of the plan has a rate for this number"),
    RatingStatus.BANNED: N_("not rated: the number matches a ban prefix of the plan"),
    RatingStatus.ZERO_DURATION: N_("not billed: the call was not answered (0 s)"),
    RatingStatus.IMPORTED: N_("priced by the switch: the prices came with the CDR"),
    RatingStatus.NO_PLAN: N_("not rated: the call has no customer, or the customer has no VoIP plan"),
    RatingStatus.INTERNAL: N_("an internal call: priced by the plan's internal rates"),
}

_PRICE_SQL = """
SELECT {prefix_column} AS prefix, r.destination, rp.name AS rate_plan, rp.currency, p.rate, p.connection_fee,
       p.increment_first, p.increment_next, pr.name AS carrier
FROM {view} p JOIN rate r ON r.id = p.rate_id JOIN rate_plan rp ON rp.id = r.rate_plan_id
LEFT JOIN provider pr ON pr.id = p.provider_id
WHERE p.voip_plan_id = :plan AND p.kind = :kind AND p.rate = :rate {prefix}
  AND (CAST(:provider AS integer) IS NULL OR p.provider_id = :provider)
  AND p.effective_from <= :at AND (p.effective_to IS NULL OR p.effective_to > :at)
ORDER BY {order} LIMIT 1"""


def status_text(status: int | None) -> str:
    """The rating status in words, in the current language (``data.core.i18n``)."""
    if status is None:
        return _("not rated yet")
    try:
        return _(STATUS_TEXT[RatingStatus(status)])
    except ValueError:
        return _("rating status %(status)s", status=status)


def _price(call: dict, kind: str, rate, provider: int | None) -> dict | None:
    """The price row of the call's plan the rating used for ``kind`` (retail/carrier), if it can be found."""
    internal = call["rating_status"] == RatingStatus.INTERNAL
    sql = _PRICE_SQL.format(
        view="voip_plan_internal_price" if internal else "voip_plan_price",
        prefix_column="NULL" if internal else "p.prefix",
        prefix="" if internal else "AND :number LIKE p.prefix || '%'",
        order="p.rate" if internal else "length(p.prefix) DESC",
    )
    found = db.rows(
        sql,
        plan=call["voip_plan_id"],
        kind=kind,
        rate=rate,
        number=call["normalised_number"] or "",
        provider=provider,
        at=call["starting_date"],
    )
    return found[0] if found else None


def _side(call: dict, kind: str, rate, cost, provider: int | None = None) -> dict | None:
    if rate is None:
        return None
    side = {"rate": rate, "stored_cost": cost, "price": None}
    price = _price(call, kind, rate, provider) if call["voip_plan_id"] is not None else None
    if price:
        billed = billed_seconds(call["billsec"] or 0, price["increment_first"], price["increment_next"])
        side.update(
            price=price,
            billed_seconds=billed,
            cost=call_cost(Decimal(price["rate"]), Decimal(price["connection_fee"]), billed),
        )
        side["matches"] = cost is None or side["cost"] == cost
    return side


def explain_call(cdr_id: int, with_buy_side: bool) -> dict | None:
    """The rating of call ``cdr_id`` (the caller checked the user may see it): status, sell side and, for
    admins (``with_buy_side``), the buy side, each with the price row, billed seconds and the cost the formula gives."""
    found = db.rows(
        """SELECT c.id, c.starting_date, c.billsec, c.normalised_number, c.rating_status, c.sell_rate, c.sell_cost,
                  c.buy_rate, c.buy_cost, c.carrier_id, u.voip_plan_id, v.name AS voip_plan
           FROM cdr c LEFT JOIN app_user u ON u.id = c.user_id LEFT JOIN voip_plan v ON v.id = u.voip_plan_id
           WHERE c.id = :id""",
        id=cdr_id,
    )
    if not found:
        return None
    call = found[0]
    result = {
        "status": call["rating_status"],
        "status_text": status_text(call["rating_status"]),
        "voip_plan": call["voip_plan"],
        "billsec": call["billsec"],
        "sell": _side(call, "retail", call["sell_rate"], call["sell_cost"]),
    }
    if with_buy_side:
        result["buy"] = _side(call, "carrier", call["buy_rate"], call["buy_cost"], call["carrier_id"])
    return result
