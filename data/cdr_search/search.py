"""CDR search: criteria parsed from the page's query string, and every query the search page runs.

One ``SearchCriteria`` drives the grid, the "Report by day" chart and the exports, and one function
(:func:`search_where`) turns it into SQL: the scope (``Scope.cdr_filter`` via ``report_where``),
the local date/time range, then the page's own filters. Nothing from the browser widens the scope:
a customer's accountcode filter can only narrow their own calls, and the customer filter is
ignored unless the user is an admin.

Paging: the default order is ``starting_date DESC, id DESC`` (newest first). The first block and
every block that follows one already seen continue after the last (starting_date, id) — keyset
paging on the ``cdr (starting_date, id)`` index (migration 0006), so no block reads rows it does
not return. Other sorts (a whitelist of columns) and jumps to blocks not reached in order fall back
to ``OFFSET``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from data.alerting.flags import FLAGS, flag_condition, flag_text_sql
from data.core import db
from data.core.cdr_columns import PARTY_COLUMNS, SECONDS_COLUMNS
from data.core.report_cache import cached
from data.core.report_filter import (
    ReportFilter,
    add_any_of,
    query_ids,
    query_list,
    query_value,
    report_filter_from_query,
    report_where,
)
from data.core.rollups import MEASURES
from data.core.scope import Scope
from data.core.settings import load_settings
from data.reports.traffic import chart_rows, traffic_by_time

NUMBER_OPERATORS = {"equals": "equals", "begins": "begins with", "contains": "contains", "ends": "ends with"}
COMPARISONS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
DIRECTIONS = {"inbound": 1, "outbound": 2}
DIRECTION_NAMES = {v: k for k, v in DIRECTIONS.items()}
MAX_BLOCK = 1000  # rows per grid request, whatever the browser asks for
MAX_NUMBER_LENGTH = 64
BLOCK_STATEMENT_TIMEOUT_MS = 30_000
REPORT_STATEMENT_TIMEOUT_MS = 120_000
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:[0-5]\d)?$")  # seconds, if a browser sends them, are dropped
_ANSWERED = "({a}.answered_date IS NOT NULL OR {a}.billsec > 0)"  # as the rollups count answered calls


@dataclass(frozen=True)
class NumberMatch:
    """A number filter: ``op`` one of NUMBER_OPERATORS, on a text column."""

    op: str
    value: str

    def sql(self, column: str, name: str) -> tuple[str, dict]:
        if self.op == "equals":
            return f"{column} = :{name}", {name: self.value}
        escaped = self.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"begins": f"{escaped}%", "contains": f"%{escaped}%", "ends": f"%{escaped}"}[self.op]
        return f"{column} LIKE :{name} ESCAPE '\\'", {name: pattern}


@dataclass(frozen=True)
class Comparison:
    """A numeric filter: ``op`` one of COMPARISONS (eq gt ge lt le), on an integer column."""

    op: str
    value: int

    def sql(self, column: str, name: str) -> tuple[str, dict]:
        return f"{column} {COMPARISONS[self.op]} :{name}", {name: self.value}


@dataclass(frozen=True)
class SearchCriteria:
    """What the search page asks for: a ReportFilter (range, switch, customer, accountcode) and the rest."""

    report: ReportFilter
    destination: NumberMatch | None = None
    caller: NumberMatch | None = None
    countries: tuple[str, ...] = ()
    causes: tuple[int, ...] = ()
    direction: int | None = None
    duration: Comparison | None = None
    billsec: Comparison | None = None
    answered_only: bool = False
    flag: str | None = None  # one of data.alerting.flags.FLAGS: blacklist, whitelist, threat, any
    first_day: date | None = field(default=None, compare=False)
    last_day: date | None = field(default=None, compare=False)

    @property
    def only_rollup_filters(self) -> bool:
        """True when the rollups answer exactly: no per-call filter, range on 15-minute boundaries."""
        per_call = (
            self.destination,
            self.caller,
            self.countries,
            self.causes,
            self.direction,
            self.duration,
            self.billsec,
            self.answered_only,
            self.flag,
            self.report.callids,
        )
        aligned = all(
            t.minute % 15 == 0 and t.second == 0 and t.microsecond == 0 for t in (self.report.start, self.report.end)
        )
        return aligned and not any(v for v in per_call if v is not None and v != ())

    def fingerprint(self) -> str:
        """A stable text identifying the result set (keys of the grid's keyset cursors)."""
        r = self.report
        return json.dumps(
            [
                r.start.isoformat(),
                r.end.isoformat(),
                r.switch_ids,
                r.user_ids,
                r.accountcodes,
                _as_list(self.destination),
                _as_list(self.caller),
                self.countries,
                self.causes,
                self.direction,
                _as_list(self.duration),
                _as_list(self.billsec),
                self.answered_only,
                self.flag,
                r.callids,
            ]
        )


def _as_list(value) -> list | None:
    return None if value is None else [value.op, value.value]


# ---------------------------------------------------------------------------------------------------------
# Parsing the query string (the page's URL, the export routes, the grid callback: one parser)


def _time(value: str | None) -> time | None:
    match = _TIME.match(value or "")
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _number(args: Mapping, key: str) -> NumberMatch | None:
    value = query_value(args, key)
    if not value:
        return None
    op = query_value(args, f"{key}_op") or "begins"
    return NumberMatch(op if op in NUMBER_OPERATORS else "begins", value[:MAX_NUMBER_LENGTH])


def _comparison(args: Mapping, key: str) -> Comparison | None:
    value = query_value(args, key)
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    op = query_value(args, f"{key}_op") or "ge"
    return Comparison(op if op in COMPARISONS else "ge", int(value))


def search_criteria_from_query(args: Mapping, scope: Scope, today: date | None = None) -> SearchCriteria:
    """The search page's query string (a dict, a werkzeug MultiDict or ``parse_qs`` output) as criteria.

    Shared filter bar keys: ``preset`` or ``start``/``end`` (local days, inclusive), ``switch`` (ids),
    ``customer`` (admins only), ``accountcode`` (any text), ``callid``. Page keys: ``from``/``to`` (HH:MM
    on the first and last day), ``dst``/``dst_op`` and ``src``/``src_op`` (equals, begins, contains, ends), ``country``
    (ISO codes), ``cause`` (Q.850 codes), ``direction`` (inbound/outbound), ``duration``/``duration_op``
    and ``billsec``/``billsec_op`` (eq gt ge lt le), ``answered=1``, ``flag`` (blacklist, whitelist, threat,
    any). Invalid values are ignored.
    """
    zone = ZoneInfo(scope.timezone)
    report = report_filter_from_query(args, scope, today)
    first, last = report.days
    time_from, time_to = _time(query_value(args, "from")), _time(query_value(args, "to"))
    if time_from or time_to:  # no longer whole days: a plain interval
        start = datetime.combine(first, time_from, zone).astimezone(timezone.utc) if time_from else report.start
        end = datetime.combine(last, time_to, zone).astimezone(timezone.utc) if time_to else report.end
        report = replace(report, start=start, end=max(start, end), days=None)
    direction = query_value(args, "direction")
    return SearchCriteria(
        report=report,
        destination=_number(args, "dst"),
        caller=_number(args, "src"),
        countries=tuple(dict.fromkeys(c.upper() for c in query_list(args, "country") if _COUNTRY.match(c.upper()))),
        causes=query_ids(args, "cause"),
        direction=DIRECTIONS.get(direction) or (int(direction) if direction in ("1", "2") else None),
        duration=_comparison(args, "duration"),
        billsec=_comparison(args, "billsec"),
        answered_only=(query_value(args, "answered") or "").lower() in ("1", "true", "on", "yes"),
        flag=query_value(args, "flag") if query_value(args, "flag") in FLAGS else None,
        first_day=first,
        last_day=last,
    )


# ---------------------------------------------------------------------------------------------------------
# SQL


def search_where(scope: Scope, criteria: SearchCriteria, alias: str = "c") -> tuple[str, dict]:
    """The WHERE clause (and its parameters) of every query over the criteria's calls."""
    where, params = report_where(scope, criteria.report, alias=alias, time_column="starting_date")
    parts = [where]
    for column, match, name in (
        ("destination_number", criteria.destination, "dst"),
        ("caller_id_number", criteria.caller, "src"),
    ):
        if match:
            sql, values = match.sql(f"{alias}.{column}", name)
            parts.append(sql)
            params.update(values)
    lists = (("country_code", "countries", criteria.countries), ("hangup_cause_id", "causes", criteria.causes))
    add_any_of(parts, params, alias, lists)
    if criteria.direction:
        parts.append(f"{alias}.direction = :direction")
        params["direction"] = criteria.direction
    for column, comparison in (("duration", criteria.duration), ("billsec", criteria.billsec)):
        if comparison:
            sql, values = comparison.sql(f"{alias}.{column}", f"{column}_value")
            parts.append(sql)
            params.update(values)
    if criteria.answered_only:
        parts.append(_ANSWERED.format(a=alias))
    if criteria.flag:
        parts.append(flag_condition(criteria.flag, alias))
    return " AND ".join(parts), params


# Columns the grid may sort on (colId -> cdr column). Anything else in a sortModel is ignored.
SORTABLE = {
    col: col
    for col in (
        "starting_date",
        "caller_id_number",
        "destination_number",
        "country_code",
        "duration",
        "billsec",
        "hangup_cause_id",
        "direction",
        "accountcode",
        "sell_cost",
        "buy_cost",
    )
}
ADMIN_ONLY = {"buy_cost", "buy_rate", "carrier_id", "customer"}  # what the operator pays is not the customer's
# What a customer sees of one of their calls (the detail view, /api/v1/cdrs/<id>): a list of what to show, so that
# a column added for the operator (alerts, imports, rating) is never shown to customers by default.
CUSTOMER_FIELDS = (
    "id",
    "starting_date",
    "answered_date",
    "switch_id",
    "switch",
    "source_type",
    *PARTY_COLUMNS,
    "country",
    *SECONDS_COLUMNS,
    "hangup_cause_id",
    "hangup_cause",
    "direction",
    "accountcode",
    "sell_rate",
    "sell_cost",
    "callid",
    "flag",
    "extradata",
)


def parse_sort(sort_model, scope: Scope) -> tuple[tuple[str, str], ...]:
    """A grid sortModel as ((colId, "asc"|"desc"), ...), whitelisted columns only (at most 3)."""
    result: dict[str, str] = {}
    for item in sort_model if isinstance(sort_model, list) else []:
        if not isinstance(item, dict):
            continue
        col, direction = item.get("colId"), item.get("sort")
        if not isinstance(col, str) or col not in SORTABLE or direction not in ("asc", "desc"):
            continue
        if col in ADMIN_ONLY and not scope.is_admin:
            continue
        result.setdefault(col, direction)
    return tuple(result.items())[:3]


def _keyset_direction(sort: tuple[tuple[str, str], ...]) -> str | None:
    """ "desc"/"asc" when the order is by starting_date alone (keyset-able), else None."""
    if not sort:
        return "desc"
    if len(sort) == 1 and sort[0][0] == "starting_date":
        return sort[0][1]
    return None


def _order(sort: tuple[tuple[str, str], ...], keyset: str | None, alias: str) -> str:
    if keyset:
        return f"{alias}.starting_date {keyset.upper()}, {alias}.id {keyset.upper()}"
    keys = ", ".join(f"{alias}.{SORTABLE[col]} {d.upper()} NULLS LAST" for col, d in sort)
    return f"{keys}, {alias}.starting_date DESC, {alias}.id DESC"


GRID_COLUMNS = (
    "c.id, c.starting_date, c.switch_id, c.caller_id_number, c.destination_number, c.country_code, "
    "c.duration, c.billsec, c.hangup_cause_id, c.direction, c.accountcode, c.sell_cost, c.callid, "
    "c.destination_alert, c.alert_reason, c.normalised_number, c.answered_date"
)
_GRID_HIDDEN = ("destination_alert", "alert_reason", "normalised_number", "answered_date")  # read for the flag


@dataclass
class Block:
    rows: list[dict]
    last_key: tuple[datetime, int] | None  # (starting_date, id) of the last row: where the next block starts
    keyset: bool  # read with keyset paging (False: OFFSET)


@db.reading
def fetch_block(
    scope: Scope,
    criteria: SearchCriteria,
    start_row: int,
    end_row: int,
    sort: tuple[tuple[str, str], ...] = (),
    after: tuple[datetime, int] | None = None,
) -> Block:
    """Rows [start_row, end_row) of the result in ``sort`` order (default: newest first).

    ``after`` is the (starting_date, id) of row ``start_row - 1`` when the caller knows it (the
    previous block's ``last_key``): then the block is read by keyset, else by OFFSET.
    """
    start_row = max(0, int(start_row))
    limit = max(0, min(int(end_row) - start_row, MAX_BLOCK))
    where, params = search_where(scope, criteria)
    keyset = _keyset_direction(sort)
    offset = start_row
    if keyset and (start_row == 0 or after is not None):
        offset = 0
        if after is not None:
            where += f" AND (c.starting_date, c.id) {'<' if keyset == 'desc' else '>'} (:after_date, :after_id)"
            params.update(after_date=after[0], after_id=int(after[1]))
    cost = ", c.buy_cost" if scope.is_admin else ""
    sql = f"""SELECT p.*, s.name AS switch,
                     coalesce(h.name, 'cause ' || p.hangup_cause_id || ' (unknown)') AS hangup_cause,
                     {flag_text_sql("p")} AS flag FROM (
                  SELECT {GRID_COLUMNS}{cost} FROM cdr c WHERE {where}
                  ORDER BY {_order(sort, keyset, "c")} LIMIT :limit OFFSET :offset) p
              LEFT JOIN switch s ON s.id = p.switch_id LEFT JOIN hangup_cause h ON h.code = p.hangup_cause_id
              ORDER BY {_order(sort, keyset, "p")}"""
    with db.transaction() as conn:
        conn.execute(text(f"SET LOCAL statement_timeout = {BLOCK_STATEMENT_TIMEOUT_MS}"))
        found = [dict(r._mapping) for r in conn.execute(text(sql), {**params, "limit": limit, "offset": offset})]
    last_key = (found[-1]["starting_date"], found[-1]["id"]) if found else None
    return Block(rows=found, last_key=last_key, keyset=bool(keyset) and offset == 0)


def _local_text(value: datetime | None, zone: ZoneInfo) -> str | None:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else None


def _number_value(value):
    return float(value) if isinstance(value, Decimal) else value


def grid_row(row: dict, tz: str) -> dict:
    """A block row as the grid shows it: local times, names beside codes, JSON-safe numbers."""
    zone = ZoneInfo(tz)
    out = {k: _number_value(v) for k, v in row.items() if k not in ("starting_date", "switch_id", *_GRID_HIDDEN)}
    out["starting_date"] = _local_text(row["starting_date"], zone)
    out["direction"] = DIRECTION_NAMES.get(row["direction"], row["direction"])
    if row.get("hangup_cause_id") is not None:
        out["hangup_cause"] = f"{row['hangup_cause_id']} {row.get('hangup_cause') or ''}".strip()
    if row.get("flag"):  # "blacklist: <rule>; threat: <kinds>" -> "blacklist, threat" (the rest in a tooltip)
        out["flag_kinds"] = ", ".join(part.split(":")[0] for part in row["flag"].split("; "))
    return out


# ---------------------------------------------------------------------------------------------------------
# Report by day


@db.reading
def _cdr_by_day(scope: Scope, criteria: SearchCriteria) -> list[dict]:
    """The rollup measures per local day, computed from cdr with the search's WHERE (per-call filters)."""
    where, params = search_where(scope, criteria)
    answered = _ANSWERED.format(a="c")
    sums = {
        "attempts": "count(*)",
        "answered": f"count(*) FILTER (WHERE {answered})",
        "ner_success": f"count(*) FILTER (WHERE {answered} OR hc.ner_success)",
        "duration_sum": "COALESCE(sum(c.duration), 0)",
        "billsec_sum": "COALESCE(sum(c.billsec), 0)",
        "short_calls": f"count(*) FILTER (WHERE {answered} AND c.billsec < :short_call_seconds)",
        "pdd_sum": "COALESCE(sum(c.progresssec), 0)",
        "pdd_count": "count(c.progresssec)",
        "buy_cost": "COALESCE(sum(c.buy_cost), 0)",
        "sell_cost": "COALESCE(sum(c.sell_cost), 0)",
    }
    assert set(sums) == set(MEASURES)
    columns = ", ".join(f"{sql} AS {name}" for name, sql in sums.items())
    sql = f"""SELECT date_trunc('day', c.starting_date, :tz) AT TIME ZONE :tz AS period, {columns}
              FROM cdr c LEFT JOIN hangup_cause hc ON hc.code = c.hangup_cause_id
              WHERE {where} GROUP BY 1 ORDER BY 1"""
    with db.transaction() as conn:
        conn.execute(text(f"SET LOCAL statement_timeout = {REPORT_STATEMENT_TIMEOUT_MS}"))
        result = conn.execute(text(sql), {**params, "short_call_seconds": load_settings().short_call_seconds})
        return [dict(r._mapping) for r in result]


def report_by_day(scope: Scope, criteria: SearchCriteria) -> list[dict]:
    """Calls, minutes and the other measures per local day: from the rollups when they answer exactly.

    The sum of ``attempts`` is also the search's exact count, shown on the page and given to the grid
    (so no block ever counts).
    """
    if criteria.only_rollup_filters:
        rows = traffic_by_time(scope, criteria.report, "day")
    else:
        rows = _cdr_by_day(scope, criteria)
    return [{**r, "period": r["period"].date().isoformat()} for r in rows]


@cached
def grid_block(
    scope: Scope, criteria: SearchCriteria, start: int, end: int, sort: tuple, after: tuple[datetime, int] | None
) -> dict:
    """A block as the grid shows it, and where the next one starts. Kept like report results (per scope
    and criteria, REPORT_CACHE_SECONDS): many users and refreshes ask for the same newest calls."""
    block = fetch_block(scope, criteria, start, end, sort, after)
    return {
        "rows": [{**grid_row(r, scope.timezone), "row_id": str(r["id"])} for r in block.rows],
        "last_key": block.last_key,
    }


@cached
def by_day_chart(scope: Scope, criteria: SearchCriteria) -> dict:
    """The report by day as its chart draws it, and the search's exact count; kept like ``grid_block``
    (with per-call filters it reads ``cdr``). Every day of the range is drawn, days without calls as zeros."""
    by_day = report_by_day(scope, criteria)
    found = {r["period"]: r for r in by_day}
    first, last = criteria.first_day, criteria.last_day
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)] if first and last else []
    filled = [found.pop(day, None) or {"period": day, **dict.fromkeys(MEASURES, 0)} for day in days]
    filled = sorted(filled + list(found.values()), key=lambda r: r["period"])  # nothing drawn is ever dropped
    return {"rows": chart_rows(filled, "period", scope), "count": sum(int(r["attempts"]) for r in by_day)}


