"""CGRateS-compatible JSON-RPC 1.0 at ``POST /jsonrpc``: ``ApierV1.ExportCsvCdrs`` and ``ApierV1.ExportCdrsToFile``.

``{"method": "ApierV1.ExportCdrsToFile", "params": [{...}], "id": 1}`` answers
``{"id": 1, "result": {...}, "error": null}`` or ``{"id": 1, "result": null, "error": "message"}``, as Go's
net/rpc/jsonrpc does. The route is public for the session guard and authenticates itself: an API token of
an active admin in ``Authorization: Bearer <token>``; without one it answers 401 (403 for a customer's
token), still as a JSON-RPC error. See docs/export.md.

No request content makes it answer 500: every parameter is checked (types, bounds, the template limits of
``data.export.templates``) and refused with a JSON-RPC error naming it; anything unforeseen is logged and
answered as a JSON-RPC error too. ``ExportTemplate`` is a saved template's name, CGRateS's
``*xml:<id>``/``*cfg:<id>`` reference to a profile (the saved template of that id, else refused by name) or a
comma-separated list of RSR fields whose field ids must exist.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from flask import Blueprint, jsonify, request

from data.admin import api_tokens
from data.export import cdr_query, exporter, library
from data.export.rsr import RSRError
from data.export.template_checks import check_field_ids
from data.export.templates import (
    EXPORT_FORMATS,
    MAX_DIR,
    MAX_FIELDS,
    MAX_TAG,
    MAX_VALUE,
    ExportTemplate,
    TemplateError,
    template_from_rsr_list,
)
from routes.auth import public

bp = Blueprint("jsonrpc", __name__)
log = logging.getLogger("dialstat")
MAX_ID = 2**63 - 1
PROFILE_REFERENCES = ("*xml:", "*cfg:")  # CGRateS (RC5) names a cdre profile of its config this way

# Parameters understood; any other non-empty parameter is refused rather than silently ignored, so that
# a filter this server does not apply (Tenants, CdrHosts...) never widens an export unnoticed.
_COMMON = {"TimeStart", "TimeEnd"}
_TO_FILE = _COMMON | {
    "CdrFormat",
    "FieldSeparator",
    "ExportId",
    "ExportDir",
    "ExportFileName",
    "ExportTemplate",
    "Accounts",
    "DestinationPrefixes",
    "OrderIdStart",
    "OrderIdEnd",
    "CostDecimals",
    "MaskDestinationId",
    "MaskLength",
    "SuppressCgrIds",
}


class RpcError(Exception):
    def __init__(self, message: str, status: int = 200):
        super().__init__(message)
        self.status = status


@bp.route("/jsonrpc", methods=["POST"])
@public
def jsonrpc():
    body = request.get_json(silent=True)
    request_id = body.get("id") if isinstance(body, dict) else None
    try:
        user = _admin_from_token()
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            raise RpcError('invalid request: expected {"method": ..., "params": [{...}], "id": ...}', 400)
        method = METHODS.get(body["method"])
        if method is None:
            raise RpcError(f"rpc: can't find method {body['method']}")
        result = method(_params(body.get("params")), user)
    except RpcError as exc:
        return jsonify(id=request_id, result=None, error=str(exc)), exc.status
    except (library.ExportRefused, TemplateError, RSRError) as exc:
        return jsonify(id=request_id, result=None, error=str(exc)), 200
    except Exception:  # never a 500 for what a request sent: the error is logged, the client told
        log.exception("JSON-RPC %s failed", body.get("method") if isinstance(body, dict) else None)
        message = "internal error: the export could not be made (the server logged why)"
        return jsonify(id=request_id, result=None, error=message), 200
    return jsonify(id=request_id, result=result, error=None)


def _admin_from_token():
    user = api_tokens.user_for_token(api_tokens.bearer_token(request.headers.get("Authorization")))
    if user is None:
        raise RpcError("unauthorized: send an admin API token as 'Authorization: Bearer <token>'", 401)
    if not user.is_admin:
        raise RpcError("forbidden: exports need an admin's API token", 403)
    return user


def _params(params: Any) -> dict:
    if params is None:
        return {}
    if isinstance(params, list) and len(params) == 1 and isinstance(params[0], dict):
        params = params[0]
    if not isinstance(params, dict):
        raise RpcError("invalid params: expected [{...}]", 400)
    return params


def _check_known(params: dict, known: set[str]) -> None:
    unknown = sorted(k for k, v in params.items() if k not in known and v not in (None, "", [], {}, 0, False))
    if unknown:
        raise library.ExportRefused(f"unsupported parameters: {', '.join(unknown)}")


def _time(params: dict, name: str):
    try:
        return exporter.parse_interval_time(params.get(name), name)
    except (ValueError, OverflowError, OSError, ArithmeticError):  # e.g. unix seconds past year 9999
        raise library.ExportRefused(f"{name}: expected unix seconds or an RFC3339 time within years 1..9999") from None


def _interval(params: dict) -> cdr_query.ExportFilter:
    return cdr_query.ExportFilter(time_start=_time(params, "TimeStart"), time_end=_time(params, "TimeEnd"))


def export_csv_cdrs(params: dict, user) -> dict:
    """ApierV1.ExportCsvCdrs: the cgr-csv template, answered calls in [TimeStart, TimeEnd), into EXPORT_DIR."""
    _check_known(params, _COMMON)
    template = library.get_template("cgr-csv")
    run = exporter.adhoc_run(template, _interval(params))
    result = exporter.export_to_file(run, _actor(user), parameters={"method": "ApierV1.ExportCsvCdrs"})
    return result.answer()


def export_cdrs_to_file(params: dict, user) -> dict:
    """ApierV1.ExportCdrsToFile: a template (name or RSR list) with CGRateS's overrides and filters."""
    _check_known(params, _TO_FILE)
    template = _template(params)
    flt = replace(
        _interval(params),
        accounts=tuple(_strings(params, "Accounts")),
        destination_prefixes=tuple(_strings(params, "DestinationPrefixes")),
        id_after=_int(params, "OrderIdStart", None, minus=1, low=0, high=MAX_ID),
        id_through=_int(params, "OrderIdEnd", None, minus=1, low=0, high=MAX_ID),
    )
    for name, limit in (("ExportId", MAX_TAG), ("ExportDir", MAX_DIR), ("ExportFileName", MAX_DIR)):
        _text(params, name, limit)
    mask_list = params.get("MaskDestinationId")
    suppress = bool(params.get("SuppressCgrIds"))
    run = exporter.adhoc_run(
        template,
        flt,
        export_id=str(params.get("ExportId") or ""),
        mask_list=mask_list if mask_list is not None else None,
        keep_exported_cgrids=not suppress,
    )
    result = exporter.export_to_file(
        run,
        _actor(user),
        directory=params.get("ExportDir") or None,
        file_name=params.get("ExportFileName") or None,
        parameters={"method": "ApierV1.ExportCdrsToFile"},
    )
    return result.answer(suppress_cgrids=suppress)


