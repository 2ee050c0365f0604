"""The OpenAPI 3.0 document of the REST API (``GET /api/v1/openapi.json``).

The endpoints of ``routes.api_v1`` are described here. Other API modules describe their own
endpoints in a module-level ``OPENAPI_PATHS`` dict (``{"/api/v1/cdr": {"post": {...}}}``), merged
in; an ``/api/v1/...`` route without a description gets a minimal one, so that every route is in
the document (and under the schemathesis test).
"""

from __future__ import annotations

import importlib
import re

from flask import Flask

from data.alerting.flags import FLAGS
from data.cdr_search.search import COMPARISONS, CUSTOMER_FIELDS, NUMBER_OPERATORS

OTHER_API_MODULES = ("routes.api_push", "routes.api_rates")
PRESETS = ["today", "yesterday", "7d", "30d", "this-month", "last-month", "12m"]

ERROR = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
NUMBER_OR_NULL = {"type": "number", "nullable": True}
INT_OR_NULL = {"type": "integer", "nullable": True}
STRING_OR_NULL = {"type": "string", "nullable": True}

SWITCH = {
    "type": "object",
    "required": ["id", "url", "name", "source_type", "timezone"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "name": {"type": "string"},
        "ipaddress": {"type": "string", "description": "Admins only."},
        "source_type": STRING_OR_NULL,
        "timezone": {"type": "string", "description": "Time zone of the switch's naive times."},
    },
}

CDR = {
    "type": "object",
    "required": ["id", "url", "starting_date", "switch_id", "duration", "billsec"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string"},
        "starting_date": {"type": "string", "description": "ISO 8601 in the user's time zone, with its offset."},
        "switch_id": {"type": "integer"},
        "switch": STRING_OR_NULL,
        "caller_id_number": STRING_OR_NULL,
        "destination_number": STRING_OR_NULL,
        "country_code": STRING_OR_NULL,
        "duration": {"type": "integer"},
        "billsec": {"type": "integer"},
        "hangup_cause_id": INT_OR_NULL,
        "hangup_cause": STRING_OR_NULL,
        "direction": {"type": "string", "nullable": True, "enum": ["inbound", "outbound", None]},
        "accountcode": STRING_OR_NULL,
        "sell_cost": NUMBER_OR_NULL,
        "buy_cost": {**NUMBER_OR_NULL, "description": "Admins only."},
    },
}

_DETAIL_TYPES = {
    "id": {"type": "integer"},
    "switch_id": {"type": "integer"},
    "callid": {"type": "string"},
    "duration": {"type": "integer"},
    "billsec": {"type": "integer"},
    "progresssec": INT_OR_NULL,
    "answersec": INT_OR_NULL,
    "waitsec": INT_OR_NULL,
    "hangup_cause_id": INT_OR_NULL,
    "sell_rate": NUMBER_OR_NULL,
    "sell_cost": NUMBER_OR_NULL,
    "starting_date": {"type": "string", "description": "ISO 8601 in the user's time zone, with its offset."},
    "extradata": {"description": "What the switch sent beyond the standard fields."},
}
CUSTOMER_CDR_DETAIL = {
    "type": "object",
    "required": ["id", "starting_date", "switch_id"],
    "description": "A customer's view of one of their calls: these fields only.",
    "properties": {name: _DETAIL_TYPES.get(name, STRING_OR_NULL) for name in CUSTOMER_FIELDS},
    "additionalProperties": False,
}
ADMIN_CDR_DETAIL = {
    "type": "object",
    "required": ["id", "starting_date", "switch_id"],
    "description": "An admin's view: every stored field of the call, with the operator's costs, the alert, "
    "import and rating columns, and the customer.",
    "properties": {
        **CUSTOMER_CDR_DETAIL["properties"],
        "buy_rate": NUMBER_OR_NULL,
        "buy_cost": NUMBER_OR_NULL,
        "carrier_id": INT_OR_NULL,
        "customer": STRING_OR_NULL,
        "user_id": INT_OR_NULL,
        "rating_status": INT_OR_NULL,
        "import_id": INT_OR_NULL,
        "destination_alert": {"type": "boolean", "nullable": True},
        "alert_reason": STRING_OR_NULL,
        "cdr_source_type": INT_OR_NULL,
    },
}
CDR_DETAIL = {
    "description": "CustomerCdrDetail for customers, AdminCdrDetail for admins.",
    "anyOf": [{"$ref": "#/components/schemas/CustomerCdrDetail"}, {"$ref": "#/components/schemas/AdminCdrDetail"}],
}

