"""The set-based rating against a brute-force reference, on random nested prefixes, dates and ties."""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from data.admin import users
from data.core import db
from data.rating import rates
from data.rating.rater import RatingStatus, billed_seconds, call_cost
from tests.rating_setup import ADMIN, UTC, rate_in_stage

START = datetime(2026, 3, 1, tzinfo=UTC)
DIGITS = "123"  # few digits: deeply nested prefixes, many of every length


def _random_deck(rng: random.Random, size: int) -> list[rates.RateRow]:
    rows = {}
    for _ in range(size):
        prefix = "".join(rng.choice(DIGITS) for _ in range(rng.randint(1, 9)))
        for version in range(rng.choice([1, 1, 2, 3])):
            start = START + timedelta(days=rng.randrange(-5, 20) + version * 10)
            end = start + timedelta(days=rng.randrange(1, 15)) if rng.random() < 0.2 else None
            rows[(prefix, start)] = rates.RateRow(
                prefix,
                "",
                Decimal(rng.randrange(0, 50)).scaleb(-3),
                Decimal(rng.choice([0, 0, 5])).scaleb(-2),
                rng.choice([0, 1, 30, 60]),
                rng.choice([1, 6, 60]),
                start,
                end,
            )
    return list(rows.values())


def _reference(prices: list[dict], call: dict, decimals: int = 5) -> dict:
    """What rating must give, by brute force over every price of the plan."""
    number, when = call["normalised_number"], call["starting_date"]
    matching = [
        p
        for p in prices
        if number.startswith(p["prefix"])
        and p["effective_from"] <= when
        and (p["effective_to"] is None or when < p["effective_to"])
    ]
    if any(p["kind"] == "ban" for p in matching):
        return {"rating_status": RatingStatus.BANNED, "sell_cost": None, "buy_cost": None, "carrier_id": None}

    def best(kind, key):
        found = [p for p in matching if p["kind"] == kind]
        return min(found, key=lambda p: (-len(p["prefix"]), *key(p))) if found else None

    sell = best("retail", lambda p: (p["rate"], p["connection_fee"], p["rate_id"]))
    buy = best("carrier", lambda p: (p["rate"], p["provider_priority"], p["provider_id"], p["rate_id"]))

    def cost(price):
        if price is None:
            return None
        billed = billed_seconds(call["billsec"], price["increment_first"], price["increment_next"])
        return call_cost(price["rate"], price["connection_fee"], billed, decimals)

    status = (
        RatingStatus.ZERO_DURATION
        if call["billsec"] <= 0
        else RatingStatus.NO_RETAIL_RATE
        if sell is None
        else RatingStatus.NO_CARRIER_RATE
        if buy is None
        else RatingStatus.RATED
    )
    return {
        "rating_status": status,
        "sell_cost": cost(sell),
        "buy_cost": cost(buy),
        "carrier_id": buy["provider_id"] if buy else None,
    }


def test_set_based_rating_matches_brute_force(app):
    rng = random.Random(7)
    providers = [rates.create_provider(ADMIN, f"P{i}", priority=rng.choice([1, 2])) for i in range(4)]
    plan_ids = []
    for i, provider in enumerate(providers):
        plan = rates.create_rate_plan(ADMIN, f"c{i}", "carrier", provider_id=provider)
        rates.store_rates(ADMIN, plan, _random_deck(rng, 150))
        plan_ids.append(plan)
    for i in range(2):
        plan = rates.create_rate_plan(ADMIN, f"r{i}", "retail")
        rates.store_rates(ADMIN, plan, _random_deck(rng, 150))
        plan_ids.append(plan)
    bans = rates.create_ban_plan(ADMIN, "bans", ["".join(rng.choice(DIGITS) for _ in range(5)) for _ in range(15)])
    voip_plan = rates.create_voip_plan(ADMIN, "random", plan_ids, [bans])
    user = users.create_user("random-customer", "pass-word-1", "customer")
    rates.assign_voip_plan(ADMIN, user.id, voip_plan)

    calls = [
        {
            "normalised_number": "".join(rng.choice(DIGITS) for _ in range(rng.randint(1, 12))),
            "starting_date": START + timedelta(seconds=rng.randrange(-10 * 86400, 50 * 86400)),
            "billsec": rng.choice([0, 1, 29, 30, 31, 61, rng.randrange(0, 4000)]),
            "user_id": user.id,
            "country_code": "ES",  # numbers with a country: never internal, priced by prefix whatever their length
        }
        for _ in range(3000)
    ]
    rated = rate_in_stage(calls)
    prices = db.rows("SELECT * FROM voip_plan_price WHERE voip_plan_id = :v", v=voip_plan)
    statuses = set()
    for call, row in zip(calls, rated, strict=True):
        expected = _reference(prices, call)
        got = {k: row[k] for k in expected}
        assert got == expected, call
        statuses.add(row["rating_status"])
    assert statuses >= {
        RatingStatus.RATED,
        RatingStatus.BANNED,
        RatingStatus.ZERO_DURATION,
        RatingStatus.NO_RETAIL_RATE,
    }
