"""Rate decks: all lines or none, every bad line named; versions in time; retail derived from carrier."""

from datetime import datetime
from decimal import Decimal

import pytest

from data.core import db
from data.core.scope import Scope
from data.rating import rates
from data.rating.rates import RateDeckError
from tests.rating_setup import ADMIN, UTC

D = Decimal
HEADER = "prefix,destination,rate,connection_fee,increment_first,increment_next,effective_from\n"


@pytest.fixture
def plan(app):
    with db.transaction() as conn:
        conn.exec_driver_sql("TRUNCATE rate_plan, provider CASCADE")
    return rates.create_rate_plan(ADMIN, "deck-test", "retail", currency="EUR")


def versions(plan_id: int, prefix: str) -> list[tuple]:
    return [
        (r["rate"], r["effective_from"], r["effective_to"])
        for r in db.rows(
            "SELECT rate, effective_from, effective_to FROM rate WHERE rate_plan_id = :p AND prefix = :x "
            "ORDER BY effective_from",
            p=plan_id,
            x=prefix,
        )
    ]


def test_a_deck_imports_with_countries(plan):
    count = rates.import_rate_deck(
        ADMIN, plan, HEADER + "34,Spain,0.05,0.1,60,60,2026-01-01\n+4420,London,0.012,0,1,1,2026-01-01T06:00:00+01:00\n"
    )
    assert count == 2
    rows = {r["prefix"]: r for r in rates.plan_rates(ADMIN, plan)}
    assert rows["34"]["country_code"] == "ES" and rows["34"]["connection_fee"] == D("0.1")
    assert rows["4420"]["country_code"] == "GB"
    assert rows["4420"]["effective_from"] == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert (rows["4420"]["increment_first"], rows["4420"]["increment_next"]) == (1, 1)


def test_a_broken_line_changes_nothing_and_every_bad_line_is_named(plan):
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.05,0.1,60,60,2026-01-01\n")
    deck = (
        HEADER
        + "33,France,0.02,0,60,60,2026-01-01\n"
        + "34,Spain,0.06,0,60,60,2026-01-01\n"
        + "3x4,Bad prefix,0.02,0,60,60,2026-01-01\n"  # line 4
        + "44,UK,abc,0,60,60,2026-01-01\n"  # line 5
        + "45,Denmark,0.02,0,60,0,2026-01-01\n"  # line 6: next increment 0
        + "46,Sweden,0.02,0,60,60,2026-02-30\n"  # line 7: no such date
        + "47,Norway,0.123456,0,60,60,2026-01-01\n"  # line 8: 6 decimals
        + "48,Poland,0.02,0,60\n"  # line 9: short
        + "33,France again,0.03,0,60,60,2026-01-01\n"
    )  # line 10: duplicate of line 2
    with pytest.raises(RateDeckError) as raised:
        rates.import_rate_deck(ADMIN, plan, deck)
    errors = dict(raised.value.errors)
    assert sorted(errors) == [4, 5, 6, 7, 8, 9, 10]
    assert "prefix '3x4'" in errors[4] and "rate 'abc'" in errors[5] and "increment_next" in errors[6]
    assert "effective_from" in errors[7] and "decimals" in errors[8] and "columns" in errors[9]
    assert "line 2" in errors[10]
    assert "line 4" in str(raised.value)
    # nothing changed: the old 34 is still the only rate
    assert [(r["prefix"], r["rate"]) for r in rates.plan_rates(ADMIN, plan)] == [("34", D("0.05"))]


def test_a_later_version_ends_the_earlier_one_and_the_same_start_replaces(plan):
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.05,0,60,60,2026-01-01\n")
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.07,0,60,60,2026-03-01\n")
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.06,0,60,60,2026-02-01,2026-02-15\n")
    jan, feb, feb15, mar = (datetime(2026, m, d, tzinfo=UTC) for m, d in ((1, 1), (2, 1), (2, 15), (3, 1)))
    assert versions(plan, "34") == [(D("0.05"), jan, feb), (D("0.06"), feb, feb15), (D("0.07"), mar, None)]
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.055,0,60,60,2026-01-01\n")  # same start: replaced
    assert versions(plan, "34")[0] == (D("0.055"), jan, feb)


def test_replace_all_ends_the_prefixes_the_new_deck_drops(plan):
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.05,0,60,60,2026-01-01\n33,France,0.02,0,60,60,2026-01-01\n")
    rates.import_rate_deck(ADMIN, plan, "34,Spain,0.06,0,60,60,2026-02-01\n", replace_all=True)
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    assert versions(plan, "33")[0][2] == feb
    assert versions(plan, "34")[-1] == (D("0.06"), feb, None)


def test_retail_rates_derived_from_a_carrier_plus_a_profit_percentage(plan):
    provider = rates.create_provider(ADMIN, "Carrier X")
    carrier = rates.create_rate_plan(ADMIN, "carrier-x", "carrier", provider_id=provider, currency="EUR")
    rates.import_rate_deck(
        ADMIN, carrier, "34,Spain,0.01235,0.00001,30,6,2026-01-01\n44,UK,0.00003,0,1,1,2026-01-01,2026-06-01\n"
    )
    assert rates.derive_retail_rates(ADMIN, carrier, plan, D("30")) == 2
    rows = {r["prefix"]: r for r in rates.plan_rates(ADMIN, plan)}
    # 0.01235 × 1.3 = 0.016055 → 0.01606 (half-up); 0.00001 × 1.3 = 0.000013 → 0.00001; 0.00003 × 1.3 → 0.00004
    assert (rows["34"]["rate"], rows["34"]["connection_fee"]) == (D("0.01606"), D("0.00001"))
    assert rows["34"]["rate"] == rates.markup(D("0.01235"), D("30"))
    assert rows["44"]["rate"] == D("0.00004") and rows["44"]["effective_to"] == datetime(2026, 6, 1, tzinfo=UTC)
    assert (rows["34"]["increment_first"], rows["34"]["increment_next"]) == (30, 6)
    usd = rates.create_rate_plan(ADMIN, "retail-usd", "retail", currency="USD")
    with pytest.raises(ValueError, match="currencies"):
        rates.derive_retail_rates(ADMIN, carrier, usd, D("30"))


def test_a_voip_plan_has_one_currency(plan):
    usd = rates.create_rate_plan(ADMIN, "retail-usd", "retail", currency="USD")
    with pytest.raises(ValueError, match="one currency"):
        rates.create_voip_plan(ADMIN, "mixed", [plan, usd])


def test_rate_management_is_for_admins(plan):
    customer = Scope(user_id=12345)
    for call in (
        lambda: rates.import_rate_deck(customer, plan, "34,Spain,0.05,0,60,60,2026-01-01\n"),
        lambda: rates.create_provider(customer, "Sneaky"),
        lambda: rates.plan_rates(customer, plan),
        lambda: rates.derive_retail_rates(customer, plan, plan, D(10)),
        lambda: rates.assign_voip_plan(customer, 12345, None),
    ):
        with pytest.raises(PermissionError):
            call()