KPI_VALUES = {
    "calls": {"type": "integer"},
    "answered": {"type": "integer"},
    "minutes": {"type": "number"},
    "asr": {**NUMBER_OR_NULL, "description": "Answered / attempts; null when there is no call."},
    "acd": {**NUMBER_OR_NULL, "description": "Seconds per answered call."},
    "ner": NUMBER_OR_NULL,
    "short_call_ratio": NUMBER_OR_NULL,
    "pdd": NUMBER_OR_NULL,
    "cost": {"type": "number", "description": "Admins: the buy cost. Customers: what they are charged."},
    "revenue": {"type": "number", "description": "Admins only: the sell cost."},
    "margin": {"type": "number", "description": "Admins only: revenue − cost."},
}
KPI_ROW = {
    "type": "object",
    "required": ["calls", "answered", "minutes"],
    "properties": {
        "period": {"type": "string", "description": "group_by hour/day/month: the local start of the period."},
        "key": {
            "description": "Other group_by: the country code, switch id, customer id, ... of the row.",
            "nullable": True,
        },
        "label": {"type": "string"},
        **KPI_VALUES,
    },
}


def _page_of(item: dict, cursor: bool) -> dict:
    return {
        "type": "object",
        "required": ["count", "next", "previous", "results"],
        "properties": {
            "count": {
                "type": "integer",
                "nullable": cursor,
                **({"description": "Exact when no per-call filter is used, else null."} if cursor else {}),
            },
            "next": STRING_OR_NULL,
            "previous": STRING_OR_NULL,
            "results": {"type": "array", "items": item},
        },
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _list_of(pattern: str, description: str, name: str) -> dict:
    return _query(name, {"type": "string", "pattern": f"^({pattern})(,({pattern}))*$", "maxLength": 400}, description)


TEXT = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[^\x00-\x1f]+$"}
DATE = {"type": "string", "pattern": r"^(19\d\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"}
CDR_FILTERS = [
    _query("preset", {"type": "string", "enum": PRESETS}, "A named range of local days (default: the last 7 days)."),
    _query("start", DATE, "First local day (with end; ignored with a preset)."),
    _query("end", DATE, "Last local day, included."),
    _query("from", {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}, "Time of day on the first day."),
    _query("to", {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}, "Time of day on the last day."),
    _query("dst", TEXT, "Destination number (see dst_op)."),
    _query("dst_op", {"type": "string", "enum": list(NUMBER_OPERATORS)}, "How dst matches (default begins)."),
    _query("src", TEXT, "Caller number (see src_op)."),
    _query("src_op", {"type": "string", "enum": list(NUMBER_OPERATORS)}, "How src matches (default begins)."),
    _list_of("[A-Z]{2}", "ISO 3166 country codes.", "country"),
    _list_of("[0-9]{1,9}", "Q.850 hangup cause codes.", "cause"),
    _query("direction", {"type": "string", "enum": ["inbound", "outbound"]}, "Call direction."),
    _query("duration", {"type": "integer", "minimum": 0, "maximum": 999999999}, "Duration in seconds."),
    _query("duration_op", {"type": "string", "enum": list(COMPARISONS)}, "Comparison for duration (default ge)."),
    _query("billsec", {"type": "integer", "minimum": 0, "maximum": 999999999}, "Billed seconds."),
    _query("billsec_op", {"type": "string", "enum": list(COMPARISONS)}, "Comparison for billsec (default ge)."),
    _query("answered", {"type": "string", "enum": ["0", "1", "true", "false"]}, "Only answered calls."),
    _list_of("[0-9]{1,9}", "Switch ids.", "switch"),
    _list_of("[0-9]{1,9}", "Customer id (admins only; ignored for customers).", "customer"),
    _list_of(r"[^,\x00-\x1f]{1,80}", "Accountcodes (a customer's own only narrow their calls).", "accountcode"),
    _list_of(r"[^,\x00-\x1f]{1,255}", "Call ids (the switch's callid), exactly.", "callid"),
    _query("flag", {"type": "string", "enum": list(FLAGS)}, "Flagged calls only: blacklist, whitelist, threat, any."),
]
KPI_DATE_TIME = {
    "type": "string",
    "pattern": r"^(19\d\d|2[01]\d\d)-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
    r"(Z|[+-](0\d|1[0-4]):[0-5]\d)?)?$",
    "description": "A local day YYYY-MM-DD, or an ISO 8601 date-time (naive: the user's time zone).",
}


def _responses(ok_schema: dict | None, *codes: int) -> dict:
    responses = {}
    if ok_schema is not None:
        responses["200"] = {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}
    texts = {
        400: "A parameter is not valid.",
        401: "Not authenticated (token or basic auth).",
        403: "The user lacks the permission.",
        404: "Not found (or not the user's).",
        503: "The query took too long; narrow the filters.",
    }
    for code in codes:
        responses[str(code)] = {
            "description": texts[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


def api_v1_paths() -> dict:
    return {
        "/api/v1/": {
            "get": {
                "operationId": "index",
                "summary": "Links to the collections.",
                "responses": _responses({"type": "object", "additionalProperties": {"type": "string"}}, 401, 403),
            }
        },
        "/api/v1/switches": {
            "get": {
                "operationId": "listSwitches",
                "summary": "Switches (customers: those that carried their calls).",
                "parameters": [
                    _query("page", {"type": "integer", "minimum": 1, "maximum": 10_000_000}, "Page number (from 1)."),
                    _query("page_size", {"type": "integer", "minimum": 1, "maximum": 1000}, "Switches per page (50)."),
                ],
                "responses": _responses(_page_of({"$ref": "#/components/schemas/Switch"}, cursor=False), 400, 401, 403),
            }
        },
        "/api/v1/switches/{switch_id}": {
            "get": {
                "operationId": "getSwitch",
                "summary": "One switch.",
                "parameters": [
                    {
                        "name": "switch_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    }
                ],
                "responses": _responses({"$ref": "#/components/schemas/Switch"}, 401, 403, 404),
            }
        },
        "/api/v1/cdrs": {
            "get": {
                "operationId": "listCdrs",
                "summary": "Calls matching the CDR search filters, newest first, with cursor paging.",
                "parameters": [
                    *CDR_FILTERS,
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Calls per page (100)."),
                    _query(
                        "cursor",
                        {"type": "string", "maxLength": 200},
                        "From a previous answer's next or previous link.",
                    ),
                ],
                "responses": _responses(
                    _page_of({"$ref": "#/components/schemas/Cdr"}, cursor=True), 400, 401, 403, 503
                ),
            }
        },
        "/api/v1/cdrs/{cdr_id}": {
            "get": {
                "operationId": "getCdr",
                "summary": "One call: every field for admins, the customer fields for customers.",
                "parameters": [
                    {
                        "name": "cdr_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "format": "int64", "minimum": 0},
                    }
                ],
                "responses": _responses({"$ref": "#/components/schemas/CdrDetail"}, 401, 403, 404),
            }
        },
        "/api/v1/kpis": {
            "get": {
                "operationId": "getKpis",
                "summary": "Totals and KPIs (ASR, ACD, NER, ...) over a range, optionally grouped.",
                "parameters": [
                    _query(
                        "group_by",
                        {
                            "type": "string",
                            "enum": [
                                "hour",
                                "day",
                                "month",
                                "country",
                                "switch",
                                "customer",
                                "accountcode",
                                "hangup_cause",
                            ],
                        },
                        "One row per period or per value (none: totals only).",
                    ),
                    _query("from", KPI_DATE_TIME, "Start of the range (default: 6 days before today)."),
                    _query("to", KPI_DATE_TIME, "End of the range: a day is included, a date-time excluded."),
                    _list_of("[0-9]{1,9}", "Switch ids.", "switch"),
                    _list_of("[0-9]{1,9}", "Customer ids (admins only).", "customer"),
                    _list_of(r"[^,\x00-\x1f]{1,80}", "Accountcodes.", "accountcode"),
                ],
                "responses": _responses(
                    {
                        "type": "object",
                        "required": ["group_by", "timezone", "from", "to", "totals", "results"],
                        "properties": {
                            "group_by": STRING_OR_NULL,
                            "timezone": {"type": "string"},
                            "from": {"type": "string"},
                            "to": {"type": "string"},
                            "totals": {"$ref": "#/components/schemas/KpiRow"},
                            "results": {"type": "array", "items": {"$ref": "#/components/schemas/KpiRow"}},
                        },
                    },
                    400,
                    401,
                    403,
                ),
            }
        },
    }


def _flask_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def _other_paths(app: Flask, documented: dict) -> dict:
    """The other API modules' own descriptions, and a minimal one for any undocumented /api/v1 route."""
    paths: dict = {}
    for name in OTHER_API_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for path, operations in (getattr(module, "OPENAPI_PATHS", None) or {}).items():
            paths.setdefault(path, {}).update(operations)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api_v1.openapi":
            continue
        path = _flask_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() in documented.get(path, {}) or method.lower() in paths.get(path, {}):
                continue
            operation = {
                "summary": f"{rule.endpoint} (described by its module)",
                "responses": {"default": {"description": "See the module's documentation."}},
            }
            arguments = [a for a in rule.arguments]
            if arguments:
                operation["parameters"] = [
                    {"name": a, "in": "path", "required": True, "schema": {"type": "string"}} for a in arguments
                ]
            if method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
            paths.setdefault(path, {})[method.lower()] = operation
    return paths


def build_document(app: Flask) -> dict:
    paths = api_v1_paths()
    for path, operations in _other_paths(app, paths).items():
        paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Dialstat API",
            "version": "1",
            "description": "Switches, calls and KPIs, with the tenant scoping of the web app: a customer only "
            "ever sees their own calls. Authenticate with an API token (created on the profile "
            "page) as `Authorization: Bearer <token>`, or with HTTP basic auth.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"basicAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token."},
                "basicAuth": {"type": "http", "scheme": "basic"},
            },
            "schemas": {
                "Error": ERROR,
                "Switch": SWITCH,
                "Cdr": CDR,
                "CdrDetail": CDR_DETAIL,
                "CustomerCdrDetail": CUSTOMER_CDR_DETAIL,
                "AdminCdrDetail": ADMIN_CDR_DETAIL,
                "KpiRow": KPI_ROW,
            },
        },
    }