# ---------------------------------------------------------------------------------------------------------
# One CDR


@db.reading
def get_cdr(scope: Scope, cdr_id) -> dict | None:
    """Every field of one CDR the scope may see (None otherwise), with names beside codes, local times."""
    row = cdr_row(scope, cdr_id)
    if row is None:
        return None
    zone = ZoneInfo(scope.timezone)
    for key in ("starting_date", "answered_date"):
        if row.get(key):
            row[key] = row[key].astimezone(zone).isoformat()
    row["direction"] = DIRECTION_NAMES.get(row["direction"], row["direction"])
    return row


def cdr_row(scope: Scope, cdr_id) -> dict | None:
    """The fields of one CDR the scope may see (None otherwise) as stored, with names beside codes."""
    try:
        cdr_id = int(cdr_id)
    except (TypeError, ValueError):
        return None
    condition, params = scope.cdr_filter("c")
    found = db.rows(
        f"""SELECT c.*, s.name AS switch,
                   coalesce(h.name, 'cause ' || c.hangup_cause_id || ' (unknown)') AS hangup_cause,
                   co.name AS country, t.name AS source_type,
                   u.username AS customer, {flag_text_sql("c")} AS flag
            FROM cdr c LEFT JOIN switch s ON s.id = c.switch_id
            LEFT JOIN hangup_cause h ON h.code = c.hangup_cause_id LEFT JOIN country co ON co.code = c.country_code
            LEFT JOIN cdr_source_type t ON t.id = c.cdr_source_type LEFT JOIN app_user u ON u.id = c.user_id
            WHERE c.id = :id AND {condition}""",
        id=cdr_id,
        **params,
    )
    if not found:
        return None
    row = found[0]
    if not scope.is_admin:
        row = {key: row[key] for key in CUSTOMER_FIELDS if key in row}
    return row


