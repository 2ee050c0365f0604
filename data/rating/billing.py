"""The billing report: cost (buy), revenue (sell), margin and margin % of the rated calls of a period,
by day, customer, carrier and country; loss-making calls; unrated calls and why.

Everything is summed straight from ``cdr`` (the rollups have no carrier), with the scope's filter.
Admins see everything; a customer sees their own calls, and as "cost" what they pay (the sell cost),
as on every report: buy costs, carriers, revenue and margins are the operator's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from data.core import db
from data.core.i18n import gettext as _
from data.core.report_filter import ReportFilter, report_where
from data.core.scope import Scope
from data.rating.rater import RatingStatus

GROUPINGS = ("day", "customer", "carrier", "country")
CUSTOMER_GROUPINGS = ("day", "country")
# One set of figures: every call is either priced (rated, zero duration, imported prices, internal) or
# unrated for one reason (a status below, or not rated yet: NULL), so priced + each reason = calls.
PRICED = (RatingStatus.RATED, RatingStatus.ZERO_DURATION, RatingStatus.IMPORTED, RatingStatus.INTERNAL)
UNRATED = (RatingStatus.NO_RETAIL_RATE, RatingStatus.NO_CARRIER_RATE, RatingStatus.BANNED, RatingStatus.NO_PLAN)
assert set(PRICED) | set(UNRATED) == set(RatingStatus) and not set(PRICED) & set(UNRATED)
_IS_UNRATED = "(c.rating_status = ANY(:unrated) OR c.rating_status IS NULL)"
PAGE_SIZE = 100  # rows per page of the call grids (the CSV downloads have them all)


@dataclass(frozen=True)
class Period:
    """Whole days in the scope's time zone: [first, last] both included."""

    first: date
    last: date

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(timezone)
        start = datetime(self.first.year, self.first.month, self.first.day, tzinfo=zone)
        end_day = self.last + timedelta(days=1)
        return start, datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)


def _where(scope: Scope, period: Period, customer: int | None) -> tuple[str, dict]:
    chosen = ReportFilter.for_days(
        period.first, period.last, scope.timezone, user_ids=() if customer is None else (customer,)
    )
    return report_where(scope, chosen, alias="c", time_column="starting_date")


def _with_margin(row: dict, admin: bool) -> dict:
    """Add margin and margin % for admins. A customer's "cost" is what they pay (the sell cost), as on every
    report: they never see the buy cost, the revenue as such, the margin or the loss count."""
    revenue, cost = row.get("revenue") or Decimal(0), row.get("cost") or Decimal(0)
    if not admin:
        row["cost"] = revenue
        for key in ("revenue", "loss_calls"):
            row.pop(key, None)
        return row
    row["margin"] = revenue - cost
    row["margin_percent"] = (row["margin"] * 100 / revenue).quantize(Decimal("0.01")) if revenue else None
    return row


_LABELS = {
    "day": "to_char((c.starting_date AT TIME ZONE :tz)::date, 'YYYY-MM-DD')",
    "customer": "coalesce(u.username, '(no customer)')",
    "carrier": "coalesce(p.name, '(no carrier)')",
    "country": "coalesce(k.name, c.country_code, '(unknown)')",
}


@db.reading
def billing_summary(scope: Scope, period: Period, *, customer: int | None = None) -> dict:
    """Totals and the breakdowns by day, customer, carrier and country, in one scan of the period.

    Every figure is a plain sum over ``cdr`` (calls, billed seconds, buy cost, sell cost), so the
    report adds up to the SQL totals exactly; margin = revenue − cost, margin % = margin / revenue.
    """
    groupings = GROUPINGS if scope.is_admin else CUSTOMER_GROUPINGS
    where, params = _where(scope, period, customer)
    label_columns = ", ".join(f"{_LABELS[g]} AS {g}" for g in groupings)
    sets = ", ".join(f"({_LABELS[g]})" for g in groupings)
    rows = db.rows(
        f"""
        SELECT {label_columns},
               {", ".join(f"GROUPING({_LABELS[g]}) = 0 AS by_{g}" for g in groupings)},
               count(*) AS calls, count(*) FILTER (WHERE c.billsec > 0) AS answered,
               coalesce(sum(c.billsec), 0) AS billsec,
               coalesce(sum(c.buy_cost), 0) AS cost, coalesce(sum(c.sell_cost), 0) AS revenue,
               count(*) FILTER (WHERE c.sell_cost < c.buy_cost) AS loss_calls,
               count(*) FILTER (WHERE {_IS_UNRATED}) AS unrated_calls
        FROM cdr c
        LEFT JOIN app_user u ON u.id = c.user_id
        LEFT JOIN provider p ON p.id = c.carrier_id
        LEFT JOIN country k ON k.code = c.country_code
        WHERE {where}
        GROUP BY GROUPING SETS ({sets}, ())""",
        unrated=[int(s) for s in UNRATED],
        **params,
    )
    result = {g: [] for g in groupings}
    result["total"] = _with_margin(
        {
            "calls": 0,
            "answered": 0,
            "billsec": 0,
            "cost": Decimal(0),
            "revenue": Decimal(0),
            "loss_calls": 0,
            "unrated_calls": 0,
        },
        scope.is_admin,
    )
    for row in rows:
        flags = {g: row.pop(f"by_{g}") for g in groupings}  # all of them: no flag may reach a grid or a CSV
        grouping = next((g for g in groupings if flags[g]), None)
        for g in groupings:
            if g != grouping:
                row.pop(g)
        row = _with_margin(row, scope.is_admin)
        if grouping is None:
            result["total"] = row
        else:
            result[grouping].append(row)
    for grouping in groupings:
        result[grouping].sort(key=lambda r, g=grouping: r[g] if g == "day" else -r.get("revenue", r["cost"]))
    return result


