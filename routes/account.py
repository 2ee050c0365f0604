"""Forgotten password pages (plain Flask, public): ask for a link, then choose a new password.

``/password-reset`` answers the same page whatever was typed, and mails in a background thread, so
neither the page nor its timing says which accounts exist. ``/password-reset/<token>`` sets the
new password once; an unknown, used or expired token gets the same "invalid or expired" page.
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, current_app, render_template_string, request

from data.admin import password_reset
from data.core.settings import load_settings
from routes.auth import csrf, limiter, public

bp = Blueprint("account", __name__)
log = logging.getLogger("dialstat")

PAGE = """<!doctype html>
<html lang="en" data-bs-theme="light"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dialstat · {{ title }}</title><link rel="stylesheet" href="/assets/00-bootstrap.min.css">
<script src="/assets/00-theme.js"></script></head>
<body class="bg-body-tertiary"><main class="container" style="max-width: 26rem; margin-top: 12vh">
<h1 class="h3 mb-3">{{ title }}</h1>
{% if message %}<div class="alert alert-{{ level }}" role="alert" id="reset-message">{{ message }}</div>{% endif %}
{% if form == "request" %}
<form method="post">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <div class="mb-3"><label class="form-label" for="identifier">Username or e-mail address</label>
    <input class="form-control" id="identifier" name="identifier" autocomplete="username" required autofocus></div>
  <button class="btn btn-primary w-100" type="submit">Send me a reset link</button>
</form>
{% elif form == "password" %}
<form method="post">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <div class="mb-3"><label class="form-label" for="password">New password</label>
    <input class="form-control" id="password" name="password" type="password" autocomplete="new-password" required
           minlength="8" autofocus></div>
  <div class="mb-3"><label class="form-label" for="password2">New password again</label>
    <input class="form-control" id="password2" name="password2" type="password" autocomplete="new-password"
           required minlength="8"></div>
  <button class="btn btn-primary w-100" type="submit">Set the new password</button>
</form>
{% endif %}
<p class="mt-3 small"><a href="/login">Back to the login page</a></p>
</main></body></html>"""

SENT = (
    "If this names an account with an e-mail address, a link to reset its password is on its way. "
    "It works once, within {minutes} minutes."
)
INVALID = "This link is invalid or has expired. Ask for a new one."


def _render(title: str, form: str | None, message: str | None = None, level: str = "info", status: int = 200):
    return render_template_string(PAGE, title=title, form=form, message=message, level=level), status


def _base_url() -> str | None:
    """Where links in e-mails point: PUBLIC_URL only (a local request's own address while it is unset)."""
    public_url = current_app.config["DIALSTAT_SETTINGS"].ops.public_url
    return password_reset.link_base(public_url, request.url_root, request.host)


@bp.route("/password-reset", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute", methods=["POST"])
def password_reset_request():
    minutes = load_settings().ops.password_reset_minutes
    if request.method == "POST":
        csrf.protect()
        identifier = request.form.get("identifier", "")[:254]
        base_url, host = _base_url(), request.host

        def work():
            try:
                password_reset.request_reset(identifier, base_url, host)
            except Exception:
                log.exception("password reset request failed")

        threading.Thread(target=work, name="password-reset", daemon=True).start()
        return _render("Reset your password", None, SENT.format(minutes=minutes))
    return _render("Reset your password", "request")


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
def password_reset_confirm(token: str):
    if password_reset.check_token(token) is None:
        return _render("Reset your password", None, INVALID, "warning", 404)
    if request.method == "POST":
        csrf.protect()
        password, again = request.form.get("password", ""), request.form.get("password2", "")
        if password != again:
            return _render("Choose a new password", "password", "The two passwords differ.", "danger", 400)
        try:
            done = password_reset.reset_password(token, password)
        except ValueError as exc:
            return _render("Choose a new password", "password", str(exc).capitalize() + ".", "danger", 400)
        if not done:
            return _render("Reset your password", None, INVALID, "warning", 404)
        return _render(
            "Password changed",
            None,
            "Your password is changed: sessions opened before are logged out. You can log in with it now.",
            "success",
        )
    return _render("Choose a new password", "password")
