"""Phone number normalisation (CDR-Stats' "Country Reporting" rules, in one order) and the country of a number.

The rules live here twice, on purpose: ``normalise_number`` in Python explains every step (the admin's
"try a number" box calls it), and ``normalise_sql`` gives the same result set-based for the import.
A test checks that both agree on many numbers and plans. docs/ingestion.md shows each written form.

1. Clean: a ``sip:``/``tel:`` scheme and formatting characters (spaces, dots, dashes, brackets) are
   removed, then only the leading ``+digits`` are kept: a DTMF or other tail (``34650104877#123``,
   ``...w123``, ``@host``) is cut.
2. A leading ``+`` is removed and marks the number international. E.164 numbers never start with 0, so
   when a 0 follows the ``+`` (``+0034…``, ``+011…``) the digits still carry an access prefix: go on
   to rule 3; otherwise rule 3 is skipped (``+55555…`` keeps its 55555).
3. Strip the longest prefix of PREFIX_TO_IGNORE the digits start with, once (``+`` entries count
   without their ``+``). A stripped prefix starting with one of INTERNATIONAL_PREFIXES (``00``,
   ``011``) marks the number international; others (the trunk ``0``, ``55555``) do not.
4. Class: fewer significant digits than PN_MIN_DIGITS, or digits matching one of INTERNAL_PATTERNS:
   internal (an extension), no country, never rated by a country prefix. Else international when
   rule 2 or 3 said so, or with more than PN_MAX_DIGITS digits; else national: LOCAL_DIALCODE is put
   in front.
5. Country: the longest ``dial_prefix`` the number starts with gives ``country_code`` and ``dialcode``.

About PREFIX_LIMIT_MIN/MAX: CDR-Stats used them to bound the prefix lengths tried against its detailed
dial-code table. Dialstat's ``dial_prefix`` table is by country: calling codes of 1 to 3 digits and the
longer prefixes that split a shared code (441481 Guernsey, 3906698 Vatican). Bounding the lengths to
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
    """PREFIX_TO_IGNORE as digits ("+" entries without their "+"), longest first (the first that matches
    is the longest)."""
    return sorted(
        {p.strip().lstrip("+") for p in plan.prefix_to_ignore if p.strip().lstrip("+")}, key=lambda p: (-len(p), p)
    )


def is_international_prefix(prefix: str, plan: NumberPlan) -> bool:
    """Whether stripping ``prefix`` (an ignored prefix) shows the number was dialled internationally."""
    return any(prefix.startswith(p) for p in plan.international_prefixes if p)


_PATTERN_PARTS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": "[0-9]+", "!": "[0-9]*"}
PATTERN_SYNTAX = re.compile(r"^(?:[0-9XZN.!]|\[[0-9-]+\])+$", re.IGNORECASE)


def pattern_regex(pattern: str) -> str:
    """An Asterisk-style dial pattern (digits, X = 0-9, Z = 1-9, N = 2-9, [1-5], "." one or more digits,
    "!" zero or more) as a regular expression that both Python and PostgreSQL read alike."""
    if not PATTERN_SYNTAX.match(pattern):
        raise ValueError(f"{pattern!r} is not a dial pattern (digits, X, Z, N, [1-5], '.', '!')")
    parts = re.findall(r"\[[0-9-]+\]|.", pattern.upper())
    return "".join(part if part.startswith("[") or part.isdigit() else _PATTERN_PARTS[part] for part in parts)


def internal_regex(plan: NumberPlan) -> str | None:
    """INTERNAL_PATTERNS as one anchored regular expression (None: no patterns)."""
    if not plan.internal_patterns:
        return None
    return "^(?:" + "|".join(pattern_regex(p) for p in plan.internal_patterns) + ")$"


def is_internal(digits: str, plan: NumberPlan) -> bool:
    """Rule 4's internal class, on the significant digits."""
    regex = internal_regex(plan)
    return len(digits) < plan.pn_min_digits or bool(regex and re.match(regex, digits))


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