# ---------------------------------------------------------------------------------------------------------
# Export: the whole result set, streamed from a server-side cursor


EXPORT_COLUMNS = (  # (name, SQL); ADMIN_ONLY names are left out for customers
    ("id", "c.id"),
    ("starting_date", "c.starting_date"),
    ("answered_date", "c.answered_date"),
    ("switch", "s.name"),
    ("caller_id_number", "c.caller_id_number"),
    ("caller_id_name", "c.caller_id_name"),
    ("destination_number", "c.destination_number"),
    ("normalised_number", "c.normalised_number"),
    ("dialcode", "c.dialcode"),
    ("country_code", "c.country_code"),
    ("duration", "c.duration"),
    ("billsec", "c.billsec"),
    ("progresssec", "c.progresssec"),
    ("answersec", "c.answersec"),
    ("waitsec", "c.waitsec"),
    ("hangup_cause_id", "c.hangup_cause_id"),
    ("hangup_cause", "coalesce(h.name, 'cause ' || c.hangup_cause_id || ' (unknown)')"),
    ("direction", "CASE c.direction WHEN 1 THEN 'inbound' WHEN 2 THEN 'outbound' END"),
    ("accountcode", "c.accountcode"),
    ("customer", "u.username"),
    ("sell_rate", "c.sell_rate"),
    ("sell_cost", "c.sell_cost"),
    ("buy_rate", "c.buy_rate"),
    ("buy_cost", "c.buy_cost"),
    ("carrier_id", "c.carrier_id"),
    ("callid", "c.callid"),
    ("flag", flag_text_sql("c")),  # blacklist / whitelist / threat (data.alerting.flags)
    ("extradata", "c.extradata"),
)
EXPORT_ITERSIZE = 5000


