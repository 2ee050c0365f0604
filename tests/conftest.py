"""Test fixtures: one real PostgreSQL per session (embedded, or TEST_DATABASE_URL), clean data per module.

The environment is set before the app is imported, because settings are read from it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

TEST_VAR = Path(tempfile.mkdtemp(prefix="dialstat-test-"))
os.environ.update(
    {
        "DIALSTAT_VAR_DIR": str(TEST_VAR),
        "SCHEDULER": "off",
        "ADMIN_USER": "admin",
        "ADMIN_PASSWORD": "admin-secret",
        "SECRET_KEY": "test-secret-key",
        "IMPORT_DIR": str(TEST_VAR / "import"),
        "EXPORT_DIR": str(TEST_VAR / "export"),
    }
)
REFERENCE_TABLES = (
    "country",
    "dial_prefix",
    "hangup_cause",
    "sip_cause",
    "cdr_source_type",
    "alembic_version",
    "rollup_timezone",
)
CHROMIUM = "/usr/bin/chromium"


def _start_database() -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    from data.core.embedded_db import start_embedded_postgres

    # Durability is not under test here; speed is welcome.
    return start_embedded_postgres(
        TEST_VAR / "pgdata",
        cleanup_mode="delete",
        extra_settings={
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "256MB",
        },
    )


os.environ["DATABASE_URL"] = _start_database()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(TEST_VAR, ignore_errors=True)


@pytest.fixture(scope="session")
def app():
    from app import create_app

    server = create_app()
    server.config["TESTING"] = True
    return server


def truncate_all() -> None:
    from data.admin import users
    from data.core import db
    from data.core.settings import load_settings

    tables = [
        r["name"]
        for r in db.rows(
            """SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND c.relname <> ALL(:keep)""",
            keep=list(REFERENCE_TABLES),
        )
    ]
    with db.transaction() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    settings = load_settings()
    users.ensure_first_admin(settings.admin_user, settings.admin_password)


@pytest.fixture(scope="module", autouse=True)
def clean_database(request):
    """Every test module starts from an empty database (reference tables kept) and no failed logins counted."""
    if getattr(request.module, "USES_DATABASE", True):
        request.getfixturevalue("app")
        truncate_all()
        from routes.auth import limiter

        limiter.reset()
    yield


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, username: str, password: str):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin_client(app):
    c = app.test_client()
    assert login(c, "admin", "admin-secret").status_code == 302
    return c


@pytest.fixture
def make_user(app):
    from data.admin import users

    def make(username: str, role: str = "customer", password: str = "pass-word-1", **kwargs):
        return users.create_user(username, password, role, **kwargs)

    return make


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over HTTP on a free loopback port, for the browser tests."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: browser tests skipped (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context; console errors are collected in ``page.console_errors``.

    Playwright's ``wait_for_function`` evaluates its text in the page, which the Content-Security-Policy
    forbids (no eval): these contexts bypass it. The pages under the policy: tests/test_csp_browser.py.
    """
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    yield page_recording_errors(context)
    context.close()


def page_recording_errors(context):
    """A new page of ``context`` that collects its console errors and uncaught exceptions in ``console_errors``."""
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    return pg


def browser_login(pg, username: str, password: str) -> None:
    pg.goto("/login")
    submit_form(pg, {"#username": username, "#password": password}, "button[type=submit]")


def open_page(pg, path: str, ready: str, **wait) -> None:
    """Go to ``path`` and wait until ``ready`` is on the page and the callbacks have answered."""
    pg.goto(path)
    pg.wait_for_selector(ready, **wait)
    pg.wait_for_load_state("networkidle")


def change_password(pg, current: str, new: str) -> None:
    """Fill the profile page's password form and save it."""
    fields = {"#profile-password-current": current, "#profile-password-new": new, "#profile-password-again": new}
    submit_form(pg, fields, "#profile-password-save")


def submit_form(pg, fields: dict[str, str], button: str) -> None:
    """Type each field's text (selector -> text), then click ``button``."""
    for selector, value in fields.items():
        pg.fill(selector, value)
    pg.click(button)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping every message it accepts.

    ``stop()`` and ``start()`` take it down and bring it back on the same port (outage tests).
    """

    def __init__(self):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.messages: list = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_from, message.envelope_to = envelope.mail_from, list(envelope.rcpt_tos)
        self.messages.append(message)
        return f"250 2.0.0 Ok: queued as test-{len(self.messages)}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(monkeypatch):
    """A running SMTP server; MAIL_SERVER / MAIL_PORT point at it (settings are read at each send)."""
    sink = SmtpSink()
    sink.start()
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(sink.port))
    monkeypatch.setenv("MAIL_TIMEOUT", "5")
    yield sink
    sink.stop()


@pytest.fixture
def cache_on(monkeypatch):
    """The report cache on (it is off in tests), emptied before and after."""
    from data.core import report_cache

    monkeypatch.setenv("REPORT_CACHE_SECONDS", "60")
    report_cache.clear()
    yield
    monkeypatch.delenv("REPORT_CACHE_SECONDS")
    report_cache.clear()
