"""CGRateS-compatible JSON-RPC 1.0 at ``POST /jsonrpc``: ``ApierV1.ExportCsvCdrs`` and ``ApierV1.ExportCdrsToFile``.

``{"method": "ApierV1.ExportCdrsToFile", "params": [{...}], "id": 1}`` answers
``{"id": 1, "result": {...}, "error": null}`` or ``{"id": 1, "result": null, "error": "message"}``, as Go's
net/rpc/jsonrpc does. The route is public for the session guard and authenticates itself: an API token of
an active admin in ``Authorization: Bearer <token>``; without one it answers 401 (403 for a customer's
token), still as a JSON-RPC error. See docs/export.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, jsonify, request

from data.admin import api_tokens
from data.export import cdr_query, exporter, library
from data.export.rsr import RSRError
from data.export.templates import EXPORT_FORMATS, ExportTemplate, TemplateError, template_from_rsr_list
from routes.auth import public

bp = Blueprint("jsonrpc", __name__)

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


def _interval(params: dict) -> cdr_query.ExportFilter:
    start = exporter.parse_interval_time(params.get("TimeStart"), "TimeStart")
    end = exporter.parse_interval_time(params.get("TimeEnd"), "TimeEnd")
    return cdr_query.ExportFilter(time_start=start, time_end=end)


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
        id_after=_int(params, "OrderIdStart", None, minus=1),
        id_through=_int(params, "OrderIdEnd", None, minus=1),
    )
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
    try:
        template = library.get_template(wanted)
    except library.ExportRefused:
        template = template_from_rsr_list(wanted, name="jsonrpc", base=library.get_template("cgr-csv"))
    overrides: dict[str, Any] = {}
    if params.get("CdrFormat"):
        if params["CdrFormat"] not in EXPORT_FORMATS:
            raise library.ExportRefused(f"CdrFormat: one of {', '.join(EXPORT_FORMATS)}")
        overrides["export_format"] = params["CdrFormat"]
    if params.get("FieldSeparator"):
        overrides["field_separator"] = params["FieldSeparator"]
    if params.get("CostDecimals") is not None:
        overrides["cost_rounding_decimals"] = _int(params, "CostDecimals", None)
    if params.get("MaskDestinationId") is not None:
        overrides["mask_destination_id"] = str(params["MaskDestinationId"])
    if params.get("MaskLength") is not None:
        overrides["mask_length"] = _int(params, "MaskLength", None)
    return replace(template, **overrides) if overrides else template  # replace() validates again


def _strings(params: dict, name: str) -> list[str]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise library.ExportRefused(f"{name}: a list of strings")
    return value


def _int(params: dict, name: str, default: int | None, minus: int = 0) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise library.ExportRefused(f"{name}: a whole number")
    return value - minus


def _actor(user) -> exporter.Actor:
    return exporter.Actor("jsonrpc", user.username, user_id=user.id)


METHODS = {
    "ApierV1.ExportCsvCdrs": export_csv_cdrs,
    "ApierV1.ExportCdrsToFile": export_cdrs_to_file,
}