_CALL_COLUMNS = """c.id, c.starting_date, u.username AS customer, c.accountcode, c.destination_number,
                   c.normalised_number, coalesce(k.name, c.country_code) AS country, c.billsec"""
_CALL_JOINS = """LEFT JOIN app_user u ON u.id = c.user_id LEFT JOIN country k ON k.code = c.country_code
                 LEFT JOIN provider p ON p.id = c.carrier_id"""
# The call lists: loss-making calls (admins: they show buy costs) and unrated calls.
_CALL_LISTS = {
    "losses": (
        f"""SELECT {_CALL_COLUMNS}, p.name AS carrier, c.buy_rate, c.buy_cost, c.sell_rate, c.sell_cost,
                          c.sell_cost - c.buy_cost AS margin
                   FROM cdr c {_CALL_JOINS}
                   WHERE {{where}} AND c.sell_cost < c.buy_cost
                   ORDER BY c.sell_cost - c.buy_cost, c.starting_date""",
        True,
    ),
    "unrated": (
        f"""SELECT {_CALL_COLUMNS}, c.rating_status
                    FROM cdr c {_CALL_JOINS}
                    WHERE {{where}} AND {_IS_UNRATED}
                    ORDER BY c.starting_date DESC""",
        False,
    ),
}


def _call_list(kind: str, scope: Scope, period: Period, customer: int | None) -> tuple[str, dict]:
    statement, admin_only = _CALL_LISTS[kind]
    if admin_only and not scope.is_admin:
        raise PermissionError("this list shows buy costs: admins only")
    where, params = _where(scope, period, customer)
    return statement.format(where=where), {**params, "unrated": [int(s) for s in UNRATED]}


def _with_reason(row: dict) -> dict:
    if "rating_status" in row:
        row["reason"] = RatingStatus(row["rating_status"]).label if row["rating_status"] else "not rated"
    return row


def _page(kind: str, scope: Scope, period: Period, customer: int | None, page: int) -> list[dict]:
    statement, params = _call_list(kind, scope, period, customer)
    found = db.rows(
        f"{statement}, c.id LIMIT :limit OFFSET :offset",
        limit=PAGE_SIZE,
        offset=(max(page, 1) - 1) * PAGE_SIZE,
        **params,
    )
    return [_with_reason(r) for r in found]


def loss_making_calls(scope: Scope, period: Period, *, customer: int | None = None, page: int = 1) -> list[dict]:
    """A page (PAGE_SIZE) of the calls sold for less than they were bought (sell_cost < buy_cost), the
    biggest losses first; how many there are: ``billing_summary``'s ``loss_calls``."""
    return _page("losses", scope, period, customer, page)


def unrated_calls(scope: Scope, period: Period, *, customer: int | None = None, page: int = 1) -> list[dict]:
    """A page (PAGE_SIZE) of the calls without a price, newest first, each with its reason; how many
    there are: ``billing_summary``'s ``unrated_calls``."""
    return _page("unrated", scope, period, customer, page)


def pages(rows: int) -> int:
    return max(1, -(-rows // PAGE_SIZE))


@db.reading
def iter_calls(kind: str, scope: Scope, period: Period, *, customer: int | None = None) -> Iterator[dict]:
    """Every call of a list ("losses" or "unrated"), read with a server-side cursor (for downloads)."""
    statement, params = _call_list(kind, scope, period, customer)
    with db.engine().connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(text(statement), params)
        for row in result.mappings():
            yield _with_reason(dict(row))


@db.reading
def unrated_reasons(scope: Scope, period: Period, *, customer: int | None = None) -> dict:
    """The period's calls as priced + each unrated reason, which add up to the calls:
    {"calls", "priced", "priced_by_status": [...], "unrated", "reasons": [{"reason", "calls"}]}."""
    where, params = _where(scope, period, customer)
    counts = {
        r["rating_status"]: r["calls"]
        for r in db.rows(f"SELECT c.rating_status, count(*) AS calls FROM cdr c WHERE {where} GROUP BY 1", **params)
    }
    priced = [{"reason": s.label, "calls": counts[int(s)]} for s in PRICED if counts.get(int(s))]
    reasons = [{"reason": s.label, "calls": counts[int(s)]} for s in UNRATED if counts.get(int(s))]
    if counts.get(None):
        reasons.append({"reason": "not rated yet", "calls": counts[None]})
    result = {
        "calls": sum(counts.values()),
        "priced": sum(r["calls"] for r in priced),
        "priced_by_status": priced,
        "unrated": sum(r["calls"] for r in reasons),
        "reasons": reasons,
    }
    assert result["priced"] + result["unrated"] == result["calls"]
    return result


def today_in(scope: Scope) -> date:
    return datetime.now(ZoneInfo(scope.timezone)).date()


def period_from_args(first: str | None, last: str | None, today: date) -> Period:
    """A period from ISO dates, the current month by default; raises ValueError on nonsense."""
    first_day = date.fromisoformat(first) if first else today.replace(day=1)
    last_day = date.fromisoformat(last) if last else today
    if last_day < first_day:
        raise ValueError(_("the period ends before it starts"))
    if (last_day - first_day).days > 366:
        raise ValueError(_("the period is longer than a year"))
    return Period(first_day, last_day)
