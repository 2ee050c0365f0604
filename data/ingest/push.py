"""HTTP push: FreeSWITCH mod_json_cdr documents and lists of CDR-Stats CDRs, as canonical mappings.

With ``?profile=NAME`` the body is a file in that import profile's layout (CSV, JSON, JSON Lines), read
as an uploaded file would be (``import_pushed_file``).

mod_json_cdr posts one call per request: the raw JSON (``encode`` false), or a form field ``cdr`` holding it
URL-encoded (the default) or in base64. Its ``variables`` are URL-encoded strings; times are taken from
the ``*_epoch`` variables (UTC, unambiguous) when present, else from the local ``*_stamp`` ones.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from pathlib import Path
from urllib.parse import unquote

from data.ingest.fields import SOURCE_TYPES
from data.ingest.pipeline import import_file
from data.ingest.profile_spec import ProfileError
from data.ingest.profile_store import get_profile

MAX_CDRS_PER_REQUEST = 10_000
MAX_BODY_NESTING = 64  # levels of objects and lists in a request body (a mod_json_cdr document uses about 8)


class PushError(ValueError):
    """The request body is not a CDR document (answered 400)."""


def parse_body(raw: bytes, form_cdr: str | None) -> object:
    """The JSON document of a push request: the body, or the ``cdr`` form field (URL-encoded or base64)."""
    text = form_cdr if form_cdr is not None else raw.decode("utf-8", errors="replace")
    text = text.strip()
    if not text:
        raise PushError("empty body")
    try:
        return _checked(json.loads(text))
    except RecursionError as exc:
        raise PushError(f"the body is nested deeper than {MAX_BODY_NESTING} levels") from exc
    except ValueError:
        pass
    try:
        return _checked(json.loads(base64.b64decode(text, validate=True).decode("utf-8", errors="replace")))
    except RecursionError as exc:
        raise PushError(f"the body is nested deeper than {MAX_BODY_NESTING} levels") from exc
    except (binascii.Error, ValueError) as exc:
        raise PushError("the body is neither JSON nor a mod_json_cdr form (cdr=...)") from exc


def _checked(document: object) -> object:
    """The document, if it is nested at most ``MAX_BODY_NESTING`` levels (counted without recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_BODY_NESTING:
                raise PushError(f"the body is nested deeper than {MAX_BODY_NESTING} levels")
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return document


def is_mod_json_cdr(document: object) -> bool:
    return isinstance(document, dict) and ("variables" in document or "callflow" in document)


def _variables(document: dict) -> dict:
    variables = document.get("variables") or {}
    if not isinstance(variables, dict):
        raise PushError("mod_json_cdr: 'variables' must be an object")
    return {k: unquote(v) if isinstance(v, str) else v for k, v in variables.items()}


def _caller_profile(document: dict) -> dict:
    callflow = document.get("callflow") or []
    if isinstance(callflow, dict):
        callflow = [callflow]
    if not isinstance(callflow, list):
        raise PushError("mod_json_cdr: 'callflow' must be a list or an object")
    for flow in callflow:
        profile = flow.get("caller_profile") if isinstance(flow, dict) else None
        if isinstance(profile, dict) and profile:
            return profile
    return {}


def _epoch_or_stamp(v: dict, name: str) -> str:
    epoch = v.get(f"{name}_uepoch")
    if epoch not in (None, "", "0"):
        return str(epoch)
    epoch = v.get(f"{name}_epoch")
    if epoch not in (None, "", "0"):
        return str(epoch)
    return v.get(f"{name}_stamp") or ""


def mod_json_cdr_record(document: dict) -> dict:
    """A mod_json_cdr document as a mapping of canonical fields."""
    v = _variables(document)
    profile = _caller_profile(document)
    extra = {
        k: v[k]
        for k in (
            "sip_hangup_disposition",
            "read_codec",
            "write_codec",
            "remote_media_ip",
            "sip_user_agent",
            "bleg_uuid",
            "originating_leg_uuid",
        )
        if v.get(k)
    }
    for key in ("core-uuid", "switchname"):
        if document.get(key):
            extra[key] = document[key]
    if profile.get("context"):
        extra["context"] = profile["context"]
    callid = v.get("uuid") or profile.get("uuid") or ""
    return {
        "callid": callid,
        # A B leg names its A leg (FreeSWITCH sets originating_leg_uuid on originated channels): one call.
        "linkedid": v.get("originating_leg_uuid") or callid,
        "caller_id_number": v.get("caller_id_number") or profile.get("caller_id_number") or "",
        "caller_id_name": v.get("caller_id_name") or profile.get("caller_id_name") or "",
        "destination_number": v.get("destination_number") or profile.get("destination_number") or "",
        "starting_date": _epoch_or_stamp(v, "start"),
        "answered_date": _epoch_or_stamp(v, "answer"),
        "ending_date": _epoch_or_stamp(v, "end"),
        "duration": v.get("duration", ""),
        "billsec": v.get("billsec", ""),
        "progresssec": v.get("progresssec", ""),
        "answersec": v.get("answersec", ""),
        "waitsec": v.get("waitsec", ""),
        "hangup_cause_id": v.get("hangup_cause_q850", ""),
        "hangup_cause": v.get("hangup_cause", ""),
        "direction": v.get("direction", ""),
        "accountcode": v.get("accountcode", ""),
        "cdr_source_type": SOURCE_TYPES["freeswitch"],
        "extradata": extra,
    }


def push_records(document: object, switch_ip: str) -> tuple[list[dict], int]:
    """The CDRs of a push request, all on the authenticated switch, and their source type.

    A key authenticates one switch: a CDR naming another switch is stored on the key's switch.
    """
    if is_mod_json_cdr(document):
        records, source_type = [mod_json_cdr_record(document)], SOURCE_TYPES["freeswitch"]
    elif isinstance(document, dict):
        records, source_type = [document], SOURCE_TYPES["api"]
    elif isinstance(document, list):
        records, source_type = document, SOURCE_TYPES["api"]
    else:
        raise PushError("expected a mod_json_cdr document, a CDR or a list of CDRs")
    if len(records) > MAX_CDRS_PER_REQUEST:
        raise PushError(f"at most {MAX_CDRS_PER_REQUEST} CDRs per request")
    return [{**r, "switch": switch_ip} if isinstance(r, dict) else r for r in records], source_type


def import_pushed_file(body: bytes, profile_name: str, switch: dict):
    """A pushed body read with an import profile, as the switch's calls (``ProfileError``, ``FormatError``)."""
    profile = get_profile(profile_name)  # by name only: a push never names a file of the server
    if profile is None:
        raise ProfileError([("profile", f"no import profile named {profile_name!r}")])
    with tempfile.TemporaryDirectory(prefix="dialstat-push-") as folder:
        path = Path(folder) / "push"
        path.write_bytes(body)
        return import_file(
            path, switch=switch["ip"], source="push", file_name=f"push from {switch['name']}", profile=profile
        )
