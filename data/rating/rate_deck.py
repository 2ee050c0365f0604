"""Rate decks: the CSV format of rates, parsed and checked line by line (no database here).

Columns: prefix, destination, rate, connection_fee, increment_first, increment_next, effective_from
[, effective_to]; the prefix ``internal`` is a plan's internal rate (docs/rating.md).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation

RATE_DECIMALS = 5  # rate and connection fee columns are numeric(14, 5)
MAX_RATE = Decimal("1e9")
DECK_COLUMNS = (
    "prefix",
    "destination",
    "rate",
    "connection_fee",
    "increment_first",
    "increment_next",
    "effective_from",
)
OPTIONAL_DECK_COLUMNS = ("effective_to",)
PREFIX = re.compile(r"^\+?([0-9]{1,20})$")
INTERNAL_PREFIX = "internal"  # a rate deck's prefix for the internal rate (stored as kind 'internal', prefix '')


@dataclass(frozen=True)
class RateRow:
    prefix: str
    destination: str
    rate: Decimal
    connection_fee: Decimal
    increment_first: int
    increment_next: int
    effective_from: datetime
    effective_to: datetime | None = None


# --- Rate decks (CSV) ---


class RateDeckError(ValueError):
    """A rate deck with bad lines: ``errors`` is every (line number, reason); nothing was imported."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        shown = "; ".join(f"line {line}: {reason}" for line, reason in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} bad line(s) in the rate deck, nothing imported: {shown}{more}")


def _parse_decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} {text!r} must be a number >= 0")
    if value >= MAX_RATE:
        raise ValueError(f"{name} {text!r} is too large")
    if value.as_tuple().exponent < -RATE_DECIMALS and value != value.quantize(Decimal(1).scaleb(-RATE_DECIMALS)):
        raise ValueError(f"{name} {text!r} has more than {RATE_DECIMALS} decimals")
    return value


def _parse_int(text: str, name: str, minimum: int) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise ValueError(f"{name} {text!r} is not a whole number of seconds")
    value = int(text)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


def parse_moment(text: str, name: str) -> datetime:
    """A date (midnight UTC) or an ISO date-time (UTC when it has no offset)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time.min, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a date (YYYY-MM-DD) or an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _parse_deck_line(fields: list[str]) -> RateRow:
    if len(fields) not in (len(DECK_COLUMNS), len(DECK_COLUMNS) + len(OPTIONAL_DECK_COLUMNS)):
        raise ValueError(
            f"{len(fields)} columns instead of {len(DECK_COLUMNS)} ({', '.join(DECK_COLUMNS)}) "
            f"or {len(DECK_COLUMNS) + 1} (with effective_to)"
        )
    fields = [f.strip() for f in fields]
    prefix_match = PREFIX.match(fields[0])
    if not prefix_match and fields[0].lower() != INTERNAL_PREFIX:
        raise ValueError(f"prefix {fields[0]!r} must be 1 to 20 digits, or {INTERNAL_PREFIX!r} (the internal rate)")
    effective_from = parse_moment(fields[6], "effective_from")
    effective_to = parse_moment(fields[7], "effective_to") if len(fields) > 7 and fields[7] else None
    if effective_to is not None and effective_to <= effective_from:
        raise ValueError("effective_to must be after effective_from")
    return RateRow(
        prefix=prefix_match.group(1) if prefix_match else "",
        destination=fields[1],
        rate=_parse_decimal(fields[2], "rate"),
        connection_fee=_parse_decimal(fields[3] or "0", "connection_fee"),
        increment_first=_parse_int(fields[4], "increment_first", 0),
        increment_next=_parse_int(fields[5], "increment_next", 1),
        effective_from=effective_from,
        effective_to=effective_to,
    )


def parse_rate_deck(text: str) -> list[RateRow]:
    """Every line of a rate deck, checked; raises RateDeckError naming every bad line.

    Columns: prefix, destination, rate, connection_fee, increment_first, increment_next,
    effective_from [, effective_to]. A first line starting with "prefix" is a header. Line numbers
    count from 1, header included.
    """
    rows: list[RateRow] = []
    errors: list[tuple[int, str]] = []
    seen: dict[tuple[str, datetime], int] = {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if line == 1 and fields[0].strip().lower() == "prefix":
            continue
        try:
            row = _parse_deck_line(fields)
        except ValueError as exc:
            errors.append((line, str(exc)))
            continue
        key = (row.prefix, row.effective_from)
        if key in seen:
            errors.append(
                (line, f"prefix {row.prefix} from {row.effective_from:%Y-%m-%d %H:%M} is already on line {seen[key]}")
            )
            continue
        seen[key] = line
        rows.append(row)
    if errors:
        raise RateDeckError(errors)
    if not rows:
        raise RateDeckError([(1, "the deck has no rates")])
    return rows