def _template(params: dict) -> ExportTemplate:
    wanted = params.get("ExportTemplate") or "cgr-csv"
    if not isinstance(wanted, str):
        raise library.ExportRefused("ExportTemplate: a template name or a comma-separated list of RSR fields")
    if len(wanted) > MAX_FIELDS * MAX_VALUE:
        raise library.ExportRefused(
            f"ExportTemplate: {len(wanted)} characters, over the limit of {MAX_FIELDS * MAX_VALUE}"
        )
    if wanted.startswith(PROFILE_REFERENCES):
        profile_id = wanted.split(":", 1)[1]
        try:
            template = library.get_template(profile_id)
        except library.ExportRefused:
            raise library.ExportRefused(
                f"ExportTemplate {wanted!r}: no export template named {profile_id!r} (a CGRateS profile reference "
                "loads the saved template of that name)"
            ) from None
    else:
        try:
            template = library.get_template(wanted)
        except library.ExportRefused:
            template = template_from_rsr_list(wanted, name="jsonrpc", base=library.get_template("cgr-csv"))
            check_field_ids(template, cdr_query.cdr_columns())
    overrides: dict[str, Any] = {}
    if params.get("CdrFormat"):
        if not isinstance(params["CdrFormat"], str) or params["CdrFormat"] not in EXPORT_FORMATS:
            raise library.ExportRefused(f"CdrFormat: one of {', '.join(EXPORT_FORMATS)}")
        overrides["export_format"] = params["CdrFormat"]
    if params.get("FieldSeparator"):
        overrides["field_separator"] = params["FieldSeparator"]
    if params.get("CostDecimals") is not None:
        overrides["cost_rounding_decimals"] = _int(params, "CostDecimals", None)
    if params.get("MaskDestinationId") is not None:
        overrides["mask_destination_id"] = _text(params, "MaskDestinationId", MAX_TAG)
    if params.get("MaskLength") is not None:
        overrides["mask_length"] = _int(params, "MaskLength", None)
    return replace(template, **overrides) if overrides else template  # replace() validates again


def _strings(params: dict, name: str) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise library.ExportRefused(f"{name}: a list of strings")
    return value


def _text(params: dict, name: str, limit: int) -> str:
    value = params.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise library.ExportRefused(f"{name}: text of at most {limit} characters")
    return value


def _int(
    params: dict, name: str, default: int | None, minus: int = 0, low: int = -MAX_ID, high: int = MAX_ID
) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise library.ExportRefused(f"{name}: a whole number from {low} to {high}")
    return value - minus


def _actor(user) -> exporter.Actor:
    return exporter.Actor("jsonrpc", user.username, user_id=user.id)


METHODS = {
    "ApierV1.ExportCsvCdrs": export_csv_cdrs,
    "ApierV1.ExportCdrsToFile": export_cdrs_to_file,
}
