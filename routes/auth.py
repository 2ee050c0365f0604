"""Login and logout, and who the request's user is (session, API token or basic auth).

What each route, page and callback lets in is declared where it is registered and checked by the one
guard of ``routes/access.py``: only what is declared ``public`` is reachable without a session.

Under ``/api/`` a request may instead authenticate itself with ``Authorization: Bearer <API token>``
or HTTP basic auth (``request_loader``); the same guard then lets it through.

Every way in is throttled the same way (``failed_login``): a failure counts against the client address
(Flask-Limiter, ``LOGIN_RATE_LIMIT``; past it every way in answers 429) and, when it named a user,
against that username (``data.admin.lockout``: past ``LOCKOUT_FAILURES`` the name is locked for the
form and basic auth). A password that works clears the username's count.

A login opens a server-side session (``data.admin.sessions``): the cookie carries its token only, and
logout, a new password, an admin, the profile page or idleness end it by deleting its row.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlparse

from flask import Blueprint, Flask, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, generate_csrf
from limits import parse

from data.admin import acl, lockout, sessions, users
from data.core.i18n import N_, gettext
from data.core.report_cache import Recent
from data.core.settings import load_settings
from routes.access import allow, api_error, guard

bp = Blueprint("auth", __name__, template_folder="templates")
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
SESSION_TOKEN = "_session_token"  # session key: the token of the server-side session (data.admin.sessions)
FAILURES = "login-failures"  # Flask-Limiter key of failed logins per address, whatever the way in
_recent_sessions = Recent(sessions.find)  # every request loads its session: kept a second (report_cache)


public = allow(acl.PUBLIC)  # a view reachable without a login (it does its own authentication, if any)


def _safe_next(target: str | None) -> str:
    """Only redirect to paths on this site after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


LOCKED = N_("Too many failed logins: this username is locked for a while. Try again later or reset the password.")


def _login_page(error: str | None, next_url: str) -> str:
    return render_template(
        "login.html", error=error, next=next_url, csrf_token=generate_csrf(), lang=str(get_locale() or "en")
    )


def _address_limit():
    return parse(load_settings().ops.login_rate_limit)


def address_throttled() -> bool:
    """Whether the client's address failed to log in too often lately (any way in: form, basic, token)."""
    return not limiter.limiter.test(_address_limit(), FAILURES, get_remote_address())


def failed_login(username: str | None = None, count_name: bool = True) -> bool:
    """Count a failed login against the address and (``count_name``) the username; True when the name is locked."""
    limiter.limiter.hit(_address_limit(), FAILURES, get_remote_address())
    return lockout.record_failure(username) if username and count_name else False


def start_session(user) -> None:
    """Log ``user`` in with a new server-side session."""
    login_user(user)
    session[SESSION_TOKEN] = sessions.start(user.id, get_remote_address(), request.headers.get("User-Agent"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    error = None
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        csrf.protect()
        if address_throttled():
            abort(429)
        username, password = request.form.get("username", ""), request.form.get("password", "")
        if lockout.is_locked(username):
            failed_login(username, count_name=False)
            error = gettext(LOCKED)
        else:
            user = users.authenticate(username, password)
            if user is not None:
                lockout.clear(username)
                users.record_login(user.id)
                session.clear()  # nothing of a session before the login carries over (fixation)
                start_session(user)
                return redirect(next_url)
            error = gettext(LOCKED) if failed_login(username) else gettext("Wrong username or password.")
    return _login_page(error, next_url), (401 if error else 200)


def load_session_user(user_id: str, lookup=None):
    """Flask-Login's user loader: the user of the cookie's live server-side session.

    ``lookup`` (token -> ``sessions.find``) may keep sessions for a moment (``_recent_sessions``): a logout
    or a new password ends the session in this process at once, in others within ``LOOKUP_SECONDS``. A
    refused session is left as it is (not cleared): a request still in flight with the old cookie must not
    answer with a cookie that would overwrite the one a password change just renewed.
    """
    found = (lookup or _recent_sessions.get)(session.get(SESSION_TOKEN))
    if found is None or str(found.user.id) != str(user_id):
        return None
    if found.seen_long_ago:
        sessions.touch(found.session_id)
    return dataclasses.replace(found.user)  # a copy per request: the kept one is shared


def current_session_id() -> int | None:
    found = _recent_sessions.get(session.get(SESSION_TOKEN))
    return found.session_id if found is not None else None


def forget_kept_sessions() -> None:
    """Sessions ended in this request are refused by this process from now on, not a second later."""
    _recent_sessions.clear()


def renew_session() -> None:
    """After a new password (which ends all the user's sessions): this session goes on with a new one."""
    forget_kept_sessions()
    if current_user.is_authenticated and session.get("_user_id") is not None:
        if sessions.find(session.get(SESSION_TOKEN)) is None:
            session[SESSION_TOKEN] = sessions.start(
                current_user.id, get_remote_address(), request.headers.get("User-Agent")
            )


@bp.route("/logout", methods=["POST"])
@allow(acl.ANY_USER)
def logout():
    csrf.protect()
    sessions.end(session.get(SESSION_TOKEN))
    forget_kept_sessions()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def user_from_api_request(req):
    """Flask-Login's request loader: an API token or HTTP basic auth, on ``/api/`` paths only.

    Throttled like the login form (``failed_login``): an address past its failures gets 429 whatever it
    sends; a username locked by failed passwords is refused to basic auth (a token is a secret of its own,
    not guessable by name: it still works).
    """
    if not req.path.startswith("/api/"):
        return None
    scheme, _, credentials = (req.headers.get("Authorization") or "").partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme not in ("bearer", "basic"):
        return None
    if address_throttled():
        abort(429)
    if scheme == "bearer":
        from data.admin import api_tokens

        user = api_tokens.user_for_token(credentials) if credentials else None
        if user is None or not user.is_active:
            failed_login()
            return None
        return user
    auth = req.authorization
    if not auth or not auth.username or auth.password is None:
        failed_login()
        return None
    if lockout.is_locked(auth.username):
        failed_login(auth.username, count_name=False)
        return None
    user = users.authenticate(auth.username, auth.password)
    if user is None:
        failed_login(auth.username)
        return None
    lockout.clear(auth.username)
    return user


def requires_permission(*permissions: str):
    """Declare that a view needs every one of ``permissions`` (the guard answers 403 otherwise)."""
    return allow(acl.needs(*permissions))


def _too_many(error):
    message = gettext("Too many failed attempts from your address. Wait a minute.")
    if request.path.startswith("/api/"):
        return api_error(429, "too many requests; try again later")
    if request.path != url_for("auth.login"):
        return message, 429, {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "60"}
    return _login_page(message, _safe_next(request.values.get("next"))), 429, {"Retry-After": "60"}


def init_auth(server: Flask) -> None:
    server.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked explicitly on form posts
    server.config.setdefault("RATELIMIT_STORAGE_URI", load_settings().ops.ratelimit_storage_uri)
    csrf.init_app(server)
    login_manager.init_app(server)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_session_user)
    login_manager.request_loader(user_from_api_request)
    limiter.init_app(server)
    server.register_error_handler(429, _too_many)
    server.register_blueprint(bp)
    server.before_request(guard)  # the one guard: login and every declared access
