"""``GET /healthz`` for load balancers: public, answers ``ok`` (200) or a failure status (503), nothing more."""

from __future__ import annotations

import logging

from flask import Blueprint, Response
from sqlalchemy import text

from data.core import db
from routes.auth import public

bp = Blueprint("health", __name__)
log = logging.getLogger("dialstat")


@bp.route("/healthz", methods=["GET", "HEAD"])
@public
def healthz():
    try:
        with db.engine().connect() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 2000"))
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health check failed: %s", type(exc).__name__)
        return Response("unavailable", status=503, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    return Response("ok", mimetype="text/plain", headers={"Cache-Control": "no-store"})
