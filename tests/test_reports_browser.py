"""Every report page in a real browser: renders, filters, downloads, and logs no console error."""

import random
from datetime import datetime, timedelta

import pytest

from data.admin import users
from tests.cdr_factory import UTC, ensure_switch, insert_calls, random_calls
from tests.conftest import browser_login, open_page

PAGES = ["/", "/overview", "/daily-comparison", "/countries", "/world-map", "/concurrent-calls"]


@pytest.fixture(scope="module")
def calls(app):
    rng = random.Random(5)
    switch = ensure_switch("browser-sw", "10.7.0.1")
    owner = users.create_user("browser-cust", "browser-pw-1", "customer", accountcodes=("b-100",))
    insert_calls(
        random_calls(
            300, [switch], datetime.now(UTC) - timedelta(days=2), 2, rng, accounts=[("", None), ("b-100", owner.id)]
        )
    )
    return switch


def test_every_report_page_renders_without_console_errors(page, calls):
    browser_login(page, "admin", "admin-secret")
    for path in PAGES:
        open_page(page, path, ".js-plotly-plot .main-svg", timeout=20_000)
    assert page.console_errors == []


def test_filters_go_into_the_url_and_a_csv_downloads(page, calls):
    browser_login(page, "admin", "admin-secret")
    page.goto("/overview")
    page.wait_for_selector("#overview-calls-graph .main-svg")
    page.click("#filter-preset")
    page.click('text="Last 30 days"')  # exactly: not the relative "Last 30 days, to now"
    page.wait_for_function("window.location.search.includes('preset=30d')")
    with page.expect_download() as download:
        page.locator("button:has-text('Download CSV')").first.click()  # the Calls chart comes first
    content = open(download.value.path()).read()
    assert content.startswith("period,series,calls\n") and len(content.splitlines()) > 1
    page.reload()  # a bookmark restores the filters
    page.wait_for_selector("#overview-calls-graph .main-svg")
    assert "Last 30 days" in page.locator("#filter-preset").inner_text()
    assert page.console_errors == []


def test_a_bookmark_with_a_switch_and_an_accountcode_keeps_both(page, calls):
    """The dropdowns get their options from a callback after the page loads; the values in the URL survive it."""
    browser_login(page, "admin", "admin-secret")
    open_page(page, f"/countries?preset=30d&switch={calls}&accountcode=b-100", "#countries-top-graph .main-svg")
    assert "b-100" in page.locator("#filter-accountcode").inner_text()
    assert "browser-sw" in page.locator("#filter-switch").inner_text()  # the real label, once options came
    assert f"switch={calls}" in page.evaluate("window.location.search")
    assert "accountcode=b-100" in page.evaluate("window.location.search")
    assert page.console_errors == []