def significant_digits(cleaned: str, plan: NumberPlan) -> tuple[str, bool, list[str]]:
    """Rules 2 and 3 on a cleaned number: (digits, dialled internationally, what was done)."""
    steps = []
    digits, international = cleaned, False
    if digits.startswith("+"):
        digits, international = digits[1:], True
        steps.append(f"removed the '+' (an international number): {digits!r}")
        if not digits.startswith("0"):
            return digits, international, steps
    stripped = next((p for p in ignore_prefixes(plan) if digits.startswith(p)), None)
    if stripped:
        digits = digits[len(stripped) :]
        dialled_abroad = is_international_prefix(stripped, plan)
        international = international or dialled_abroad
        kind = " (an international access prefix)" if dialled_abroad else ""
        steps.append(
            f"removed the ignored prefix {stripped!r}{kind}, the longest in PREFIX_TO_IGNORE that matches: {digits!r}"
        )
    return digits, international, steps


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

    digits, dialled_abroad, done = significant_digits(cleaned, plan)
    steps.extend(done)
    if not digits:
        steps.append("no digits left: no number")
        return NormalisedNumber(number, None, NO_NUMBER, None, None, tuple(steps))

    if len(digits) < plan.pn_min_digits:
        steps.append(
            f"{len(digits)} digits < PN_MIN_DIGITS ({plan.pn_min_digits}): internal call, no country, "
            "rated only by an internal rate"
        )
        return NormalisedNumber(number, digits, INTERNAL, None, None, tuple(steps))
    if is_internal(digits, plan):
        steps.append(
            f"{digits!r} matches INTERNAL_PATTERNS ({', '.join(plan.internal_patterns)}): internal call, no country, "
            "rated only by an internal rate"
        )
        return NormalisedNumber(number, digits, INTERNAL, None, None, tuple(steps))
    if dialled_abroad:
        kind = INTERNATIONAL
        steps.append("dialled with an international prefix: international, kept as it is")
    elif len(digits) <= plan.pn_max_digits:
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
    """The same rules in SQL, in three levels that each name columns for the next.

    ``clean`` computes ``n_clean`` from the dialled number; ``digits`` (the significant digits) and
    ``international`` (dialled with ``+`` or an international access prefix) compute ``n_digits`` and
    ``n_abroad`` from ``n_clean``; ``normalised`` and ``internal`` use ``n_digits`` and ``n_abroad``.
    The caller evaluates each level once (``OFFSET 0`` subqueries): an inlined expression would be
    computed again at every reference. ``params`` are psycopg2 parameters.
    """

    clean: str
    digits: str
    international: str
    normalised: str
    internal: str
    params: dict


def internal_sql(digits: str, plan: NumberPlan, params: dict) -> str:
    """SQL for rule 4's internal class of the digits in ``digits`` (adds its parameters to ``params``)."""
    params.setdefault("np_min", plan.pn_min_digits)
    regex = internal_regex(plan)
    if regex is None:
        return f"length({digits}) < %(np_min)s"
    params["np_internal"] = regex
    return f"(length({digits}) < %(np_min)s OR {digits} ~ %(np_internal)s)"


def normalise_sql(column: str, plan: NumberPlan) -> NormaliseSql:
    """SQL giving the same results as ``normalise_number`` for the number in ``column``."""
    params: dict = {"np_min": plan.pn_min_digits, "np_max": plan.pn_max_digits, "np_local": plan.local_dialcode}
    clean = (
        f"CASE WHEN {column} ~ '^\\+?[0-9]+$' THEN {column} "
        f"ELSE coalesce(substring(regexp_replace(regexp_replace({column}, '^\\s*(sips?|tel):', '', 'i'), "
        f"'[\\s().-]', '', 'g') from '^\\+?[0-9]+'), '') END"
    )
    # Rule 2: "+" then a digit other than 0 is E.164 as it is; rule 3 strips the longest ignored prefix
    # (after a "+" when a 0 follows it).
    starts, abroad = ["WHEN n_clean ~ '^\\+[1-9]' THEN 2"], ["WHEN starts_with(n_clean, '+') THEN true"]
    for i, prefix in enumerate(ignore_prefixes(plan)):
        params[f"np_ign{i}"] = prefix
        starts.append(f"WHEN starts_with(n_clean, '+' || %(np_ign{i})s) THEN {len(prefix) + 2}")
        abroad.append(f"WHEN starts_with(n_clean, %(np_ign{i})s) THEN {is_international_prefix(prefix, plan)}")
    starts += [
        f"WHEN starts_with(n_clean, %(np_ign{i})s) THEN {len(p) + 1}" for i, p in enumerate(ignore_prefixes(plan))
    ]
    starts.append("WHEN starts_with(n_clean, '+') THEN 2")
    internal = internal_sql("n_digits", plan, params)
    return NormaliseSql(
        clean=clean,
        digits=f"substr(n_clean, CASE {' '.join(starts)} ELSE 1 END)",
        international=f"CASE {' '.join(abroad)} ELSE false END",
        normalised=(
            f"CASE WHEN length(n_digits) = 0 THEN NULL WHEN {internal} OR n_abroad THEN n_digits "
            "WHEN length(n_digits) <= %(np_max)s THEN %(np_local)s || n_digits ELSE n_digits END"
        ),
        internal=internal,
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