def export_columns(scope: Scope) -> list[str]:
    return [name for name, _ in EXPORT_COLUMNS if scope.is_admin or name not in ADMIN_ONLY]


@db.reading
def iter_export_rows(scope: Scope, criteria: SearchCriteria) -> Iterator[tuple]:
    """Every matching call, newest first, as tuples in ``export_columns(scope)`` order.

    Read through a psycopg2 named (server-side) cursor, EXPORT_ITERSIZE rows at a time, so memory
    stays flat whatever the size of the result. Times are aware datetimes in the scope's zone.
    """
    names = set(export_columns(scope))
    select = ", ".join(f"{sql} AS {name}" for name, sql in EXPORT_COLUMNS if name in names)
    where, params = search_where(scope, criteria)
    sql = f"""SELECT {select} FROM cdr c LEFT JOIN switch s ON s.id = c.switch_id
              LEFT JOIN hangup_cause h ON h.code = c.hangup_cause_id LEFT JOIN app_user u ON u.id = c.user_id
              WHERE {where} ORDER BY c.starting_date DESC, c.id DESC"""
    zone = ZoneInfo(scope.timezone)
    time_columns = [i for i, name in enumerate(export_columns(scope)) if name in ("starting_date", "answered_date")]
    with db.engine().connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=EXPORT_ITERSIZE).execute(text(sql), params)
        for row in result:
            values = list(row)
            for i in time_columns:
                if values[i] is not None:
                    values[i] = values[i].astimezone(zone)
            yield tuple(values)


# ---------------------------------------------------------------------------------------------------------
# Filter options


@db.reading
def search_options() -> dict[str, list[dict]]:
    """Countries and hangup causes for the page's dropdowns."""
    return {
        "countries": db.rows("SELECT code AS value, code || ' · ' || name AS label FROM country ORDER BY name"),
        "causes": db.rows("SELECT code AS value, code || ' · ' || name AS label FROM hangup_cause ORDER BY code"),
    }


def range_label(criteria: SearchCriteria) -> str:
    """The local days of the range, for file names: ``2024-05-01_2024-05-07``."""
    first = criteria.first_day or criteria.report.start.date()
    last = criteria.last_day or (criteria.report.end - timedelta(microseconds=1)).date()
    return f"{first.isoformat()}_{last.isoformat()}"
