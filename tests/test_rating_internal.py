"""Internal calls are never priced by a country prefix: only by the plan's internal rate, 0 without one.

The defect (issue 16): "12", an extension, was sold at the USA rate through prefix 1, and the demo
data's extension calls (9598, 5622, 390) carried sell costs.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest

from data.core import db
from data.demo import demo_data as demo
from data.ingest import import_file
from data.ingest.fields import CDR_STATS_FIELDS
from data.rating import rates
from data.rating.rater import RatingStatus, rerate
from data.rating.simulator import simulate_call
from tests.rating_setup import ADMIN, UTC, build_world, rate_in_stage

INTERNAL_SQL = """SELECT count(*) FROM cdr
                  WHERE country_code IS NULL AND normalised_number IS NOT NULL AND length(normalised_number) < 6"""


@pytest.fixture(scope="module")
def world(app):
    world = build_world()
    # a one-digit prefix that every extension starting with 1 or 9 would match by prefix
    rates.import_rate_deck(ADMIN, world["retail_plan"], "1,USA,0.02,0,60,60,2026-01-01\n9,Nine,0.5,0,60,60,2026-01-01")
    rates.import_rate_deck(ADMIN, world["carrier_plans"]["A"], "1,USA,0.01,0,60,60,2026-01-01")
    return world


def test_an_extension_is_internal_not_a_country(world):
    user = db.rows("SELECT id FROM app_user WHERE username = 'alice'")[0]["id"]
    at = datetime(2026, 1, 15, 10, tzinfo=UTC)
    calls = [
        {"normalised_number": "12", "billsec": 120, "user_id": user, "starting_date": at},
        {"normalised_number": "9598", "billsec": 60, "user_id": user, "starting_date": at},
        {"normalised_number": "12125550100", "country_code": "US", "billsec": 60, "user_id": user, "starting_date": at},
    ]
    extension, nine, usa = rate_in_stage(calls)
    for internal in (extension, nine):
        assert internal["rating_status"] == RatingStatus.INTERNAL
        assert (internal["sell_cost"], internal["buy_cost"], internal["carrier_id"]) == (0, 0, None)
    assert usa["rating_status"] == RatingStatus.RATED and usa["sell_cost"] == Decimal("0.02")


def test_the_internal_rate_prices_internal_calls_only(world):
    rates.set_internal_rate(
        ADMIN,
        world["retail_plan"],
        Decimal("0.001"),
        increment_first=1,
        increment_next=1,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    try:
        user = db.rows("SELECT id FROM app_user WHERE username = 'alice'")[0]["id"]
        at = datetime(2026, 1, 15, 10, tzinfo=UTC)
        internal, usa = rate_in_stage(
            [
                {"normalised_number": "12", "billsec": 120, "user_id": user, "starting_date": at},
                {
                    "normalised_number": "12125550100",
                    "country_code": "US",
                    "billsec": 60,
                    "user_id": user,
                    "starting_date": at,
                },
            ]
        )
        assert internal["rating_status"] == RatingStatus.INTERNAL
        assert (internal["sell_rate"], internal["sell_cost"], internal["buy_cost"]) == (
            Decimal("0.001"),
            Decimal("0.002"),
            0,
        )
        assert usa["sell_rate"] == Decimal("0.02")  # the internal rate is no prefix: the USA keeps its own
        result = simulate_call(ADMIN, "12", 120, at=at, voip_plan_id=world["voip_plan"])
        assert result["status"] == RatingStatus.INTERNAL
        assert result["sell"]["cost"] == Decimal("0.002") and result["sell"]["prefix"] == "internal rate"
    finally:
        db.execute("DELETE FROM rate WHERE kind = 'internal'")


def test_the_simulator_says_internal_call_and_why(world):
    result = simulate_call(ADMIN, "12", 60, voip_plan_id=world["voip_plan"])
    assert result["status"] == RatingStatus.INTERNAL and result["status"].label == "internal"
    assert result["country_code"] is None and result["candidates"] == []
    assert "PN_MIN_DIGITS" in result["internal"] and "internal call" in result["internal"]
    assert result["sell"]["cost"] == 0 and result["sell"]["prefix"] == "none: internal calls cost 0"
    assert simulate_call(ADMIN, "+12125550100", 60, voip_plan_id=world["voip_plan"])["internal"] is None


def test_internal_patterns_make_longer_numbers_internal(world, monkeypatch, tmp_path):
    monkeypatch.setenv("INTERNAL_PATTERNS", "51XXXXX")
    result = simulate_call(ADMIN, "5123456", 60, voip_plan_id=world["voip_plan"])
    assert result["status"] == RatingStatus.INTERNAL and "INTERNAL_PATTERNS" in result["internal"]
    path = tmp_path / "calls.csv"
    row = "10.0.0.1,1,{id},900,C,{number},,,,2026-01-15 10:00:00,66,61,,,,16,,2,,1001,,,,,{{}}\n"
    path.write_text(
        ",".join(CDR_STATS_FIELDS)
        + "\n"
        + row.format(id="pattern-1", number="5123456")
        + row.format(id="pattern-2", number="912345678")
    )
    assert import_file(path).line() == "accepted=2 duplicates=0 rejected=0"
    stored = {
        r["callid"]: r
        for r in db.rows("SELECT callid, country_code, rating_status, sell_cost FROM cdr WHERE callid LIKE 'pattern-%'")
    }
    assert stored["pattern-1"]["country_code"] is None and stored["pattern-1"]["rating_status"] == RatingStatus.INTERNAL
    assert stored["pattern-2"]["country_code"] == "US"  # 9 digits: national, LOCAL_DIALCODE 1 in front


def test_rerating_the_demo_data_leaves_no_internal_call_with_a_country_rate(app):
    end = datetime(2026, 3, 10, tzinfo=UTC)
    demo.load_demo_data(days=3, calls_per_day=600, seed=11, end=end)
    internal = db.scalar(INTERNAL_SQL)
    assert internal > 0, "the demo traffic has extension calls"
    rerate(date(2026, 3, 1), date(2026, 3, 10))
    priced = db.scalar(
        INTERNAL_SQL + f" AND (rating_status <> {int(RatingStatus.INTERNAL)} OR sell_cost <> 0 OR buy_cost <> 0)"
    )
    assert priced == 0
    assert db.scalar(INTERNAL_SQL + f" AND rating_status = {int(RatingStatus.INTERNAL)}") == internal
    # and the rollups agree with the calls
    assert db.scalar("SELECT sum(sell_cost) FROM cdr_rollup_hour") == db.scalar("SELECT sum(sell_cost) FROM cdr")
