"""The language of each request: the user's own setting, else the browser's Accept-Language, else English
(Flask-Babel asks ``select_language`` once per request)."""

from __future__ import annotations

import logging

from flask import Flask, g, request
from flask_babel import Babel

from data.core.i18n import TRANSLATIONS, best_language, compile_catalogs

log = logging.getLogger("dialstat")


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
