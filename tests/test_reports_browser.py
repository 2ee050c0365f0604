"""Every report page in a real browser: renders, filters, downloads, and logs no console error."""
import random
from datetime import datetime, timedelta

import pytest

from tests.cdr_factory import UTC, ensure_switch, insert_calls, random_calls
from tests.conftest import browser_login

PAGES = ["/", "/overview", "/daily-comparison", "/countries", "/world-map", "/concurrent-calls"]


@pytest.fixture(scope="module")
def calls(app):
    rng = random.Random(5)
    switch = ensure_switch("browser-sw", "10.7.0.1")
    insert_calls(random_calls(300, [switch], datetime.now(UTC) - timedelta(days=2), 2, rng))


def test_every_report_page_renders_without_console_errors(page, calls):
    browser_login(page, "admin", "admin-secret")
    for path in PAGES:
        page.goto(path)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
        page.wait_for_load_state("networkidle")
    assert page.console_errors == []


def test_filters_go_into_the_url_and_a_csv_downloads(page, calls):
    browser_login(page, "admin", "admin-secret")
    page.goto("/overview")
    page.wait_for_selector("#overview-calls-graph .main-svg")
    page.click("#filter-preset")
    page.click("text=Last 30 days")
    page.wait_for_function("window.location.search.includes('preset=30d')")
    with page.expect_download() as download:
        page.locator("button:has-text('Download CSV')").first.click()  # the Calls chart comes first
    content = open(download.value.path()).read()
    assert content.startswith("period,series,calls\n") and len(content.splitlines()) > 1
    page.reload()  # a bookmark restores the filters
    page.wait_for_selector("#overview-calls-graph .main-svg")
    assert "Last 30 days" in page.locator("#filter-preset").inner_text()
    assert page.console_errors == []
