"""The pricing formula: hand-computed examples, and Python and SQL agreeing on many cases."""

import random
from decimal import Decimal

import pytest

from data.core import db
from data.rating.rater import billed_seconds, call_cost

D = Decimal


@pytest.mark.parametrize(
    ("billsec", "first", "following", "billed"),
    [
        (61, 60, 60, 120),  # the examples
        (61, 30, 6, 66),
        (61, 1, 1, 61),
        (60, 60, 60, 60),
        (1, 60, 60, 60),
        (1, 30, 6, 30),
        (30, 30, 6, 30),
        (31, 30, 6, 36),
        (36, 30, 6, 36),
        (37, 30, 6, 42),
        (0, 60, 60, 0),  # not answered: nothing billed
        (5, 0, 6, 6),  # no first increment: straight to the next ones
        (3600, 60, 60, 3600),
    ],
)
def test_billed_seconds(billsec, first, following, billed):
    assert billed_seconds(billsec, first, following) == billed


def test_call_cost_hand_computed():
    # 61 s at 0.05/min on 60/60 with a 0.10 connection fee: 0.10 + 0.05 × 120 / 60
    assert call_cost(D("0.05"), D("0.10"), billed_seconds(61, 60, 60)) == D("0.20000")
    # 61 s at 0.06/min on 30/6: 0.06 × 66 / 60 = 0.066
    assert call_cost(D("0.06"), D("0"), billed_seconds(61, 30, 6)) == D("0.06600")
    # 0.01234/min for 66 s = 0.013574 → 0.01357, plus 0.1 fee
    assert call_cost(D("0.01234"), D("0.1"), 66) == D("0.11357")


def test_zero_duration_pays_no_connection_fee():
    assert call_cost(D("0.05"), D("0.25"), billed_seconds(0, 60, 60)) == D("0.00000")


def test_rounding_is_half_up_at_five_decimals_by_default():
    # 0.00001/min for 30 s = 0.000005: half-up gives 0.00001 (banker's rounding would give 0)
    assert call_cost(D("0.00001"), D("0"), 30) == D("0.00001")
    assert call_cost(D("0.00001"), D("0"), 29) == D("0.00000")
    # 0.00003/min for 25 s = 0.0000125 → 0.00001
    assert call_cost(D("0.00003"), D("0"), 25) == D("0.00001")


def test_rounding_decimals_are_configurable(monkeypatch):
    assert call_cost(D("0.1234"), D("0"), 60, decimals=2) == D("0.12")
    assert call_cost(D("0.125"), D("0"), 60, decimals=2) == D("0.13")  # half-up
    assert call_cost(D("0.135"), D("0"), 60, decimals=2) == D("0.14")
    monkeypatch.setenv("RATING_DECIMALS", "3")
    assert call_cost(D("0.0125"), D("0"), 60) == D("0.013")
    monkeypatch.setenv("RATING_DECIMALS", "9")
    with pytest.raises(ValueError, match="RATING_DECIMALS"):
        call_cost(D("0.0125"), D("0"), 60)


def _random_case(rng: random.Random) -> tuple:
    rate = D(rng.randrange(0, 10_000_000)).scaleb(-5)  # 0 .. 99.99999
    fee = D(rng.choice([0, 0, rng.randrange(0, 100_000)])).scaleb(-5)
    first = rng.choice([0, 1, 6, 30, 60, 90, rng.randrange(0, 300)])
    following = rng.choice([1, 6, 10, 30, 60, rng.randrange(1, 120)])
    billsec = rng.choice([0, 1, first, first + 1, rng.randrange(0, 7200)])
    decimals = rng.choice([5, 5, 5, 4, 2, 0])
    return rate, fee, first, following, billsec, decimals


def test_python_and_sql_agree_on_many_cases():
    rng = random.Random(20260105)
    cases = [_random_case(rng) for _ in range(5000)]
    # amounts that land exactly on a half at the rounding position
    cases += [
        (D("0.00001"), D("0"), 1, 1, 30, 5),
        (D("0.00003"), D("0.00001"), 1, 1, 10, 5),
        (D("0.003"), D("0"), 1, 1, 10, 3),
        (D("0.9"), D("0"), 1, 1, 20, 1),
    ]
    columns = list(zip(*cases, strict=True))
    sql_rows = db.rows(
        """SELECT rating_billed_seconds(b, f, n) AS billed,
                  rating_call_cost(r, c, rating_billed_seconds(b, f, n), d) AS cost
           FROM unnest(CAST(:r AS numeric[]), CAST(:c AS numeric[]), CAST(:f AS int[]), CAST(:n AS int[]),
                       CAST(:b AS int[]), CAST(:d AS int[])) WITH ORDINALITY AS t(r, c, f, n, b, d, i)
           ORDER BY i""",
        r=list(columns[0]),
        c=list(columns[1]),
        f=list(columns[2]),
        n=list(columns[3]),
        b=list(columns[4]),
        d=list(columns[5]),
    )
    for (rate, fee, first, following, billsec, decimals), row in zip(cases, sql_rows, strict=True):
        billed = billed_seconds(billsec, first, following)
        assert row["billed"] == billed, (rate, fee, first, following, billsec)
        expected = call_cost(rate, fee, billed, decimals)
        assert row["cost"] == expected, (rate, fee, billed, decimals)
