"""REST API v1: switches, CDRs and KPIs as JSON, for scripts and other systems.

Authentication: an API token (``Authorization: Bearer <token>``, created on the profile page) or
HTTP basic auth with a username and password, as CDR-Stats allowed; a logged-in browser session
works too. Every endpoint applies the same tenant scoping as the UI (``Scope.cdr_filter``): a
customer only ever sees their own calls, and the switches that carry them. Permissions: the
``feature:api`` permission for all, plus the page permission of what an endpoint shows
(``page:/cdrs`` for CDRs, ``page:/overview`` for KPIs).

Paging: lists of switches are paged like CDR-Stats' API (``count``, ``next``, ``previous``,
``results``; ``page`` and ``page_size``). CDRs are paged with opaque cursors on (starting_date, id),
newest first: ``next``/``previous`` are complete URLs; ``count`` is exact when the rollups can tell
(no per-call filter), else null.

The OpenAPI document is ``/api/v1/openapi.json`` (``routes.api_v1_openapi``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg2.errors
from flask import Blueprint, current_app, jsonify, request, url_for
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from data.admin import acl
from data.alerting.flags import FLAGS
from data.cdr_search.search import (
    COMPARISONS,
    DIRECTIONS,
    MAX_BLOCK,
    NUMBER_OPERATORS,
    fetch_block,
    get_cdr,
    search_criteria_from_query,
)
from data.core.kpis import Totals, kpi_numbers
from data.core.report_filter import ReportFilter, report_filter_from_query
from data.core.scope import Scope, current_scope
from data.reports.switches import switches_seen_by
from data.reports.traffic import breakdown, totals, traffic_by_time
from routes.access import allow, api_error
from routes.auth import public, requires_permission

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

API = "feature:api"
CDRS = "page:/cdrs"
KPIS = "page:/overview"
MAX_PAGE_SIZE = 1000
MAX_ID = 2**63 - 1
GROUP_BY = ("hour", "day", "month", "country", "switch", "customer", "accountcode", "hangup_cause")
MAX_HOURLY_DAYS = 93
MAX_PARAMETER = 400  # characters of a query parameter (the OpenAPI document's longest maxLength)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadRequest(Exception):
    """A parameter the API cannot use: answered 400 with this message."""


@bp.errorhandler(BadRequest)
def _bad_request(exc):
    return api_error(400, str(exc))


@bp.errorhandler(OperationalError)
def _query_error(exc: OperationalError):
    """A query cancelled by its statement timeout: the filters select too much."""
    if isinstance(getattr(exc, "orig", None), psycopg2.errors.QueryCanceled):
        return api_error(503, "the query took too long; narrow the range or the filters")
    raise exc


@bp.before_app_request
def _check_parameters():
    """Every API's query parameters: never control characters (PostgreSQL refuses NUL in text), never empty
    (``page_size=`` is a mistake to point out, not a default to guess)."""
    if not request.path.startswith("/api/"):
        return None
    for key, value in request.args.items(multi=True):
        if _CONTROL.search(key) or _CONTROL.search(value):
            return api_error(400, f"parameter {key[:40]!r} holds control characters")
        if value == "":
            return api_error(400, f"parameter {key[:40]!r} is empty: give a value or leave it out")
        if len(value) > MAX_PARAMETER:
            return api_error(400, f"parameter {key[:40]!r} is longer than {MAX_PARAMETER} characters")
    return None


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """JSON errors under /api/ (404, 405, ...); the other paths keep Flask's pages."""
    if request.path.startswith("/api/") and exc.code is not None:
        response = api_error(exc.code, exc.description or exc.name)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:  # RFC 9110: a 405 lists what is allowed
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response
    return exc


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FALLBACK = "api_not_found"


def _methods_of(path: str) -> list[str]:
    """The methods a real API route answers at ``path`` (the fallback below not counted)."""
    adapter = current_app.url_map.bind("localhost")
    methods = []
    for method in METHODS:
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != FALLBACK:
            methods.append(method)
    if "GET" in methods:
        methods.append("HEAD")
    return methods + ["OPTIONS"] if methods else []


def _api_not_found(rest: str):
    """An /api/ path no route answers with this method: 405 (with Allow) when one answers another, else 404."""
    methods = _methods_of(request.path)
    if methods:
        response = api_error(405, "The method is not allowed for the requested URL.")
        response.headers["Allow"] = ", ".join(methods)
        return response
    return api_error(404, "no such API endpoint")


