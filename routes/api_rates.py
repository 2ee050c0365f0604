"""REST: ``GET /api/v1/rates`` — CDR-Stats' ``/rest-api/voip-rate/``: the sell rates of the caller's plan.

Parameters (as CDR-Stats): ``dialcode`` (digits: the prefixes starting with them),
``recipient_phone_no`` (a number: the rates of its prefixes, or an error if the plan bans it),
``sort_field`` (prefix, retail_rate or destination) and ``order`` (asc or desc). Admins, who have no
plan of their own, name one with ``voip_plan``.

Answer: a JSON array of ``{"prefix", "retail_rate", "prefix__destination"}`` as CDR-Stats gives,
plus ``country_code``, ``connection_fee``, ``increment_first``, ``increment_next``, ``currency``;
rates are decimal strings (exact). Errors: ``{"error": ...}`` with a 4xx status.

Authentication: whatever Flask-Login knows (session, API token, basic auth); the user's scope decides
the plan, so a customer only ever sees their own plan's rates.
"""

from __future__ import annotations

import re

from flask import Blueprint, jsonify
from flask import request as flask_request
from flask_login import current_user

from data.core.scope import scope_for
from data.rating import rates
from routes.auth import requires_permission

bp = Blueprint("api_rates", __name__, url_prefix="/api/v1")

SORT_FIELDS = ("prefix", "retail_rate", "destination")
_DIGITS = re.compile(r"^[0-9]{1,20}$")


def _error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    return response


@bp.get("/rates")
@requires_permission("feature:api", "page:/rates")
def voip_rates():
    args = flask_request.args
    scope = scope_for(current_user)
    plan_arg = args.get("voip_plan", "")
    if plan_arg and not plan_arg.isdigit():
        return _error(400, "voip_plan must be a plan id")
    plan = rates.voip_plan_of(scope, int(plan_arg) if plan_arg else None)
    if plan is None:
        return _error(404, "User is not attached with voip plan")
    dialcode = args.get("dialcode", "").strip().lstrip("+")
    if dialcode and not _DIGITS.match(dialcode):
        return _error(400, "Wrong value for dialcode !")
    sort_field, order = args.get("sort_field") or "prefix", (args.get("order") or "asc").lower()
    if sort_field not in SORT_FIELDS or order not in ("asc", "desc"):
        return _error(400, f"sort_field must be one of {', '.join(SORT_FIELDS)} and order asc or desc")
    number = None
    if "recipient_phone_no" in args:
        number = re.sub(r"[\s().+-]", "", args["recipient_phone_no"])
        if not _DIGITS.match(number):
            return _error(400, "Please enter recipient_phone_no")
        if rates.banned_prefix(plan, number):
            return _error(403, f"Not allowed : {number}")
    found = rates.customer_rates(
        scope, voip_plan_id=plan, dialcode=dialcode, number=number, sort_field=sort_field, order=order, limit=None
    )
    return jsonify(
        [
            {
                "prefix": r["prefix"],
                "retail_rate": format(r["retail_rate"], "f"),
                "prefix__destination": r["destination"],
                "country_code": r["country_code"],
                "connection_fee": format(r["connection_fee"], "f"),
                "increment_first": r["increment_first"],
                "increment_next": r["increment_next"],
                "currency": r["currency"],
            }
            for r in found
        ]
    )
