"""Phone number normalisation (CDR-Stats' "Country Reporting" rules) and the country of a number.

The rules live here twice, on purpose: ``normalise_number`` in Python explains every step (the admin's
"try a number" box calls it), and ``normalise_sql`` gives the same result set-based for the import.
A test checks that both agree on many numbers and plans.

1. Clean: a ``sip:``/``tel:`` scheme and formatting characters (spaces, dots, dashes, brackets) are
   removed, then only the leading ``+digits`` are kept: a DTMF or other tail (``34650104877#123``,
   ``...w123``, ``@host``) is cut.
2. Strip the longest prefix of PREFIX_TO_IGNORE the number starts with, once. A ``+`` still in front
   (when ``+`` is not in the list) is dropped: it is not a digit.
3. Fewer significant digits than PN_MIN_DIGITS: an internal (extension) call, no country.
   Up to PN_MAX_DIGITS: a national call, LOCAL_DIALCODE is put in front. More: international.
4. Country: the longest ``dial_prefix`` the number starts with gives ``country_code`` and ``dialcode``.

About PREFIX_LIMIT_MIN/MAX: CDR-Stats used them to bound the prefix lengths tried against its detailed
dial-code table. Dialstat's ``dial_prefix`` table is by country: calling codes of 1 to 3 digits and the
longer prefixes that split a shared code (up to 6 digits, 441481 Guernsey). Bounding the lengths to
2..5 would lose the USA (1), Russia (7) and Guernsey, so every length from
max(PREFIX_LIMIT_MAX, the longest prefix in the table) down to 1 is tried, longest first.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from data.core import db
from data.core.settings import NumberPlan

_SCHEME = re.compile(r"^\s*(sips?|tel):", re.IGNORECASE)
_FORMATTING = re.compile(r"[\s().-]")
_LEADING_NUMBER = re.compile(r"^\+?[0-9]+")

INTERNAL, NATIONAL, INTERNATIONAL, NO_NUMBER = "internal", "national", "international", "no number"


@dataclass(frozen=True)
class NormalisedNumber:
    number: str | None  # as dialled
    normalised: str | None  # digits after the rules; None when there are none
    kind: str  # internal, national, international or "no number"
    dialcode: str | None  # the dial_prefix matched
    country_code: str | None
    steps: tuple[str, ...]  # what each rule did, in words


class PrefixTable:
    """The ``dial_prefix`` table in memory (under 1,000 rows), loaded once per process."""

    _lock = threading.Lock()
    _prefixes: dict[str, str] | None = None

    @classmethod
    def get(cls) -> dict[str, str]:
        with cls._lock:
            if cls._prefixes is None:
                cls._prefixes = {
                    r["prefix"]: r["country_code"] for r in db.rows("SELECT prefix, country_code FROM dial_prefix")
                }
            return cls._prefixes

    @classmethod
    def forget(cls) -> None:
        with cls._lock:
            cls._prefixes = None


def ignore_prefixes(plan: NumberPlan) -> list[str]:
    """PREFIX_TO_IGNORE, longest first (the first that matches is the longest)."""
    return sorted({p.strip() for p in plan.prefix_to_ignore if p.strip()}, key=lambda p: (-len(p), p))


def prefix_lengths(plan: NumberPlan, longest_in_table: int) -> range:
    return range(max(plan.prefix_limit_max, longest_in_table), 0, -1)


def clean_number(number: str | None) -> str:
    """Rule 1: the leading ``+digits`` once the scheme and formatting characters are gone."""
    if not number:
        return ""
    if _LEADING_NUMBER.fullmatch(number):
        return number
    match = _LEADING_NUMBER.match(_FORMATTING.sub("", _SCHEME.sub("", number)))
    return match.group(0) if match else ""


def normalise_number(number: str | None, plan: NumberPlan, prefixes: dict[str, str] | None = None) -> NormalisedNumber:
    """Apply the number plan to ``number``, saying what each step did."""
    prefixes = PrefixTable.get() if prefixes is None else prefixes
    steps = []
    cleaned = clean_number(number)
    if cleaned != (number or ""):
        steps.append(f"cleaned {number!r} to {cleaned!r} (scheme, formatting and anything after the digits removed)")
    if not cleaned:
        steps.append("no digits: no number")
        return NormalisedNumber(number, None, NO_NUMBER, None, None, tuple(steps))

    digits = cleaned
    stripped = next((p for p in ignore_prefixes(plan) if digits.startswith(p)), None)
    if stripped:
        digits = digits[len(stripped) :]
        steps.append(
            f"removed the ignored prefix {stripped!r} (the longest in PREFIX_TO_IGNORE that matches): {digits!r}"
        )
    if digits.startswith("+"):
        digits = digits[1:]
        steps.append(f"dropped the '+': {digits!r}")
    if not digits:
        steps.append("no digits left: no number")
        return NormalisedNumber(number, None, NO_NUMBER, None, None, tuple(steps))

    if len(digits) < plan.pn_min_digits:
        steps.append(f"{len(digits)} digits < PN_MIN_DIGITS ({plan.pn_min_digits}): internal call, no country")
        return NormalisedNumber(number, digits, INTERNAL, None, None, tuple(steps))
    if len(digits) <= plan.pn_max_digits:
        kind = NATIONAL
        digits = plan.local_dialcode + digits
        steps.append(
            f"{len(digits) - len(plan.local_dialcode)} digits <= PN_MAX_DIGITS ({plan.pn_max_digits}): "
            f"national call, LOCAL_DIALCODE {plan.local_dialcode!r} added: {digits!r}"
        )
    else:
        kind = INTERNATIONAL
        steps.append(f"{len(digits)} digits > PN_MAX_DIGITS ({plan.pn_max_digits}): international, kept as it is")

    longest = max((len(p) for p in prefixes), default=0)
    dialcode = next((digits[:k] for k in prefix_lengths(plan, longest) if digits[:k] in prefixes), None)
    if dialcode:
        steps.append(f"longest dial prefix {dialcode!r}: country {prefixes[dialcode]}")
        return NormalisedNumber(number, digits, kind, dialcode, prefixes[dialcode], tuple(steps))
    steps.append("no dial prefix matches: country unknown")
    return NormalisedNumber(number, digits, kind, None, None, tuple(steps))


@dataclass(frozen=True)
class NormaliseSql:
    """The same rules in SQL, in three levels that each name one column for the next.

    ``clean`` computes ``n_clean`` from the dialled number, ``digits`` computes ``n_digits`` (the
    significant digits) from ``n_clean``, ``normalised`` and ``internal`` use ``n_digits``. The caller
    evaluates each level once (``OFFSET 0`` subqueries): an inlined expression would be computed
    again at every reference. ``params`` are psycopg2 parameters.
    """

    clean: str
    digits: str
    normalised: str
    internal: str
    params: dict


def normalise_sql(column: str, plan: NumberPlan) -> NormaliseSql:
    """SQL giving the same results as ``normalise_number`` for the number in ``column``."""
    params: dict = {"np_min": plan.pn_min_digits, "np_max": plan.pn_max_digits, "np_local": plan.local_dialcode}
    clean = (
        f"CASE WHEN {column} ~ '^\\+?[0-9]+$' THEN {column} "
        f"ELSE coalesce(substring(regexp_replace(regexp_replace({column}, '^\\s*(sips?|tel):', '', 'i'), "
        f"'[\\s().-]', '', 'g') from '^\\+?[0-9]+'), '') END"
    )
    whens = []
    for i, prefix in enumerate(ignore_prefixes(plan)):
        params[f"np_ign{i}"] = prefix
        whens.append(f"WHEN starts_with(n_clean, %(np_ign{i})s) THEN {len(prefix) + 1}")
    start = f"CASE {' '.join(whens)} ELSE 1 END" if whens else "1"
    return NormaliseSql(
        clean=clean,
        digits=f"ltrim(substr(n_clean, {start}), '+')",
        normalised=(
            "CASE WHEN length(n_digits) = 0 THEN NULL WHEN length(n_digits) < %(np_min)s THEN n_digits "
            "WHEN length(n_digits) <= %(np_max)s THEN %(np_local)s || n_digits ELSE n_digits END"
        ),
        internal="length(n_digits) < %(np_min)s",
        params=params,
    )


def country_join_sql(number: str, longest: int, alias: str = "dp") -> tuple[str, str, str]:
    """LEFT JOINs on ``dial_prefix`` for each candidate length (hash joins on a tiny table), and the
    expressions picking the longest match: (joins, dialcode_sql, country_sql)."""
    joins = " ".join(
        f"LEFT JOIN dial_prefix {alias}{k} ON {alias}{k}.prefix = left({number}, {k})" for k in range(longest, 0, -1)
    )
    dialcode = "coalesce(" + ", ".join(f"{alias}{k}.prefix" for k in range(longest, 0, -1)) + ")"
    country = "coalesce(" + ", ".join(f"{alias}{k}.country_code" for k in range(longest, 0, -1)) + ")"
    return joins, dialcode, country