@bp.after_app_request
def _allow_of_options(response):
    """OPTIONS lists the methods the API's routes answer, not the fallback's GET."""
    if request.method == "OPTIONS" and request.path.startswith("/api/") and response.status_code == 200:
        methods = _methods_of(request.path)
        if methods:
            response.headers["Allow"] = ", ".join(methods)
    return response


@bp.record_once
def _fallback(state) -> None:
    """Unknown /api/ paths answer JSON 404 (else Dash's page route would answer them with its HTML)."""
    state.app.add_url_rule("/api/<path:rest>", FALLBACK, allow(acl.ANY_USER)(_api_not_found))  # GET: the others are 405


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise BadRequest(f"{name} must be a whole number from {minimum} to {maximum}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be a whole number from {minimum} to {maximum}")
    return value


def _url_with(**changes) -> str:
    """This request's URL (absolute) with some query arguments changed or removed (None)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return request.base_url + (f"?{query}" if query else "")


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def kpi_values(row: dict, scope: Scope) -> dict:
    """The KPIs of a row of sums. Admins: cost (buy), revenue (sell), margin. Customers: cost = what they
    are charged (the sell cost); the operator's buy cost and margin are never shown to them."""
    t = Totals.from_row(row)
    values = kpi_numbers(t)
    if scope.is_admin:
        values.update(
            cost=round(float(t.cost), 5), revenue=round(float(t.revenue), 5), margin=round(float(t.margin), 5)
        )
    else:
        values["cost"] = round(float(t.revenue), 5)
    return values


# ---------------------------------------------------------------------------------------------------------
# Index and OpenAPI


@bp.get("/")
@requires_permission(API)
def index():
    return jsonify(
        {
            "switches": url_for("api_v1.switch_list", _external=True),
            "cdrs": url_for("api_v1.cdr_list", _external=True),
            "kpis": url_for("api_v1.kpis", _external=True),
            "openapi": url_for("api_v1.openapi", _external=True),
        }
    )


@bp.get("/openapi.json")
@public
def openapi():
    from flask import current_app

    from routes.api_v1_openapi import build_document

    return jsonify(build_document(current_app))


# ---------------------------------------------------------------------------------------------------------
# Switches


def _switch_json(row: dict, scope: Scope) -> dict:
    result = {
        "id": row["id"],
        "url": url_for("api_v1.switch_detail", switch_id=row["id"], _external=True),
        "name": row["name"],
        "source_type": row["source_type"],
        "timezone": row["timezone"],
    }
    if scope.is_admin:
        result["ipaddress"] = row["ip"]
    return result


@bp.get("/switches")
@requires_permission(API)
def switch_list():
    scope = current_scope()
    page = _int_arg("page", 1, 1, 10_000_000)
    size = _int_arg("page_size", 50, 1, MAX_PAGE_SIZE)
    count, rows = switches_seen_by(scope, limit=size, offset=(page - 1) * size)
    return jsonify(
        {
            "count": count,
            "next": _url_with(page=page + 1) if page * size < count else None,
            "previous": (_url_with(page=page - 1) if page > 2 else _url_with(page=None)) if page > 1 else None,
            "results": [_switch_json(r, scope) for r in rows],
        }
    )


@bp.get("/switches/<int:switch_id>")
@requires_permission(API)
def switch_detail(switch_id: int):
    scope = current_scope()
    if switch_id > MAX_ID:
        return api_error(404, "no such switch")
    _, rows = switches_seen_by(scope, switch_id=switch_id, limit=1)
    if not rows:
        return api_error(404, "no such switch")
    return jsonify(_switch_json(rows[0], scope))


# ---------------------------------------------------------------------------------------------------------
# CDRs


