"""Login, logout and the guard that puts every route behind a login.

Only static files (Dash's assets and component bundles) and the routes marked ``public`` are
reachable without a session. Everything else, including Dash's layout, dependency and callback
endpoints, answers 401 (machine routes) or redirects to the login page (pages).
"""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Flask, current_app, redirect, render_template_string, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, generate_csrf

from data import users

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()

PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
PUBLIC_PATHS = {"/_favicon.ico"}
# Paths answered with 401 rather than a redirect: browsers' fetches, APIs and downloads.
MACHINE_PREFIXES = ("/_dash-", "/_reload-hash", "/api/", "/download/", "/jsonrpc")


def public(view):
    """Mark a view as reachable without a login (it does its own authentication, if any)."""
    view.is_public = True
    return view


def is_public_request() -> bool:
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return True
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "is_public", False))


def require_login():
    if is_public_request() or current_user.is_authenticated:
        return None
    if request.path.startswith(MACHINE_PREFIXES) or request.method != "GET":
        return "login required", 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


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
</form></main></body></html>"""


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    error = None
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        csrf.protect()
        user = users.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            login_user(user)
            return redirect(next_url)
        error = "Wrong username or password."
    html = render_template_string(LOGIN_PAGE, error=error, next=next_url, csrf_token=generate_csrf())
    return html, (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    csrf.protect()
    logout_user()
    return redirect(url_for("auth.login"))


def init_auth(server: Flask) -> None:
    server.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked explicitly on form posts
    csrf.init_app(server)
    login_manager.init_app(server)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(lambda user_id: users.get_user(int(user_id)))
    server.register_blueprint(bp)
    server.before_request(require_login)
