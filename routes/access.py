"""The one guard: every request is checked against the access its page, callback or route declared.

Declarations live where each thing is registered (the requirements are ``data.admin.acl.Access``):

- a page: ``dash.register_page(__name__, ..., access=acl.PAGE)`` (or ``acl.ANY_USER``, ``acl.ADMIN``);
- a callback: its module makes its ``callback`` with ``callbacks_for(acl.page("/cdrs"))`` (or any other
  requirement) and decorates as with Dash's own ``callback``;
- a Flask route or download: ``@allow(...)`` on the view;
- Dash's own endpoints (layout, dependencies, bundles, assets): ``DASH_ENDPOINTS`` below.

Whatever declares nothing is refused (403), to everyone: ``undeclared`` lists such things, and a test
fails on any. A request that is not logged in is sent to the login page (pages) or answered 401.
"""

from __future__ import annotations

import logging

import dash
from flask import current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from data.admin import acl

log = logging.getLogger("dialstat.access")

# Dash's own endpoints. The page routes ("/" and the catch-all) serve the same shell to any user; each
# page's layout is then guarded by what the page declared (app.py: _guard_pages).
DASH_ENDPOINTS = {
    "/": acl.ANY_USER,
    "/<path:path>": acl.ANY_USER,
    "/_dash-layout": acl.ANY_USER,
    "/_dash-dependencies": acl.ANY_USER,
    "/_dash-update-component": None,  # each callback's own declaration: see callback_access
    "/_reload-hash": acl.ANY_USER,
    "/_favicon.ico": acl.PUBLIC,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": acl.PUBLIC,
    "_dash_assets.static": acl.PUBLIC,
}
CALLBACK_ENDPOINT = "/_dash-update-component"
# Paths answered with 401 rather than a redirect to the login page: browsers' fetches, APIs and downloads.
MACHINE_PREFIXES = ("/_dash-", "/_reload-hash", "/api/", "/download/", "/jsonrpc")


API_REALM = 'Basic realm="Dialstat API", charset="UTF-8"'


def api_error(status: int, detail: str):
    """An API error as JSON (``{"detail": ...}``); 401s say how to authenticate."""
    response = jsonify(detail=detail)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = API_REALM
    return response


def allow(access: acl.Access):
    """Declare who may use a Flask view (a route or a download)."""

    def declare(view):
        view.dialstat_access = access
        return view

    return declare


def callbacks_for(access: acl.Access):
    """A ``callback`` decorator like Dash's whose callbacks declare ``access``.

    In a callbacks module: ``callback = callbacks_for(acl.page("/cdrs"))``, then ``@callback(...)``."""

    def callback(*args, **kwargs):
        register = dash.callback(*args, **kwargs)

        def declare(func):
            func.dialstat_access = access  # Dash's wrapper copies it (functools.wraps)
            return register(func)

        return declare

    return callback


def view_access(server, endpoint: str) -> acl.Access | None:
    if endpoint in DASH_ENDPOINTS:
        return DASH_ENDPOINTS[endpoint]
    return getattr(server.view_functions.get(endpoint), "dialstat_access", None)


def callback_access(dash_app, output) -> acl.Access | None:
    spec = dash_app.callback_map.get(output) if isinstance(output, str) else None
    func = spec.get("callback") if spec else None
    if func is not None and func.__module__ == "dash.dash":
        return acl.ANY_USER  # Dash's page router: each page's layout is guarded by the page's own declaration
    return getattr(func, "dialstat_access", None)


def _runs_on_server(spec: dict) -> bool:
    return spec.get("callback") is not None  # clientside callbacks never reach the server


def _requested_access() -> acl.Access | None:
    if request.endpoint == CALLBACK_ENDPOINT and request.method == "POST":
        body = request.get_json(silent=True)
        return callback_access(dash.get_app(), body.get("output") if isinstance(body, dict) else None)
    return view_access(current_app, request.endpoint)


def _login_required():
    if request.path.startswith("/api/"):
        return api_error(401, "authentication required: an API token (Authorization: Bearer ...) or basic auth")
    if request.path.startswith(MACHINE_PREFIXES) or request.method != "GET":
        return "login required", 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _refused(access: acl.Access | None):
    if access is None:
        log.warning("refused %s %s: it declares no access", request.method, request.path)
        reason = "not allowed: this declares no access"
    elif access.kind == "permissions":
        granted = acl.current_permissions()
        reason = f"not allowed: {', '.join(p for p in access.permissions if p not in granted)}"
    else:
        reason = f"not allowed: needs {access}"
    if request.path.startswith("/api/"):
        return api_error(403, reason)
    if request.endpoint == CALLBACK_ENDPOINT:
        return {"detail": reason}, 403
    return reason, 403


def guard():
    """Flask ``before_request``: let in only what the requested thing declared."""
    if request.endpoint is None:
        return None  # no such route: Flask answers 404 (or 405)
    access = _requested_access()
    if access == acl.PUBLIC:
        return None
    if not current_user.is_authenticated:
        return _login_required()
    if not acl.allows(access, acl.current_permissions(), logged_in=True):
        return _refused(access)
    return None


def undeclared(server, dash_app) -> list[str]:
    """Every route and callback that declares no access (the guard refuses them all)."""
    missing = [
        f"route {rule.rule}"
        for rule in server.url_map.iter_rules()
        if rule.endpoint != CALLBACK_ENDPOINT and view_access(server, rule.endpoint) is None
    ]
    missing += [
        f"callback {output}"
        for output, spec in dash_app.callback_map.items()
        if _runs_on_server(spec) and callback_access(dash_app, output) is None
    ]
    return missing
