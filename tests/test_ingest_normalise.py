"""Phone number normalisation: the reference's own examples, and Python and SQL giving the same answers."""

import random

import pytest

from data.core import db
from data.core.normalise import INTERNAL, INTERNATIONAL, NATIONAL, NO_NUMBER, normalise_number, normalise_sql
from data.core.settings import NumberPlan

DEFAULT = NumberPlan()
USA = NumberPlan(pn_max_digits=10, local_dialcode="1")
UK = NumberPlan(pn_max_digits=10, local_dialcode="44")  # "0" is in PREFIX_TO_IGNORE by default
SPAIN = NumberPlan(pn_max_digits=9, local_dialcode="34")
PREFIXES = {"1": "US", "1416": "CA", "7": "RU", "33": "FR", "34": "ES", "44": "GB", "441481": "GG", "49": "DE"}


def check(number, plan):
    result = normalise_number(number, plan, PREFIXES)
    return result.normalised, result.kind, result.country_code


# Each plan's examples: (number, (normalised, kind, country)).
PLAN_EXAMPLES = {
    "usa": (  # 10 or 11 digit dialling
        USA,
        [
            ("2125550123", ("12125550123", NATIONAL, "US")),  # 10 digits: a 1 is added
            ("12125550123", ("12125550123", INTERNATIONAL, "US")),  # 11 digits: left untouched
            ("+12125550123", ("12125550123", INTERNATIONAL, "US")),
            ("4165550123", ("14165550123", NATIONAL, "CA")),  # a longer prefix shares NANP's 1
            ("01133142685300", ("33142685300", INTERNATIONAL, "FR")),  # 011: the US international prefix
        ],
    ),
    "uk": (  # the 0 trunk prefix and 44
        UK,
        [
            ("02079460123", ("442079460123", NATIONAL, "GB")),  # the single 0 trunk code removed, 44 added
            ("07700900123", ("447700900123", NATIONAL, "GB")),
            ("01481123456", ("441481123456", NATIONAL, "GG")),  # Guernsey, inside +44
            ("00441481123456", ("441481123456", INTERNATIONAL, "GG")),
            ("0033142685300", ("33142685300", INTERNATIONAL, "FR")),
        ],
    ),
    "spain": (  # 9 digits and 34
        SPAIN,
        [
            ("650104877", ("34650104877", NATIONAL, "ES")),  # 9 digits, no trunk code: 34 added
            ("911234567", ("34911234567", NATIONAL, "ES")),
            ("0034650104877", ("34650104877", INTERNATIONAL, "ES")),
            ("+34650104877", ("34650104877", INTERNATIONAL, "ES")),
        ],
    ),
    "default": (  # cleaning, with the default plan
        DEFAULT,
        [
            ("34650104877#123", ("34650104877", INTERNATIONAL, "ES")),  # DTMF tail
            ("34650104877w123", ("34650104877", INTERNATIONAL, "ES")),
            ("+34 650 10 48 77", ("34650104877", INTERNATIONAL, "ES")),
            ("sip:+34650104877@pbx.example.com", ("34650104877", INTERNATIONAL, "ES")),
            ("1001", ("1001", INTERNAL, None)),  # fewer than PN_MIN_DIGITS: an extension
            ("00000", (None, NO_NUMBER, None)),  # only an ignored prefix
            ("anonymous", (None, NO_NUMBER, None)),
            ("", (None, NO_NUMBER, None)),
            ("5555534650104877", ("34650104877", INTERNATIONAL, "ES")),  # 55555 (longest) stripped once
            ("999999", ("9", INTERNAL, None)),  # 99999 stripped, leaving 1 digit
            ("0000034650104877", ("34650104877", INTERNATIONAL, "ES")),
        ],
    ),
}


@pytest.mark.parametrize(
    "plan, number, expected",
    [
        pytest.param(plan, number, expected, id=f"{name}-{number}")
        for name, (plan, examples) in PLAN_EXAMPLES.items()
        for number, expected in examples
    ],
)
def test_numbers_of_each_plan(plan, number, expected):
    assert check(number, plan) == expected


def test_steps_are_explained():
    steps = normalise_number("02079460123", UK, PREFIXES).steps
    assert steps[0].startswith("removed the ignored prefix '0'")
    assert "LOCAL_DIALCODE '44' added" in steps[1]
    assert steps[-1] == "longest dial prefix '44': country GB"


def _sql_results(numbers: list[str], plan: NumberPlan) -> list[tuple]:
    """The SQL rules, in the same OFFSET 0 levels as the import, with the same longest-prefix lookup."""
    sql = normalise_sql("t_destination_number", plan)
    query = f"""
        SELECT n, normalised,
               (SELECT p.country_code FROM dial_prefix p WHERE NOT internal AND starts_with(normalised, p.prefix)
                ORDER BY length(p.prefix) DESC LIMIT 1) AS country
        FROM (SELECT ord, n, {sql.normalised} AS normalised, {sql.internal} AS internal
              FROM (SELECT ord, n, {sql.digits} AS n_digits, {sql.international} AS n_abroad
                    FROM (SELECT ord, n, {sql.clean} AS n_clean
                          FROM (SELECT ord, n, n AS t_destination_number
                                FROM unnest(%(numbers)s::text[]) WITH ORDINALITY AS u(n, ord)) x OFFSET 0
                    ) a OFFSET 0
              ) b OFFSET 0
        ) c ORDER BY ord"""
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(query, {**sql.params, "numbers": numbers})
        return [tuple(row) for row in cur.fetchall()]


def _random_numbers(count: int) -> list[str]:
    rng = random.Random(7)
    heads = ["", "+", "0", "00", "000", "011", "55555", "99999", "+00", "sip:", "tel:+"]
    tails = ["", "#123", "w9", "*1", "@host", " ext 12"]
    numbers = ["", "+", "0", "anonymous", "+34 (650) 10-48-77", "1001", "00000"]
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 15)))
        numbers.append(rng.choice(heads) + digits + rng.choice(tails))
    return numbers


@pytest.mark.parametrize(
    "plan",
    [
        DEFAULT,
        USA,
        UK,
        SPAIN,
        NumberPlan(prefix_to_ignore=("9", "90", "900"), pn_min_digits=4, pn_max_digits=8, local_dialcode="33"),
    ],
)
def test_python_and_sql_agree(app, plan):
    numbers = _random_numbers(600)
    prefixes = {r["prefix"]: r["country_code"] for r in db.rows("SELECT prefix, country_code FROM dial_prefix")}
    expected = [(n, (r := normalise_number(n, plan, prefixes)).normalised, r.country_code) for n in numbers]
    assert _sql_results(numbers, plan) == expected
