"""``GET /healthz`` for load balancers: public, answers ``ok`` (200) or a failure status (503), nothing more."""

from __future__ import annotations

import logging

from flask import Blueprint, Response

from data.core import db
from routes.auth import public

bp = Blueprint("health", __name__)
log = logging.getLogger("dialstat")


@bp.route("/healthz", methods=["GET", "HEAD"])
@public
def healthz():
    if not db.is_reachable():
        return Response("unavailable", status=503, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    return Response("ok", mimetype="text/plain", headers={"Cache-Control": "no-store"})
