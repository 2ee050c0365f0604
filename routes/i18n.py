"""The language of each request: the user's own setting, else the browser's Accept-Language, else English
(Flask-Babel asks ``select_language`` once per request)."""

from __future__ import annotations

import json
import logging
from functools import cache

from flask import Blueprint, Flask, Response, g, request
from flask_babel import Babel

from data.admin import acl
from data.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, TRANSLATIONS, best_language, compile_catalogs, plotly_locale
from routes.access import allow

bp = Blueprint("i18n", __name__)
log = logging.getLogger("dialstat")
PLOTLY_LOCALES_URL = "/i18n/plotly-locales.js"


def select_language() -> str:
    # The user the login guard already loaded: loading one here could refuse the request from inside an error
    # page (a throttled basic-auth login answers 429, whose page asks for the language).
    user = g.get("_login_user")
    language = getattr(user, "language", None) if user is not None and user.is_authenticated else None
    return language or best_language(list(request.accept_languages))


def init_i18n(server: Flask) -> None:
    try:
        compile_catalogs()
    except OSError as exc:  # a read-only install serves the catalogs it was shipped with
        log.warning("translations not compiled: %s", exc)
    Babel(server, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS))


@cache
def _plotly_locales_script() -> str:
    # plotly.js loads after the page's scripts (with the first chart): it registers what it finds queued in
    # window.PlotlyLocales, the way plotly's own locale files hand themselves over.
    modules = [plotly_locale(language) for language in LANGUAGES if language != DEFAULT_LANGUAGE]
    queued = json.dumps(modules, ensure_ascii=False)
    return f"window.PlotlyLocales = (window.PlotlyLocales || []).concat({queued});\n"


@bp.route(PLOTLY_LOCALES_URL)
@allow(acl.ANY_USER)  # charts are behind the login; no user data in it (month names, plotly's buttons)
def plotly_locales():
    return Response(
        _plotly_locales_script(), mimetype="text/javascript", headers={"Cache-Control": "private, max-age=3600"}
    )
