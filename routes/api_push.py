"""``POST /api/v1/cdr``: switches push their CDRs (FreeSWITCH mod_json_cdr, or CDR-Stats fields) with their key.

Public for the login guard: it authenticates the switch itself, by the key ``flask switch-key`` printed,
sent as ``Authorization: Bearer KEY``, ``X-Dialstat-Key: KEY`` or HTTP Basic auth with the key as the
password (mod_json_cdr's ``cred`` parameter). Only a hash of the key is stored.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from flask import Blueprint, jsonify, request

from data.ingest.formats import FormatError
from data.ingest.pipeline import import_rows
from data.ingest.profile_spec import ProfileError
from data.ingest.push import PushError, import_pushed_file, parse_body, push_records
from data.ingest.switches import switch_for_push_key
from routes.auth import public

bp = Blueprint("api_push", __name__)
MAX_BODY_BYTES = 16 << 20


def _key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if request.headers.get("X-Dialstat-Key"):
        return request.headers["X-Dialstat-Key"].strip()
    if request.authorization and request.authorization.password:
        return request.authorization.password
    return None


@bp.route("/api/v1/cdr", methods=["POST"])
@public
def push_cdr():
    switch = switch_for_push_key(_key())
    if switch is None:
        return jsonify(error="a valid switch key is required"), 401, {"WWW-Authenticate": 'Bearer realm="dialstat"'}
    too_large = jsonify(error=f"the body is larger than {MAX_BODY_BYTES >> 20} MB"), 413
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return too_large
    body = request.stream.read(MAX_BODY_BYTES + 1)  # bounded, also without a Content-Length (chunked)
    if len(body) > MAX_BODY_BYTES:
        return too_large
    if request.args.get("profile"):
        try:
            summary = import_pushed_file(body, request.args["profile"], switch)
        except (ProfileError, FormatError) as exc:
            return jsonify(error=str(exc)), 400
        return _answer(summary)
    try:
        form_cdr = None
        if request.mimetype == "application/x-www-form-urlencoded":
            form_cdr = parse_qs(body.decode("utf-8", errors="replace")).get("cdr", [None])[0]
        records, source_type = push_records(parse_body(body, form_cdr), switch["ip"])
    except PushError as exc:
        return jsonify(error=str(exc)), 400
    summary = import_rows(
        records, source="push", switch=switch["ip"], source_type=source_type, file_name=f"push from {switch['name']}"
    )
    return _answer(summary)


def _answer(summary):
    return jsonify(
        import_id=summary.import_id,
        accepted=summary.accepted,
        duplicates=summary.duplicates,
        rejected=summary.rejected,
        rejects=[{"record": line, "reason": reason} for line, reason in summary.reject_samples],
    )
