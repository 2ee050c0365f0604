"""Rating calls set-based, as the import does: hand-computed prices, LCR, bans, dates, statuses."""

from datetime import datetime, timedelta

import pytest

from data.rating.rater import RatingStatus
from tests.rating_setup import UTC, build_world, money, rate_in_stage

MID_JAN = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MID_FEB = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(app):
    from data.admin import users

    def make_user(name, **kwargs):
        return users.create_user(name, "pass-word-1", "customer", **kwargs)

    return build_world(make_user)


def call(world, number, billsec=61, when=MID_JAN, user="alice", **extra):
    return {
        "normalised_number": number,
        "billsec": billsec,
        "starting_date": when,
        "user_id": world[user].id if user else None,
        **extra,
    }


def test_61_seconds_on_30_6_is_billed_66_and_lcr_tie_goes_to_priority(world):
    [row] = rate_in_stage([call(world, "34650104877")])
    # sell: 3465 at 0.06 on 30/6 → 66 s → 0.066; buy: A and B both 0.02 on 3465, A has priority 1
    assert row["sell_rate"] == money("0.06") and row["sell_cost"] == money("0.06600")
    assert row["carrier_id"] == world["providers"]["A"]
    assert row["buy_rate"] == money("0.02") and row["buy_cost"] == money("0.02200")  # A bills 30/6 too
    assert row["rating_status"] == RatingStatus.RATED


def test_61_seconds_on_60_60_is_billed_120_with_the_connection_fee_and_cheapest_carrier(world):
    [row] = rate_in_stage([call(world, "34911223344")])
    # sell: 34 at 0.05 on 60/60 plus 0.10 fee → 0.10 + 0.05 × 2; buy: B's 0.009 beats A's 0.01 on 34
    assert row["sell_cost"] == money("0.20000")
    assert row["carrier_id"] == world["providers"]["B"]
    assert row["buy_rate"] == money("0.009") and row["buy_cost"] == money("0.01800")


def test_lcr_takes_the_longest_prefix_before_the_cheapest_rate(world):
    rows = rate_in_stage([call(world, "34661234567"), call(world, "34650000000")])
    # 3466...: only C's 346 matches beyond 34 → C (0.001 × 2 min)
    assert rows[0]["carrier_id"] == world["providers"]["C"] and rows[0]["buy_cost"] == money("0.00200")
    # 3465...: C's 346 is cheaper but 3465 is longer → A
    assert rows[1]["carrier_id"] == world["providers"]["A"]


def test_effective_dates(world):
    rows = rate_in_stage(
        [
            call(world, "34650104877", when=MID_FEB),  # retail 3465 is 0.07 from February
            call(world, "34650104877", when=datetime(2026, 2, 1, tzinfo=UTC) - timedelta(microseconds=1)),
            call(world, "34671234567", when=datetime(2026, 1, 19, 23, 59, tzinfo=UTC)),  # C's 3467 still on
            call(world, "34671234567", when=datetime(2026, 1, 20, tzinfo=UTC)),  # ended: back to 346
            call(world, "34650104877", when=datetime(2025, 12, 31, 23, 59, tzinfo=UTC)),  # nothing yet
        ]
    )
    assert rows[0]["sell_rate"] == money("0.07") and rows[0]["sell_cost"] == money("0.07700")
    assert rows[1]["sell_rate"] == money("0.06")
    assert rows[2]["buy_rate"] == money("0.004")
    assert rows[3]["buy_rate"] == money("0.001")
    assert rows[4]["rating_status"] == RatingStatus.NO_RETAIL_RATE and rows[4]["sell_cost"] is None


def test_banned_prefix_has_no_price(world):
    [row] = rate_in_stage([call(world, "34901234567")])
    assert row["rating_status"] == RatingStatus.BANNED
    assert (row["sell_cost"], row["buy_cost"], row["carrier_id"]) == (None, None, None)


def test_zero_duration_costs_nothing_but_records_the_rates(world):
    [row] = rate_in_stage([call(world, "34650104877", billsec=0)])
    assert row["rating_status"] == RatingStatus.ZERO_DURATION
    assert row["sell_cost"] == 0 and row["buy_cost"] == 0
    assert row["sell_rate"] == money("0.06") and row["carrier_id"] == world["providers"]["A"]


def test_statuses_without_prices(world):
    rows = rate_in_stage(
        [
            call(world, "447700900123"),  # retail 44 exists, no carrier has 44
            call(world, "12125550100"),  # nothing for 1
            call(world, "34650104877", user="carol"),  # customer without a VoIP plan
            call(world, "34650104877", user=None),  # no customer
            call(world, None),  # no number
        ]
    )
    assert rows[0]["rating_status"] == RatingStatus.NO_CARRIER_RATE
    assert rows[0]["sell_cost"] == money("0.03050") and rows[0]["buy_cost"] is None  # 61 s at 0.03 on 1/1
    assert [r["rating_status"] for r in rows[1:]] == [
        RatingStatus.NO_RETAIL_RATE,
        RatingStatus.NO_PLAN,
        RatingStatus.NO_PLAN,
        RatingStatus.NO_RETAIL_RATE,
    ]


def test_rounding_half_up_in_sql(world):
    rows = rate_in_stage([call(world, "33123456789", billsec=30), call(world, "33123456789", billsec=29)])
    assert rows[0]["sell_cost"] == money("0.00001")  # 0.000005 rounds up
    assert rows[1]["sell_cost"] == money("0.00000")


def test_prices_that_come_with_the_cdr_are_kept(world):
    [row] = rate_in_stage([call(world, "34650104877", sell_rate="0.5", sell_cost="0.55", buy_rate=None)])
    assert row["rating_status"] == RatingStatus.IMPORTED
    assert row["sell_cost"] == money("0.55") and row["buy_cost"] is None


def test_rating_is_the_same_for_a_call_alone_and_in_a_batch(world):
    numbers = ["34650104877", "34911223344", "34661234567", "447700900123", "34901234567", "33123456789"]
    batch = [call(world, n, billsec=b) for n in numbers for b in (0, 1, 59, 61, 3600)]

    def prices(row):
        return {k: v for k, v in row.items() if k != "callid"}

    together = [prices(r) for r in rate_in_stage(batch)]
    alone = [prices(rate_in_stage([c])[0]) for c in batch[::3]]
    assert together[::3] == alone


def test_cached_answers_are_rebuilt_only_after_a_change(world):
    from data.rating import rates
    from data.rating.rater import refresh_rating_cache
    from tests.rating_setup import ADMIN

    plan = world["voip_plan"]
    rate_in_stage([call(world, "34650104877")])
    assert refresh_rating_cache([plan]) == []  # fresh: nothing to do
    rates.update_provider(ADMIN, world["providers"]["C"], priority=3)  # any change to what prices calls
    assert refresh_rating_cache([plan]) == [plan]
    rates.import_rate_deck(ADMIN, world["retail_plan"], "34,Spain,0.04,0.10,60,60,2026-03-01")
    [row] = rate_in_stage([call(world, "34911223344", when=datetime(2026, 3, 2, tzinfo=UTC))])
    assert row["sell_cost"] == money("0.18000")  # the new rate, at once: 0.10 + 0.04 × 2
