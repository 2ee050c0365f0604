"""The language of each request: the user's own setting, else the browser's Accept-Language, else English
(Flask-Babel asks ``select_language`` once per request)."""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_babel import Babel
from flask_login import current_user

from data.core.i18n import TRANSLATIONS, best_language, compile_catalogs

log = logging.getLogger("dialstat")


def select_language() -> str:
    language = getattr(current_user, "language", None) if current_user.is_authenticated else None
    return language or best_language(list(request.accept_languages))


def init_i18n(server: Flask) -> None:
    try:
        compile_catalogs()
    except OSError as exc:  # a read-only install serves the catalogs it was shipped with
        log.warning("translations not compiled: %s", exc)
    Babel(server, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS))
