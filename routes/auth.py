"""Login and logout, and who the request's user is (session, API token or basic auth).

What each route, page and callback lets in is declared where it is registered and checked by the one
guard of ``routes/access.py``: only what is declared ``public`` is reachable without a session.

Under ``/api/`` a request may instead authenticate itself with ``Authorization: Bearer <API token>``
or HTTP basic auth (``request_loader``); the same guard then lets it through. Failed logins (form or
basic auth) count towards the per-username lockout (``data.admin.lockout``), and the login form is rate
limited per client address (Flask-Limiter, ``LOGIN_RATE_LIMIT`` failed attempts).

A session lasts until logout or until the user's password changes (``data.admin.users.session_stamp``):
the user loader refuses a session whose stamp no longer matches.
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Flask, redirect, render_template_string, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, generate_csrf

from data.admin import acl, lockout, users
from data.core.settings import load_settings
from routes.access import allow, api_error, guard

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
SESSION_STAMP = "_password_stamp"  # session key: data.admin.users.session_stamp of the password it began with


public = allow(acl.PUBLIC)  # a view reachable without a login (it does its own authentication, if any)


def _safe_next(target: str | None) -> str:
    """Only redirect to paths on this site after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


LOGIN_PAGE = """<!doctype html>
<html lang="en" data-bs-theme="light"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dialstat · Log in</title><link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="bg-body-tertiary"><main class="container" style="max-width: 24rem; margin-top: 12vh">
<h1 class="h3 mb-3">Dialstat</h1>
{% if error %}<div class="alert alert-danger" role="alert">{{ error }}</div>{% endif %}
<form method="post" action="{{ url_for('auth.login') }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="next" value="{{ next }}">
  <div class="mb-3"><label class="form-label" for="username">Username</label>
    <input class="form-control" id="username" name="username" autocomplete="username" required autofocus></div>
  <div class="mb-3"><label class="form-label" for="password">Password</label>
    <input class="form-control" id="password" name="password" type="password" autocomplete="current-password" required>
  </div>
  <button class="btn btn-primary w-100" type="submit">Log in</button>
</form>
<p class="mt-3 small"><a href="{{ url_for('account.password_reset_request') }}">Forgot your password?</a></p>
</main></body></html>"""

LOCKED = "Too many failed logins: this username is locked for a while. Try again later or reset the password."


def _login_limit() -> str:
    return load_settings().ops.login_rate_limit


def _failed_login(response) -> bool:
    """Only failed logins count towards the rate limit of the login form."""
    return response.status_code in (401, 429)


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed_login)
def login():
    error = None
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        csrf.protect()
        username, password = request.form.get("username", ""), request.form.get("password", "")
        if lockout.is_locked(username):
            error = LOCKED
        else:
            user = users.authenticate(username, password)
            if user is not None:
                lockout.clear(username)
                users.record_login(user.id)
                login_user(user)
                session[SESSION_STAMP] = users.session_stamp_of(user.id)
                return redirect(next_url)
            error = LOCKED if lockout.record_failure(username) else "Wrong username or password."
    html = render_template_string(LOGIN_PAGE, error=error, next=next_url, csrf_token=generate_csrf())
    return html, (401 if error else 200)


def load_session_user(user_id: str, lookup=None):
    """Flask-Login's user loader: the session's user while the session began with the current password.

    ``lookup`` (user id -> ``users.user_and_stamp``) may keep users for a moment (app.py); a stamp that
    differs from a kept one is checked against the database before the session is refused, since this
    very session may just have changed the password. A refused session is left as it is (not cleared):
    a request still in flight with the old cookie must not answer with a cookie that would overwrite
    the one a password change just renewed.
    """
    user_id, given = int(user_id), session.get(SESSION_STAMP)
    found = (lookup or users.user_and_stamp)(user_id)
    if found is not None and lookup is not None and not users.stamp_matches(found[1], given):
        found = users.user_and_stamp(user_id)
    if found is None or not users.stamp_matches(found[1], given):
        return None
    return found[0]


def renew_session_stamp() -> None:
    """After the logged-in user's own password changed in this request: keep this session, end the others."""
    if current_user.is_authenticated and session.get("_user_id") is not None:
        session[SESSION_STAMP] = users.session_stamp_of(current_user.id)


@bp.route("/logout", methods=["POST"])
@allow(acl.ANY_USER)
def logout():
    csrf.protect()
    logout_user()
    return redirect(url_for("auth.login"))


def user_from_api_request(req):
    """Flask-Login's request loader: an API token or HTTP basic auth, on ``/api/`` paths only."""
    if not req.path.startswith("/api/"):
        return None
    scheme, _, credentials = (req.headers.get("Authorization") or "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        try:
            from data.admin import api_tokens
        except ImportError:  # the token module is not there yet
            return None
        user = api_tokens.user_for_token(credentials)
        return user if user is not None and user.is_active else None
    if scheme.lower() == "basic":
        auth = req.authorization
        if not auth or not auth.username or auth.password is None or lockout.is_locked(auth.username):
            return None
        user = users.authenticate(auth.username, auth.password)
        if user is None:
            lockout.record_failure(auth.username)
        return user
    return None


def requires_permission(*permissions: str):
    """Declare that a view needs every one of ``permissions`` (the guard answers 403 otherwise)."""
    return allow(acl.needs(*permissions))


def _too_many(error):
    message = "Too many failed attempts from your address. Wait a minute."
    if request.path.startswith("/api/"):
        return api_error(429, "too many requests; try again later")
    if request.path != url_for("auth.login"):
        return message, 429, {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "60"}
    html = render_template_string(
        LOGIN_PAGE, error=message, next=_safe_next(request.values.get("next")), csrf_token=generate_csrf()
    )
    return html, 429, {"Retry-After": "60"}


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
