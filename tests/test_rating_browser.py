"""The rating pages in a real browser: they render, answer, and log no console error."""

import pytest

from tests.conftest import browser_login, open_page
from tests.rating_setup import build_world


@pytest.fixture(scope="module")
def world(app):
    return build_world()


def test_admin_pages_render_and_the_simulator_answers(page, world):
    browser_login(page, "admin", "admin-secret")
    page.goto("/admin/rates")
    page.wait_for_selector("#rate-admin-providers .ag-row", timeout=20_000)
    assert page.locator("#rate-admin-providers .ag-row").count() == 3
    open_page(page, "/rates/simulator", "#rate-simulator-number")  # the plan list has loaded
    page.fill("#rate-simulator-number", "+34650104877")
    page.fill("#rate-simulator-at", "2026-01-15 12:00")
    page.click("#rate-simulator-run")
    page.wait_for_selector("#rate-simulator-summary", timeout=20_000)
    assert "Carrier A" in page.inner_text("#rate-simulator-summary")
    open_page(page, "/billing", "#billing-by-day-graph .main-svg", timeout=20_000)
    assert page.console_errors == []


def test_a_customer_sees_their_rates(page, world):
    browser_login(page, "alice", "pass-word-1")
    page.goto("/rates")
    page.wait_for_selector("#rates-grid .ag-row", timeout=20_000)
    page.fill("#rates-search", "3465")
    page.press("#rates-search", "Enter")
    page.wait_for_function("document.querySelector('#rates-count').innerText.startsWith('2 rate')", timeout=20_000)
    assert page.locator("#rate-admin-providers").count() == 0
    page.goto("/admin/rates")
    page.wait_for_selector("text=You do not have access to this page.", timeout=20_000)
    assert page.console_errors == []