def encode_cursor(key: tuple[datetime, int], direction: str) -> str:
    raw = json.dumps([key[0].isoformat(), int(key[1]), direction], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[tuple[datetime, int], str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, cdr_id, direction = json.loads(raw)
        when = datetime.fromisoformat(when)
        if (
            when.tzinfo is None
            or direction not in ("n", "p")
            or not isinstance(cdr_id, int)
            or not 0 <= cdr_id <= MAX_ID
        ):
            raise ValueError
        return (when, cdr_id), direction
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API gave") from None


def cdr_json(row: dict, scope: Scope) -> dict:
    """A CDR of a list as the API returns it: local times with their offset, names beside codes."""
    zone = ZoneInfo(scope.timezone)
    result = {
        "id": row["id"],
        "url": url_for("api_v1.cdr_detail", cdr_id=row["id"], _external=True),
        "starting_date": row["starting_date"].astimezone(zone).isoformat(),
        "switch_id": row["switch_id"],
        "switch": row.get("switch"),
        "caller_id_number": row["caller_id_number"],
        "destination_number": row["destination_number"],
        "country_code": row["country_code"],
        "duration": row["duration"],
        "billsec": row["billsec"],
        "hangup_cause_id": row["hangup_cause_id"],
        "hangup_cause": row.get("hangup_cause"),
        "direction": {1: "inbound", 2: "outbound"}.get(row["direction"]),
        "accountcode": row["accountcode"],
        "sell_cost": _json_value(row["sell_cost"]),
    }
    if scope.is_admin:
        result["buy_cost"] = _json_value(row.get("buy_cost"))
    return result


PRESETS = ("today", "yesterday", "7d", "30d", "this-month", "last-month", "12m")
_DAY = re.compile(r"^(19\d\d|2[01]\d\d)-\d\d-\d\d$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
_NUMBER = re.compile(r"^[0-9]{1,9}$")
_ID_LIST = re.compile(r"^[0-9]{1,9}(,[0-9]{1,9})*$")
CDR_ARGS = {  # parameter -> check; the CDR search parser reads them (data.cdr_search.search)
    "preset": lambda v: v in PRESETS,
    "start": lambda v: bool(_DAY.match(v)) and _is_date(v),
    "end": lambda v: bool(_DAY.match(v)) and _is_date(v),
    "from": lambda v: bool(_HHMM.match(v)),
    "to": lambda v: bool(_HHMM.match(v)),
    "dst": lambda v: len(v) <= 64,
    "src": lambda v: len(v) <= 64,
    "dst_op": lambda v: v in NUMBER_OPERATORS,
    "src_op": lambda v: v in NUMBER_OPERATORS,
    "country": lambda v: bool(re.fullmatch(r"[A-Za-z]{2}(,[A-Za-z]{2})*", v)),
    "cause": lambda v: bool(_ID_LIST.match(v)),
    "direction": lambda v: v in DIRECTIONS or v in ("1", "2"),
    "duration": lambda v: bool(_NUMBER.match(v)),
    "billsec": lambda v: bool(_NUMBER.match(v)),
    "duration_op": lambda v: v in COMPARISONS,
    "billsec_op": lambda v: v in COMPARISONS,
    "answered": lambda v: v.lower() in ("0", "1", "true", "false", "yes", "no", "on", "off"),
    "switch": lambda v: bool(_ID_LIST.match(v)),
    "customer": lambda v: bool(_ID_LIST.match(v)),
    "accountcode": lambda v: all(0 < len(c.strip()) <= 80 for c in v.split(",")),
    "callid": lambda v: all(0 < len(c.strip()) <= 255 for c in v.split(",")),
    "flag": lambda v: v in FLAGS,
}


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
        return True
    except ValueError:
        return False


def _check_cdr_args() -> None:
    """The API is strict where the search page is lenient: a filter it cannot use is an error."""
    for key, check in CDR_ARGS.items():
        for value in request.args.getlist(key):
            if value != "" and not check(value):
                raise BadRequest(f"{key}: {value[:80]!r} is not a valid value")


@bp.get("/cdrs")
@requires_permission(API, CDRS)
def cdr_list():
    scope = current_scope()
    _check_cdr_args()
    limit = _int_arg("limit", 100, 1, MAX_BLOCK)
    cursor = request.args.get("cursor")
    key, direction = decode_cursor(cursor) if cursor else (None, "n")
    criteria = search_criteria_from_query(request.args, scope)
    if direction == "n":  # newest first, after the key
        block = fetch_block(scope, criteria, 0, limit + 1, after=key)
        rows = block.rows
        has_more, rows = len(rows) > limit, rows[:limit]
        has_before = key is not None
    else:  # the page before the key: read upwards, then newest first again
        block = fetch_block(scope, criteria, 0, limit + 1, sort=(("starting_date", "asc"),), after=key)
        rows = block.rows
        has_before, rows = len(rows) > limit, list(reversed(rows[:limit]))
        has_more = True
    first_key = (rows[0]["starting_date"], rows[0]["id"]) if rows else None
    last_key = (rows[-1]["starting_date"], rows[-1]["id"]) if rows else None
    return jsonify(
        {
            "count": int(totals(scope, criteria.report).attempts) if criteria.only_rollup_filters else None,
            "next": _url_with(cursor=encode_cursor(last_key, "n")) if has_more and last_key else None,
            "previous": _url_with(cursor=encode_cursor(first_key, "p")) if has_before and first_key else None,
            "results": [cdr_json(r, scope) for r in rows],
        }
    )


@bp.get("/cdrs/<int:cdr_id>")
@requires_permission(API, CDRS)
def cdr_detail(cdr_id: int):
    scope = current_scope()
    found = get_cdr(scope, cdr_id) if cdr_id <= MAX_ID else None
    if found is None:
        return api_error(404, "no such CDR")
    return jsonify({k: _json_value(v) for k, v in found.items()})


# ---------------------------------------------------------------------------------------------------------
# KPIs


def _parse_bound(raw: str, name: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """A ``from``/``to`` value: (instant, is_a_day). A day is local; a naive date-time is local too."""
    raw = raw.strip()
    if not re.match(r"^(19|2[01])\d\d-", raw):
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, years 1900 to 2199")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise BadRequest(f"{name} is not a valid date") from None
        return datetime.combine(day, datetime.min.time(), zone), True
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when, False


def _ids(name: str) -> tuple[int, ...]:
    values = [v.strip() for v in request.args.get(name, "").split(",") if v.strip()]
    if any(not re.fullmatch(r"[0-9]{1,9}", v) for v in values):
        raise BadRequest(f"{name} must be a comma-separated list of ids")
    return tuple(dict.fromkeys(int(v) for v in values))


def kpi_filter(scope: Scope) -> ReportFilter:
    """The range and filters of a KPI request: the shared report filter (data/core/report_filter.py), whose
    range ``from``/``to`` may set as days (local, both included) or date-times (``to`` excluded); default:
    the last 7 local days. Ids that cannot be read are refused with the reason (the UI ignores them)."""
    _ids("switch"), _ids("customer")
    f = report_filter_from_query(request.args, scope)
    zone = ZoneInfo(scope.timezone)
    start, end = f.start.astimezone(zone), f.end.astimezone(zone)
    if request.args.get("from"):
        start, _ = _parse_bound(request.args["from"], "from", zone)
    if request.args.get("to"):
        end, is_day = _parse_bound(request.args["to"], "to", zone)
        if is_day:
            end = datetime.combine(end.date() + timedelta(days=1), datetime.min.time(), zone)
    if end <= start:
        raise BadRequest("to must be after from")
    if end - start > timedelta(days=3700):
        raise BadRequest("the range is longer than 10 years")
    if (start, end) == (f.start, f.end):
        return f
    return ReportFilter(
        start.astimezone(timezone.utc), end.astimezone(timezone.utc), f.switch_ids, f.user_ids, f.accountcodes
    )


@bp.get("/kpis")
@requires_permission(API, KPIS)
def kpis():
    scope = current_scope()
    group_by = request.args.get("group_by") or None
    if group_by is not None and group_by not in GROUP_BY:
        raise BadRequest(f"group_by must be one of {', '.join(GROUP_BY)}")
    f = kpi_filter(scope)
    if group_by == "hour" and f.end - f.start > timedelta(days=MAX_HOURLY_DAYS):
        raise BadRequest(f"group_by=hour covers at most {MAX_HOURLY_DAYS} days")
    results = []
    if group_by in ("hour", "day", "month"):
        for row in traffic_by_time(scope, f, group_by):
            results.append({"period": row["period"].isoformat(), **kpi_values(row, scope)})
    elif group_by:
        for row in breakdown(scope, f, group_by):
            code = row.get("code")
            results.append(
                {
                    "key": code.strip() if isinstance(code, str) else code,
                    "label": row["label"],
                    **kpi_values(row, scope),
                }
            )
    zone = ZoneInfo(scope.timezone)
    return jsonify(
        {
            "group_by": group_by,
            "timezone": scope.timezone,
            "from": f.start.astimezone(zone).isoformat(),
            "to": f.end.astimezone(zone).isoformat(),
            "totals": kpi_values(dataclasses.asdict(totals(scope, f)), scope),
            "results": results,
        }
    )
