"""A strict Content-Security-Policy the pages work under: an admin walks every page (with calls to chart, a world
map and a search) and the browser reports no violation and no console error."""

from __future__ import annotations

from datetime import datetime, timedelta

import dash
import pytest

from tests.cdr_factory import UTC, customers_with_calls
from tests.conftest import browser_login, open_page, page_recording_errors

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e =>
    window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
"""


@pytest.fixture
def page(browser, live_server):
    """A browser context that enforces the policy (the shared ``page`` fixture bypasses it)."""
    context = browser.new_context(base_url=live_server)
    yield page_recording_errors(context)
    context.close()


@pytest.fixture(scope="module")
def calls(app):
    app.test_client().get("/login")
    return customers_with_calls("csp", "10.72.0.1", {"ca": 5, "cb": 3}, datetime.now(UTC) - timedelta(hours=1))


def test_every_page_works_under_the_csp_without_a_violation(app, page, calls):
    policy = app.test_client().get("/login").headers["Content-Security-Policy"]
    scripts = policy.split("script-src")[1].split(";")[0]
    assert scripts.startswith(" 'self' 'sha256-") and "'unsafe-inline'" not in scripts
    assert "unsafe-eval" not in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    page.add_init_script(RECORD_VIOLATIONS)
    browser_login(page, "admin", "admin-secret")
    page.wait_for_selector(".navbar")
    paths = sorted({p["path"] for p in dash.page_registry.values() if "<" not in p["path"]})
    assert len(paths) >= 20
    for path in [*paths, "/cdrs?preset=7d"]:
        open_page(page, path, "#_pages_content")
        page.wait_for_timeout(300)  # charts draw after the callbacks answer
        violations = page.evaluate("window.__cspViolations")
        assert violations == [], (path, violations)
        assert [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e] == [], path
    assert page.console_errors == []
    page.goto("/login")  # the plain Flask pages too
    page.goto("/password-reset")
    assert page.evaluate("window.__cspViolations") == []
