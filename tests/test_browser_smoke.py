from tests.conftest import browser_login


def test_log_in_see_home_log_out(page):
    browser_login(page, "admin", "admin-secret")
    page.wait_for_selector("text=Dashboard · last 24 hours")
    page.wait_for_selector("#kpi-calls >> text=0")
    assert page.locator("#navbar-user").inner_text().startswith("admin")
    page.click("#logout-button")
    page.wait_for_url("**/login")
    assert page.console_errors == []
